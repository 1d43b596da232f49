//! From the runs measured to the sweep's result, pure: each value's statistics (medians,
//! min and max over its successful runs), the fit through the medians, the forecasts, and
//! the warnings they call for.

use crate::model::figures::{Values, by_key};
use crate::model::sweep::{Fit, Param, Point, Prediction, SweepRun};
use crate::model::{Exit, Report};

use super::fit;

/// One run as the sweep keeps it: which value, the run's line in the JSON, its figures.
#[derive(Clone, Debug)]
pub(super) struct Measured {
    /// Index of its value.
    pub(super) value: usize,
    pub(super) run: SweepRun,
    pub(super) figures: Values,
}

impl Measured {
    /// Run `run` of value `value`, whose report is `file` (in the sweep's directory).
    pub(super) fn of(value: usize, run: u32, file: String, r: &Report) -> Measured {
        Measured {
            value,
            run: SweepRun {
                run,
                report: file,
                max_total_rss_kib: r.max_total_rss_kib,
                max_process_rss_kib: r.max_process_rss_kib,
                duration_seconds: r.duration_seconds,
                exit_code: r.exit_code,
                signal: r.signal,
                interrupted: r.interrupted,
                failed: r.interrupted || r.exit() != Some(Exit::Code(0)),
            },
            figures: Values::of(r),
        }
    }
}

/// How a failed run ended, short: `exited with status 3`, `killed by signal 9 (SIGKILL)`,
/// `interrupted`.
pub(super) fn how_it_failed(r: &SweepRun) -> String {
    let exit = match (r.exit_code, r.signal) {
        (Some(c), _) => Some(Exit::Code(c)),
        (None, Some(s)) => Some(Exit::Signal(s)),
        _ => None,
    };
    let ended = exit.map(|e| {
        let d = e.describe();
        d.strip_prefix("was ").map(str::to_string).unwrap_or(d)
    });
    match (r.interrupted, ended) {
        (false, Some(e)) => e,
        (false, None) => "its end is unknown".to_string(),
        (true, Some(e)) => format!("interrupted, {e}"),
        (true, None) => "interrupted".to_string(),
    }
}

/// The points of the values that were run, in the order of `values`.
pub(super) fn points(values: &[Param], runs: &[Measured]) -> Vec<Point> {
    let total = by_key("max_total_rss_kib").expect("the max total RSS is a figure");
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let mine: Vec<&Measured> = runs.iter().filter(|m| m.value == i).collect();
        if mine.is_empty() {
            continue;
        }
        let good: Vec<&Measured> = mine.iter().copied().filter(|m| !m.run.failed).collect();
        let all: Vec<Values> = good.iter().map(|m| m.figures.clone()).collect();
        let medians = Values::median(&all);
        let peaks = good.iter().filter_map(|m| m.run.max_total_rss_kib);
        out.push(Point {
            value: value.clone(),
            runs: mine.iter().map(|m| m.run.clone()).collect(),
            failed_runs: (mine.len() - good.len()) as u32,
            median_max_total_rss_kib: medians.get(total).map(|v| v.round() as u64),
            min_max_total_rss_kib: peaks.clone().min(),
            max_max_total_rss_kib: peaks.max(),
            medians,
        });
    }
    out
}

/// The warnings of the points with failed runs.
pub(super) fn failure_warnings(name: &str, points: &[Point]) -> Vec<String> {
    let mut out = Vec::new();
    for p in points.iter().filter(|p| p.failed_runs > 0) {
        let failed: Vec<String> = p
            .runs
            .iter()
            .filter(|r| r.failed)
            .map(|r| format!("run {} {}", r.run, how_it_failed(r)))
            .collect();
        let at = format!("{name}={}", p.value.text);
        out.push(if p.median_max_total_rss_kib.is_some() {
            format!(
                "{at}: {} of {} runs failed ({}); left out of its statistics and the fit",
                p.failed_runs,
                p.runs.len(),
                failed.join(", ")
            )
        } else {
            format!(
                "{at}: no run succeeded ({}); the value is left out of the fit",
                failed.join(", ")
            )
        });
    }
    out
}

/// The line through the medians, or why there is none.
pub(super) fn fit_points(name: &str, values: &[Param], points: &[Point]) -> Result<Fit, String> {
    if values.iter().any(|v| v.number.is_none()) {
        let shown: Vec<&str> = values.iter().take(4).map(|v| v.text.as_str()).collect();
        return Err(format!(
            "the values of {name} are not all numbers ({}{}), so no line can be fitted",
            shown.join(", "),
            if values.len() > 4 { ", …" } else { "" }
        ));
    }
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.value.number?, p.median_max_total_rss_kib? as f64)))
        .collect();
    fit::least_squares(&xy).ok_or_else(|| match xy.len() {
        0 => format!("no value of {name} was measured successfully, so no line can be fitted"),
        _ => {
            format!("only one value of {name} was measured successfully: a line needs two or more")
        }
    })
}

