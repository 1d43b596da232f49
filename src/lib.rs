//! memwatch: the peak memory of a whole job, a command and every process it starts.
//!
//! Layers, each a folder, from the bottom up; a layer uses only those below it:
//! - [`error`]: memwatch's errors and exit statuses.
//! - [`model`]: the report, its figures, the timeline, reports as files.
//! - [`sys`]: the operating system, behind one door ([`sys::Inspector`] per platform, the
//!   Unix plumbing, pure `/proc` and `KERN_PROCARGS2` parsers). Nothing else names `libc`.
//! - [`job`]: who is in the job and what it used (platform-neutral).
//! - [`output`]: renderers and the shared formatting of sizes, durations and tables.
//! - the commands: [`run`] (and the sampling loop, and `attach`), [`compare`], [`merge`],
//!   [`plot`], [`export`], [`sweep`] (which runs its jobs through the [`run`] layer). They
//!   share code through the layers below and never call each other.
//! - [`cli`]: the command line, turned into each command's checked configuration.

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
compile_error!(
    "memwatch: Windows support is not implemented yet (memwatch runs on Linux and macOS)"
);

pub mod cli;
pub(crate) mod compare;
pub mod error;
pub(crate) mod export;
pub mod job;
pub mod merge;
pub mod model;
pub(crate) mod output;
pub(crate) mod plot;
pub mod run;
pub(crate) mod sweep;
pub mod sys;
