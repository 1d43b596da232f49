//! The macOS backend: libproc and `sysctl`, no subprocess, and no allocation per sample in
//! the steady state.
//!
//! - [`procargs`]: the pure `KERN_PROCARGS2` parser, compiled on every platform (tests and
//!   fuzz targets reach it).
//! - `darwin`: every decision that needs no macOS (which pids to probe, who may belong,
//!   units, byte layouts read by hand), compiled on macOS and in unit tests everywhere.
//! - `libproc`: the calls into libproc and `sysctl`, one function each, with the struct
//!   layouts they write into checked at compile time (macOS only).
//! - `backend`: the `MacInspector` (macOS only).
//! - `hooks`: what the Unix plumbing asks of macOS through `sys/mod.rs`: whether the command
//!   gets a process group of its own, the exited child to reap first, and whether a caught
//!   signal came from the terminal (macOS only).
//! - `memory`: the machine's memory (`hw.memsize`), and the absence of memory cgroups
//!   (macOS only).
//!
//! # Membership without a subreaper
//!
//! macOS has no child subreaper: an orphan is re-parented to launchd (pid 1), so the ppid
//! chain from memwatch loses it. Membership is therefore the ppid chain **plus** process
//! groups:
//! - a process whose parent is memwatch or a live job process (not born before it, see
//!   "Identity" below) belongs, as on Linux ([`crate::job`]);
//! - so does one whose process group is led by a live job process (a shell with job control
//!   puts each pipeline in its own group, so its orphans stay in);
//! - and an orphan (parent launchd) in the job's own group, which can only come from the
//!   job: it is recorded as memwatch's child (`darwin::adopted_ppid`), which is what the
//!   Linux subreaper would show. The job's group is recognisable in two cases
//!   (`darwin::command_in_own_group` decides which applies):
//!   - memwatch leads its own process group, as when an interactive shell starts it: the
//!     command and every descendant that does not move inherit that group, whose id is
//!     memwatch's pid. The command stays in the terminal's foreground with memwatch.
//!   - memwatch does not lead its group and has no controlling terminal (CI, `make` or a
//!     script without a terminal, `ssh host cmd`): the group memwatch is in is someone
//!     else's, so memwatch starts the command in a group of its own, whose id is the
//!     command's pid. No terminal means no foreground to lose; memwatch passes on the
//!     signals it is sent, as it does to job processes outside its group on Linux.
//!
//! What escapes: a process whose parent exited before any sample saw the parent, and that
//! has left the job's groups: a daemon that double-forks and calls `setsid` (or `setpgid`)
//! in between. Also, when memwatch does not lead its group but has a terminal (a script or
//! `make` started from an interactive shell), the command stays in that group, which is
//! shared with processes outside the job, to keep the terminal: a group of its own would
//! be a background group, stopped at its first read from the terminal and deaf to Ctrl+Z.
//! There orphans are found only through a live group leader of the job. A pipeline
//! neighbour of memwatch (`memwatch cmd | tee log`) shares memwatch's group, but it is never
//! adopted while its parent, the shell, is alive.
//!
//! # Discovery
//!
//! There is no "last allocated pid" to watch as on Linux, so every sample lists all pids
//! with `proc_listallpids` into a reused buffer (it takes bytes, returns a count, returns 0
//! on error; a full buffer is grown and the call repeated) and sorts the list in place.
//! Only pids absent from the previous listing are probed (`PROC_PIDT_SHORTBSDINFO` with
//! arg 1: ppid, pgid, zombie state; it works for other users' processes), except when the
//! core asks for a full search, which probes every pid not already followed. A pid whose
//! probe failed transiently (exited or still being created) is probed again next time.
//! Probed processes that may belong (`darwin::mark_candidates`, a superset of the core's
//! rule) get a start-time read and are handed to the core. `proc_listchildpids` per job
//! process was not used: each call is a full walk of the kernel's process list, and it
//! cannot see orphans, which the group rule needs the full listing for anyway.
//!
//! Cost per sample, steady state: one `proc_listallpids` (about 0.1 ms for 1000 processes,
//! as measured by others), an in-place sort and a merge with the previous listing; a full
//! search adds about 0.2 µs per process on the machine.
//!
//! # Identity
//!
//! A process is its pid plus its start time: `pbi_start_tvsec`/`pbi_start_tvusec` of
//! `PROC_PIDTBSDINFO` in microseconds since the epoch. That flavor is refused (EPERM) for
//! another user's process (setuid programs such as `sudo` included), so the start time then
//! comes from `sysctl(KERN_PROC_PID)`'s `kinfo_proc`, which every user may read and which
//! holds the same kernel field (`p_start`): the identity is never a guess. `p_start` comes
//! from the wall clock, which time sync, a resumed VM or `settimeofday` can step back, so it
//! is never used to order processes: a child's birth is compared with its parent's on the
//! Mach clock instead (`ri_proc_start_abstime`, stamped by the same fork, read once when a
//! candidate is found; see [`crate::sys::Seen::born`]). Another user's process has no
//! readable birth, and a link the kernel states to or from it is taken without an order
//! check: refusing it would drop the whole subtree after a clock step. Each reading
//! checks the process is still the one followed through `ri_proc_start_abstime` (its
//! fork time in Mach ticks, returned by the same call as the RSS, so free), and a
//! signal is sent only after the start time was read again and matched (macOS has no pidfd:
//! a pid recycled in the microseconds between that check and `kill` would need all 99,999
//! pids to be used in between).
//!
//! # Reading memory
//!
//! One `proc_pid_rusage(RUSAGE_INFO_V4)` per followed process and sample: `ri_resident_size`
//! (bytes, reported in KiB rounded down), `ri_proc_start_abstime` (identity),
//! `ri_proc_exit_abstime` (non-zero once the process is a zombie: the kernel then serves
//! figures stashed at exit, which are not live memory, so the process is gone), and
//! `ri_uuid`, the UUID of the main executable: a change means the process ran `exec`, and
//! triggers a new read of its command line. An `exec` of the same binary keeps the UUID and
//! is not noticed (the Linux backend's text-size test has the same blind spot). A process
//! that the kernel will not describe (EPERM: another user, setuid) reads as unknown, never
//! as 0; its liveness and identity still come from the start-time check.
//!
//! # What RSS means on macOS
//!
//! `ri_resident_size` is the task's `phys_mem` ledger: pages resident in RAM, shared pages
//! included, as `ps -o rss` and psutil's `rss` report. It is not what Activity Monitor's
//! "Memory" column shows (that is `phys_footprint`: dirty private memory plus compressed
//! memory). Resident size does not drop when the malloc zones give pages back with
//! `madvise(MADV_FREE_REUSABLE)`, so after a big free it stays higher than the footprint
//! until the system reclaims the pages. The kernel's own peak for the command
//! (`wait4`'s `ru_maxrss`, in bytes on macOS) is a resident peak too, read in
//! `sys::reap_one`. Both kernel peaks, it and `ri_lifetime_max_phys_footprint`, belong to
//! the Mach task, and xnu gives a process a new task at every `exec` (`__mac_execve` and
//! `posix_spawn` with `POSIX_SPAWN_SETEXEC` call `cloneproc(..., CLONEPROC_EXEC)`, whose
//! `fork_create_child` calls `task_create_internal`, which instantiates a fresh ledger;
//! `task_copy_fields_for_exec` carries only the virtual timers over): they cover the program
//! the process ran last, not its whole life as Linux's `ru_maxrss` does.
//!
//! # Command lines
//!
//! Read once per process and again after `exec`: `sysctl([CTL_KERN, KERN_PROCARGS2, pid])`
//! into a buffer of the argc slot plus `kern.argmax` bytes (read once), the most the kernel
//! accepts, parsed by [`procargs`]. An arguments area larger than that (arguments and
//! environment near `ARG_MAX`, plus the path and the apple strings) comes back as its tail
//! behind the right argc, filling the buffer: a full buffer is therefore not parsed. Then,
//! and for another user's process, whose arguments are refused (EINVAL), the executable
//! path from `proc_pidpath` is shown instead, then the short name (`pbsi_comm`) in
//! brackets.

#[cfg(any(target_os = "macos", test))]
mod darwin;
pub mod procargs;

#[cfg(target_os = "macos")]
mod backend;
#[cfg(target_os = "macos")]
mod hooks;
#[cfg(target_os = "macos")]
mod libproc;
#[cfg(target_os = "macos")]
pub(crate) mod memory;

#[cfg(target_os = "macos")]
pub use backend::MacInspector;
#[cfg(target_os = "macos")]
pub(crate) use backend::{arguments, process};
#[cfg(target_os = "macos")]
pub(crate) use hooks::{
    command_in_own_group, peek_exited_child, prepare_parent, raised_by_terminal,
};
