//! `compare --json`: the comparison, machine-readable. Every figure column comes from the
//! figure table ([`crate::model::figures`]), in its order.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::model::figures::{FIGURES, Figure, Values};
use crate::model::gate::MaxRssCheck;

/// Version of the `compare --json` format.
pub(crate) const COMPARE_VERSION: u32 = 1;

/// What kind of comparison it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// Base and new: two reports, or `--base`/`--new`.
    Pair,
    /// Three or more reports, each with ratios to the first.
    Scaling,
    /// One report, checked against `--max-rss`.
    Single,
}

/// The change of one figure, base to new.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Change {
    /// New minus base, in the figure's unit; `None` when either is unknown.
    pub change: Option<f64>,
    /// The change as a percentage of base; `None` when either is unknown, or when base is
    /// 0 and new is not.
    pub percent: Option<f64>,
}

/// `new` as a percentage change of `base` (0 when both are 0, none when only base is).
pub(crate) fn percent(base: f64, new: f64) -> Option<f64> {
    if base == 0.0 {
        (new == 0.0).then_some(0.0)
    } else {
        Some((new - base) / base * 100.0)
    }
}

impl Change {
    /// From `base` to `new`.
    pub(crate) fn of(base: Option<f64>, new: Option<f64>) -> Change {
        match (base, new) {
            (Some(b), Some(n)) => Change {
                change: Some(n - b),
                percent: percent(b, n),
            },
            _ => Change {
                change: None,
                percent: None,
            },
        }
    }
}

/// Each figure's change from base to new (`changes`): an object of the figures' keys, each
/// `{change, percent}`, the change whole for KiB and counts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Changes(pub Vec<Change>);

impl Changes {
    /// Every figure's change from `base` to `new`.
    pub(crate) fn new(base: &Values, new: &Values) -> Changes {
        Changes(
            FIGURES
                .iter()
                .map(|f| Change::of(base.get(f), new.get(f)))
                .collect(),
        )
    }

    /// The change of `f`.
    #[cfg(test)]
    pub(crate) fn get(&self, f: &Figure) -> Change {
        let i = FIGURES.iter().position(|g| std::ptr::eq(g, f)).unwrap_or(0);
        self.0[i]
    }
}

impl Serialize for Changes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One {
            change: Option<serde_json::Value>,
            percent: Option<f64>,
        }
        let mut map = s.serialize_map(Some(FIGURES.len()))?;
        for (f, c) in FIGURES.iter().zip(&self.0) {
            let one = One {
                change: c.change.map(|v| f.unit.json(v)),
                percent: c.percent,
            };
            map.serialize_entry(f.key, &one)?;
        }
        map.end()
    }
}

/// Each figure divided by the first entry's (`ratio_to_first`), for the figures that have a
/// ratio; `None` when either is unknown or the first is 0.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ratios(pub Vec<Option<f64>>);

impl Ratios {
    /// `this` over `first`, figure by figure.
    pub(crate) fn new(first: &Values, this: &Values) -> Ratios {
        Ratios(
            FIGURES
                .iter()
                .map(|f| ratio(first.get(f), this.get(f)))
                .collect(),
        )
    }

    /// The ratio of `f`.
    pub(crate) fn get(&self, f: &Figure) -> Option<f64> {
        let i = FIGURES.iter().position(|g| std::ptr::eq(g, f))?;
        self.0[i]
    }
}

/// `this / first`, when both are known and `first` is not 0.
pub(crate) fn ratio(first: Option<f64>, this: Option<f64>) -> Option<f64> {
    match (first, this) {
        (Some(f), Some(t)) if f > 0.0 => Some(t / f),
        _ => None,
    }
}

impl Serialize for Ratios {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (f, r) in FIGURES.iter().zip(&self.0) {
            if let Some(key) = f.ratio_key {
                map.serialize_entry(key, r)?;
            }
        }
        map.end()
    }
}

/// The `--max-increase` check (`check`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Check {
    /// `--metric`: the figure's name (`total`, `process`, `duration`, …).
    pub metric: &'static str,
    /// The report field checked (`max_total_rss_kib`, …).
    pub figure: &'static str,
    /// `--max-increase` as given (`20%`, `256MiB`).
    pub limit: String,
    /// The limit as a percentage of base, when given as one.
    pub limit_percent: Option<f64>,
    /// The limit as an amount in the figure's unit, when given as one.
    pub limit_amount: Option<f64>,
    /// Base value, in the figure's unit.
    pub base: f64,
    /// New value, in the figure's unit.
    pub new: f64,
    /// The largest new value within the limit (base + limit).
    pub allowed: f64,
    /// True when `new` is above `allowed`: the exit code is then 1.
    pub exceeded: bool,
    /// True when a report (of either side) is of a failed run and `--allow-failed` was not
    /// given: the exit code is then 1 whatever the figures (the reports are in `failures`).
    pub failed_runs: bool,
}

