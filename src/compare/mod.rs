//! `memwatch compare`: reports side by side, a regression verdict, scaling tables.
//!
//! Two reports (or `--base …` and `--new …`, whose figures are the medians of their
//! reports) give a change table and a one-line verdict, checked against `--max-increase`
//! when given. Three or more give a scaling table with each figure's ratio to the first.
//! Two sweep files are compared value by value (`sweeps`). Every figure comes from the
//! figure table ([`crate::model::figures`]).

mod entries;
pub(crate) mod model;
mod render;
mod sweeps;

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::error::{Error, Outcome, Status};
use crate::model::figures::{FIGURES, Figure, Scaling};
use crate::model::gate::{MaxRss, MaxRssCheck};
use crate::model::quantity::{Amount, Quantity};
use crate::output::{Format, gate, labels, units};
use entries::{Entry, failures, notes};
use model::{COMPARE_VERSION, Changes, Check, CompareJson, EntryJson, Kind, Ratios};

/// Which reports to compare, and how.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Plan {
    /// Base against new; a side of several reports is their median.
    Pair {
        /// The base side's reports.
        base: Vec<PathBuf>,
        /// The new side's reports.
        new: Vec<PathBuf>,
    },
    /// Three or more reports, ratios to the first.
    Scaling(Vec<PathBuf>),
    /// One report, checked against `--max-rss`.
    Single(PathBuf),
}

/// A checked `memwatch compare` command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The reports.
    pub plan: Plan,
    /// The figure of the verdict and the gate (`--metric`).
    pub figure: &'static Figure,
    /// `--max-increase`, checked to fit the figure.
    pub limit: Option<Quantity>,
    /// `--max-rss`: the absolute limit of the figure (a memory figure) in the one report,
    /// or the new side.
    pub max_rss: Option<MaxRss>,
    /// `--label`s, as many as the plan takes, or none.
    pub labels: Vec<String>,
    /// `--allow-failed`.
    pub allow_failed: bool,
    /// Tables or JSON.
    pub format: Format,
}

/// The comparison, ready to print.
#[derive(Debug)]
struct Comparison {
    json: CompareJson,
    entries: Vec<Entry>,
}

/// Run `memwatch compare`.
pub(crate) fn run(cfg: &Config) -> Result<Outcome, Error> {
    if let Some(done) = sweeps::run_if_sweeps(cfg)? {
        return Ok(done);
    }
    let c = compare(cfg)?;
    let text = match cfg.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&c.json).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Human => render::human(&c),
    };
    // A reader that stopped early (`| head`) does not change the verdict's exit code.
    crate::sys::unix::file::print("comparison", text.as_bytes())?;
    Ok(Outcome::Status(if c.json.exit_code == 0 {
        Status::Ok
    } else {
        Status::GateFailed
    }))
}

fn compare(cfg: &Config) -> Result<Comparison, Error> {
    let load = |paths: &[PathBuf]| -> Result<Vec<_>, Error> {
        paths
            .iter()
            .map(|p| crate::model::io::read_report(p))
            .collect()
    };
    match &cfg.plan {
        Plan::Pair { base, new } => {
            let (b, n) = (load(base)?, load(new)?);
            let (lb, ln) = match cfg.labels.as_slice() {
                [a, b] => (a.clone(), b.clone()),
                _ => ("base".to_string(), "new".to_string()),
            };
            let entries = vec![
                Entry::new(lb, base.clone(), &b),
                Entry::new(ln, new.clone(), &n),
            ];
            let gates = Gates {
                increase: cfg.limit.as_ref(),
                max_rss: cfg.max_rss.as_ref(),
                allow_failed: cfg.allow_failed,
            };
            pair(entries, cfg.figure, &gates)
        }
        Plan::Single(path) => {
            let r = load(std::slice::from_ref(path))?;
            let label = cfg.labels.first().cloned().unwrap_or("report".to_string());
            let entries = vec![Entry::new(label, vec![path.clone()], &r)];
            let limit = cfg.max_rss.as_ref().ok_or_else(|| {
                Error::usage("one report is checked against --max-rss, which is missing")
            })?;
            single(entries, cfg.figure, limit, cfg.allow_failed)
        }
        Plan::Scaling(paths) => {
            let reports = load(paths)?;
            let labels = if cfg.labels.is_empty() {
                let cmds: Vec<&[String]> = reports.iter().map(|r| r.command.as_slice()).collect();
                let ps: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
                labels::distinguishing(&cmds, &ps)
            } else {
                cfg.labels.clone()
            };
            let entries = paths
                .iter()
                .zip(&reports)
                .zip(labels)
                .map(|((p, r), l)| Entry::new(l, vec![p.clone()], std::slice::from_ref(r)))
                .collect();
            Ok(scaling(entries))
        }
    }
}

