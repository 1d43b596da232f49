//! What the cross-checks find in a report, as values: a kernel high-water mark the samples
//! fall short of, a max total that counted fresh fork copies twice, processes memwatch
//! could not see or read, an interval the sampler did not keep. The renderers ([`crate::output::warnings`]) word them.

use std::collections::HashMap;

use super::{Metric, ProcessReport, Report};

/// A process a finding is about: one listed in the report (by index in `processes`), or
/// only its pid when it is not listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProcRef {
    /// `report.processes[i]`.
    Listed(usize),
    /// A pid the report does not list.
    Pid(i32),
}

/// One finding.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Finding {
    /// The kernel's high-water mark of a process memwatch reaped (covering it and the
    /// descendants it waited for) is well above what the samples saw of them: a spike, or a
    /// child, between samples; or a process memwatch could not see or read.
    MissedPeak {
        /// The process (index in `processes`).
        process: usize,
        /// The kernel's figure, KiB.
        kernel_kib: u64,
        /// The descendant with the largest sampled peak among those it waited for.
        descendant: Option<usize>,
        /// Processes of the job memwatch could not see (hidepid): the peak may be in one
        /// of them, which a shorter interval would not change.
        invisible: u64,
        /// The interval worth trying, ms.
        suggest_ms: u64,
    },
    /// The sample with the max total counted processes that were still fresh copies of
    /// their parents (forked, not yet exec'd): RSS counted the pages they share twice.
    ForkCopies {
        /// Their RSS at that sample, KiB.
        copies_kib: u64,
        /// The largest copy.
        copy: ProcRef,
        /// Its parent.
        parent: ProcRef,
        /// How many other copies there were.
        others: usize,
        /// The report measured PSS (which counts shared pages once).
        pss_measured: bool,
    },
    /// The extra metric of these processes could not be read (another user's, setuid).
    MetricUnreadable {
        /// Which metric.
        metric: Metric,
        /// How many processes.
        processes: u64,
    },
    /// Processes of the job memwatch could not see at all (hidepid).
    Invisible {
        /// How many.
        processes: u64,
    },
    /// The job ran a launcher that hands its work to a daemon (Slurm's `srun`): its tasks
    /// are not its descendants, and are in the report only where memwatch adopted them
    /// (`adopted_step`: this node's).
    Launcher {
        /// The launcher.
        launcher: ProcRef,
        /// Tasks adopted on this node.
        adopted: u64,
        /// The most nodes an adopted task's step ran on, when known.
        nodes: Option<u32>,
    },
    /// memwatch ran out of file descriptors.
    FdShortage {
        /// At how many samples.
        samples: u64,
        /// Processes it could not read then.
        processes: u64,
        /// Its open-files limit then.
        limit: Option<u64>,
    },
    /// The sampler did not keep the interval asked for: the mean or the median gap between
    /// samples is more than [`SLOWER_THAN_ASKED`] times it.
    IntervalNotKept {
        /// The interval asked for, ms.
        requested_ms: u64,
        /// The mean gap between sample starts, ms.
        achieved_ms: f64,
        /// Their median, ms.
        median_ms: f64,
        /// Their 99th percentile, ms.
        p99_ms: f64,
        /// Deadlines no sample started at.
        missed: u64,
        /// Why.
        cause: Lateness,
    },
}

/// Why the sampler did not keep its interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Lateness {
    /// Its own samples took the time: too many processes for the interval.
    Processes {
        /// The most job processes alive at one sample.
        processes: u32,
        /// memwatch's own CPU time per sample, ms.
        per_sample_ms: f64,
    },
    /// It used little CPU but got it late: the machine was busy.
    Busy {
        /// memwatch's own CPU, percent of one core (`None`: unknown).
        cpu_percent: Option<f64>,
    },
    /// `--cpu-budget` stretched it.
    Budget {
        /// The budget, percent of one core.
        percent: f64,
        /// The longest interval it set, ms.
        stretched_ms: f64,
    },
}

/// An achieved interval more than this many times the one asked for was not kept.
pub(crate) const SLOWER_THAN_ASKED: f64 = 1.2;
/// memwatch's own CPU time per sample at least this share of the interval asked for: its
/// own samples took the time (else the machine was busy).
const OWN_COST_SHARE: f64 = 0.8;

/// Whether `r` was sampled more slowly than asked: the mean or the median gap between
/// samples is more than [`SLOWER_THAN_ASKED`] times `interval_ms` (a busy machine delays
/// some samples long and the next ones follow at once: the mean shows it, the median may
/// not).
pub(crate) fn interval_slower(r: &Report) -> bool {
    let asked = SLOWER_THAN_ASKED * r.interval_ms as f64;
    r.interval_achieved_ms.is_some_and(|a| a > asked)
        || r.interval_achieved_mean_ms.is_some_and(|a| a > asked)
}

