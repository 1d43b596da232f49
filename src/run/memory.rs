//! The memory around the job. The limit in force, read before the command starts: the
//! lowest of the memory cgroup's limit, Slurm's allocation, the resource limits and the
//! machine's memory. The job's memory cgroup (the one memwatch is in, which the command
//! starts in), watched while the job runs: whether anyone but the job and memwatch is in
//! it (before the start, at complete searches but at most once a second, and at the end),
//! and its OOM-kill counter whenever processes of the job have ended; read at the end: its
//! high-water mark. memwatch never creates, moves or writes cgroups.

use std::time::Duration;

use crate::job::{Job, JobStats, ProcRecord};
use crate::model::limit::{self, Limits};
use crate::model::oom::{self, Ended, Rise};
use crate::model::{Exit, Report};
use crate::output::warnings;
use crate::sys::unix::signals;
use crate::sys::{self, Inspector, JobCgroup, Pid};

/// The limit in force and the job's cgroup, as watched so far.
#[derive(Debug)]
pub(super) struct MemoryWatch {
    self_pid: Pid,
    /// The limits found before the command started.
    pub(super) limits: Limits,
    /// The job's memory cgroup, or why there is none.
    cgroup: Result<JobCgroup, String>,
    /// Why the cgroup is not the job's alone, from the first check that found it.
    not_alone: Option<String>,
    /// The OOM-kill counter at its last reading.
    oom_last: Option<u64>,
    /// The readings that found it risen.
    rises: Vec<Rise>,
    /// [`Job::ended`] when the counter was last read.
    ended_seen: u64,
    /// When the members were last checked.
    checked_at: Option<Duration>,
    /// When memwatch killed the job itself (SIGKILL at a second signal).
    escalated_at: Option<Duration>,
    /// When the job ended (the last reading).
    finished_at: Option<Duration>,
}

