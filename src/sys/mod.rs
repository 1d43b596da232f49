//! The boundary between memwatch and the operating system: nothing outside this folder
//! names `libc`, an errno value or a raw signal.
//!
//! Everything that asks the kernel about processes sits behind [`Inspector`]; the
//! platform-neutral core ([`crate::job`]) decides who belongs to the job and does the
//! arithmetic. Here live the trait, the types it speaks in, and the one place where the
//! host's backend is chosen ([`NativeInspector`]); any other target fails to compile.
//! - [`linux`]: the `/proc` backend; its pure parsers ([`linux::procfs`]) are compiled on
//!   every platform so tests, benches and fuzz targets reach them.
//! - [`macos`]: the libproc backend; its `KERN_PROCARGS2` parser ([`macos::procargs`]) is
//!   compiled everywhere too, and its pure decisions are unit-tested on every platform.
//! - [`unix`]: what both share (signals, reaping, spawning, files, the terminal). It never
//!   calls a backend: what differs between them reaches it through the hooks at the end of
//!   this file.
//! - [`fake`]: a scripted [`Inspector`] for the core's tests; [`workload`]: a test workload.

#[cfg(test)]
pub(crate) mod fake;
pub mod linux;
pub mod macos;

#[cfg(unix)]
pub(crate) mod unix;
pub(crate) mod workload;

#[cfg(target_os = "linux")]
pub use linux::LinuxInspector as NativeInspector;
#[cfg(target_os = "linux")]
pub(crate) use linux::prepare_parent;

#[cfg(target_os = "macos")]
pub use macos::MacInspector as NativeInspector;
#[cfg(target_os = "macos")]
pub(crate) use macos::prepare_parent;

/// A process id as the kernel gives it.
pub type Pid = i32;

/// The identity of a process: its pid plus its start time, so a recycled pid is never
/// mistaken for the process that held it before.
///
/// `start` is opaque and only compared for equality within one platform: clock ticks since
/// boot on Linux (`/proc/<pid>/stat` field 22), microseconds since the epoch on macOS
/// (`pbi_start_tvsec`/`usec`, which every user may read). It never changes during a
/// process's life (`exec` included). Parent and child are ordered by [`Seen::born`]
/// instead: macOS's start time is on the wall clock, which can step back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcId {
    /// The process id.
    pub pid: Pid,
    /// The start time, platform units (see the type's docs).
    pub start: u64,
}

/// What discovery learns about a process that may be new to the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Who it is.
    pub id: ProcId,
    /// Its parent's pid (a thread-group id, never a thread id).
    pub ppid: Pid,
    /// Its process group.
    pub pgid: Pid,
    /// When it was born on a clock that never steps back and is the same for every
    /// process, to order parent and child (and group leader and member): Linux's start time
    /// (clock ticks since boot), macOS's `ri_proc_start_abstime` (Mach ticks). `None` when
    /// the kernel will not tell (macOS: another user's process); an unknown order never
    /// refuses a link the kernel states.
    pub born: Option<u64>,
}

/// One memory reading of a followed process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Alive, with this resident set size in KiB. `private_kib` is the part of it that is
    /// neither file-backed nor shared memory (Linux: statm's resident minus shared, from the
    /// same read), `None` where the platform does not tell. `exec` is true when the process
    /// appears to have run `exec` since the previous reading (its command line may have
    /// changed).
    Rss {
        kib: u64,
        private_kib: Option<u64>,
        exec: bool,
    },
    /// Alive, but in the middle of `exec`: the new program is not loaded yet, so its
    /// memory figure means nothing (a page or two). Not counted, never a peak.
    Loading,
    /// Alive, but the kernel refuses to tell (another user, setuid, hidepid). Never 0.
    Unknown,
    /// Exited (a zombie) or reaped: the process has no memory any more.
    Gone,
}

/// Whether a process memwatch tried to follow can be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Its memory can be read.
    Readable,
    /// The kernel refused (EACCES/EPERM); its memory is unknown.
    Denied,
}

