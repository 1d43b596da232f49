//! The model: the report and everything that reads or writes it. The report's fields
//! ([`report`]), its headline figures ([`figures`]), what the cross-checks find in it
//! ([`findings`]), the timeline and its split by program ([`groups`]), how the command
//! ended ([`exit`]), the merge of several reports ([`merge`]), reports and merges as files
//! ([`io`]), quantities as people write them ([`quantity`]), the `--max-rss` check
//! ([`gate`]), a sweep's result ([`sweep`]), the memory limit in force ([`limit`]) and the
//! OOM kills named ([`oom`]). It depends on nothing above it: the job, the outputs and the
//! commands all speak its types.

pub mod exit;
pub mod figures;
pub(crate) mod findings;
pub mod gate;
pub mod groups;
pub mod io;
pub(crate) mod launcher;
pub mod limit;
pub mod merge;
pub mod metric;
pub mod oom;
pub(crate) mod quantity;
pub mod report;
pub mod sweep;
pub mod timeline;

pub use exit::{Exit, signal_name};
pub use metric::Metric;
pub use report::{ProcessReport, Report, SCHEMA_VERSION, SCHEMA_VERSIONS_READ, sort_processes};
