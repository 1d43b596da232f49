//! `memwatch merge`: per-node (or per-rank) reports of one job aligned on wall-clock time.
//!
//! Each report's timeline is a step function of wall-clock time: a point's total holds from
//! its instant (`start_time + t_ms`) until the report's next point, and the report counts
//! 0 before its first point and from its `end_time` on. The job's total at an instant is
//! the sum of those steps; the job peak is the largest such sum ([`align`]). The sum of the
//! reports' own peaks is only an upper bound (they need not peak together) and is labelled
//! so. Every other figure is combined as the figure table says.
//!
//! Alignment trusts the nodes' clocks: an offset between two clocks shifts one node's curve
//! against the other's by that much.

mod align;
mod render;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use jiff::Timestamp;

use crate::error::{Error, Outcome, Status};
use crate::model::figures::{FIGURES, Figure, Merge, Totals, Values};
pub use crate::model::merge::{MERGE_VERSION, Merged, MergedProcess, MergedReport};
use crate::model::timeline::DEFAULT_POINTS;
use crate::model::{Metric, Report, io::read_report, launcher};
use crate::output::{Format, units};
use crate::sys::unix::file::{PendingFile, print};
use align::{Series, offset_ms, resolution_ms, series, summed_timeline, sweep, timestamp};
pub(crate) use render::{write_human, write_json};

/// Processes listed by default.
pub(crate) const DEFAULT_TOP: usize = 20;

/// What the alignment assumes, written in every merge (human and JSON) and in `--help`.
pub(crate) const CLOCK_ASSUMPTION: &str = "reports are aligned on each node's own wall clock \
(start_time + offsets): this assumes the nodes' clocks are synchronised (NTP, chrony, PTP); \
an offset between two nodes' clocks shifts their curves against each other by that much";

/// A checked `memwatch merge` command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The reports, one per node or rank.
    pub reports: Vec<PathBuf>,
    /// What the merge is written as.
    pub format: Format,
    /// The file to write; standard output when `None`.
    pub output: Option<PathBuf>,
    /// Processes listed.
    pub top: usize,
}

/// Run `memwatch merge`.
pub(crate) fn run(cfg: &Config) -> Result<Outcome, Error> {
    let inputs = read_all(&cfg.reports)?;
    let merged = merge(&inputs, cfg.top);
    let render = |w: &mut dyn Write| match cfg.format {
        Format::Json => write_json(&merged, w),
        Format::Human => write_human(&merged, w),
    };
    match &cfg.output {
        Some(path) => {
            let failed = |source| Error::Output {
                what: "merged report",
                target: path.display().to_string(),
                source,
                job: None,
            };
            PendingFile::create(path)
                .map_err(failed)?
                .commit(render)
                .map_err(failed)?;
        }
        None => {
            let mut text = Vec::new();
            render(&mut text).expect("writing to memory cannot fail");
            print("merged report", &text)?;
        }
    }
    Ok(Outcome::Status(Status::Ok))
}

/// Read every report, refusing one given twice (it would be counted twice).
fn read_all(paths: &[PathBuf]) -> Result<Vec<(String, Report)>, Error> {
    let mut out: Vec<(String, Report)> = Vec::with_capacity(paths.len());
    for path in paths {
        let r = read_report(path)?;
        let root = |r: &Report| r.processes.iter().find(|p| p.root).map(|p| p.pid);
        if let Some((first, _)) = out.iter().find(|(_, o)| {
            o.hostname == r.hostname
                && o.start_time == r.start_time
                && o.command == r.command
                && root(o) == root(&r)
        }) {
            return Err(Error::Input {
                path: path.clone(),
                message: format!(
                    "the same run as {first} (same host, start time and command): it would be counted twice"
                ),
            });
        }
        out.push((path.display().to_string(), r));
    }
    Ok(out)
}

/// Sort key: numeric rank first (reports without one last), then host, then file.
fn report_order(a: &MergedReport, b: &MergedReport) -> std::cmp::Ordering {
    let num = |r: &MergedReport| r.rank.as_deref().and_then(|s| s.parse::<u64>().ok());
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.rank.cmp(&b.rank),
    }
    .then_with(|| a.hostname.cmp(&b.hostname))
    .then_with(|| a.file.cmp(&b.file))
}

/// "file (host, rank 3)", for messages.
fn who(m: &MergedReport) -> String {
    match &m.rank {
        Some(r) => format!("{} ({}, rank {r})", m.file, m.hostname),
        None => format!("{} ({})", m.file, m.hostname),
    }
}

/// One report's row: its figures, and its total at the job peak (`at_peak`).
fn report_row(file: &str, r: &Report, at_peak: u64) -> MergedReport {
    MergedReport {
        file: file.to_string(),
        hostname: r.hostname.clone(),
        rank: launcher::rank(&r.launcher).map(str::to_string),
        launcher: r.launcher.clone(),
        start_time: r.start_time,
        end_time: r.end_time,
        interval_ms: r.interval_ms,
        timeline_points: r.timeline.len() as u64,
        resolution_ms: resolution_ms(r),
        max_total_rss_time: r.max_total_rss_ms.and_then(|ms| {
            let d = jiff::SignedDuration::from_millis(i64::try_from(ms).ok()?);
            r.start_time.checked_add(d).ok()
        }),
        rss_at_job_peak_kib: at_peak,
        memory_limit: r.memory_limit.clone(),
        figures: Values::of(r),
    }
}

