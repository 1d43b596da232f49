//! Reports' total RSS over time as a self-contained SVG (what `memwatch plot` and
//! `memwatch run --plot` write).
//!
//! The picture has no script, no external font or image and no style sheet: it shows the
//! same in a browser, an image viewer and a README. One report: its total RSS over time
//! (the report's bounded, max-preserving timeline) with the area below it filled, the peak
//! marked with its value, and the processes with the largest peaks listed below; or, when
//! the report splits its total by program, stacked areas by program ([`stack`]). Several:
//! one line each in distinct colours, each peak marked, and a legend. The memory limit in
//! force, when the reports know it, is a dashed line at its height (or named above the
//! chart when it is far above the data). A sweep is drawn by [`sweep`]: its peaks against
//! the parameter.

mod axis;
mod limit;
mod stack;
pub(crate) mod sweep;
mod text;

use std::fmt::Write as _;
use std::io::{self, Write};

pub(crate) use axis::{Axis, memory_axis, time_axis};
pub(crate) use text::escape;
use text::{Box2, n, place_label, text};

use crate::model::Report;
use crate::output::units::{self, iec};

/// Width of the picture, px.
pub(crate) const WIDTH: f64 = 960.0;
pub(super) const LEFT: f64 = 86.0;
const RIGHT: f64 = 32.0;
pub(super) const TOP: f64 = 84.0;
const PLOT_H: f64 = 330.0;
pub(super) const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
pub(super) const BOTTOM: f64 = TOP + PLOT_H;
const ROW: f64 = 19.0;
/// Processes listed under a single report's chart.
pub(crate) const TOP_PROCESSES: usize = 5;
/// Line colours, in order (colour-blind-friendly Tableau 10).
pub(crate) const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];
const FONT: &str = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif";
const MONO: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";
/// Average glyph width of the 12 px fonts, px (to place labels and cut text).
pub(super) const CHAR_W: f64 = 7.0;
/// Characters of the (16 px, bold) title that fit.
const TITLE_CHARS: usize = ((WIDTH - LEFT - 8.0) / 9.8) as usize;

/// Where things go: the axes of the chart and the scale from data to pixels.
struct Chart {
    x: Axis,
    y: Axis,
    /// One report, drawn with its area and top processes; else several, with a legend.
    single: bool,
    /// The largest total of the data.
    data_kib: u64,
}

impl Chart {
    fn of(reports: &[(String, &Report)]) -> Chart {
        let data_kib = reports
            .iter()
            .flat_map(|(_, r)| {
                r.timeline
                    .iter()
                    .map(|p| p.total_rss_kib)
                    .chain(r.max_total_rss_kib)
            })
            .max()
            .unwrap_or(0);
        // A limit within reach of the data is drawn, so the axis reaches it.
        let max_kib = limit::limits(reports)
            .iter()
            .map(|l| l.kib)
            .filter(|&kib| limit::in_reach(kib, data_kib))
            .fold(data_kib, u64::max);
        let max_ms = reports.iter().map(|(_, r)| end_ms(r)).max().unwrap_or(0);
        Chart {
            x: time_axis(max_ms),
            y: memory_axis(max_kib),
            single: reports.len() == 1,
            data_kib,
        }
    }

    fn px(&self, t_ms: u64) -> f64 {
        LEFT + self.x.frac(t_ms as f64) * PLOT_W
    }

    fn py(&self, kib: u64) -> f64 {
        BOTTOM - self.y.frac(kib as f64) * PLOT_H
    }
}

/// Where the rows below the chart start.
const FOOTER_TOP: f64 = BOTTOM + 62.0;

/// Rows below the chart: the top processes and the line saying how many more, or the
/// legend.
fn footer_rows(reports: &[(String, &Report)]) -> usize {
    let [(_, r)] = reports else {
        return reports.len();
    };
    let listed = r.processes.len().min(TOP_PROCESSES);
    let more = r.processes.len() > listed || r.processes_omitted > 0;
    if listed == 0 {
        0
    } else {
        1 + listed + usize::from(more)
    }
}

