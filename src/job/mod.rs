//! The job: who belongs to it, and what it used. Platform-neutral.
//!
//! [`Job`] drives an [`Inspector`] once per sample: it admits newly seen processes whose
//! parent (or process group leader) is in the job, or whose parent is memwatch itself (the
//! root, and orphans memwatch adopted as subreaper), reads every live member's RSS, and keeps
//! the running maxima: the total at each sample, each process's own peak, and a bounded
//! timeline. A launcher's tasks that a daemon started outside the job's tree (Slurm's
//! `srun`) are adopted ([`adopt`]). Nothing here knows the operating system; tests drive it
//! with [`crate::sys::fake::FakeInspector`].

mod adopt;
mod groups;
mod read;
mod record;
mod stats;

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use crate::error::SampleError;
use crate::model::Exit;
use crate::model::timeline::Timeline;
use crate::sys::{Access, Discovery, Inspector, Metric, Pid, ProcId, Reading, Seen};
use adopt::Adoption;
use groups::Groups;
pub use record::{ForkCopy, MAX_FORK_COPIES, ProcRecord};
use record::{Live, born_before, shown_command};
pub use stats::{JobStats, SampleSummary};

/// Dead processes kept in full detail; past twice this many, the ones with the smallest
/// peaks are folded into a count so memory stays bounded on jobs that run millions of
/// short processes.
pub const MAX_DEAD_RECORDS: usize = 5_000;

/// The share of memwatch's time that reading an expensive extra metric (PSS) may take: a
/// round of reads (every live process at one sample) starts only once the last round's
/// cost, divided by this, has passed.
pub const EXTRA_BUDGET: f64 = 0.05;

/// The job's running state.
pub struct Job<I: Inspector> {
    inspector: I,
    self_pid: Pid,
    root_pid: Pid,
    /// The command memwatch started, for a root that exits before any sample sees it.
    root_command: Rc<str>,
    /// The file name of the program it started.
    root_program: Rc<str>,
    live: Vec<Live<I::Handle>>,
    live_pids: Vec<Pid>,
    live_index: HashMap<Pid, usize>,
    dead: Vec<ProcRecord>,
    omitted: u64,
    total_seen: u64,
    seen: Vec<Seen>,
    samples: u64,
    max_total_rss_kib: u64,
    max_total_private_kib: Option<u64>,
    max_total_index: Option<u64>,
    max_total_at: Duration,
    processes_at_peak: u32,
    /// Fresh fork copies counted at the sample with the max total (at most
    /// [`MAX_FORK_COPIES`], the most recently found; confirmed at the end by their exec).
    peak_copies: [Option<ForkCopy>; MAX_FORK_COPIES],
    /// Live processes with `copy_of_parent` set.
    copies_live: usize,
    /// Live processes with `copy_peak_pending` set.
    copy_peaks_pending: usize,
    max_processes: u32,
    timeline: Timeline,
    denied: Vec<ProcId>,
    newly_denied: usize,
    extra: Option<Metric>,
    max_total_extra_kib: Option<u64>,
    extra_reads: u64,
    extra_rounds: u64,
    extra_unreadable: u64,
    extra_next: Duration,
    extra_period_max: Duration,
    /// The total split by program, over time and at the peak.
    groups: Groups,
    /// The running process memwatch attached to (`memwatch attach`), if so.
    attached: Option<ProcId>,
    /// Attached: job processes whose parent exited while they ran.
    reparented: u64,
    /// Attached: live children of processes that exited at this sample; counted in
    /// `reparented` if they outlive it.
    orphans: Vec<ProcId>,
    /// Processes that ended so far (found gone or reaped).
    ended: u64,
    /// Processes memwatch reaped before a sample found them gone: the next sample is when
    /// memwatch learned of their end, and stamps it.
    reaped_unstamped: Vec<Pid>,
    adoption: Adoption,
}

