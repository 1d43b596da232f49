//! The words of the report's warnings and notes, from the cross-checks' findings
//! ([`crate::model::findings`]) and the run's figures, the memory limit and the job's
//! cgroup among them.

use std::time::Duration;

use super::units::{Interval, iec, iec_or_unknown, plural, short_command};
use crate::model::findings::{Finding, Lateness, ProcRef};
use crate::model::{Metric, ProcessReport, Report};

/// `pid 12 (sh -c …)`.
fn named(p: &ProcessReport) -> String {
    format!("pid {} ({})", p.pid, short_command(&p.command, 40))
}

fn named_ref(r: &Report, p: ProcRef) -> String {
    match p {
        ProcRef::Listed(i) => named(&r.processes[i]),
        ProcRef::Pid(pid) => format!("pid {pid}"),
    }
}

/// The warning a finding of `r` gives.
pub(crate) fn word(r: &Report, f: &Finding) -> String {
    match *f {
        Finding::MissedPeak {
            process,
            kernel_kib,
            descendant,
            invisible,
            suggest_ms,
        } => missed_peak(r, process, kernel_kib, descendant, invisible, suggest_ms),
        Finding::ForkCopies {
            copies_kib,
            copy,
            parent,
            others,
            pss_measured,
        } => {
            let (copy, parent) = (named_ref(r, copy), named_ref(r, parent));
            let who = match others {
                0 => format!("{copy} was still a copy of its parent {parent}"),
                n => format!(
                    "{copy} and {} were still copies of their parents (the largest of {parent})",
                    plural(n as u64, "other process", "other processes")
                ),
            };
            let pss = if pss_measured {
                "the max total PSS counts shared pages once"
            } else {
                "--metric pss counts shared pages once"
            };
            format!(
                "the max total RSS counts {} twice: at that sample {who}, forked and not yet \
                 exec'd, and RSS counts the pages they share in each, so whether a sample falls \
                 in that window changes the total from run to run; {pss}",
                iec(copies_kib),
            )
        }
        Finding::MetricUnreadable { metric, processes } => {
            let what = metric.noun();
            format!(
                "the {what} of {} could not be read (another user's, or setuid): {} not in the \
                 {what} totals, which are lower bounds",
                plural(processes, "process", "processes"),
                if processes == 1 { "it is" } else { "they are" },
            )
        }
        Finding::Invisible { processes: n } => {
            let (one, it, they, its) = if n == 1 {
                ("process", "it", "it runs", "its")
            } else {
                ("processes", "them", "they run", "their")
            };
            format!(
                "memwatch could not see {n} {one} of the job: /proc hides {it} from memwatch \
                 (hidepid, and {they} as another user, e.g. setuid), so {its} memory is in no \
                 total and the totals are lower bounds; run memwatch as root to see {it}"
            )
        }
        Finding::Launcher {
            launcher,
            adopted,
            nodes,
        } => launched(r, launcher, adopted, nodes),
        Finding::FdShortage {
            samples,
            processes,
            limit,
        } => {
            let limit = limit.map_or(String::new(), |l| format!(" (open-files limit {l})"));
            let unread = match processes {
                0 => String::new(),
                p => format!(
                    "{} could not be read then (unknown, not 0) and ",
                    plural(p, "process", "processes")
                ),
            };
            format!(
                "memwatch ran out of file descriptors{limit} at {}: {unread}processes born then \
                 may have been missed, so the totals are lower bounds; raise the limit \
                 (ulimit -n)",
                plural(samples, "sample", "samples"),
            )
        }
        Finding::IntervalNotKept {
            requested_ms,
            achieved_ms,
            median_ms,
            p99_ms,
            missed,
            cause,
        } => interval_not_kept(
            requested_ms,
            [achieved_ms, median_ms, p99_ms],
            missed,
            cause,
        ),
    }
}

/// The sampler fell behind its interval: by how much, and why.
/// `gaps`: the mean, median and 99th percentile of the gaps between samples, ms.
fn interval_not_kept(requested_ms: u64, gaps: [f64; 3], missed: u64, cause: Lateness) -> String {
    let [mean_ms, median_ms, p99_ms] = gaps;
    let achieved = Interval(mean_ms);
    let p99 = if p99_ms.is_finite() {
        format!("99th percentile {}, ", Interval(p99_ms))
    } else {
        String::new()
    };
    let spread = format!(
        "on average; median {}, {p99}{} missed",
        Interval(median_ms),
        plural(missed, "deadline", "deadlines")
    );
    let how = format!(
        "memwatch sampled every {achieved}, not every {requested_ms} ms as asked ({spread})"
    );
    let why = match cause {
        Lateness::Processes {
            processes,
            per_sample_ms,
        } => format!(
            "too many processes for the interval: a sample of up to {} took memwatch {} of \
             CPU on average; use a longer -i, or --cpu-budget to bound memwatch's own CPU",
            plural(u64::from(processes), "process", "processes"),
            Interval(per_sample_ms)
        ),
        Lateness::Busy { cpu_percent } => format!(
            "the machine was busy: memwatch used only {} of a core but did not get the CPU \
             in time",
            cpu_percent.map_or("a small share".to_string(), |c| format!("{c:.0}%"))
        ),
        Lateness::Budget {
            percent,
            stretched_ms,
        } => {
            return format!(
                "--cpu-budget {}% stretched the interval to as much as {}: memwatch sampled \
                 every {achieved} ({spread}), not every {requested_ms} ms; every sample still \
                 read every process, so peaks and totals are true samples, but a peak \
                 shorter than the interval may fall between them",
                super::units::trim_float(percent),
                Interval(stretched_ms),
            );
        }
    };
    format!("{how}: {why}; a peak shorter than {achieved} may fall between samples and be missed")
}

