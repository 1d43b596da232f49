//! The `memwatch` binary: hand the command line to [`memwatch::cli`], turn the outcome
//! into an exit status. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    match memwatch::cli::main(std::env::args_os().collect()) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(e) => {
            eprintln!("memwatch: {e}");
            ExitCode::from(e.status().code())
        }
    }
}
