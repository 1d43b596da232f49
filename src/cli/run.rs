//! `memwatch run`'s command line, and its checked configuration.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::help;
use super::values::{self, MetricParser};
use crate::model::Metric;
use crate::model::gate::MaxRss;
use crate::output::Format;
use crate::run::{Config, WaitMode};

/// When the job is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum WaitArg {
    /// Until the command and every process it started have exited.
    All,
    /// Until the command itself exits (leave daemons it started running).
    Root,
}

/// `memwatch run`'s usage, the one form every help text shows.
pub(crate) const USAGE: &str = "memwatch run [OPTIONS] -- <COMMAND> [ARGS]...";

/// `memwatch run`.
#[derive(Debug, Args)]
#[command(
    override_usage = USAGE,
    after_help = help::short("run"),
    after_long_help = help::long("run")
)]
pub(crate) struct RunArgs {
    /// Sampling interval: 10ms, 2s, 1min (a bare number is milliseconds), from 1ms to 1h.
    /// A peak shorter than the interval can be missed: use 10ms to 50ms for a job of a
    /// few seconds.
    #[arg(short, long, value_name = "DURATION", default_value = "500ms", value_parser = values::interval, allow_hyphen_values = true)]
    pub interval: u64,

    /// Write the report as JSON. Without -o it goes to standard output, and the command's
    /// own standard output is sent to standard error so the JSON stays valid.
    #[arg(long)]
    pub json: bool,

    /// Write the report to this file (atomically) instead of the terminal. JSON if --json
    /// is given or the name ends in .json, else the human summary. Checked before the
    /// command starts. Placeholders: %h host name, %r rank, %j Slurm job id, %p memwatch's
    /// pid, %% a percent sign (also in --timeline, --csv and --plot).
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
    /// once; read less often than RSS, see docs/accuracy.md) or footprint (macOS:
    /// physical footprint).
    #[arg(long, value_name = "METRIC", default_value = "rss", value_parser = MetricParser)]
    pub metric: Metric,

    /// Fail the run when the job's peak is over this size (IEC: 512MiB, 2GiB): the max total
    /// RSS, or with --metric pss|footprint that figure. memwatch then prints a FAIL line
    /// naming the peak and the limit, and exits 3 if the command succeeded (else with the
    /// command's status). A peak memwatch cannot show to be within the limit (unknown, or
    /// leaving out processes it could not read) fails too.
    #[arg(long, value_name = "SIZE", value_parser = values::max_rss, allow_hyphen_values = true)]
    pub max_rss: Option<MaxRss>,

    /// Keep memwatch's own CPU within this share of one core (above 0%, at most 100%: 5%) by
    /// stretching the interval when sampling the job every -i would cost more. Every
    /// sample still reads every process of the job: peaks and totals stay true samples,
    /// taken further apart. The report says which interval was used.
    #[arg(long, value_name = "PCT", value_parser = values::cpu_budget, allow_hyphen_values = true)]
    pub cpu_budget: Option<f64>,

    /// When the job is over: when every process has exited (all), or when the command
    /// itself has (root).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "all")]
    pub wait: WaitArg,

    /// The command to run and its arguments (after --, which may be left out when the
    /// command's name does not start with -).
    #[arg(value_names = ["COMMAND", "ARGS"], required = true, trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

impl RunArgs {
    /// The checked configuration of the run. The status line is shown only when stderr
    /// is a terminal and nobody asked for plain output.
    pub(crate) fn config(self) -> Config {
        let status = !self.quiet
            && !self.no_status
            && crate::sys::unix::term::stderr_is_terminal()
            && !crate::output::status::plain_requested(|k| std::env::var(k).ok());
        Config {
            interval: Duration::from_millis(self.interval),
            format: Format::choose(self.json, self.output.as_deref()),
            output: self.output,
            metric: self.metric,
            max_rss: self.max_rss,
            timeline: self.timeline,
            csv: self.csv,
            plot: self.plot,
            quiet: self.quiet,
            status,
            wait: match self.wait {
                WaitArg::All => WaitMode::All,
                WaitArg::Root => WaitMode::Root,
            },
            cpu_budget: self.cpu_budget,
            command: self.command,
        }
    }
}