/// Who is in the cgroup is checked at most this often (every sample is a complete search
/// once the command has exited).
const CHECK_EVERY: Duration = Duration::from_secs(1);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl MemoryWatch {
    /// Before the command starts (memwatch is `self_pid`): find the cgroup and the limits,
    /// and check that memwatch is alone in its cgroup.
    pub(super) fn start(self_pid: Pid) -> MemoryWatch {
        let cgroup = JobCgroup::of_self();
        let mut candidates = Vec::new();
        let mut notes = Vec::new();
        if let Ok(cg) = &cgroup {
            let (l, n) = cg.limit();
            candidates.extend(l);
            notes.extend(n);
        }
        let (machine, n) = sys::machine_limits();
        candidates.extend(machine);
        notes.extend(n);
        let (slurm, n) = limit::slurm(|k| std::env::var(k).ok());
        candidates.extend(slurm);
        notes.extend(n);
        let oom_last = cgroup.as_ref().ok().and_then(JobCgroup::oom_kills_at_start);
        let mut w = MemoryWatch {
            self_pid,
            limits: Limits::from_candidates(candidates, notes),
            cgroup,
            not_alone: None,
            oom_last,
            rises: Vec::new(),
            ended_seen: 0,
            checked_at: None,
            escalated_at: None,
            finished_at: None,
        };
        w.check(&[]);
        w
    }

    /// After a sample at `t` (`full`: a complete search): who is in the cgroup, at a
    /// complete search; the OOM-kill counter, when processes of the job ended since it was
    /// last read. Nothing in the steady state.
    pub(super) fn after_sample<I: Inspector>(&mut self, t: Duration, full: bool, job: &Job<I>) {
        if self.cgroup.is_err() {
            return;
        }
        if full && self.checked_at.is_none_or(|c| t >= c + CHECK_EVERY) {
            self.checked_at = Some(t);
            self.check(job.live_pids());
        }
        if job.ended() != self.ended_seen {
            self.ended_seen = job.ended();
            self.read_oom(t);
        }
    }

    /// memwatch sent the job SIGKILL itself at `t` (a second signal): deaths by SIGKILL
    /// from then on are its own doing, not the OOM killer's.
    pub(super) fn escalated(&mut self, t: Duration) {
        self.escalated_at.get_or_insert(t);
    }

    /// Once the job is over, at `t`: the last check and reading.
    pub(super) fn finish<I: Inspector>(&mut self, t: Duration, job: &Job<I>) {
        self.finished_at = Some(t);
        if self.cgroup.is_ok() {
            self.check(job.live_pids());
            self.read_oom(t);
        }
    }

    /// Whether anyone but memwatch and the job (`live`) is in the cgroup, or a job
    /// process left it; the first reason found is kept.
    fn check(&mut self, live: &[Pid]) {
        let Ok(cg) = &self.cgroup else {
            return;
        };
        if self.not_alone.is_some() {
            return;
        }
        let mut sorted = live.to_vec();
        sorted.sort_unstable();
        let me = self.self_pid;
        let is_job = |p: Pid| p == me || sorted.binary_search(&p).is_ok();
        self.not_alone = match cg.intrusion(&is_job, live) {
            Ok(None) => None,
            Ok(Some(i)) => Some(warnings::cgroup_shared(cg.path(), &i)),
            Err(e) => Some(warnings::cgroup_unchecked(cg.path(), &e)),
        };
    }

    fn read_oom(&mut self, t: Duration) {
        let Some(now) = self.cgroup.as_ref().ok().and_then(JobCgroup::oom_kills) else {
            return;
        };
        if let Some(last) = self.oom_last.filter(|&l| now > l) {
            self.rises.push(Rise {
                at_ms: millis(t),
                kills: now - last,
            });
        }
        self.oom_last = Some(now);
    }

    /// The cgroup's high-water mark as the job's peak (KiB), or why it is not; with what it
    /// counts.
    fn cgroup_peak(&self) -> (Option<u64>, String) {
        let cg = match &self.cgroup {
            Ok(cg) => cg,
            Err(why) => return (None, warnings::no_cgroup(why)),
        };
        if let Some(why) = &self.not_alone {
            return (None, why.clone());
        }
        match (cg.peak_at_start(), cg.peak_bytes()) {
            (Err(e), _) | (_, Err(e)) => (None, e),
            (Ok(start), Ok(end)) if end <= start => {
                (None, warnings::cgroup_peak_before(cg.path(), start / 1024))
            }
            (Ok(_), Ok(end)) => (Some(end / 1024), warnings::cgroup_peak_counts(cg.path())),
        }
    }

    /// Put what was watched into the final report of the job (`stats`): the cgroup's peak
    /// and its note, the OOM kills and their count.
    pub(super) fn conclude(&self, report: &mut Report, stats: &JobStats) {
        let (peak, note) = self.cgroup_peak();
        report.cgroup_peak_kib = peak;
        report.cgroup_peak_note = Some(note);
        let start = self
            .cgroup
            .as_ref()
            .ok()
            .and_then(JobCgroup::oom_kills_at_start);
        let count = start.zip(self.oom_last).map(|(s, e)| e.saturating_sub(s));
        let end = self.finished_at.unwrap_or(Duration::MAX);
        let ended: Vec<Ended> = stats
            .processes
            .iter()
            .filter(|p| p.gone_at.is_some() || p.exit.is_some())
            .map(|p| ended(p, end, self.escalated_at))
            .collect();
        let limit = self.limits.oom_limit();
        let (kills, _) = oom::attribute(&ended, &self.rises, count.unwrap_or(0), limit.as_ref());
        report.oom_kills = kills;
        report.oom_kill_count = count;
    }
}

/// A process that ended (by `end` at the latest), as the OOM attribution sees it. A
/// SIGKILL learned of after memwatch sent its own (`escalated`) says nothing of the OOM
/// killer: the process's end counts as unknown then.
fn ended(p: &ProcRecord, end: Duration, escalated: Option<Duration>) -> Ended {
    let gone = p.gone_at.unwrap_or(end);
    Ended {
        pid: p.id.pid,
        command: p.command.to_string(),
        // 0 is what a sample that could not read it leaves: unknown.
        last_rss_kib: (p.last_kib > 0).then_some(p.last_kib),
        last_seen_ms: millis(p.last_seen),
        gone_ms: millis(gone),
        sigkill: sigkill(p.exit, gone, escalated),
    }
}

/// Whether a process that memwatch learned was gone at `gone` died by SIGKILL: `None` when
/// memwatch does not know how it ended, or when memwatch had sent SIGKILL itself by then.
fn sigkill(exit: Option<Exit>, gone: Duration, escalated: Option<Duration>) -> Option<bool> {
    let ours = escalated.is_some_and(|e| gone >= e);
    exit.filter(|_| !ours)
        .map(|e| e == Exit::Signal(signals::KILL))
}

