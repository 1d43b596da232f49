//! The line through a sweep's medians and what it forecasts, pure arithmetic: a
//! least-squares fit `a + b·x` with its R², forecasts with how far they reach beyond the
//! measured values, and the warnings a fit or a forecast calls for.

use crate::model::sweep::{Fit, Prediction};

/// Below this R², the line is said to fit poorly.
pub(crate) const POOR_FIT: f64 = 0.9;
/// Fewer distinct values than this, and a good R² proves little.
pub(crate) const FEW_VALUES: usize = 3;
/// A forecast more than this many times the largest measured value is called far.
pub(crate) const FAR: f64 = 4.0;

/// The least-squares line through `points` (x, y); `None` with fewer than two distinct x.
/// R² is 1 when every point is on the line (all y equal included).
pub(crate) fn least_squares(points: &[(f64, f64)]) -> Option<Fit> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    // Centred sums: no cancellation between large sums of squares.
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if points.len() < 2 || sxx.is_nan() || sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let ss_res: f64 = points
        .iter()
        .map(|p| (p.1 - (intercept + slope * p.0)).powi(2))
        .sum();
    let ss_tot: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let r_squared = if ss_tot > 0.0 {
        (1.0 - ss_res / ss_tot).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Some(Fit {
        intercept_kib: intercept,
        slope_kib_per_unit: slope,
        r_squared,
        points: points.len(),
    })
}

/// The forecast of `fit` at `x`, given the measured values `measured` (not empty).
pub(crate) fn forecast(fit: &Fit, measured: &[f64], x: f64) -> Prediction {
    let largest = measured.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let smallest = measured.iter().copied().fold(f64::INFINITY, f64::min);
    let kib = fit.intercept_kib + fit.slope_kib_per_unit * x;
    Prediction {
        value: x,
        max_total_rss_kib: (kib >= 0.0).then(|| kib.round() as u64),
        times_largest: (largest > 0.0).then(|| x / largest),
        extrapolated: x > largest || x < smallest,
    }
}

/// `64`, `0.5`: a value as a sentence writes it.
pub(crate) fn number(v: f64) -> String {
    crate::output::units::trim_float(v)
}

