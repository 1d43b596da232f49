//! The sweep's text for people, on standard error like `run`'s summary: what was swept,
//! one row per value, the fit with the cost per unit and the fixed part, the forecasts,
//! and the warnings.

use std::fmt::Write as _;

use crate::model::figures::{FIGURES, Unit, by_key};
use crate::model::sweep::{Prediction, Sweep};
use crate::output::table::{self, Align};
use crate::output::units;

use super::fit::number;

/// How far a forecast reaches: `extrapolated 8× beyond the largest measured value`.
fn reach(p: &Prediction) -> String {
    match p.times_largest {
        _ if !p.extrapolated => "within the measured values".to_string(),
        Some(t) if t > 1.0 => format!(
            "extrapolated {}× beyond the largest measured value",
            number((t * 10.0).round() / 10.0)
        ),
        _ => "extrapolated outside the measured values".to_string(),
    }
}

/// The table of the values measured: the memory figures (the CPU time, faults and I/O
/// medians are in sweep.json; as columns they would make the table too wide to read).
fn rows(s: &Sweep) -> String {
    let extra: Vec<_> = FIGURES
        .iter()
        .filter(|f| {
            f.optional && f.unit == Unit::Kib && s.points.iter().any(|p| p.medians.get(f).is_some())
        })
        .collect();
    let (process, duration) = (by_key("max_process_rss_kib"), by_key("duration_seconds"));
    let mut header: Vec<String> = [s.parameter.as_str(), "Max total RSS", "min", "max"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    header.extend(extra.iter().map(|f| f.label.to_string()));
    header.extend(["Max per process", "Duration", "Failed"].map(String::from));
    let mut rows = vec![header];
    for p in &s.points {
        let median = |f: Option<&crate::model::figures::Figure>| {
            f.map_or_else(String::new, |f| {
                units::value_or_unknown(f.unit, p.medians.get(f))
            })
        };
        let mut row = vec![
            p.value.text.clone(),
            units::iec_or_unknown(p.median_max_total_rss_kib),
            units::iec_or_unknown(p.min_max_total_rss_kib),
            units::iec_or_unknown(p.max_max_total_rss_kib),
        ];
        row.extend(extra.iter().map(|f| median(Some(f))));
        row.extend([median(process), median(duration)]);
        row.push(format!("{} of {}", p.failed_runs, p.runs.len()));
        rows.push(row);
    }
    let mut align = vec![Align::Right; rows[0].len()];
    align[0] = Align::Left;
    table::render(&rows, &align, 2)
}

/// The whole text.
pub(super) fn human(s: &Sweep) -> String {
    let mut out = String::new();
    let values: Vec<&str> = s.values.iter().map(|v| v.text.as_str()).collect();
    let _ = writeln!(
        out,
        "Sweep of {} over {} ({} run{} each): {}",
        s.parameter,
        units::short_command(&values.join(", "), 60),
        s.runs_per_value,
        if s.runs_per_value == 1 { "" } else { "s" },
        units::short_command(&s.command.join(" "), 100)
    );
    let _ = writeln!(
        out,
        "Reports:       {}/ (sweep.json and one report per run)",
        s.directory.trim_end_matches('/')
    );
    out.push('\n');
    out.push_str(&rows(s));
    let _ = writeln!(
        out,
        "  (medians over each value's successful runs; min and max of their max total RSS)\n"
    );
    match (&s.fit, &s.no_fit_reason) {
        (Some(f), _) => {
            let _ = writeln!(
                out,
                "Fit:           max total RSS ≈ {} + {} × {} (least squares through {} medians, R² {:.4})",
                units::iec_signed(f.intercept_kib),
                units::iec_signed(f.slope_kib_per_unit),
                s.parameter,
                f.points,
                f.r_squared
            );
            let _ = writeln!(
                out,
                "Cost per unit: ≈ {} per unit of {} (the slope)",
                units::iec_signed(f.slope_kib_per_unit),
                s.parameter
            );
            let _ = writeln!(
                out,
                "Fixed part:    ≈ {} (the line at {} = 0)",
                units::iec_signed(f.intercept_kib),
                s.parameter
            );
            for (i, p) in s.predictions.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{}{}={}: {}, {}; fit R² {:.4}",
                    if i == 0 {
                        "Forecast:      "
                    } else {
                        "               "
                    },
                    s.parameter,
                    number(p.value),
                    p.max_total_rss_kib.map_or_else(
                        || "no forecast (below 0)".to_string(),
                        |k| format!("≈ {}", units::iec(k))
                    ),
                    reach(p),
                    f.r_squared
                );
            }
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "Fit:           none: {why}");
        }
        (None, None) => {}
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_far_forecasts_reach() {
        let p = |times: Option<f64>, extrapolated| Prediction {
            value: 64.0,
            max_total_rss_kib: Some(1),
            times_largest: times,
            extrapolated,
        };
        assert_eq!(
            reach(&p(Some(8.0), true)),
            "extrapolated 8× beyond the largest measured value"
        );
        assert_eq!(reach(&p(Some(0.5), false)), "within the measured values");
        assert_eq!(
            reach(&p(Some(0.1), true)),
            "extrapolated outside the measured values"
        );
    }
}
