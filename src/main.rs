//! The `memwatch` binary: parse the command line, dispatch, turn the outcome into an exit
//! code. Everything else lives in the library.

use std::io::Write;
use std::process::ExitCode;

use memwatch::cli::{self, Command};
use memwatch::error::Error;

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == cli::WORKLOAD)
    {
        use clap::Parser;
        let args = cli::WorkloadCli::parse_from(std::env::args_os().skip(1));
        return exit(memwatch::sys::workload::run(&args.args));
    }
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(f) => {
            // Nothing useful can be done if printing the usage message fails.
            let _ = if f.is_error {
                std::io::stderr().write_all(f.text.as_bytes())
            } else {
                std::io::stdout().write_all(f.text.as_bytes())
            };
            return exit(f.code);
        }
    };
    let result: Result<i32, Error> = match cli.command {
        Command::Run(args) => memwatch::run::run(memwatch::run::RunConfig::from_args(args)),
        Command::Compare(args) => memwatch::compare::run(&args),
        Command::Merge(args) => memwatch::merge::run(&args),
        Command::Plot(args) => memwatch::plot::run(&args),
        Command::Completions { shell } => {
            let mut text = Vec::new();
            cli::completions(shell, &mut text);
            memwatch::output::print("completions", &text).map(|()| 0)
        }
        Command::Man => {
            let mut text = Vec::new();
            cli::man_page(&mut text).expect("writing to memory cannot fail");
            memwatch::output::print("manual page", &text).map(|()| 0)
        }
    };
    match result {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("memwatch: {e}");
            exit(e.exit_code())
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(memwatch::error::EXIT_FAILURE as u8))
}