/// What the core tells discovery about the job as it stands.
pub struct Discovery<'a> {
    /// The command memwatch started (alive or not): on macOS, an orphan in the process
    /// group it created belongs to the job.
    pub root: Pid,
    /// Pids of the job's live processes.
    pub live: &'a [Pid],
    /// Whether a pid belongs to a live job process (fast lookup over `live`).
    pub is_live: &'a dyn Fn(Pid) -> bool,
    /// Ask for a complete search (first sample, periodic safety net), not only births.
    pub full: bool,
    /// Live job processes outside memwatch's own process tree (adopted tasks of a Slurm
    /// step): a complete search looks under them too.
    pub roots: &'a [Pid],
}

/// The environment variable memwatch sets in the command's environment, to a value unique
/// to the run: launchers that forward the environment (Slurm's `srun` and `sbatch` do by
/// default) pass it on to the tasks their daemons start, which is how memwatch knows its
/// own among them.
pub(crate) const RUN_MARK: &str = "MEMWATCH_RUN";

/// A process that a launcher's daemon started on this node, outside the process tree of
/// the launcher that asked for it: a task of a Slurm step, started by `slurmstepd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launched {
    /// Who it is.
    pub seen: Seen,
    /// The step its daemon runs: `JOB.STEP` (`1234.0`, `1234.batch`).
    pub step: String,
    /// The value of [`RUN_MARK`] in its environment, if set.
    pub mark: Option<String>,
    /// How many nodes its step runs on, if its environment says (`SLURM_STEP_NUM_NODES`,
    /// else `SLURM_JOB_NUM_NODES`).
    pub nodes: Option<u32>,
}

/// Whether a process was started by a launcher's daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launch {
    /// No (or it cannot be told: gone, another user's).
    No,
    /// Its parent is a step daemon, but it has not run its program yet (between fork and
    /// exec, its environment still the daemon's): ask again.
    NotYet,
    /// A task of a step, with what its environment says.
    Task(Launched),
}

pub use crate::model::Metric;

/// What reading an extra metric (`--metric`) gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtraReading {
    /// The value, KiB.
    Kib(u64),
    /// The kernel refused (another user's process, setuid): memwatch cannot measure it.
    Denied,
    /// Not this time (the process is exiting or between two programs).
    Unavailable,
}

pub use crate::error::SampleError;

/// Why the memory cgroup a job runs in is not the job's alone, so its high-water mark is
/// not the job's.
#[derive(Clone, Debug, PartialEq, Eq)]
// Only Linux has cgroups to find intruders in; macOS words them but never makes one.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) enum Intrusion {
    /// A process that is neither memwatch nor the job's is in it (or in a cgroup below
    /// it); pid 0 stands for one in another pid namespace.
    Stranger {
        /// Its pid.
        pid: Pid,
        /// Its command line.
        name: String,
    },
    /// A process of the job runs in another cgroup.
    Escaped {
        /// Its pid.
        pid: Pid,
        /// The cgroup it is in.
        cgroup: String,
    },
}

#[cfg(target_os = "linux")]
pub(crate) use linux::cgroup::JobCgroup;
#[cfg(target_os = "linux")]
use linux::cgroup::physical;
#[cfg(target_os = "macos")]
pub(crate) use macos::memory::JobCgroup;
#[cfg(target_os = "macos")]
use macos::memory::physical;

/// The memory limits a job started now runs under besides its cgroup's: `RLIMIT_AS` and
/// `RLIMIT_DATA` when finite, and the machine's memory; with what could not be read.
pub(crate) fn machine_limits() -> (Vec<crate::model::limit::MemoryLimit>, Vec<String>) {
    let mut found = unix::memory_rlimits();
    let mut notes = Vec::new();
    match physical() {
        Ok(p) => found.push(p),
        Err(e) => notes.push(e),
    }
    (found, notes)
}

/// What a backend could not see or read during the job: the report counts it and says why,
/// so a total that misses something is never presented as whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gaps {
    /// Processes listed as children of job processes whose `/proc/<pid>` memwatch may not
    /// see or open (`hidepid`, another user's process): never followed, in no total.
    pub invisible: u64,
    /// Samples at which memwatch ran out of file descriptors and could not look for, or
    /// read, every process.
    pub fd_samples: u64,
    /// Processes memwatch could not read at one sample or more for lack of descriptors.
    pub fd_processes: u64,
    /// memwatch's open-files limit (soft) when it ran out.
    pub fd_limit: Option<u64>,
}

