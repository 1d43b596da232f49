//! `memwatch merge`: per-node (or per-rank) reports of one job aligned on wall-clock time.
//!
//! Each report's timeline is a step function of wall-clock time: a point's total holds from
//! its instant (`start_time + t_ms`) until the report's next point, and the report counts
//! 0 before its first point and from its `end_time` on. The job's total at an instant is
//! the sum of those steps; the job peak is the largest such sum. The sum of the reports'
//! own peaks is only an upper bound (they need not peak together) and is labelled so.
//!
//! Alignment trusts the nodes' clocks: an offset between two clocks shifts one node's curve
//! against the other's by that much.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, os_message};
use crate::output::file::PendingFile;
use crate::output::human::{self, iec, iec_or_unknown, short_command};
use crate::report::Report;
use crate::timeline::{DEFAULT_POINTS, Point, Timeline};

/// Version of the `merge --json` format.
pub const MERGE_VERSION: u32 = 1;

/// Processes listed by default.
pub const DEFAULT_TOP: usize = 20;

/// What the alignment assumes, written in every merge (human and JSON) and in `--help`.
pub const CLOCK_ASSUMPTION: &str = "reports are aligned on each node's own wall clock \
(start_time + offsets): this assumes the nodes' clocks are synchronised (NTP, chrony, PTP); \
an offset between two nodes' clocks shifts their curves against each other by that much";

const LONG_HELP: &str = "\
How the job peak is found: every report's timeline is placed on wall-clock time
(its start_time + each point's t_ms). A report's total holds from one point until its
next one, and counts 0 before its first point and after its end_time. At every instant
the reports' totals are added; the job peak is the largest of these sums, with its time.
The sum of the reports' own peaks is shown only as an upper bound: nodes rarely peak at
the same moment, and adding their peaks overstates the job's.

Clocks: the alignment assumes the nodes' clocks are synchronised (NTP, chrony or PTP,
which usually keep them within a few milliseconds). An offset between two clocks shifts
those nodes' curves by that much; it matters when it approaches the sampling interval.
Long jobs: a report's timeline keeps at most 2000 points, each the largest total of its
span, so for those the job peak is an upper bound at the timeline's resolution.

Examples:
  srun memwatch run -o mem-%h-%r.json -- ./app
  memwatch merge mem-*.json
  memwatch merge mem-*.json --json -o job.json

Exit status: 0 on success, 2 if a report cannot be read, 125 if the output cannot be
written.";

/// `memwatch merge`.
#[derive(Debug, Args)]
#[command(after_long_help = LONG_HELP)]
pub struct MergeArgs {
    /// Reports (JSON, from `memwatch run --json` or `-o x.json`), one per node or per
    /// rank of the same job. Their clocks are assumed synchronised (NTP); see --help.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,

    /// Write the merge as JSON (fields in the README) instead of the human summary.
    #[arg(long)]
    pub json: bool,

    /// Write to this file (atomically) instead of standard output. JSON if --json is given
    /// or the name ends in .json, else the human summary.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// List this many processes (the largest peaks across all reports).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    pub top: usize,
}

/// The merge of several reports (`memwatch merge --json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merged {
    /// Version of this format ([`MERGE_VERSION`]).
    pub merge_version: u32,
    /// Version of memwatch that merged.
    pub memwatch_version: String,
    /// How the reports were aligned and what that assumes ([`CLOCK_ASSUMPTION`]).
    pub clock: String,
    /// The earliest report start.
    pub start_time: Timestamp,
    /// The latest report end.
    pub end_time: Timestamp,
    /// `end_time - start_time`, seconds: the job's overall duration.
    pub duration_seconds: f64,
    /// Distinct hostnames, sorted.
    pub hosts: Vec<String>,
    /// The job peak: the largest sum of the reports' totals at one instant, KiB. `null`
    /// when no report has a sample.
    pub max_total_rss_kib: Option<u64>,
    /// When the job peak happened (wall clock).
    pub max_total_rss_time: Option<Timestamp>,
    /// The job peak's time as milliseconds after `start_time`.
    pub max_total_rss_ms: Option<u64>,
    /// True when a report's timeline had been thinned (more samples than points, each
    /// point keeping its span's maximum): the job peak is then an upper bound at the
    /// resolution of `resolution_ms`.
    pub max_total_rss_is_upper_bound: bool,
    /// The coarsest report's time resolution, ms: the largest gap between two consecutive
    /// points of any report's timeline (at least its sampling interval). Peaks closer in
    /// time than this (plus any clock offset) cannot be told apart.
    pub resolution_ms: u64,
    /// The sum of every report's own peak, KiB. NOT the job peak: an upper bound that
    /// assumes every node peaked at the same instant.
    pub sum_of_report_peaks_kib: Option<u64>,
    /// The sum of every report's own PSS peak, KiB, when every report was made with
    /// `run --metric pss`; `null` otherwise. An upper bound on the job's PSS: PSS is read in
    /// rounds and has no timeline to align, so the reports' PSS peaks are simply added.
    #[serde(default)]
    pub sum_of_report_pss_peaks_kib: Option<u64>,
    /// Processes in all reports together.
    pub processes_total: u64,
    /// The reports, by rank (then host, then file).
    pub reports: Vec<MergedReport>,
    /// The processes with the largest peaks across all reports, largest first.
    pub processes: Vec<MergedProcess>,
    /// Warnings (reports that do not overlap in time, different jobs, no samples).
    pub warnings: Vec<String>,
    /// The job's summed total over time (ms after `start_time`), at most 2000 points;
    /// merged points keep the largest total.
    pub timeline: Vec<Point>,
}

