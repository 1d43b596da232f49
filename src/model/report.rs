//! The report: what memwatch found about one job, as one serialisable model shared by
//! every output and by the commands that read reports back.
//!
//! Every memory figure is KiB, every offset milliseconds, every instant RFC 3339 UTC. The
//! field docs are the JSON schema; docs/schema.md's table is written from them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::groups::TimelineGroups;
use super::limit::MemoryLimit;
use super::oom::OomKill;
use super::timeline::Point;
use super::{Exit, Metric};

/// The schema version this memwatch writes: 2 added `timeline_groups` (and `attached`).
pub const SCHEMA_VERSION: u32 = 2;

/// The schema versions memwatch reads (`compare`, `merge`, `plot`, `export`): version 1
/// reports read as version 2 ones without what version 2 added. Readers refuse others.
pub const SCHEMA_VERSIONS_READ: [u32; 2] = [1, SCHEMA_VERSION];

/// One process of the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessReport {
    /// Process id.
    pub pid: i32,
    /// Parent process id when memwatch first saw it.
    pub ppid: i32,
    /// Its command line when it reached its peak (arguments joined by spaces, lossy UTF-8,
    /// at most 4 KiB); for a peak read while it was still a copy of its parent between fork
    /// and exec (`peak_before_exec`), the command it exec'd.
    pub command: String,
    /// Its largest sampled RSS, KiB; `null` when its memory could never be read.
    pub max_rss_kib: Option<u64>,
    /// The kernel's own high-water mark for it, KiB, when known (`ru_maxrss` of processes
    /// memwatch reaped: the command, and orphans it adopted). It covers the process and the
    /// descendants it waited for, and can exceed `max_rss_kib` when a spike fell between
    /// samples. For a child that exec'd it also covers the copy of its parent it was before
    /// the exec (up to what its parent held), memory it never used.
    pub kernel_max_rss_kib: Option<u64>,
    /// When the process started (from the kernel's start time), RFC 3339; null where the
    /// platform does not tell.
    #[serde(default)]
    pub start_time: Option<Timestamp>,
    /// The first sample that saw it.
    pub first_seen: Timestamp,
    /// The last sample that saw it alive.
    pub last_seen: Timestamp,
    /// `first_seen` as milliseconds after the job's start.
    pub first_seen_ms: u64,
    /// `last_seen` as milliseconds after the job's start.
    pub last_seen_ms: u64,
    /// Samples that saw it alive.
    pub samples: u64,
    /// True for the command memwatch started.
    pub root: bool,
    /// True when `max_rss_kib` was read between its fork and its exec, while it was still a
    /// copy of its parent (`ppid`) no larger than the parent: pages it shared with the
    /// parent, counted in both by RSS, not memory of its own.
    #[serde(default)]
    pub peak_before_exec: bool,
    /// Its largest PSS (`--metric pss`), KiB; null when not measured.
    #[serde(default)]
    pub max_pss_kib: Option<u64>,
    /// Its largest physical footprint (`--metric footprint`), KiB; null when not measured.
    #[serde(default)]
    pub max_footprint_kib: Option<u64>,
    /// macOS: the kernel's lifetime peak physical footprint for a process memwatch reaped
    /// (`ri_lifetime_max_phys_footprint`), KiB; null otherwise.
    #[serde(default)]
    pub kernel_max_footprint_kib: Option<u64>,
    /// The Slurm step (`JOB.STEP`: `1234.0`, `1234.batch`) whose daemon (`slurmstepd`)
    /// started this process on this node, outside the command's process tree, when memwatch
    /// adopted it into the job: a task of an `srun` (or `sbatch --wait`) the command ran, or
    /// a descendant of one. null for the command's own processes and in reports of earlier
    /// versions.
    #[serde(default)]
    pub adopted_step: Option<String>,
    /// Its largest private RSS, KiB: resident memory neither file-backed nor shared (Linux:
    /// statm's resident minus shared pages, read with its RSS). Null where its memory could
    /// not be read, on macOS, and in reports of earlier versions.
    #[serde(default)]
    pub max_private_rss_kib: Option<u64>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Version of this schema ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Version of memwatch that wrote it.
    pub memwatch_version: String,
    /// Host the job ran on.
    pub hostname: String,
    /// The launcher's identity when memwatch ran under one (Slurm, Open MPI, PMI): the
    /// variables of [`super::launcher::IDENTITY_VARS`] that were set.
    #[serde(default)]
    pub launcher: std::collections::BTreeMap<String, String>,
    /// Operating system (`linux`, `macos`).
    pub os: String,
    /// The command, one string per argument (lossy UTF-8).
    pub command: Vec<String>,
    /// When the command was started.
    pub start_time: Timestamp,
    /// When the job ended (or memwatch stopped waiting for it).
    pub end_time: Timestamp,
    /// `end_time - start_time`, seconds.
    pub duration_seconds: f64,
    /// Sampling interval, milliseconds.
    pub interval_ms: u64,
    /// Samples taken.
    pub samples: u64,
    /// The largest sum of the RSS of the job's processes alive at one sample, KiB. `null`
    /// when no sample saw the job alive (it ended first).
    pub max_total_rss_kib: Option<u64>,
    /// Index (from 0) of the sample with that total.
    pub max_total_rss_sample_index: Option<u64>,
    /// Milliseconds after the start of the sample with that total.
    pub max_total_rss_ms: Option<u64>,
    /// Job processes alive at that sample.
    pub processes_at_peak: u32,
    /// RSS counted at that sample of processes that were still fresh copies of their
    /// parents, forked and not yet exec'd (at most 4, the freshest), KiB: their parents'
    /// pages, counted twice. 0 when none; `null` when there is no max total, and in reports
    /// of earlier memwatch versions.
    #[serde(default)]
    pub max_total_rss_fork_copies_kib: Option<u64>,
    /// The most job processes alive at one sample.
    pub max_processes: u32,
    /// The largest single-process peak, KiB (`null` when none could be read).
    pub max_process_rss_kib: Option<u64>,
    /// Pid of the process with that peak.
    pub max_process_pid: Option<i32>,
    /// Processes that were part of the job.
    pub processes_total: u64,
    /// Dead processes with the smallest peaks left out of `processes` to bound memory.
    pub processes_omitted: u64,
    /// Processes whose memory could not be read (another user, setuid): their RSS is
    /// unknown and not in any total.
    pub processes_unreadable: u64,
    /// Processes of the job memwatch could not see at all: listed as children of job
    /// processes, but `/proc` hides them from memwatch (`hidepid`, another user's process,
    /// e.g. setuid). They are in no total, which are then lower bounds.
    #[serde(default)]
    pub processes_invisible: u64,
    /// Samples at which memwatch ran out of file descriptors (its open-files limit) and
    /// could not look for, or read, every process: totals at those samples may be low.
    #[serde(default)]
    pub fd_shortage_samples: u64,
    /// Processes memwatch could not read at one sample or more for lack of file
    /// descriptors (unknown at those samples, never 0).
    #[serde(default)]
    pub fd_shortage_processes: u64,
    /// True when processes are left out of the figures (`processes_unreadable`,
    /// `processes_invisible`, `fd_shortage_processes` or `fd_shortage_samples` is not 0), so
    /// `max_total_rss_kib` (and `max_process_rss_kib`) are lower bounds, "at least".
    #[serde(default)]
    pub max_total_rss_is_lower_bound: bool,
    /// The largest sum of the private RSS of the job's processes alive at one sample, KiB:
    /// their resident memory that is neither file-backed nor shared (Linux: statm's
    /// resident minus shared pages, from the read that gives the RSS), so a mapping
    /// several processes share counts in none. Like the RSS total it leaves out what
    /// `max_total_rss_is_lower_bound` says. `null` on macOS (the kernel does not tell),
    /// without a max total, and in reports of earlier versions.
    #[serde(default)]
    pub max_total_private_rss_kib: Option<u64>,
    /// What was measured besides RSS: `rss` (nothing), `pss` or `footprint` (`--metric`).
    #[serde(default)]
    pub metric: Metric,
    /// Largest sum of simultaneous PSS, KiB (`--metric pss`; shared pages counted once).
    #[serde(default)]
    pub max_total_pss_kib: Option<u64>,
    /// True when `max_total_pss_kib` leaves processes out (their PSS could not be read,
    /// `processes_metric_unreadable`, or not even their RSS, `processes_unreadable`): it is
    /// a lower bound, "at least".
    #[serde(default)]
    pub max_total_pss_is_lower_bound: bool,
    /// Largest sum of simultaneous physical footprints, KiB (`--metric footprint`).
    #[serde(default)]
    pub max_total_footprint_kib: Option<u64>,
    /// The same as `max_total_pss_is_lower_bound`, for `max_total_footprint_kib`.
    #[serde(default)]
    pub max_total_footprint_is_lower_bound: bool,
    /// How the extra metric was sampled (reads, spacing, scaling in between).
    #[serde(default)]
    pub metric_sampling: Option<String>,
    /// Processes whose extra metric the kernel refused (another user's, setuid): left out
    /// of its totals, which are then lower bounds.
    #[serde(default)]
    pub processes_metric_unreadable: u64,
    /// CPU time the job spent in user mode, seconds: every process memwatch waited for,
    /// and every process those waited for in turn (`getrusage(RUSAGE_CHILDREN)` once the
    /// job is over). Not memwatch's own. `null` in an interim report (known only at the
    /// end) and in reports of earlier versions.
    #[serde(default)]
    pub cpu_user_seconds: Option<f64>,
    /// CPU time the kernel spent on the job's behalf (system time), seconds; the same
    /// processes as `cpu_user_seconds`, `null` in the same cases.
    #[serde(default)]
    pub cpu_system_seconds: Option<f64>,
    /// Page faults served without I/O (a page in memory already, or a fresh zeroed one),
    /// the same processes; `null` in the same cases.
    #[serde(default)]
    pub page_faults_minor: Option<u64>,
    /// Page faults that needed I/O (on macOS: page-ins), the same processes.
    #[serde(default)]
    pub page_faults_major: Option<u64>,
    /// Context switches because a process waited (for I/O, a lock, a child), the same
    /// processes.
    #[serde(default)]
    pub context_switches_voluntary: Option<u64>,
    /// Context switches because a process was preempted (its time slice was up, or a
    /// process of higher priority woke), the same processes.
    #[serde(default)]
    pub context_switches_involuntary: Option<u64>,
    /// Block input operations: file system reads that had to go to a device (not those
    /// served from the page cache), the same processes.
    #[serde(default)]
    pub block_input_ops: Option<u64>,
    /// Block output operations: file system writes to a device, the same processes.
    #[serde(default)]
    pub block_output_ops: Option<u64>,
    /// True when the CPU times and counts above leave out processes of the job memwatch
    /// did not wait for (`--wait root` left some running; the command's end is unknown):
    /// they are lower bounds, "at least". `false` without them and in reports of earlier
    /// versions.
    #[serde(default)]
    pub rusage_is_lower_bound: bool,
    /// The command's exit code, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed the command, if one did.
    pub signal: Option<i32>,
    /// True when memwatch received SIGINT, SIGTERM, SIGHUP or SIGQUIT during the job.
    pub interrupted: bool,
    /// The first of those signals memwatch received; `null` when it was not interrupted
    /// (or in reports of earlier versions). When the command itself then exits 0,
    /// memwatch exits 128 + this signal, so a script sees that the run was cut short.
    #[serde(default)]
    pub interrupt_signal: Option<i32>,
    /// Pids of job processes still running when memwatch stopped (`--wait root`).
    pub left_running: Vec<i32>,
    /// `run --max-rss`: the check of the peak (the max total RSS, or the `--metric`
    /// figure) against the limit, and why memwatch exits 3 when it fails; `null` without
    /// `--max-rss` and in reports of earlier versions.
    #[serde(default)]
    pub max_rss_check: Option<super::gate::MaxRssCheck>,
    /// Warnings about the figures (e.g. a kernel peak above the sampled one).
    pub warnings: Vec<String>,
    /// The processes, largest peak first.
    pub processes: Vec<ProcessReport>,
    /// Total RSS over time, at most 2000 points; merged points keep the largest total.
    /// Samples with no total (every live process unreadable or mid-exec) have no point.
    pub timeline: Vec<Point>,
    /// True when the timeline was thinned to stay within 2000 points (a point then stands
    /// for several samples); `null` in reports of earlier memwatch versions.
    #[serde(default)]
    pub timeline_thinned: Option<bool>,
    /// The interval the sampler achieved: the median gap between the starts of
    /// consecutive samples, milliseconds (µs precision, within about 3%). Above
    /// `interval_ms` when memwatch could not keep the interval (too many processes for it,
    /// a busy machine, `--cpu-budget`). `null` with fewer than two samples and in reports
    /// of earlier versions.
    #[serde(default)]
    pub interval_achieved_ms: Option<f64>,
    /// The mean of those gaps, milliseconds: the time between the first and the last
    /// sample over the samples taken, so samples the machine delayed weigh as long as they
    /// lasted. `null` in the same cases.
    #[serde(default)]
    pub interval_achieved_mean_ms: Option<f64>,
    /// The 99th percentile of those gaps, milliseconds; `null` in the same cases.
    #[serde(default)]
    pub interval_achieved_p99_ms: Option<f64>,
    /// The longest of those gaps, milliseconds (exact); `null` in the same cases.
    #[serde(default)]
    pub interval_achieved_max_ms: Option<f64>,
    /// Deadlines of the sampling grid (every `interval_ms`, or the interval `--cpu-budget`
    /// set) at which no sample started because the previous one was still running or
    /// memwatch did not get the CPU in time. `null` in reports of earlier versions.
    #[serde(default)]
    pub deadlines_missed: Option<u64>,
    /// memwatch's own CPU time (user and system) over the run, as a percentage of one core:
    /// 100 is one core busy the whole time. `null` in reports of earlier versions.
    #[serde(default)]
    pub memwatch_cpu_percent: Option<f64>,
    /// `run --cpu-budget`: the share of one core, percent, memwatch's own CPU was kept
    /// within by stretching the interval; `null` without it.
    #[serde(default)]
    pub cpu_budget_percent: Option<f64>,
    /// With `--cpu-budget`: the longest interval the budget set, milliseconds; `null` when
    /// the budget never stretched the interval (or there was none).
    #[serde(default)]
    pub interval_stretched_max_ms: Option<f64>,
    /// True when memwatch attached to a process that was already running (`memwatch
    /// attach`) instead of starting the command: `start_time` and `duration_seconds` count
    /// from the attach, and how the process ended is unknown (`exit_code` and `signal` are
    /// null). False in reports of `run` and of earlier versions.
    #[serde(default)]
    pub attached: bool,
    /// `memwatch attach`: when the attached process really started (the kernel's start
    /// time), before memwatch attached; null otherwise.
    #[serde(default)]
    pub attached_process_start_time: Option<Timestamp>,
    /// `memwatch attach`: job processes whose parent exited while they ran, so that they
    /// were reparented away from the attached process's tree (to init or a subreaper);
    /// memwatch kept measuring them. One reparented before any sample saw it is not in the
    /// job. 0 for `run` and in reports of earlier versions.
    #[serde(default)]
    pub processes_reparented: u64,
    /// The job's RSS split by program over time, to see what made up the peak; null in
    /// reports of earlier versions.
    #[serde(default)]
    pub timeline_groups: Option<TimelineGroups>,
    /// The memory limit in force for the job: the lowest of its memory cgroup's limit (the
    /// lowest along the cgroup's path), Slurm's allocation on this node, `RLIMIT_AS` and
    /// `RLIMIT_DATA` when finite, and the machine's memory. `null` in reports of earlier
    /// versions, and when not even the machine's memory could be read.
    #[serde(default)]
    pub memory_limit: Option<MemoryLimit>,
    /// `max_total_rss_kib` as a percentage of `memory_limit` (one decimal), a lower bound
    /// when `max_total_rss_is_lower_bound`; `null` when either is unknown.
    #[serde(default)]
    pub peak_percent_of_limit: Option<f64>,
    /// The kernel's high-water mark of the memory cgroup the job ran in (`memory.peak`,
    /// v1 `memory.max_usage_in_bytes`), KiB, when the job had that cgroup to itself (every
    /// process in it was the job's or memwatch) and the mark rose during the job. It counts
    /// page cache and kernel memory too, as the OOM killer does. `null` otherwise
    /// (`cgroup_peak_note` says why).
    #[serde(default)]
    pub cgroup_peak_kib: Option<u64>,
    /// What `cgroup_peak_kib` counts, or why it is `null`.
    #[serde(default)]
    pub cgroup_peak_note: Option<String>,
    /// The processes of the job the OOM killer killed (see docs/accuracy.md: certain when
    /// memwatch reaped it and saw SIGKILL, probable when its parent reaped it).
    #[serde(default)]
    pub oom_kills: Vec<OomKill>,
    /// OOM kills the job's memory cgroup counted during the run (`memory.events`
    /// `oom_kill`, v1 `memory.oom_control`); `null` when memwatch could not read the
    /// counter (no memory cgroup, macOS) and in reports of earlier versions.
    #[serde(default)]
    pub oom_kill_count: Option<u64>,
}

/// Sort processes for display and output: largest peak first, unknown last, then by first
/// appearance and pid.
pub fn sort_processes(ps: &mut [ProcessReport]) {
    ps.sort_by(|a, b| {
        b.max_rss_kib
            .cmp(&a.max_rss_kib)
            .then(a.first_seen_ms.cmp(&b.first_seen_ms))
            .then(a.pid.cmp(&b.pid))
    });
}

impl Report {
    /// memwatch's own exit status for this report's run: the command's status (128 + N
    /// for a signal), except that a run memwatch was interrupted in (by signal N) whose
    /// command still exited 0 gives 128 + N. `None` when the command's end is unknown.
    pub fn exit_status(&self) -> Option<i32> {
        let status = self.exit()?.status();
        Some(match self.interrupt_signal {
            Some(s) if status == 0 && self.interrupted => 128 + s,
            _ => status,
        })
    }

    /// How the command ended, if known.
    pub fn exit(&self) -> Option<Exit> {
        match (self.exit_code, self.signal) {
            (Some(c), _) => Some(Exit::Code(c)),
            (None, Some(s)) => Some(Exit::Signal(s)),
            _ => None,
        }
    }
}
