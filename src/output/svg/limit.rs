//! The memory limit in force, on the chart: a dashed horizontal line at its height when it
//! is within reach of the data (at most twice the largest total, so the data keeps at
//! least half the chart's height), else named above the chart with the peak's share of it.
//! One line per distinct limit: in the report's colour when the reports' limits differ,
//! in grey when they share one; red for a single report.

use std::fmt::Write as _;

use super::text::{Box2, n, text};
use super::{COLORS, Chart, LEFT, PLOT_W, TOP};
use crate::model::Report;
use crate::output::units::iec;

/// A limit at most this many times the largest total is drawn as a line.
const IN_REACH: f64 = 2.0;

/// The colour of a single report's limit.
const RED: &str = "#d62728";
/// The colour of a limit several reports share.
const GREY: &str = "#555555";

/// A limit to show: its value (KiB), its colour and its label.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Limit {
    pub(super) kib: u64,
    color: &'static str,
    label: String,
}

/// The reports' distinct limits, each with its colour and label, largest first.
pub(super) fn limits(reports: &[(String, &Report)]) -> Vec<Limit> {
    let with: Vec<(usize, &str, &crate::model::limit::MemoryLimit)> = reports
        .iter()
        .enumerate()
        .filter_map(|(i, (label, r))| r.memory_limit.as_ref().map(|l| (i, label.as_str(), l)))
        .collect();
    let shared = with.windows(2).all(|w| w[0].2.kib == w[1].2.kib);
    let mut out: Vec<Limit> = Vec::new();
    for (i, label, l) in with {
        if out.iter().any(|o| o.kib == l.kib) {
            continue;
        }
        let (color, label) = match (reports.len(), shared) {
            (1, _) => (RED, format!("limit {} ({})", iec(l.kib), l.describe())),
            (_, true) => (GREY, format!("limit {} ({})", iec(l.kib), l.describe())),
            _ => (
                COLORS[i % COLORS.len()],
                format!("limit {} ({label}: {})", iec(l.kib), l.describe()),
            ),
        };
        out.push(Limit {
            kib: l.kib,
            color,
            label,
        });
    }
    // Distinct values: an unstable sort orders them all the same.
    out.sort_unstable_by_key(|l| std::cmp::Reverse(l.kib));
    out
}

/// Whether a limit is drawn as a line over data whose largest total is `max_kib`.
pub(super) fn in_reach(limit_kib: u64, max_kib: u64) -> bool {
    max_kib > 0 && limit_kib as f64 <= IN_REACH * max_kib as f64
}

/// Draw the limits within reach as dashed lines labelled at their right end (their label
/// boxes go into `placed`, so peak labels keep clear of them); name the others above the
/// chart.
pub(super) fn draw(
    s: &mut String,
    chart: &Chart,
    limits: &[Limit],
    max_kib: u64,
    placed: &mut Vec<Box2>,
) {
    let mut off = Vec::new();
    for l in limits {
        if !in_reach(l.kib, max_kib) {
            off.push(l.label.strip_prefix("limit ").unwrap_or(&l.label));
            continue;
        }
        let y = chart.py(l.kib);
        let _ = writeln!(
            s,
            r#"<line class="limit" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2" stroke-dasharray="8 5"/>"#,
            n(LEFT),
            n(y),
            n(LEFT + PLOT_W),
            n(y),
            l.color
        );
        let right = LEFT + PLOT_W - 4.0;
        let width = l.label.chars().count() as f64 * super::CHAR_W;
        // Above the line, unless that leaves the chart.
        let base = if y - 6.0 - 12.0 >= TOP {
            y - 6.0
        } else {
            y + 16.0
        };
        placed.push(Box2::new(right - width, base - 12.0, right, base + 3.0));
        text(
            s,
            right,
            base,
            &format!(
                r##"text-anchor="end" fill="{}" stroke="#ffffff" stroke-width="3" paint-order="stroke""##,
                l.color
            ),
            &l.label,
        );
    }
    if !off.is_empty() {
        let what = if off.len() == 1 { "limit" } else { "limits" };
        text(
            s,
            LEFT + PLOT_W,
            TOP - 16.0,
            r##"text-anchor="end" fill="#555""##,
            &format!("{what} {} above the chart", off.join(", ")),
        );
    }
}