/// Render the reports (label, report) as one SVG document. One report is drawn with its
/// top processes; several are overlaid with a legend.
pub(crate) fn svg(reports: &[(String, &Report)], title: Option<&str>) -> String {
    let chart = Chart::of(reports);
    let height = (FOOTER_TOP + footer_rows(reports) as f64 * ROW + 8.0).ceil();
    let mut s = String::new();
    let title = title.map_or_else(|| default_title(reports), str::to_string);
    header(&mut s, &title, &subtitle(reports), height);
    grid(&mut s, &chart);
    for (i, (_, r)) in reports.iter().enumerate() {
        line(&mut s, &chart, r, COLORS[i % COLORS.len()]);
    }
    let mut placed: Vec<Box2> = Vec::new();
    limit::draw(
        &mut s,
        &chart,
        &limit::limits(reports),
        chart.data_kib,
        &mut placed,
    );
    peaks(&mut s, &chart, reports, &mut placed);
    if chart.single {
        top_processes(&mut s, reports[0].1);
    } else {
        legend(&mut s, reports);
    }
    let _ = writeln!(s, "</svg>");
    s
}

/// The document's start: the XML declaration, the `<svg>` element, the background, the
/// title and subtitle.
fn header(s: &mut String, title: &str, subtitle: &str, height: f64) {
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}" font-size="12">"#,
        w = n(WIDTH),
        h = n(height),
    );
    let _ = writeln!(
        s,
        "<title>{}</title>",
        escape(&format!("memwatch: {title}"))
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    text(
        s,
        LEFT,
        30.0,
        r##"font-size="16" font-weight="bold" fill="#222""##,
        &units::short_command(title, TITLE_CHARS),
    );
    text(
        s,
        LEFT,
        52.0,
        r##"fill="#555""##,
        &units::short_command(subtitle, 120),
    );
}

