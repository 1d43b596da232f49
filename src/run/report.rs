//! The report of a run: the job's figures ([`JobStats`]) with what the run knew about
//! itself (what ran, where, when, how it ended, what went wrong on the way), the findings
//! of the cross-checks, worded.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use crate::job::{EXTRA_BUDGET, JobStats, ProcRecord};
use crate::model::figures;
use crate::model::findings::{self, Copy, Finding};
use crate::model::gate::MaxRss;
use crate::model::{Exit, Metric, ProcessReport, Report, SCHEMA_VERSION, sort_processes};
use crate::output::{gate, warnings};
use crate::sys::Access;
use crate::sys::unix::ChildrenUsage;

use super::timing::Achieved;

/// What every report of a run shares: what ran, where and when.
pub(super) struct Context {
    pub(super) command: Vec<String>,
    pub(super) host: String,
    pub(super) launcher: BTreeMap<String, String>,
    pub(super) start_time: Timestamp,
    pub(super) interval: Duration,
    /// The memory limits found before the command started.
    pub(super) limits: crate::model::limit::Limits,
    /// `--max-rss`, checked against the figure of `metric`.
    pub(super) max_rss: Option<MaxRss>,
    pub(super) metric: Metric,
}

impl Context {
    /// `report` with its `--max-rss` check, if one was asked for: of the max total RSS, or
    /// of the `--metric` figure (PSS, footprint). `running`: an interim report, of a job
    /// not over yet.
    pub(super) fn with_check(&self, mut report: Report, running: bool) -> Report {
        if let Some(limit) = &self.max_rss {
            let figure = figures::by_name(match self.metric {
                Metric::Rss => "total",
                m => m.name(),
            })
            .expect("every metric has its figure");
            report.max_rss_check = Some(gate::check(&report, figure, limit, running));
        }
        report
    }
}

/// How the run stands: how the command ended, whether memwatch was interrupted, and
/// warnings about the run itself.
#[derive(Debug, Default)]
pub(super) struct Standing {
    /// How the command ended, once memwatch reaped it.
    pub(super) exit: Option<Exit>,
    /// The first job signal memwatch received.
    pub(super) interrupt: Option<i32>,
    /// Warnings about the run itself (a timeline stream that stopped).
    pub(super) warnings: Vec<String>,
    /// What the sampler achieved so far (`None`: not known, as in unit tests).
    pub(super) timing: Option<RunTiming>,
}

/// What the sampler achieved, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct RunTiming {
    /// The gaps between sample starts.
    pub(super) achieved: Option<Achieved>,
    /// Deadlines no sample started at.
    pub(super) missed: u64,
    /// memwatch's own CPU over the run, percent of one core.
    pub(super) cpu_percent: Option<f64>,
    /// `--cpu-budget`, percent of one core.
    pub(super) budget_percent: Option<f64>,
    /// The longest interval the budget set, when it stretched one.
    pub(super) stretched_to: Option<Duration>,
}

/// `report` with what the sampler achieved, and the warning when it fell behind.
fn with_timing(mut report: Report, t: &RunTiming) -> Report {
    report.interval_achieved_ms = t.achieved.map(|a| a.median_ms);
    report.interval_achieved_mean_ms = t.achieved.map(|a| a.mean_ms);
    report.interval_achieved_p99_ms = t.achieved.map(|a| a.p99_ms);
    report.interval_achieved_max_ms = t.achieved.map(|a| a.max_ms);
    report.deadlines_missed = Some(t.missed);
    report.memwatch_cpu_percent = t.cpu_percent.map(|p| (p * 100.0).round() / 100.0);
    report.cpu_budget_percent = t.budget_percent;
    report.interval_stretched_max_ms = t.stretched_to.map(|d| d.as_secs_f64() * 1000.0);
    if let Some(f) = findings::interval_not_kept(&report) {
        let w = warnings::word(&report, &f);
        report.warnings.push(w);
    }
    report
}

impl Context {
    /// The report of the job as it stands (`stats`), `duration` after its start.
    pub(super) fn report(
        &self,
        stats: &JobStats,
        duration: Duration,
        standing: &Standing,
        left_running: Vec<i32>,
    ) -> Report {
        let info = RunInfo {
            command: self.command.clone(),
            start_time: self.start_time,
            duration,
            interval: self.interval,
            exit: standing.exit,
            interrupt_signal: standing.interrupt,
            left_running,
        };
        let mut report = build(stats, info);
        report.hostname = self.host.clone();
        report.launcher = self.launcher.clone();
        report.warnings.extend(standing.warnings.iter().cloned());
        super::memory::apply_limit(&mut report, &self.limits);
        match &standing.timing {
            Some(t) => with_timing(report, t),
            None => report,
        }
    }
}

