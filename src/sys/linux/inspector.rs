//! The Linux [`Inspector`]: its state, how it is made, and the trait's methods, each handed
//! to the part of the backend that does it (discovery, reading, the descriptor budget).

use std::io;
use std::time::Instant;

use nix::sys::time::TimeSpec;
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{SysconfVar, sysconf};
use rustix::fd::OwnedFd;

use super::discover::{RETRY_TOP, in_initial_pid_namespace};
use super::fds;
use super::files;
use super::reading::LinuxHandle;
use super::stepd::StepDaemons;
use crate::sys::{
    Access, Discovery, ExtraReading, Gaps, Inspector, Launch, Metric, Pid, ProcId, Reading,
    SampleError, Seen,
};

/// Become the child subreaper, so descendants that daemonize (double fork) are reparented
/// to memwatch and stay in the job.
pub(crate) fn prepare_parent() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// The Linux [`Inspector`].
pub struct LinuxInspector {
    pub(super) self_pid: Pid,
    /// The running process memwatch attached to (`memwatch attach`), under which the
    /// children walk looks, since nothing of the job is under memwatch then.
    pub(super) attached: Option<Pid>,
    pub(super) page_kib: u64,
    /// When the machine booted, microseconds since the epoch, and clock ticks per second:
    /// a start time in ticks since boot put on the wall clock.
    boot_us: Option<i64>,
    ticks_per_s: i64,
    /// Kept-open `/proc/loadavg`, read at every sample.
    pub(super) loadavg: OwnedFd,
    pub(super) last_pid: Option<i32>,
    /// Tasks on the machine at the previous sample (`/proc/loadavg`).
    pub(super) tasks: Option<u64>,
    /// Whether memwatch runs in the initial pid namespace, where every new task moves the
    /// last pid, so a task count that rises while it stays means a reused pid. In another
    /// namespace the count includes the host's tasks and would trigger needless probes.
    pub(super) count_tasks: bool,
    /// Pids left to probe again at this sample, and at the next one.
    pub(super) retry: Vec<i32>,
    pub(super) retry_next: Vec<i32>,
    /// Whether the kernel has `/proc/<pid>/task/<tid>/children` (`CONFIG_PROC_CHILDREN`).
    pub(super) children_files: bool,
    /// The buffer `/proc` files are read into (grown for long children lists).
    pub(super) buf: Vec<u8>,
    /// The `getdents64` buffer: its spare capacity is used, it stays empty.
    pub(super) dents: Vec<u8>,
    /// Pids waiting in the children walk, and the threads of the process being walked.
    pub(super) queue: Vec<Pid>,
    pub(super) tids: Vec<Pid>,
    /// Descriptors open when the inspector was made (standard streams, output files, the
    /// signal pipe, `/proc/loadavg`): not available to handles.
    pub(super) base_fds: usize,
    /// Look for every process at the next sample: a search or probe ran out of descriptors.
    pub(super) rescan: bool,
    /// A probe met a pid memwatch may not see: walk the children soon, in case it is the job's.
    pub(super) hidden_birth: bool,
    /// When the last complete search ran.
    pub(super) last_search: Option<Instant>,
    /// Invisible job processes found by the last walk, sorted, and by the current one.
    pub(super) invisible: Vec<Pid>,
    pub(super) invisible_next: Vec<Pid>,
    /// The current sample already counted a descriptor shortage.
    pub(super) short_this_sample: bool,
    pub(super) gaps: Gaps,
    /// Slurm's step daemons found while the job runs a launcher.
    pub(super) steps: StepDaemons,
}

pub(super) fn err(what: &str, source: io::Error) -> SampleError {
    SampleError {
        what: what.to_string(),
        source,
    }
}

// The clocks and the system's constants come through libc (nix), not rustix: rustix reads
// them from the auxiliary vector and the vDSO itself, which crashes memwatch under valgrind
// (rustix issue 1559), and valgrind counts the sampler's instructions (benches/instructions.rs).

