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
//! - `hooks`: what the Unix plumbing asks of macOS through `sys/mod.rs`: the exited child to
//!   reap first, and whether a caught signal came from the terminal (macOS only).
//! - `memory`: the machine's memory (`hw.memsize`), and the absence of memory cgroups
//!   (macOS only).
//!
//! # Membership without a subreaper
//!
//! macOS has no child subreaper: an orphan is re-parented to launchd (pid 1), so the ppid
//! chain from memwatch loses it. Membership is therefore the ppid chain **plus** process
//! groups:
//! - a process whose parent is memwatch or a live job process (with a start time not before
//!   the parent's) belongs, as on Linux ([`crate::job`]);
//! - so does one whose process group is led by a live job process (a shell with job control
//!   puts each pipeline in its own group, so its orphans stay in);
//! - memwatch does not move the command into a group of its own (a background group would
//!   lose the terminal's Ctrl+C and stop at its first read from the terminal). When memwatch
//!   leads its own process group, as it does when an interactive shell starts it, the
//!   command and every descendant that does not move inherit that group; an orphan found in
//!   it (parent launchd, `pgid` = memwatch's pid) can only come from the job, so it is
//!   recorded as memwatch's child (`darwin::adopted_ppid`), which is what the Linux
//!   subreaper would show.
//!
//! What escapes: a process whose parent exited before any sample saw the parent, and that
//! has left the job's groups: typically a daemon that double-forks and calls `setsid` (or
//! `setpgid`) in between. Also, when memwatch does not lead its group (started by a script
//! without job control, or after another process in a pipeline), orphans of the command's
//! own group are only found through a live group leader. A pipeline neighbour of memwatch
//! (`memwatch cmd | tee log`) shares memwatch's group, but it is never adopted while its
//! parent, the shell, is alive.
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
//! holds the same kernel field (`p_start`): the identity is never a guess. Each reading
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
//! `sys::reap_one`.
//!
//! # Command lines
//!
//! Read once per process and again after `exec`: `sysctl([CTL_KERN, KERN_PROCARGS2, pid])`
//! into a buffer of `kern.argmax` bytes (read once; a smaller buffer makes the kernel return
//! the tail of the area, whose head is then garbage), parsed by [`procargs`]. For
//! another user's process that call fails (EINVAL), so the executable path from
//! `proc_pidpath` is shown instead, then the short name (`pbsi_comm`) in brackets.

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
pub(crate) use hooks::{peek_exited_child, prepare_parent, raised_by_terminal};