/// How to measure every node of a step: one memwatch per task, merged.
const PER_TASK_RECIPE: &str = "run one memwatch per task instead, `srun memwatch run -o \
     mem-%h-%r.json -- <program>`, then `memwatch merge mem-*.json`";

/// A launcher that had Slurm start its tasks: which of them are in the report (the ones
/// adopted on this node), which cannot be, and how to measure them all.
fn launched(r: &Report, launcher: ProcRef, adopted: u64, nodes: Option<u32>) -> String {
    let who = named_ref(r, launcher);
    let head = format!(
        "{who} had Slurm start its tasks under slurmstepd, outside memwatch's process tree"
    );
    if adopted == 0 {
        return format!(
            "{head}, and memwatch found none of them on this node: the figures \
             leave the tasks' memory out (they ran on other nodes, were started without \
             memwatch's MEMWATCH_RUN in their environment, e.g. srun --export=NONE, or had \
             not started yet); to measure them, {PER_TASK_RECIPE}"
        );
    }
    let mut steps: Vec<&str> = r
        .processes
        .iter()
        .filter_map(|p| p.adopted_step.as_deref())
        .collect();
    steps.sort_unstable();
    steps.dedup();
    let steps = format!(
        "{} {}",
        if steps.len() == 1 { "step" } else { "steps" },
        steps.join(", ")
    );
    let adopted_text = format!(
        "memwatch followed {} of {steps} on this node into the report (adopted_step)",
        plural(adopted, "task", "tasks")
    );
    match nodes {
        Some(1) => format!(
            "{head}; {adopted_text}; the step ran on this node only, so no task is missing, \
             but tasks on other nodes would not be in this report: for a step across nodes, \
             {PER_TASK_RECIPE}"
        ),
        Some(n) => format!(
            "{head}; {adopted_text}; the tasks on the other {} are NOT in this report: to \
             measure every node, {PER_TASK_RECIPE}",
            plural(u64::from(n) - 1, "node", "nodes")
        ),
        None => format!(
            "{head}; {adopted_text}; tasks on other nodes are not in this report: to measure \
             every node, {PER_TASK_RECIPE}"
        ),
    }
}

/// A kernel peak the samples missed: whose it is, what the samples saw, and the likely
/// cause.
fn missed_peak(
    r: &Report,
    process: usize,
    kernel_kib: u64,
    descendant: Option<usize>,
    invisible: u64,
    suggest_ms: u64,
) -> String {
    let p = &r.processes[process];
    let kernel_text = iec(kernel_kib);
    let cause = if invisible > 0 {
        format!(
            "memwatch could not see {} of the job (hidepid) and it may be one of them, which a \
             shorter interval would not change",
            plural(invisible, "process", "processes")
        )
    } else {
        format!("a short spike or a short-lived child fell between samples; try -i {suggest_ms}")
    };
    let in_kids = descendant
        .map(|k| {
            let k = &r.processes[k];
            format!(
                "{} in its descendants ({})",
                iec_or_unknown(k.max_rss_kib),
                named(k)
            )
        })
        .unwrap_or_default();
    let or_child = if descendant.is_some() {
        "or a child it waited for"
    } else {
        "or a child of it that no sample saw"
    };
    match p.max_rss_kib {
        // Never sampled: it was gone before the first sample could see it.
        None if p.samples == 0 => format!(
            "{} exited before any sample saw it (the first is taken at once); the kernel says \
             it, {or_child}, reached {kernel_text}",
            named(p),
        ),
        None => format!(
            "{}, {or_child}, reached {kernel_text} according to the kernel; memwatch could not \
             read its memory (another user's, or setuid){}",
            named(p),
            if in_kids.is_empty() {
                String::new()
            } else {
                format!(", and samples saw at most {in_kids}")
            },
        ),
        Some(own) => format!(
            "{}, {or_child}, reached {kernel_text} according to the kernel, but samples saw at \
             most {} in it{}: {cause}",
            named(p),
            iec(own),
            if in_kids.is_empty() {
                String::new()
            } else {
                format!(" and {in_kids}")
            },
        ),
    }
}