/// When the machine booted, microseconds since the epoch: the wall clock now minus
/// `CLOCK_BOOTTIME` (the clock process start times count from). `/proc/stat`'s `btime` is
/// whole seconds and would put start times up to a second off.
fn boot_time_us() -> Option<i64> {
    let us = |t: TimeSpec| t.tv_sec() * 1_000_000 + t.tv_nsec() / 1000;
    let now = clock_gettime(ClockId::CLOCK_REALTIME).ok()?;
    let since_boot = clock_gettime(ClockId::CLOCK_BOOTTIME).ok()?;
    Some(us(now) - us(since_boot))
}

/// A `sysconf` value, or `default` when the system has none.
fn sysconf_or(var: SysconfVar, default: i64) -> i64 {
    sysconf(var)
        .ok()
        .flatten()
        .filter(|&v| v > 0)
        .map_or(default, i64::from)
}

impl LinuxInspector {
    /// Open what the backend keeps open (`/proc/loadavg`) and read the system's constants.
    pub fn new(self_pid: Pid) -> Result<Self, SampleError> {
        let loadavg =
            files::open(c"/proc/loadavg").map_err(|e| err("open /proc/loadavg", e.into()))?;
        let children_files =
            std::path::Path::new(&format!("/proc/{self_pid}/task/{self_pid}/children")).exists();
        let mut dents = Vec::with_capacity(32 * 1024);
        let base_fds = fds::open_now(&mut dents);
        Ok(LinuxInspector {
            self_pid,
            attached: None,
            page_kib: sysconf_or(SysconfVar::PAGE_SIZE, 4096) as u64 / 1024,
            boot_us: boot_time_us(),
            ticks_per_s: sysconf_or(SysconfVar::CLK_TCK, 100),
            loadavg,
            last_pid: None,
            tasks: None,
            count_tasks: in_initial_pid_namespace(),
            retry: Vec::with_capacity(RETRY_TOP as usize),
            retry_next: Vec::with_capacity(RETRY_TOP as usize),
            children_files,
            buf: vec![0; 4096],
            dents,
            queue: Vec::with_capacity(256),
            tids: Vec::with_capacity(64),
            base_fds,
            rescan: false,
            hidden_birth: false,
            last_search: None,
            invisible: Vec::with_capacity(16),
            invisible_next: Vec::with_capacity(16),
            short_this_sample: false,
            gaps: Gaps::default(),
            steps: StepDaemons::default(),
        })
    }
}

impl Inspector for LinuxInspector {
    type Handle = LinuxHandle;

    fn discover(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        self.discover_births(d, out)
    }

    fn follow(&mut self, seen: &Seen) -> Option<(LinuxHandle, Access)> {
        self.follow_process(seen)
    }

    fn command(&mut self, seen: &Seen, _handle: &mut LinuxHandle) -> String {
        self.command_line(seen.id.pid)
    }

    fn read(&mut self, h: &mut LinuxHandle) -> Reading {
        self.read_process(h)
    }

    fn supports(&self, extra: Metric) -> bool {
        extra == Metric::Pss && std::path::Path::new("/proc/self/smaps_rollup").exists()
    }

    fn read_extra(&mut self, extra: Metric, h: &mut LinuxHandle) -> ExtraReading {
        match extra {
            Metric::Pss => self.read_pss(h),
            _ => ExtraReading::Unavailable,
        }
    }

    fn gaps(&self) -> Gaps {
        self.gaps
    }

    fn launched(&mut self, seen: &Seen) -> Launch {
        self.launch_of(seen)
    }

    fn launched_search(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        self.search_launched(d, out)
    }

    fn start_unix_us(&self, id: ProcId) -> Option<i64> {
        let ticks = i64::try_from(id.start).ok()?;
        Some(self.boot_us? + ticks * 1_000_000 / self.ticks_per_s)
    }

    fn signal(&mut self, id: ProcId, h: &mut LinuxHandle, signal: i32) -> bool {
        self.signal_process(id, h, signal)
    }

    fn attach(&mut self, root: Pid) {
        self.attached = Some(root);
    }
}
