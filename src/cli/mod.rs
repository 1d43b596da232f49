//! The command line: every clap definition and help text, and the one route from
//! arguments to a command. Each subcommand's arguments become that command's checked
//! configuration ([`run::RunArgs::config`], …); every usage error, clap's or memwatch's,
//! leaves as [`Error::Usage`] with the subcommand's status.

pub(crate) mod attach;
pub(crate) mod compare;
pub(crate) mod docs;
pub(crate) mod export;
pub(crate) mod merge;
pub(crate) mod plot;
pub(crate) mod run;
pub(crate) mod sweep;
pub(crate) mod values;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::error::{Error, Outcome, Status};

/// How much memory did this whole job really use? memwatch runs a command, samples the
/// resident memory (RSS) of it and of every process it starts, and reports the peak total
/// and each process's own peak.
#[derive(Debug, Parser)]
#[command(name = "memwatch", version, about, after_help = run::AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a command and report the memory of it and all its descendants.
    #[command(after_help = run::AFTER_HELP)]
    Run(run::RunArgs),
    /// Attach to a running process and report the memory of it and every process it
    /// starts, until it exits or Ctrl+C.
    Attach(attach::AttachArgs),
    /// Compare reports: two give a change table and a verdict (a CI gate with
    /// --max-increase), more give a scaling table.
    #[command(after_help = "\
Examples:
  memwatch compare main.json branch.json --max-increase 20%
  memwatch compare n1.json n2.json n4.json n8.json --label 1 --label 2 --label 4 --label 8

Exit status: 0 within the limit, 1 over it or a failed run, 2 if a report cannot be read.")]
    Compare(compare::CompareArgs),
    /// Merge per-node reports of one job into the job's time-aligned peak.
    Merge(merge::MergeArgs),
    /// Draw reports' total RSS over time (or a sweep's peaks against its parameter) as a
    /// self-contained SVG.
    Plot(plot::PlotArgs),
    /// Write a report or a merge in a format another tool reads: a Markdown summary, benchmark
    /// JSON, Snakemake's benchmark TSV, OpenMetrics.
    Export(export::ExportArgs),
    /// Run a command for each value of a parameter, several times each: a table of peaks,
    /// a line fitted through them, forecasts.
    Sweep(sweep::SweepArgs),
    /// Print a shell completion script (e.g. `memwatch completions bash > ~/.local/share/bash-completion/completions/memwatch`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output (`memwatch man | man -l -`).
    Man,
}

/// `memwatch __workload …`: the test workload, dispatched before the real command line is
/// parsed so it appears in no help, completion or manual page.
#[derive(Debug, Parser)]
#[command(name = "memwatch __workload")]
pub(crate) struct WorkloadCli {
    #[command(flatten)]
    pub(crate) args: crate::sys::workload::WorkloadArgs,
}

/// The name under which [`WorkloadCli`] is reached.
pub(crate) const WORKLOAD: &str = "__workload";

/// Run memwatch with these arguments (the program's name first).
pub fn main(args: Vec<OsString>) -> Result<Outcome, Error> {
    if args.get(1).is_some_and(|a| a == WORKLOAD) {
        let w = WorkloadCli::parse_from(args.into_iter().skip(1));
        return Ok(Outcome::Job(crate::sys::workload::run(&w.args)));
    }
    let cli = match parse(&args)? {
        Parsed::Cli(cli) => cli,
        Parsed::Done(outcome) => return Ok(outcome),
    };
    let print = crate::sys::unix::file::print;
    match cli.command {
        Command::Run(a) => crate::run::run(a.config()),
        Command::Attach(a) => {
            let (pid, cfg) = a.config();
            crate::run::attach(pid, cfg)
        }
        Command::Compare(a) => crate::compare::run(&a.config()?),
        Command::Merge(a) => crate::merge::run(&a.config()),
        Command::Plot(a) => crate::plot::run(&a.config()?),
        Command::Export(a) => crate::export::run(&a.config()),
        Command::Sweep(a) => crate::sweep::run(&a.config()?),
        Command::Completions { shell } => {
            let mut text = Vec::new();
            docs::completions(shell, &mut text);
            print("completions", &text).map(|()| Outcome::Status(Status::Ok))
        }
        Command::Man => {
            let mut text = Vec::new();
            docs::man_page(&mut text).expect("writing to memory cannot fail");
            print("manual page", &text).map(|()| Outcome::Status(Status::Ok))
        }
    }
}

/// What parsing gave: a command to run, or what was already printed (help, version).
enum Parsed {
    Cli(Cli),
    Done(Outcome),
}

/// The status a usage error of this command line exits with: 125 for `run` and `sweep`
/// (2 could be the command's own status), 2 for the commands that read reports.
fn usage_status(args: &[OsString]) -> Status {
    if args.get(1).is_some_and(|a| a == "attach") {
        return Status::Failure;
    }
    match args.get(1).and_then(|a| a.to_str()) {
        Some("run" | "sweep") | None => Status::Failure,
        Some(_) => Status::BadInput,
    }
}