/// One report or side in `entries`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct EntryJson {
    /// `--label`, else `base`/`new` (two sides), else the differing part of the command
    /// lines (or the file name).
    pub label: String,
    /// The report files; with `--base`/`--new` a side's several files, whose medians the
    /// figures are.
    pub reports: Vec<String>,
    /// The command of the (first) report, one string per argument.
    pub command: Vec<String>,
    /// Every figure (the median of the side's reports), `null` when unknown.
    #[serde(flatten)]
    pub figures: Values,
    /// Scaling only (null for two sides): each figure divided by the first entry's.
    pub ratio_to_first: Option<Ratios>,
    /// How many of `reports` are of failed runs (listed in `failures`).
    pub failed: usize,
}

/// A report of a failed run, in `failures`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct FailedRun {
    /// The report file.
    pub report: String,
    /// The label of its entry (`base`, `new`, or its row of a scaling table).
    pub label: String,
    /// The command's exit code, if it exited (the report's `exit_code`).
    pub exit_code: Option<i32>,
    /// The signal that killed the command, if one did (the report's `signal`).
    pub signal: Option<i32>,
    /// memwatch was sent a signal during the job (the report's `interrupted`).
    pub interrupted: bool,
    /// How it ended, as the note says: "the command exited with status 3".
    pub reason: String,
}

/// `memwatch compare --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct CompareJson {
    /// Version of this format ([`COMPARE_VERSION`]).
    pub compare_version: u32,
    /// `pair` or `scaling`.
    pub kind: Kind,
    /// The two sides (base, then new) or the reports, in order.
    pub entries: Vec<EntryJson>,
    /// Pair only (null for scaling): each figure's change from base to new.
    pub changes: Option<Changes>,
    /// The `--max-increase` check; null without a limit.
    pub check: Option<Check>,
    /// The `--max-rss` check of the report (one report) or of the new side (two); null
    /// without `--max-rss`, and when a failed run left the figure unknown.
    pub max_rss_check: Option<MaxRssCheck>,
    /// The verdict (pair) or summary (scaling) line, as printed.
    pub verdict: String,
    /// Notes printed before the verdict: reports of failed runs, reports that differ
    /// (command line, host, memwatch version, OS, sampling interval), partial metrics.
    pub notes: Vec<String>,
    /// The reports of failed runs (the command exited non-zero or was killed, memwatch
    /// was interrupted, or the report does not say how the command ended), in order.
    pub failures: Vec<FailedRun>,
    /// The report fields whose values differ between the reports, each with a note:
    /// `command` (two sides only: a scaling table's commands differ by design),
    /// `hostname`, `memwatch_version`, `os`, `interval_ms`, `interval_achieved_mean_ms` (the
    /// achieved intervals more than [`ACHIEVED_APART`](super::entries::ACHIEVED_APART)
    /// times apart: a warning).
    pub differs: Vec<&'static str>,
    /// The exit code: 0, or 1 when a gate failed (`check.exceeded` or
    /// `check.failed_runs`, or `max_rss_check.passed` false).
    pub exit_code: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::figures::by_name;

    #[test]
    fn changes_and_ratios_serialise_by_figure_key() {
        let mut b = Values::unknown();
        let mut n = Values::unknown();
        let total = by_name("total").unwrap();
        b.set(total, Some(1000.0));
        n.set(total, Some(1500.0));
        let c = serde_json::to_value(Changes::new(&b, &n)).unwrap();
        assert_eq!(c["max_total_rss_kib"]["change"], 500);
        assert_eq!(c["max_total_rss_kib"]["percent"], 50.0);
        assert!(c["duration_seconds"]["change"].is_null());
        let r = serde_json::to_value(Ratios::new(&b, &n)).unwrap();
        assert_eq!(r["max_total_rss"], 1.5);
        assert!(r.get("samples").is_none(), "samples have no ratio");
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(keys.contains(&"processes_total") && keys.contains(&"duration"));
    }
}
