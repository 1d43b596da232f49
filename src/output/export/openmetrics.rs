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

/// Labels as name and value.
pub(crate) type Labels<'a> = Vec<(&'a str, &'a str)>;

/// One job's labels and figures.
pub(crate) type Labelled<'a> = (Labels<'a>, Vec<Exported>);

/// The exposition of `figures` (unknown ones left out), every sample labelled `labels`.
pub(crate) fn exposition(figures: &[Exported], labels: &[(&str, &str)]) -> String {
    exposition_many(&[(labels.to_vec(), figures.to_vec())])
}

/// The exposition of several jobs (a sweep's values), each with its own labels: one family
/// per figure, one sample per job that knows it.
pub(crate) fn exposition_many(jobs: &[Labelled<'_>]) -> String {
    let mut out = String::new();
    for f in crate::model::figures::FIGURES {
        let samples: Vec<(String, f64)> = jobs
            .iter()
            .filter_map(|(labels, figures)| {
                let e = figures.iter().find(|e| std::ptr::eq(e.figure, f))?;
                Some((label_set(labels), e.machine_value()?))
            })
            .collect();
        let Some(e) = jobs
            .iter()
            .find_map(|(_, figures)| figures.iter().find(|e| std::ptr::eq(e.figure, f)))
        else {
            continue;
        };
        if samples.is_empty() {
            continue;
        }
        let name = family(e);
        let _ = writeln!(out, "# TYPE {name} gauge");
        match f.unit {
            Unit::Kib => {
                let _ = writeln!(out, "# UNIT {name} bytes");
            }
            Unit::Seconds => {
                let _ = writeln!(out, "# UNIT {name} seconds");
            }
            Unit::Count | Unit::Percent | Unit::Millis => {}
        }
        let _ = writeln!(out, "# HELP {name} {}", help(f.label));
        for (set, v) in samples {
            let _ = writeln!(out, "{name}{set} {}", number(v));
        }
    }
    bounds(&mut out, jobs);
    out.push_str("# EOF\n");
    out
}

/// `memwatch_figure_bound{figure, bound}`: 1 for each figure whose value is a lower bound
/// (processes memwatch could not read are left out) or an upper bound (a merge of thinned
/// timelines). None when every value is exact.
fn bounds(out: &mut String, jobs: &[Labelled<'_>]) {
    let mut bounded: Vec<(&Labels<'_>, String, &str)> = Vec::new();
    for (labels, figures) in jobs {
        for e in figures.iter().filter(|e| e.value.is_some()) {
            match e.bound {
                Bound::Exact => {}
                Bound::AtLeast => bounded.push((labels, family(e), "lower")),
                Bound::AtMost => bounded.push((labels, family(e), "upper")),
            }
        }
    }
    if bounded.is_empty() {
        return;
    }
    let name = "memwatch_figure_bound";
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(
        out,
        "# HELP {name} 1 when the figure's value is a bound (lower or upper), not the value itself"
    );
    for (labels, figure, bound) in bounded {
        let mut all: Vec<(&str, &str)> = labels.to_vec();
        all.push(("figure", &figure));
        all.push(("bound", bound));
        let _ = writeln!(out, "{name}{} 1", label_set(&all));
    }
}
