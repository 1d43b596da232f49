//! The command line: clap derive definitions (their doc comments are the `--help` text)
//! and the conversion of parse errors into memwatch's one-line messages and exit codes.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sampling interval bounds, milliseconds.
pub const INTERVAL_MS: std::ops::RangeInclusive<u64> = 1..=3_600_000;

const AFTER_HELP: &str = "\
Examples:
  memwatch run -- cargo test
  memwatch run -i 10 -- mpirun -n 8 ./app
  memwatch run --json -o mem.json -- pytest -n 8
  memwatch run --json -- make -j8 > mem.json
  memwatch run --metric pss -o mem-%h-%r.json -- ./mpi_app
  memwatch compare main.json branch.json --max-increase 20%
  memwatch plot mem.json -o mem.svg

Exit status: the command's own (128+N if it died of signal N); 125 if memwatch
itself failed, 126 if the command could not be executed, 127 if it was not found.";

const COMPARE_HELP: &str = "\
Examples:
  memwatch compare main.json branch.json --max-increase 20%
  memwatch compare n1.json n2.json n4.json n8.json --label 1 --label 2 --label 4 --label 8

Exit status: 0 within the limit, 1 over it, 2 if a report cannot be read.";

/// How much memory did this whole job really use? memwatch runs a command, samples the
/// resident memory (RSS) of it and of every process it starts, and reports the peak total
/// and each process's own peak.
#[derive(Debug, Parser)]
#[command(name = "memwatch", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command and report the memory of it and all its descendants.
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
    /// Compare reports: two give a change table and a verdict (a CI gate with
    /// --max-increase), more give a scaling table.
    #[command(after_help = COMPARE_HELP)]
    Compare(crate::compare::CompareArgs),
    /// Merge per-node reports of one job into the job's time-aligned peak.
    Merge(crate::merge::MergeArgs),
    /// Draw reports' total RSS over time as a self-contained SVG.
    Plot(crate::plot::PlotArgs),
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
pub struct WorkloadCli {
    #[command(flatten)]
    pub args: crate::sys::workload::WorkloadArgs,
}

/// The name under which [`WorkloadCli`] is reached.
pub const WORKLOAD: &str = "__workload";

/// When the job is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WaitMode {
    /// Until the command and every process it started have exited.
    All,
    /// Until the command itself exits (leave daemons it started running).
    Root,
}

/// `--metric`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// Resident set size only.
    Rss,
    /// Also the proportional set size (Linux).
    Pss,
    /// Also the physical footprint (macOS).
    Footprint,
}

/// `memwatch run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Sampling interval in milliseconds (1 to 3600000).
    #[arg(short, long, value_name = "MS", default_value = "500", value_parser = parse_interval, allow_hyphen_values = true)]
    pub interval: u64,

    /// Write the report as JSON. Without -o it goes to standard output, and the command's
    /// own standard output is sent to standard error so the JSON stays valid.
    #[arg(long)]
    pub json: bool,

    /// Write the report to this file (atomically) instead of the terminal. JSON if --json
    /// is given or the name ends in .json, else the human summary.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Stream every sample to this CSV file as it is taken (t_ms,total_rss_kib,processes),
    /// flushed at least once a second, so a killed memwatch or a days-long job leaves its
    /// data behind.
    #[arg(long, value_name = "PATH")]
    pub timeline: Option<PathBuf>,

    /// Also draw the job's total RSS over time into this SVG file (as `memwatch plot`).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,

    /// Also write process_peaks.csv and timeline.csv into this directory (created if
    /// missing).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,

    /// Do not print the human summary on standard error (and no status line).
    #[arg(short, long)]
    pub quiet: bool,

    /// No live status line. It is shown only when standard error is a terminal, on the
    /// terminal's last row, and never when NO_COLOR is set or TERM is dumb.
    #[arg(long)]
    pub no_status: bool,

    /// Also measure, besides RSS: pss (Linux: proportional set size, shared pages counted
    /// once; read less often than RSS, see the README) or footprint (macOS: physical
    /// footprint).
    #[arg(long, value_enum, value_name = "METRIC", default_value = "rss")]
    pub metric: MetricArg,

    /// When the job is over: when every process has exited (all), or when the command
    /// itself has (root).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "all")]
    pub wait: WaitMode,

    /// The command to run and its arguments (put them after --).
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

fn parse_interval(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(v) if INTERVAL_MS.contains(&v) => Ok(v),
        _ => Err(format!(
            "the interval must be a whole number of milliseconds from {} to {}",
            INTERVAL_MS.start(),
            INTERVAL_MS.end()
        )),
    }
}

/// What to do with a failed parse: print and exit with this code.
pub struct ParseFailure {
    /// Text to print (help and version go to stdout, errors to stderr).
    pub text: String,
    /// Whether it is an error (stderr) rather than requested output (stdout).
    pub is_error: bool,
    /// Exit code.
    pub code: i32,
}

/// Write the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "memwatch", out);
}