/// Put the limit in force into a report: the limit, the peak's share of it, a warning
/// above 90%, and what could not be read about the limits.
pub(super) fn apply_limit(report: &mut Report, limits: &Limits) {
    report.memory_limit = limits.limit.clone();
    report.peak_percent_of_limit = report
        .max_total_rss_kib
        .zip(limits.limit.as_ref())
        .and_then(|(peak, l)| limit::percent_of(peak, l.kib));
    if let Some(w) = warnings::near_limit(report) {
        report.warnings.push(w);
    }
    report.warnings.extend(limits.notes.iter().cloned());
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::fs;

    use super::*;
    use crate::sys::linux::cgroup::{JobCgroup, locate};

    /// A watch of a fake v2 cgroup whose high-water mark was `start` bytes when the
    /// watch began and is `end` now.
    fn watch(dir: &tempfile::TempDir, start: u64, end: u64) -> MemoryWatch {
        let cg = dir.path().join("sys/fs/cgroup/job");
        fs::create_dir_all(&cg).unwrap();
        fs::write(cg.join("cgroup.controllers"), "memory\n").unwrap();
        fs::write(cg.join("memory.peak"), format!("{start}\n")).unwrap();
        fs::write(cg.join("memory.events"), "oom_kill 0\n").unwrap();
        let mounts = "1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let loc = locate("0::/job\n", mounts, dir.path()).unwrap();
        let jc = JobCgroup::at(loc);
        fs::write(cg.join("memory.peak"), format!("{end}\n")).unwrap();
        MemoryWatch {
            self_pid: 1,
            limits: Limits::default(),
            cgroup: Ok(jc),
            not_alone: None,
            oom_last: Some(0),
            rises: Vec::new(),
            ended_seen: 0,
            checked_at: None,
            escalated_at: None,
            finished_at: None,
        }
    }

    fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("memwatch-watch-")
            .tempdir()
            .unwrap()
    }

    #[test]
    fn the_cgroup_peak_is_the_jobs_when_it_rose_during_the_job() {
        let t = tmp();
        let (peak, note) = watch(&t, 8 << 20, 300 << 20).cgroup_peak();
        assert_eq!(peak, Some(300 << 10));
        assert!(note.contains("page cache and kernel memory"), "{note}");
    }

    #[test]
    fn a_high_water_mark_from_before_the_job_is_not_the_jobs() {
        let t = tmp();
        let (peak, note) = watch(&t, 300 << 20, 300 << 20).cgroup_peak();
        assert_eq!(peak, None);
        assert_eq!(
            note,
            "no cgroup peak: the high-water mark of the job's memory cgroup /job (300.0 MiB) was reached before the job started and not passed since, so it says nothing of the job"
        );
    }

    #[test]
    fn a_shared_cgroup_or_none_gives_no_peak_and_says_why() {
        let t = tmp();
        let mut w = watch(&t, 1 << 20, 300 << 20);
        w.not_alone = Some("no cgroup peak: someone else".to_string());
        assert_eq!(
            w.cgroup_peak(),
            (None, "no cgroup peak: someone else".to_string())
        );
        w.cgroup = Err("memwatch is in no memory cgroup".to_string());
        assert_eq!(
            w.cgroup_peak(),
            (
                None,
                "no cgroup peak: memwatch is in no memory cgroup".to_string()
            )
        );
    }

    #[test]
    fn memwatchs_own_sigkill_is_no_oom_evidence() {
        let kill = Some(Exit::Signal(signals::KILL));
        let (t, later) = (Duration::from_millis(100), Duration::from_millis(300));
        assert_eq!(sigkill(kill, t, None), Some(true));
        assert_eq!(sigkill(Some(Exit::Code(0)), t, None), Some(false));
        assert_eq!(sigkill(None, t, None), None);
        // Killed before memwatch escalated at 200 ms: still evidence; after: not.
        let at = Some(Duration::from_millis(200));
        assert_eq!(sigkill(kill, t, at), Some(true));
        assert_eq!(sigkill(kill, later, at), None);
    }

    #[test]
    fn oom_rises_are_read_only_when_the_counter_moved() {
        let t = tmp();
        let mut w = watch(&t, 1, 2);
        w.read_oom(Duration::from_millis(100));
        assert!(w.rises.is_empty());
        fs::write(
            t.path().join("sys/fs/cgroup/job/memory.events"),
            "oom_kill 2\n",
        )
        .unwrap();
        w.read_oom(Duration::from_millis(250));
        assert_eq!(
            w.rises,
            vec![Rise {
                at_ms: 250,
                kills: 2
            }]
        );
        assert_eq!(w.oom_last, Some(2));
    }
}