/// How the extra metric was sampled (the report's `metric_sampling`): how many rounds and
/// reads, within what budget, at most how far apart.
pub(crate) fn metric_sampling(
    metric: Metric,
    rounds: u64,
    reads: u64,
    budget: f64,
    period_max: Duration,
) -> String {
    match metric {
        Metric::Pss => format!(
            "PSS read from /proc/<pid>/smaps_rollup for every live process together, in {rounds} round(s) ({reads} reads); a round starts once the previous one's cost fits in {:.0}% of the time since (rounds at most {} ms apart here); the max total PSS is the largest round, so a peak between rounds can be missed",
            budget * 100.0,
            period_max.as_millis()
        ),
        Metric::Footprint | Metric::Rss => {
            format!("physical footprint (ri_phys_footprint) read {reads} time(s) in all, with RSS")
        }
    }
}

/// Why the job's cgroup is not the job's alone, as `cgroup_peak_note` says it.
pub(crate) fn cgroup_shared(path: &str, why: &crate::sys::Intrusion) -> String {
    match why {
        crate::sys::Intrusion::Stranger { pid: 0, name } => format!(
            "no cgroup peak: the job did not have its memory cgroup {path} to itself ({name} \
             was in it too), so the cgroup's high-water mark is not the job's"
        ),
        crate::sys::Intrusion::Stranger { pid, name } => format!(
            "no cgroup peak: the job did not have its memory cgroup {path} to itself (pid \
             {pid}, {}, was in it too), so the cgroup's high-water mark is not the job's",
            short_command(name, 60)
        ),
        crate::sys::Intrusion::Escaped { pid, cgroup } => format!(
            "no cgroup peak: pid {pid} of the job ran in another cgroup ({cgroup}), whose \
             memory the high-water mark of the job's cgroup {path} does not count"
        ),
    }
}

/// Why memwatch could not tell who was in the job's cgroup.
pub(crate) fn cgroup_unchecked(path: &str, error: &str) -> String {
    format!(
        "no cgroup peak: memwatch could not tell who else was in the job's memory cgroup \
         {path} ({error})"
    )
}

/// Why there is no cgroup peak: no memory cgroup.
pub(crate) fn no_cgroup(why: &str) -> String {
    format!("no cgroup peak: {why}")
}

/// Why there is no cgroup peak: the high-water mark did not rise during the job.
pub(crate) fn cgroup_peak_before(path: &str, kib: u64) -> String {
    format!(
        "no cgroup peak: the high-water mark of the job's memory cgroup {path} ({}) was \
         reached before the job started and not passed since, so it says nothing of the job",
        iec(kib)
    )
}

/// What a cgroup peak counts.
pub(crate) fn cgroup_peak_counts(path: &str) -> String {
    format!(
        "the kernel's high-water mark of the job's memory cgroup {path}, which the job had \
         to itself (with memwatch): it counts page cache and kernel memory too, as the OOM \
         killer does, and shared pages once, so it can differ from the RSS total either way"
    )
}

/// The warning when the max total RSS is above 90% of the limit in force.
pub(crate) fn near_limit(r: &Report) -> Option<String> {
    let pct = r.peak_percent_of_limit.filter(|&p| p > 90.0)?;
    let limit = r.memory_limit.as_ref()?;
    let peak = r.max_total_rss_kib?;
    let at_least = if r.max_total_rss_is_lower_bound {
        "at least "
    } else {
        ""
    };
    let why = match limit.source {
        crate::model::limit::LimitSource::Cgroup => {
            "the kernel counts page cache and kernel memory against it too, and the OOM \
             killer acts at the limit"
        }
        crate::model::limit::LimitSource::Slurm => {
            "Slurm enforces it through its cgroup (ConstrainRAMSpace) or by killing the job \
             (OverMemoryKill), where configured"
        }
        crate::model::limit::LimitSource::Rlimit => {
            "it limits the virtual memory of each process, not the job's total: a process \
             that reaches it fails to allocate"
        }
        crate::model::limit::LimitSource::Physical => {
            "beyond it the machine swaps or its OOM killer acts"
        }
    };
    let over = if pct > 100.0 {
        " (RSS counts a page shared by several processes in each of them, so the total can \
         exceed what the job holds)"
    } else {
        ""
    };
    Some(format!(
        "the max total RSS ({at_least}{}) is {at_least}{}% of the limit in force ({}, {}): \
         little headroom; {why}{over}",
        iec(peak),
        crate::output::units::trim_float(pct),
        iec(limit.kib),
        limit.describe()
    ))
}