/// The grid, the ticks and their labels, the axis titles and the axes.
fn grid(s: &mut String, chart: &Chart) {
    let (x, y) = (&chart.x, &chart.y);
    let _ = writeln!(s, r##"<g stroke="#e4e4e4" stroke-width="1">"##);
    for (v, _) in &y.ticks {
        let yy = BOTTOM - v / y.top * PLOT_H;
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
            n(LEFT),
            n(yy),
            n(LEFT + PLOT_W),
            n(yy)
        );
    }
    for (v, _) in &x.ticks {
        let xx = LEFT + v / x.top * PLOT_W;
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
            n(xx),
            n(TOP),
            n(xx),
            n(BOTTOM)
        );
    }
    let _ = writeln!(s, "</g>");
    let _ = writeln!(s, r##"<g fill="#444">"##);
    for (v, label) in &y.ticks {
        let yy = BOTTOM - v / y.top * PLOT_H;
        text(s, LEFT - 8.0, yy + 4.0, r#"text-anchor="end""#, label);
    }
    for (v, label) in &x.ticks {
        let xx = LEFT + v / x.top * PLOT_W;
        text(s, xx, BOTTOM + 18.0, r#"text-anchor="middle""#, label);
    }
    let unit_name = match x.unit {
        "s" => "seconds",
        "min" => "minutes",
        _ => "hours",
    };
    text(
        s,
        LEFT + PLOT_W / 2.0,
        BOTTOM + 38.0,
        r#"text-anchor="middle""#,
        &format!("time since start ({unit_name})"),
    );
    text(
        s,
        LEFT - 8.0,
        TOP - 16.0,
        r#"text-anchor="end""#,
        "total RSS",
    );
    let _ = writeln!(s, "</g>");
    let _ = writeln!(
        s,
        r##"<path d="M{l} {t} V{b} H{r}" fill="none" stroke="#333" stroke-width="1"/>"##,
        l = n(LEFT),
        t = n(TOP),
        b = n(BOTTOM),
        r = n(LEFT + PLOT_W)
    );
}

/// One report's total over time, with the area below it filled when it is alone.
fn line(s: &mut String, chart: &Chart, r: &Report, color: &str) {
    if r.timeline.len() < 2 {
        return;
    }
    let mut d = String::new();
    for (j, p) in r.timeline.iter().enumerate() {
        let _ = write!(
            d,
            "{}{} {}",
            if j == 0 { "M" } else { " L" },
            n(chart.px(p.t_ms)),
            n(chart.py(p.total_rss_kib))
        );
    }
    if chart.single {
        let first = chart.px(r.timeline[0].t_ms);
        let last = chart.px(r.timeline[r.timeline.len() - 1].t_ms);
        let _ = writeln!(
            s,
            r#"<path d="{d} L{} {} L{} {} Z" fill="{color}" fill-opacity="0.15" stroke="none"/>"#,
            n(last),
            n(BOTTOM),
            n(first),
            n(BOTTOM)
        );
    }
    let _ = writeln!(
        s,
        r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>"#
    );
}

/// Each report's peak, marked and labelled where no other label is; a message when no
/// report has a sample.
fn peaks(s: &mut String, chart: &Chart, reports: &[(String, &Report)], placed: &mut Vec<Box2>) {
    for (i, (_, r)) in reports.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let Some((t, kib)) = peak(r) else {
            continue;
        };
        let (cx, cy) = (chart.px(t), chart.py(kib));
        let _ = writeln!(
            s,
            r##"<circle cx="{}" cy="{}" r="5" fill="{color}" stroke="#ffffff" stroke-width="1.5"/>"##,
            n(cx),
            n(cy)
        );
        let label = if chart.single {
            format!("peak {} at {}", iec(kib), ms_text(t))
        } else {
            iec(kib)
        };
        let (lx, ly, anchor) = place_label(cx, cy, &label, placed);
        let fill = if chart.single { "#222" } else { color };
        text(
            s,
            lx,
            ly,
            &format!(
                r##"text-anchor="{anchor}" font-weight="bold" fill="{fill}" stroke="#ffffff" stroke-width="3" paint-order="stroke""##
            ),
            &label,
        );
    }
    if reports
        .iter()
        .all(|(_, r)| r.timeline.is_empty() && peak(r).is_none())
    {
        text(
            s,
            LEFT + PLOT_W / 2.0,
            TOP + PLOT_H / 2.0,
            r##"text-anchor="middle" fill="#777" font-size="14""##,
            "no samples: the job ended before memwatch's first sample",
        );
    }
}

/// Below a single report's chart: its processes with the largest peaks.
fn top_processes(s: &mut String, r: &Report) {
    let listed = &r.processes[..r.processes.len().min(TOP_PROCESSES)];
    if listed.is_empty() {
        return;
    }
    let mut row_y = FOOTER_TOP;
    text(
        s,
        LEFT,
        row_y,
        r##"font-weight="bold" fill="#222""##,
        "Top processes by peak RSS",
    );
    row_y += ROW;
    let cmd_x = LEFT + 180.0;
    let cmd_chars = ((WIDTH - cmd_x - RIGHT) / CHAR_W) as usize;
    for p in listed {
        text(
            s,
            LEFT + 80.0,
            row_y,
            &format!(r##"text-anchor="end" font-family="{MONO}" fill="#222""##),
            &units::iec_or_unknown(p.max_rss_kib),
        );
        text(
            s,
            LEFT + 96.0,
            row_y,
            &format!(r##"font-family="{MONO}" fill="#777""##),
            &format!("pid {}", p.pid),
        );
        text(
            s,
            cmd_x,
            row_y,
            &format!(r##"font-family="{MONO}" fill="#222""##),
            &units::short_command(&p.command, cmd_chars),
        );
        row_y += ROW;
    }
    let more = (r.processes.len() - listed.len()) as u64 + r.processes_omitted;
    if more > 0 {
        text(
            s,
            LEFT + 96.0,
            row_y,
            r##"fill="#777""##,
            &format!(
                "… and {more} more process{}",
                if more == 1 { "" } else { "es" }
            ),
        );
    }
}

/// Below several reports' chart: one row per report, its colour, label, peak and command.
fn legend(s: &mut String, reports: &[(String, &Report)]) {
    let mut row_y = FOOTER_TOP;
    for (i, (label, r)) in reports.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let yy = row_y - 4.0;
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{color}" stroke-width="3"/>"#,
            n(LEFT),
            n(yy),
            n(LEFT + 24.0),
            n(yy)
        );
        let label = units::short_command(label, 40);
        let peak_text = match peak(r) {
            Some((t, kib)) => format!("peak {} at {}", iec(kib), ms_text(t)),
            None => "peak unknown".to_string(),
        };
        let used = label.chars().count() + peak_text.chars().count() + 6;
        let room = ((WIDTH - LEFT - 32.0 - RIGHT) / CHAR_W) as usize;
        let cmd = units::short_command(&r.command.join(" "), room.saturating_sub(used).max(10));
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}"><tspan font-weight="bold" fill="#222">{}</tspan><tspan dx="12" fill="#444">{}</tspan><tspan dx="12" fill="#888">{}</tspan></text>"##,
            n(LEFT + 32.0),
            n(row_y),
            escape(&label),
            escape(&peak_text),
            escape(&cmd)
        );
        row_y += ROW;
    }
}

