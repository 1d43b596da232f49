//! The Linux backend: `/proc`, read with kept-open descriptors and reused buffers, through
//! rustix's system calls (no allocation in the steady state).
//!
//! - [`procfs`]: the pure parsers of the `/proc` files memwatch reads. Compiled on every
//!   platform, so tests, benches and fuzz targets reach them.
//! - `inspector`: the [`LinuxInspector`], its state and the [`Inspector`](super::Inspector)
//!   methods, each handed to one of the parts below. The rest is compiled on Linux only.
//! - `discover`: who may have joined the job since the previous sample. Births are found
//!   from the last allocated pid in `/proc/loadavg`, so the cost does not grow with the
//!   number of unrelated processes; a walk of the `task/<tid>/children` files from memwatch
//!   (the child subreaper) is the safety net.
//! - `reading`: one handle per followed process. Its `/proc/<pid>/statm` stays open and is
//!   re-read with one `pread` at offset 0: fresh data every time, and `ESRCH` once the
//!   process is reaped, so a kept descriptor never reports a recycled pid. Also PSS, the
//!   command line, and signals through a pidfd.
//! - `fds`: the descriptor budget. Descriptors are kept only while enough stay free under
//!   the open-files limit; past that, processes are read by path. What still fails for
//!   lack of descriptors, or cannot be seen at all (`hidepid`), is counted in
//!   [`Gaps`](super::Gaps).
//! - `files`: `/proc` paths built on the stack, and opening, reading and listing files.
//! - `attach`: who a running process is, before `memwatch attach` follows it.
//! - `cgroup`: the memory cgroup a job starts in (its limit, high-water mark, OOM-kill
//!   counter and members) and the machine's memory; its parsers are `cgroupfs`, compiled
//!   for unit tests everywhere.
//! - `stepd`: Slurm's step daemons (`slurmstepd`) and the tasks they start outside the
//!   process tree of the `srun` memwatch runs, with what their environment says.

#[cfg(target_os = "linux")]
pub(crate) mod cgroup;
#[cfg(any(target_os = "linux", test))]
pub(crate) mod cgroupfs;
pub mod procfs;

#[cfg(target_os = "linux")]
mod attach;
#[cfg(target_os = "linux")]
mod discover;
#[cfg(target_os = "linux")]
mod fds;
#[cfg(target_os = "linux")]
mod files;
#[cfg(target_os = "linux")]
mod inspector;
#[cfg(target_os = "linux")]
mod reading;
#[cfg(target_os = "linux")]
mod stepd;

#[cfg(target_os = "linux")]
pub(crate) use attach::{arguments, process};
#[cfg(target_os = "linux")]
pub use inspector::LinuxInspector;
#[cfg(target_os = "linux")]
pub(crate) use inspector::prepare_parent;