/// The operating system as the sampler sees it: find processes, follow them, read them.
///
/// The core calls, for every sample: [`discover`](Inspector::discover) once, then
/// [`follow`](Inspector::follow) for each process it admits into the job, then
/// [`read`](Inspector::read) for each followed process. In the steady state (nobody born,
/// nobody gone) none of these may allocate: buffers belong to the implementation and are
/// reused.
pub trait Inspector {
    /// Per-process state the backend keeps while it follows a process (a kept-open file on
    /// Linux). Dropping it stops following.
    type Handle;

    /// Append to `out` every process that may have joined the system since the previous
    /// call and could belong to the job (or every candidate, when `d.full`). Processes
    /// already live in the job may be listed again; threads never are.
    fn discover(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError>;

    /// Start following a process the core admitted. `None` if it is already gone.
    fn follow(&mut self, seen: &Seen) -> Option<(Self::Handle, Access)>;

    /// The process's command line (arguments joined by spaces, lossy UTF-8, at most
    /// [`MAX_COMMAND_BYTES`]), read when a process is first followed and after `exec`.
    fn command(&mut self, seen: &Seen, handle: &mut Self::Handle) -> String;

    /// Read the current resident set size of a followed process.
    fn read(&mut self, handle: &mut Self::Handle) -> Reading;

    /// Whether this platform can measure `extra` at all.
    fn supports(&self, extra: Metric) -> bool {
        let _ = extra;
        false
    }

    /// Read `extra` for a followed process, right after a [`read`](Inspector::read) found
    /// it alive. May cost far more than `read` (PSS walks the page tables); the core
    /// decides how often to call it.
    fn read_extra(&mut self, extra: Metric, handle: &mut Self::Handle) -> ExtraReading {
        let _ = (extra, handle);
        ExtraReading::Unavailable
    }

    /// When the process started, as microseconds since the Unix epoch, if the platform's
    /// start time can be put on the wall clock.
    fn start_unix_us(&self, id: ProcId) -> Option<i64> {
        let _ = id;
        None
    }

    /// Whether `seen`, a process that does not descend from memwatch, was started by a
    /// launcher's daemon (a Slurm step's task). Asked only while the job runs a launcher
    /// that hands its work to such a daemon, and only about processes born meanwhile.
    fn launched(&mut self, seen: &Seen) -> Launch {
        let _ = seen;
        Launch::No
    }

    /// Search the machine for launchers' step daemons and append their children that the
    /// job does not follow (`d.is_live`) to `out`: the safety net of
    /// [`launched`](Inspector::launched), for births discovery did not see.
    fn launched_search(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        let _ = (d, out);
    }

    /// What could not be seen or read so far (see [`Gaps`]).
    fn gaps(&self) -> Gaps {
        Gaps::default()
    }

    /// Send `signal` to a followed process if, and only if, it is still the process the
    /// handle was opened for (never a recycled pid). Returns whether it was sent.
    fn signal(&mut self, id: ProcId, handle: &mut Self::Handle, signal: i32) -> bool;

    /// The job is `root`'s tree, a running process memwatch did not start (`memwatch
    /// attach`): the complete search looks under it, and no orphan is adopted for being in
    /// memwatch's own process group (macOS).
    fn attach(&mut self, root: Pid) {
        let _ = root;
    }
}

/// Why memwatch cannot attach to a pid (`memwatch attach`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No process has it.
    Absent,
    /// It is another user's and the system will not show it to memwatch.
    Hidden,
    /// It has exited (a zombie its parent has not reaped).
    Exited,
    /// It is a thread of a process, not a process (Linux: macOS pids are processes).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Thread,
    /// It is a kernel thread, which has no memory of its own (Linux; macOS has none a pid
    /// names).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    KernelThread,
}

