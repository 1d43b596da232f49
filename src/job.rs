//! The job: who belongs to it, and what it used. Platform-neutral.
//!
//! [`Job`] drives an [`Inspector`] once per sample: it admits newly seen processes whose
//! parent (or process group leader) is in the job, or whose parent is memwatch itself (the
//! root, and orphans memwatch adopted as subreaper), reads every live member's RSS, and keeps
//! the running maxima: the total at each sample, each process's own peak, and a bounded
//! timeline. Nothing here knows the operating system; tests drive it with
//! [`crate::sys::fake::FakeInspector`].

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use crate::model::timeline::Timeline;
use crate::sys::{
    Access, Discovery, ExtraReading, Gaps, Inspector, Metric, Pid, ProcId, Reading, SampleError,
    Seen,
};

/// Dead processes kept in full detail; past twice this many, the ones with the smallest
/// peaks are folded into a count so memory stays bounded on jobs that run millions of
/// short processes.
pub const MAX_DEAD_RECORDS: usize = 5_000;

/// The share of memwatch's time that reading an expensive extra metric (PSS) may take: a
/// round of reads (every live process at one sample) starts only once the last round's
/// cost, divided by this, has passed.
pub const EXTRA_BUDGET: f64 = 0.05;

/// Everything memwatch knows about one process of the job.
#[derive(Clone, Debug)]
pub struct ProcRecord {
    /// Pid and start time.
    pub id: ProcId,
    /// Parent pid when first seen.
    pub ppid: Pid,
    /// Process group when first seen.
    pub pgid: Pid,
    /// The command line it runs now (re-read after `exec`).
    pub command: Rc<str>,
    /// The command line it ran when it reached its peak.
    pub peak_command: Rc<str>,
    /// Its largest RSS, KiB; `None` while it could never be read.
    pub max_rss_kib: Option<u64>,
    /// The kernel's own peak for it (`ru_maxrss` when memwatch reaped it), KiB.
    pub kernel_max_rss_kib: Option<u64>,
    /// The kernel's lifetime peak physical footprint for it (macOS, when memwatch reaped
    /// it), KiB.
    pub kernel_max_footprint_kib: Option<u64>,
    /// Its largest extra metric (`--metric pss|footprint`) over the rounds that read it, KiB.
    pub max_extra_kib: Option<u64>,
    /// Its RSS could be read but its extra metric could not while it was alive (another
    /// user's, setuid).
    pub extra_failed: bool,
    /// When it started, microseconds since the Unix epoch, where the platform tells.
    pub started_unix_us: Option<i64>,
    /// Offset from the job's start of the first sample that saw it.
    pub first_seen: Duration,
    /// Offset of the last sample that saw it alive.
    pub last_seen: Duration,
    /// Samples that saw it alive.
    pub samples: u64,
    /// Whether its memory could be read.
    pub access: Access,
    /// The command memwatch started.
    pub is_root: bool,
    /// The command line was read at the sample that found the process, possibly between
    /// its `fork` and `exec` (when it still shows its parent's): read it once more at the
    /// next reading. Exec detection alone (statm's text size) misses an exec between two
    /// programs whose text has the same size.
    pub recheck_command: bool,
    /// Its RSS at the latest sample, KiB, when that sample counted it (0 otherwise).
    pub last_kib: u64,
    /// Since it was first seen it has run its parent's command line (its parent a job
    /// process) and no exec: it may be a fresh copy of its parent between fork and exec,
    /// whose RSS counts the pages it shares with the parent.
    pub copy_of_parent: bool,
    /// It was such a copy, then exec'd.
    pub exec_after_copy: bool,
    /// Its `max_rss_kib` was read while it was such a copy, no larger than about its
    /// parent's RSS: the parent's pages, not memory of its own. Once it execs, its
    /// `peak_command` is the command it exec'd.
    pub peak_as_copy: bool,
    /// Its RSS reached a new peak at this sample while it was a copy: whether that peak
    /// is the parent's pages is decided once the whole sample is read.
    copy_peak_pending: bool,
}

impl ProcRecord {
    /// A process first seen at `t`, nothing measured yet: readable, no start time, process
    /// group unknown (0).
    fn new(id: ProcId, ppid: Pid, command: Rc<str>, t: Duration, is_root: bool) -> Self {
        ProcRecord {
            id,
            ppid,
            pgid: 0,
            peak_command: Rc::clone(&command),
            command,
            max_rss_kib: None,
            kernel_max_rss_kib: None,
            kernel_max_footprint_kib: None,
            max_extra_kib: None,
            extra_failed: false,
            started_unix_us: None,
            first_seen: t,
            last_seen: t,
            samples: 0,
            access: Access::Readable,
            is_root,
            recheck_command: false,
            last_kib: 0,
            copy_of_parent: false,
            exec_after_copy: false,
            peak_as_copy: false,
            copy_peak_pending: false,
        }
    }

    /// A reading of `kib` at `t`. Returns whether it is a new peak.
    fn observe(&mut self, kib: u64, t: Duration) -> bool {
        self.samples += 1;
        self.last_seen = t;
        self.last_kib = kib;
        if self.max_rss_kib.is_none_or(|m| kib > m) {
            self.max_rss_kib = Some(kib);
            if !Rc::ptr_eq(&self.peak_command, &self.command) {
                self.peak_command = Rc::clone(&self.command);
            }
            return true;
        }
        false
    }