impl<I: Inspector> Job<I> {
    /// A job whose root is `root_pid`, a child of memwatch (`self_pid`). `capacity` is how
    /// many live processes to make room for up front.
    pub fn new(inspector: I, self_pid: Pid, root_pid: Pid, capacity: usize) -> Self {
        let capacity = capacity.max(16);
        Job {
            inspector,
            self_pid,
            root_pid,
            root_command: Rc::from(""),
            root_program: Rc::from(""),
            live: Vec::with_capacity(capacity),
            live_pids: Vec::with_capacity(capacity),
            live_index: HashMap::with_capacity(capacity * 2),
            dead: Vec::new(),
            omitted: 0,
            total_seen: 0,
            seen: Vec::with_capacity(capacity),
            samples: 0,
            max_total_rss_kib: 0,
            max_total_private_kib: None,
            max_total_index: None,
            max_total_at: Duration::ZERO,
            processes_at_peak: 0,
            peak_copies: [None; MAX_FORK_COPIES],
            copies_live: 0,
            copy_peaks_pending: 0,
            max_processes: 0,
            timeline: Timeline::new(crate::model::timeline::DEFAULT_POINTS),
            denied: Vec::new(),
            newly_denied: 0,
            extra: None,
            max_total_extra_kib: None,
            extra_reads: 0,
            extra_rounds: 0,
            extra_unreadable: 0,
            extra_next: Duration::ZERO,
            extra_period_max: Duration::ZERO,
            groups: Groups::default(),
            attached: None,
            reparented: 0,
            orphans: Vec::new(),
            ended: 0,
            reaped_unstamped: Vec::new(),
            adoption: Adoption::default(),
        }
    }

    /// Attach to `root`, a running process memwatch did not start (`memwatch attach`): it
    /// is followed at once as the job's root, first seen at the job's start. Returns
    /// whether its memory can be read, or `None` when it is already gone. The inspector
    /// must have been told too ([`Inspector::attach`]).
    pub fn attach(&mut self, root: Seen) -> Option<Access> {
        self.root_pid = root.id.pid;
        self.attached = Some(root.id);
        self.follow(root, Duration::ZERO);
        let &i = self.live_index.get(&root.id.pid)?;
        Some(self.live[i].rec.access)
    }

    /// Whether `pid` is a live process of the job.
    pub fn is_live(&self, pid: Pid) -> bool {
        self.live_index.contains_key(&pid)
    }

    /// The command line memwatch started: shown for a root that exits before any sample
    /// sees it, or that a sample finds as a zombie (whose command line is gone and shows as
    /// `[name]`).
    pub fn set_root_command(&mut self, command: &str, program: &str) {
        self.root_command = Rc::from(command);
        self.root_program = Rc::from(program.rsplit('/').next().unwrap_or(program));
    }

    /// Also measure `extra` (the caller checked the inspector supports it), in rounds that
    /// read every live process at one sample, spaced so they take at most [`EXTRA_BUDGET`]
    /// of the time. The max total is the largest round: a true simultaneous sum, never an
    /// estimate, which may miss a peak between rounds.
    pub fn measure_extra(&mut self, extra: Metric) {
        self.extra = Some(extra);
    }