/// One input report in a merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedReport {
    /// The file it was read from.
    pub file: String,
    /// Host it ran on.
    pub hostname: String,
    /// Its launcher rank (`SLURM_PROCID`, else `OMPI_COMM_WORLD_RANK`, else `PMI_RANK`).
    pub rank: Option<String>,
    /// Its launcher variables.
    pub launcher: BTreeMap<String, String>,
    /// When it started.
    pub start_time: Timestamp,
    /// When it ended.
    pub end_time: Timestamp,
    /// Its duration, seconds.
    pub duration_seconds: f64,
    /// Its sampling interval, ms.
    pub interval_ms: u64,
    /// Samples it took.
    pub samples: u64,
    /// Points in its timeline.
    pub timeline_points: u64,
    /// The largest gap between two consecutive points of its timeline, ms (at least the
    /// sampling interval).
    pub resolution_ms: u64,
    /// Its own peak total, KiB.
    pub max_total_rss_kib: Option<u64>,
    /// When it reached it (wall clock).
    pub max_total_rss_time: Option<Timestamp>,
    /// Its total at the job peak's instant, KiB (these add up to the job peak).
    pub rss_at_job_peak_kib: u64,
    /// Its largest single-process peak, KiB.
    pub max_process_rss_kib: Option<u64>,
    /// Processes in it.
    pub processes_total: u64,
    /// Its own peak total PSS, KiB (`run --metric pss`); `null` when not measured.
    #[serde(default)]
    pub max_total_pss_kib: Option<u64>,
}

/// A process of one of the reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedProcess {
    /// Host it ran on.
    pub hostname: String,
    /// Launcher rank of the memwatch that saw it.
    pub rank: Option<String>,
    /// The report it comes from.
    pub file: String,
    /// Process id (on that host).
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Command line.
    pub command: String,
    /// Its peak RSS, KiB (`null` when unreadable).
    pub max_rss_kib: Option<u64>,
    /// First sample that saw it.
    pub first_seen: Timestamp,
    /// Last sample that saw it alive.
    pub last_seen: Timestamp,
}

/// A report's totals on wall-clock time, microseconds since the Unix epoch.
struct Series {
    /// (instant, total KiB, processes), in time order.
    points: Vec<(i64, u64, u32)>,
    /// From this instant on it counts 0.
    end: i64,
}

fn series(r: &Report) -> Series {
    let start = r.start_time.as_microsecond();
    let at =
        |ms: u64| start.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX).saturating_mul(1000));
    let mut points: Vec<(i64, u64, u32)> = r
        .timeline
        .iter()
        .map(|p| (at(p.t_ms), p.total_rss_kib, p.processes))
        .collect();
    if points.is_empty() {
        // A report without timeline points (written by hand, or trimmed): its peak is all
        // that is known.
        if let (Some(kib), Some(ms)) = (r.max_total_rss_kib, r.max_total_rss_ms) {
            points.push((at(ms), kib, r.processes_at_peak));
        }
    }
    points.sort_by_key(|p| p.0);
    // The last point holds at least for an instant, even if end_time was rounded below it.
    let last = points.last().map_or(i64::MIN, |p| p.0.saturating_add(1));
    Series {
        points,
        end: r.end_time.as_microsecond().max(last),
    }
}

/// The largest gap between consecutive points, ms, at least the sampling interval.
fn resolution_ms(r: &Report) -> u64 {
    r.timeline
        .windows(2)
        .map(|w| w[1].t_ms.saturating_sub(w[0].t_ms))
        .max()
        .unwrap_or(0)
        .max(r.interval_ms)
}

/// What the sweep found.
struct Sweep {
    /// Job peak: (instant, sum, each report's value at it).
    peak: Option<(i64, u64, Vec<u64>)>,
    /// The summed curve: (instant, sum, processes).
    curve: Vec<(i64, u64, u32)>,
}

