//! What `compare` knows of each report and side: its figures (medians for a side), where
//! it came from and how its run ended, and the notes that follow from them (failed runs,
//! reports that differ, partial metrics).

use std::path::{Path, PathBuf};

use crate::model::figures::{FIGURES, Values, by_name};
use crate::model::{Exit, Report};
use crate::output::units;

use super::model::FailedRun;

/// Where one report came from and how its run ended.
#[derive(Clone, Debug)]
pub(super) struct Run {
    pub(super) path: PathBuf,
    pub(super) command: Vec<String>,
    pub(super) hostname: String,
    pub(super) os: String,
    pub(super) memwatch_version: String,
    /// How the command ended; `None` when the report does not say.
    pub(super) exit: Option<Exit>,
    /// memwatch was sent a signal during the job.
    pub(super) interrupted: bool,
    /// memwatch attached to a running process (`memwatch attach`).
    pub(super) attached: bool,
}

impl Run {
    fn of(path: &Path, r: &Report) -> Run {
        Run {
            path: path.to_path_buf(),
            command: r.command.clone(),
            hostname: r.hostname.clone(),
            os: r.os.clone(),
            memwatch_version: r.memwatch_version.clone(),
            exit: r.exit(),
            interrupted: r.interrupted,
            attached: r.attached,
        }
    }

    /// True unless the command exited with status 0 and memwatch was not interrupted. A
    /// report of `memwatch attach` never is: how the process ended is unknown to memwatch,
    /// and a signal to memwatch is how such a watch normally ends.
    pub(super) fn failed(&self) -> bool {
        !self.attached && (self.interrupted || self.exit != Some(Exit::Code(0)))
    }

    /// How a failed run ended, in words: "the command exited with status 3"; `None` for
    /// a successful one.
    pub(super) fn failure(&self) -> Option<String> {
        if !self.failed() {
            return None;
        }
        let ended = self.exit.map(|e| format!("the command {}", e.describe()));
        Some(match (self.interrupted, ended) {
            (false, Some(ended)) => ended,
            (false, None) => "the report does not say how the command ended".to_string(),
            (true, Some(ended)) => format!("memwatch was interrupted by a signal, and {ended}"),
            (true, None) => {
                "memwatch was interrupted by a signal before the command ended".to_string()
            }
        })
    }

    /// The same, short, for the verdict and the scaling table: "exited with status 3",
    /// "killed by signal 9 (SIGKILL)", "interrupted, killed by signal 15 (SIGTERM)".
    pub(super) fn failure_short(&self) -> Option<String> {
        if !self.failed() {
            return None;
        }
        let ended = self.exit.map(|e| {
            let d = e.describe();
            d.strip_prefix("was ").map(str::to_string).unwrap_or(d)
        });
        Some(match (self.interrupted, ended) {
            (false, Some(ended)) => ended,
            (false, None) => "end unknown".to_string(),
            (true, Some(ended)) => format!("interrupted, {ended}"),
            (true, None) => "interrupted".to_string(),
        })
    }
}

/// One column of a comparison: a report, or a side's several reports.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) label: String,
    pub(super) paths: Vec<PathBuf>,
    pub(super) command: Vec<String>,
    pub(super) intervals: Vec<u64>,
    /// Each figure: the report's, or the median of the side's reports.
    pub(super) values: Values,
    /// Reports whose extra metric missed processes it could not read, and how many.
    pub(super) partial_metric: Vec<(PathBuf, u64)>,
    /// The keys of the figures that leave processes out in one of its reports (lower
    /// bounds).
    pub(super) lower_bounds: Vec<&'static str>,
    /// Each report's origin and end, in the order of `paths`.
    pub(super) runs: Vec<Run>,
}

impl Entry {
    pub(super) fn new(label: String, paths: Vec<PathBuf>, reports: &[Report]) -> Entry {
        let all: Vec<Values> = reports.iter().map(Values::of).collect();
        let mut intervals: Vec<u64> = reports.iter().map(|r| r.interval_ms).collect();
        intervals.sort_unstable();
        intervals.dedup();
        let partial_metric = paths
            .iter()
            .zip(reports)
            .filter(|(_, r)| r.processes_metric_unreadable > 0)
            .map(|(p, r)| (p.clone(), r.processes_metric_unreadable))
            .collect();
        let runs = paths
            .iter()
            .zip(reports)
            .map(|(p, r)| Run::of(p, r))
            .collect();
        let lower_bounds = FIGURES
            .iter()
            .filter(|f| reports.iter().any(|r| f.of(r).is_some() && (f.partial)(r)))
            .map(|f| f.key)
            .collect();
        Entry {
            label,
            paths,
            partial_metric,
            lower_bounds,
            runs,
            command: reports
                .first()
                .map(|r| r.command.clone())
                .unwrap_or_default(),
            intervals,
            values: Values::median(&all),
        }
    }
}

/// The reports of failed runs, in order.
pub(super) fn failures(entries: &[Entry]) -> Vec<FailedRun> {
    entries
        .iter()
        .flat_map(|e| {
            e.runs.iter().filter_map(|run| {
                let reason = run.failure()?;
                Some(FailedRun {
                    report: run.path.display().to_string(),
                    label: e.label.clone(),
                    exit_code: match run.exit {
                        Some(Exit::Code(c)) => Some(c),
                        _ => None,
                    },
                    signal: match run.exit {
                        Some(Exit::Signal(s)) => Some(s),
                        _ => None,
                    },
                    interrupted: run.interrupted,
                    reason,
                })
            })
        })
        .collect()
}

