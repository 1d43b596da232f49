//! Integration tests: the real `memwatch` binary on real jobs (Linux).
//!
//! The jobs are mostly memwatch's own hidden `__workload` subcommand, which touches a known
//! amount of memory, forks, chains, daemonizes, ignores signals and exits as told.

#![cfg(target_os = "linux")]

mod churn;
mod errors;
mod gaps;
mod honest;
mod lost;
#[path = "../support/nobody.rs"]
mod nobody;
mod outputs;
mod run;
mod signals;
mod util;
