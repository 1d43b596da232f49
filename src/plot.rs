//! `memwatch plot`: total RSS over time as a self-contained SVG.
//!
//! The picture has no script, no external font or image and no style sheet: it shows the
//! same in a browser, an image viewer and a README. One report: its total RSS over time
//! (the report's bounded, max-preserving timeline) with the area below it filled, the peak
//! marked with its value, and the processes with the largest peaks listed below. Several:
//! one line each in distinct colours, each peak marked, and a legend.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::{EXIT_BAD_INPUT, Error};
use crate::output::human::{self, iec, iec_unit};
use crate::report::Report;

/// `memwatch plot`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  memwatch plot mem.json -o mem.svg
  memwatch plot n1.json n2.json n4.json --label 1 --label 2 --label 4 -o scaling.svg")]
pub struct PlotArgs {
    /// Reports (JSON, from `memwatch run --json`); several are drawn over each other.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// Write the SVG to this file (atomically) instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Name the reports in the legend, in order, one per report. By default: the part of
    /// the command lines that differs (falling back to the file names).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,

    /// The title (by default the command).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
}

/// Width of the picture, px.
pub const WIDTH: f64 = 960.0;
const LEFT: f64 = 86.0;
const RIGHT: f64 = 32.0;
const TOP: f64 = 84.0;
const PLOT_H: f64 = 330.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const BOTTOM: f64 = TOP + PLOT_H;
const ROW: f64 = 19.0;
/// Processes listed under a single report's chart.
pub const TOP_PROCESSES: usize = 5;
/// Line colours, in order (colour-blind-friendly Tableau 10).
pub const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];
const FONT: &str = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif";
const MONO: &str = "DejaVu Sans Mono, Menlo, Consolas, monospace";
/// Average glyph width of the 12 px fonts, px (to place labels and cut text).
const CHAR_W: f64 = 7.0;
/// Characters of the (16 px, bold) title that fit.
const TITLE_CHARS: usize = ((WIDTH - LEFT - 8.0) / 9.8) as usize;

/// Escape text for XML character data and attribute values. Characters XML 1.0 does not
/// allow (most control characters) become U+FFFD; tabs and newlines become spaces.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c < ' '
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || c == '\u{fffe}'
                || c == '\u{ffff}' =>
            {
                out.push('\u{fffd}');
            }
            c => out.push(c),
        }
    }
    out
}

/// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about `target` steps
/// over `range`.
pub fn nice_step(range: f64, target: usize) -> f64 {
    if !(range.is_finite() && range > 0.0) {
        return 1.0;
    }
    let raw = range / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let k = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&k| norm <= k * (1.0 + 1e-9))
        .unwrap_or(10.0);
    k * mag
}

/// Decimals needed to write multiples of `step` exactly (0 to 3).
fn decimals(step: f64) -> usize {
    (0..3)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(3)
}

/// An axis from 0: its top (in the unit) and the ticks, as (value in the unit, label).
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Data units per axis unit (KiB per MiB, seconds per minute).
    pub per_unit: f64,
    /// The unit ("MiB", "s").
    pub unit: &'static str,
    /// Top of the axis, in the unit.
    pub top: f64,
    /// Ticks: value in the unit and its label.
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// Position of a data value between 0 (bottom/left) and 1.
    fn frac(&self, data: f64) -> f64 {
        (data / self.per_unit / self.top).clamp(0.0, 1.0)
    }
}

/// The memory axis for values up to `max_kib`: in the IEC unit of its top, about 5 ticks
/// labelled with that unit (`0`, `256 MiB`, `512 MiB`…), headroom above the peak for its
/// label.
pub fn memory_axis(max_kib: u64) -> Axis {
    let max = if max_kib == 0 { 1024.0 } else { max_kib as f64 };
    let want = max * 1.12;
    let (per_unit, unit) = iec_unit(want);
    let step = nice_step(want / per_unit, 5);
    let top = (want / per_unit / step).ceil() * step;
    let d = decimals(step);
    let ticks = ticks(step, top)
        .map(|v| {
            let label = if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v:.d$} {unit}")
            };
            (v, label)
        })
        .collect();
    Axis {
        per_unit,
        unit,
        top,
        ticks,
    }
}