#[cfg(target_os = "linux")]
pub(crate) use linux::{arguments, process};
#[cfg(target_os = "macos")]
pub(crate) use macos::{arguments, process};

/// Command lines are cut at this many bytes (the JSON keeps all of them).
pub const MAX_COMMAND_BYTES: usize = 4096;

/// Turn raw NUL-separated argument bytes into one display string: arguments joined by a
/// space, invalid UTF-8 replaced, cut at [`MAX_COMMAND_BYTES`] on a character boundary.
pub fn join_args<'a>(args: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut out = String::new();
    for (i, arg) in args.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&String::from_utf8_lossy(arg));
        if out.len() >= MAX_COMMAND_BYTES {
            break;
        }
    }
    truncate_at_char(&mut out, MAX_COMMAND_BYTES);
    out
}

/// Cut `s` to at most `max` bytes without splitting a character.
pub(crate) fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Whether a caught signal came from the terminal rather than a process's `kill`. Linux
/// sends a terminal's signals with `si_pid` 0, so a named sender is always a process.
#[cfg(target_os = "linux")]
fn raised_by_terminal(_signal: i32, _sender: i32, _root: i32) -> bool {
    false
}
#[cfg(target_os = "macos")]
use macos::raised_by_terminal;

/// The exited child to reap first, with what must be read from it before (macOS: its
/// lifetime peak footprint). On Linux any child will do.
#[cfg(target_os = "linux")]
fn exited_child() -> unix::reap::Peek {
    unix::reap::Peek::Any
}
#[cfg(target_os = "macos")]
use macos::peek_exited_child as exited_child;

/// Whether the command is started in a process group of its own. Linux: never, memwatch
/// is the child subreaper and needs no group to keep the job's orphans.
#[cfg(target_os = "linux")]
fn command_in_own_group() -> bool {
    false
}
#[cfg(target_os = "macos")]
use macos::command_in_own_group;

/// Start the command as memwatch's child (see [`unix::spawn::spawn`]), in a process group of
/// its own where the platform needs one to recognise the job's orphans (macOS without a
/// terminal, see `sys::macos`), and tell `pipe` who it is (its exit can mask who sent a
/// signal). `env` is added to its environment. Returns its pid.
pub(crate) fn spawn_job(
    command: &[std::ffi::OsString],
    env: &[(&str, &str)],
    stdout_to_stderr: bool,
    pipe: &unix::signals::SignalPipe,
) -> Result<Pid, crate::error::Error> {
    let root = unix::spawn::spawn(command, env, stdout_to_stderr, command_in_own_group())?;
    pipe.set_root(root);
    Ok(root)
}

/// The self-pipe the sampling loop sleeps on, with the platform's rule for telling the
/// terminal's signals from a process's.
pub(crate) fn signal_pipe() -> std::io::Result<unix::signals::SignalPipe> {
    unix::signals::SignalPipe::install(raised_by_terminal)
}

/// Reap one exited child without blocking (see [`unix::reap`]).
pub(crate) fn reap_one() -> Option<unix::reap::Reaped> {
    unix::reap::reap_one(exited_child)
}

/// Reap what is left once the job looks over, waiting at most `timeout` (see [`unix::reap`]).
pub(crate) fn reap_remaining(timeout: std::time::Duration, f: impl FnMut(unix::reap::Reaped)) {
    unix::reap::reap_remaining(exited_child, timeout, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_args_joins_and_replaces_invalid_utf8() {
        let args: [&[u8]; 3] = [b"sh", b"-c", b"echo \xff"];
        assert_eq!(join_args(args), "sh -c echo \u{fffd}");
    }

    #[test]
    fn join_args_keeps_empty_arguments() {
        let args: [&[u8]; 3] = [b"a", b"", b"b"];
        assert_eq!(join_args(args), "a  b");
    }

    #[test]
    fn join_args_caps_length_on_a_char_boundary() {
        let long = "é".repeat(MAX_COMMAND_BYTES);
        let s = join_args([long.as_bytes()]);
        assert!(s.len() <= MAX_COMMAND_BYTES);
        assert!(s.chars().all(|c| c == 'é'));
    }
}
