//! `memwatch compare`: reports side by side, a regression verdict, scaling tables.

use clap::Args;

use crate::error::Error;

/// `memwatch compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Reports (JSON, from `memwatch run --json`): the first is the base.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<std::path::PathBuf>,
}

/// Run `memwatch compare`; returns the exit code.
pub fn run(args: &CompareArgs) -> Result<i32, Error> {
    let _ = args;
    Err(Error::Usage("compare is not implemented yet".to_string()))
}