/// The notes printed before the verdict, and the report fields that differ (`differs`).
/// `commands`: whether differing command lines are noted (not in a scaling table, whose
/// commands differ by design).
pub(super) fn notes(entries: &[Entry], commands: bool) -> (Vec<String>, Vec<&'static str>) {
    let mut notes: Vec<String> = failures(entries)
        .iter()
        .map(|f| {
            format!(
                "note: {} ({}) is of a failed run: {}",
                f.report, f.label, f.reason
            )
        })
        .collect();
    let mut differs = Vec::new();
    for (field, note) in differences(entries, commands) {
        differs.push(field);
        notes.push(note);
    }
    if let Some(note) = interval_note(entries) {
        differs.push("interval_ms");
        notes.push(note);
    }
    if let Some(warning) = achieved_warning(entries) {
        differs.push("interval_achieved_mean_ms");
        notes.push(warning);
    }
    let pss = by_name("pss").is_some_and(|f| entries.iter().any(|e| e.values.get(f).is_some()));
    let metric = if pss { "PSS" } else { "footprint" };
    for (path, n) in entries.iter().flat_map(|e| &e.partial_metric) {
        notes.push(format!(
            "note: {}: the {metric} of {} could not be read (another user's, or setuid), so \
             its max total {metric} is a lower bound",
            path.display(),
            units::plural(*n, "process", "processes"),
        ));
    }
    (notes, differs)
}

/// The reports' files grouped by a value, in order of first appearance:
/// `a.json, b.json: x; c.json: y`; `None` when all have the same value.
fn grouped<K: PartialEq>(
    runs: &[&Run],
    key: impl Fn(&Run) -> K,
    show: fn(&Run) -> String,
) -> Option<String> {
    let mut groups: Vec<(K, String, Vec<String>)> = Vec::new();
    for run in runs {
        let k = key(run);
        let file = run.path.display().to_string();
        match groups.iter_mut().find(|(g, _, _)| *g == k) {
            Some((_, _, files)) if files.contains(&file) => {}
            Some((_, _, files)) => files.push(file),
            None => groups.push((k, show(run), vec![file])),
        }
    }
    (groups.len() > 1).then(|| {
        groups
            .iter()
            .map(|(_, value, files)| format!("{}: {value}", files.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Command lines (when `commands`), hosts, memwatch versions and OSes that differ between
/// the reports: each field's name and note.
fn differences(entries: &[Entry], commands: bool) -> Vec<(&'static str, String)> {
    let runs: Vec<&Run> = entries.iter().flat_map(|e| &e.runs).collect();
    let mut out = Vec::new();
    let mut note = |field: &'static str, groups: Option<String>, what: &str, hint: &str| {
        if let Some(g) = groups {
            out.push((field, format!("note: the reports {what} ({g}){hint}")));
        }
    };
    if commands {
        let show = |r: &Run| units::short_command(&r.command.join(" "), 200);
        let groups = grouped(&runs, |r| r.command.clone(), show);
        note("command", groups, "ran different commands", "");
    }
    let groups = grouped(&runs, |r| r.hostname.clone(), |r| r.hostname.clone());
    note("hostname", groups, "were made on different hosts", "");
    let version = |r: &Run| r.memwatch_version.clone();
    let groups = grouped(&runs, version, version);
    note(
        "memwatch_version",
        groups,
        "were written by different memwatch versions",
        "",
    );
    let groups = grouped(&runs, |r| r.os.clone(), |r| r.os.clone());
    note(
        "os",
        groups,
        "were made on different operating systems",
        ": RSS does not count the same memory on each",
    );
    out
}

/// Achieved intervals more than this many times apart make peaks not comparable.
pub(super) const ACHIEVED_APART: f64 = 1.5;

/// The warning when the entries were sampled at achieved intervals (their mean gaps
/// between samples) more than [`ACHIEVED_APART`] times apart: a run sampled less often
/// sees less of its short peaks, whatever interval was asked for.
fn achieved_warning(entries: &[Entry]) -> Option<String> {
    let f = by_name("interval")?;
    let known: Vec<(&Entry, f64)> = entries
        .iter()
        .filter_map(|e| Some((e, e.values.get(f)?)))
        .collect();
    let lo = known.iter().map(|k| k.1).fold(f64::INFINITY, f64::min);
    let hi = known.iter().map(|k| k.1).fold(0.0, f64::max);
    if known.len() < 2 || lo <= 0.0 || hi <= ACHIEVED_APART * lo {
        return None;
    }
    let list: Vec<String> = known
        .iter()
        .map(|(e, v)| format!("{}: {}", e.label, units::Interval(*v)))
        .collect();
    Some(format!(
        "warning: the reports were sampled at very different achieved intervals ({}): their \
         peaks are not comparable, since the one sampled less often can miss more of a \
         short peak (see interval_achieved_mean_ms)",
        list.join("; ")
    ))
}

fn interval_note(entries: &[Entry]) -> Option<String> {
    let mut all: Vec<u64> = entries.iter().flat_map(|e| e.intervals.clone()).collect();
    all.sort_unstable();
    all.dedup();
    (all.len() > 1).then(|| {
        let list: Vec<String> = all.iter().map(|ms| format!("{ms} ms")).collect();
        format!(
            "note: the reports were sampled at different intervals ({}): a coarser interval can miss short peaks",
            list.join(", ")
        )
    })
}
