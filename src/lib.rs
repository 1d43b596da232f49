//! memwatch: the peak memory of a whole job, a command and every process it starts.
//!
//! Layout: [`sys`] is the only code that knows the operating system (one [`sys::Inspector`]
//! per platform, plus pure `/proc` and `KERN_PROCARGS2` parsers); [`job`] decides who is in
//! the job and keeps the running maxima; [`report`] is the model every output renders;
//! [`output`] writes it; [`run`] drives a job end to end; [`cli`] is the command line.

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
compile_error!(
    "memwatch: Windows support is not implemented yet (memwatch runs on Linux and macOS)"
);

pub mod cli;
pub mod compare;
pub mod error;
pub mod job;
pub mod launcher;
pub mod merge;
pub mod output;
pub mod plot;
pub mod report;
#[cfg(unix)]
pub mod run;
pub mod sys;
pub mod timeline;
