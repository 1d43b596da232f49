//! `memwatch plot`'s command line, and its checked configuration.

use std::path::PathBuf;

use clap::Args;

use super::help;
use crate::error::Error;
use crate::plot::Config;

/// `memwatch plot`.
#[derive(Debug, Args)]
#[command(after_help = help::short("plot"), after_long_help = help::long("plot"))]
pub(crate) struct PlotArgs {
    /// Reports (JSON, from `memwatch run --json`); several are drawn over each other.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// Write the SVG to this file (atomically) instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Name the reports in the legend, in order, one per report. By default: the part of
    /// the command lines that differs (falling back to the file names).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,

    /// The title (by default the command).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,

    /// Draw the total alone, as one line with the top processes listed, instead of one
    /// report's total stacked by program.
    #[arg(long)]
    pub total_only: bool,
}

impl PlotArgs {
    /// The checked configuration: as many labels as reports, or none (else a usage error).
    pub(crate) fn config(self) -> Result<Config, Error> {
        if !self.labels.is_empty() && self.labels.len() != self.reports.len() {
            return Err(Error::usage(format!(
                "--label was given {} time(s) for {} report(s): give one per report, in order, or none",
                self.labels.len(),
                self.reports.len()
            )));
        }
        Ok(Config {
            reports: self.reports,
            output: self.output,
            labels: self.labels,
            title: self.title,
            total_only: self.total_only,
        })
    }
}