/// The total of `f` over the reports, as the figure table says to add it; `None` when a
/// report does not know it (an unknown value could be anything), and, for a sum of peaks,
/// when a report's value leaves processes out (the sum would not bound the job's).
fn total(f: &Figure, reports: &[&Report]) -> Option<f64> {
    let all_known = || -> Option<f64> {
        reports
            .iter()
            .map(|r| f.of(r))
            .try_fold(0.0, |a, v| v.map(|v| a + v))
            .filter(|_| !reports.is_empty())
    };
    match f.merge {
        Merge::Aligned { .. } | Merge::Sum => all_known(),
        Merge::SumOfPeaks { .. } if reports.iter().any(|r| (f.partial)(r)) => None,
        Merge::SumOfPeaks { .. } => all_known(),
        Merge::Span | Merge::PerReport => None,
    }
}

/// The totals of every figure merge adds up, with warnings for the sums of peaks it cannot
/// give.
fn totals(inputs: &[(String, Report)], warnings: &mut Vec<String>) -> Totals {
    let reports: Vec<&Report> = inputs.iter().map(|(_, r)| r).collect();
    let mut values = Values::unknown();
    for f in FIGURES {
        values.set(f, total(f, &reports));
        if !matches!(f.merge, Merge::SumOfPeaks { .. }) {
            continue;
        }
        let short = f.label.trim_start_matches("Max total ");
        let with = reports.iter().filter(|r| f.of(r).is_some()).count();
        let partial: Vec<&str> = inputs
            .iter()
            .filter(|(_, r)| f.of(r).is_some() && (f.partial)(r))
            .map(|(file, _)| file.as_str())
            .collect();
        if with > 0 && with < reports.len() {
            // The figures of `run --metric` say how to get them; others are missing from
            // older reports or another OS's.
            let how = Metric::ALL
                .iter()
                .find(|m| m.name() == f.name)
                .map_or(String::new(), |m| format!(" (run --metric {})", m.name()));
            warnings.push(format!(
                "only {with} of {} reports have a {short} figure{how}: no {short} sum is given",
                reports.len(),
            ));
        } else if !partial.is_empty() {
            warnings.push(format!(
                "{} could not read the {short} of some processes (another user's, or setuid): \
                 no {short} sum is given, as it would not bound the job's",
                partial.join(", ")
            ));
        }
    }
    lower_bound_sums(inputs, warnings);
    Totals(values)
}

/// The warning when sums merge gives are lower bounds: a report's value leaves processes
/// out (memwatch did not wait for every process of its job, for the CPU times and counts).
fn lower_bound_sums(inputs: &[(String, Report)], warnings: &mut Vec<String>) {
    let partial =
        |f: &Figure, r: &Report| f.merge == Merge::Sum && f.of(r).is_some() && (f.partial)(r);
    let figures: Vec<&str> = FIGURES
        .iter()
        .filter(|f| inputs.iter().any(|(_, r)| partial(f, r)))
        .map(|f| f.noun)
        .collect();
    if figures.is_empty() {
        return;
    }
    let files: Vec<&str> = inputs
        .iter()
        .filter(|(_, r)| FIGURES.iter().any(|f| partial(f, r)))
        .map(|(file, _)| file.as_str())
        .collect();
    warnings.push(format!(
        "{} left out processes memwatch did not wait for (left running): the sums of {} are \
         lower bounds",
        files.join(", "),
        figures.join(", ")
    ));
}

/// The keys of the job figures (the aligned peak, the sums) that are lower bounds: some
/// report's own value leaves processes out.
fn lower_bounds(inputs: &[(String, Report)]) -> Vec<String> {
    FIGURES
        .iter()
        .filter(|f| matches!(f.merge, Merge::Sum | Merge::Aligned { .. }))
        .filter(|f| {
            inputs
                .iter()
                .any(|(_, r)| f.of(r).is_some() && (f.partial)(r))
        })
        .map(|f| f.key.to_string())
        .collect()
}

