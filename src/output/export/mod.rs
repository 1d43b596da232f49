//! The formats `memwatch export` writes, for the tools pipelines and CI read: a Markdown
//! summary ([`markdown`]), benchmark JSON for github-action-benchmark and Bencher
//! ([`benchmark`]), Snakemake's benchmark TSV ([`snakemake`]) and an OpenMetrics text
//! exposition ([`openmetrics`]).
//!
//! Every format but Markdown and Snakemake's walks the headline figures ([`Exported`], from
//! the figure table), so a figure added there is exported too. A figure memwatch does not
//! know is left out (benchmark JSON, OpenMetrics) or written as the format's own word for
//! unknown (`unknown` in Markdown, Snakemake's `NA`), never as 0.

pub(crate) mod benchmark;
pub(crate) mod markdown;
pub(crate) mod openmetrics;
pub(crate) mod snakemake;
pub(crate) mod sweep;

use crate::model::Report;
use crate::model::figures::{Better, FIGURES, Figure, Merge, Unit};
use crate::model::merge::Merged;

/// How far to trust a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The value itself.
    Exact,
    /// At least this: processes memwatch could not read are left out.
    AtLeast,
    /// At most this: a merge of thinned timelines.
    AtMost,
}

/// One headline figure of a report or a merge, as the formats write it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exported {
    /// The figure.
    pub figure: &'static Figure,
    /// Its value in its unit (KiB, seconds, a count); `None` when unknown.
    pub value: Option<f64>,
    /// How far to trust it.
    pub bound: Bound,
}

impl Exported {
    /// The value in the unit machines want: bytes for memory, else as it is.
    pub(crate) fn machine_value(&self) -> Option<f64> {
        self.value.map(|v| match self.figure.unit {
            Unit::Kib => v * 1024.0,
            Unit::Seconds | Unit::Count | Unit::Percent | Unit::Millis => v,
        })
    }

    /// Whether a smaller value is better (what benchmark dashboards chart).
    pub(crate) fn benchmark(&self) -> bool {
        self.figure.better == Better::Lower
    }
}

/// The figures of a report, in table order; the optional ones (`--metric`) only when the
/// report has them.
pub(crate) fn of_report(r: &Report) -> Vec<Exported> {
    FIGURES
        .iter()
        .map(|f| Exported {
            figure: f,
            value: f.of(r),
            bound: if (f.partial)(r) && f.of(r).is_some() {
                Bound::AtLeast
            } else {
                Bound::Exact
            },
        })
        .filter(|e| !e.figure.optional || e.value.is_some())
        .collect()
}

/// The job figures of a merge: the time-aligned peak, the span, what adds up; figures a
/// merge gives only per report (or only as a sum of peaks, an upper bound) are left out.
pub(crate) fn of_merge(m: &Merged) -> Vec<Exported> {
    FIGURES
        .iter()
        .filter_map(|f| {
            let lower = m.lower_bounds.iter().any(|k| k == f.key);
            let (value, bound) = match f.merge {
                // A peak both thinned (at most) and leaving processes out (at least) is
                // neither bound: unknown.
                Merge::Aligned { .. } if m.max_total_rss_is_upper_bound && lower => {
                    (None, Bound::Exact)
                }
                Merge::Aligned { .. } if m.max_total_rss_is_upper_bound => {
                    (m.max_total_rss_kib.map(|v| v as f64), Bound::AtMost)
                }
                Merge::Aligned { .. } => (m.max_total_rss_kib.map(|v| v as f64), Bound::Exact),
                Merge::Span => (Some(m.duration_seconds), Bound::Exact),
                Merge::Sum => (m.totals.get(f), Bound::Exact),
                Merge::SumOfPeaks { .. } | Merge::PerReport => return None,
            };
            let bound = if lower && value.is_some() && bound == Bound::Exact {
                Bound::AtLeast
            } else {
                bound
            };
            Some(Exported {
                figure: f,
                value,
                bound,
            })
        })
        .collect()
}

/// The name a benchmark is filed under by default: the command line, shortened.
pub(crate) fn default_name(r: &Report) -> String {
    let command = r.command.join(" ");
    let name = crate::output::units::short_command(&command, 80);
    if name.is_empty() {
        "memwatch".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests;