/// What to keep in mind about a fit through `distinct` values of `name` and its forecasts.
pub(crate) fn warnings(
    fit: &Fit,
    distinct: usize,
    predictions: &[Prediction],
    name: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    if distinct < FEW_VALUES {
        out.push(format!(
            "only {distinct} values of {name} were measured: a line through two points always \
             fits, so R² says nothing; measure {FEW_VALUES} or more"
        ));
    } else if fit.r_squared < POOR_FIT {
        out.push(format!(
            "the line fits the medians poorly (R² {:.3}, below {POOR_FIT}): the peak does not \
             grow in a straight line with {name}, so its forecasts are unreliable",
            fit.r_squared
        ));
    }
    for p in predictions {
        let at = format!("{name}={}", number(p.value));
        if p.max_total_rss_kib.is_none() {
            out.push(format!(
                "the line gives less than 0 at {at}: no forecast there"
            ));
        }
        if let Some(t) = p.times_largest.filter(|&t| t > FAR) {
            out.push(format!(
                "the forecast at {at} is {}× the largest measured value: that far out it holds \
                 only if the peak keeps growing in a straight line",
                number((t * 10.0).round() / 10.0)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn a_line_through_known_points() {
        let f = least_squares(&[(1.0, 30.0), (2.0, 50.0), (4.0, 90.0), (8.0, 170.0)]).unwrap();
        assert!(close(f.slope_kib_per_unit, 20.0, 1e-12));
        assert!(close(f.intercept_kib, 10.0, 1e-12));
        assert_eq!(f.r_squared, 1.0);
        assert_eq!(f.points, 4);
        // Scattered points: the textbook values.
        let f = least_squares(&[(1.0, 1.0), (2.0, 3.0), (3.0, 2.0)]).unwrap();
        assert!(close(f.slope_kib_per_unit, 0.5, 1e-12));
        assert!(close(f.intercept_kib, 1.0, 1e-12));
        assert!(close(f.r_squared, 0.25, 1e-12));
        // Flat: every point on the line.
        let f = least_squares(&[(1.0, 5.0), (2.0, 5.0)]).unwrap();
        assert_eq!((f.slope_kib_per_unit, f.r_squared), (0.0, 1.0));
    }

    #[test]
    fn no_line_without_two_distinct_values() {
        assert!(least_squares(&[]).is_none());
        assert!(least_squares(&[(3.0, 1.0)]).is_none());
        assert!(least_squares(&[(3.0, 1.0), (3.0, 2.0)]).is_none());
    }

    #[test]
    fn forecasts_say_how_far_they_reach() {
        let f = least_squares(&[(1.0, 30.0), (2.0, 50.0), (4.0, 90.0), (8.0, 170.0)]).unwrap();
        let measured = [1.0, 2.0, 4.0, 8.0];
        let p = forecast(&f, &measured, 64.0);
        assert_eq!(p.max_total_rss_kib, Some(1290));
        assert_eq!(p.times_largest, Some(8.0));
        assert!(p.extrapolated);
        let p = forecast(&f, &measured, 3.0);
        assert!(!p.extrapolated);
        assert_eq!(forecast(&f, &measured, -1.0).max_total_rss_kib, None);
        let w = warnings(
            &f,
            4,
            &[forecast(&f, &measured, 64.0), forecast(&f, &measured, 32.0)],
            "n",
        );
        assert_eq!(
            w,
            [
                "the forecast at n=64 is 8× the largest measured value: that far out it holds only if \
              the peak keeps growing in a straight line"
            ]
        );
        let w = warnings(&f, 4, &[forecast(&f, &measured, -1.0)], "n");
        assert_eq!(w, ["the line gives less than 0 at n=-1: no forecast there"]);
    }

    #[test]
    fn poor_fits_and_few_values_are_warned_of() {
        let poor = least_squares(&[(1.0, 1.0), (2.0, 3.0), (3.0, 2.0)]).unwrap();
        let w = warnings(&poor, 3, &[], "n");
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("the line fits the medians poorly (R² 0.250, below 0.9)"));
        let two = least_squares(&[(1.0, 1.0), (2.0, 3.0)]).unwrap();
        let w = warnings(&two, 2, &[], "ranks");
        assert!(
            w[0].starts_with("only 2 values of ranks were measured"),
            "{w:?}"
        );
    }

    proptest! {
        #[test]
        fn exact_points_on_a_line_are_recovered(
            a in -1.0e7f64..1.0e7,
            b in -1.0e6f64..1.0e6,
            mut xs in prop::collection::btree_set(-1000i32..1000, 2..20),
        ) {
            let pts: Vec<(f64, f64)> = std::mem::take(&mut xs)
                .into_iter()
                .map(|x| (f64::from(x), a + b * f64::from(x)))
                .collect();
            let f = least_squares(&pts).unwrap();
            prop_assert!(close(f.slope_kib_per_unit, b, 1e-9), "{f:?}");
            prop_assert!((f.intercept_kib - a).abs() <= 1e-9 * (1.0 + a.abs() + 1000.0 * b.abs()), "{f:?}");
            prop_assert!(f.r_squared > 1.0 - 1e-9 || b.abs() < 1e-3, "{f:?}");
        }

        #[test]
        fn a_constant_added_to_every_y_moves_only_the_intercept(
            pts in prop::collection::vec((-1000.0f64..1000.0, 0.0f64..1.0e6), 2..30),
            c in -1.0e6f64..1.0e6,
        ) {
            let Some(f) = least_squares(&pts) else {
                return Ok(());
            };
            let shifted: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (x, y + c)).collect();
            let g = least_squares(&shifted).unwrap();
            let scale = 1.0e6 + c.abs();
            prop_assert!((g.slope_kib_per_unit - f.slope_kib_per_unit).abs() <= 1e-6 * scale, "{f:?} {g:?}");
            prop_assert!((g.intercept_kib - (f.intercept_kib + c)).abs() <= 1e-4 * scale, "{f:?} {g:?}");
            prop_assert!((g.r_squared - f.r_squared).abs() <= 1e-6, "{f:?} {g:?}");
            prop_assert!((0.0..=1.0).contains(&g.r_squared));
        }
    }
}
