//! The report of a run: the job's figures ([`JobStats`]) with what the run knew about
//! itself (what ran, where, when, how it ended, what went wrong on the way).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use crate::job::JobStats;
use crate::model::{Exit, Report, RunInfo};

/// What every report of a run shares: what ran, where and when.
pub(super) struct Context {
    pub(super) command: Vec<String>,
    pub(super) host: String,
    pub(super) launcher: BTreeMap<String, String>,
    pub(super) start_time: Timestamp,
    pub(super) interval: Duration,
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
        let mut report = Report::new(stats, info);
        report.hostname = self.host.clone();
        report.launcher = self.launcher.clone();
        report.warnings.extend(standing.warnings.iter().cloned());
        report
    }
}
