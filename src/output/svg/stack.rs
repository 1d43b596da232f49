//! One report's total RSS drawn as stacked areas by program (`timeline_groups`): which
//! programs made up the total over time, the peak marked, and under the picture each
//! program's RSS at the peak (which add up to it), which is the legend too.

use std::fmt::Write as _;

use super::text::{n, text};
use super::{
    CHAR_W, COLORS, Chart, FOOTER_TOP, LEFT, MONO, ROW, WIDTH, grid, header, ms_text, peaks,
};
use crate::model::Report;
use crate::model::groups::TimelineGroups;
use crate::output::units::{self, iec};

/// The colour of the "other" group.
const OTHER_COLOR: &str = "#a5a5a5";

/// Each group's colour, bottom (largest peak) first.
fn colors(g: &TimelineGroups) -> Vec<&'static str> {
    let mut named = 0;
    g.groups
        .iter()
        .map(|x| {
            if x.other {
                OTHER_COLOR
            } else {
                named += 1;
                COLORS[(named - 1) % 8]
            }
        })
        .collect()
}

/// The stacked picture of `r`, or `None` when it has no split by program worth drawing
/// (an earlier version's report, fewer than two points): then the total alone is drawn.
pub(super) fn svg(r: &Report, title: Option<&str>) -> Option<String> {
    let g = r.timeline_groups.as_ref()?;
    if g.t_ms.len() < 2 || g.groups.is_empty() {
        return None;
    }
    let reports = [(String::new(), r)];
    let chart = Chart::of(&reports);
    let rows = g.groups.len() + 1;
    let height = (FOOTER_TOP + rows as f64 * ROW + 8.0).ceil();
    let mut s = String::new();
    let title = title.map_or_else(|| r.command.join(" "), str::to_string);
    header(&mut s, &title, &subtitle(r, g), height);
    grid(&mut s, &chart);
    areas(&mut s, &chart, g, &colors(g));
    let mut placed = Vec::new();
    super::limit::draw(
        &mut s,
        &chart,
        &super::limit::limits(&reports),
        chart.data_kib,
        &mut placed,
    );
    peaks(&mut s, &chart, &reports, &mut placed);
    split_at_peak(&mut s, r, g, &colors(g));
    let _ = writeln!(s, "</svg>");
    Some(s)
}

fn subtitle(r: &Report, g: &TimelineGroups) -> String {
    let named = g.groups.iter().filter(|x| !x.other).count();
    let mut parts = vec![format!(
        "Total RSS over time by program ({named} program{})",
        if named == 1 { "" } else { "s" }
    )];
    if let Some(kib) = r.max_total_rss_kib {
        let at = r
            .max_total_rss_ms
            .map_or(String::new(), |ms| format!(" at {}", ms_text(ms)));
        parts.push(format!("peak {}{at}", iec(kib)));
    }
    parts.push(format!("{} in all", units::seconds(r.duration_seconds)));
    parts.push(format!("{} samples every {} ms", r.samples, r.interval_ms));
    parts.join(" · ")
}

