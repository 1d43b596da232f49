//! `compare` of two sweep files (`memwatch sweep`'s `sweep.json`): value by value, each
//! value's median of the figure (`--metric`, default the max total RSS) base against new,
//! the same `--max-increase` gate applied to each value, and the line's cost per unit side
//! by side ("did this branch make the per-rank cost worse?").

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Outcome, Status};
use crate::model::figures::Figure;
use crate::model::sweep::{Param, Point, Sweep, read_if_sweep};
use crate::output::table::{self, Align};
use crate::output::{Format, units};

use super::model::{COMPARE_VERSION, Check, percent};
use super::{Config, Plan, check, render};

/// One value of the parameter, base against new (`values[]`).
#[derive(Debug, Serialize)]
struct ValueJson {
    /// The value.
    value: Param,
    /// Base's median, in the figure's unit (whole KiB); `null` when unknown.
    #[serde(rename = "base")]
    base_json: Option<serde_json::Value>,
    /// New's median.
    #[serde(rename = "new")]
    new_json: Option<serde_json::Value>,
    /// New minus base.
    #[serde(rename = "change")]
    change_json: Option<serde_json::Value>,
    #[serde(skip)]
    base: Option<f64>,
    #[serde(skip)]
    new: Option<f64>,
    #[serde(skip)]
    change: Option<f64>,
    /// The change as a percentage of base.
    percent: Option<f64>,
    /// The check of this value against `--max-increase`; `null` without a limit or a value.
    check: Option<Check>,
    /// Failed runs of this value, on both sides.
    failed_runs: u32,
}

/// `compare --json` of two sweeps.
#[derive(Debug, Serialize)]
struct SweepCompareJson {
    compare_version: u32,
    /// `sweep`.
    kind: &'static str,
    parameter: String,
    base: String,
    new: String,
    /// The figure compared (its report key).
    figure: &'static str,
    values: Vec<ValueJson>,
    /// Each side's cost per unit (the fit's slope), KiB; `null` where a side has no fit.
    slope_kib_per_unit: [Option<f64>; 2],
    verdict: String,
    notes: Vec<String>,
    exit_code: i32,
}

/// When the plan compares two files and they are sweeps: the comparison, printed. `None`
/// when they are reports (the usual comparison then reads them).
pub(super) fn run_if_sweeps(cfg: &Config) -> Result<Option<Outcome>, Error> {
    let Plan::Pair { base, new } = &cfg.plan else {
        return Ok(None);
    };
    let ([b], [n]) = (base.as_slice(), new.as_slice()) else {
        return Ok(None);
    };
    let (bs, ns) = match (read_if_sweep(b)?, read_if_sweep(n)?) {
        (Some(x), Some(y)) => (x, y),
        (None, None) => return Ok(None),
        (_, lone) => {
            let (path, other) = if lone.is_some() { (n, b) } else { (b, n) };
            return Err(Error::Input {
                path: path.clone(),
                message: format!(
                    "is a sweep file and {} is a run's report: compare a sweep with another sweep",
                    other.display()
                ),
            });
        }
    };
    let json = compare(cfg, (b, &bs), (n, &ns))?;
    let text = match cfg.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Human => human(&json, cfg.figure, (b, &bs), (n, &ns)),
    };
    crate::sys::unix::file::print("comparison", text.as_bytes())?;
    Ok(Some(Outcome::Status(if json.exit_code == 0 {
        Status::Ok
    } else {
        Status::GateFailed
    })))
}

/// A point's median of `f`.
fn median(p: &Point, f: &Figure) -> Option<f64> {
    p.medians.get(f)
}