/// Add the reports' step functions at every instant where one of them changes.
fn sweep(all: &[Series]) -> Sweep {
    // (instant, report, new value); an end sets 0. Sorting by instant only (stable) keeps
    // a report's own events in order.
    let mut events: Vec<(i64, usize, u64, u32)> = Vec::new();
    for (i, s) in all.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        events.extend(s.points.iter().map(|&(t, kib, n)| (t, i, kib, n)));
        events.push((s.end, i, 0, 0));
    }
    events.sort_by_key(|e| e.0);
    // Wide sums: reports are input, and their figures may be anything.
    let mut values = vec![(0u64, 0u32); all.len()];
    let mut sum: u128 = 0;
    let mut procs: u64 = 0;
    let mut peak: Option<(i64, u64, Vec<u64>)> = None;
    let mut curve = Vec::new();
    let mut k = 0;
    while k < events.len() {
        let t = events[k].0;
        // Every change at this instant before looking at the sum: a node ending exactly
        // when another starts does not overlap it.
        while k < events.len() && events[k].0 == t {
            let (_, i, kib, n) = events[k];
            sum = sum - u128::from(values[i].0) + u128::from(kib);
            procs = procs - u64::from(values[i].1) + u64::from(n);
            values[i] = (kib, n);
            k += 1;
        }
        let total = u64::try_from(sum).unwrap_or(u64::MAX);
        if peak.as_ref().is_none_or(|p| total > p.1) {
            peak = Some((t, total, values.iter().map(|v| v.0).collect()));
        }
        curve.push((t, total, u32::try_from(procs).unwrap_or(u32::MAX)));
    }
    Sweep { peak, curve }
}