/// Write the manual page: memwatch(1) with every subcommand's options in it.
pub fn man_page(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        if matches!(name, "help" | "completions" | "man") {
            continue;
        }
        let sub = sub.clone().bin_name(format!("memwatch {name}"));
        let man = clap_mangen::Man::new(sub).title("memwatch");
        writeln!(out, ".SH \"MEMWATCH {}\"", name.to_uppercase())?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
        man.render_extra_section(out)?;
    }
    man.render_extra_section(out)?;
    man.render_version_section(out)?;
    Ok(())
}

/// Parse the command line, turning clap's multi-line errors into one memwatch line.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, ParseFailure> {
    let args: Vec<OsString> = args.into_iter().collect();
    Cli::try_parse_from(&args).map_err(|e| {
        use clap::error::ErrorKind;
        match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ParseFailure {
                text: e.to_string(),
                is_error: false,
                code: 0,
            },
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => ParseFailure {
                text: e.to_string(),
                is_error: true,
                code: usage_code(&args),
            },
            kind => {
                let text = if kind == ErrorKind::MissingRequiredArgument
                    && e.to_string().contains("<COMMAND>")
                {
                    "no command given: usage: memwatch run [OPTIONS] -- <COMMAND> [ARGS]..."
                        .to_string()
                } else {
                    one_line(&e.to_string(), subcommand(&args))
                };
                ParseFailure {
                    text: format!("memwatch: {text}\n"),
                    is_error: true,
                    code: usage_code(&args),
                }
            }
        }
    })
}

/// Usage errors exit 125 for `run` (2 could be the command's own status); other
/// subcommands read reports and use 2.
fn usage_code(args: &[OsString]) -> i32 {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("run") | None => crate::error::EXIT_FAILURE,
        Some(_) => crate::error::EXIT_BAD_INPUT,
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

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_parses() {
        let cli = parse(args(&[
            "run", "-i", "10", "--json", "--", "sh", "-c", "echo hi",
        ]))
        .ok()
        .unwrap();
        let Command::Run(r) = cli.command else {
            panic!()
        };
        assert_eq!(r.interval, 10);
        assert!(r.json);
        assert_eq!(r.command, ["sh", "-c", "echo hi"]);
        assert_eq!(r.wait, WaitMode::All);
    }

    #[test]
    fn command_without_dashes_and_with_its_own_flags() {
        let cli = parse(args(&["run", "cargo", "test", "--release", "-q"]))
            .ok()
            .unwrap();
        let Command::Run(r) = cli.command else {
            panic!()
        };
        assert_eq!(r.command, ["cargo", "test", "--release", "-q"]);
        assert_eq!(r.interval, 500);
    }

    #[test]
    fn bad_intervals_are_one_line_with_the_range() {
        for bad in ["0", "-5", "99999999999", "abc", "3600001", ""] {
            let Err(f) = parse(args(&["run", "-i", bad, "--", "true"])) else {
                panic!("{bad} accepted")
            };
            assert_eq!(f.code, 125, "{bad}");
            assert!(f.is_error);
            assert_eq!(f.text.lines().count(), 1, "{:?}", f.text);
            assert!(f.text.starts_with("memwatch: "), "{:?}", f.text);
            assert!(f.text.contains("from 1 to 3600000"), "{bad}: {:?}", f.text);
        }
    }

    #[test]
    fn an_unknown_option_before_the_command_is_a_usage_error_not_the_command() {
        for flag in ["--jsn", "-x", "--intervl"] {
            let Err(f) = parse(args(&["run", flag, "--", "echo", "hi"])) else {
                panic!("{flag} was accepted");
            };
            assert_eq!(f.code, 125);
            assert_eq!(
                f.text,
                format!(
                    "memwatch: unexpected argument '{flag}' found (see 'memwatch run --help')\n"
                )
            );
        }
        // After the command's name, everything is the command's, -- or not.
        let Ok(cli) = parse(args(&["run", "ls", "-la", "--json"])) else {
            panic!()
        };
        let Command::Run(r) = cli.command else {
            panic!()
        };
        assert_eq!(r.command, ["ls", "-la", "--json"]);
        assert!(!r.json);
    }

    #[test]
    fn missing_command() {
        for a in [&["run"][..], &["run", "--"], &["run", "-i", "5", "--"]] {
            let Err(f) = parse(args(a)) else { panic!() };
            assert_eq!(f.code, 125);
            assert_eq!(
                f.text,
                "memwatch: no command given: usage: memwatch run [OPTIONS] -- <COMMAND> [ARGS]...\n"
            );
        }
    }

    #[test]
    fn help_and_version_succeed() {
        let Err(f) = parse(args(&["--version"])) else {
            panic!()
        };
        assert_eq!((f.code, f.is_error), (0, false));
        assert!(f.text.contains(env!("CARGO_PKG_VERSION")));
        let Err(f) = parse(args(&["run", "--help"])) else {
            panic!()
        };
        assert_eq!((f.code, f.is_error), (0, false));
        assert!(f.text.contains("Examples:"));
    }
}
