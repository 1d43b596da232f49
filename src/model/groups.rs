//! The job's RSS split by program over time (`timeline_groups` in a report): which
//! programs made up the total, and the peak. Built by the job ([`crate::job`]), drawn by
//! `memwatch plot`, listed by `memwatch export`.
//!
//! Processes are grouped by program name (the file name of the first word of their command
//! line). The points are samples: at each one the groups add up to the job's total RSS at
//! that sample. When the points are thinned, neighbouring points are merged keeping the
//! sample with the larger total, with its whole split, as the total's timeline does, so the
//! peak and what made it up survive.

use serde::{Deserialize, Serialize};

/// Points kept at most in `timeline_groups`.
pub const GROUP_POINTS: usize = 500;

/// Groups listed by name at most; the others are added up in one "other" group.
pub const TOP_GROUPS: usize = 8;

/// The job's RSS split by program over time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineGroups {
    /// Offsets of the points, ms from the job's start: each the sample with the largest
    /// total RSS of the span the point stands for.
    pub t_ms: Vec<u64>,
    /// True when points were merged to stay within [`GROUP_POINTS`].
    pub thinned: bool,
    /// The groups by program, the largest peak first; the "other" group, if any, last.
    pub groups: Vec<ProgramGroup>,
}

/// One program's processes, or the "other" group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramGroup {
    /// The program's name; `other` for the other group.
    pub program: String,
    /// True for the group that adds up the programs not listed by name.
    pub other: bool,
    /// Processes that ran this program at some point (a process that execs another
    /// program counts in both).
    pub processes: u64,
    /// The group's own peak, KiB: the largest sum of its processes' RSS at one sample.
    /// Null for the other group, whose programs need not have peaked together.
    pub max_rss_kib: Option<u64>,
    /// When that peak was, ms from the job's start; null for the other group.
    pub max_rss_ms: Option<u64>,
    /// Its RSS at the sample with the job's max total, KiB: the groups' values add up to
    /// `max_total_rss_kib`.
    pub rss_at_peak_kib: u64,
    /// Its RSS at each point of `t_ms`, KiB.
    pub rss_kib: Vec<u64>,
}

impl TimelineGroups {
    /// The total RSS at each point: the groups' values added up.
    pub fn totals(&self) -> Vec<u64> {
        (0..self.t_ms.len())
            .map(|i| {
                self.groups
                    .iter()
                    .map(|g| g.rss_kib.get(i).copied().unwrap_or(0))
                    .sum()
            })
            .collect()
    }
}