/// Warnings about reports that do not fit together: no overlap in time, different Slurm
/// jobs, no sample.
fn fit_warnings(inputs: &[(String, Report)], rows: &[MergedReport], warnings: &mut Vec<String>) {
    if inputs.len() > 1 {
        let span = |r: &Report| (r.start_time, r.end_time.max(r.start_time));
        let overlaps = |i: usize, j: usize| {
            let (a0, a1) = span(&inputs[i].1);
            let (b0, b1) = span(&inputs[j].1);
            a0 <= b1 && b0 <= a1
        };
        let lonely: Vec<usize> = (0..inputs.len())
            .filter(|&i| (0..inputs.len()).all(|j| j == i || !overlaps(i, j)))
            .collect();
        if lonely.len() == inputs.len() {
            warnings.push(
                "no two reports overlap in time: they cannot be parts of one job run, or the \
                 nodes' clocks are far apart; the job peak is then the largest single report's"
                    .to_string(),
            );
        } else {
            for i in lonely {
                let m = &rows[i];
                warnings.push(format!(
                    "{} does not overlap any other report in time (it ran {} to {}): another \
                     run, or its node's clock is off",
                    who(m),
                    render::human_time(m.start_time),
                    render::human_time(m.end_time),
                ));
            }
        }
    }
    let jobs: BTreeSet<&str> = inputs
        .iter()
        .filter_map(|(_, r)| r.launcher.get("SLURM_JOB_ID").map(String::as_str))
        .collect();
    if jobs.len() > 1 {
        warnings.push(format!(
            "the reports come from different Slurm jobs ({})",
            jobs.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    for (m, (_, r)) in rows.iter().zip(inputs) {
        if r.max_total_rss_kib.is_none() {
            warnings.push(format!(
                "{} has no sample of its job (it ended before memwatch could measure it)",
                who(m)
            ));
        }
    }
}

/// The processes with the largest peaks across the reports, largest first, `top` of them.
fn largest_processes(inputs: &[(String, Report)], top: usize) -> Vec<MergedProcess> {
    let mut processes: Vec<MergedProcess> = inputs
        .iter()
        .flat_map(|(file, r)| {
            let rank = launcher::rank(&r.launcher).map(str::to_string);
            r.processes.iter().map(move |p| MergedProcess {
                hostname: r.hostname.clone(),
                rank: rank.clone(),
                file: file.clone(),
                pid: p.pid,
                ppid: p.ppid,
                command: p.command.clone(),
                max_rss_kib: p.max_rss_kib,
                first_seen: p.first_seen,
                last_seen: p.last_seen,
            })
        })
        .collect();
    processes.sort_by(|a, b| {
        b.max_rss_kib
            .cmp(&a.max_rss_kib)
            .then(a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.hostname.cmp(&b.hostname))
            .then(a.pid.cmp(&b.pid))
    });
    processes.truncate(top);
    processes
}

/// Merge reports (each with the name of the file it came from); `top` processes are kept.
pub(crate) fn merge(inputs: &[(String, Report)], top: usize) -> Merged {
    let all: Vec<Series> = inputs.iter().map(|(_, r)| series(r)).collect();
    let sw = sweep(&all);
    let start_time = inputs
        .iter()
        .map(|(_, r)| r.start_time)
        .min()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let end_time = inputs
        .iter()
        .map(|(_, r)| r.end_time.max(r.start_time))
        .max()
        .unwrap_or(start_time);
    let mut reports: Vec<MergedReport> = inputs
        .iter()
        .enumerate()
        .map(|(i, (file, r))| report_row(file, r, sw.peak.as_ref().map_or(0, |p| p.2[i])))
        .collect();
    let mut warnings = Vec::new();
    fit_warnings(inputs, &reports, &mut warnings);
    // Reports say whether their timeline was thinned; for older ones, more samples than
    // points is the sign (which a sample with no total, and so no point, can also give).
    let thinned = inputs
        .iter()
        .filter(|(_, r)| {
            r.timeline_thinned
                .unwrap_or(r.samples > r.timeline.len() as u64)
        })
        .count();
    let resolution = reports.iter().map(|r| r.resolution_ms).max().unwrap_or(0);
    if thinned > 0 {
        warnings.push(format!(
            "{thinned} of {} reports had their timelines thinned to at most {DEFAULT_POINTS} \
             points (each keeping its span's largest total): the job peak is an upper bound at \
             a resolution of {}",
            reports.len(),
            units::millis(resolution),
        ));
    }
    let totals = totals(inputs, &mut warnings);
    let hosts: BTreeSet<String> = inputs.iter().map(|(_, r)| r.hostname.clone()).collect();
    reports.sort_by(report_order);
    // With no report that measured its job, the summed curve is all zeros of jobs that
    // had ended: the job peak is unknown, not 0.
    let any_measured = inputs.iter().any(|(_, r)| r.max_total_rss_kib.is_some());
    let (max_total_rss_kib, max_total_rss_time) = match &sw.peak {
        Some((t, sum, _)) if any_measured => (Some(*sum), Some(timestamp(*t))),
        _ => (None, None),
    };
    Merged {
        merge_version: MERGE_VERSION,
        memwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        clock: CLOCK_ASSUMPTION.to_string(),
        start_time,
        end_time,
        duration_seconds: end_time.duration_since(start_time).as_secs_f64(),
        hosts: hosts.into_iter().collect(),
        max_total_rss_kib,
        max_total_rss_time,
        max_total_rss_ms: max_total_rss_time.map(|t| offset_ms(start_time, t)),
        max_total_rss_is_upper_bound: thinned > 0,
        resolution_ms: resolution,
        totals,
        lower_bounds: lower_bounds(inputs),
        reports,
        processes: largest_processes(inputs, top),
        warnings,
        timeline: summed_timeline(&sw.curve, start_time.as_microsecond()),
    }
}

#[cfg(test)]
mod tests;
