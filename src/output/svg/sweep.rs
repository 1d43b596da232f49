//! A sweep as a picture (`memwatch plot SWEEP.json`): each value's median max total RSS
//! against the parameter, a bar from the smallest to the largest of its successful runs,
//! the line fitted through the medians (solid over the measured values, dashed orange
//! where it extrapolates), the forecasts as orange rings, values with failed runs marked
//! with a red cross. Text values are spaced evenly, without a line.

use std::fmt::Write as _;

use super::axis::{decimals, nice_step};
use super::text::{Box2, n, place_label, text};
use super::{BOTTOM, COLORS, LEFT, PLOT_H, PLOT_W, ROW, TOP, header, memory_axis};
use crate::model::sweep::Sweep;
use crate::output::units::{self, iec};

const BLUE: &str = COLORS[0];
const RED: &str = COLORS[1];
const ORANGE: &str = COLORS[3];
/// Room between the plot's edges and the first and last values, px.
const INSET: f64 = 16.0;
/// Points closer than this across are not labelled one by one, px.
const LABEL_ROOM: f64 = 64.0;

/// Where values go across: a numeric scale, or evenly spaced text values.
struct Across {
    lo: f64,
    hi: f64,
    /// Ticks: position in data units and label.
    ticks: Vec<(f64, String)>,
}

impl Across {
    /// The scale for numeric `xs` (forecasts included): from 0 when the values are near
    /// it, to a round number past the largest.
    fn numeric(xs: &[f64]) -> Across {
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let from_zero = min >= 0.0 && min <= max / 2.0;
        let low = if from_zero { 0.0 } else { min };
        let step = nice_step((max - low).max(1e-9), 8);
        let lo = (low / step).floor() * step;
        let hi = ((max / step).ceil() * step).max(lo + step);
        let d = decimals(step);
        let count = ((hi - lo) / step + 1e-6).floor() as u64;
        let ticks = (0..=count)
            .map(|i| {
                let v = lo + i as f64 * step;
                (v, format!("{v:.d$}"))
            })
            .collect();
        Across { lo, hi, ticks }
    }

    /// Text values at 1, 2, … `labels.len()`.
    fn text(labels: &[&str]) -> Across {
        Across {
            lo: 0.5,
            hi: labels.len() as f64 + 0.5,
            ticks: labels
                .iter()
                .enumerate()
                .map(|(i, l)| ((i + 1) as f64, units::short_command(l, 14)))
                .collect(),
        }
    }

    fn px(&self, v: f64) -> f64 {
        let f = ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        LEFT + INSET + f * (PLOT_W - 2.0 * INSET)
    }
}

/// The position across of each point, and the scale.
fn across(s: &Sweep) -> (Across, Vec<f64>) {
    let numbers: Option<Vec<f64>> = s.points.iter().map(|p| p.value.number).collect();
    match numbers.filter(|xs| !xs.is_empty()) {
        Some(xs) => {
            let mut all = xs.clone();
            all.extend(s.predictions.iter().map(|p| p.value));
            (Across::numeric(&all), xs)
        }
        None => {
            let labels: Vec<&str> = s.points.iter().map(|p| p.value.text.as_str()).collect();
            let xs = (1..=labels.len()).map(|i| i as f64).collect();
            (Across::text(&labels), xs)
        }
    }
}

/// The largest KiB drawn: bars, forecasts and the line at the right edge.
fn top_kib(s: &Sweep, x: &Across) -> u64 {
    let bars = s.points.iter().filter_map(|p| p.max_max_total_rss_kib);
    let forecasts = s.predictions.iter().filter_map(|p| p.max_total_rss_kib);
    let line_end = s
        .fit
        .map(|f| (f.intercept_kib + f.slope_kib_per_unit * x.hi).max(0.0) as u64);
    bars.chain(forecasts).chain(line_end).max().unwrap_or(0)
}