    /// It exec'd (or its command line changed since it was first seen).
    fn exec_seen(&mut self) {
        if std::mem::replace(&mut self.copy_of_parent, false) {
            self.exec_after_copy = true;
            if self.peak_as_copy {
                // The peak was its parent's pages: name it by what it became.
                self.peak_command = Rc::clone(&self.command);
            }
        }
    }

    /// Whether its peak was read while it was a copy of its parent, before an exec.
    pub fn peak_before_exec(&self) -> bool {
        self.peak_as_copy && self.exec_after_copy
    }

    fn seen(&self) -> Seen {
        Seen {
            id: self.id,
            ppid: self.ppid,
            pgid: self.pgid,
        }
    }
}

struct Live<H> {
    rec: ProcRecord,
    handle: H,
}

/// For the root, the command memwatch started instead of a bare `[comm]` (a zombie's
/// command line is gone) when that name is the started program's file name, `program`.
fn started_command(started: &Rc<str>, program: &str, read: &str) -> Option<Rc<str>> {
    let comm = read.strip_prefix('[')?.strip_suffix(']')?;
    // Linux keeps 15 bytes of the name, macOS 16: a name that long may be cut.
    let same = comm == program || (comm.len() >= 15 && program.starts_with(comm));
    (!comm.is_empty() && same).then(|| Rc::clone(started))
}

/// The command line to show for a process: what the platform read, except for a zombie
/// root, shown as the command memwatch started ([`started_command`]).
fn shown_command(read: &str, is_root: bool, started: &Rc<str>, program: &str) -> Rc<str> {
    is_root
        .then(|| started_command(started, program, read))
        .flatten()
        .unwrap_or_else(|| Rc::from(read))
}

/// Whether a child of `kib` whose parent has `parent_kib` can be a fresh copy of it (after
/// fork, before exec): no larger than the parent, give or take a tenth.
fn copy_sized(kib: u64, parent_kib: u64) -> bool {
    kib > 0 && kib <= parent_kib.saturating_add(parent_kib / 10)
}

/// How many fresh fork copies the sample with the max total remembers.
pub const MAX_FORK_COPIES: usize = 4;

/// A process counted at the sample with the max total while it was still a fresh copy of
/// its parent (forked, not yet exec'd).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForkCopy {
    /// The copy.
    pub id: ProcId,
    /// Its parent.
    pub ppid: Pid,
    /// Its RSS at that sample, KiB: pages it shared with its parent, counted in both.
    pub kib: u64,
    /// When it was first seen (the freshest copies are kept).
    pub first_seen: Duration,
}

/// What one sample found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleSummary {
    /// Sum of the RSS of the live, readable job processes, KiB.
    pub total_rss_kib: u64,
    /// Live job processes (readable or not).
    pub processes: u32,
    /// Live job processes whose memory could not be read.
    pub unknown: u32,
    /// Live job processes caught in the middle of `exec` (no figure).
    pub loading: u32,
    /// Sum of the extra metric (`--metric`) over the live processes, KiB, when this sample
    /// read it (a round).
    pub total_extra_kib: Option<u64>,
}