fn entry_json(e: &Entry, ratio_to_first: Option<Ratios>) -> EntryJson {
    EntryJson {
        label: e.label.clone(),
        reports: e.paths.iter().map(|p| p.display().to_string()).collect(),
        command: e.command.clone(),
        figures: e.values.clone(),
        ratio_to_first,
        failed: e.runs.iter().filter(|r| r.failed()).count(),
    }
}

/// The check of `new` against `base` plus `limit`.
fn check(f: &'static Figure, limit: &Quantity, base: f64, new: f64, failed_runs: bool) -> Check {
    let (limit_percent, limit_amount, allowance) = match limit.amount {
        Amount::Percent(p) => (Some(p), None, base * p / 100.0),
        other => (None, Some(other.value()), other.value()),
    };
    let allowed = base + allowance;
    Check {
        metric: f.name,
        figure: f.key,
        limit: limit.text.clone(),
        limit_percent,
        limit_amount,
        base,
        new,
        allowed,
        exceeded: new > allowed,
        failed_runs,
    }
}

/// A side's value of the gated figure, or the error saying why it is unknown.
fn gated_value(f: &Figure, e: &Entry) -> Result<f64, Error> {
    e.values
        .get(f)
        .ok_or_else(|| unknown_error(f, e, "--max-increase"))
}

/// Why `flag` cannot be checked: `f` is unknown in entry `e`.
fn unknown_error(f: &Figure, e: &Entry, flag: &str) -> Error {
    Error::Input {
        path: e.paths[0].clone(),
        message: format!(
            "{} is unknown ({}{}): cannot check {flag}",
            f.noun,
            f.unknown_reason,
            if e.paths.len() > 1 {
                format!(", in any of the {} reports of this side", e.paths.len())
            } else {
                String::new()
            }
        ),
    }
}

/// The gates of a two-sided comparison.
#[derive(Clone, Copy, Debug, Default)]
struct Gates<'a> {
    /// `--max-increase`.
    increase: Option<&'a Quantity>,
    /// `--max-rss`, of the new side.
    max_rss: Option<&'a MaxRss>,
    /// `--allow-failed`.
    allow_failed: bool,
}

/// The `--max-rss` check of entry `e`'s figure `f`, or the error saying why it is unknown.
fn max_rss_check(f: &Figure, e: &Entry, limit: &MaxRss) -> Result<MaxRssCheck, Error> {
    let value = e.values.get(f);
    if value.is_none() {
        return Err(unknown_error(f, e, "--max-rss"));
    }
    let partial = e.lower_bounds.contains(&f.key);
    Ok(gate::check_value(f, value, partial, limit, false))
}

/// One report against `--max-rss`. A report of a failed run fails the gate unless
/// `allow_failed` (its figure may then be unknown: no check is made).
fn single(
    entries: Vec<Entry>,
    f: &'static Figure,
    limit: &MaxRss,
    allow_failed: bool,
) -> Result<Comparison, Error> {
    let failures = failures(&entries);
    let failed_runs = !allow_failed && !failures.is_empty();
    let check = match max_rss_check(f, &entries[0], limit) {
        Ok(c) => Some(c),
        Err(_) if failed_runs => None,
        Err(e) => return Err(e),
    };
    let verdict = match &check {
        _ if failed_runs => render::failed_verdict(&entries),
        Some(c) if failures.is_empty() => c.verdict.clone(),
        Some(c) => format!(
            "{} (a report of a failed run checked anyway: --allow-failed)",
            c.verdict
        ),
        None => String::new(),
    };
    let exit_code = i32::from(failed_runs || check.as_ref().is_some_and(|c| !c.passed));
    let (notes, differs) = notes(&entries, false);
    let json = CompareJson {
        compare_version: COMPARE_VERSION,
        kind: Kind::Single,
        entries: entries.iter().map(|e| entry_json(e, None)).collect(),
        changes: None,
        check: None,
        max_rss_check: check,
        verdict,
        notes,
        failures,
        differs,
        exit_code,
    };
    Ok(Comparison { json, entries })
}