/// Parse the command line. Help and version are printed here; clap's multi-line errors
/// become one memwatch line.
fn parse(args: &[OsString]) -> Result<Parsed, Error> {
    use clap::error::ErrorKind;
    let e = match Cli::try_parse_from(args) {
        Ok(cli) => return Ok(Parsed::Cli(cli)),
        Err(e) => e,
    };
    let status = usage_status(args);
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Nothing useful can be done if printing the help fails.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), e.to_string().as_bytes());
            Ok(Parsed::Done(Outcome::Status(Status::Ok)))
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprint!("{e}");
            Ok(Parsed::Done(Outcome::Status(status)))
        }
        kind => {
            let text = e.to_string();
            let missing = text.split("Usage:").next().unwrap_or_default();
            let message = if kind == ErrorKind::MissingRequiredArgument
                && missing.contains("<COMMAND>")
            {
                match subcommand(args) {
                    Some("sweep") => "no command given: usage: memwatch sweep -p <NAME> <VALUES> [OPTIONS] -- <COMMAND> [ARGS]...",
                    _ => "no command given: usage: memwatch run [OPTIONS] -- <COMMAND> [ARGS]...",
                }
                .to_string()
            } else {
                one_line(&text, subcommand(args))
            };
            Err(Error::Usage { message, status })
        }
    }
}

/// The subcommand named on the command line, if it is one of memwatch's.
fn subcommand(args: &[OsString]) -> Option<&str> {
    use clap::CommandFactory;
    let name = args.get(1)?.to_str()?;
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == name && !c.is_hide_set())
        .then_some(name)
}

/// The first paragraph of a clap message on one line, without "error: " and the tip lines,
/// pointing at the help of the subcommand it is about.
fn one_line(msg: &str, sub: Option<&str>) -> String {
    let para: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .collect();
    let joined = para.join(" ");
    let s = joined.strip_prefix("error: ").unwrap_or(&joined);
    match sub {
        Some(sub) => format!("{s} (see 'memwatch {sub} --help')"),
        None => format!("{s} (see 'memwatch --help')"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(s: &[&str]) -> Vec<OsString> {
        std::iter::once("memwatch")
            .chain(s.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn run_args(s: &[&str]) -> run::RunArgs {
        match parse(&args(s)) {
            Ok(Parsed::Cli(Cli {
                command: Command::Run(r),
            })) => r,
            _ => panic!("{s:?} did not parse as run"),
        }
    }

    fn usage(s: &[&str]) -> (String, Status) {
        match parse(&args(s)) {
            Err(Error::Usage { message, status }) => (message, status),
            _ => panic!("{s:?} was not a usage error"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_parses() {
        let r = run_args(&["run", "-i", "10", "--json", "--", "sh", "-c", "echo hi"]);
        assert_eq!(r.interval, 10);
        assert!(r.json);
        assert_eq!(r.command, ["sh", "-c", "echo hi"]);
        assert_eq!(r.wait, run::WaitArg::All);
    }

    #[test]
    fn command_without_dashes_and_with_its_own_flags() {
        let r = run_args(&["run", "cargo", "test", "--release", "-q"]);
        assert_eq!(r.command, ["cargo", "test", "--release", "-q"]);
        assert_eq!(r.interval, 500);
    }

    #[test]
    fn bad_intervals_are_one_line_with_the_range() {
        for bad in ["0", "-5", "99999999999", "abc", "3600001", ""] {
            let (message, status) = usage(&["run", "-i", bad, "--", "true"]);
            assert_eq!(status, Status::Failure, "{bad}");
            assert!(!message.contains('\n'), "{message:?}");
            assert!(message.contains("from 1 to 3600000"), "{bad}: {message:?}");
        }
    }

    #[test]
    fn an_unknown_option_before_the_command_is_a_usage_error_not_the_command() {
        for flag in ["--jsn", "-x", "--intervl"] {
            let (message, status) = usage(&["run", flag, "--", "echo", "hi"]);
            assert_eq!(status, Status::Failure);
            assert_eq!(
                message,
                format!("unexpected argument '{flag}' found (see 'memwatch run --help')")
            );
        }
        // After the command's name, everything is the command's, -- or not.
        let r = run_args(&["run", "ls", "-la", "--json"]);
        assert_eq!(r.command, ["ls", "-la", "--json"]);
        assert!(!r.json);
    }

    #[test]
    fn missing_command() {
        for a in [&["run"][..], &["run", "--"], &["run", "-i", "5", "--"]] {
            let (message, status) = usage(a);
            assert_eq!(status, Status::Failure);
            assert_eq!(
                message,
                "no command given: usage: memwatch run [OPTIONS] -- <COMMAND> [ARGS]..."
            );
        }
    }

    #[test]
    fn sweep_usage_errors_exit_125_and_name_what_is_missing() {
        let (message, status) = usage(&["sweep", "-p", "n", "1,2"]);
        assert_eq!(status, Status::Failure);
        assert_eq!(
            message,
            "no command given: usage: memwatch sweep -p <NAME> <VALUES> [OPTIONS] -- <COMMAND> [ARGS]..."
        );
        let (message, status) = usage(&["sweep", "--", "app", "{n}"]);
        assert_eq!(status, Status::Failure);
        assert!(
            message.contains("--parameter <NAME> <VALUES>") && !message.contains("no command"),
            "{message}"
        );
    }

    #[test]
    fn usage_errors_of_the_report_commands_exit_2() {
        let (_, status) = usage(&["compare", "a.json", "--metric", "bogus"]);
        assert_eq!(status, Status::BadInput);
    }
}