/// The time axis for a job of `max_ms`: seconds up to 2 minutes, minutes up to 2 hours,
/// then hours; about 8 ticks.
pub fn time_axis(max_ms: u64) -> Axis {
    let secs = if max_ms == 0 {
        1.0
    } else {
        max_ms as f64 / 1000.0
    };
    let (per_unit, unit) = if secs <= 120.0 {
        (1000.0, "s")
    } else if secs <= 7200.0 {
        (60_000.0, "min")
    } else {
        (3_600_000.0, "h")
    };
    let v = secs * 1000.0 / per_unit;
    let step = nice_step(v, 8);
    let top = (v / step - 1e-9).ceil().max(1.0) * step;
    let d = decimals(step);
    let ticks = ticks(step, top)
        .map(|v| {
            let label = if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v:.d$}")
            };
            (v, label)
        })
        .collect();
    Axis {
        per_unit,
        unit,
        top,
        ticks,
    }
}

fn ticks(step: f64, top: f64) -> impl Iterator<Item = f64> {
    let n = (top / step + 1e-6).floor() as u64;
    (0..=n).map(move |i| i as f64 * step)
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
    human::duration(Duration::from_millis(ms))
}

/// A text label's box, to keep labels from overlapping.
#[derive(Clone, Copy, Debug)]
struct Box2 {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Box2 {
    fn overlaps(&self, o: &Box2) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
}

/// Where to put a label next to the point (x, y): (x, baseline y, anchor), the first
/// candidate inside the plot that overlaps no label placed before.
fn place_label(x: f64, y: f64, text: &str, placed: &mut Vec<Box2>) -> (f64, f64, &'static str) {
    let w = text.chars().count() as f64 * CHAR_W;
    let right_first = x < LEFT + PLOT_W * 0.6;
    let sides: [(f64, &'static str); 2] = if right_first {
        [(8.0, "start"), (-8.0, "end")]
    } else {
        [(-8.0, "end"), (8.0, "start")]
    };
    let mut candidates = Vec::new();
    for dy in [-9.0, 20.0, -27.0, 38.0, -45.0, 56.0] {
        for (dx, anchor) in sides {
            candidates.push((x + dx, y + dy, anchor));
        }
    }
    let bx = |(lx, ly, anchor): (f64, f64, &str)| {
        let x0 = if anchor == "start" { lx } else { lx - w };
        Box2 {
            x0,
            y0: ly - 12.0,
            x1: x0 + w,
            y1: ly + 3.0,
        }
    };
    let inside =
        |b: &Box2| b.x0 >= LEFT + 2.0 && b.x1 <= WIDTH - 4.0 && b.y0 >= TOP && b.y1 <= BOTTOM - 2.0;
    let chosen = candidates
        .iter()
        .copied()
        .find(|&c| {
            let b = bx(c);
            inside(&b) && !placed.iter().any(|p| p.overlaps(&b))
        })
        .or_else(|| candidates.iter().copied().find(|&c| inside(&bx(c))))
        .unwrap_or(candidates[0]);
    placed.push(bx(chosen));
    chosen
}

/// A number for an SVG coordinate.
fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

fn text(svg: &mut String, x: f64, y: f64, attrs: &str, content: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" {attrs}>{}</text>"#,
        n(x),
        n(y),
        escape(content)
    );
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
    parts.push(format!(
        "{} in all",
        human::duration(Duration::from_secs_f64(r.duration_seconds.max(0.0)))
    ));
    parts.push(format!("{} samples every {} ms", r.samples, r.interval_ms));
    parts.join(" · ")
}

/// Render the reports (label, report) as one SVG document. One report is drawn with its
/// top processes; several are overlaid with a legend.
pub fn svg(reports: &[(String, &Report)], title: Option<&str>) -> String {
    let single = reports.len() == 1;
    let max_kib = reports
        .iter()
        .flat_map(|(_, r)| {
            r.timeline
                .iter()
                .map(|p| p.total_rss_kib)
                .chain(r.max_total_rss_kib)
        })
        .max()
        .unwrap_or(0);
    let max_ms = reports.iter().map(|(_, r)| end_ms(r)).max().unwrap_or(0);
    let y = memory_axis(max_kib);
    let x = time_axis(max_ms);
    let px = |t_ms: u64| LEFT + x.frac(t_ms as f64) * PLOT_W;
    let py = |kib: u64| BOTTOM - y.frac(kib as f64) * PLOT_H;

    // What goes below the chart.
    let footer_top = BOTTOM + 62.0;
    let footer_rows = if single {
        let r = reports[0].1;
        let listed = r.processes.len().min(TOP_PROCESSES);
        let more = r.processes.len() > listed || r.processes_omitted > 0;
        if listed == 0 {
            0
        } else {
            1 + listed + usize::from(more)
        }
    } else {
        reports.len()
    };
    let height = (footer_top + footer_rows as f64 * ROW + 8.0).ceil();

    let mut s = String::new();
    let title = title.map_or_else(|| default_title(reports), str::to_string);
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
        &mut s,
        LEFT,
        30.0,
        r##"font-size="16" font-weight="bold" fill="#222""##,
        &human::short_command(&title, TITLE_CHARS),
    );
    text(
        &mut s,
        LEFT,
        52.0,
        r##"fill="#555""##,
        &human::short_command(&subtitle(reports), 120),
    );

