//! The report: what memwatch found, as one serialisable model shared by every output
//! format and by the commands that read reports back.
//!
//! Every memory figure is KiB, every offset milliseconds, every instant RFC 3339 UTC. The
//! field docs are the JSON schema; the README's table is written from them.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::job::{JobStats, ProcRecord};
use crate::model::timeline::Point;
use crate::sys::{Access, Gaps, Metric};

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
    /// at most 4 KiB); for a peak read while it was still a copy of its parent between fork
    /// and exec (`peak_before_exec`), the command it exec'd.
    pub command: String,
    /// Its largest sampled RSS, KiB; `null` when its memory could never be read.
    pub max_rss_kib: Option<u64>,
    /// The kernel's own high-water mark for it, KiB, when known (`ru_maxrss` of processes
    /// memwatch reaped: the command, and orphans it adopted). It covers the process and the
    /// descendants it waited for, and can exceed `max_rss_kib` when a spike fell between
    /// samples. For a child that exec'd it also covers the copy of its parent it was before
    /// the exec (up to what its parent held), memory it never used.
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
    /// True when `max_rss_kib` was read between its fork and its exec, while it was still a
    /// copy of its parent (`ppid`) no larger than the parent: pages it shared with the
    /// parent, counted in both by RSS, not memory of its own.
    #[serde(default)]
    pub peak_before_exec: bool,
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
    /// RSS counted at that sample of processes that were still fresh copies of their
    /// parents, forked and not yet exec'd (at most 4, the freshest), KiB: their parents'
    /// pages, counted twice. 0 when none; `null` when there is no max total, and in reports
    /// of earlier memwatch versions.
    #[serde(default)]
    pub max_total_rss_fork_copies_kib: Option<u64>,
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
    /// True when processes are left out of the figures (`processes_unreadable`,
    /// `processes_invisible`, `fd_shortage_processes` or `fd_shortage_samples` is not 0), so
    /// `max_total_rss_kib` (and `max_process_rss_kib`) are lower bounds, "at least".
    #[serde(default)]
    pub max_total_rss_is_lower_bound: bool,
    /// What was measured besides RSS: `rss` (nothing), `pss` or `footprint` (`--metric`).
    #[serde(default)]
    pub metric: Metric,
    /// Largest sum of simultaneous PSS, KiB (`--metric pss`; shared pages counted once).
    #[serde(default)]
    pub max_total_pss_kib: Option<u64>,
    /// True when `max_total_pss_kib` leaves processes out (their PSS could not be read,
    /// `processes_metric_unreadable`, or not even their RSS, `processes_unreadable`): it is
    /// a lower bound, "at least".
    #[serde(default)]
    pub max_total_pss_is_lower_bound: bool,
    /// Largest sum of simultaneous physical footprints, KiB (`--metric footprint`).
    #[serde(default)]
    pub max_total_footprint_kib: Option<u64>,
    /// The same as `max_total_pss_is_lower_bound`, for `max_total_footprint_kib`.
    #[serde(default)]
    pub max_total_footprint_is_lower_bound: bool,
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
    /// The first of those signals memwatch received; `null` when it was not interrupted
    /// (or in reports of earlier versions). When the command itself then exits 0,
    /// memwatch exits 128 + this signal, so a script sees that the run was cut short.
    #[serde(default)]
    pub interrupt_signal: Option<i32>,
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
    /// The first job signal memwatch received, if any.
    pub interrupt_signal: Option<i32>,
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

