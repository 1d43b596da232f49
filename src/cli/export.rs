//! `memwatch export`'s command line, and its checked configuration.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::help;
use crate::export::{Config, To};

/// The formats, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ToArg {
    /// A summary table (GitHub Flavored Markdown), for $GITHUB_STEP_SUMMARY or a comment.
    Markdown,
    /// github-action-benchmark's customSmallerIsBetter JSON.
    GithubBenchmark,
    /// Bencher Metric Format JSON.
    Bencher,
    /// Snakemake's benchmark TSV (its header, MB and seconds, NA where unknown).
    Snakemake,
    /// An OpenMetrics text exposition (node_exporter's textfile collector).
    Openmetrics,
}

/// What `export --help` and the manual page say after the options, besides the examples.
pub(crate) const NOTES: &str = "\
A figure memwatch does not know is left out, or written as the format's word for unknown
(unknown, NA), never as 0.";

/// `memwatch export`.
#[derive(Debug, Args)]
#[command(after_help = help::short("export"), after_long_help = help::long("export"))]
pub(crate) struct ExportArgs {
    /// A report (`memwatch run --json`, `memwatch attach --json`), a merge
    /// (`memwatch merge --json`) or a sweep's result (`sweep.json`: each value's medians as
    /// one job named `NAME parameter=value`; not for snakemake, which holds one job).
    #[arg(value_name = "REPORT")]
    pub input: PathBuf,

    /// The format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub to: ToArg,

    /// Write to this file (atomically) instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// The benchmark's name (github-benchmark, bencher), the summary's heading (markdown),
    /// the job label (openmetrics). By default the command line; `merge` for a merge,
    /// `sweep` for a sweep.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

impl ExportArgs {
    /// The checked configuration.
    pub(crate) fn config(self) -> Config {
        Config {
            input: self.input,
            to: match self.to {
                ToArg::Markdown => To::Markdown,
                ToArg::GithubBenchmark => To::GithubBenchmark,
                ToArg::Bencher => To::Bencher,
                ToArg::Snakemake => To::Snakemake,
                ToArg::Openmetrics => To::OpenMetrics,
            },
            output: self.output,
            name: self.name,
        }
    }
}