    /// Take one sample at offset `t` from the job's start. `full` asks discovery for a
    /// complete search instead of births only (first sample, safety net, after the root's
    /// exit).
    pub fn sample(&mut self, t: Duration, full: bool) -> Result<SampleSummary, SampleError> {
        if !self.reaped_unstamped.is_empty() {
            self.stamp_reaped(t);
        }
        self.discover(full)?;
        self.admit(t);
        if self.adoption.active() {
            self.adopt(t, full);
        }
        let summary = self.read_all(t);
        if !self.orphans.is_empty() {
            self.settle_orphans();
        }
        self.samples += 1;
        let index = self.samples - 1;
        // A sample where no process could be measured has no total.
        let measured = summary.processes > summary.unknown + summary.loading;
        if measured && summary.private_unknown == 0 {
            let private = summary.total_private_kib;
            self.max_total_private_kib = Some(
                self.max_total_private_kib
                    .map_or(private, |m| m.max(private)),
            );
        }
        if let Some(extra) = summary.total_extra_kib.filter(|_| measured) {
            self.max_total_extra_kib =
                Some(self.max_total_extra_kib.map_or(extra, |m| m.max(extra)));
        }
        if measured
            && (self.max_total_index.is_none() || summary.total_rss_kib > self.max_total_rss_kib)
        {
            self.max_total_rss_kib = summary.total_rss_kib;
            self.max_total_index = Some(index);
            self.max_total_at = t;
            self.processes_at_peak = summary.processes;
            self.record_fork_copies();
        }
        self.max_processes = self.max_processes.max(summary.processes);
        if summary.has_total() {
            self.timeline
                .push(t, summary.total_rss_kib, summary.processes);
        }
        let total = summary.has_total().then_some(summary.total_rss_kib);
        self.groups
            .end(t, total, self.max_total_index == Some(index));
        Ok(summary)
    }

    fn discover(&mut self, full: bool) -> Result<(), SampleError> {
        self.seen.clear();
        let index = &self.live_index;
        let is_live = |pid: Pid| index.contains_key(&pid);
        let d = Discovery {
            root: self.root_pid,
            live: &self.live_pids,
            is_live: &is_live,
            full,
            roots: &self.adoption.roots,
        };
        self.inspector.discover(&d, &mut self.seen)
    }

    /// Whether a newly seen process belongs to the job.
    fn belongs(&self, s: &Seen) -> bool {
        if s.ppid == self.self_pid {
            // The root, or an orphan memwatch adopted as subreaper: memwatch runs nothing else.
            return true;
        }
        let member = |pid: Pid| self.live_index.get(&pid).map(|&i| &self.live[i].rec);
        if let Some(parent) = member(s.ppid) {
            if born_before(parent.born, s.born) {
                return true;
            }
        }
        // A process in a group led by a job process (the only link left on systems without
        // a subreaper once its parent has exited).
        if s.pgid > 0 && s.pgid != s.id.pid {
            if let Some(leader) = member(s.pgid) {
                return leader.pgid == leader.id.pid && born_before(leader.born, s.born);
            }
        }
        false
    }

    /// Admit every seen process that belongs, repeating until nothing changes so a child
    /// listed before its parent (pids wrap around) is still found.
    fn admit(&mut self, t: Duration) {
        loop {
            let mut progress = false;
            let mut i = 0;
            while i < self.seen.len() {
                let s = self.seen[i];
                if let Some(&li) = self.live_index.get(&s.id.pid) {
                    if self.live[li].rec.id == s.id {
                        self.seen.swap_remove(i);
                        continue;
                    }
                    // The pid is live in the job under another start time: the old process
                    // is gone and the pid recycled. Reading the old handle retires it.
                    if self.inspector.read(&mut self.live[li].handle) != Reading::Gone {
                        self.seen.swap_remove(i);
                        continue;
                    }
                    self.retire(li, Some(t));
                }
                if self.belongs(&s) {
                    self.seen.swap_remove(i);
                    self.follow(s, t);
                    progress = true;
                } else {
                    i += 1;
                }
            }
            if !progress || self.seen.is_empty() {
                break;
            }
        }
    }