/// The picture of the reports: one report that splits its total by program as stacked
/// areas by program, unless `total_only`; else the total of each ([`svg`]).
pub(crate) fn picture(
    reports: &[(String, &Report)],
    title: Option<&str>,
    total_only: bool,
) -> String {
    match reports {
        [(_, r)] if !total_only => stack::svg(r, title).unwrap_or_else(|| svg(reports, title)),
        _ => svg(reports, title),
    }
}

/// Write the reports (label, report) as one SVG: what `memwatch run --plot` writes. The
/// labels name the lines in the legend (several reports).
pub(crate) fn write(reports: &[(String, &Report)], out: &mut dyn Write) -> io::Result<()> {
    out.write_all(picture(reports, None, false).as_bytes())?;
    out.flush()
}

/// A report's peak: its time (ms) and total (KiB), from the report's figures, else from
/// its timeline.
fn peak(r: &Report) -> Option<(u64, u64)> {
    let from_timeline = r
        .timeline
        .iter()
        .rev()
        .max_by_key(|p| p.total_rss_kib)
        .map(|p| (p.t_ms, p.total_rss_kib));
    match (r.max_total_rss_kib, r.max_total_rss_ms) {
        (Some(kib), Some(ms)) => Some((ms, kib)),
        (Some(kib), None) => Some((from_timeline.map_or(0, |p| p.0), kib)),
        _ => from_timeline,
    }
}

fn end_ms(r: &Report) -> u64 {
    let d = (r.duration_seconds.max(0.0) * 1000.0).round() as u64;
    let last = r.timeline.last().map_or(0, |p| p.t_ms);
    let at_peak = r.max_total_rss_ms.unwrap_or(0);
    d.max(last).max(at_peak)
}

fn ms_text(ms: u64) -> String {
    units::millis(ms)
}

/// The title for these reports: the command of one; the common start of several's.
fn default_title(reports: &[(String, &Report)]) -> String {
    match reports {
        [] => "memwatch".to_string(),
        [(_, r)] => r.command.join(" "),
        _ => {
            let first = &reports[0].1.command;
            let common = (0..first.len())
                .take_while(|&i| {
                    reports
                        .iter()
                        .all(|(_, r)| r.command.get(i) == first.get(i))
                })
                .count();
            if common == 0 {
                format!("{} runs", reports.len())
            } else {
                format!("{} … ({} runs)", first[..common].join(" "), reports.len())
            }
        }
    }
}

fn subtitle(reports: &[(String, &Report)]) -> String {
    let [(_, r)] = reports else {
        return format!("Total RSS over time of {} runs", reports.len());
    };
    let mut parts = vec!["Total RSS over time".to_string()];
    match r.max_total_rss_kib {
        Some(kib) => {
            let n = r.processes_at_peak;
            let at = r
                .max_total_rss_ms
                .map_or(String::new(), |ms| format!(" at {}", ms_text(ms)));
            parts.push(format!(
                "peak {}{at} across {n} process{}",
                iec(kib),
                if n == 1 { "" } else { "es" }
            ));
        }
        None => parts.push("peak unknown: the job ended before the first sample".to_string()),
    }
    parts.push(format!("{} in all", units::seconds(r.duration_seconds)));
    parts.push(format!("{} samples every {} ms", r.samples, r.interval_ms));
    parts.join(" · ")
}

#[cfg(test)]
pub(crate) mod tests;
