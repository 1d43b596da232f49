//! Benchmark JSON for the dashboards CI feeds: github-action-benchmark's
//! `customSmallerIsBetter` (an array of `{name, unit, value, range?, extra?}`) and Bencher
//! Metric Format (`{benchmark: {measure: {value}}}`). Only figures where smaller is better
//! are written (memory, time, process count); an unknown one is left out.

use serde_json::{Map, Value, json};

use super::{Bound, Exported};
use crate::model::figures::Unit;

/// The unit a figure is charted in by github-action-benchmark, and its value in it:
/// memory in MiB (three decimals: KiB precision), time in seconds, counts as they are.
fn charted(e: &Exported) -> Option<(String, f64)> {
    let v = e.value?;
    Some(match e.figure.unit {
        Unit::Kib => ("MiB".to_string(), (v / 1024.0 * 1000.0).round() / 1000.0),
        Unit::Seconds => ("s".to_string(), (v * 1000.0).round() / 1000.0),
        Unit::Count => (e.figure.name.to_string(), v),
        Unit::Percent => ("%".to_string(), (v * 10.0).round() / 10.0),
        Unit::Millis => ("ms".to_string(), (v * 1000.0).round() / 1000.0),
    })
}

/// What a bound says, for a dashboard's tooltip.
fn bound_note(b: Bound) -> Option<&'static str> {
    match b {
        Bound::Exact => None,
        Bound::AtLeast => Some("a lower bound: processes memwatch could not read are left out"),
        Bound::AtMost => {
            Some("an upper bound at the merged timelines' resolution (they were thinned)")
        }
    }
}

/// `customSmallerIsBetter` JSON: one entry per figure, named `<name> - <label>`; `extra`
/// holds `context` (where and when) and, for a bound, what it means.
pub(crate) fn github(figures: &[Exported], name: &str, context: &str) -> String {
    pretty(&Value::Array(github_entries(figures, name, context)))
}

/// The entries of [`github`] for one job, so that several (a sweep's values) make one
/// array.
pub(crate) fn github_entries(figures: &[Exported], name: &str, context: &str) -> Vec<Value> {
    figures
        .iter()
        .filter(|e| e.benchmark())
        .filter_map(|e| {
            let (unit, value) = charted(e)?;
            let extra = match bound_note(e.bound) {
                Some(note) => format!("{context}\n{note}"),
                None => context.to_string(),
            };
            Some(json!({
                "name": format!("{name} - {}", e.figure.label),
                "unit": unit,
                "value": value,
                "extra": extra,
            }))
        })
        .collect()
}

/// github-action-benchmark's array for several jobs at once.
pub(crate) fn github_many(jobs: &[(String, Vec<Exported>)], context: &str) -> String {
    let entries = jobs
        .iter()
        .flat_map(|(name, figures)| github_entries(figures, name, context))
        .collect();
    pretty(&Value::Array(entries))
}

/// The Bencher measure slug of a figure: its report key without the unit, in kebab case
/// (`max_total_rss_kib`: `max-total-rss`).
pub(crate) fn slug(e: &Exported) -> String {
    let key = e.figure.key;
    let key = ["_kib", "_seconds", "_total"]
        .iter()
        .find_map(|suffix| key.strip_suffix(suffix))
        .unwrap_or(key);
    key.replace('_', "-")
}

/// Bencher Metric Format: the benchmark `name`, one measure per figure, values in bytes,
/// seconds or counts.
pub(crate) fn bencher(figures: &[Exported], name: &str) -> String {
    bencher_many(&[(name.to_string(), figures.to_vec())])
}

/// Bencher Metric Format for several jobs (benchmarks) at once.
pub(crate) fn bencher_many(jobs: &[(String, Vec<Exported>)]) -> String {
    let mut doc = Map::new();
    for (name, figures) in jobs {
        let mut measures = Map::new();
        for e in figures.iter().filter(|e| e.benchmark()) {
            if let Some(v) = e.machine_value() {
                measures.insert(slug(e), json!({ "value": v }));
            }
        }
        doc.insert(name.clone(), Value::Object(measures));
    }
    pretty(&Value::Object(doc))
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s
}