impl SampleSummary {
    /// Whether `total_rss_kib` is a figure: some live process was measured, or none is
    /// alive (a true 0). A sample whose processes were all unreadable or mid-exec has no
    /// total, and 0 would be a lie.
    pub fn has_total(&self) -> bool {
        self.processes == 0 || self.processes > self.unknown + self.loading
    }
}

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
        }
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
        self.discover(full)?;
        self.admit(t);
        let summary = self.read_all(t);
        self.samples += 1;
        let index = self.samples - 1;
        // A sample where no process could be measured has no total.
        let measured = summary.processes > summary.unknown + summary.loading;
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
        Ok(summary)
    }

    fn discover(&mut self, full: bool) -> Result<(), SampleError> {
        self.seen.clear();
        let index = &self.live_index;
        let is_live = |pid: Pid| index.contains_key(&pid);
        let d = Discovery {
            live: &self.live_pids,
            is_live: &is_live,
            full,
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
            if parent.id.start <= s.id.start {
                return true;
            }
        }
        // A process in a group led by a job process (the only link left on systems without
        // a subreaper once its parent has exited).
        if s.pgid > 0 && s.pgid != s.id.pid {
            if let Some(leader) = member(s.pgid) {
                return leader.pgid == leader.id.pid && leader.id.start <= s.id.start;
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
                    self.retire(li);
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

    fn follow(&mut self, s: Seen, t: Duration) {
        let Some((mut handle, access)) = self.inspector.follow(&s) else {
            return;
        };
        let is_root = s.id.pid == self.root_pid && s.ppid == self.self_pid;
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
        // Found running its parent's command line: maybe between its fork and its exec.
        let copy_of_parent = self
            .live_index
            .get(&s.ppid)
            .map(|&i| &self.live[i].rec)
            .is_some_and(|parent| parent.id.start <= s.id.start && *parent.command == *command);
        let mut rec = ProcRecord::new(s.id, s.ppid, command, t, is_root);
        rec.copy_of_parent = copy_of_parent;
        self.copies_live += usize::from(copy_of_parent);
        rec.pgid = s.pgid;
        rec.started_unix_us = self.inspector.start_unix_us(s.id);
        rec.access = access;
        rec.recheck_command = true;
        self.total_seen += 1;
        self.live_index.insert(s.id.pid, self.live.len());
        self.live_pids.push(s.id.pid);
        self.live.push(Live { rec, handle });
    }

    fn read_all(&mut self, t: Duration) -> SampleSummary {
        let mut sum = SampleSummary::default();
        let round = self.extra.filter(|_| t >= self.extra_next);
        let round_began = std::time::Instant::now();
        // The round's total counts the processes whose extra metric could be read; with
        // none, the round has no total (unknown, never 0).
        let mut extra_sum: Option<u64> = None;
        let mut i = 0;
        while i < self.live.len() {
            let live = &mut self.live[i];
            match self.inspector.read(&mut live.handle) {
                Reading::Rss { kib, exec } => {
                    let recheck = live.rec.recheck_command && t > live.rec.first_seen;
                    if exec || recheck {
                        live.rec.recheck_command = false;
                        let seen = live.rec.seen();
                        let command = self.inspector.command(&seen, &mut live.handle);
                        let changed = *live.rec.command != *command;
                        if changed {
                            live.rec.command = shown_command(
                                &command,
                                live.rec.is_root,
                                &self.root_command,
                                &self.root_program,
                            );
                        }
                        if (exec || changed) && live.rec.copy_of_parent {
                            live.rec.exec_seen();
                            self.copies_live -= 1;
                        }
                    }
                    if live.rec.observe(kib, t) {
                        // A new peak: is it its own, or its parent's pages (decided below,
                        // once the parent's reading of this sample is in)?
                        live.rec.peak_as_copy = false;
                        if live.rec.copy_of_parent {
                            live.rec.copy_peak_pending = true;
                            self.copy_peaks_pending += 1;
                        }
                    }
                    sum.total_rss_kib += kib;
                    if let Some(extra) = round {
                        self.extra_reads += 1;
                        match self.inspector.read_extra(extra, &mut live.handle) {
                            ExtraReading::Kib(v) => {
                                extra_sum = Some(extra_sum.unwrap_or(0) + v);
                                if live.rec.max_extra_kib.is_none_or(|m| v > m) {
                                    live.rec.max_extra_kib = Some(v);
                                }
                            }
                            ExtraReading::Denied if !live.rec.extra_failed => {
                                live.rec.extra_failed = true;
                                self.extra_unreadable += 1;
                            }
                            ExtraReading::Denied | ExtraReading::Unavailable => {}
                        }
                    }
                    sum.processes += 1;
                    i += 1;
                }
                Reading::Loading => {
                    // Alive, between exec and the new program: no figure this time.
                    live.rec.last_seen = t;
                    live.rec.last_kib = 0;
                    sum.processes += 1;
                    sum.loading += 1;
                    i += 1;
                }
                Reading::Unknown => {
                    live.rec.samples += 1;
                    live.rec.last_seen = t;
                    live.rec.last_kib = 0;
                    sum.processes += 1;
                    sum.unknown += 1;
                    i += 1;
                }
                Reading::Gone => self.retire(i),
            }
        }
        if self.copy_peaks_pending > 0 {
            self.settle_copy_peaks();
        }
        sum.total_extra_kib = extra_sum;
        if round.is_some() {
            let period = round_began.elapsed().div_f64(EXTRA_BUDGET);
            self.extra_next = t + period;
            self.extra_rounds += 1;
            self.extra_period_max = self.extra_period_max.max(period);
        }
        sum
    }

    /// The RSS at this sample of the job process `ppid` that is the parent of a process
    /// started at `start`, if it is followed.
    fn parent_kib(&self, ppid: Pid, start: u64) -> Option<u64> {
        self.live_index
            .get(&ppid)
            .map(|&i| &self.live[i].rec)
            .filter(|p| p.id.start <= start)
            .map(|p| p.last_kib)
    }

    /// For every copy that reached a new peak at this sample: whether that peak was no more
    /// than its parent's RSS at the same sample (the parent's pages, shared).
    fn settle_copy_peaks(&mut self) {
        for i in 0..self.live.len() {
            let rec = &self.live[i].rec;
            if !rec.copy_peak_pending {
                continue;
            }
            let parent = self.parent_kib(rec.ppid, rec.id.start);
            let rec = &mut self.live[i].rec;
            rec.copy_peak_pending = false;
            rec.peak_as_copy = parent.is_some_and(|p| copy_sized(rec.last_kib, p));
        }
        self.copy_peaks_pending = 0;
    }

    /// At a new max total: remember the fresh copies of their parents it counted, the most
    /// recently found first (a worker forked long ago that never execs is no fresh copy).
    fn record_fork_copies(&mut self) {
        self.peak_copies = [None; MAX_FORK_COPIES];
        if self.copies_live == 0 {
            return;
        }
        for live in &self.live {
            let rec = &live.rec;
            if !rec.copy_of_parent {
                continue;
            }
            let Some(parent) = self.parent_kib(rec.ppid, rec.id.start) else {
                continue;
            };
            if !copy_sized(rec.last_kib, parent) {
                continue;
            }
            let copy = ForkCopy {
                id: rec.id,
                ppid: rec.ppid,
                kib: rec.last_kib,
                first_seen: rec.first_seen,
            };
            let key = |c: &ForkCopy| (c.first_seen, c.kib);
            // Fill an empty slot, else replace the stalest copy if this one is fresher.
            let slot = self
                .peak_copies
                .iter()
                .position(Option::is_none)
                .or_else(|| {
                    let (i, stalest) = self
                        .peak_copies
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.map(|c| (i, c)))
                        .min_by_key(|(_, c)| key(c))?;
                    (key(&copy) > key(&stalest)).then_some(i)
                });
            if let Some(i) = slot {
                self.peak_copies[i] = Some(copy);
            }
        }
    }

    /// Move live process `i` to the dead records.
    fn retire(&mut self, i: usize) {
        let gone = self.live.swap_remove(i);
        self.copies_live -= usize::from(gone.rec.copy_of_parent);
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
            self.retire(i);
        }
        if pid == self.root_pid && !self.dead.iter().any(|r| r.is_root) {
            // The command exited before any sample found it: it was still the job. Keep it,
            // with no sampled figure (unknown, not 0) and the kernel's peak.
            self.total_seen += 1;
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
        }
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

    /// Finish: every process still followed is reported as last seen where it was.
    pub fn finish(mut self) -> JobStats {
        let mut processes = std::mem::take(&mut self.dead);
        processes.extend(self.live.drain(..).map(|l| l.rec));
        let timeline = std::mem::replace(&mut self.timeline, Timeline::new(2));
        self.stats_of(processes, timeline)
    }

    /// The figures so far while the job goes on (for an interim report): every process as
    /// last seen. Copies every record: not for the steady state.
    pub fn stats(&self) -> JobStats {
        let processes = self
            .dead
            .iter()
            .cloned()
            .chain(self.live.iter().map(|l| l.rec.clone()))
            .collect();
        self.stats_of(processes, self.timeline.clone())
    }

    fn stats_of(&self, processes: Vec<ProcRecord>, timeline: Timeline) -> JobStats {
        // A copy counts once it exec'd: a worker that never execs is not between the two.
        let fork_copies_at_peak = self
            .peak_copies
            .iter()
            .flatten()
            .filter(|c| processes.iter().any(|p| p.id == c.id && p.exec_after_copy))
            .copied()
            .collect();
        JobStats {
            samples: self.samples,
            max_total_rss_kib: self.max_total_rss_kib,
            max_total_index: self.max_total_index,
            max_total_at: self.max_total_at,
            processes_at_peak: self.processes_at_peak,
            max_processes: self.max_processes,
            processes_total: self.total_seen,
            processes_omitted: self.omitted,
            processes_unreadable: self.denied.len() as u64,
            extra: self.extra,
            max_total_extra_kib: self.max_total_extra_kib,
            extra_reads: self.extra_reads,
            extra_rounds: self.extra_rounds,
            extra_unreadable: self.extra_unreadable,
            extra_period_max: self.extra_period_max,
            gaps: self.inspector.gaps(),
            timeline,
            fork_copies_at_peak,
            processes,
        }
    }
}

/// The job's figures once sampling has ended.
#[derive(Debug)]
pub struct JobStats {
    /// Samples taken.
    pub samples: u64,
    /// Largest sum of simultaneous RSS, KiB.
    pub max_total_rss_kib: u64,
    /// Index of the sample with that total (`None` when no sample was taken).
    pub max_total_index: Option<u64>,
    /// Offset of that sample from the start.
    pub max_total_at: Duration,
    /// Processes alive at that sample.
    pub processes_at_peak: u32,
    /// Most processes alive at one sample.
    pub max_processes: u32,
    /// Processes that were ever part of the job.
    pub processes_total: u64,
    /// Dead processes left out of `processes` to bound memory (the smallest peaks).
    pub processes_omitted: u64,
    /// Processes whose memory could not be read.
    pub processes_unreadable: u64,
    /// The extra metric measured, if any.
    pub extra: Option<Metric>,
    /// Largest sum of the extra metric at one sample, KiB.
    pub max_total_extra_kib: Option<u64>,
    /// Reads of the extra metric, all processes together.
    pub extra_reads: u64,
    /// Rounds of such reads (samples that read every live process's extra metric).
    pub extra_rounds: u64,
    /// Processes whose RSS could be read but whose extra metric could not, in some round:
    /// they are missing from the extra metric's totals.
    pub extra_unreadable: u64,
    /// The longest wait the budget imposed between two rounds.
    pub extra_period_max: Duration,
    /// What the backend could not see or read (hidden processes, descriptor shortages).
    pub gaps: Gaps,
    /// Total RSS over time, bounded.
    pub timeline: Timeline,
    /// Processes the sample with the max total counted while they were still fresh copies
    /// of their parents (after fork, before the exec they made later), at most
    /// [`MAX_FORK_COPIES`]: RSS counted their parents' pages twice there.
    pub fork_copies_at_peak: Vec<ForkCopy>,
    /// Every process kept, in no particular order.
    pub processes: Vec<ProcRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{FakeInspector, FakeProc};

    const ME: Pid = 100;
    const ROOT: Pid = 101;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn job(fake: FakeInspector) -> Job<FakeInspector> {
        Job::new(fake, ME, ROOT, 8)
    }

    #[test]
    fn totals_and_peaks() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(100));
        let mut j = job(fake.clone());
        let s = j.sample(ms(0), true).unwrap();
        assert_eq!((s.total_rss_kib, s.processes), (100, 1));
        fake.spawn(FakeProc::new(200, ROOT, 11, "child a").rss(300));
        fake.spawn(FakeProc::new(201, ROOT, 12, "child b").rss(50));
        let s = j.sample(ms(10), false).unwrap();
        assert_eq!((s.total_rss_kib, s.processes), (450, 3));
        fake.set_rss(200, 1000);
        fake.exit(201);
        let s = j.sample(ms(20), false).unwrap();
        assert_eq!((s.total_rss_kib, s.processes), (1100, 2));
        fake.set_rss(200, 10);
        j.sample(ms(30), false).unwrap();
        let stats = j.finish();
        assert_eq!(stats.max_total_rss_kib, 1100);
        assert_eq!(stats.max_total_index, Some(2));
        assert_eq!(stats.processes_at_peak, 2);
        assert_eq!(stats.samples, 4);
        let a = stats.processes.iter().find(|p| p.id.pid == 200).unwrap();
        assert_eq!(a.max_rss_kib, Some(1000));
        assert_eq!((a.first_seen, a.last_seen, a.samples), (ms(10), ms(30), 3));
        let b = stats.processes.iter().find(|p| p.id.pid == 201).unwrap();
        assert_eq!((b.max_rss_kib, b.last_seen), (Some(50), ms(10)));
        assert!(
            stats
                .processes
                .iter()
                .find(|p| p.id.pid == ROOT)
                .unwrap()
                .is_root
        );
    }

    #[test]
    fn strangers_are_not_admitted() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
        fake.spawn(FakeProc::new(50, 1, 5, "sshd").rss(999));
        fake.spawn(FakeProc::new(51, 50, 6, "bash").rss(999));
        let mut j = job(fake.clone());
        let s = j.sample(ms(0), true).unwrap();
        assert_eq!((s.total_rss_kib, s.processes), (1, 1));
    }

    #[test]
    fn children_listed_before_parents_are_found() {
        // After a pid wrap a grandchild can have a lower pid than its parent, and discovery
        // may list it first.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(30_000, 30_001, 13, "grandchild").rss(3));
        fake.spawn(FakeProc::new(30_001, 32_000, 12, "child").rss(2));
        fake.spawn(FakeProc::new(32_000, ME, 11, "root").rss(1));
        let mut j = Job::new(fake.clone(), ME, 32_000, 4);
        let s = j.sample(ms(0), true).unwrap();
        assert_eq!((s.total_rss_kib, s.processes), (6, 3));
    }

    #[test]
    fn reparented_and_orphaned_processes_stay() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
        fake.spawn(FakeProc::new(300, ROOT, 11, "middle").rss(1));
        fake.spawn(FakeProc::new(301, 300, 12, "daemon").rss(7));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.exit(300);
        fake.exit(ROOT);
        fake.reparent(301, 1);
        let s = j.sample(ms(10), true).unwrap();
        assert_eq!((s.total_rss_kib, s.processes), (7, 1));
        // An orphan born later and adopted by memwatch (subreaper) is admitted too.
        fake.spawn(FakeProc::new(400, ME, 20, "adopted").rss(5));
        let s = j.sample(ms(20), true).unwrap();
        assert_eq!((s.total_rss_kib, s.processes), (12, 2));
    }

    #[test]
    fn recycled_pid_is_a_new_process() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
        fake.spawn(FakeProc::new(500, ROOT, 11, "first").rss(900));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.exit(500);
        fake.spawn(FakeProc::new(500, ROOT, 99, "second").rss(20));
        j.sample(ms(10), true).unwrap();
        let stats = j.finish();
        let both: Vec<_> = stats.processes.iter().filter(|p| p.id.pid == 500).collect();
        assert_eq!(both.len(), 2);
        let first = both.iter().find(|p| p.id.start == 11).unwrap();
        let second = both.iter().find(|p| p.id.start == 99).unwrap();
        assert_eq!((first.max_rss_kib, &*first.command), (Some(900), "first"));
        assert_eq!((second.max_rss_kib, &*second.command), (Some(20), "second"));
        assert_eq!(second.first_seen, ms(10));
    }

    #[test]
    fn a_recycled_parent_pid_does_not_adopt_strangers() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        // A process older than the job member with that pid cannot be its child.
        fake.spawn(FakeProc::new(77, ROOT, 5, "impossible").rss(1));
        let s = j.sample(ms(10), true).unwrap();
        assert_eq!(s.processes, 1);
    }

    #[test]
    fn a_root_gone_before_any_sample_is_still_reported_unknown() {
        let fake = FakeInspector::default();
        let mut j = job(fake.clone());
        j.set_root_command("true --flag", "/bin/true");
        // It exited and was reaped before the first sample found it.
        j.reaped(ROOT, Some(3600));
        let s = j.sample(ms(1), true).unwrap();
        assert_eq!((s.processes, s.total_rss_kib), (0, 0));
        let stats = j.finish();
        assert_eq!(stats.processes_total, 1);
        let root = &stats.processes[0];
        assert!(root.is_root);
        assert_eq!(root.id.pid, ROOT);
        assert_eq!(&*root.command, "true --flag");
        assert_eq!(root.max_rss_kib, None, "never sampled: unknown, not 0");
        assert_eq!(root.kernel_max_rss_kib, Some(3600));
        assert_eq!(root.samples, 0);
        assert_eq!(stats.max_total_index, None);
    }

    #[test]
    fn a_zombie_root_keeps_the_command_memwatch_started() {
        let started: Rc<str> = Rc::from("/usr/bin/a-long-program-name --x");
        let program = "a-long-program-name";
        let got = |read: &str| started_command(&started, program, read).map(|c| c.to_string());
        assert_eq!(got("[a-long-program-]").as_deref(), Some(&*started));
        assert_eq!(
            got("[a-long-program-n]").as_deref(),
            Some(&*started),
            "macOS: 16"
        );
        assert_eq!(got("[other]"), None, "after exec into something else");
        assert_eq!(got("[a-long]"), None, "a shorter name is another program");
        assert_eq!(
            got("a-long-program-name --x"),
            None,
            "a real command line stays"
        );
        assert_eq!(got("[]"), None);
        let sh: Rc<str> = Rc::from("shellcheck x.sh");
        assert_eq!(started_command(&sh, "shellcheck", "[sh]"), None);
        assert_eq!(
            started_command(&sh, "shellcheck", "[shellcheck]").as_deref(),
            Some("shellcheck x.sh")
        );
    }

    #[test]
    fn a_root_seen_then_reaped_is_not_doubled() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(5));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.exit(ROOT);
        j.reaped(ROOT, Some(9));
        let stats = j.finish();
        assert_eq!(stats.processes_total, 1);
        assert_eq!(stats.processes.len(), 1);
        assert_eq!(stats.processes[0].max_rss_kib, Some(5));
    }

    #[test]
    fn a_sample_with_nothing_measured_has_no_timeline_point() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "sudo").denied());
        let mut j = job(fake.clone());
        let s = j.sample(ms(0), true).unwrap();
        assert!(!s.has_total());
        fake.exit(ROOT);
        let s = j.sample(ms(10), true).unwrap();
        assert!(s.has_total(), "nothing alive: a true 0");
        let stats = j.finish();
        let points = stats.timeline.points();
        assert_eq!(points.len(), 1, "{points:?}");
        assert_eq!((points[0].total_rss_kib, points[0].processes), (0, 0));
    }

    #[test]
    fn unreadable_pss_is_unknown_not_zero() {
        // Nothing readable: no PSS total at all, and the process is counted.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "setuid").rss(5));
        let mut j = job(fake.clone());
        j.measure_extra(Metric::Pss);
        let s = j.sample(ms(0), true).unwrap();
        assert_eq!(s.total_extra_kib, None);
        let stats = j.finish();
        assert_eq!(stats.max_total_extra_kib, None);
        assert_eq!(stats.extra_unreadable, 1);

        // One readable, one not: the total is the readable one's, the other counted once.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(50).pss(30));
        fake.spawn(FakeProc::new(600, ROOT, 11, "setuid").rss(40));
        let mut j = job(fake.clone());
        j.measure_extra(Metric::Pss);
        let s = j.sample(ms(0), true).unwrap();
        assert_eq!(s.total_extra_kib, Some(30));
        j.sample(ms(500), false).unwrap();
        let stats = j.finish();
        assert_eq!(stats.max_total_extra_kib, Some(30));
        assert_eq!(stats.extra_unreadable, 1);
        let root = stats.processes.iter().find(|p| p.id.pid == ROOT).unwrap();
        assert_eq!(root.max_extra_kib, Some(30));
    }

    #[test]
    fn unreadable_processes_are_unknown_not_zero() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(5));
        fake.spawn(FakeProc::new(600, ROOT, 11, "sudo").denied());
        let mut j = job(fake.clone());
        let s = j.sample(ms(0), true).unwrap();
        assert_eq!((s.total_rss_kib, s.processes, s.unknown), (5, 2, 1));
        assert_eq!(j.take_newly_denied().len(), 1);
        assert!(j.take_newly_denied().is_empty());
        let stats = j.finish();
        let sudo = stats.processes.iter().find(|p| p.id.pid == 600).unwrap();
        assert_eq!(sudo.max_rss_kib, None);
        assert_eq!(sudo.samples, 1);
        assert_eq!(stats.processes_unreadable, 1);
    }

    #[test]
    fn command_at_peak_follows_exec() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "sh -c big").rss(500));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.exec(ROOT, "big --work", 2000);
        j.sample(ms(10), false).unwrap();
        fake.exec(ROOT, "small", 1);
        j.sample(ms(20), false).unwrap();
        let stats = j.finish();
        assert_eq!(&*stats.processes[0].peak_command, "big --work");
        assert_eq!(&*stats.processes[0].command, "small");
    }

    #[test]
    fn a_child_found_before_its_exec_gets_its_own_command() {
        // Found between fork and exec (showing mpirun's command line), then an exec the
        // backend cannot see: the command is read once more at the next sample.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "mpirun -n 2 rank").rss(10));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(501, ROOT, 11, "mpirun -n 2 rank").rss(10));
        j.sample(ms(10), false).unwrap();
        fake.exec_unnoticed(501, "rank 64", 65_536);
        j.sample(ms(20), false).unwrap();
        let stats = j.finish();
        let rank = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
        assert_eq!(&*rank.peak_command, "rank 64");
        assert_eq!(rank.max_rss_kib, Some(65_536));
    }

    #[test]
    fn a_fresh_fork_copy_is_named_by_what_it_became() {
        // A 300 MiB program forks a child that stays a copy of it for a while, then execs
        // sleep: a sample in that window reads the parent's pages in the child too.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(300_000));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(501, ROOT, 11, "python3 big.py").rss(299_000));
        let s = j.sample(ms(10), false).unwrap();
        assert_eq!(s.total_rss_kib, 599_000);
        fake.exec(501, "sleep 0.5", 1_700);
        j.sample(ms(20), false).unwrap();
        let stats = j.finish();
        let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
        assert_eq!(child.max_rss_kib, Some(299_000));
        assert_eq!(&*child.peak_command, "sleep 0.5");
        assert!(child.peak_before_exec());
        let root = stats.processes.iter().find(|p| p.is_root).unwrap();
        assert!(!root.peak_before_exec());
        assert_eq!(stats.max_total_rss_kib, 599_000);
        assert_eq!(
            stats.fork_copies_at_peak,
            [ForkCopy {
                id: ProcId {
                    pid: 501,
                    start: 11
                },
                ppid: ROOT,
                kib: 299_000,
                first_seen: ms(10),
            }]
        );
    }

    #[test]
    fn a_copy_found_by_its_changed_command_line_is_named_by_it_too() {
        // An exec the backend cannot see (same text size): the command line read once more
        // at the next reading tells.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(100_000));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(501, ROOT, 11, "prog").rss(100_000));
        j.sample(ms(10), false).unwrap();
        fake.exec_unnoticed(501, "other", 1_000);
        j.sample(ms(20), false).unwrap();
        let stats = j.finish();
        let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
        assert_eq!(&*child.peak_command, "other");
        assert!(child.peak_before_exec());
        assert_eq!(stats.fork_copies_at_peak.len(), 1);
    }

    #[test]
    fn a_worker_that_never_execs_is_no_fork_copy() {
        // A pre-forked worker shares its parent's pages for good: RSS counts them in both,
        // as documented, but it is not caught between fork and exec.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "server").rss(100_000));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(501, ROOT, 11, "server").rss(100_000));
        j.sample(ms(10), false).unwrap();
        j.sample(ms(20), false).unwrap();
        let stats = j.finish();
        assert!(stats.fork_copies_at_peak.is_empty());
        let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
        assert!(!child.peak_before_exec());
        assert_eq!(&*child.peak_command, "server");
    }

    #[test]
    fn memory_a_child_used_before_its_exec_is_its_own() {
        // Larger than its parent before the exec: its own work under its parent's program,
        // named so, and no fork copy.
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 pool.py").rss(100_000));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(501, ROOT, 11, "python3 pool.py").rss(500_000));
        j.sample(ms(10), false).unwrap();
        fake.exec(501, "sleep 1", 1_000);
        j.sample(ms(20), false).unwrap();
        let stats = j.finish();
        let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
        assert_eq!(&*child.peak_command, "python3 pool.py");
        assert!(!child.peak_before_exec());
        assert!(stats.fork_copies_at_peak.is_empty());
    }

    #[test]
    fn fork_copies_at_the_peak_are_bounded_and_the_freshest_kept() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "make -j8").rss(10_000));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        for k in 0..6 {
            fake.spawn(FakeProc::new(600 + k, ROOT, 20 + k as u64, "make -j8").rss(10_000));
            j.sample(ms(10 * (k as u64 + 1)), false).unwrap();
        }
        for k in 0..6 {
            fake.exec(600 + k, "cc -c x.c", 5_000);
        }
        j.sample(ms(100), false).unwrap();
        let stats = j.finish();
        let mut kept: Vec<Pid> = stats.fork_copies_at_peak.iter().map(|c| c.id.pid).collect();
        kept.sort_unstable();
        assert_eq!(kept, [602, 603, 604, 605]);
    }

    #[test]
    fn process_groups_led_by_members_are_followed() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1).pgid(ROOT));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        // Reparented to init before memwatch saw it, still in the root's group.
        fake.spawn(FakeProc::new(700, 1, 11, "orphan").rss(4).pgid(ROOT));
        // Same group id as a stranger's pid, but that stranger is no job member.
        fake.spawn(FakeProc::new(701, 1, 12, "other").rss(4).pgid(50));
        let s = j.sample(ms(10), true).unwrap();
        assert_eq!(s.processes, 2);
    }

    #[test]
    fn kernel_peak_is_recorded_when_reaped() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(5));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        fake.exit(ROOT);
        j.reaped(ROOT, Some(9000));
        let stats = j.finish();
        assert_eq!(stats.processes[0].kernel_max_rss_kib, Some(9000));
    }

    #[test]
    fn dead_records_are_bounded() {
        let fake = FakeInspector::default();
        fake.spawn(FakeProc::new(ROOT, ME, 1, "root").rss(1));
        let mut j = job(fake.clone());
        j.sample(ms(0), true).unwrap();
        let n = 2 * MAX_DEAD_RECORDS as i32 + 10;
        for k in 0..n {
            let pid = 1000 + k;
            fake.spawn(FakeProc::new(pid, ROOT, 2 + k as u64, "short").rss(k as u64));
            j.sample(ms(k as u64), false).unwrap();
            fake.exit(pid);
            j.sample(ms(k as u64), false).unwrap();
        }
        let stats = j.finish();
        assert!(stats.processes.len() <= 2 * MAX_DEAD_RECORDS + 1);
        assert_eq!(stats.processes_total, n as u64 + 1);
        assert_eq!(
            stats.processes.len() as u64 + stats.processes_omitted,
            stats.processes_total
        );
        // The heaviest survive.
        assert!(
            stats
                .processes
                .iter()
                .any(|p| p.max_rss_kib == Some(n as u64 - 1))
        );
        assert!(stats.processes.iter().any(|p| p.is_root));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        /// One step of a random job's life between two samples.
        #[derive(Clone, Debug)]
        enum Op {
            /// A live job process (index into the live list) forks a child with this RSS.
            Fork(usize, u64),
            /// A live non-root process exits.
            Exit(usize),
            /// A live process's RSS changes.
            Rss(usize, u64),
            /// A live non-root process exits and its pid is reused at once by a new child of
            /// the root (another start time).
            Recycle(usize, u64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (any::<usize>(), 0u64..1_000_000).prop_map(|(i, k)| Op::Fork(i, k)),
                any::<usize>().prop_map(Op::Exit),
                (any::<usize>(), 0u64..1_000_000).prop_map(|(i, k)| Op::Rss(i, k)),
                (any::<usize>(), 0u64..1_000_000).prop_map(|(i, k)| Op::Recycle(i, k)),
            ]
        }

        /// What a scenario produced: per sample, the total and the largest single member;
        /// the final stats; every incarnation's largest RSS as set by the test.
        struct Outcome {
            samples: Vec<(u64, u64)>,
            stats: JobStats,
            truth: BTreeMap<ProcId, u64>,
        }

        /// Play `steps` (each a list of ops, then a sample), plus optionally one extra
        /// steady process of `extra` KiB from the start, which no op touches.
        fn play(steps: &[Vec<Op>], extra: Option<u64>) -> Outcome {
            let fake = FakeInspector::default();
            // (identity, parent pid, RSS) of the live processes; the root first.
            let mut live: Vec<(ProcId, Pid, u64)> = vec![(
                ProcId {
                    pid: ROOT,
                    start: 1,
                },
                ME,
                10,
            )];
            fake.spawn(FakeProc::new(ROOT, ME, 1, "root").rss(10));
            let steady = extra.unwrap_or(0);
            if let Some(k) = extra {
                fake.spawn(FakeProc::new(999, ROOT, 1, "extra").rss(k));
            }
            let mut next_pid = 1000;
            let mut next_start = 2;
            let mut truth: BTreeMap<ProcId, u64> = BTreeMap::new();
            let mut j = job(fake.clone());
            let mut samples = Vec::new();
            for (n, ops) in steps.iter().enumerate() {
                for op in ops {
                    match *op {
                        Op::Fork(i, k) => {
                            let parent = live[i % live.len()].0.pid;
                            let id = ProcId {
                                pid: next_pid,
                                start: next_start,
                            };
                            next_pid += 1;
                            next_start += 1;
                            fake.spawn(FakeProc::new(id.pid, parent, id.start, "child").rss(k));
                            live.push((id, parent, k));
                        }
                        Op::Exit(i) | Op::Recycle(i, _) if live.len() > 1 => {
                            let (gone, _, _) = live.remove(1 + i % (live.len() - 1));
                            fake.exit(gone.pid);
                            // Orphans go to the subreaper, memwatch, as the kernel does.
                            for e in live.iter_mut().filter(|e| e.1 == gone.pid) {
                                e.1 = ME;
                                fake.reparent(e.0.pid, ME);
                            }
                            if let Op::Recycle(_, k) = *op {
                                let id = ProcId {
                                    pid: gone.pid,
                                    start: next_start,
                                };
                                next_start += 1;
                                fake.spawn(FakeProc::new(id.pid, ROOT, id.start, "reuse").rss(k));
                                live.push((id, ROOT, k));
                            }
                        }
                        Op::Exit(_) | Op::Recycle(..) => {}
                        Op::Rss(i, k) => {
                            let n = live.len();
                            let e = &mut live[i % n];
                            e.2 = k;
                            fake.set_rss(e.0.pid, k);
                        }
                    }
                }
                for &(id, _, k) in &live {
                    let m = truth.entry(id).or_insert(0);
                    *m = (*m).max(k);
                }
                let s = j.sample(ms(10 * n as u64), n % 4 == 0).unwrap();
                let biggest = live.iter().map(|e| e.2).max().unwrap_or(0).max(steady);
                let expected: u64 = live.iter().map(|e| e.2).sum::<u64>() + steady;
                assert_eq!(
                    s.processes as usize,
                    live.len() + usize::from(extra.is_some())
                );
                assert_eq!(s.total_rss_kib, expected);
                samples.push((s.total_rss_kib, biggest));
            }
            if let Some(k) = extra {
                truth.insert(ProcId { pid: 999, start: 1 }, k);
            }
            Outcome {
                samples,
                stats: j.finish(),
                truth,
            }
        }

        fn steps() -> impl Strategy<Value = Vec<Vec<Op>>> {
            prop::collection::vec(prop::collection::vec(op(), 0..4), 1..25)
        }

        proptest! {
            #[test]
            fn totals_peaks_and_identities(steps in steps()) {
                let o = play(&steps, None);
                // A total is never below any member at the same sample.
                for &(total, biggest) in &o.samples {
                    prop_assert!(total >= biggest);
                }
                let max_total = o.stats.max_total_rss_kib;
                prop_assert_eq!(max_total, o.samples.iter().map(|s| s.0).max().unwrap());
                for p in &o.stats.processes {
                    // Every per-process peak is at most the max total.
                    prop_assert!(p.max_rss_kib.unwrap_or(0) <= max_total);
                    prop_assert!(p.first_seen <= p.last_seen);
                    // Each (pid, start) is its own process with its own history: a recycled
                    // pid never inherits the earlier holder's peak.
                    prop_assert_eq!(p.max_rss_kib, o.truth.get(&p.id).copied(), "{:?}", p.id);
                }
                let ids: std::collections::BTreeSet<ProcId> =
                    o.stats.processes.iter().map(|p| p.id).collect();
                prop_assert_eq!(ids.len(), o.stats.processes.len());
                prop_assert_eq!(o.stats.processes.len(), o.truth.len());
            }

            #[test]
            fn adding_a_process_never_lowers_the_peak(steps in steps(), extra in 0u64..100_000) {
                let without = play(&steps, None).stats.max_total_rss_kib;
                let with = play(&steps, Some(extra)).stats.max_total_rss_kib;
                prop_assert!(with >= without);
            }
        }
    }
}
