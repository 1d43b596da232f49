//! The model: the report and everything that reads or writes it. The report's fields, its
//! headline figures ([`figures`]), the timeline, reports as files ([`io`]), quantities as
//! people write them ([`quantity`]). It depends on nothing above it: the job, the outputs
//! and the commands all speak its types.

pub mod figures;
pub mod io;
pub mod launcher;
pub mod metric;
pub mod quantity;
pub mod timeline;

pub use crate::report::{
    Exit, ProcessReport, Report, RunInfo, SCHEMA_VERSION, signal_name, sort_processes,
};
pub use metric::Metric;