/// The finding when `r`'s sampler did not keep its interval, with its likely cause.
pub(crate) fn interval_not_kept(r: &Report) -> Option<Finding> {
    if !interval_slower(r) {
        return None;
    }
    let cause = match (r.cpu_budget_percent, r.interval_stretched_max_ms) {
        (Some(percent), Some(stretched_ms)) => Lateness::Budget {
            percent,
            stretched_ms,
        },
        _ => {
            // memwatch's CPU over the run, per sample.
            let per_sample_ms = r
                .memwatch_cpu_percent
                .map(|cpu| cpu / 100.0 * r.duration_seconds * 1000.0 / r.samples.max(1) as f64);
            match per_sample_ms {
                Some(ms) if ms >= OWN_COST_SHARE * r.interval_ms as f64 => Lateness::Processes {
                    processes: r.max_processes,
                    per_sample_ms: ms,
                },
                _ => Lateness::Busy {
                    cpu_percent: r.memwatch_cpu_percent,
                },
            }
        }
    };
    Some(Finding::IntervalNotKept {
        requested_ms: r.interval_ms,
        achieved_ms: r.interval_achieved_mean_ms.or(r.interval_achieved_ms)?,
        median_ms: r.interval_achieved_ms?,
        p99_ms: r.interval_achieved_p99_ms.unwrap_or(f64::NAN),
        missed: r.deadlines_missed.unwrap_or(0),
        cause,
    })
}

/// The finding about launcher `pid` (listed in `r` or not) of a job into which memwatch
/// adopted `adopted` tasks, whose steps ran on at most `nodes` nodes.
pub(crate) fn launcher(r: &Report, pid: i32, adopted: u64, nodes: Option<u32>) -> Finding {
    let launcher = r
        .processes
        .iter()
        .position(|p| p.pid == pid)
        .map_or(ProcRef::Pid(pid), ProcRef::Listed);
    Finding::Launcher {
        launcher,
        adopted,
        nodes,
    }
}

/// A sampled peak below this share of the kernel's peak means a spike fell between samples.
const MISSED_PEAK_RATIO: f64 = 0.9;
/// Differences smaller than this are noise (the kernel figure includes what a process
/// inherited from memwatch when it was spawned).
const MISSED_PEAK_MIN_KIB: u64 = 16 * 1024;

/// Whether `explained` (KiB, `None`: nothing) falls short of the kernel's figure by more
/// than noise.
fn falls_short(kernel: u64, explained: Option<u64>) -> bool {
    let seen = explained.unwrap_or(0);
    (seen as f64) < MISSED_PEAK_RATIO * kernel as f64
        && kernel.saturating_sub(seen) >= MISSED_PEAK_MIN_KIB
}

/// Fresh fork copies below this share of the max total are not worth a finding.
const FORK_COPY_MIN_SHARE: f64 = 0.05;

/// A fresh fork copy counted in the max total: its pid, its parent's pid, its RSS then
/// (KiB) and when it was first seen (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Copy {
    /// Its pid.
    pub pid: i32,
    /// Its parent's pid.
    pub ppid: i32,
    /// Its RSS at the max total's sample, KiB.
    pub kib: u64,
    /// When it was first seen, ms after the start.
    pub first_seen_ms: u64,
}

/// The finding about fresh fork copies counted in `r`'s max total, when they weigh enough
/// (at least 16 MiB and 5% of the total) to change it from run to run.
pub(crate) fn fork_copies(r: &Report, copies: &[Copy]) -> Option<Finding> {
    let (Some(total), Some(copies_kib)) = (r.max_total_rss_kib, r.max_total_rss_fork_copies_kib)
    else {
        return None;
    };
    if copies_kib < MISSED_PEAK_MIN_KIB || (copies_kib as f64) < FORK_COPY_MIN_SHARE * total as f64
    {
        return None;
    }
    let largest = copies.iter().max_by_key(|c| c.kib)?;
    let find = |pid: i32| {
        r.processes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.pid == pid && p.first_seen_ms <= largest.first_seen_ms)
            .max_by_key(|(_, p)| p.first_seen_ms)
            .map_or(ProcRef::Pid(pid), |(i, _)| ProcRef::Listed(i))
    };
    Some(Finding::ForkCopies {
        copies_kib,
        copy: find(largest.pid),
        parent: find(largest.ppid),
        others: copies.len() - 1,
        pss_measured: r.metric == Metric::Pss,
    })
}

