//! The command line: every clap definition and help text, and the one route from
//! arguments to a command. Each subcommand's arguments become that command's checked
//! configuration ([`run::RunArgs::config`], …); every usage error, clap's or memwatch's,
//! leaves as [`Error::Usage`] (exit 125, whatever the subcommand). The words `--help` and
//! the manual page share are in [`help`].

pub(crate) mod attach;
pub(crate) mod compare;
pub(crate) mod docs;
pub(crate) mod export;
pub(crate) mod help;
pub(crate) mod merge;
pub(crate) mod plot;
pub(crate) mod run;
pub(crate) mod sweep;
pub(crate) mod values;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::error::{Error, Outcome, Status};

/// memwatch's command line: the one-line description is Cargo's, the long one
/// [`help::DESCRIPTION`].
#[derive(Debug, Parser)]
#[command(
    name = "memwatch",
    version,
    about,
    long_about = help::DESCRIPTION,
    propagate_version = true,
    subcommand_value_name = "SUBCOMMAND",
    subcommand_help_heading = "Subcommands",
    after_help = help::short(""),
    after_long_help = help::long("")
)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a command and report the memory of it and all its descendants.
    Run(run::RunArgs),
    /// Attach to a running process and report the memory of it and every process it
    /// starts, until it exits or Ctrl+C.
    Attach(attach::AttachArgs),
    /// Compare reports: two give a change table and a verdict (a CI gate with
    /// --max-increase), more give a scaling table.
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
    /// Print a shell completion script.
    #[command(after_help = help::short("completions"), after_long_help = help::long("completions"))]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output.
    #[command(after_help = help::short("man"), after_long_help = help::long("man"))]
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
    let sub = subcommand(&args).unwrap_or_default().to_string();
    // A usage error found after parsing points to the subcommand's help too.
    dispatch(cli.command).map_err(|e| match e {
        Error::Usage { message } => {
            Error::usage(format!("{message} (see 'memwatch {sub} --help')"))
        }
        e => e,
    })
}

/// Run the subcommand parsed.
fn dispatch(command: Command) -> Result<Outcome, Error> {
    let print = crate::sys::unix::file::print;
    match command {
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

/// The subcommands that run a command: a usage error of theirs says it was not run.
const RUNS_A_COMMAND: &[&str] = &["run", "sweep"];

/// Parse the command line. Help and version are printed here; every clap error becomes one
/// memwatch line (its message and its suggestions, and where to read more), exit 125.
fn parse(args: &[OsString]) -> Result<Parsed, Error> {
    use clap::error::ErrorKind;
    let e = match Cli::try_parse_from(args) {
        Ok(cli) => return Ok(Parsed::Cli(cli)),
        Err(e) => e,
    };
    let sub = subcommand(args);
    let text = e.to_string();
    let message = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Nothing useful can be done if printing the help fails.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
            return Ok(Parsed::Done(Outcome::Status(Status::Ok)));
        }
        // Bare `memwatch`: a short usage line, not the whole help.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand if sub.is_none() => {
            format!(
                "no subcommand given: usage: memwatch <{}> ...",
                subcommands().join("|")
            )
        }
        ErrorKind::MissingRequiredArgument
            if one_line(&text).contains("<COMMAND>") && sub.is_some() =>
        {
            format!(
                "no command given: usage: {}",
                usage(sub.unwrap_or_default())
            )
        }
        _ => one_line(&text),
    };
    let not_run = match sub {
        Some(sub) if RUNS_A_COMMAND.contains(&sub) => "; the command was not run",
        _ => "",
    };
    let pointer = match sub {
        Some(sub) => format!("memwatch {sub} --help"),
        None => "memwatch --help".to_string(),
    };
    Err(Error::usage(format!(
        "{message}{not_run} (see '{pointer}')"
    )))
}

/// The names of memwatch's subcommands, as the user may type them.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The usage line of subcommand `name`, as its help shows it.
fn usage(name: &str) -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    cmd.find_subcommand_mut(name)
        .map(|c| c.render_usage().to_string())
        .unwrap_or_default()
        .trim_start_matches("Usage: ")
        .to_string()
}

/// The subcommand named on the command line, if it is one of memwatch's.
fn subcommand(args: &[OsString]) -> Option<&str> {
    let name = args.get(1)?.to_str()?;
    subcommands().iter().any(|c| c == name).then_some(name)
}

