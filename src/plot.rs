//! `memwatch plot`: total RSS over time as a self-contained SVG.

use clap::Args;

use crate::error::Error;

/// `memwatch plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Reports (JSON, from `memwatch run --json`).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<std::path::PathBuf>,
}

/// Run `memwatch plot`; returns the exit code.
pub fn run(args: &PlotArgs) -> Result<i32, Error> {
    let _ = args;
    Err(Error::Usage("plot is not implemented yet".to_string()))
}