/// What the run knew besides the job's figures.
pub struct RunInfo {
    /// The command's arguments.
    pub command: Vec<String>,
    /// Wall-clock start.
    pub start_time: Timestamp,
    /// Monotonic duration of the job.
    pub duration: Duration,
    /// Sampling interval.
    pub interval: Duration,
    /// How the command ended (`None` if memwatch never learned).
    pub exit: Option<Exit>,
    /// The first job signal memwatch received, if any.
    pub interrupt_signal: Option<i32>,
    /// Live job pids memwatch stopped waiting for.
    pub left_running: Vec<i32>,
}

fn at(start: Timestamp, offset: Duration) -> Timestamp {
    let offset = jiff::SignedDuration::try_from(offset).unwrap_or(jiff::SignedDuration::MAX);
    start.checked_add(offset).unwrap_or(start)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn process_report(start: Timestamp, p: &ProcRecord, extra: Option<Metric>) -> ProcessReport {
    ProcessReport {
        pid: p.id.pid,
        ppid: p.ppid,
        command: p.peak_command.to_string(),
        max_rss_kib: if p.access == Access::Denied {
            None
        } else {
            p.max_rss_kib
        },
        kernel_max_rss_kib: p.kernel_max_rss_kib,
        start_time: p
            .started_unix_us
            .and_then(|us| Timestamp::from_microsecond(us).ok()),
        first_seen: at(start, p.first_seen),
        last_seen: at(start, p.last_seen),
        first_seen_ms: millis(p.first_seen),
        last_seen_ms: millis(p.last_seen),
        samples: p.samples,
        root: p.is_root,
        peak_before_exec: p.peak_before_exec(),
        max_pss_kib: p.max_extra_kib.filter(|_| extra == Some(Metric::Pss)),
        max_footprint_kib: p.max_extra_kib.filter(|_| extra == Some(Metric::Footprint)),
        kernel_max_footprint_kib: p.kernel_max_footprint_kib,
        adopted_step: p.adopted_step.as_deref().map(String::from),
        max_private_rss_kib: if p.access == Access::Denied {
            None
        } else {
            p.max_private_kib
        },
    }
}

/// The final report's CPU times and counts: what the kernel accounted to the processes
/// memwatch waited for (`usage`, read once the job is over). An interim report has none.
/// They are lower bounds when memwatch did not wait for every process: some were left
/// running (`--wait root`), or it never learned how the command ended.
pub(super) fn with_usage(mut report: Report, usage: Option<ChildrenUsage>) -> Report {
    let Some(u) = usage else {
        return report;
    };
    report.cpu_user_seconds = Some(u.cpu_user_seconds);
    report.cpu_system_seconds = Some(u.cpu_system_seconds);
    report.page_faults_minor = Some(u.page_faults_minor);
    report.page_faults_major = Some(u.page_faults_major);
    report.context_switches_voluntary = Some(u.context_switches_voluntary);
    report.context_switches_involuntary = Some(u.context_switches_involuntary);
    report.block_input_ops = Some(u.block_input_ops);
    report.block_output_ops = Some(u.block_output_ops);
    report.rusage_is_lower_bound = !report.left_running.is_empty() || report.exit().is_none();
    report
}

/// The report of the job's figures and the run's facts, with its warnings.
pub fn build(stats: &JobStats, info: RunInfo) -> Report {
    let mut report = fields(stats, info);
    let mut found = findings::missed_peaks(&report, stats.gaps.invisible);
    let copies: Vec<Copy> = stats
        .fork_copies_at_peak
        .iter()
        .map(|c| Copy {
            pid: c.id.pid,
            ppid: c.ppid,
            kib: c.kib,
            first_seen_ms: millis(c.first_seen),
        })
        .collect();
    found.extend(findings::fork_copies(&report, &copies));
    if let Some(metric) = stats.extra.filter(|_| stats.extra_unreadable > 0) {
        found.push(Finding::MetricUnreadable {
            metric,
            processes: stats.extra_unreadable,
        });
    }
    if stats.gaps.invisible > 0 {
        found.push(Finding::Invisible {
            processes: stats.gaps.invisible,
        });
    }
    if let Some(pid) = stats.launcher {
        found.push(findings::launcher(
            &report,
            pid,
            stats.adopted,
            stats.adopted_nodes,
        ));
    }
    if stats.gaps.fd_samples > 0 {
        found.push(Finding::FdShortage {
            samples: stats.gaps.fd_samples,
            processes: stats.gaps.fd_processes,
            limit: stats.gaps.fd_limit,
        });
    }
    report.warnings = found.iter().map(|f| warnings::word(&report, f)).collect();
    report
}

/// Whether the RSS totals and the extra metric's leave processes out: RSS misses the
/// unreadable ones, the ones memwatch could not see, and any it could not read or find for
/// want of file descriptors; the extra metric those too and the ones whose metric alone was
/// refused.
fn partial(stats: &JobStats) -> (bool, bool) {
    let gaps = &stats.gaps;
    let rss = stats.processes_unreadable > 0
        || gaps.invisible > 0
        || gaps.fd_processes > 0
        || gaps.fd_samples > 0;
    (rss, rss || stats.extra_unreadable > 0)
}

/// The processes of the report, largest peak first.
fn processes(start: Timestamp, stats: &JobStats) -> Vec<ProcessReport> {
    let mut processes: Vec<ProcessReport> = stats
        .processes
        .iter()
        .map(|p| process_report(start, p, stats.extra))
        .collect();
    sort_processes(&mut processes);
    processes
}

/// The report's fields from the job's figures and the run's facts; no warnings yet.
fn fields(stats: &JobStats, info: RunInfo) -> Report {
    let start = info.start_time;
    let processes = processes(start, stats);
    let top = processes.iter().find(|p| p.max_rss_kib.is_some());
    let seen_alive = stats.max_total_index.is_some() && stats.processes_at_peak > 0;
    let (rss_partial, extra_partial) = partial(stats);
    let max_total_pss_kib = stats
        .max_total_extra_kib
        .filter(|_| stats.extra == Some(Metric::Pss));
    let max_total_footprint_kib = stats
        .max_total_extra_kib
        .filter(|_| stats.extra == Some(Metric::Footprint));
    let (exit_code, signal) = match info.exit {
        Some(Exit::Code(c)) => (Some(c), None),
        Some(Exit::Signal(s)) => (None, Some(s)),
        None => (None, None),
    };
    Report {
        schema_version: SCHEMA_VERSION,
        memwatch_version: env!("CARGO_PKG_VERSION").to_string(),
        hostname: String::new(),
        launcher: std::collections::BTreeMap::new(),
        os: std::env::consts::OS.to_string(),
        command: info.command,
        start_time: start,
        end_time: at(start, info.duration),
        duration_seconds: info.duration.as_secs_f64(),
        interval_ms: millis(info.interval),
        samples: stats.samples,
        max_total_rss_kib: seen_alive.then_some(stats.max_total_rss_kib),
        max_total_rss_sample_index: stats.max_total_index.filter(|_| seen_alive),
        max_total_rss_ms: seen_alive.then(|| millis(stats.max_total_at)),
        processes_at_peak: stats.processes_at_peak,
        max_total_rss_fork_copies_kib: seen_alive
            .then(|| stats.fork_copies_at_peak.iter().map(|c| c.kib).sum()),
        max_processes: stats.max_processes,
        max_process_rss_kib: top.and_then(|p| p.max_rss_kib),
        max_process_pid: top.map(|p| p.pid),
        processes_total: stats.processes_total,
        processes_omitted: stats.processes_omitted,
        processes_unreadable: stats.processes_unreadable,
        processes_invisible: stats.gaps.invisible,
        fd_shortage_samples: stats.gaps.fd_samples,
        fd_shortage_processes: stats.gaps.fd_processes,
        max_total_rss_is_lower_bound: rss_partial && seen_alive,
        max_total_private_rss_kib: stats.max_total_private_kib.filter(|_| seen_alive),
        metric: stats.extra.unwrap_or(Metric::Rss),
        max_total_pss_is_lower_bound: extra_partial && max_total_pss_kib.is_some(),
        max_total_pss_kib,
        max_total_footprint_is_lower_bound: extra_partial && max_total_footprint_kib.is_some(),
        max_total_footprint_kib,
        metric_sampling: stats.extra.map(|e| {
            warnings::metric_sampling(
                e,
                stats.extra_rounds,
                stats.extra_reads,
                EXTRA_BUDGET,
                stats.extra_period_max,
            )
        }),
        processes_metric_unreadable: stats.extra_unreadable,
        // Known only once the job is over: `with_usage`.
        cpu_user_seconds: None,
        cpu_system_seconds: None,
        page_faults_minor: None,
        page_faults_major: None,
        context_switches_voluntary: None,
        context_switches_involuntary: None,
        block_input_ops: None,
        block_output_ops: None,
        rusage_is_lower_bound: false,
        exit_code,
        signal,
        interrupted: info.interrupt_signal.is_some(),
        interrupt_signal: info.interrupt_signal,
        left_running: info.left_running,
        // Checked once the figures are final, or as an interim report says: `with_check`.
        max_rss_check: None,
        warnings: Vec::new(),
        processes,
        timeline: stats.timeline.points().to_vec(),
        timeline_thinned: Some(stats.timeline.thinned()),
        // What the run achieved: `Context::report`, from the sampler's timing.
        interval_achieved_ms: None,
        interval_achieved_mean_ms: None,
        interval_achieved_p99_ms: None,
        interval_achieved_max_ms: None,
        deadlines_missed: None,
        memwatch_cpu_percent: None,
        cpu_budget_percent: None,
        interval_stretched_max_ms: None,
        attached: false,
        attached_process_start_time: None,
        processes_reparented: stats.processes_reparented,
        timeline_groups: Some(stats.groups.clone()),
        memory_limit: None,
        peak_percent_of_limit: None,
        cgroup_peak_kib: None,
        cgroup_peak_note: None,
        oom_kills: Vec::new(),
        oom_kill_count: None,
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