/// The areas, each between the sum of the groups below it and that sum plus its own, and
/// the outline of the total on top.
fn areas(s: &mut String, chart: &Chart, g: &TimelineGroups, colors: &[&str]) {
    let xs: Vec<f64> = g.t_ms.iter().map(|&t| chart.px(t)).collect();
    let mut below = vec![0u64; xs.len()];
    for (group, color) in g.groups.iter().zip(colors) {
        let above: Vec<u64> = below
            .iter()
            .enumerate()
            .map(|(i, b)| b + group.rss_kib.get(i).copied().unwrap_or(0))
            .collect();
        let mut d = String::new();
        for (i, (&x, &v)) in xs.iter().zip(&above).enumerate() {
            let _ = write!(
                d,
                "{}{} {} ",
                if i == 0 { "M" } else { "L" },
                n(x),
                n(chart.py(v))
            );
        }
        for (&x, &v) in xs.iter().zip(&below).rev() {
            let _ = write!(d, "L{} {} ", n(x), n(chart.py(v)));
        }
        let _ = writeln!(s, r#"<path d="{}Z" fill="{color}" stroke="none"/>"#, d);
        below = above;
    }
    let mut d = String::new();
    for (i, (&x, &v)) in xs.iter().zip(&below).enumerate() {
        let _ = write!(
            d,
            "{}{} {}",
            if i == 0 { "M" } else { " L" },
            n(x),
            n(chart.py(v))
        );
    }
    let _ = writeln!(
        s,
        r##"<path d="{d}" fill="none" stroke="#333" stroke-width="1.2" stroke-linejoin="round"/>"##
    );
}

/// Under the picture: each program's RSS at the peak, its share, its own peak and how many
/// processes ran it; the swatches make it the legend.
fn split_at_peak(s: &mut String, r: &Report, g: &TimelineGroups, colors: &[&str]) {
    let mut y = FOOTER_TOP;
    let heading = match (r.max_total_rss_kib, r.max_total_rss_ms) {
        (Some(kib), Some(ms)) => {
            format!("At the peak, {} at {}, by program", iec(kib), ms_text(ms))
        }
        _ => "By program".to_string(),
    };
    text(s, LEFT, y, r##"font-weight="bold" fill="#222""##, &heading);
    y += ROW;
    let total: u64 = g.groups.iter().map(|x| x.rss_at_peak_kib).sum();
    for (group, color) in g.groups.iter().zip(colors) {
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="14" height="11" fill="{color}"/>"##,
            n(LEFT),
            n(y - 10.0)
        );
        let name = if group.other {
            "other programs".to_string()
        } else {
            units::short_command(&group.program, 22)
        };
        text(s, LEFT + 22.0, y, r##"fill="#222""##, &name);
        let mono = format!(r##"text-anchor="end" font-family="{MONO}" fill="#222""##);
        text(s, LEFT + 280.0, y, &mono, &iec(group.rss_at_peak_kib));
        let share = if total > 0 {
            format!(
                "{:.0}%",
                group.rss_at_peak_kib as f64 * 100.0 / total as f64
            )
        } else {
            String::new()
        };
        text(s, LEFT + 330.0, y, &mono, &share);
        let own = match (group.max_rss_kib, group.max_rss_ms) {
            (Some(kib), Some(ms)) => format!("own peak {} at {} · ", iec(kib), ms_text(ms)),
            _ => String::new(),
        };
        let procs = group.processes;
        let detail = format!("{own}{procs} process{}", if procs == 1 { "" } else { "es" });
        let room = ((WIDTH - LEFT - 350.0) / CHAR_W) as usize;
        text(
            s,
            LEFT + 350.0,
            y,
            r##"fill="#777""##,
            &units::short_command(&detail, room),
        );
        y += ROW;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{BOTTOM, PLOT_H};
    use super::*;
    use crate::model::groups::ProgramGroup;

    fn group(program: &str, other: bool, rss: &[u64], at_peak: u64) -> ProgramGroup {
        ProgramGroup {
            program: program.to_string(),
            other,
            processes: 2,
            max_rss_kib: (!other).then(|| rss.iter().copied().max().unwrap_or(0)),
            max_rss_ms: (!other).then_some(100),
            rss_at_peak_kib: at_peak,
            rss_kib: rss.to_vec(),
        }
    }

    fn split(r: &mut Report, groups: Vec<ProgramGroup>, t_ms: &[u64]) {
        r.timeline_groups = Some(TimelineGroups {
            t_ms: t_ms.to_vec(),
            thinned: false,
            groups,
        });
    }

    #[test]
    fn one_area_per_group_and_the_split_under_the_picture() {
        let mut r = report(&["make", "-j4"], &[(0, 1024), (100, 3072), (200, 2048)]);
        split(
            &mut r,
            vec![
                group("cc1", false, &[0, 2048, 1024], 2048),
                group("make", false, &[1024, 512, 512], 512),
                group("other", true, &[0, 512, 512], 512),
            ],
            &[0, 100, 200],
        );
        let s = svg(&r, None).expect("a stacked picture");
        let doc = roxmltree::Document::parse(&s).unwrap();
        let filled: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("path"))
            .filter_map(|n| n.attribute("fill"))
            .filter(|f| *f != "none")
            .collect();
        assert_eq!(filled, [COLORS[0], COLORS[1], OTHER_COLOR]);
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(str::to_string))
            .collect();
        for t in [
            "At the peak, 3.0 MiB at 100 ms, by program",
            "cc1",
            "2.0 MiB",
            "67%",
            "other programs",
            "peak 3.0 MiB at 100 ms",
        ] {
            assert!(texts.iter().any(|x| x == t), "{t}: {texts:?}");
        }
        // The top of the stack is the total at each point: 1024, 3072, 2048 KiB.
        let y = |kib: f64| BOTTOM - kib / 1024.0 / Chart::of(&[(String::new(), &r)]).y.top * PLOT_H;
        let outline = doc
            .descendants()
            .find(|n| {
                n.has_tag_name("path")
                    && n.attribute("stroke") == Some("#333")
                    && n.attribute("stroke-width") == Some("1.2")
            })
            .unwrap();
        let d = outline.attribute("d").unwrap();
        for kib in [1024.0, 3072.0, 2048.0] {
            assert!(d.contains(&format!(" {}", n(y(kib)))), "{kib} in {d}");
        }
    }

    #[test]
    fn too_little_to_stack_falls_back_and_odd_columns_do_not_panic() {
        let mut r = report(&["x"], &[(0, 1)]);
        assert!(svg(&r, None).is_none(), "no split");
        split(&mut r, vec![group("x", false, &[1], 1)], &[0]);
        assert!(svg(&r, None).is_none(), "one point");
        split(&mut r, vec![group("x", false, &[1], 1)], &[0, 10, 20]);
        let s = svg(&r, Some("t")).unwrap();
        assert!(roxmltree::Document::parse(&s).is_ok());
        assert!(!s.contains("NaN"));
    }
}
