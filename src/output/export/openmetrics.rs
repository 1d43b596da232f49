//! An OpenMetrics text exposition, for node_exporter's textfile collector or a
//! Pushgateway: one gauge family per headline figure (`memwatch_max_total_rss_bytes`,
//! `memwatch_duration_seconds`, …) with `# TYPE`, `# UNIT` and `# HELP` lines, labelled by
//! the job, closed by `# EOF`. Every figure is a gauge: a file holds one job's values, not
//! a running count. Memory is in bytes, times in seconds (the exposition's base units). A
//! figure that is a bound rather than the value is named by `memwatch_figure_bound`.

use std::fmt::Write as _;

use super::{Bound, Exported};
use crate::model::figures::Unit;

/// A family's name: `memwatch_` and the report key, memory in bytes, without a trailing
/// `_total` (a suffix OpenMetrics keeps for counters).
pub(crate) fn family(e: &Exported) -> String {
    let key = e.figure.key;
    let key = match key.strip_suffix("_kib") {
        Some(stem) => format!("{stem}_bytes"),
        None => key.strip_suffix("_total").unwrap_or(key).to_string(),
    };
    format!("memwatch_{key}")
}

/// A label value escaped as the exposition wants (backslash, double quote, line feed).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text escaped (backslash and line feed).
fn help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The `{…}` of every sample: `labels` as name and value.
fn label_set(labels: &[(&str, &str)]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// A value as the exposition writes it: integers without a fraction.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The exposition of `figures` (unknown ones left out), every sample labelled `labels`.
pub(crate) fn exposition(figures: &[Exported], labels: &[(&str, &str)]) -> String {
    let set = label_set(labels);
    let mut out = String::new();
    for e in figures {
        let Some(v) = e.machine_value() else {
            continue;
        };
        let name = family(e);
        let _ = writeln!(out, "# TYPE {name} gauge");
        match e.figure.unit {
            Unit::Kib => {
                let _ = writeln!(out, "# UNIT {name} bytes");
            }
            Unit::Seconds => {
                let _ = writeln!(out, "# UNIT {name} seconds");
            }
            Unit::Count => {}
        }
        let _ = writeln!(out, "# HELP {name} {}", help(e.figure.label));
        let _ = writeln!(out, "{name}{set} {}", number(v));
    }
    bounds(&mut out, figures, labels);
    out.push_str("# EOF\n");
    out
}

/// `memwatch_figure_bound{figure, bound}`: 1 for each figure whose value is a lower bound
/// (processes memwatch could not read are left out) or an upper bound (a merge of thinned
/// timelines). None when every value is exact.
fn bounds(out: &mut String, figures: &[Exported], labels: &[(&str, &str)]) {
    let bounded: Vec<(String, &str)> = figures
        .iter()
        .filter(|e| e.value.is_some())
        .filter_map(|e| match e.bound {
            Bound::Exact => None,
            Bound::AtLeast => Some((family(e), "lower")),
            Bound::AtMost => Some((family(e), "upper")),
        })
        .collect();
    if bounded.is_empty() {
        return;
    }
    let name = "memwatch_figure_bound";
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(
        out,
        "# HELP {name} 1 when the figure's value is a bound (lower or upper), not the value itself"
    );
    for (figure, bound) in bounded {
        let mut all: Vec<(&str, &str)> = labels.to_vec();
        all.push(("figure", &figure));
        all.push(("bound", bound));
        let _ = writeln!(out, "{name}{} 1", label_set(&all));
    }
}