fn compare(
    cfg: &Config,
    (bp, b): (&Path, &Sweep),
    (np, n): (&Path, &Sweep),
) -> Result<SweepCompareJson, Error> {
    let f = cfg.figure;
    let mut notes = notes(b, n, (bp, np));
    let pairs: Vec<(&Point, &Point)> = b
        .points
        .iter()
        .filter_map(|p| Some((p, n.points.iter().find(|q| q.value.same(&p.value))?)))
        .collect();
    if pairs.is_empty() {
        return Err(Error::Input {
            path: np.to_path_buf(),
            message: format!(
                "has no value of {} measured in {} too: nothing to compare",
                n.parameter,
                bp.display()
            ),
        });
    }
    let failed: u32 = pairs
        .iter()
        .map(|(x, y)| x.failed_runs + y.failed_runs)
        .sum();
    let cut_short = b.interrupted || n.interrupted;
    let gate_fails_on_runs = cfg.limit.is_some() && !cfg.allow_failed && (failed > 0 || cut_short);
    let mut values = Vec::new();
    for (x, y) in pairs {
        values.push(value(cfg, (bp, b, x), (np, n, y), gate_fails_on_runs)?);
    }
    if failed > 0 {
        notes.push(format!(
            "note: {failed} run(s) of the values compared failed (left out of their medians; see each sweep's warnings)"
        ));
    }
    let verdict = verdict(cfg, f, &b.parameter, &values, gate_fails_on_runs, cut_short);
    let exceeded = values
        .iter()
        .any(|v| v.check.as_ref().is_some_and(|c| c.exceeded));
    Ok(SweepCompareJson {
        compare_version: COMPARE_VERSION,
        kind: "sweep",
        parameter: b.parameter.clone(),
        base: bp.display().to_string(),
        new: np.display().to_string(),
        figure: f.key,
        values,
        slope_kib_per_unit: [
            b.fit.map(|x| x.slope_kib_per_unit),
            n.fit.map(|x| x.slope_kib_per_unit),
        ],
        verdict,
        notes,
        exit_code: i32::from(gate_fails_on_runs || exceeded),
    })
}

/// One value compared, base's point `x` against new's `y`; checked against the limit
/// unless failed runs fail the gate anyway (then an unknown figure is no error).
fn value(
    cfg: &Config,
    (bp, b, x): (&Path, &Sweep, &Point),
    (np, n, y): (&Path, &Sweep, &Point),
    gate_fails_on_runs: bool,
) -> Result<ValueJson, Error> {
    let f = cfg.figure;
    let (bv, nv) = (median(x, f), median(y, f));
    let check = match (&cfg.limit, bv, nv) {
        (Some(limit), Some(bv), Some(nv)) => Some(check(f, limit, bv, nv, gate_fails_on_runs)),
        (Some(_), _, _) if !gate_fails_on_runs => {
            let (path, side, p) = if bv.is_none() { (bp, b, x) } else { (np, n, y) };
            let why = if p.median_max_total_rss_kib.is_none() {
                "no run succeeded there".to_string()
            } else {
                format!("the sweep was made without --metric {}", f.name)
            };
            return Err(Error::Input {
                path: path.to_path_buf(),
                message: format!(
                    "{} is unknown at {}={} ({why}): cannot check --max-increase",
                    f.noun, side.parameter, x.value.text
                ),
            });
        }
        _ => None,
    };
    let change = bv.zip(nv).map(|(a, c)| c - a);
    Ok(ValueJson {
        value: x.value.clone(),
        base_json: bv.map(|v| f.unit.json(v)),
        new_json: nv.map(|v| f.unit.json(v)),
        change_json: change.map(|v| f.unit.json(v)),
        base: bv,
        new: nv,
        change,
        percent: bv.zip(nv).and_then(|(a, c)| percent(a, c)),
        check,
        failed_runs: x.failed_runs + y.failed_runs,
    })
}

/// Values measured on one side only, and what differs between the sweeps.
fn notes(b: &Sweep, n: &Sweep, (bp, np): (&Path, &Path)) -> Vec<String> {
    let mut notes = Vec::new();
    for (one, other, path) in [(b, n, bp), (n, b, np)] {
        let only: Vec<&str> = one
            .points
            .iter()
            .filter(|p| !other.points.iter().any(|q| q.value.same(&p.value)))
            .map(|p| p.value.text.as_str())
            .collect();
        if !only.is_empty() {
            notes.push(format!(
                "note: {}={} measured only in {}: not compared",
                one.parameter,
                only.join(", "),
                path.display()
            ));
        }
        if one.interrupted {
            notes.push(format!(
                "note: {} is of an interrupted sweep: its values were not all measured",
                path.display()
            ));
        }
    }
    let differs = |what: &str, x: String, y: String| {
        (x != y).then(|| {
            format!(
                "note: the sweeps {what} ({}: {x}; {}: {y})",
                bp.display(),
                np.display()
            )
        })
    };
    notes.extend(differs(
        "vary different parameters",
        b.parameter.clone(),
        n.parameter.clone(),
    ));
    notes.extend(differs(
        "ran different commands",
        b.command.join(" "),
        n.command.join(" "),
    ));
    notes.extend(differs(
        "were made on different hosts",
        b.hostname.clone(),
        n.hostname.clone(),
    ));
    notes.extend(differs(
        "were sampled at different intervals",
        format!("{} ms", b.interval_ms),
        format!("{} ms", n.interval_ms),
    ));
    notes
}