/// Compare each kernel high-water mark with the sampled peaks it covers (the process and
/// the descendants it waited for): one finding for each that sampling missed.
///
/// `invisible` is the number of the job's processes memwatch knows existed but could not
/// see at all (hidden by `hidepid`): when it is not 0, what the samples missed may be one
/// of them.
pub(crate) fn missed_peaks(r: &Report, invisible: u64) -> Vec<Finding> {
    let tree = Tree::new(r);
    let mut out = Vec::new();
    for (i, p) in r.processes.iter().enumerate() {
        let Some(kernel) = p.kernel_max_rss_kib else {
            continue;
        };
        let kids = tree.waited_for_max(i);
        let kids_kib = kids.and_then(|k| r.processes[k].max_rss_kib);
        let explained = p
            .max_rss_kib
            .max(kids_kib)
            .max(tree.inherited_bound(i, r.interval_ms));
        if falls_short(kernel, explained) {
            out.push(Finding::MissedPeak {
                process: i,
                kernel_kib: kernel,
                descendant: kids,
                invisible,
                suggest_ms: (r.interval_ms / 10).clamp(1, 100),
            });
        }
    }
    out
}

/// The processes of a report as a tree, by the parent pids recorded when first seen.
struct Tree<'a> {
    r: &'a Report,
    children: HashMap<i32, Vec<usize>>,
}

impl<'a> Tree<'a> {
    fn new(r: &'a Report) -> Self {
        let mut children: HashMap<i32, Vec<usize>> = HashMap::new();
        for (i, p) in r.processes.iter().enumerate() {
            children.entry(p.ppid).or_default().push(i);
        }
        Tree { r, children }
    }

    /// The children of process `i` (a child cannot be seen before its parent: this skips
    /// recycled-pid look-alikes).
    fn children_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let p = &self.r.processes[i];
        self.children
            .get(&p.pid)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&k| k != i && self.r.processes[k].first_seen_ms >= p.first_seen_ms)
    }

    /// The descendant of process `i` with the largest sampled peak among those `i` (or its
    /// descendants) waited for: the ones the kernel's figure for `i` covers. A descendant
    /// memwatch reaped itself (it has its own kernel figure) or left running was not waited
    /// for by `i`, nor were its own descendants.
    fn waited_for_max(&self, i: usize) -> Option<usize> {
        let ps = &self.r.processes;
        let mut visited = vec![false; ps.len()];
        visited[i] = true;
        let mut best: Option<usize> = None;
        let mut stack: Vec<usize> = self.children_of(i).collect();
        while let Some(j) = stack.pop() {
            if std::mem::replace(&mut visited[j], true) {
                continue;
            }
            let q = &ps[j];
            if q.kernel_max_rss_kib.is_some() || self.r.left_running.contains(&q.pid) {
                continue;
            }
            if best.is_none_or(|b| q.max_rss_kib > ps[b].max_rss_kib) {
                best = Some(j);
            }
            stack.extend(self.children_of(j));
        }
        best
    }

    /// For a process that exec'd after its parent forked it: what its parent held, KiB.
    /// Its kernel figure covers the image it had before exec, a copy of its parent sharing
    /// the parent's pages, so a figure up to this much is what it inherited, not memory it
    /// used. `None` for the command (its parent is memwatch, whose size is noise) and for a
    /// child still running its parent's program.
    fn inherited_bound(&self, i: usize, interval_ms: u64) -> Option<u64> {
        let ps = &self.r.processes;
        let p = &ps[i];
        if p.root {
            return None;
        }
        let held = |q: &ProcessReport| q.max_rss_kib.max(q.kernel_max_rss_kib);
        let parent = ps
            .iter()
            .enumerate()
            .filter(|&(j, q)| j != i && q.pid == p.ppid && q.first_seen_ms <= p.first_seen_ms)
            .max_by_key(|(_, q)| q.first_seen_ms)
            .map(|(_, q)| q);
        if let Some(q) = parent {
            return (q.command != p.command).then(|| held(q)).flatten();
        }
        // Adopted (its parent exited) before any sample saw it: its parent is one of the job's
        // processes alive when it was born, which died at most about an interval after the
        // last sample that saw it alive (start times have 10 ms resolution on Linux).
        let birth_ms = p
            .start_time
            .map(|t| t.as_millisecond() - self.r.start_time.as_millisecond());
        let slack = i64::try_from(interval_ms)
            .unwrap_or(i64::MAX)
            .saturating_add(20);
        ps.iter()
            .enumerate()
            .filter(|&(j, q)| {
                j != i
                    && q.first_seen_ms <= p.first_seen_ms
                    && match (q.start_time, p.start_time) {
                        (Some(a), Some(b)) => a <= b,
                        _ => true,
                    }
                    && birth_ms.is_none_or(|b| {
                        b <= i64::try_from(q.last_seen_ms)
                            .unwrap_or(i64::MAX)
                            .saturating_add(slack)
                    })
            })
            .filter_map(|(_, q)| held(q))
            .max()
    }
}
