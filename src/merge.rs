//! `memwatch merge`: per-node reports of one job aligned on wall-clock time.

use clap::Args;

use crate::error::Error;

/// `memwatch merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports (JSON), one per node or per memwatch.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<std::path::PathBuf>,
}

/// Run `memwatch merge`; returns the exit code.
pub fn run(args: &MergeArgs) -> Result<i32, Error> {
    let _ = args;
    Err(Error::Usage("merge is not implemented yet".to_string()))
}
