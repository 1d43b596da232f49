//! `memwatch merge --json`: the merge of several reports, machine-readable (written by
//! `memwatch merge`, read by `memwatch export`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::figures::{Totals, Values};
use super::limit::MemoryLimit;
use super::timeline::Point;

/// Version of the `merge --json` format.
pub const MERGE_VERSION: u32 = 1;

/// The merge of several reports (`memwatch merge --json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merged {
    /// Version of this format ([`MERGE_VERSION`]).
    pub merge_version: u32,
    /// Version of memwatch that merged.
    pub memwatch_version: String,
    /// How the reports were aligned and what that assumes ([`CLOCK_ASSUMPTION`]).
    pub clock: String,
    /// The earliest report start.
    pub start_time: Timestamp,
    /// The latest report end.
    pub end_time: Timestamp,
    /// `end_time - start_time`, seconds: the job's overall duration.
    pub duration_seconds: f64,
    /// Distinct hostnames, sorted.
    pub hosts: Vec<String>,
    /// The job peak: the largest sum of the reports' totals at one instant, KiB. `null`
    /// when no report has a sample.
    pub max_total_rss_kib: Option<u64>,
    /// When the job peak happened (wall clock).
    pub max_total_rss_time: Option<Timestamp>,
    /// The job peak's time as milliseconds after `start_time`.
    pub max_total_rss_ms: Option<u64>,
    /// True when a report's timeline had been thinned (more samples than points, each
    /// point keeping its span's maximum): the job peak is then an upper bound at the
    /// resolution of `resolution_ms`.
    pub max_total_rss_is_upper_bound: bool,
    /// The coarsest report's time resolution, ms: the largest gap between two consecutive
    /// points of any report's timeline (at least its sampling interval). Peaks closer in
    /// time than this (plus any clock offset) cannot be told apart.
    pub resolution_ms: u64,
    /// What merge adds up across the reports, from the figure table: `processes_total`
    /// (processes in all reports together), `sum_of_report_peaks_kib` (the sum of every
    /// report's own peak, KiB: NOT the job peak, an upper bound that assumes every node
    /// peaked at the same instant), `sum_of_report_pss_peaks_kib` (the same for PSS, when
    /// every report was made with `run --metric pss` and read every process's PSS: PSS is
    /// read in rounds and has no timeline to align). `null` when a report does not know it.
    #[serde(flatten)]
    pub totals: Totals,
    /// Report keys of the job figures above (the job peak, the sums) that are lower bounds:
    /// a report's value left out processes memwatch could not read or did not wait for.
    /// Empty in merges of earlier versions.
    #[serde(default)]
    pub lower_bounds: Vec<String>,
    /// The reports, by rank (then host, then file).
    pub reports: Vec<MergedReport>,
    /// The processes with the largest peaks across all reports, largest first.
    pub processes: Vec<MergedProcess>,
    /// Warnings (reports that do not overlap in time, different jobs, no samples).
    pub warnings: Vec<String>,
    /// The job's summed total over time (ms after `start_time`), at most 2000 points;
    /// merged points keep the largest total.
    pub timeline: Vec<Point>,
}

/// One input report in a merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedReport {
    /// The file it was read from.
    pub file: String,
    /// Host it ran on.
    pub hostname: String,
    /// Its launcher rank (`SLURM_PROCID`, else `OMPI_COMM_WORLD_RANK`, else `PMI_RANK`).
    pub rank: Option<String>,
    /// Its launcher variables.
    pub launcher: BTreeMap<String, String>,
    /// When it started.
    pub start_time: Timestamp,
    /// When it ended.
    pub end_time: Timestamp,
    /// Its sampling interval, ms.
    pub interval_ms: u64,
    /// Points in its timeline.
    pub timeline_points: u64,
    /// The largest gap between two consecutive points of its timeline, ms (at least the
    /// sampling interval).
    pub resolution_ms: u64,
    /// When it reached its own peak total (wall clock).
    pub max_total_rss_time: Option<Timestamp>,
    /// Its total at the job peak's instant, KiB (these add up to the job peak).
    pub rss_at_job_peak_kib: u64,
    /// The memory limit in force where it ran (its report's `memory_limit`): limits are
    /// listed per report, never added up. `null` when its report has none.
    #[serde(default)]
    pub memory_limit: Option<MemoryLimit>,
    /// Its headline figures (the figure table's keys: `max_total_rss_kib`,
    /// `duration_seconds`, `processes_total`, …), `null` when it does not know one.
    #[serde(flatten)]
    pub figures: Values,
}

/// A process of one of the reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedProcess {
    /// Host it ran on.
    pub hostname: String,
    /// Launcher rank of the memwatch that saw it.
    pub rank: Option<String>,
    /// The report it comes from.
    pub file: String,
    /// Process id (on that host).
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Command line.
    pub command: String,
    /// Its peak RSS, KiB (`null` when unreadable).
    pub max_rss_kib: Option<u64>,
    /// First sample that saw it.
    pub first_seen: Timestamp,
    /// Last sample that saw it alive.
    pub last_seen: Timestamp,
}
