//! Unix plumbing shared by the Linux and macOS backends: signals and the self-pipe that
//! wakes the sampling loop ([`signals`]), reaping ([`reap`]), spawning ([`spawn`]), output
//! files and standard output ([`file`]), the terminal ([`term`]), and process limits (the
//! open-files limit memwatch raises, the memory limits the job inherits).

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
