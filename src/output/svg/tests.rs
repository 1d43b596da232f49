//! The SVG renderer's unit tests: well-formed XML, ticks, colours, labels.

use super::axis::{decimals, nice_step};
use super::*;
use crate::model::timeline::Point;

/// A report with this command and timeline (t_ms, KiB), peak figures derived from it.
pub(crate) fn report(command: &[&str], timeline: &[(u64, u64)]) -> Report {
    let peak = timeline.iter().rev().max_by_key(|p| p.1).copied();
    let v = serde_json::json!({
        "schema_version": crate::model::SCHEMA_VERSION,
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
        let mut p: crate::model::ProcessReport = serde_json::from_value(serde_json::json!({
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

fn with_limit(mut r: Report, kib: u64) -> Report {
    r.memory_limit = Some(crate::model::limit::MemoryLimit {
        kib,
        source: crate::model::limit::LimitSource::Cgroup,
        detail: "/sys/fs/cgroup/job/memory.max".to_string(),
    });
    r
}

/// The `y1` of every dashed limit line.
fn limit_lines(doc: &roxmltree::Document<'_>) -> Vec<f64> {
    doc.descendants()
        .filter(|n| n.has_tag_name("line") && n.attribute("class") == Some("limit"))
        .map(|n| {
            assert_eq!(n.attribute("y1"), n.attribute("y2"), "horizontal");
            n.attribute("y1").unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn a_limit_within_reach_is_a_dashed_line_at_its_height() {
    // 40 MiB peak, 64 MiB limit: the axis reaches the limit and the line sits at 64 MiB.
    let r = with_limit(
        report(&["job"], &[(0, 0), (500, 40 * 1024), (1000, 10 * 1024)]),
        64 * 1024,
    );
    let svg = svg(&[("job".to_string(), &r)], None);
    let doc = parse(&svg);
    let lines = limit_lines(&doc);
    assert_eq!(lines.len(), 1, "{svg}");
    let chart = Chart::of(&[("job".to_string(), &r)]);
    assert!(
        chart.y.top * chart.y.per_unit >= 64.0 * 1024.0,
        "{:?}",
        chart.y
    );
    assert!((lines[0] - chart.py(64 * 1024)).abs() < 0.1);
    assert!(lines[0] > TOP && lines[0] < BOTTOM);
    let t = texts(&doc);
    assert!(
        t.iter().any(|t| t == "limit 64.0 MiB (cgroup memory.max)"),
        "{t:?}"
    );
}

#[test]
fn a_limit_far_above_the_data_is_named_not_drawn() {
    let r = with_limit(report(&["job"], &[(0, 0), (500, 1024)]), 24 << 20);
    let svg = svg(&[("job".to_string(), &r)], None);
    let doc = parse(&svg);
    assert!(limit_lines(&doc).is_empty());
    let chart = Chart::of(&[("job".to_string(), &r)]);
    assert!(
        chart.y.top * chart.y.per_unit < 4.0 * 1024.0,
        "the data keeps the chart"
    );
    assert!(
        texts(&doc)
            .iter()
            .any(|t| t == "limit 24.0 GiB (cgroup memory.max) above the chart"),
        "{:?}",
        texts(&doc)
    );
}

#[test]
fn several_reports_one_shared_limit_or_one_line_each() {
    let a = with_limit(report(&["a"], &[(0, 0), (500, 30 * 1024)]), 50 * 1024);
    let b = with_limit(report(&["b"], &[(0, 0), (500, 40 * 1024)]), 50 * 1024);
    let shared = svg(&[("a".to_string(), &a), ("b".to_string(), &b)], None);
    let doc = parse(&shared);
    assert_eq!(limit_lines(&doc).len(), 1, "one line for a shared limit");
    let c = with_limit(report(&["c"], &[(0, 0), (500, 40 * 1024)]), 60 * 1024);
    let apart = svg(&[("a".to_string(), &a), ("c".to_string(), &c)], None);
    let doc = parse(&apart);
    assert_eq!(limit_lines(&doc).len(), 2);
    assert!(
        texts(&doc)
            .iter()
            .any(|t| t.contains("(c: cgroup memory.max)"))
    );
    // No limit, no line.
    let none = report(&["n"], &[(0, 0), (500, 1024)]);
    assert!(limit_lines(&parse(&svg(&[("n".to_string(), &none)], None))).is_empty());
}
