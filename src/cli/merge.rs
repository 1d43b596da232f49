//! `memwatch merge`'s command line, and its checked configuration.

use std::path::PathBuf;

use clap::Args;

use super::help;
use crate::merge::{Config, DEFAULT_TOP};
use crate::output::Format;

/// What `merge --help` and the manual page say after the options, besides the examples.
pub(crate) const NOTES: &str = "\
How the job peak is found: every report's timeline is placed on wall-clock time
(its start_time + each point's t_ms). A report's total holds from one point until its
next one, and counts 0 before its first point and after its end_time. At every instant
the reports' totals are added; the job peak is the largest of these sums, with its time.
The sum of the reports' own peaks is shown only as an upper bound: nodes rarely peak at
the same moment, and adding their peaks overstates the job's.

Clocks: the alignment assumes the nodes' clocks are synchronised (NTP, chrony or PTP,
which usually keep them within a few milliseconds). An offset between two clocks shifts
those nodes' curves by that much; it matters when it approaches the sampling interval.
Long jobs: a report's timeline keeps at most 2000 points, each the largest total of its
span, so for those the job peak is an upper bound at the timeline's resolution.";

/// `memwatch merge`.
#[derive(Debug, Args)]
#[command(after_help = help::short("merge"), after_long_help = help::long("merge"))]
pub(crate) struct MergeArgs {
    /// Reports (JSON, from `memwatch run --json` or `-o x.json`), one per node or per
    /// rank of the same job. Their clocks are assumed synchronised (NTP).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// Write the merge as JSON (fields in docs/schema.md) instead of the human summary.
    #[arg(long)]
    pub json: bool,

    /// Write to this file (atomically) instead of standard output. JSON if --json is given
    /// or the name ends in .json, else the human summary.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// List this many processes (the largest peaks across all reports).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    pub top: usize,
}

impl MergeArgs {
    /// The checked configuration.
    pub(crate) fn config(self) -> Config {
        Config {
            format: Format::choose(self.json, self.output.as_deref()),
            reports: self.reports,
            output: self.output,
            top: self.top,
        }
    }
}