/// The one-line verdict.
fn verdict(
    cfg: &Config,
    f: &Figure,
    name: &str,
    values: &[ValueJson],
    gate_fails_on_runs: bool,
    cut_short: bool,
) -> String {
    let at = |v: &ValueJson| format!("{name}={}", v.value.text);
    if gate_fails_on_runs {
        let why = if cut_short {
            "a sweep was interrupted"
        } else {
            "runs failed"
        };
        return format!(
            "FAIL: {why}; a comparison with failed runs proves nothing (--allow-failed compares anyway)"
        );
    }
    let over: Vec<String> = values
        .iter()
        .filter_map(|v| {
            let c = v.check.as_ref().filter(|c| c.exceeded)?;
            Some(format!(
                "{} ({} to {}, {}, at most {} allowed)",
                at(v),
                units::value(f.unit, c.base),
                units::value(f.unit, c.new),
                units::percent(percent(c.base, c.new)),
                units::value(f.unit, c.allowed)
            ))
        })
        .collect();
    let largest = values
        .iter()
        .filter_map(|v| Some((v.percent?, v)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(String::new, |(p, v)| {
            format!("; largest change {} at {}", units::percent(Some(p)), at(v))
        });
    let limit = values.iter().find_map(|v| v.check.as_ref());
    match limit {
        None => format!(
            "{} compared at {name} = {}{largest}; no limit checked (--max-increase)",
            f.noun,
            shown(values)
        ),
        Some(c) if !over.is_empty() => format!(
            "FAIL: {} rose over the limit of {} at {}",
            f.noun,
            render::limit_text(f, c),
            over.join(", ")
        ),
        Some(c) => format!(
            "OK: {} within the limit of {} at every value of {name} compared ({}){largest}{}",
            f.noun,
            render::limit_text(f, c),
            shown(values),
            if cfg.allow_failed {
                " (failed runs compared anyway: --allow-failed)"
            } else {
                ""
            }
        ),
    }
}

/// The values compared: `1, 2, 4`, or how many when there are many.
fn shown(values: &[ValueJson]) -> String {
    if values.len() <= 8 {
        let v: Vec<&str> = values.iter().map(|v| v.value.text.as_str()).collect();
        v.join(", ")
    } else {
        format!("{} values", values.len())
    }
}

/// The comparison as text.
fn human(
    j: &SweepCompareJson,
    f: &Figure,
    (bp, b): (&Path, &Sweep),
    (np, n): (&Path, &Sweep),
) -> String {
    let mut out = String::new();
    for (label, path, s) in [("base:", bp, b), ("new: ", np, n)] {
        let _ = writeln!(
            out,
            "{label} {} (sweep of {}, {} each: {})",
            path.display(),
            s.parameter,
            units::plural(u64::from(s.runs_per_value), "run", "runs"),
            units::short_command(&s.command.join(" "), 80)
        );
    }
    out.push('\n');
    let mut rows = vec![vec![
        j.parameter.clone(),
        "base".into(),
        "new".into(),
        "change".into(),
        String::new(),
    ]];
    for v in &j.values {
        rows.push(vec![
            v.value.text.clone(),
            units::value_or_unknown(f.unit, v.base),
            units::value_or_unknown(f.unit, v.new),
            v.change
                .map_or_else(String::new, |c| units::change(f.unit, c)),
            v.change
                .map_or_else(String::new, |_| units::percent(v.percent)),
        ]);
    }
    out.push_str(&table::render(
        &rows,
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        2,
    ));
    let _ = writeln!(
        out,
        "  ({}: medians over each value's successful runs)\n",
        f.label
    );
    if let [Some(x), Some(y)] = j.slope_kib_per_unit {
        let _ = writeln!(
            out,
            "Cost per unit of {} (the slope of each sweep's line through its max total RSS): {} in base, {} in new ({})",
            j.parameter,
            units::iec_signed(x),
            units::iec_signed(y),
            units::percent(percent(x, y))
        );
    }
    for note in &j.notes {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(out, "{}", j.verdict);
    out
}