/// Render `s` as one SVG document.
pub(crate) fn svg(s: &Sweep, title: Option<&str>) -> String {
    let (x, xs) = across(s);
    let y = memory_axis(top_kib(s, &x));
    let py = |kib: f64| BOTTOM - y.frac(kib) * PLOT_H;
    let legend = legend_rows(s);
    let height = (BOTTOM + 62.0 + legend.len() as f64 * ROW + 8.0).ceil();
    let mut out = String::new();
    let title = title.map_or_else(|| s.command.join(" "), str::to_string);
    header(&mut out, &title, &subtitle(s), height);
    grid(&mut out, &x, &y, &s.parameter);
    line(&mut out, s, &x, &py, &xs);
    let mut placed: Vec<Box2> = Vec::new();
    points(&mut out, s, &x, &py, &xs, &mut placed);
    forecasts(&mut out, s, &x, &py, &mut placed);
    let mut row_y = BOTTOM + 62.0;
    for (m, words) in legend {
        let _ = writeln!(out, "{}", mark(m, LEFT + 12.0, row_y - 4.0));
        text(&mut out, LEFT + 32.0, row_y, r##"fill="#333""##, &words);
        row_y += ROW;
    }
    let _ = writeln!(out, "</svg>");
    out
}

fn subtitle(s: &Sweep) -> String {
    let mut parts = vec![format!(
        "Max total RSS against {}: median of {} run{} per value, bars from min to max",
        s.parameter,
        s.runs_per_value,
        if s.runs_per_value == 1 { "" } else { "s" }
    )];
    if s.interrupted {
        parts.push("interrupted".to_string());
    }
    parts.join(" · ")
}

/// The grid, ticks, axis titles and axes.
fn grid(out: &mut String, x: &Across, y: &super::Axis, name: &str) {
    let _ = writeln!(out, r##"<g stroke="#e4e4e4" stroke-width="1">"##);
    for (v, _) in &y.ticks {
        let yy = n(BOTTOM - v / y.top * PLOT_H);
        let (l, r) = (n(LEFT), n(LEFT + PLOT_W));
        let _ = writeln!(out, r#"<line x1="{l}" y1="{yy}" x2="{r}" y2="{yy}"/>"#);
    }
    for (v, _) in &x.ticks {
        let xx = n(x.px(*v));
        let (t, b) = (n(TOP), n(BOTTOM));
        let _ = writeln!(out, r#"<line x1="{xx}" y1="{t}" x2="{xx}" y2="{b}"/>"#);
    }
    let _ = writeln!(out, "</g>");
    let _ = writeln!(out, r##"<g fill="#444">"##);
    for (v, label) in &y.ticks {
        let yy = BOTTOM - v / y.top * PLOT_H;
        text(out, LEFT - 8.0, yy + 4.0, r#"text-anchor="end""#, label);
    }
    for (v, label) in &x.ticks {
        text(
            out,
            x.px(*v),
            BOTTOM + 18.0,
            r#"text-anchor="middle""#,
            label,
        );
    }
    let middle = LEFT + PLOT_W / 2.0;
    text(out, middle, BOTTOM + 38.0, r#"text-anchor="middle""#, name);
    text(out, 8.0, TOP - 16.0, "", "max total RSS");
    let _ = writeln!(out, "</g>");
    let _ = writeln!(
        out,
        r##"<path d="M{l} {t} V{b} H{r}" fill="none" stroke="#333" stroke-width="1"/>"##,
        l = n(LEFT),
        t = n(TOP),
        b = n(BOTTOM),
        r = n(LEFT + PLOT_W)
    );
}

/// The fitted line: solid red over the measured values, dashed orange beyond them (to the
/// forecasts), never below 0.
fn line(out: &mut String, s: &Sweep, x: &Across, py: &dyn Fn(f64) -> f64, xs: &[f64]) {
    let Some(f) = s.fit else {
        return;
    };
    let at = |v: f64| f.intercept_kib + f.slope_kib_per_unit * v;
    // Where the line is at or above 0 within [a, b], if anywhere.
    let clip = |a: f64, b: f64| -> Option<(f64, f64)> {
        let zero = (f.slope_kib_per_unit != 0.0).then(|| -f.intercept_kib / f.slope_kib_per_unit);
        match (at(a) >= 0.0, at(b) >= 0.0) {
            (true, true) => Some((a, b)),
            (false, true) => Some((zero.unwrap_or(a), b)),
            (true, false) => Some((a, zero.unwrap_or(b))),
            (false, false) => None,
        }
    };
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let segment = |out: &mut String, a: f64, b: f64, attrs: &str| {
        if let Some((a, b)) = clip(a, b).filter(|(a, b)| b > a) {
            let _ = writeln!(
                out,
                r#"<path d="M{} {} L{} {}" fill="none" {attrs}/>"#,
                n(x.px(a)),
                n(py(at(a))),
                n(x.px(b)),
                n(py(at(b)))
            );
        }
    };
    let extra = format!(r#"stroke="{ORANGE}" stroke-width="2.5" stroke-dasharray="7 5""#);
    segment(out, x.lo, lo, &extra);
    segment(out, hi, x.hi, &extra);
    segment(
        out,
        lo,
        hi,
        &format!(r#"stroke="{RED}" stroke-width="2.5""#),
    );
}

/// Each value: its bar, its median, a cross when runs failed, and its label.
fn points(
    out: &mut String,
    s: &Sweep,
    x: &Across,
    py: &dyn Fn(f64) -> f64,
    xs: &[f64],
    placed: &mut Vec<Box2>,
) {
    let mut across: Vec<f64> = xs.iter().map(|&v| x.px(v)).collect();
    across.sort_by(f64::total_cmp);
    let roomy = across.windows(2).all(|w| w[1] - w[0] >= LABEL_ROOM);
    for (p, &v) in s.points.iter().zip(xs) {
        let cx = x.px(v);
        if let (Some(lo), Some(hi)) = (p.min_max_total_rss_kib, p.max_max_total_rss_kib) {
            let (y0, y1) = (n(py(lo as f64)), n(py(hi as f64)));
            let (l, r, c) = (n(cx - 5.0), n(cx + 5.0), n(cx));
            let _ = writeln!(
                out,
                r#"<path d="M{c} {y0} V{y1} M{l} {y0} H{r} M{l} {y1} H{r}" stroke="{BLUE}" stroke-width="2" fill="none"/>"#
            );
        }
        let median = p.median_max_total_rss_kib;
        if let Some(kib) = median {
            let _ = writeln!(
                out,
                r##"<circle cx="{}" cy="{}" r="5.5" fill="{BLUE}" stroke="#ffffff" stroke-width="1.5"/>"##,
                n(cx),
                n(py(kib as f64))
            );
        }
        if p.failed_runs > 0 {
            let cy = median.map_or(BOTTOM - 10.0, |k| py(k as f64) - 14.0);
            let _ = writeln!(out, "{}", cross(cx, cy));
        }
        if roomy {
            let label = match median {
                Some(kib) => iec(kib),
                None => format!("{} failed", p.failed_runs),
            };
            let cy = median.map_or(BOTTOM - 10.0, |k| py(k as f64));
            let (lx, ly, anchor) = place_label(cx, cy, &label, placed);
            text(
                out,
                lx,
                ly,
                &format!(
                    r##"text-anchor="{anchor}" fill="#222" stroke="#ffffff" stroke-width="3" paint-order="stroke""##
                ),
                &label,
            );
        }
    }
}

/// Each forecast: an orange ring on the line, labelled `n=64: ≈ 1.0 GiB (forecast)`.
fn forecasts(
    out: &mut String,
    s: &Sweep,
    x: &Across,
    py: &dyn Fn(f64) -> f64,
    placed: &mut Vec<Box2>,
) {
    for p in &s.predictions {
        let Some(kib) = p.max_total_rss_kib else {
            continue;
        };
        let (cx, cy) = (x.px(p.value), py(kib as f64));
        let _ = writeln!(
            out,
            r##"<circle cx="{}" cy="{}" r="7" fill="#ffffff" stroke="{ORANGE}" stroke-width="3.5"/>"##,
            n(cx),
            n(cy)
        );
        let label = format!(
            "{}={}: ≈ {} (forecast)",
            s.parameter,
            units::trim_float(p.value),
            iec(kib)
        );
        let (lx, ly, anchor) = place_label(cx, cy, &label, placed);
        text(
            out,
            lx,
            ly,
            &format!(
                r##"text-anchor="{anchor}" font-weight="bold" fill="#a14d00" stroke="#ffffff" stroke-width="3" paint-order="stroke""##
            ),
            &label,
        );
    }
}

/// The mark of a legend row.
#[derive(Clone, Copy)]
enum Mark {
    /// A median.
    Dot,
    /// A line of this colour, dashed or not.
    Line(&'static str, bool),
    /// A forecast.
    Ring,
    /// Failed runs.
    Cross,
}

/// The mark, centred at (x, y).
fn mark(m: Mark, x: f64, y: f64) -> String {
    let (cx, cy) = (n(x), n(y));
    match m {
        Mark::Dot => format!(r#"<circle cx="{cx}" cy="{cy}" r="5.5" fill="{BLUE}"/>"#),
        Mark::Ring => format!(
            r##"<circle cx="{cx}" cy="{cy}" r="6" fill="#ffffff" stroke="{ORANGE}" stroke-width="3"/>"##
        ),
        Mark::Line(color, dashed) => format!(
            r#"<path d="M{} {cy} H{}" stroke="{color}" stroke-width="2.5"{}/>"#,
            n(x - 10.0),
            n(x + 10.0),
            if dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            }
        ),
        Mark::Cross => cross(x, y),
    }
}

/// A red cross centred at (x, y).
fn cross(x: f64, y: f64) -> String {
    let (a, b, c, d) = (n(x - 5.0), n(y - 5.0), n(x + 5.0), n(y + 5.0));
    format!(r#"<path d="M{a} {b} L{c} {d} M{a} {d} L{c} {b}" stroke="{RED}" stroke-width="2.5"/>"#)
}

/// The legend: what each mark is, the line's equation, why there is none.
fn legend_rows(s: &Sweep) -> Vec<(Mark, String)> {
    let mut rows = vec![(
        Mark::Dot,
        format!(
            "median max total RSS of each value's successful runs; bar: their min to max ({} runs per value)",
            s.runs_per_value
        ),
    )];
    match (&s.fit, &s.no_fit_reason) {
        (Some(f), _) => {
            rows.push((
                Mark::Line(RED, false),
                format!(
                    "least-squares line: {} + {} per unit of {} (R² {:.4})",
                    units::iec_signed(f.intercept_kib),
                    units::iec_signed(f.slope_kib_per_unit),
                    s.parameter,
                    f.r_squared
                ),
            ));
            rows.push(if s.predictions.is_empty() {
                (
                    Mark::Line(ORANGE, true),
                    "the line beyond the measured values".to_string(),
                )
            } else {
                (
                    Mark::Ring,
                    "forecast from the line; dashed: the line beyond the measured values"
                        .to_string(),
                )
            });
        }
        (None, Some(why)) => rows.push((Mark::Line("#999999", true), format!("no line: {why}"))),
        (None, None) => {}
    }
    if s.points.iter().any(|p| p.failed_runs > 0) {
        rows.push((
            Mark::Cross,
            "runs failed at this value: left out of its median and of the line".to_string(),
        ));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A sweep of `values` with these medians (KiB), a fit and forecasts when numeric.
    pub(crate) fn sweep(
        values: serde_json::Value,
        medians: &[Option<u64>],
        numeric: bool,
    ) -> Sweep {
        let points: Vec<serde_json::Value> = values
            .as_array()
            .unwrap()
            .iter()
            .zip(medians)
            .map(|(v, m)| {
                json!({
                    "value": v, "runs": [], "failed_runs": u32::from(m.is_none()),
                    "median_max_total_rss_kib": m, "min_max_total_rss_kib": m.map(|m| m - 100),
                    "max_max_total_rss_kib": m.map(|m| m + 100), "medians": {"max_total_rss_kib": m},
                })
            })
            .collect();
        let v = json!({
            "sweep_version": 1, "memwatch_version": "0.1.0", "hostname": "h", "os": "linux",
            "parameter": "n", "values": values, "command": ["app", "-n", "{n}"],
            "runs_per_value": 3, "interval_ms": 10, "metric": "rss", "directory": "d",
            "start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T00:01:00Z",
            "points": points,
            "fit": if numeric { json!({"intercept_kib": -2048.0, "slope_kib_per_unit": 10240.0, "r_squared": 0.998, "points": 3}) } else { json!(null) },
            "no_fit_reason": if numeric { json!(null) } else { json!("the values of n are not all numbers") },
            "predictions": if numeric { json!([{"value": 64.0, "max_total_rss_kib": 653312, "times_largest": 16.0, "extrapolated": true}]) } else { json!([]) },
            "complete": true, "interrupted": false, "interrupt_signal": null, "warnings": [], "exit_code": 0,
        });
        Sweep::from_json(&v).unwrap()
    }

    fn texts(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn a_numeric_sweep_has_its_line_forecasts_and_failures() {
        let s = sweep(json!([1, 2, 4]), &[Some(8192), None, Some(38912)], true);
        let svg = svg(&s, None);
        let t = texts(&svg);
        assert!(t.contains(&"app -n {n}".to_string()), "{t:?}");
        assert!(
            t.contains(&"n=64: ≈ 638.0 MiB (forecast)".to_string()),
            "{t:?}"
        );
        assert!(
            t.contains(
                &"least-squares line: -2.0 MiB + 10.0 MiB per unit of n (R² 0.9980)".to_string()
            ),
            "{t:?}"
        );
        assert!(
            t.iter().any(|l| l.starts_with("runs failed at this value")),
            "{t:?}"
        );
        assert!(
            svg.contains(r#"stroke-dasharray="7 5""#),
            "the extrapolated line"
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        // The axis reaches the forecast and starts at 0.
        assert!(
            t.contains(&"0".to_string()) && t.contains(&"70".to_string()),
            "{t:?}"
        );
    }

    #[test]
    fn text_values_are_spaced_evenly_without_a_line() {
        let s = sweep(
            json!(["glibc", "jemalloc"]),
            &[Some(1000), Some(2000)],
            false,
        );
        let svg = svg(&s, Some("allocators"));
        let t = texts(&svg);
        assert!(t.contains(&"glibc".to_string()) && t.contains(&"jemalloc".to_string()));
        assert!(t.contains(&"allocators".to_string()));
        assert!(t.iter().any(|l| l.starts_with("no line: ")), "{t:?}");
        assert!(!svg.contains(RED), "no line, no failure");
    }

    #[test]
    fn one_value_and_nothing_measured_still_draw() {
        for s in [
            sweep(json!([4]), &[Some(4096)], false),
            sweep(json!([4]), &[None], false),
            sweep(json!([]), &[], false),
        ] {
            let svg = svg(&s, None);
            texts(&svg);
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }
}