/// What the sweep concludes from its points: the fit (or why none), the forecasts at
/// `predict`, and every warning (failed runs first).
pub(super) fn conclude(
    name: &str,
    values: &[Param],
    points: &[Point],
    predict: &[f64],
) -> (Result<Fit, String>, Vec<Prediction>, Vec<String>) {
    let mut warnings = failure_warnings(name, points);
    let fit = fit_points(name, values, points);
    let mut predictions = Vec::new();
    match &fit {
        Ok(f) => {
            let measured: Vec<f64> = points
                .iter()
                .filter(|p| p.median_max_total_rss_kib.is_some())
                .filter_map(|p| p.value.number)
                .collect();
            predictions = predict
                .iter()
                .map(|&x| fit::forecast(f, &measured, x))
                .collect();
            warnings.extend(fit::warnings(f, measured.len(), &predictions, name));
        }
        Err(why) if !predict.is_empty() => warnings.push(format!("no forecast: {why}")),
        Err(_) => {}
    }
    (fit, predictions, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::figures::by_name;

    fn param(v: f64) -> Param {
        Param {
            text: fit::number(v),
            number: Some(v),
        }
    }

    fn measured(value: usize, run: u32, kib: u64, exit: i32) -> Measured {
        let mut figures = Values::unknown();
        figures.set(by_name("total").unwrap(), Some(kib as f64));
        figures.set(by_name("duration").unwrap(), Some(0.5));
        Measured {
            value,
            run: SweepRun {
                run,
                report: format!("n={value}.run{run}.json"),
                max_total_rss_kib: Some(kib),
                max_process_rss_kib: Some(kib),
                duration_seconds: 0.5,
                exit_code: Some(exit),
                signal: None,
                interrupted: false,
                failed: exit != 0,
            },
            figures,
        }
    }

    #[test]
    fn statistics_leave_failed_runs_out() {
        let values = [param(1.0), param(2.0), param(4.0)];
        let runs = [
            measured(0, 1, 100, 0),
            measured(0, 2, 120, 0),
            measured(0, 3, 110, 0),
            measured(1, 1, 5, 3),
            measured(1, 2, 200, 0),
            measured(2, 1, 7, 1),
        ];
        let pts = points(&values, &runs);
        assert_eq!(pts.len(), 3);
        assert_eq!(
            (
                pts[0].median_max_total_rss_kib,
                pts[0].min_max_total_rss_kib,
                pts[0].max_max_total_rss_kib
            ),
            (Some(110), Some(100), Some(120))
        );
        assert_eq!(pts[1].failed_runs, 1);
        assert_eq!(
            pts[1].median_max_total_rss_kib,
            Some(200),
            "the failed 5 KiB is out"
        );
        assert_eq!(pts[2].median_max_total_rss_kib, None);
        assert_eq!(pts[2].runs.len(), 1);
        let w = failure_warnings("n", &pts);
        assert_eq!(
            w,
            [
                "n=2: 1 of 2 runs failed (run 1 exited with status 3); left out of its statistics and the fit",
                "n=4: no run succeeded (run 1 exited with status 1); the value is left out of the fit",
            ]
        );
        let (fit, _, warnings) = conclude("n", &values, &pts, &[]);
        let fit = fit.unwrap();
        assert_eq!(fit.points, 2);
        assert!((fit.slope_kib_per_unit - 90.0).abs() < 1e-9);
        assert!(warnings.iter().any(|w| w.starts_with("only 2 values of n")));
    }

    #[test]
    fn no_fit_for_text_or_too_few_values() {
        let text = [
            Param {
                text: "glibc".into(),
                number: None,
            },
            Param {
                text: "jemalloc".into(),
                number: None,
            },
        ];
        let pts = points(&text, &[measured(0, 1, 1, 0), measured(1, 1, 2, 0)]);
        let (fit, preds, w) = conclude("alloc", &text, &pts, &[]);
        assert_eq!(
            fit.unwrap_err(),
            "the values of alloc are not all numbers (glibc, jemalloc), so no line can be fitted"
        );
        assert!(preds.is_empty() && w.is_empty());
        let one = [param(1.0), param(2.0)];
        let pts = points(&one, &[measured(0, 1, 1, 0)]);
        let (fit, _, w) = conclude("n", &one, &pts, &[8.0]);
        assert!(fit.unwrap_err().starts_with("only one value of n"));
        assert!(
            w[0].starts_with("no forecast: only one value of n"),
            "{w:?}"
        );
        let (fit, _, _) = conclude("n", &one, &[], &[]);
        assert!(fit.unwrap_err().starts_with("no value of n was measured"));
    }
}
