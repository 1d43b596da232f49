//! A sweep's result (`memwatch sweep`'s sweep.json) in the formats that hold more than one
//! job: each value's medians as the figures of one job named after the value
//! (`<name> n=4`), in benchmark JSON and OpenMetrics (labelled `parameter` and `value`);
//! in Markdown, the sweep's table, its fit and its forecasts. Snakemake's TSV is one job's:
//! a sweep is refused there (its reports, one per run, can be exported one by one).

use std::fmt::Write as _;

use super::{Bound, Exported};
use crate::model::figures::FIGURES;
use crate::model::sweep::{Point, Sweep};
use crate::output::units::{iec, iec_or_unknown};

/// The medians of one value, as exported figures (the optional ones only when measured).
pub(crate) fn of_point(p: &Point) -> Vec<Exported> {
    FIGURES
        .iter()
        .map(|f| Exported {
            figure: f,
            value: p.medians.get(f),
            bound: Bound::Exact,
        })
        .filter(|e| !e.figure.optional || e.value.is_some())
        .collect()
}

/// The name of one value's job: `<name> <parameter>=<value>`.
pub(crate) fn point_name(name: &str, s: &Sweep, p: &Point) -> String {
    format!("{name} {}={}", s.parameter, p.value.text)
}

/// A size in KiB that may be negative (a fit's intercept or slope).
fn signed(kib: f64) -> String {
    if kib < 0.0 {
        format!("−{}", iec((-kib).round() as u64))
    } else {
        iec(kib.round() as u64)
    }
}

/// The Markdown of a sweep: a heading, the table of medians, the fit and the forecasts.
pub(crate) fn markdown(s: &Sweep, name: Option<&str>) -> String {
    use super::markdown::{code, text};
    let mut out = String::new();
    let heading = match name {
        Some(n) => text(n),
        None => code(&s.command.join(" "), false),
    };
    let _ = writeln!(out, "### memwatch sweep: {heading}\n");
    let _ = writeln!(
        out,
        "{} over {} ({} run{} each), on {}\n",
        code(&s.parameter, false),
        text(
            &s.values
                .iter()
                .map(|v| v.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        s.runs_per_value,
        if s.runs_per_value == 1 { "" } else { "s" },
        text(&s.hostname)
    );
    let _ = writeln!(
        out,
        "| {} | Max total RSS (median) | min | max | Failed runs |",
        text(&s.parameter)
    );
    let _ = writeln!(out, "|:---|---:|---:|---:|---:|");
    for p in &s.points {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} of {} |",
            code(&p.value.text, true),
            iec_or_unknown(p.median_max_total_rss_kib),
            iec_or_unknown(p.min_max_total_rss_kib),
            iec_or_unknown(p.max_max_total_rss_kib),
            p.failed_runs,
            p.runs.len()
        );
    }
    out.push('\n');
    match (&s.fit, &s.no_fit_reason) {
        (Some(fit), _) => {
            let _ = writeln!(
                out,
                "Fit: max total RSS ≈ {} + {} × {} (least squares, R² {:.4})\n",
                signed(fit.intercept_kib),
                signed(fit.slope_kib_per_unit),
                text(&s.parameter),
                fit.r_squared
            );
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "No fit: {}\n", text(why));
        }
        (None, None) => {}
    }
    for pr in &s.predictions {
        let _ = writeln!(
            out,
            "- forecast at {}={}: {}{}",
            text(&s.parameter),
            pr.value,
            iec_or_unknown(pr.max_total_rss_kib),
            if pr.extrapolated {
                " (extrapolated)"
            } else {
                ""
            }
        );
    }
    if !s.predictions.is_empty() {
        out.push('\n');
    }
    for w in &s.warnings {
        let _ = writeln!(out, "> {}\n", text(w));
    }
    out
}
