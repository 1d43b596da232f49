//! What the job used: one sample's summary, and the figures of the whole job so far or at
//! its end ([`JobStats`]).

use std::time::Duration;

use super::record::{ForkCopy, ProcRecord};
use super::{Job, Timeline};
use crate::model::groups::TimelineGroups;
use crate::sys::{Gaps, Inspector, Metric, Pid};

/// What one sample found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleSummary {
    /// Sum of the RSS of the live, readable job processes, KiB.
    pub total_rss_kib: u64,
    /// Live job processes (readable or not).
    pub processes: u32,
    /// Live job processes whose memory could not be read.
    pub unknown: u32,
    /// Live job processes caught in the middle of `exec` (no figure).
    pub loading: u32,
    /// Sum of the extra metric (`--metric`) over the live processes, KiB, when this sample
    /// read it (a round).
    pub total_extra_kib: Option<u64>,
    /// Sum of the private part of the RSS (neither file-backed nor shared) over the
    /// processes whose RSS was read, KiB.
    pub total_private_kib: u64,
    /// Processes whose RSS was read without its private part (the platform does not
    /// tell): `total_private_kib` is then no total.
    pub private_unknown: u32,
}

impl SampleSummary {
    /// Count a process's private RSS (`None`: the platform does not tell) in this sample
    /// and in its own peak.
    pub(super) fn add_private(&mut self, rec: &mut ProcRecord, private_kib: Option<u64>) {
        match private_kib {
            Some(kib) => {
                rec.observe_private(kib);
                self.total_private_kib += kib;
            }
            None => self.private_unknown += 1,
        }
    }

    /// Whether `total_rss_kib` is a figure: some live process was measured, or none is
    /// alive (a true 0). A sample whose processes were all unreadable or mid-exec has no
    /// total, and 0 would be a lie.
    pub fn has_total(&self) -> bool {
        self.processes == 0 || self.processes > self.unknown + self.loading
    }
}

/// The job's figures once sampling has ended.
#[derive(Debug)]
pub struct JobStats {
    /// Samples taken.
    pub samples: u64,
    /// Largest sum of simultaneous RSS, KiB.
    pub max_total_rss_kib: u64,
    /// Largest sum of simultaneous private RSS (neither file-backed nor shared), KiB, over
    /// the samples that could read it for every process they measured.
    pub max_total_private_kib: Option<u64>,
    /// Index of the sample with that total (`None` when no sample was taken).
    pub max_total_index: Option<u64>,
    /// Offset of that sample from the start.
    pub max_total_at: Duration,
    /// Processes alive at that sample.
    pub processes_at_peak: u32,
    /// Most processes alive at one sample.
    pub max_processes: u32,
    /// Processes that were ever part of the job.
    pub processes_total: u64,
    /// Dead processes left out of `processes` to bound memory (the smallest peaks).
    pub processes_omitted: u64,
    /// Processes whose memory could not be read.
    pub processes_unreadable: u64,
    /// The extra metric measured, if any.
    pub extra: Option<Metric>,
    /// Largest sum of the extra metric at one sample, KiB.
    pub max_total_extra_kib: Option<u64>,
    /// Reads of the extra metric, all processes together.
    pub extra_reads: u64,
    /// Rounds of such reads (samples that read every live process's extra metric).
    pub extra_rounds: u64,
    /// Processes whose RSS could be read but whose extra metric could not, in some round:
    /// they are missing from the extra metric's totals.
    pub extra_unreadable: u64,
    /// The longest wait the budget imposed between two rounds.
    pub extra_period_max: Duration,
    /// What the backend could not see or read (hidden processes, descriptor shortages).
    pub gaps: Gaps,
    /// Total RSS over time, bounded.
    pub timeline: Timeline,
    /// Processes the sample with the max total counted while they were still fresh copies
    /// of their parents (after fork, before the exec they made later), at most
    /// [`MAX_FORK_COPIES`]: RSS counted their parents' pages twice there.
    pub fork_copies_at_peak: Vec<ForkCopy>,
    /// The first job process that ran a launcher handing its work to a daemon (`srun`):
    /// its tasks are in the job only if adopted.
    pub launcher: Option<Pid>,
    /// Tasks of Slurm steps adopted into the job (their `adopted_step` is set).
    pub adopted: u64,
    /// The most nodes an adopted task's step ran on, when the tasks said.
    pub adopted_nodes: Option<u32>,
    /// Every process kept, in no particular order.
    pub processes: Vec<ProcRecord>,
    /// The total split by program, over time and at the peak.
    pub groups: TimelineGroups,
    /// Attached (`memwatch attach`): job processes whose parent exited while they ran, so
    /// that they left the attached tree; still measured.
    pub processes_reparented: u64,
}

impl<I: Inspector> Job<I> {
    /// Finish: every process still followed is reported as last seen where it was.
    pub fn finish(mut self) -> JobStats {
        let mut processes = std::mem::take(&mut self.dead);
        processes.extend(self.live.drain(..).map(|l| l.rec));
        let timeline = std::mem::replace(&mut self.timeline, Timeline::new(2));
        self.stats_of(processes, timeline)
    }

    /// The figures so far while the job goes on (for an interim report): every process as
    /// last seen. Copies every record: not for the steady state.
    pub fn stats(&self) -> JobStats {
        let processes = self
            .dead
            .iter()
            .cloned()
            .chain(self.live.iter().map(|l| l.rec.clone()))
            .collect();
        self.stats_of(processes, self.timeline.clone())
    }

    fn stats_of(&self, processes: Vec<ProcRecord>, timeline: Timeline) -> JobStats {
        // A copy counts once it exec'd: a worker that never execs is not between the two.
        let fork_copies_at_peak = self
            .peak_copies
            .iter()
            .flatten()
            .filter(|c| processes.iter().any(|p| p.id == c.id && p.exec_after_copy))
            .copied()
            .collect();
        JobStats {
            samples: self.samples,
            max_total_rss_kib: self.max_total_rss_kib,
            max_total_private_kib: self.max_total_private_kib,
            max_total_index: self.max_total_index,
            max_total_at: self.max_total_at,
            processes_at_peak: self.processes_at_peak,
            max_processes: self.max_processes,
            processes_total: self.total_seen,
            processes_omitted: self.omitted,
            processes_unreadable: self.denied.len() as u64,
            extra: self.extra,
            max_total_extra_kib: self.max_total_extra_kib,
            extra_reads: self.extra_reads,
            extra_rounds: self.extra_rounds,
            extra_unreadable: self.extra_unreadable,
            extra_period_max: self.extra_period_max,
            gaps: self.inspector.gaps(),
            timeline,
            fork_copies_at_peak,
            launcher: self.adoption.first_launcher,
            adopted: self.adoption.adopted,
            adopted_nodes: self.adoption.nodes,
            processes,
            groups: self.groups.report(),
            processes_reparented: self.reparented,
        }
    }
}
