//! The report: what memwatch found, as one serialisable model shared by every output
//! format and by the commands that read reports back.
//!
//! Every memory figure is KiB, every offset milliseconds, every instant RFC 3339 UTC. The
//! field docs are the JSON schema; the README's table is written from them.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::job::{JobStats, ProcRecord};
use crate::sys::{Access, Extra, Gaps};
use crate::timeline::Point;

/// The schema version this memwatch writes. Readers refuse other versions.
pub const SCHEMA_VERSION: u32 = 1;

/// How the command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl Exit {
    /// The status a shell would show: the code, or 128 + the signal.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }

    /// "exited with status 3", "was killed by signal 15 (SIGTERM)".
    pub fn describe(self) -> String {
        match self {
            Exit::Code(c) => format!("exited with status {c}"),
            Exit::Signal(s) => match signal_name(s) {
                Some(name) => format!("was killed by signal {s} ({name})"),
                None => format!("was killed by signal {s}"),
            },
        }
    }
}

/// The conventional name of a signal number (the numbers shared by Linux and macOS).
pub fn signal_name(s: i32) -> Option<&'static str> {
    Some(match s {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// One process of the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessReport {
    /// Process id.
    pub pid: i32,
    /// Parent process id when memwatch first saw it.
    pub ppid: i32,
    /// Its command line when it reached its peak (arguments joined by spaces, lossy UTF-8,
    /// at most 4 KiB).
    pub command: String,
    /// Its largest sampled RSS, KiB; `null` when its memory could never be read.
    pub max_rss_kib: Option<u64>,
    /// The kernel's own high-water mark for it, KiB, when known (`ru_maxrss` of processes
    /// memwatch reaped: the command, and orphans it adopted). It covers the process and the
    /// descendants it waited for, and can exceed `max_rss_kib` when a spike fell between
    /// samples.
    pub kernel_max_rss_kib: Option<u64>,
    /// When the process started (from the kernel's start time), RFC 3339; null where the
    /// platform does not tell.
    #[serde(default)]
    pub start_time: Option<Timestamp>,
    /// The first sample that saw it.
    pub first_seen: Timestamp,
    /// The last sample that saw it alive.
    pub last_seen: Timestamp,
    /// `first_seen` as milliseconds after the job's start.
    pub first_seen_ms: u64,
    /// `last_seen` as milliseconds after the job's start.
    pub last_seen_ms: u64,
    /// Samples that saw it alive.
    pub samples: u64,
    /// True for the command memwatch started.
    pub root: bool,
    /// Its largest PSS (`--metric pss`), KiB; null when not measured.
    #[serde(default)]
    pub max_pss_kib: Option<u64>,
    /// Its largest physical footprint (`--metric footprint`), KiB; null when not measured.
    #[serde(default)]
    pub max_footprint_kib: Option<u64>,
    /// macOS: the kernel's lifetime peak physical footprint for a process memwatch reaped
    /// (`ri_lifetime_max_phys_footprint`), KiB; null otherwise.
    #[serde(default)]
    pub kernel_max_footprint_kib: Option<u64>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Version of this schema ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Version of memwatch that wrote it.
    pub memwatch_version: String,
    /// Host the job ran on.
    pub hostname: String,
    /// The launcher's identity when memwatch ran under one (Slurm, Open MPI, PMI): the
    /// variables of [`crate::launcher::IDENTITY_VARS`] that were set.
    #[serde(default)]
    pub launcher: std::collections::BTreeMap<String, String>,
    /// Operating system (`linux`, `macos`).
    pub os: String,
    /// The command, one string per argument (lossy UTF-8).
    pub command: Vec<String>,
    /// When the command was started.
    pub start_time: Timestamp,
    /// When the job ended (or memwatch stopped waiting for it).
    pub end_time: Timestamp,
    /// `end_time - start_time`, seconds.
    pub duration_seconds: f64,
    /// Sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Samples taken.
    pub samples: u64,
    /// The largest sum of the RSS of the job's processes alive at one sample, KiB. `null`
    /// when no sample saw the job alive (it ended first).
    pub max_total_rss_kib: Option<u64>,
    /// Index (from 0) of the sample with that total.
    pub max_total_rss_sample_index: Option<u64>,
    /// Milliseconds after the start of the sample with that total.
    pub max_total_rss_ms: Option<u64>,
    /// Job processes alive at that sample.
    pub processes_at_peak: u32,
    /// The most job processes alive at one sample.
    pub max_processes: u32,
    /// The largest single-process peak, KiB (`null` when none could be read).
    pub max_process_rss_kib: Option<u64>,
    /// Pid of the process with that peak.
    pub max_process_pid: Option<i32>,
    /// Processes that were part of the job.
    pub processes_total: u64,
    /// Dead processes with the smallest peaks left out of `processes` to bound memory.
    pub processes_omitted: u64,
    /// Processes whose memory could not be read (another user, setuid): their RSS is
    /// unknown and not in any total.
    pub processes_unreadable: u64,
    /// Processes of the job memwatch could not see at all: listed as children of job
    /// processes, but `/proc` hides them from memwatch (`hidepid`, another user's process,
    /// e.g. setuid). They are in no total, which are then lower bounds.
    #[serde(default)]
    pub processes_invisible: u64,
    /// Samples at which memwatch ran out of file descriptors (its open-files limit) and
    /// could not look for, or read, every process: totals at those samples may be low.
    #[serde(default)]
    pub fd_shortage_samples: u64,
    /// Processes memwatch could not read at one sample or more for lack of file
    /// descriptors (unknown at those samples, never 0).
    #[serde(default)]
    pub fd_shortage_processes: u64,
    /// What was measured besides RSS: `rss` (nothing), `pss` or `footprint` (`--metric`).
    #[serde(default = "rss")]
    pub metric: String,
    /// Largest sum of simultaneous PSS, KiB (`--metric pss`; shared pages counted once).
    #[serde(default)]
    pub max_total_pss_kib: Option<u64>,
    /// Largest sum of simultaneous physical footprints, KiB (`--metric footprint`).
    #[serde(default)]
    pub max_total_footprint_kib: Option<u64>,
    /// How the extra metric was sampled (reads, spacing, scaling in between).
    #[serde(default)]
    pub metric_sampling: Option<String>,
    /// Processes whose extra metric the kernel refused (another user's, setuid): left out
    /// of its totals, which are then lower bounds.
    #[serde(default)]
    pub processes_metric_unreadable: u64,
    /// The command's exit code, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed the command, if one did.
    pub signal: Option<i32>,
    /// True when memwatch received SIGINT, SIGTERM, SIGHUP or SIGQUIT during the job.
    pub interrupted: bool,
    /// Pids of job processes still running when memwatch stopped (`--wait root`).
    pub left_running: Vec<i32>,
    /// Warnings about the figures (e.g. a kernel peak above the sampled one).
    pub warnings: Vec<String>,
    /// The processes, largest peak first.
    pub processes: Vec<ProcessReport>,
    /// Total RSS over time, at most 2000 points; merged points keep the largest total.
    /// Samples with no total (every live process unreadable or mid-exec) have no point.
    pub timeline: Vec<Point>,
    /// True when the timeline was thinned to stay within 2000 points (a point then stands
    /// for several samples); `null` in reports of earlier memwatch versions.
    #[serde(default)]
    pub timeline_thinned: Option<bool>,
}

/// What the run knew besides the job's figures.
pub struct RunInfo {
    /// The command's arguments.
    pub command: Vec<String>,
    /// Wall-clock start.
    pub start_time: Timestamp,
    /// Monotonic duration of the job.
    pub duration: Duration,
    /// Sampling interval.
    pub interval: Duration,
    /// How the command ended (`None` if memwatch never learned).
    pub exit: Option<Exit>,
    /// memwatch was signalled.
    pub interrupted: bool,
    /// Live job pids memwatch stopped waiting for.
    pub left_running: Vec<i32>,
}

fn at(start: Timestamp, offset: Duration) -> Timestamp {
    let offset = jiff::SignedDuration::try_from(offset).unwrap_or(jiff::SignedDuration::MAX);
    start.checked_add(offset).unwrap_or(start)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn process_report(start: Timestamp, p: &ProcRecord, extra: Option<Extra>) -> ProcessReport {
    ProcessReport {
        pid: p.id.pid,
        ppid: p.ppid,
        command: p.peak_command.to_string(),
        max_rss_kib: if p.access == Access::Denied {
            None
        } else {
            p.max_rss_kib
        },
        kernel_max_rss_kib: p.kernel_max_rss_kib,
        start_time: p
            .started_unix_us
            .and_then(|us| Timestamp::from_microsecond(us).ok()),
        first_seen: at(start, p.first_seen),
        last_seen: at(start, p.last_seen),
        first_seen_ms: millis(p.first_seen),
        last_seen_ms: millis(p.last_seen),
        samples: p.samples,
        root: p.is_root,
        max_pss_kib: p.max_extra_kib.filter(|_| extra == Some(Extra::Pss)),
        max_footprint_kib: p.max_extra_kib.filter(|_| extra == Some(Extra::Footprint)),
        kernel_max_footprint_kib: p.kernel_max_footprint_kib,
    }
}

/// Sort processes for display and output: largest peak first, unknown last, then by first
/// appearance and pid.
pub fn sort_processes(ps: &mut [ProcessReport]) {
    ps.sort_by(|a, b| {
        b.max_rss_kib
            .cmp(&a.max_rss_kib)
            .then(a.first_seen_ms.cmp(&b.first_seen_ms))
            .then(a.pid.cmp(&b.pid))
    });
}

impl Report {
    /// Build the report from the job's figures.
    pub fn new(stats: &JobStats, info: RunInfo) -> Report {
        let start = info.start_time;
        let mut processes: Vec<ProcessReport> = stats
            .processes
            .iter()
            .map(|p| process_report(start, p, stats.extra))
            .collect();
        sort_processes(&mut processes);
        let top = processes.iter().find(|p| p.max_rss_kib.is_some());
        let seen_alive = stats.max_total_index.is_some() && stats.processes_at_peak > 0;
        let (exit_code, signal) = match info.exit {
            Some(Exit::Code(c)) => (Some(c), None),
            Some(Exit::Signal(s)) => (None, Some(s)),
            None => (None, None),
        };
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            memwatch_version: env!("CARGO_PKG_VERSION").to_string(),
            hostname: String::new(),
            launcher: std::collections::BTreeMap::new(),
            os: std::env::consts::OS.to_string(),
            command: info.command,
            start_time: start,
            end_time: at(start, info.duration),
            duration_seconds: info.duration.as_secs_f64(),
            interval_ms: millis(info.interval),
            samples: stats.samples,
            max_total_rss_kib: seen_alive.then_some(stats.max_total_rss_kib),
            max_total_rss_sample_index: stats.max_total_index.filter(|_| seen_alive),
            max_total_rss_ms: seen_alive.then(|| millis(stats.max_total_at)),
            processes_at_peak: stats.processes_at_peak,
            max_processes: stats.max_processes,
            max_process_rss_kib: top.and_then(|p| p.max_rss_kib),
            max_process_pid: top.map(|p| p.pid),
            processes_total: stats.processes_total,
            processes_omitted: stats.processes_omitted,
            processes_unreadable: stats.processes_unreadable,
            processes_invisible: stats.gaps.invisible,
            fd_shortage_samples: stats.gaps.fd_samples,
            fd_shortage_processes: stats.gaps.fd_processes,
            metric: stats.extra.map_or("rss", Extra::name).to_string(),
            max_total_pss_kib: stats
                .max_total_extra_kib
                .filter(|_| stats.extra == Some(Extra::Pss)),
            max_total_footprint_kib: stats
                .max_total_extra_kib
                .filter(|_| stats.extra == Some(Extra::Footprint)),
            metric_sampling: stats.extra.map(|e| metric_sampling(e, stats)),
            processes_metric_unreadable: stats.extra_unreadable,
            exit_code,
            signal,
            interrupted: info.interrupted,
            left_running: info.left_running,
            warnings: Vec::new(),
            processes,
            timeline: stats.timeline.points().to_vec(),
            timeline_thinned: Some(stats.timeline.thinned()),
        };
        report.warnings = kernel_peak_warnings(&report);
        if let Some(extra) = stats.extra.filter(|_| stats.extra_unreadable > 0) {
            let n = stats.extra_unreadable;
            let what = match extra {
                Extra::Pss => "PSS",
                Extra::Footprint => "physical footprint",
            };
            report.warnings.push(format!(
                "the {what} of {n} process{} could not be read (another user's, or setuid): \
                 {} not in the {what} totals",
                if n == 1 { "" } else { "es" },
                if n == 1 { "it is" } else { "they are" },
            ));
        }
        report.warnings.extend(gap_warnings(&stats.gaps));
        report
    }

    /// How the command ended, if known.
    pub fn exit(&self) -> Option<Exit> {
        match (self.exit_code, self.signal) {
            (Some(c), _) => Some(Exit::Code(c)),
            (None, Some(s)) => Some(Exit::Signal(s)),
            _ => None,
        }
    }
}

/// What memwatch could not see or read, and why (see [`Gaps`]).
fn gap_warnings(gaps: &Gaps) -> Vec<String> {
    let mut out = Vec::new();
    let n = gaps.invisible;
    if n > 0 {
        let (one, it, they, its) = if n == 1 {
            ("process", "it", "it runs", "its")
        } else {
            ("processes", "them", "they run", "their")
        };
        out.push(format!(
            "memwatch could not see {n} {one} of the job: /proc hides {it} from memwatch \
             (hidepid, and {they} as another user, e.g. setuid), so {its} memory is in no \
             total and the totals are lower bounds; run memwatch as root to see {it}"
        ));
    }
    if gaps.fd_samples > 0 {
        let limit = gaps
            .fd_limit
            .map_or(String::new(), |l| format!(" (open-files limit {l})"));
        let unread = match gaps.fd_processes {
            0 => String::new(),
            1 => "1 process could not be read then (unknown, not 0) and ".to_string(),
            p => format!("{p} processes could not be read then (unknown, not 0) and "),
        };
        out.push(format!(
            "memwatch ran out of file descriptors{limit} at {} sample{}: {unread}processes \
             born then may have been missed, so the totals are lower bounds; raise the limit \
             (ulimit -n)",
            gaps.fd_samples,
            if gaps.fd_samples == 1 { "" } else { "s" },
        ));
    }
    out
}

fn rss() -> String {
    "rss".to_string()
}

/// How the extra metric was sampled, in words for the report.
fn metric_sampling(extra: Extra, stats: &JobStats) -> String {
    match extra {
        Extra::Pss => format!(
            "PSS read from /proc/<pid>/smaps_rollup for every live process together, in {} round(s) ({} reads); a round starts once the previous one's cost fits in {:.0}% of the time since (rounds at most {} ms apart here); the max total PSS is the largest round, so a peak between rounds can be missed",
            stats.extra_rounds,
            stats.extra_reads,
            crate::job::EXTRA_BUDGET * 100.0,
            stats.extra_period_max.as_millis()
        ),
        Extra::Footprint => format!(
            "physical footprint (ri_phys_footprint) read {} time(s) in all, with RSS",
            stats.extra_reads
        ),
    }
}

/// A sampled peak below this share of the kernel's peak means a spike fell between samples.
const MISSED_PEAK_RATIO: f64 = 0.9;
/// Differences smaller than this are noise (the kernel figure includes what a process
/// inherited from memwatch when it was spawned).
const MISSED_PEAK_MIN_KIB: u64 = 16 * 1024;

/// Compare each kernel high-water mark with the sampled peaks it covers (the process and
/// the descendants it waited for) and describe the ones sampling missed.
pub fn kernel_peak_warnings(r: &Report) -> Vec<String> {
    let mut children: std::collections::HashMap<i32, Vec<usize>> = std::collections::HashMap::new();
    for (i, p) in r.processes.iter().enumerate() {
        children.entry(p.ppid).or_default().push(i);
    }
    let mut out = Vec::new();
    for (i, p) in r.processes.iter().enumerate() {
        let Some(kernel) = p.kernel_max_rss_kib else {
            continue;
        };
        let Some(sampled) = subtree_max(r, &children, i) else {
            // Never sampled: it was gone before the first sample could see it.
            if kernel >= MISSED_PEAK_MIN_KIB {
                out.push(format!(
                    "pid {} ({}) exited before any sample saw it (the first is taken at once); \
                     the kernel says it reached {}",
                    p.pid,
                    crate::output::human::short_command(&p.command, 40),
                    crate::output::human::iec(kernel),
                ));
            }
            continue;
        };
        if (sampled as f64) < MISSED_PEAK_RATIO * kernel as f64
            && kernel - sampled >= MISSED_PEAK_MIN_KIB
        {
            let suggest = (r.interval_ms / 10).clamp(1, 100);
            out.push(format!(
                "pid {} ({}) reached {} according to the kernel, but samples saw at most {}: \
                 a short spike fell between samples; try -i {}",
                p.pid,
                crate::output::human::short_command(&p.command, 40),
                crate::output::human::iec(kernel),
                crate::output::human::iec(sampled),
                suggest,
            ));
        }
    }
    out
}

/// The largest sampled peak of process `i` and the processes below it (by recorded ppids).
fn subtree_max(
    r: &Report,
    children: &std::collections::HashMap<i32, Vec<usize>>,
    i: usize,
) -> Option<u64> {
    let mut visited = vec![false; r.processes.len()];
    let mut best = None;
    let mut stack = vec![i];
    while let Some(j) = stack.pop() {
        if std::mem::replace(&mut visited[j], true) {
            continue;
        }
        let p = &r.processes[j];
        best = best.max(p.max_rss_kib);
        if let Some(kids) = children.get(&p.pid) {
            // A child cannot start before its parent: skip recycled-pid look-alikes.
            stack.extend(
                kids.iter()
                    .filter(|&&k| r.processes[k].first_seen_ms >= p.first_seen_ms),
            );
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_and_description() {
        assert_eq!(Exit::Code(3).status(), 3);
        assert_eq!(Exit::Signal(15).status(), 143);
        assert_eq!(
            Exit::Signal(15).describe(),
            "was killed by signal 15 (SIGTERM)"
        );
        assert_eq!(Exit::Signal(40).describe(), "was killed by signal 40");
        assert_eq!(Exit::Code(0).describe(), "exited with status 0");
    }

    fn report_of(stats: &JobStats) -> Report {
        Report::new(
            stats,
            RunInfo {
                command: vec!["prog".to_string()],
                start_time: Timestamp::UNIX_EPOCH,
                duration: Duration::from_millis(5),
                interval: Duration::from_millis(500),
                exit: Some(Exit::Code(0)),
                interrupted: false,
                left_running: Vec::new(),
            },
        )
    }

    #[test]
    fn what_memwatch_could_not_see_or_read_is_counted_and_explained() {
        use crate::sys::fake::{FakeInspector, FakeProc};
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(100, 1, 10, "prog").rss(5));
        let mut job = crate::job::Job::new(fake, 1, 100, 8);
        job.sample(Duration::from_millis(1), true).unwrap();
        let mut stats = job.finish();
        assert!(report_of(&stats).warnings.is_empty());

        stats.gaps = Gaps {
            invisible: 1,
            fd_samples: 3,
            fd_processes: 1,
            fd_limit: Some(64),
        };
        let r = report_of(&stats);
        assert_eq!(
            (
                r.processes_invisible,
                r.fd_shortage_samples,
                r.fd_shortage_processes
            ),
            (1, 3, 1)
        );
        assert_eq!(
            r.warnings,
            [
                "memwatch could not see 1 process of the job: /proc hides it from memwatch \
                 (hidepid, and it runs as another user, e.g. setuid), so its memory is in no \
                 total and the totals are lower bounds; run memwatch as root to see it",
                "memwatch ran out of file descriptors (open-files limit 64) at 3 samples: 1 \
                 process could not be read then (unknown, not 0) and processes born then may \
                 have been missed, so the totals are lower bounds; raise the limit (ulimit -n)",
            ]
        );

        stats.gaps = Gaps {
            invisible: 2,
            fd_samples: 1,
            fd_processes: 0,
            fd_limit: Some(1024),
        };
        let r = report_of(&stats);
        assert!(
            r.warnings[0].starts_with("memwatch could not see 2 processes of the job: /proc hides them from memwatch (hidepid, and they run as"),
            "{}",
            r.warnings[0]
        );
        assert!(
            r.warnings[1].starts_with("memwatch ran out of file descriptors (open-files limit 1024) at 1 sample: processes born then"),
            "{}",
            r.warnings[1]
        );

        // Reports written before these fields existed still read, as nothing missing.
        let mut v = serde_json::to_value(&r).unwrap();
        for k in [
            "processes_invisible",
            "fd_shortage_samples",
            "fd_shortage_processes",
        ] {
            v.as_object_mut().unwrap().remove(k);
        }
        let old: Report = serde_json::from_value(v).unwrap();
        assert_eq!(
            (
                old.processes_invisible,
                old.fd_shortage_samples,
                old.fd_shortage_processes
            ),
            (0, 0, 0)
        );
    }

    #[test]
    fn a_process_never_sampled_is_said_to_have_exited_first_not_to_peak_at_0() {
        use crate::sys::fake::FakeInspector;
        let mut job = crate::job::Job::new(FakeInspector::default(), 1, 100, 8);
        job.set_root_command("prog", "prog");
        job.reaped(100, Some(64 * 1024));
        job.sample(Duration::from_millis(1), true).unwrap();
        let r = report_of(&job.finish());
        assert_eq!(r.max_total_rss_kib, None);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        let w = &r.warnings[0];
        assert!(
            w.contains("pid 100 (prog) exited before any sample saw it"),
            "{w}"
        );
        assert!(
            w.contains("64.0 MiB") && !w.contains("0 B") && !w.contains("-i"),
            "{w}"
        );
    }
}
