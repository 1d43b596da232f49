//! `compare`'s text: the change table and verdict of two sides, the scaling table, both
//! laid out by [`crate::output::table`] with every row or column from the figure table.

use std::fmt::Write as _;

use crate::model::figures::{Figure, Scaling};
use crate::output::table::{self, Align};
use crate::output::units;

use super::entries::{Entry, Run};
use super::model::{Check, Kind, percent};
use super::{Comparison, shown};

/// The comparison as text.
pub(super) fn human(c: &Comparison) -> String {
    match c.json.kind {
        Kind::Pair => pair(c),
        Kind::Scaling => scaling(c),
        Kind::Single => single(c),
    }
}

/// `+20%`, `+256.0 MiB`: the limit as the verdict says it.
pub(super) fn limit_text(f: &Figure, l: &Check) -> String {
    match (l.limit_percent, l.limit_amount) {
        (Some(p), _) => format!("+{}%", units::trim_float(p)),
        (None, Some(a)) => format!("+{}", units::value(f.unit, a)),
        (None, None) => l.limit.clone(),
    }
}

/// The one-line verdict of a two-sided comparison.
pub(super) fn verdict(
    f: &Figure,
    base: Option<f64>,
    new: Option<f64>,
    check: Option<&Check>,
) -> String {
    let value = |v: f64| units::value(f.unit, v);
    let name = f.noun;
    let movement = match (base, new) {
        (Some(bv), Some(nv)) if value(bv) == value(nv) && bv == nv => {
            format!("{name} unchanged at {}", value(bv))
        }
        (Some(bv), Some(nv)) => format!(
            "{name} {} from {} to {} ({}, {})",
            if nv < bv { "fell" } else { "rose" },
            value(bv),
            value(nv),
            units::change(f.unit, nv - bv),
            units::percent(percent(bv, nv)),
        ),
        (bv, nv) => format!(
            "{name} went from {} to {}",
            units::value_or_unknown(f.unit, bv),
            units::value_or_unknown(f.unit, nv),
        ),
    };
    match check {
        None => format!("{movement}; no limit checked (--max-increase)"),
        Some(c) if c.exceeded => format!(
            "FAIL: {movement}, over the limit of {} (at most {} allowed)",
            limit_text(f, c),
            value(c.allowed)
        ),
        Some(c) => format!("OK: {movement}, within the limit of {}", limit_text(f, c)),
    }
}

/// The verdict when reports of failed runs fail the gate: which, and how each ended.
pub(super) fn failed_verdict(entries: &[Entry]) -> String {
    let failed: Vec<String> = entries
        .iter()
        .flat_map(|e| {
            e.runs.iter().filter_map(move |r| {
                let how = r.failure_short()?;
                Some(format!("{} ({}: {how})", r.path.display(), e.label))
            })
        })
        .collect();
    let k = failed.len();
    format!(
        "FAIL: {k} report{} of {}: {}; a comparison with a failed run proves nothing \
         (--allow-failed compares {} anyway)",
        if k == 1 { " is" } else { "s are" },
        if k == 1 {
            "a failed run"
        } else {
            "failed runs"
        },
        failed.join(", "),
        if k == 1 { "it" } else { "them" },
    )
}

/// `base: main.json (cargo test)`, the label padded to `width` characters.
fn describe_side(e: &Entry, width: usize) -> String {
    let files: Vec<String> = e.paths.iter().map(|p| p.display().to_string()).collect();
    let cmd = units::short_command(&e.command.join(" "), 80);
    let label = format!("{}:", e.label);
    let label = format!("{label:<w$}", w = width + 1);
    if files.len() == 1 {
        format!("{label} {} ({cmd})", files[0])
    } else {
        format!(
            "{label} median of {} reports: {} ({cmd})",
            files.len(),
            files.join(", ")
        )
    }
}

/// The notes, then the verdict, each on its line; then the `--max-rss` verdict of a pair.
fn notes_and_verdict(c: &Comparison, out: &mut String) {
    for note in &c.json.notes {
        out.push_str(note);
        out.push('\n');
    }
    out.push_str(&c.json.verdict);
    out.push('\n');
    if let Some(check) = c
        .json
        .max_rss_check
        .as_ref()
        .filter(|_| c.json.kind == Kind::Pair)
    {
        out.push_str(&check.verdict);
        out.push('\n');
    }
}

/// One report against `--max-rss`: where it came from, its figures, the verdict.
fn single(c: &Comparison) -> String {
    let e = &c.entries[0];
    let mut out = describe_side(e, e.label.chars().count());
    out.push_str("\n\n");
    let rows: Vec<Vec<String>> = shown(&c.entries)
        .map(|f| {
            vec![
                f.label.to_string(),
                units::value_or_unknown(f.unit, e.values.get(f)),
            ]
        })
        .collect();
    out.push_str(&table::render(&rows, &[Align::Left, Align::Right], 0));
    out.push('\n');
    notes_and_verdict(c, &mut out);
    out
}

fn pair(c: &Comparison) -> String {
    let (b, n) = (&c.entries[0], &c.entries[1]);
    let mut out = String::new();
    let width = b.label.chars().count().max(n.label.chars().count());
    for e in [b, n] {
        out.push_str(&describe_side(e, width));
        out.push('\n');
    }
    out.push('\n');
    let mut rows = vec![vec![
        String::new(),
        b.label.clone(),
        n.label.clone(),
        "change".to_string(),
        String::new(),
    ]];
    for f in shown(&c.entries) {
        let (bv, nv) = (b.values.get(f), n.values.get(f));
        let (change, pct) = match (bv, nv) {
            (Some(x), Some(y)) => (units::change(f.unit, y - x), units::percent(percent(x, y))),
            _ => (String::new(), String::new()),
        };
        rows.push(vec![
            f.label.to_string(),
            units::value_or_unknown(f.unit, bv),
            units::value_or_unknown(f.unit, nv),
            change,
            pct,
        ]);
    }
    let align = [
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
    ];
    out.push_str(&table::render(&rows, &align, 0));
    out.push('\n');
    notes_and_verdict(c, &mut out);
    out
}

fn scaling(c: &Comparison) -> String {
    let figures: Vec<&Figure> = shown(&c.entries)
        .filter(|f| f.scaling != Scaling::Hidden)
        .collect();
    let mut header = vec![String::new()];
    let mut align = vec![Align::Left];
    for f in &figures {
        header.push(f.label.to_string());
        align.push(Align::Right);
        if f.ratio_column {
            header.push("ratio".to_string());
            align.push(Align::Right);
        }
    }
    header.push("Report".to_string());
    align.push(Align::Left);
    let mut rows = vec![header];
    for (e, j) in c.entries.iter().zip(&c.json.entries) {
        let ratios = j.ratio_to_first.as_ref();
        let mut row = vec![e.label.clone()];
        for f in &figures {
            row.push(units::value_or_unknown(f.unit, e.values.get(f)));
            if f.ratio_column {
                row.push(units::ratio(ratios.and_then(|r| r.get(f))));
            }
        }
        row.push(e.paths[0].display().to_string());
        if let Some(how) = e.runs.first().and_then(Run::failure_short) {
            row.push(format!("failed: {how}"));
        }
        rows.push(row);
    }
    let mut out = table::render(&rows, &align, 0);
    out.push('\n');
    for note in &c.json.notes {
        out.push_str(note);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Ratios are to the first report ({}).",
        c.entries[0].label
    );
    out.push_str(&c.json.verdict);
    out.push('\n');
    out
}