/// A clap message on one line: its first paragraph without "error: ", then its tips ("a
/// similar argument exists: '--json'"), without the usage and the "For more information"
/// lines.
fn one_line(msg: &str) -> String {
    let mut paragraphs = msg.split("\n\n");
    let first = paragraphs.next().unwrap_or_default();
    let first: Vec<&str> = first.lines().map(str::trim).collect();
    let first = first.join(" ");
    let mut line = first.strip_prefix("error: ").unwrap_or(&first).to_string();
    let tips = paragraphs
        .flat_map(str::lines)
        .filter_map(|l| l.trim().strip_prefix("tip: "));
    for tip in tips {
        line.push_str("; ");
        line.push_str(tip);
    }
    line
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
            Err(e @ Error::Usage { .. }) => (e.to_string(), e.status()),
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
        assert_eq!(run_args(&["run", "-i", "10ms", "true"]).interval, 10);
        assert_eq!(
            run_args(&["run", "--interval", "2s", "true"]).interval,
            2000
        );
        assert_eq!(run_args(&["run", "-i2s", "true"]).interval, 2000);
    }

    #[test]
    fn command_without_dashes_and_with_its_own_flags() {
        let r = run_args(&["run", "cargo", "test", "--release", "-q"]);
        assert_eq!(r.command, ["cargo", "test", "--release", "-q"]);
        assert_eq!(r.interval, 500);
    }

    #[test]
    fn bad_intervals_are_one_line_with_the_range() {
        for bad in [
            "0",
            "-5",
            "99999999999",
            "abc",
            "3600001",
            "",
            "1.5ms",
            "2h",
        ] {
            let (message, status) = usage(&["run", "-i", bad, "--", "true"]);
            assert_eq!(status, Status::Failure, "{bad}");
            assert!(!message.contains('\n'), "{message:?}");
            assert!(message.contains("from 1ms to 1h"), "{bad}: {message:?}");
            assert!(message.contains("the command was not run"), "{message:?}");
        }
    }

    #[test]
    fn an_unknown_option_before_the_command_is_a_usage_error_not_the_command() {
        for flag in ["-x", "--intervall"] {
            let (message, status) = usage(&["run", flag, "--", "echo", "hi"]);
            assert_eq!(status, Status::Failure);
            assert!(
                message.starts_with(&format!("unexpected argument '{flag}' found"))
                    && message.ends_with("; the command was not run (see 'memwatch run --help')"),
                "{message}"
            );
        }
        // After the command's name, everything is the command's, -- or not.
        let r = run_args(&["run", "ls", "-la", "--json"]);
        assert_eq!(r.command, ["ls", "-la", "--json"]);
        assert!(!r.json);
    }

    #[test]
    fn clap_suggestions_are_kept() {
        let (message, _) = usage(&["run", "--jsn", "--", "true"]);
        assert!(
            message.starts_with(
                "unexpected argument '--jsn' found; a similar argument exists: '--json'; "
            ),
            "{message}"
        );
        let (message, _) = usage(&["compare", "a", "b", "--max-increse", "5%"]);
        assert!(
            message.contains("a similar argument exists: '--max-increase'"),
            "{message}"
        );
        assert!(!message.contains("not run"), "{message}");
        let (message, status) = usage(&["rum", "--", "true"]);
        assert_eq!(
            message,
            "unrecognized subcommand 'rum'; a similar subcommand exists: 'run' (see 'memwatch --help')"
        );
        assert_eq!(status, Status::Failure);
    }

    #[test]
    fn missing_command() {
        for a in [&["run"][..], &["run", "--"], &["run", "-i", "5", "--"]] {
            let (message, status) = usage(a);
            assert_eq!(status, Status::Failure);
            assert_eq!(
                message,
                "no command given: usage: memwatch run [OPTIONS] -- <COMMAND> [ARGS]...; \
                 the command was not run (see 'memwatch run --help')"
            );
        }
    }

    #[test]
    fn no_subcommand_is_one_short_usage_line() {
        let (message, status) = usage(&[]);
        assert_eq!(status, Status::Failure);
        assert_eq!(
            message,
            "no subcommand given: usage: memwatch <run|attach|compare|merge|plot|export|sweep|completions|man> \
             ... (see 'memwatch --help')"
        );
    }

    #[test]
    fn sweep_usage_errors_exit_125_and_name_what_is_missing() {
        let (message, status) = usage(&["sweep", "-p", "n", "1,2"]);
        assert_eq!(status, Status::Failure);
        assert_eq!(
            message,
            "no command given: usage: memwatch sweep -p <NAME> <VALUES> [OPTIONS] -- <COMMAND> \
             [ARGS]...; the command was not run (see 'memwatch sweep --help')"
        );
        let (message, status) = usage(&["sweep", "--", "app", "{n}"]);
        assert_eq!(status, Status::Failure);
        assert!(
            message.contains("--parameter <NAME> <VALUES>") && !message.contains("no command"),
            "{message}"
        );
    }

    #[test]
    fn usage_errors_of_every_subcommand_exit_125() {
        for a in [
            &["compare", "a.json", "--metric", "bogus"][..],
            &["compare"],
            &["merge"],
            &["merge", "--top", "x", "a.json"],
            &["plot"],
            &["completions", "foo"],
            &["man", "extra"],
            &["rnu"],
        ] {
            let (message, status) = usage(a);
            assert_eq!(status, Status::Failure, "{a:?}");
            assert_eq!(status.code(), 125);
            assert!(!message.contains('\n'), "{message}");
        }
    }
}