    /// Follow a process admitted into the job; false if it is already gone.
    fn follow(&mut self, s: Seen, t: Duration) -> bool {
        let Some((mut handle, access)) = self.inspector.follow(&s) else {
            return false;
        };
        let is_root =
            (s.id.pid == self.root_pid && s.ppid == self.self_pid) || self.attached == Some(s.id);
        let command = shown_command(
            &self.inspector.command(&s, &mut handle),
            is_root,
            &self.root_command,
            &self.root_program,
        );
        if access == Access::Denied {
            self.denied.push(s.id);
            self.newly_denied += 1;
        }
        let parent = self
            .live_index
            .get(&s.ppid)
            .map(|&i| &self.live[i].rec)
            .filter(|parent| born_before(parent.born, s.born));
        // Found running its parent's command line: maybe between its fork and its exec.
        let copy_of_parent = parent.is_some_and(|parent| *parent.command == *command);
        // Adopted with its parent, or with the leader of its group when only the group
        // links it to the job (its parent gone, or not followed yet).
        let leader = self.live_index.get(&s.pgid).map(|&i| &self.live[i].rec);
        let adopted_step = parent.map_or_else(
            || leader.and_then(|l| l.adopted_step.clone()),
            |p| p.adopted_step.clone(),
        );
        let launcher = adopt::is_launcher(&command);
        if launcher {
            self.adoption.launcher(s.id.pid, true);
        }
        let mut rec = ProcRecord::new(s.id, s.ppid, command, t, is_root);
        rec.group = self.groups.join(&rec.command);
        rec.adopted_step = adopted_step;
        rec.launcher = launcher;
        rec.copy_of_parent = copy_of_parent;
        self.copies_live += usize::from(copy_of_parent);
        rec.pgid = s.pgid;
        rec.born = s.born;
        rec.started_unix_us = self.inspector.start_unix_us(s.id);
        rec.access = access;
        rec.recheck_command = true;
        self.total_seen += 1;
        self.live_index.insert(s.id.pid, self.live.len());
        self.live_pids.push(s.id.pid);
        self.live.push(Live { rec, handle });
        true
    }

    /// Move live process `i` to the dead records; `gone_at`: the sample that found it
    /// gone, if one did.
    fn retire(&mut self, i: usize, gone_at: Option<Duration>) {
        let mut gone = self.live.swap_remove(i);
        gone.rec.gone_at = gone_at;
        self.ended += 1;
        self.groups.leave(gone.rec.group);
        if self.attached.is_some() {
            self.count_reparented(&gone.rec);
        }
        self.copies_live -= usize::from(gone.rec.copy_of_parent);
        if gone.rec.launcher {
            self.adoption.launcher(gone.rec.id.pid, false);
        }
        if gone.rec.adopted_step.is_some() {
            self.adoption.roots.retain(|&p| p != gone.rec.id.pid);
        }
        self.live_pids.swap_remove(i);
        self.live_index.remove(&gone.rec.id.pid);
        if let Some(moved) = self.live.get(i) {
            self.live_index.insert(moved.rec.id.pid, i);
        }
        self.dead.push(gone.rec);
        if self.dead.len() > 2 * MAX_DEAD_RECORDS {
            self.compact_dead();
        }
    }

    /// Attached, no subreaper: the live children of `parent`, which exited, are
    /// reparented away from the attached tree (to init or a subreaper) if they outlive this
    /// sample ([`settle_orphans`](Job::settle_orphans)).
    fn count_reparented(&mut self, parent: &ProcRecord) {
        let orphans = self
            .live
            .iter()
            .filter(|l| l.rec.ppid == parent.id.pid && born_before(parent.born, l.rec.born));
        self.orphans.extend(orphans.map(|l| l.rec.id));
    }

    /// Count the orphans of this sample that are still alive: they left the attached tree
    /// and stay in the job.
    fn settle_orphans(&mut self) {
        let live = |id: &ProcId| {
            self.live_index
                .get(&id.pid)
                .is_some_and(|&i| self.live[i].rec.id == *id)
        };
        self.reparented += self.orphans.iter().filter(|id| live(id)).count() as u64;
        self.orphans.clear();
    }

    /// Keep the heaviest dead processes (and the root), count the rest.
    fn compact_dead(&mut self) {
        self.dead.sort_by_key(|r| {
            (
                std::cmp::Reverse(r.is_root),
                std::cmp::Reverse(r.max_rss_kib),
            )
        });
        let before = self.dead.len();
        self.dead.truncate(MAX_DEAD_RECORDS);
        self.omitted += (before - self.dead.len()) as u64;
    }