fn timestamp(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Milliseconds from `from` to `to`, rounded to the nearest (instants are kept in
/// microseconds, a report's start time in nanoseconds: truncating could show a report's
/// own peak 1 ms early).
fn offset_ms(from: Timestamp, to: Timestamp) -> u64 {
    let d = to.duration_since(from);
    u64::try_from((d.as_micros() + 500).div_euclid(1000)).unwrap_or(0)
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

/// "host" or "host rank 3", for messages.
fn who(hostname: &str, rank: Option<&str>, file: &str) -> String {
    match rank {
        Some(r) => format!("{file} ({hostname}, rank {r})"),
        None => format!("{file} ({hostname})"),
    }
}

/// Merge reports (each with the name of the file it came from); `top` processes are kept.
pub fn merge(inputs: &[(String, Report)], top: usize) -> Merged {
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
    let mut warnings = Vec::new();

    let mut reports: Vec<MergedReport> = inputs
        .iter()
        .enumerate()
        .map(|(i, (file, r))| MergedReport {
            file: file.clone(),
            hostname: r.hostname.clone(),
            rank: crate::launcher::rank(&r.launcher).map(str::to_string),
            launcher: r.launcher.clone(),
            start_time: r.start_time,
            end_time: r.end_time,
            duration_seconds: r.duration_seconds,
            interval_ms: r.interval_ms,
            samples: r.samples,
            timeline_points: r.timeline.len() as u64,
            resolution_ms: resolution_ms(r),
            max_total_rss_kib: r.max_total_rss_kib,
            max_total_rss_time: r.max_total_rss_ms.and_then(|ms| {
                let d = jiff::SignedDuration::from_millis(i64::try_from(ms).ok()?);
                r.start_time.checked_add(d).ok()
            }),
            rss_at_job_peak_kib: sw.peak.as_ref().map_or(0, |p| p.2[i]),
            max_process_rss_kib: r.max_process_rss_kib,
            processes_total: r.processes_total,
            max_total_pss_kib: r.max_total_pss_kib,
        })
        .collect();

    let thinned: Vec<&MergedReport> = reports
        .iter()
        .zip(inputs)
        // Reports say so; for older ones, more samples than points is the sign (which a
        // sample with no total, and so no point, can also give).
        .filter(|(_, (_, r))| {
            r.timeline_thinned
                .unwrap_or(r.samples > r.timeline.len() as u64)
        })
        .map(|(m, _)| m)
        .collect();
    let upper_bound = !thinned.is_empty();
    let resolution = reports.iter().map(|r| r.resolution_ms).max().unwrap_or(0);

    // Reports that share no time with any other.
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
                let m = &reports[i];
                warnings.push(format!(
                    "{} does not overlap any other report in time (it ran {} to {}): another \
                     run, or its node's clock is off",
                    who(&m.hostname, m.rank.as_deref(), &m.file),
                    human_time(m.start_time),
                    human_time(m.end_time),
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
    for m in &reports {
        if m.max_total_rss_kib.is_none() {
            warnings.push(format!(
                "{} has no sample of its job (it ended before memwatch could measure it)",
                who(&m.hostname, m.rank.as_deref(), &m.file)
            ));
        }
    }
    if upper_bound {
        warnings.push(format!(
            "{} of {} reports had their timelines thinned to at most {DEFAULT_POINTS} points \
             (each keeping its span's largest total): the job peak is an upper bound at a \
             resolution of {}",
            thinned.len(),
            reports.len(),
            human::duration(Duration::from_millis(resolution)),
        ));
    }

    let mut processes: Vec<MergedProcess> = inputs
        .iter()
        .flat_map(|(file, r)| {
            let rank = crate::launcher::rank(&r.launcher).map(str::to_string);
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

    let timeline = summed_timeline(&sw.curve, start_time.as_microsecond());

    // A sum of the reports' peaks is an upper bound only when every one is known: an
    // unknown one could be anything.
    let sum_of_all = |peak: fn(&Report) -> Option<u64>| {
        inputs
            .iter()
            .map(|(_, r)| peak(r))
            .try_fold(0u64, |a, p| p.map(|p| a.saturating_add(p)))
            .filter(|_| !inputs.is_empty())
    };
    let peak_sum = sum_of_all(|r| r.max_total_rss_kib);
    let with_pss = inputs
        .iter()
        .filter(|(_, r)| r.max_total_pss_kib.is_some())
        .count();
    let partial: Vec<&str> = inputs
        .iter()
        .filter(|(_, r)| r.max_total_pss_kib.is_some() && r.processes_metric_unreadable > 0)
        .map(|(f, _)| f.as_str())
        .collect();
    let pss_sum = sum_of_all(|r| r.max_total_pss_kib).filter(|_| partial.is_empty());
    if with_pss > 0 && with_pss < inputs.len() {
        warnings.push(format!(
            "only {with_pss} of {} reports have a PSS figure (run --metric pss): no PSS sum is \
             given",
            inputs.len()
        ));
    } else if !partial.is_empty() {
        warnings.push(format!(
            "{} could not read the PSS of some processes (another user's, or setuid): no \
             PSS sum is given, as it would not bound the job's",
            partial.join(", ")
        ));
    }
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
        max_total_rss_is_upper_bound: upper_bound,
        resolution_ms: resolution,
        sum_of_report_peaks_kib: peak_sum,
        sum_of_report_pss_peaks_kib: pss_sum,
        processes_total: inputs
            .iter()
            .fold(0u64, |a, (_, r)| a.saturating_add(r.processes_total)),
        reports,
        processes,
        warnings,
        timeline,
    }
}

/// The summed curve as a bounded timeline (ms after `start_us`): several changes within one
/// millisecond become one point with the largest total, like the timeline's own merging.
fn summed_timeline(curve: &[(i64, u64, u32)], start_us: i64) -> Vec<Point> {
    let mut timeline = Timeline::new(DEFAULT_POINTS);
    let mut open: Option<Point> = None;
    for &(t, sum, n) in curve {
        let t_ms = u64::try_from(t.saturating_sub(start_us) / 1000).unwrap_or(0);
        match &mut open {
            Some(p) if p.t_ms == t_ms => {
                p.total_rss_kib = p.total_rss_kib.max(sum);
                p.processes = p.processes.max(n);
            }
            _ => {
                if let Some(p) = open.take() {
                    timeline.push(Duration::from_millis(p.t_ms), p.total_rss_kib, p.processes);
                }
                open = Some(Point {
                    t_ms,
                    total_rss_kib: sum,
                    processes: n,
                });
            }
        }
    }
    if let Some(p) = open {
        timeline.push(Duration::from_millis(p.t_ms), p.total_rss_kib, p.processes);
    }
    timeline.points().to_vec()
}

/// Seconds from a report as a duration (negative as 0, too large as the maximum).
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

/// An instant for people: RFC 3339 UTC to the millisecond.
fn human_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `+3.2 s` after the merge's start.
fn human_offset(from: Timestamp, to: Timestamp) -> String {
    format!(
        "+{}",
        human::duration(Duration::from_millis(offset_ms(from, to)))
    )
}

/// Rows as aligned columns (right-aligned where `right[i]`), two spaces apart.
fn table(
    out: &mut dyn Write,
    header: &[&str],
    right: &[bool],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let mut s = String::from(" ");
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            s.push(' ');
            if i + 1 == cols && !right[i] {
                // The last column (a command, a file) is not padded.
                s.push_str(cell);
            } else if right[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
            s.push(' ');
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(&mut header.iter().copied()))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

/// Write the human summary of a merge.
pub fn write_human(m: &Merged, out: &mut dyn Write) -> io::Result<()> {
    let n = m.reports.len();
    writeln!(
        out,
        "Merged:          {n} report{} from {} host{} ({})",
        if n == 1 { "" } else { "s" },
        m.hosts.len(),
        if m.hosts.len() == 1 { "" } else { "s" },
        short_command(&m.hosts.join(", "), 120),
    )?;
    writeln!(
        out,
        "Job span:        {} to {} ({}, earliest start to latest end)",
        human_time(m.start_time),
        human_time(m.end_time),
        human::duration(secs(m.duration_seconds)),
    )?;
    writeln!(out, "Processes:       {} in all reports", m.processes_total)?;
    writeln!(out)?;
    match (m.max_total_rss_kib, m.max_total_rss_time) {
        (Some(kib), Some(t)) => {
            writeln!(
                out,
                "Job peak RSS:    {} at {} ({}), the reports' totals added at one instant",
                iec(kib),
                human_time(t),
                human_offset(m.start_time, t),
            )?;
            if m.max_total_rss_is_upper_bound {
                writeln!(
                    out,
                    "                 (an upper bound at a resolution of {}: thinned timelines keep each span's maximum)",
                    human::duration(Duration::from_millis(m.resolution_ms)),
                )?;
            }
        }
        _ => writeln!(
            out,
            "Job peak RSS:    unknown (no report has a sample of its job)"
        )?,
    }
    if let Some(sum) = m.sum_of_report_peaks_kib {
        if n > 1 {
            writeln!(
                out,
                "Sum of peaks:    {} (upper bound only, NOT the job peak: the reports need not peak together)",
                iec(sum),
            )?;
        }
    }
    if let Some(sum) = m.sum_of_report_pss_peaks_kib {
        writeln!(
            out,
            "PSS, summed:     {} (each report's PSS peak added: an upper bound, as PSS has no timeline to align)",
            iec(sum),
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Per report:")?;
    let rows: Vec<Vec<String>> = m
        .reports
        .iter()
        .map(|r| {
            vec![
                r.rank.clone().unwrap_or_else(|| "-".to_string()),
                r.hostname.clone(),
                iec_or_unknown(r.max_total_rss_kib),
                r.max_total_rss_time
                    .map_or_else(|| "-".to_string(), |t| human_offset(m.start_time, t)),
                iec(r.rss_at_job_peak_kib),
                human::duration(secs(r.duration_seconds)),
                r.file.clone(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "rank",
            "host",
            "peak",
            "at",
            "at job peak",
            "duration",
            "file",
        ],
        &[true, false, true, true, true, true, false],
        &rows,
    )?;
    if !m.processes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Largest processes across reports:")?;
        let rows: Vec<Vec<String>> = m
            .processes
            .iter()
            .map(|p| {
                vec![
                    p.hostname.clone(),
                    p.rank.clone().unwrap_or_else(|| "-".to_string()),
                    p.pid.to_string(),
                    iec_or_unknown(p.max_rss_kib),
                    short_command(&p.command, human::COMMAND_WIDTH),
                ]
            })
            .collect();
        table(
            out,
            &["host", "rank", "pid", "peak", "command"],
            &[false, true, true, true, false],
            &rows,
        )?;
        let listed = m.processes.len() as u64;
        if m.processes_total > listed {
            writeln!(
                out,
                "  … and {} more (see --top, --json)",
                m.processes_total - listed
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "Clock:           reports are aligned on each node's own wall clock, which assumes the\n\
         \x20                nodes' clocks are synchronised (NTP, chrony, PTP): an offset between two\n\
         \x20                clocks shifts those nodes' curves by that much. Samples are at most {}\n\
         \x20                apart, so the job peak's time is accurate to about that, plus any offset.",
        human::duration(Duration::from_millis(m.resolution_ms)),
    )?;
    for w in &m.warnings {
        writeln!(out, "warning: {w}")?;
    }
    out.flush()
}

/// Write a merge as pretty JSON with a final newline.
pub fn write_json(m: &Merged, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, m)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Read one report; every failure is one line naming the file.
fn read_report(path: &Path) -> Result<Report, Error> {
    let input = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path)
        .map_err(|e| input(format!("cannot read report: {}", os_message(&e))))?;
    crate::output::json::read(&bytes).map_err(|e| input(e.to_string()))
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

/// Run `memwatch merge`; returns the exit code.
pub fn run(args: &MergeArgs) -> Result<i32, Error> {
    let inputs = read_all(&args.reports)?;
    let merged = merge(&inputs, args.top);
    let json = args.json
        || args.output.as_ref().is_some_and(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        });
    let render = |w: &mut dyn Write| {
        if json {
            write_json(&merged, w)
        } else {
            write_human(&merged, w)
        }
    };
    match &args.output {
        Some(path) => {
            let failed = |source: io::Error| Error::Output {
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
            crate::output::print("merged report", &text)?;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SCHEMA_VERSION;

    const MIB: u64 = 1024;
    /// 2025-01-01T00:00:00Z.
    const T0: i64 = 1_735_689_600_000_000;

    /// A report started `start_ms` after T0 on `host`, lasting `end_ms`, with these
    /// (t_ms, KiB) points and one process holding the peak.
    fn report(host: &str, rank: u32, start_ms: i64, end_ms: u64, points: &[(u64, u64)]) -> Report {
        let start = Timestamp::from_microsecond(T0 + start_ms * 1000).unwrap();
        let at = |ms: u64| start + jiff::SignedDuration::from_millis(ms as i64);
        let peak = points
            .iter()
            .copied()
            .max_by_key(|p| (p.1, std::cmp::Reverse(p.0)));
        let timeline: Vec<Point> = points
            .iter()
            .map(|&(t_ms, total_rss_kib)| Point {
                t_ms,
                total_rss_kib,
                processes: 1,
            })
            .collect();
        // Built from JSON so that fields added to the report (with serde defaults) need
        // no change here.
        let v = serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "memwatch_version": "test",
            "hostname": host,
            "launcher": { "OMPI_COMM_WORLD_RANK": rank.to_string() },
            "os": "linux",
            "command": ["./app"],
            "start_time": start,
            "end_time": at(end_ms),
            "duration_seconds": end_ms as f64 / 1000.0,
            "interval_ms": 100,
            "samples": points.len(),
            "max_total_rss_kib": peak.map(|p| p.1),
            "max_total_rss_sample_index": null,
            "max_total_rss_ms": peak.map(|p| p.0),
            "processes_at_peak": 1,
            "max_processes": 1,
            "max_process_rss_kib": peak.map(|p| p.1),
            "max_process_pid": 100 + rank,
            "processes_total": 1,
            "processes_omitted": 0,
            "processes_unreadable": 0,
            "exit_code": 0,
            "signal": null,
            "interrupted": false,
            "left_running": [],
            "warnings": [],
            "processes": [{
                "pid": 100 + rank,
                "ppid": 1,
                "command": format!("./app on {host}"),
                "max_rss_kib": peak.map(|p| p.1),
                "kernel_max_rss_kib": null,
                "start_time": start,
                "first_seen": start,
                "last_seen": at(end_ms),
                "first_seen_ms": 0,
                "last_seen_ms": end_ms,
                "samples": points.len(),
                "root": true,
            }],
            "timeline": timeline,
        });
        serde_json::from_value(v).unwrap()
    }

    fn named(rs: Vec<Report>) -> Vec<(String, Report)> {
        rs.into_iter()
            .enumerate()
            .map(|(i, r)| (format!("mem-{i}.json"), r))
            .collect()
    }

    fn ms_after_t0(t: Timestamp) -> i64 {
        (t.as_microsecond() - T0) / 1000
    }

    #[test]
    fn peaks_at_different_times_are_not_added() {
        // a peaks at 100 MiB 1 s in; b, started 3 s later, peaks at 80 MiB. Both hold 10
        // MiB otherwise and overlap in time, but never at their peaks.
        let a = report(
            "a",
            0,
            0,
            5_000,
            &[(0, 10 * MIB), (1_000, 100 * MIB), (1_500, 10 * MIB)],
        );
        let b = report(
            "b",
            1,
            500,
            5_000,
            &[(0, 10 * MIB), (1_000, 80 * MIB), (2_000, 10 * MIB)],
        );
        let m = merge(&named(vec![a, b]), 10);
        // At 1.0 s: a 100 + b 10; at 1.5 s (b's peak): a 10 + b 80.
        assert_eq!(m.max_total_rss_kib, Some(110 * MIB));
        assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 1_000);
        assert_eq!(m.max_total_rss_ms, Some(1_000));
        assert_eq!(m.sum_of_report_peaks_kib, Some(180 * MIB));
        assert_eq!(m.reports[0].rss_at_job_peak_kib, 100 * MIB);
        assert_eq!(m.reports[1].rss_at_job_peak_kib, 10 * MIB);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(m.duration_seconds, 5.5);
        // b starting 3 s later: at a's peak it has not started, and counts 0.
        let a = report(
            "a",
            0,
            0,
            5_000,
            &[(0, 10 * MIB), (1_000, 100 * MIB), (1_500, 10 * MIB)],
        );
        let b = report(
            "b",
            1,
            3_000,
            5_000,
            &[(0, 10 * MIB), (1_000, 80 * MIB), (2_000, 10 * MIB)],
        );
        let m = merge(&named(vec![a, b]), 10);
        assert_eq!(m.max_total_rss_kib, Some(100 * MIB));
        assert_eq!(m.reports[1].rss_at_job_peak_kib, 0);
    }

    #[test]
    fn overlapping_peaks_are_added() {
        // b starts 700 ms after a; a's peak (1.0 s to 2.0 s) and b's (300 ms to 1.5 s after
        // its start, i.e. 1.0 s to 2.2 s) overlap from 1.0 s to 2.0 s.
        let a = report(
            "a",
            0,
            0,
            3_000,
            &[(0, MIB), (1_000, 100 * MIB), (2_000, MIB)],
        );
        let b = report(
            "b",
            1,
            700,
            3_000,
            &[(0, MIB), (300, 80 * MIB), (1_500, MIB)],
        );
        let m = merge(&named(vec![a, b]), 10);
        assert_eq!(m.max_total_rss_kib, Some(180 * MIB));
        assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 1_000);
        let at_peak: u64 = m.reports.iter().map(|r| r.rss_at_job_peak_kib).sum();
        assert_eq!(
            at_peak,
            180 * MIB,
            "the per-report values add up to the job peak"
        );
    }

    #[test]
    fn values_hold_until_the_next_point_and_stop_at_the_end() {
        // a: 50 MiB from 0 until its next point at 2 s. b: one point, 30 MiB at 1.5 s
        // (start 1 s + 500 ms), held until b ends at 1.8 s.
        let a = report("a", 0, 0, 4_000, &[(0, 50 * MIB), (2_000, 5 * MIB)]);
        let b = report("b", 1, 1_000, 800, &[(500, 30 * MIB)]);
        let m = merge(&named(vec![a.clone(), b.clone()]), 10);
        assert_eq!(
            m.max_total_rss_kib,
            Some(80 * MIB),
            "a's 50 MiB still holds at 1.5 s"
        );
        assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 1_500);
        // After b's end (1.8 s) only a counts: the curve drops back to 50 MiB, then 5 MiB.
        let tl: Vec<(u64, u64)> = m
            .timeline
            .iter()
            .map(|p| (p.t_ms, p.total_rss_kib))
            .collect();
        assert_eq!(
            tl,
            [
                (0, 50 * MIB),
                (1_500, 80 * MIB),
                (1_800, 50 * MIB),
                (2_000, 5 * MIB),
                (4_000, 0)
            ]
        );
        // b's point comes 100 ms after a has dropped: not added.
        let b_late = report("b", 1, 1_600, 800, &[(500, 30 * MIB)]);
        let m = merge(&named(vec![a, b_late]), 10);
        assert_eq!(m.max_total_rss_kib, Some(50 * MIB));
        assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 0);
    }

    #[test]
    fn a_node_ending_as_another_starts_does_not_overlap_it() {
        let a = report("a", 0, 0, 1_000, &[(0, 40 * MIB)]);
        let b = report("b", 1, 1_000, 1_000, &[(0, 30 * MIB)]);
        let m = merge(&named(vec![a, b]), 10);
        assert_eq!(m.max_total_rss_kib, Some(40 * MIB));
    }

    #[test]
    fn reports_apart_in_time_are_warned_about() {
        let a = report("a", 0, 0, 1_000, &[(0, 40 * MIB)]);
        let b = report("b", 1, 60_000, 1_000, &[(0, 30 * MIB)]);
        let m = merge(&named(vec![a.clone(), b.clone()]), 10);
        assert_eq!(m.max_total_rss_kib, Some(40 * MIB));
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(
            m.warnings[0].contains("no two reports overlap"),
            "{:?}",
            m.warnings
        );
        // Three reports, one of them apart: that one is named.
        let c = report("c", 2, 500, 1_000, &[(0, 30 * MIB)]);
        let m = merge(&named(vec![a, b, c]), 10);
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(
            m.warnings[0].starts_with("mem-1.json (b, rank 1) does not overlap"),
            "{:?}",
            m.warnings
        );
        assert_eq!(m.max_total_rss_kib, Some(70 * MIB));
    }

    #[test]
    fn thinned_timelines_make_the_peak_an_upper_bound() {
        let mut a = report("a", 0, 0, 10_000, &[(0, MIB), (5_000, 9 * MIB)]);
        a.samples = 10_000;
        let m = merge(&named(vec![a]), 10);
        assert!(m.max_total_rss_is_upper_bound);
        assert_eq!(m.resolution_ms, 5_000);
        assert!(
            m.warnings.iter().any(|w| w.contains("upper bound")),
            "{:?}",
            m.warnings
        );
        let mut text = Vec::new();
        write_human(&m, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("an upper bound at a resolution of 5.0 s"),
            "{text}"
        );
    }

    #[test]
    fn reports_sorted_by_rank_and_processes_by_peak_with_their_host() {
        let rs: Vec<Report> = (0..12)
            .rev()
            .map(|r| {
                report(
                    &format!("n{}", r % 3),
                    r,
                    0,
                    1_000,
                    &[(0, u64::from(r + 1) * MIB)],
                )
            })
            .collect();
        let m = merge(&named(rs), 5);
        let ranks: Vec<&str> = m
            .reports
            .iter()
            .map(|r| r.rank.as_deref().unwrap())
            .collect();
        assert_eq!(
            ranks,
            ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]
        );
        assert_eq!(m.max_total_rss_kib, Some(78 * MIB));
        assert_eq!(
            m.sum_of_report_peaks_kib, m.max_total_rss_kib,
            "all peak together"
        );
        assert_eq!(m.hosts, ["n0", "n1", "n2"]);
        assert_eq!(m.processes.len(), 5);
        assert_eq!(m.processes_total, 12);
        assert_eq!(m.processes[0].max_rss_kib, Some(12 * MIB));
        assert_eq!(m.processes[0].hostname, "n2");
        assert_eq!(m.processes[0].rank.as_deref(), Some("11"));
    }

    #[test]
    fn a_report_without_samples_counts_nothing_and_is_named() {
        let a = report("a", 0, 0, 1_000, &[(0, 40 * MIB)]);
        let b = report("b", 1, 0, 1_000, &[]);
        let m = merge(&named(vec![a, b]), 10);
        assert_eq!(m.max_total_rss_kib, Some(40 * MIB));
        // b's peak is unknown, so no sum can bound the job's.
        assert_eq!(m.sum_of_report_peaks_kib, None);
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("mem-1.json (b, rank 1) has no sample"))
        );
        // Reports whose jobs ended before any sample: their timelines hold only the 0 of
        // an ended job, and the job peak is unknown, not 0.
        let mut c = report("c", 2, 0, 1_000, &[(0, 0)]);
        c.max_total_rss_kib = None;
        let mut d = report("d", 3, 0, 1_000, &[(1, 0)]);
        d.max_total_rss_kib = None;
        let m = merge(&named(vec![c, d]), 10);
        assert_eq!((m.max_total_rss_kib, m.max_total_rss_time), (None, None));
        assert_eq!(m.sum_of_report_peaks_kib, None);
        let m = merge(&named(vec![report("b", 1, 0, 1_000, &[])]), 10);
        assert_eq!(m.max_total_rss_kib, None);
        let mut text = Vec::new();
        write_human(&m, &mut text).unwrap();
        assert!(
            String::from_utf8(text)
                .unwrap()
                .contains("Job peak RSS:    unknown")
        );
    }

    #[test]
    fn offsets_round_to_the_nearest_millisecond() {
        let t0 = Timestamp::from_microsecond(T0).unwrap();
        let at = |us: i64| Timestamp::from_microsecond(T0 + us).unwrap();
        assert_eq!(offset_ms(t0, at(39_999)), 40);
        assert_eq!(offset_ms(t0, at(40_499)), 40);
        assert_eq!(offset_ms(t0, at(40_500)), 41);
        assert_eq!(offset_ms(at(10), t0), 0, "never negative");
    }

    #[test]
    fn pss_peaks_are_summed_only_when_every_report_has_one() {
        let with = |host: &str, rank: u32, pss: Option<u64>| {
            let mut r = report(host, rank, 0, 2_000, &[(0, 10 * MIB), (1_000, 50 * MIB)]);
            r.max_total_pss_kib = pss;
            r
        };
        let m = merge(
            &named(vec![
                with("a", 0, Some(20 * MIB)),
                with("b", 1, Some(30 * MIB)),
            ]),
            10,
        );
        assert_eq!(m.sum_of_report_pss_peaks_kib, Some(50 * MIB));
        assert_eq!(m.reports[1].max_total_pss_kib, Some(30 * MIB));
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let mut text = Vec::new();
        write_human(&m, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("PSS, summed:     50.0 MiB"), "{text}");
        assert!(text.contains("upper bound"), "{text}");

        let m = merge(
            &named(vec![with("a", 0, Some(20 * MIB)), with("b", 1, None)]),
            10,
        );
        assert_eq!(m.sum_of_report_pss_peaks_kib, None);
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("only 1 of 2 reports have a PSS figure")),
            "{:?}",
            m.warnings
        );
        // A report whose PSS missed unreadable processes: no sum claims to bound the job.
        let mut partial = with("b", 1, Some(30 * MIB));
        partial.processes_metric_unreadable = 1;
        let m = merge(&named(vec![with("a", 0, Some(20 * MIB)), partial]), 10);
        assert_eq!(m.sum_of_report_pss_peaks_kib, None);
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("mem-1.json could not read the PSS")),
            "{:?}",
            m.warnings
        );
        // Without --metric anywhere: nothing said about PSS.
        let m = merge(&named(vec![with("a", 0, None), with("b", 1, None)]), 10);
        assert_eq!(m.sum_of_report_pss_peaks_kib, None);
        let mut text = Vec::new();
        write_human(&m, &mut text).unwrap();
        assert!(!String::from_utf8(text).unwrap().contains("PSS"));
    }

    #[test]
    fn human_summary_labels_the_sum_of_peaks_and_states_the_clock_assumption() {
        let a = report(
            "a",
            0,
            0,
            5_000,
            &[(0, 10 * MIB), (1_000, 100 * MIB), (1_500, 10 * MIB)],
        );
        let b = report(
            "b",
            1,
            500,
            5_000,
            &[(0, 10 * MIB), (1_000, 80 * MIB), (2_000, 10 * MIB)],
        );
        let m = merge(&named(vec![a, b]), 10);
        let mut text = Vec::new();
        write_human(&m, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("Job peak RSS:    110.0 MiB at 2025-01-01T00:00:01.000Z (+1.0 s)"),
            "{text}"
        );
        assert!(
            text.contains("Sum of peaks:    180.0 MiB (upper bound only, NOT the job peak"),
            "{text}"
        );
        assert!(text.contains("clocks are synchronised (NTP"), "{text}");
        print!("{text}");
        assert!(
            text.contains(
                "Job span:        2025-01-01T00:00:00.000Z to 2025-01-01T00:00:05.500Z (5.5 s"
            ),
            "{text}"
        );
        let mut json = Vec::new();
        write_json(&m, &mut json).unwrap();
        let back: Merged = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn extreme_figures_saturate_instead_of_panicking() {
        let mut a = report("a", 0, 0, 1_000, &[(0, u64::MAX), (u64::MAX, u64::MAX)]);
        a.duration_seconds = 1e300;
        a.processes_total = u64::MAX;
        let b = report("b", 1, 0, 1_000, &[(0, u64::MAX)]);
        let m = merge(&named(vec![a, b]), 10);
        assert_eq!(m.max_total_rss_kib, Some(u64::MAX));
        assert_eq!(m.sum_of_report_peaks_kib, Some(u64::MAX));
        assert_eq!(m.processes_total, u64::MAX);
        write_human(&m, &mut Vec::new()).unwrap();
        write_json(&m, &mut Vec::new()).unwrap();
    }
}