/// Base and new. With a gate, a report of a failed run fails it unless `allow_failed`;
/// its figure may then be unknown (no check is made, `check` is null).
fn pair(entries: Vec<Entry>, f: &'static Figure, gates: &Gates<'_>) -> Result<Comparison, Error> {
    let (limit, allow_failed) = (gates.increase, gates.allow_failed);
    let (b, n) = (&entries[0], &entries[1]);
    let failures = failures(&entries);
    let gated = limit.is_some() || gates.max_rss.is_some();
    let failed_runs = gated && !allow_failed && !failures.is_empty();
    let check = match limit {
        None => None,
        Some(limit) => match (gated_value(f, b), gated_value(f, n)) {
            (Ok(bv), Ok(nv)) => Some(check(f, limit, bv, nv, failed_runs)),
            // A failed run's unknown figure: the failure is the verdict.
            _ if failed_runs => None,
            (Err(e), _) | (_, Err(e)) => return Err(e),
        },
    };
    let max_rss_check = match gates.max_rss.map(|l| max_rss_check(f, n, l)) {
        Some(Ok(c)) => Some(c),
        Some(Err(_)) if failed_runs => None,
        Some(Err(e)) => return Err(e),
        None => None,
    };
    let verdict = if failed_runs {
        render::failed_verdict(&entries)
    } else {
        let mut v = render::verdict(f, b.values.get(f), n.values.get(f), check.as_ref());
        if gated && !failures.is_empty() {
            let k = failures.len();
            let _ = write!(
                v,
                " ({k} report{} of a failed run compared anyway: --allow-failed)",
                if k == 1 { "" } else { "s" }
            );
        }
        v
    };
    let exit_code = i32::from(
        failed_runs
            || check.as_ref().is_some_and(|c| c.exceeded)
            || max_rss_check.as_ref().is_some_and(|c| !c.passed),
    );
    let (notes, differs) = notes(&entries, true);
    let json = CompareJson {
        compare_version: COMPARE_VERSION,
        kind: Kind::Pair,
        entries: entries.iter().map(|e| entry_json(e, None)).collect(),
        changes: Some(Changes::new(&b.values, &n.values)),
        check,
        max_rss_check,
        verdict,
        notes,
        failures,
        differs,
        exit_code,
    };
    Ok(Comparison { json, entries })
}

/// The summary line of a scaling table: each figure the table says so of, first to last
/// (the optional memory figures, when measured, after the others).
fn scaling_verdict(entries: &[Entry], ratios: &Ratios) -> String {
    let (first, last) = (&entries[0], &entries[entries.len() - 1]);
    let part = |f: &Figure| -> Option<String> {
        let (a, b) = (first.values.get(f), last.values.get(f));
        let ratio = units::ratio(ratios.get(f));
        match f.scaling {
            Scaling::Values | Scaling::Ratio if f.optional && (a.is_none() || b.is_none()) => None,
            Scaling::Values => Some(format!(
                "{} {ratio} ({} to {})",
                f.noun,
                units::value_or_unknown(f.unit, a),
                units::value_or_unknown(f.unit, b)
            )),
            Scaling::Ratio => Some(format!("{} {ratio}", f.noun)),
            Scaling::Absent | Scaling::Hidden => None,
        }
    };
    let core = FIGURES.iter().filter(|f| !f.optional).filter_map(part);
    let optional = FIGURES.iter().filter(|f| f.optional).filter_map(part);
    let parts: Vec<String> = core.chain(optional).collect();
    format!(
        "from {} to {}: {}",
        first.label,
        last.label,
        parts.join(", ")
    )
}

fn scaling(entries: Vec<Entry>) -> Comparison {
    let first = entries[0].values.clone();
    let ratios: Vec<Ratios> = entries
        .iter()
        .map(|e| Ratios::new(&first, &e.values))
        .collect();
    let verdict = scaling_verdict(&entries, &ratios[ratios.len() - 1]);
    let (notes, differs) = notes(&entries, false);
    let json = CompareJson {
        compare_version: COMPARE_VERSION,
        kind: Kind::Scaling,
        entries: entries
            .iter()
            .zip(ratios)
            .map(|(e, r)| entry_json(e, Some(r)))
            .collect(),
        changes: None,
        check: None,
        max_rss_check: None,
        verdict,
        notes,
        failures: failures(&entries),
        differs,
        exit_code: 0,
    };
    Comparison { json, entries }
}

/// Whether some entry has a value of `f`.
fn measured(f: &Figure, entries: &[Entry]) -> bool {
    entries.iter().any(|e| e.values.get(f).is_some())
}

/// The figures a table shows: every one that is not optional, and the optional ones some
/// entry has.
fn shown(entries: &[Entry]) -> impl Iterator<Item = &'static Figure> + '_ {
    FIGURES
        .iter()
        .filter(move |f| !f.optional || measured(f, entries))
}

#[cfg(test)]
mod tests;