    /// Record what the kernel said of a process memwatch reaped: its peak RSS (`ru_maxrss`,
    /// KiB). The process is marked gone if a sample had not seen it die yet.
    pub fn reaped(&mut self, pid: Pid, kernel_max_rss_kib: Option<u64>) {
        if let Some(&i) = self.live_index.get(&pid) {
            self.retire(i, None);
        }
        if pid == self.root_pid && !self.dead.iter().any(|r| r.is_root) {
            // The command exited before any sample found it: it was still the job. Keep it,
            // with no sampled figure (unknown, not 0) and the kernel's peak.
            self.total_seen += 1;
            self.ended += 1;
            self.dead.push(ProcRecord::new(
                ProcId { pid, start: 0 },
                self.self_pid,
                Rc::clone(&self.root_command),
                Duration::ZERO,
                true,
            ));
        }
        if let Some(rec) = self.dead.iter_mut().rev().find(|r| r.id.pid == pid) {
            rec.kernel_max_rss_kib = kernel_max_rss_kib;
            if rec.gone_at.is_none() {
                self.reaped_unstamped.push(pid);
            }
        }
    }

    /// The processes memwatch reaped since the previous sample ended, as far as memwatch
    /// knows, at this sample (`t`).
    fn stamp_reaped(&mut self, t: Duration) {
        for pid in std::mem::take(&mut self.reaped_unstamped) {
            if let Some(rec) = self.dead.iter_mut().rev().find(|r| r.id.pid == pid) {
                rec.gone_at.get_or_insert(t);
            }
        }
    }

    /// Record how a process memwatch reaped ended (its wait status). Call after
    /// [`reaped`](Job::reaped).
    pub fn exited(&mut self, pid: Pid, exit: Exit) {
        if let Some(rec) = self.dead.iter_mut().rev().find(|r| r.id.pid == pid) {
            rec.exit = Some(exit);
        }
    }

    /// How many of the job's processes have ended so far (found gone by a sample, or
    /// reaped): a change tells that processes ended since.
    pub fn ended(&self) -> u64 {
        self.ended
    }

    /// Record a reaped process's lifetime peak physical footprint (macOS), KiB. Call after
    /// [`reaped`](Job::reaped).
    pub fn reaped_footprint(&mut self, pid: Pid, kib: Option<u64>) {
        if kib.is_none() {
            return;
        }
        if let Some(rec) = self.dead.iter_mut().rev().find(|r| r.id.pid == pid) {
            rec.kernel_max_footprint_kib = kib;
        }
    }

    /// Send `signal` to every live job process that is still the process memwatch follows.
    /// Returns how many were signalled.
    pub fn signal_all(&mut self, signal: i32) -> usize {
        self.signal_where(signal, |_| true)
    }

    /// Send `signal` to every live job process for whose pid `pick` is true and that is
    /// still the process memwatch follows. Returns how many were signalled.
    pub fn signal_where(&mut self, signal: i32, pick: impl Fn(Pid) -> bool) -> usize {
        let mut sent = 0;
        for live in &mut self.live {
            if pick(live.rec.id.pid) && self.inspector.signal(live.rec.id, &mut live.handle, signal)
            {
                sent += 1;
            }
        }
        sent
    }

    /// Pids of the live job processes.
    pub fn live_pids(&self) -> &[Pid] {
        &self.live_pids
    }

    /// Processes that turned out unreadable since the last call (for one warning).
    pub fn take_newly_denied(&mut self) -> &[ProcId] {
        let n = std::mem::take(&mut self.newly_denied);
        &self.denied[self.denied.len() - n..]
    }

    /// Samples taken so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The largest total so far, KiB.
    pub fn max_total_rss_kib(&self) -> u64 {
        self.max_total_rss_kib
    }

    /// The backend.
    pub fn inspector(&mut self) -> &mut I {
        &mut self.inspector
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod attach_tests;