fn process_report(start: Timestamp, p: &ProcRecord, extra: Option<Metric>) -> ProcessReport {
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
        peak_before_exec: p.peak_before_exec(),
        max_pss_kib: p.max_extra_kib.filter(|_| extra == Some(Metric::Pss)),
        max_footprint_kib: p.max_extra_kib.filter(|_| extra == Some(Metric::Footprint)),
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
        // Processes left out of the totals: RSS misses the unreadable ones, the ones memwatch
        // could not see, and any it could not read or find for want of file descriptors; the
        // extra metric those too and the ones whose metric alone was refused.
        let gaps = &stats.gaps;
        let rss_partial = stats.processes_unreadable > 0
            || gaps.invisible > 0
            || gaps.fd_processes > 0
            || gaps.fd_samples > 0;
        let extra_partial = rss_partial || stats.extra_unreadable > 0;
        let max_total_pss_kib = stats
            .max_total_extra_kib
            .filter(|_| stats.extra == Some(Metric::Pss));
        let max_total_footprint_kib = stats
            .max_total_extra_kib
            .filter(|_| stats.extra == Some(Metric::Footprint));
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
            max_total_rss_fork_copies_kib: seen_alive
                .then(|| stats.fork_copies_at_peak.iter().map(|c| c.kib).sum()),
            max_processes: stats.max_processes,
            max_process_rss_kib: top.and_then(|p| p.max_rss_kib),
            max_process_pid: top.map(|p| p.pid),
            processes_total: stats.processes_total,
            processes_omitted: stats.processes_omitted,
            processes_unreadable: stats.processes_unreadable,
            processes_invisible: stats.gaps.invisible,
            fd_shortage_samples: stats.gaps.fd_samples,
            fd_shortage_processes: stats.gaps.fd_processes,
            max_total_rss_is_lower_bound: rss_partial && seen_alive,
            metric: stats.extra.unwrap_or(Metric::Rss),
            max_total_pss_is_lower_bound: extra_partial && max_total_pss_kib.is_some(),
            max_total_pss_kib,
            max_total_footprint_is_lower_bound: extra_partial && max_total_footprint_kib.is_some(),
            max_total_footprint_kib,
            metric_sampling: stats.extra.map(|e| metric_sampling(e, stats)),
            processes_metric_unreadable: stats.extra_unreadable,
            exit_code,
            signal,
            interrupted: info.interrupt_signal.is_some(),
            interrupt_signal: info.interrupt_signal,
            left_running: info.left_running,
            warnings: Vec::new(),
            processes,
            timeline: stats.timeline.points().to_vec(),
            timeline_thinned: Some(stats.timeline.thinned()),
        };
        report.warnings = kernel_peak_warnings(&report, stats.gaps.invisible);
        report.warnings.extend(fork_copy_warning(&report, stats));
        if let Some(extra) = stats.extra.filter(|_| stats.extra_unreadable > 0) {
            let n = stats.extra_unreadable;
            let what = extra.noun();
            report.warnings.push(format!(
                "the {what} of {n} process{} could not be read (another user's, or setuid): \
                 {} not in the {what} totals, which are lower bounds",
                if n == 1 { "" } else { "es" },
                if n == 1 { "it is" } else { "they are" },
            ));
        }
        report.warnings.extend(gap_warnings(&stats.gaps));
        report
    }

    /// memwatch's own exit status for this report's run: the command's status (128 + N
    /// for a signal), except that a run memwatch was interrupted in (by signal N) whose
    /// command still exited 0 gives 128 + N. `None` when the command's end is unknown.
    pub fn exit_status(&self) -> Option<i32> {
        let status = self.exit()?.status();
        Some(match self.interrupt_signal {
            Some(s) if status == 0 && self.interrupted => 128 + s,
            _ => status,
        })
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

/// How the extra metric was sampled, in words for the report.
fn metric_sampling(extra: Metric, stats: &JobStats) -> String {
    match extra {
        Metric::Pss => format!(
            "PSS read from /proc/<pid>/smaps_rollup for every live process together, in {} round(s) ({} reads); a round starts once the previous one's cost fits in {:.0}% of the time since (rounds at most {} ms apart here); the max total PSS is the largest round, so a peak between rounds can be missed",
            stats.extra_rounds,
            stats.extra_reads,
            crate::job::EXTRA_BUDGET * 100.0,
            stats.extra_period_max.as_millis()
        ),
        Metric::Footprint | Metric::Rss => format!(
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

/// Whether `explained` (KiB, `None`: nothing) falls short of the kernel's figure by more
/// than noise.
fn falls_short(kernel: u64, explained: Option<u64>) -> bool {
    let seen = explained.unwrap_or(0);
    (seen as f64) < MISSED_PEAK_RATIO * kernel as f64
        && kernel.saturating_sub(seen) >= MISSED_PEAK_MIN_KIB
}

/// Fresh fork copies below this share of the max total are not worth a warning.
const FORK_COPY_MIN_SHARE: f64 = 0.05;

/// When the sample with the max total counted processes that were still fresh copies of
/// their parents (between fork and exec), say so: RSS counted the parents' pages twice
/// there, and whether a sample lands in that window changes the total from run to run.
fn fork_copy_warning(r: &Report, stats: &JobStats) -> Option<String> {
    let (Some(total), Some(copies)) = (r.max_total_rss_kib, r.max_total_rss_fork_copies_kib) else {
        return None;
    };
    if copies < MISSED_PEAK_MIN_KIB || (copies as f64) < FORK_COPY_MIN_SHARE * total as f64 {
        return None;
    }
    let largest = stats.fork_copies_at_peak.iter().max_by_key(|c| c.kib)?;
    let find = |pid: i32, before_ms: u64| {
        r.processes
            .iter()
            .filter(|p| p.pid == pid && p.first_seen_ms <= before_ms)
            .max_by_key(|p| p.first_seen_ms)
    };
    let first_seen_ms = millis(largest.first_seen);
    let copy = find(largest.id.pid, first_seen_ms)
        .map_or_else(|| format!("pid {}", largest.id.pid), named);
    let parent =
        find(largest.ppid, first_seen_ms).map_or_else(|| format!("pid {}", largest.ppid), named);
    let others = stats.fork_copies_at_peak.len() - 1;
    let who = match others {
        0 => format!("{copy} was still a copy of its parent {parent}"),
        n => format!(
            "{copy} and {n} other process{} were still copies of their parents (the largest of {parent})",
            if n == 1 { "" } else { "es" }
        ),
    };
    let pss = if r.metric == Metric::Pss {
        "the max total PSS counts shared pages once"
    } else {
        "--metric pss counts shared pages once"
    };
    Some(format!(
        "the max total RSS counts {} twice: at that sample {who}, forked and not yet exec'd, \
         and RSS counts the pages they share in each, so whether a sample falls in that \
         window changes the total from run to run; {pss}",
        crate::output::units::iec(copies),
    ))
}

/// `pid 12 (sh -c …)`.
fn named(p: &ProcessReport) -> String {
    format!(
        "pid {} ({})",
        p.pid,
        crate::output::units::short_command(&p.command, 40)
    )
}

/// Compare each kernel high-water mark with the sampled peaks it covers (the process and
/// the descendants it waited for) and describe the ones sampling missed.
///
/// `invisible` is the number of the job's processes memwatch knows existed but could not
/// see at all (hidden by `hidepid`): when it is not 0, what the samples missed may be one
/// of them, and the warning says so instead of blaming the interval.
pub fn kernel_peak_warnings(r: &Report, invisible: u64) -> Vec<String> {
    let tree = Tree::new(r);
    let mut out = Vec::new();
    for (i, p) in r.processes.iter().enumerate() {
        let Some(kernel) = p.kernel_max_rss_kib else {
            continue;
        };
        let kids = tree.waited_for_max(i);
        let kids_kib = kids.and_then(|k| r.processes[k].max_rss_kib);
        let explained = p
            .max_rss_kib
            .max(kids_kib)
            .max(tree.inherited_bound(i, r.interval_ms));
        if !falls_short(kernel, explained) {
            continue;
        }
        let kernel_text = crate::output::units::iec(kernel);
        let cause = if invisible > 0 {
            format!(
                "memwatch could not see {invisible} process{} of the job (hidepid) and it may \
                 be one of them, which a shorter interval would not change",
                if invisible == 1 { "" } else { "es" }
            )
        } else {
            format!(
                "a short spike or a short-lived child fell between samples; try -i {}",
                (r.interval_ms / 10).clamp(1, 100)
            )
        };
        let in_kids = kids
            .map(|k| {
                let k = &r.processes[k];
                format!(
                    "{} in its descendants ({})",
                    crate::output::units::iec_or_unknown(k.max_rss_kib),
                    named(k)
                )
            })
            .unwrap_or_default();
        let or_child = if kids.is_some() {
            "or a child it waited for"
        } else {
            "or a child of it that no sample saw"
        };
        let line = match p.max_rss_kib {
            // Never sampled: it was gone before the first sample could see it.
            None if p.samples == 0 => format!(
                "{} exited before any sample saw it (the first is taken at once); \
                 the kernel says it, {or_child}, reached {kernel_text}",
                named(p),
            ),
            None => format!(
                "{}, {or_child}, reached {kernel_text} according to the kernel; memwatch \
                 could not read its memory (another user's, or setuid){}",
                named(p),
                if in_kids.is_empty() {
                    String::new()
                } else {
                    format!(", and samples saw at most {in_kids}")
                },
            ),
            Some(own) => format!(
                "{}, {or_child}, reached {kernel_text} according to the kernel, but samples \
                 saw at most {} in it{}: {cause}",
                named(p),
                crate::output::units::iec(own),
                if in_kids.is_empty() {
                    String::new()
                } else {
                    format!(" and {in_kids}")
                },
            ),
        };
        out.push(line);
    }
    out
}

/// The processes of a report as a tree, by the parent pids recorded when first seen.
struct Tree<'a> {
    r: &'a Report,
    children: std::collections::HashMap<i32, Vec<usize>>,
}

impl<'a> Tree<'a> {
    fn new(r: &'a Report) -> Self {
        let mut children: std::collections::HashMap<i32, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, p) in r.processes.iter().enumerate() {
            children.entry(p.ppid).or_default().push(i);
        }
        Tree { r, children }
    }

    /// The children of process `i` (a child cannot be seen before its parent: this skips
    /// recycled-pid look-alikes).
    fn children_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let p = &self.r.processes[i];
        self.children
            .get(&p.pid)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&k| k != i && self.r.processes[k].first_seen_ms >= p.first_seen_ms)
    }

    /// The descendant of process `i` with the largest sampled peak among those `i` (or its
    /// descendants) waited for: the ones the kernel's figure for `i` covers. A descendant
    /// memwatch reaped itself (it has its own kernel figure) or left running was not waited
    /// for by `i`, nor were its own descendants.
    fn waited_for_max(&self, i: usize) -> Option<usize> {
        let ps = &self.r.processes;
        let mut visited = vec![false; ps.len()];
        visited[i] = true;
        let mut best: Option<usize> = None;
        let mut stack: Vec<usize> = self.children_of(i).collect();
        while let Some(j) = stack.pop() {
            if std::mem::replace(&mut visited[j], true) {
                continue;
            }
            let q = &ps[j];
            if q.kernel_max_rss_kib.is_some() || self.r.left_running.contains(&q.pid) {
                continue;
            }
            if best.is_none_or(|b| q.max_rss_kib > ps[b].max_rss_kib) {
                best = Some(j);
            }
            stack.extend(self.children_of(j));
        }
        best
    }

    /// For a process that exec'd after its parent forked it: what its parent held, KiB.
    /// Its kernel figure covers the image it had before exec, a copy of its parent sharing
    /// the parent's pages, so a figure up to this much is what it inherited, not memory it
    /// used. `None` for the command (its parent is memwatch, whose size is noise) and for a
    /// child still running its parent's program.
    fn inherited_bound(&self, i: usize, interval_ms: u64) -> Option<u64> {
        let ps = &self.r.processes;
        let p = &ps[i];
        if p.root {
            return None;
        }
        let held = |q: &ProcessReport| q.max_rss_kib.max(q.kernel_max_rss_kib);
        let parent = ps
            .iter()
            .enumerate()
            .filter(|&(j, q)| j != i && q.pid == p.ppid && q.first_seen_ms <= p.first_seen_ms)
            .max_by_key(|(_, q)| q.first_seen_ms)
            .map(|(_, q)| q);
        if let Some(q) = parent {
            return (q.command != p.command).then(|| held(q)).flatten();
        }
        // Adopted (its parent exited) before any sample saw it: its parent is one of the job's
        // processes alive when it was born, which died at most about an interval after the
        // last sample that saw it alive (start times have 10 ms resolution on Linux).
        let birth_ms = p
            .start_time
            .map(|t| t.as_millisecond() - self.r.start_time.as_millisecond());
        let slack = i64::try_from(interval_ms)
            .unwrap_or(i64::MAX)
            .saturating_add(20);
        ps.iter()
            .enumerate()
            .filter(|&(j, q)| {
                j != i
                    && q.first_seen_ms <= p.first_seen_ms
                    && match (q.start_time, p.start_time) {
                        (Some(a), Some(b)) => a <= b,
                        _ => true,
                    }
                    && birth_ms.is_none_or(|b| {
                        b <= i64::try_from(q.last_seen_ms)
                            .unwrap_or(i64::MAX)
                            .saturating_add(slack)
                    })
            })
            .filter_map(|(_, q)| held(q))
            .max()
    }
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
                interrupt_signal: None,
                left_running: Vec::new(),
            },
        )
    }

    const MIB: u64 = 1024;
    const ME: i32 = 1;
    const ROOT: i32 = 100;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn fake_job() -> (
        crate::sys::fake::FakeInspector,
        crate::job::Job<crate::sys::fake::FakeInspector>,
    ) {
        let fake = crate::sys::fake::FakeInspector::default();
        let job = crate::job::Job::new(fake.clone(), ME, ROOT, 8);
        (fake, job)
    }

    #[test]
    fn a_spike_in_a_child_no_sample_saw_is_put_on_the_parent_with_each_ones_figure() {
        // sh -c './spiker; sleep 0.5': the spiker came and went between samples; sh waited
        // for it and for sleep, so its kernel figure is the spiker's.
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "sh -c ./spiker; sleep 0.5").rss(MIB));
        job.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(102, ROOT, 12, "sleep 0.5").rss(1741));
        job.sample(ms(500), false).unwrap();
        fake.exit(102);
        fake.exit(ROOT);
        job.reaped(ROOT, Some(201 * MIB));
        let r = report_of(&job.finish());
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert_eq!(
            r.warnings[0],
            "pid 100 (sh -c ./spiker; sleep 0.5), or a child it waited for, reached \
             201.0 MiB according to the kernel, but samples saw at most 1.0 MiB in it and \
             1.7 MiB in its descendants (pid 102 (sleep 0.5)): a short spike or a \
             short-lived child fell between samples; try -i 50"
        );

        // No child seen at all: it, or a child no sample saw.
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(3 * MIB));
        job.sample(ms(0), true).unwrap();
        fake.exit(ROOT);
        job.reaped(ROOT, Some(250 * MIB));
        let r = report_of(&job.finish());
        assert_eq!(
            r.warnings,
            [
                "pid 100 (prog), or a child of it that no sample saw, reached 250.0 MiB \
              according to the kernel, but samples saw at most 3.0 MiB in it: a short spike \
              or a short-lived child fell between samples; try -i 50"
            ]
        );
    }

    #[test]
    fn a_child_memwatch_reaped_itself_is_not_in_its_parents_kernel_figure() {
        // The orphan's 250 MiB is its own kernel figure, not the command's: the command's
        // 200 MiB was missed by the samples all the same.
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(2 * MIB));
        fake.spawn(FakeProc::new(102, ROOT, 12, "worker").rss(250 * MIB));
        job.sample(ms(0), true).unwrap();
        fake.exit(ROOT);
        fake.reparent(102, ME);
        job.reaped(ROOT, Some(200 * MIB));
        job.sample(ms(500), false).unwrap();
        fake.exit(102);
        job.reaped(102, Some(250 * MIB));
        let r = report_of(&job.finish());
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(
            r.warnings[0].starts_with("pid 100 (prog), or a child of it that no sample saw"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn the_hidepid_hook_blames_visibility_not_the_interval() {
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(MIB));
        job.sample(ms(0), true).unwrap();
        fake.exit(ROOT);
        job.reaped(ROOT, Some(101 * MIB));
        let r = report_of(&job.finish());
        let w = kernel_peak_warnings(&r, 1);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].ends_with(
                "memwatch could not see 1 process of the job (hidepid) and it may be one of \
                 them, which a shorter interval would not change"
            ),
            "{w:?}"
        );
        assert!(!w[0].contains("-i"), "{w:?}");
    }

    #[test]
    fn a_kernel_peak_inherited_before_exec_is_no_missed_spike() {
        // A 300 MiB program forks a child that execs `sleep` and is orphaned: the kernel's
        // figure for sleep is the copy of its parent it was before exec.
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(313 * MIB));
        job.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(102, ROOT, 12, "sleep 0.6").rss(1741));
        job.sample(ms(20), false).unwrap();
        fake.exit(ROOT);
        fake.reparent(102, ME);
        job.reaped(ROOT, Some(313 * MIB));
        job.sample(ms(40), false).unwrap();
        fake.exit(102);
        job.reaped(102, Some(310 * MIB));
        let r = report_of(&job.finish());
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);

        // Adopted before any sample saw it (its parent unknown): the processes alive at its
        // birth bound what it can have inherited.
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(313 * MIB));
        job.sample(ms(0), true).unwrap();
        fake.exit(ROOT);
        job.reaped(ROOT, Some(313 * MIB));
        fake.spawn(FakeProc::new(102, ME, 12, "sleep 0.6").rss(1741));
        job.sample(ms(500), false).unwrap();
        fake.exit(102);
        job.reaped(102, Some(310 * MIB));
        let r = report_of(&job.finish());
        assert_eq!(r.processes.iter().find(|p| p.pid == 102).unwrap().ppid, ME);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn a_spike_above_what_the_parent_held_is_still_a_missed_spike() {
        use crate::sys::fake::FakeProc;
        let scenario = |child_kernel: u64, child_command: &str| {
            let (fake, mut job) = fake_job();
            fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(100 * MIB));
            job.sample(ms(0), true).unwrap();
            fake.spawn(FakeProc::new(102, ROOT, 12, child_command).rss(2 * MIB));
            job.sample(ms(20), false).unwrap();
            fake.exit(ROOT);
            fake.reparent(102, ME);
            job.reaped(ROOT, Some(100 * MIB));
            job.sample(ms(40), false).unwrap();
            fake.exit(102);
            job.reaped(102, Some(child_kernel));
            report_of(&job.finish()).warnings
        };
        // Above the parent's 100 MiB: it used that itself, after exec.
        let w = scenario(300 * MIB, "convert big.png");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with(
                "pid 102 (convert big.png), or a child of it that no sample saw, reached 300.0 MiB"
            ),
            "{w:?}"
        );
        // Not exec'd (still its parent's program): nothing was inherited across an exec.
        let w = scenario(90 * MIB, "python3 big.py");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("pid 102 (python3 big.py)"), "{w:?}");
        // Exec'd, and within what its parent held: inherited.
        assert!(scenario(90 * MIB, "sleep 1").is_empty());
    }

    #[test]
    fn a_max_total_that_counted_a_fresh_fork_copy_says_so_and_points_to_pss() {
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(300 * MIB));
        job.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(102, ROOT, 12, "python3 big.py").rss(299 * MIB));
        job.sample(ms(10), false).unwrap();
        fake.exec(102, "sleep 0.5", 1741);
        job.sample(ms(20), false).unwrap();
        let r = report_of(&job.finish());
        assert_eq!(r.max_total_rss_kib, Some(599 * MIB));
        assert_eq!(r.max_total_rss_fork_copies_kib, Some(299 * MIB));
        let child = r.processes.iter().find(|p| p.pid == 102).unwrap();
        assert_eq!(
            (child.command.as_str(), child.peak_before_exec),
            ("sleep 0.5", true)
        );
        assert_eq!(
            r.warnings,
            [
                "the max total RSS counts 299.0 MiB twice: at that sample pid 102 (sleep 0.5) \
              was still a copy of its parent pid 100 (python3 big.py), forked and not yet \
              exec'd, and RSS counts the pages they share in each, so whether a sample falls \
              in that window changes the total from run to run; --metric pss counts shared \
              pages once"
            ]
        );

        // Reports of earlier versions, without the new fields, still read.
        let mut v = serde_json::to_value(&r).unwrap();
        v.as_object_mut()
            .unwrap()
            .remove("max_total_rss_fork_copies_kib");
        for p in v["processes"].as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("peak_before_exec");
        }
        let old: Report = serde_json::from_value(v).unwrap();
        assert_eq!(old.max_total_rss_fork_copies_kib, None);
        assert!(old.processes.iter().all(|p| !p.peak_before_exec));
    }

    #[test]
    fn a_small_fork_copy_is_counted_but_not_warned_about() {
        // A shell's 1 MiB copy before it execs a command: counted, not worth a line.
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "sh -c x").rss(MIB));
        job.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(102, ROOT, 12, "sh -c x").rss(MIB));
        job.sample(ms(10), false).unwrap();
        fake.exec(102, "x", 900);
        job.sample(ms(20), false).unwrap();
        let r = report_of(&job.finish());
        assert_eq!(r.max_total_rss_fork_copies_kib, Some(MIB));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    fn summary(r: &Report) -> String {
        let mut out = Vec::new();
        crate::output::human::write(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_pss_total_missing_a_process_is_headlined_as_at_least() {
        // As nobody, with a setuid child: its RSS can be read, its PSS cannot.
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        job.measure_extra(Metric::Pss);
        fake.spawn(
            FakeProc::new(ROOT, ME, 10, "sh job.sh")
                .rss(50 * MIB)
                .pss(30 * MIB),
        );
        fake.spawn(FakeProc::new(102, ROOT, 12, "setuid-tool").rss(100 * MIB));
        job.sample(ms(0), true).unwrap();
        let r = report_of(&job.finish());
        assert_eq!(r.max_total_pss_kib, Some(30 * MIB));
        assert!(r.max_total_pss_is_lower_bound);
        assert!(!r.max_total_rss_is_lower_bound, "every RSS was read");
        let text = summary(&r);
        assert!(
            text.contains(
                "Max total PSS:   at least 30.0 MiB (shared pages counted once; without 1 \
                 process whose PSS could not be read)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Max total RSS:   150.0 MiB (across 2 processes)\n"),
            "{text}"
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.ends_with("which are lower bounds"))
        );
    }

    #[test]
    fn an_rss_total_missing_an_unreadable_process_is_headlined_as_at_least() {
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        job.measure_extra(Metric::Pss);
        fake.spawn(
            FakeProc::new(ROOT, ME, 10, "sudo-wrapper")
                .rss(5 * MIB)
                .pss(3 * MIB),
        );
        fake.spawn(FakeProc::new(102, ROOT, 12, "hidden").denied());
        job.sample(ms(0), true).unwrap();
        let r = report_of(&job.finish());
        assert_eq!(r.processes_unreadable, 1);
        assert!(r.max_total_rss_is_lower_bound);
        assert!(r.max_total_pss_is_lower_bound, "its PSS is missing too");
        assert!(
            !r.max_total_footprint_is_lower_bound,
            "no footprint measured"
        );
        let text = summary(&r);
        for line in [
            "Max total RSS:   at least 5.0 MiB (across 2 processes; without 1 unreadable process)\n",
            "Max per process: at least 5.0 MiB (pid 100; without 1 unreadable process)\n",
            "Max total PSS:   at least 3.0 MiB (shared pages counted once; without 1 process whose PSS could not be read)\n",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }

    #[test]
    fn whole_totals_are_not_called_lower_bounds() {
        use crate::sys::fake::FakeProc;
        let (fake, mut job) = fake_job();
        job.measure_extra(Metric::Pss);
        fake.spawn(
            FakeProc::new(ROOT, ME, 10, "prog")
                .rss(5 * MIB)
                .pss(3 * MIB),
        );
        job.sample(ms(0), true).unwrap();
        let r = report_of(&job.finish());
        assert!(!r.max_total_rss_is_lower_bound && !r.max_total_pss_is_lower_bound);
        assert!(!summary(&r).contains("at least"));
        // Reports of earlier versions, without the fields, read as not marked.
        let mut v = serde_json::to_value(&r).unwrap();
        let o = v.as_object_mut().unwrap();
        for f in [
            "max_total_rss_is_lower_bound",
            "max_total_pss_is_lower_bound",
            "max_total_footprint_is_lower_bound",
        ] {
            assert!(o.remove(f).is_some(), "{f}");
        }
        let old: Report = serde_json::from_value(v).unwrap();
        assert!(!old.max_total_pss_is_lower_bound);
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
        assert!(r.max_total_rss_is_lower_bound);
        let mut text = Vec::new();
        crate::output::human::write(&r, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains(
                "Max total RSS:   at least 5.0 KiB (across 1 process; without 1 process memwatch \
                 could not see and 1 process unread for want of file descriptors)"
            ),
            "{text}"
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
            r.max_total_rss_is_lower_bound,
            "births may have been missed"
        );
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
