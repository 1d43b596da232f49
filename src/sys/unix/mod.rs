//! Unix plumbing shared by the Linux and macOS backends: signals and the self-pipe that
//! wakes the sampling loop ([`signals`]), reaping ([`reap`]), spawning ([`spawn`]), output
//! files and standard output ([`file`]), the terminal ([`term`]), process limits (the
//! open-files limit memwatch raises, the memory limits the job inherits), and what the
//! kernel accounted to the children memwatch waited for ([`children_usage`]) and to
//! memwatch itself ([`own_cpu`]).

pub(crate) mod file;
pub(crate) mod reap;
pub(crate) mod signals;
pub(crate) mod spawn;
pub(crate) mod term;

/// Raise the soft open-file limit to the hard limit (memwatch keeps one descriptor per job
/// process open on Linux). Called after the job is spawned, so the job inherits the limit
/// the user had. Returns the new soft limit.
pub(crate) fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 256;
    };
    // macOS refuses RLIM_INFINITY and anything above OPEN_MAX for the soft limit.
    let target = if cfg!(target_os = "macos") {
        hard.min(10_240)
    } else {
        hard
    };
    if target > soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        return target;
    }
    soft
}

/// This machine's host name (empty when it has none).
pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// memwatch's own pid.
pub(crate) fn own_pid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// CPU time memwatch itself has used so far, user and system, all its threads
/// (`getrusage(RUSAGE_SELF)`; not its children). `None` if the kernel refuses (it does not).
pub(crate) fn own_cpu() -> Option<std::time::Duration> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let micros = |t: nix::sys::time::TimeVal| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec()).unwrap_or(0)
    };
    Some(std::time::Duration::from_micros(
        micros(u.user_time()) + micros(u.system_time()),
    ))
}

/// The finite soft limits on virtual memory (`RLIMIT_AS`) and data (`RLIMIT_DATA`) that
/// the job inherits from memwatch: limits of each process, not of the job.
pub(crate) fn memory_rlimits() -> Vec<crate::model::limit::MemoryLimit> {
    use crate::model::limit::{LimitSource, MemoryLimit};
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
    [
        (Resource::RLIMIT_AS, "RLIMIT_AS"),
        (Resource::RLIMIT_DATA, "RLIMIT_DATA"),
    ]
    .into_iter()
    .filter_map(|(resource, name)| {
        let (soft, _) = getrlimit(resource).ok()?;
        (soft != RLIM_INFINITY).then(|| MemoryLimit {
            kib: soft / 1024,
            source: LimitSource::Rlimit,
            detail: name.to_string(),
        })
    })
    .collect()
}

/// What the kernel accounted to every child memwatch waited for, and to every descendant
/// each of them waited for in turn (`getrusage(RUSAGE_CHILDREN)`), in the report's units.
/// Not memwatch itself, and not a process nobody waited for.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ChildrenUsage {
    /// CPU time in user mode, seconds.
    pub cpu_user_seconds: f64,
    /// CPU time in the kernel on their behalf, seconds.
    pub cpu_system_seconds: f64,
    /// Page faults served without I/O (`ru_minflt`).
    pub page_faults_minor: u64,
    /// Page faults that needed I/O (`ru_majflt`; macOS: page-ins).
    pub page_faults_major: u64,
    /// Context switches because a process waited (`ru_nvcsw`).
    pub context_switches_voluntary: u64,
    /// Context switches because a process was preempted (`ru_nivcsw`).
    pub context_switches_involuntary: u64,
    /// Block input operations: file system reads that went to a device (`ru_inblock`).
    pub block_input_ops: u64,
    /// Block output operations (`ru_oublock`).
    pub block_output_ops: u64,
}

/// [`ChildrenUsage`] now: exact once every child has been reaped. `None` if the kernel
/// refuses (it does not, for `RUSAGE_CHILDREN`).
pub(crate) fn children_usage() -> Option<ChildrenUsage> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).ok()?;
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    let count = |v: libc::c_long| u64::try_from(v).unwrap_or(0);
    Some(ChildrenUsage {
        cpu_user_seconds: seconds(u.user_time()),
        cpu_system_seconds: seconds(u.system_time()),
        page_faults_minor: count(u.minor_page_faults()),
        page_faults_major: count(u.major_page_faults()),
        context_switches_voluntary: count(u.voluntary_context_switches()),
        context_switches_involuntary: count(u.involuntary_context_switches()),
        block_input_ops: count(u.block_reads()),
        block_output_ops: count(u.block_writes()),
    })
}
