//! What memwatch knows about one process of the job ([`ProcRecord`]), the command line it
//! is shown with, and the fresh fork copies counted at the peak.

use std::rc::Rc;
use std::time::Duration;

use crate::model::Exit;
use crate::sys::{Access, Pid, ProcId, Seen};

/// Everything memwatch knows about one process of the job.
#[derive(Clone, Debug)]
pub struct ProcRecord {
    /// Pid and start time.
    pub id: ProcId,
    /// Parent pid when first seen.
    pub ppid: Pid,
    /// Process group when first seen.
    pub pgid: Pid,
    /// When it was born, on the platform's clock that never steps back ([`Seen::born`]):
    /// orders it against its children.
    pub born: Option<u64>,
    /// The command line it runs now (re-read after `exec`).
    pub command: Rc<str>,
    /// The command line it ran when it reached its peak.
    pub peak_command: Rc<str>,
    /// Its largest RSS, KiB; `None` while it could never be read.
    pub max_rss_kib: Option<u64>,
    /// Its largest private RSS (neither file-backed nor shared), KiB; `None` while it could
    /// never be read, or where the platform does not tell.
    pub max_private_kib: Option<u64>,
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
    pub(super) copy_peak_pending: bool,
    /// Its program's slot in the split by program (`job::groups`).
    pub(super) group: u16,
    /// The sample at which memwatch learned it was gone: the one that found it gone, or,
    /// when memwatch reaped it first, the next one. `None` while alive, and for a process
    /// reaped after the last sample.
    pub gone_at: Option<Duration>,
    /// How it ended, when memwatch reaped it (the command, orphans it adopted); `None`
    /// when its parent reaped it, which leaves memwatch no way to know.
    pub exit: Option<Exit>,
    /// The Slurm step (`JOB.STEP`) whose daemon started it, or its adopted ancestor,
    /// outside memwatch's process tree: it is in the job by adoption.
    pub adopted_step: Option<Rc<str>>,
    /// It runs a launcher that hands its work to a daemon (`srun`, ...).
    pub(super) launcher: bool,
}

impl ProcRecord {
    /// A process first seen at `t`, nothing measured yet: readable, no start time, process
    /// group unknown (0).
    pub(super) fn new(id: ProcId, ppid: Pid, command: Rc<str>, t: Duration, is_root: bool) -> Self {
        ProcRecord {
            id,
            ppid,
            pgid: 0,
            born: None,
            peak_command: Rc::clone(&command),
            command,
            max_rss_kib: None,
            max_private_kib: None,
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
            group: 0,
            gone_at: None,
            exit: None,
            adopted_step: None,
            launcher: false,
        }
    }

    /// A reading of `kib` at `t`. Returns whether it is a new peak.
    pub(super) fn observe(&mut self, kib: u64, t: Duration) -> bool {
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

    /// A reading of its private RSS, KiB.
    pub(super) fn observe_private(&mut self, kib: u64) {
        if self.max_private_kib.is_none_or(|m| kib > m) {
            self.max_private_kib = Some(kib);
        }
    }

    /// It exec'd (or its command line changed since it was first seen).
    pub(super) fn exec_seen(&mut self) {
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

    pub(super) fn seen(&self) -> Seen {
        Seen {
            id: self.id,
            ppid: self.ppid,
            pgid: self.pgid,
            born: self.born,
        }
    }
}

pub(super) struct Live<H> {
    pub(super) rec: ProcRecord,
    pub(super) handle: H,
}

/// For the root, the command memwatch started instead of a bare `[comm]` (a zombie's
/// command line is gone) when that name is the started program's file name, `program`.
pub(super) fn started_command(started: &Rc<str>, program: &str, read: &str) -> Option<Rc<str>> {
    let comm = read.strip_prefix('[')?.strip_suffix(']')?;
    // Linux keeps 15 bytes of the name, macOS 16: a name that long may be cut.
    let same = comm == program || (comm.len() >= 15 && program.starts_with(comm));
    (!comm.is_empty() && same).then(|| Rc::clone(started))
}

/// The command line to show for a process: what the platform read, except for a zombie
/// root, shown as the command memwatch started ([`started_command`]).
pub(super) fn shown_command(
    read: &str,
    is_root: bool,
    started: &Rc<str>,
    program: &str,
) -> Rc<str> {
    is_root
        .then(|| started_command(started, program, read))
        .flatten()
        .unwrap_or_else(|| Rc::from(read))
}

/// Whether a process born at `parent` can be the parent (or the group leader) of one born
/// at `child` ([`Seen::born`]): not if it was born after it, which means the pid or the group
/// id now belongs to another process. When either time is unknown (another user's process
/// on macOS) nothing orders them, and the link the kernel states is taken as it is: refusing
/// it would drop the child and its whole subtree.
pub(super) fn born_before(parent: Option<u64>, child: Option<u64>) -> bool {
    match (parent, child) {
        (Some(parent), Some(child)) => parent <= child,
        _ => true,
    }
}

/// Whether a child of `kib` whose parent has `parent_kib` can be a fresh copy of it (after
/// fork, before exec): no larger than the parent, give or take a tenth.
pub(super) fn copy_sized(kib: u64, parent_kib: u64) -> bool {
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