    // Grid and ticks.
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
        text(&mut s, LEFT - 8.0, yy + 4.0, r#"text-anchor="end""#, label);
    }
    for (v, label) in &x.ticks {
        let xx = LEFT + v / x.top * PLOT_W;
        text(&mut s, xx, BOTTOM + 18.0, r#"text-anchor="middle""#, label);
    }
    let unit_name = match x.unit {
        "s" => "seconds",
        "min" => "minutes",
        _ => "hours",
    };
    text(
        &mut s,
        LEFT + PLOT_W / 2.0,
        BOTTOM + 38.0,
        r#"text-anchor="middle""#,
        &format!("time since start ({unit_name})"),
    );
    text(
        &mut s,
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

    // The lines.
    for (i, (_, r)) in reports.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        if r.timeline.len() < 2 {
            continue;
        }
        let mut d = String::new();
        for (j, p) in r.timeline.iter().enumerate() {
            let _ = write!(
                d,
                "{}{} {}",
                if j == 0 { "M" } else { " L" },
                n(px(p.t_ms)),
                n(py(p.total_rss_kib))
            );
        }
        if single {
            let first = px(r.timeline[0].t_ms);
            let last = px(r.timeline[r.timeline.len() - 1].t_ms);
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

    // The peaks, labelled where no other label is.
    let mut placed = Vec::new();
    for (i, (_, r)) in reports.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let Some((t, kib)) = peak(r) else {
            continue;
        };
        let (cx, cy) = (px(t), py(kib));
        let _ = writeln!(
            s,
            r##"<circle cx="{}" cy="{}" r="5" fill="{color}" stroke="#ffffff" stroke-width="1.5"/>"##,
            n(cx),
            n(cy)
        );
        let label = if single {
            format!("peak {} at {}", iec(kib), ms_text(t))
        } else {
            iec(kib)
        };
        let (lx, ly, anchor) = place_label(cx, cy, &label, &mut placed);
        let fill = if single { "#222" } else { color };
        text(
            &mut s,
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
            &mut s,
            LEFT + PLOT_W / 2.0,
            TOP + PLOT_H / 2.0,
            r##"text-anchor="middle" fill="#777" font-size="14""##,
            "no samples: the job ended before memwatch's first sample",
        );
    }

    // Below the chart: the top processes, or the legend.
    let mut row_y = footer_top;
    if single {
        let r = reports[0].1;
        let listed = &r.processes[..r.processes.len().min(TOP_PROCESSES)];
        if !listed.is_empty() {
            text(
                &mut s,
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
                    &mut s,
                    LEFT + 80.0,
                    row_y,
                    &format!(r##"text-anchor="end" font-family="{MONO}" fill="#222""##),
                    &human::iec_or_unknown(p.max_rss_kib),
                );
                text(
                    &mut s,
                    LEFT + 96.0,
                    row_y,
                    &format!(r##"font-family="{MONO}" fill="#777""##),
                    &format!("pid {}", p.pid),
                );
                text(
                    &mut s,
                    cmd_x,
                    row_y,
                    &format!(r##"font-family="{MONO}" fill="#222""##),
                    &human::short_command(&p.command, cmd_chars),
                );
                row_y += ROW;
            }
            let more = (r.processes.len() - listed.len()) as u64 + r.processes_omitted;
            if more > 0 {
                text(
                    &mut s,
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
    } else {
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
            let label = human::short_command(label, 40);
            let peak_text = match peak(r) {
                Some((t, kib)) => format!("peak {} at {}", iec(kib), ms_text(t)),
                None => "peak unknown".to_string(),
            };
            let used = label.chars().count() + peak_text.chars().count() + 6;
            let room = ((WIDTH - LEFT - 32.0 - RIGHT) / CHAR_W) as usize;
            let cmd = human::short_command(&r.command.join(" "), room.saturating_sub(used).max(10));
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
    let _ = writeln!(s, "</svg>");
    s
}

/// Write the reports (label, report) as one SVG: what `memwatch plot` and
/// `memwatch run --plot` write. The labels name the lines in the legend (several reports).
pub fn write_svg(reports: &[(String, &Report)], out: &mut dyn Write) -> io::Result<()> {
    out.write_all(svg(reports, None).as_bytes())?;
    out.flush()
}

/// Run `memwatch plot`; returns the exit code.
pub fn run(args: &PlotArgs) -> Result<i32, Error> {
    if !args.labels.is_empty() && args.labels.len() != args.reports.len() {
        eprintln!(
            "memwatch: --label was given {} time(s) for {} report(s): give one per report, in order, or none",
            args.labels.len(),
            args.reports.len()
        );
        return Ok(EXIT_BAD_INPUT);
    }
    let reports = args
        .reports
        .iter()
        .map(|p| crate::compare::read_report(p))
        .collect::<Result<Vec<Report>, Error>>()?;
    let labels = if args.labels.is_empty() {
        let cmds: Vec<&[String]> = reports.iter().map(|r| r.command.as_slice()).collect();
        let paths: Vec<&std::path::Path> = args.reports.iter().map(PathBuf::as_path).collect();
        crate::compare::default_labels(&cmds, &paths)
    } else {
        args.labels.clone()
    };
    let pairs: Vec<(String, &Report)> = labels.into_iter().zip(&reports).collect();
    let doc = svg(&pairs, args.title.as_deref());
    match &args.output {
        Some(path) => crate::output::file::PendingFile::create(path)
            .and_then(|f| f.commit(|w| w.write_all(doc.as_bytes())))
            .map_err(|source| Error::Output {
                what: "plot",
                target: path.display().to_string(),
                source,
                job: None,
            })?,
        None => crate::output::print("plot", doc.as_bytes())?,
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Point;

    /// A report with this command and timeline (t_ms, KiB), peak figures derived from it.
    pub(crate) fn report(command: &[&str], timeline: &[(u64, u64)]) -> Report {
        let peak = timeline.iter().rev().max_by_key(|p| p.1).copied();
        let v = serde_json::json!({
            "schema_version": crate::report::SCHEMA_VERSION,
            "memwatch_version": "0.1.0",
            "hostname": "host",
            "os": "linux",
            "command": command,
            "start_time": "2025-01-01T00:00:00Z",
            "end_time": "2025-01-01T00:00:10Z",
            "duration_seconds": timeline.last().map_or(0.0, |p| p.0 as f64 / 1000.0 + 0.1),
            "interval_ms": 100,
            "samples": timeline.len(),
            "max_total_rss_kib": peak.map(|p| p.1),
            "max_total_rss_sample_index": peak.map(|_| 0),
            "max_total_rss_ms": peak.map(|p| p.0),
            "processes_at_peak": 1,
            "max_processes": 1,
            "max_process_rss_kib": peak.map(|p| p.1),
            "max_process_pid": 10,
            "processes_total": 1,
            "processes_omitted": 0,
            "processes_unreadable": 0,
            "exit_code": 0,
            "signal": null,
            "interrupted": false,
            "left_running": [],
            "warnings": [],
            "processes": [],
            "timeline": timeline.iter().map(|&(t, k)| Point { t_ms: t, total_rss_kib: k, processes: 1 }).collect::<Vec<_>>(),
        });
        serde_json::from_value(v).expect("the test report template matches the schema")
    }

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"))
    }

    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| {
                n.descendants()
                    .filter(roxmltree::Node::is_text)
                    .filter_map(|d| d.text())
                    .collect::<Vec<_>>()
                    .concat()
            })
            .collect()
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;"
        );
        assert_eq!(escape("x\ny\tz"), "x y z");
        assert_eq!(escape("nul\u{0}bel\u{7}"), "nul\u{fffd}bel\u{fffd}");
        assert_eq!(escape("héllo ✓"), "héllo ✓");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(1.0, 5), 0.2);
        assert_eq!(nice_step(12.0, 5), 2.5);
        assert_eq!(nice_step(100.0, 4), 25.0);
        assert_eq!(nice_step(700.0, 5), 200.0);
        assert_eq!(nice_step(3.0, 8), 0.5);
        assert_eq!(nice_step(0.0, 5), 1.0);
        assert_eq!(nice_step(f64::NAN, 5), 1.0);
        assert_eq!(decimals(2.0), 0);
        assert_eq!(decimals(0.5), 1);
        assert_eq!(decimals(0.25), 2);
    }

    fn labels(a: &Axis) -> Vec<&str> {
        a.ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn memory_ticks_are_iec_and_cover_the_peak() {
        let gib = 1024 * 1024;
        let a = memory_axis(gib + gib / 5); // 1.2 GiB
        assert_eq!(a.unit, "GiB");
        assert_eq!(labels(&a), ["0", "0.5 GiB", "1.0 GiB", "1.5 GiB"]);
        assert!(a.top * a.per_unit >= (gib + gib / 5) as f64 * 1.1);
        let a = memory_axis(300 * 1024);
        assert_eq!(
            labels(&a),
            ["0", "100 MiB", "200 MiB", "300 MiB", "400 MiB"]
        );
        assert!(a.top >= 336.0);
        assert_eq!(memory_axis(512).unit, "KiB");
        // All zero: a 1 MiB axis rather than a division by zero.
        let a = memory_axis(0);
        assert!(a.top > 0.0 && a.ticks.len() >= 3);
        for kib in [1, 1000, 1023, 1024, 5_000_000, u64::MAX / 2] {
            let a = memory_axis(kib);
            assert!(a.top * a.per_unit >= kib as f64, "{kib}");
            assert!((3..=12).contains(&a.ticks.len()), "{kib}: {:?}", a.ticks);
        }
    }

    #[test]
    fn time_ticks_switch_to_minutes_and_hours() {
        let a = time_axis(10_000);
        assert_eq!(a.unit, "s");
        assert_eq!(labels(&a).first(), Some(&"0"));
        assert!(a.top >= 10.0);
        let a = time_axis(900);
        assert_eq!(a.unit, "s");
        assert_eq!(labels(&a), ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let a = time_axis(30 * 60_000);
        assert_eq!(a.unit, "min");
        assert_eq!(a.top, 30.0);
        let a = time_axis(5 * 3_600_000);
        assert_eq!(a.unit, "h");
        assert!(time_axis(0).top > 0.0);
        for ms in [1, 999, 1000, 61_000, 119_000, 121_000, 86_400_000] {
            let a = time_axis(ms);
            assert!(a.top * a.per_unit >= ms as f64, "{ms}");
            assert!((2..=12).contains(&a.ticks.len()), "{ms}: {:?}", a.ticks);
        }
    }

    #[test]
    fn single_report_is_well_formed_with_peak_and_processes() {
        let cmd = ["sh", "-c", r#"a < b && echo "q" 'x' > /dev/null"#];
        let mut r = report(
            &cmd,
            &[
                (0, 1024),
                (500, 200 * 1024),
                (1000, 300 * 1024),
                (1500, 50 * 1024),
            ],
        );
        for (i, kib) in [300 * 1024u64, 10 * 1024, 512, 100, 50, 10]
            .iter()
            .enumerate()
        {
            let mut p: crate::report::ProcessReport = serde_json::from_value(serde_json::json!({
                "pid": 100 + i, "ppid": 1, "command": format!("worker <{i}> & \"co\""),
                "max_rss_kib": kib, "kernel_max_rss_kib": null,
                "first_seen": "2025-01-01T00:00:00Z", "last_seen": "2025-01-01T00:00:01Z",
                "first_seen_ms": 0, "last_seen_ms": 1000, "samples": 3, "root": i == 0
            }))
            .unwrap();
            p.samples = 3;
            r.processes.push(p);
        }
        let svg = svg(&[("x".to_string(), &r)], None);
        let doc = parse(&svg);
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let t = texts(&doc);
        assert!(t.contains(&cmd.join(" ")), "{t:?}");
        assert!(t.contains(&"peak 300.0 MiB at 1.0 s".to_string()), "{t:?}");
        assert!(t.contains(&"Top processes by peak RSS".to_string()));
        assert!(t.contains(&"worker <0> & \"co\"".to_string()));
        assert!(t.contains(&"… and 1 more process".to_string()), "{t:?}");
        assert!(t.iter().any(|s| s.ends_with(" MiB")), "{t:?}");
        assert!(t.contains(&"time since start (seconds)".to_string()));
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("href"));
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("circle"))
                .count(),
            1
        );
    }

    #[test]
    fn several_reports_get_colors_and_a_legend() {
        let a = report(&["app", "-n", "1"], &[(0, 100), (1000, 2048), (2000, 100)]);
        let b = report(&["app", "-n", "2"], &[(0, 100), (1500, 4096), (3000, 100)]);
        let svg = svg(&[("-n 1".into(), &a), ("-n 2".into(), &b)], None);
        let doc = parse(&svg);
        let strokes: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("path"))
            .filter_map(|n| n.attribute("stroke"))
            .collect();
        assert!(strokes.contains(&COLORS[0]) && strokes.contains(&COLORS[1]));
        let t = texts(&doc);
        assert!(
            t.iter()
                .any(|s| s.starts_with("-n 1") && s.contains("peak 2.0 MiB")),
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|s| s.starts_with("-n 2") && s.contains("peak 4.0 MiB"))
        );
        assert!(t.contains(&"app -n … (2 runs)".to_string()), "{t:?}");
    }

    #[test]
    fn edge_cases_still_draw_a_chart() {
        let empty = report(&["true"], &[]);
        let one = report(&["x"], &[(10, 4096)]);
        let zeros = report(&["z"], &[(0, 0), (100, 0), (200, 0)]);
        let mut null_peak = report(&["n"], &[(0, 5), (10, 7)]);
        null_peak.max_total_rss_kib = None;
        null_peak.max_total_rss_ms = None;
        for r in [&empty, &one, &zeros, &null_peak] {
            let svg = svg(&[("r".into(), r)], None);
            let doc = parse(&svg);
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            let t = texts(&doc);
            assert!(t.contains(&"0".to_string()), "{t:?}");
        }
        let t = texts(&parse(&svg(&[("r".into(), &empty)], None)));
        assert!(t.iter().any(|s| s.starts_with("no samples")), "{t:?}");
        assert!(t.iter().any(|s| s.contains("peak unknown")), "{t:?}");
        let t = texts(&parse(&svg(&[("r".into(), &one)], None)));
        assert!(t.contains(&"peak 4.0 MiB at 10 ms".to_string()), "{t:?}");
        let t = texts(&parse(&svg(&[("r".into(), &zeros)], None)));
        assert!(t.iter().any(|s| s.starts_with("peak 0.0 KiB")), "{t:?}");
        let t = texts(&parse(&svg(&[("r".into(), &null_peak)], None)));
        assert!(t.iter().any(|s| s.contains("peak unknown")), "{t:?}");
        assert!(t.contains(&"peak 7.0 KiB at 10 ms".to_string()), "{t:?}");
        // No report at all.
        parse(&svg(&[], None));
    }

    #[test]
    fn peak_labels_do_not_overlap() {
        let mut placed = Vec::new();
        let a = place_label(LEFT + 100.0, TOP + 40.0, "1.0 GiB", &mut placed);
        let b = place_label(LEFT + 105.0, TOP + 42.0, "1.1 GiB", &mut placed);
        assert_ne!((a.0, a.1), (b.0, b.1));
        assert!(!placed[0].overlaps(&placed[1]));
        // Near the right edge the label goes to the left of the point.
        let mut placed = Vec::new();
        let c = place_label(
            LEFT + PLOT_W - 2.0,
            TOP + 100.0,
            "peak 1.0 GiB at 3.0 s",
            &mut placed,
        );
        assert_eq!(c.2, "end");
        // At the very top it goes below the point.
        let d = place_label(LEFT + 10.0, TOP + 1.0, "peak", &mut placed);
        assert!(d.1 > TOP + 1.0);
    }
}
