//! The integration tests, one test binary: the real `memwatch` binary on real jobs, one
//! module per topic, and their shared helpers in [`util`], written once.
//!
//! The jobs are mostly memwatch's own hidden `__workload` subcommand, which touches a known
//! amount of memory, forks, chains, daemonizes, ignores signals and exits as told.
//!
//! Some tests need what a machine may lack: root, a `nobody` who can run memwatch, setuid,
//! mount namespaces (hidepid), tmux, Chromium, Open MPI, a Slurm cluster, the Prometheus Python client. Without it they print
//! `skipped: <reason>` and pass, unless `MEMWATCH_REQUIRE_ALL=1` (which `.ci/run` sets):
//! then they fail (see [`util::skip`]).
//!
//! Two tests have binaries of their own, for what they do to their process:
//! `tests/alloc.rs` installs a counting global allocator, and `tests/descriptors.rs` lowers
//! the open-files limit and uses up every descriptor.
//!
//! `overhead` is a measurement, not a pass/fail test: ignored, and run by `cargo overhead`.
//!
//! The binary under test is the one cargo built, or the one `MEMWATCH_BIN` names (`.ci/run`
//! runs the run, outputs, signals, MPI and Slurm modules again against the static binary
//! of `cargo static`): see [`util::bin`].

#![cfg(unix)]

mod util;

// The real binary on jobs (Linux: they read /proc).
#[cfg(target_os = "linux")]
mod attach;
#[cfg(target_os = "linux")]
mod churn;
#[cfg(target_os = "linux")]
mod errors;
#[cfg(target_os = "linux")]
mod exit;
#[cfg(target_os = "linux")]
mod export;
#[cfg(target_os = "linux")]
mod gaps;
#[cfg(target_os = "linux")]
mod gate;
#[cfg(target_os = "linux")]
mod honest;
#[cfg(target_os = "linux")]
mod limits;
#[cfg(target_os = "linux")]
mod lost;
#[cfg(target_os = "linux")]
mod metric;
#[cfg(target_os = "linux")]
mod outputs;
#[cfg(target_os = "linux")]
mod overhead;
#[cfg(target_os = "linux")]
mod private;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod scale;
#[cfg(target_os = "linux")]
mod signals;
#[cfg(target_os = "linux")]
mod slurm;
#[cfg(target_os = "linux")]
mod sweep;
#[cfg(target_os = "linux")]
mod usage;

// The other subcommands, the terminal, the launchers, the corpus.
mod compare;
mod docs;
mod fuzz_corpus;
mod merge;
mod mpi;
mod plot;
mod shell;
mod stack;
mod status;
