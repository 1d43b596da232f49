//! `memwatch attach`'s command line, and its checked configuration: the same reporting
//! flags as `run`, about a process that is already running.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::help;
use super::values::{self, MetricParser};
use crate::model::Metric;
use crate::model::gate::MaxRss;
use crate::output::Format;
use crate::run::{Config, WaitMode};
use crate::sys::Pid;

/// What `attach --help` and the manual page say after the options, besides the examples.
pub(crate) const NOTES: &str = "\
The job is the process and every process it starts from now on. memwatch never signals
it: Ctrl+C or SIGTERM stop memwatch alone, which writes its report. Without the
child subreaper of `run`, a process whose parent exits is reparented away from the tree:
one memwatch saw stays in the job (the report counts them), one it never saw escapes.

memwatch attach exits 0 when the process exited or memwatch was stopped by a signal (the
report written either way), 3 when the peak failed --max-rss, and 125 when it cannot
attach (no such process, another user's it may not read, memwatch itself or one of its
ancestors), with nothing written.";

/// `memwatch attach`.
#[derive(Debug, Args)]
#[command(after_help = help::short("attach"), after_long_help = help::long("attach"))]
pub(crate) struct AttachArgs {
    /// The process to attach to.
    #[arg(value_name = "PID", value_parser = clap::value_parser!(i32).range(1..))]
    pub pid: Pid,

    /// Sampling interval: 10ms, 2s, 1min (a bare number is milliseconds), from 1ms to 1h.
    #[arg(short, long, value_name = "DURATION", default_value = "500ms", value_parser = values::interval, allow_hyphen_values = true)]
    pub interval: u64,

    /// Write the report as JSON (to standard output without -o).
    #[arg(long)]
    pub json: bool,

    /// Write the report to this file (atomically) instead of the terminal. JSON if --json
    /// is given or the name ends in .json, else the human summary.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Stream every sample to this CSV file as it is taken (t_ms,total_rss_kib,processes),
    /// flushed at least once a second.
    #[arg(long, value_name = "PATH")]
    pub timeline: Option<PathBuf>,

    /// Also draw the job's RSS over time into this SVG file (as `memwatch plot`).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,

    /// Also write process_peaks.csv and timeline.csv into this directory (created if
    /// missing).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,

    /// Do not print the human summary on standard error (and no status line).
    #[arg(short, long)]
    pub quiet: bool,

    /// No live status line.
    #[arg(long)]
    pub no_status: bool,

    /// Also measure, besides RSS: pss (Linux) or footprint (macOS), as for `memwatch run`.
    #[arg(long, value_name = "METRIC", default_value = "rss", value_parser = MetricParser)]
    pub metric: Metric,

    /// Exit 3 when the job's peak is over this size (IEC: 512MiB, 2GiB): the max total RSS,
    /// or with --metric pss|footprint that figure, as for `memwatch run`. A peak memwatch
    /// cannot show to be within the limit fails too.
    #[arg(long, value_name = "SIZE", value_parser = values::max_rss, allow_hyphen_values = true)]
    pub max_rss: Option<MaxRss>,
}

impl AttachArgs {
    /// The pid, and the checked configuration of the run that measures it (which ends at
    /// its exit: what it started is then left running).
    pub(crate) fn config(self) -> (Pid, Config) {
        let status = !self.quiet
            && !self.no_status
            && crate::sys::unix::term::stderr_is_terminal()
            && !crate::output::status::plain_requested(|k| std::env::var(k).ok());
        let cfg = Config {
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
            wait: WaitMode::Root,
            cpu_budget: None,
            command: Vec::new(),
        };
        (self.pid, cfg)
    }
}
