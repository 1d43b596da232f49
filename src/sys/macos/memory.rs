//! Memory limits on macOS: the machine's memory (`hw.memsize`), and no memory cgroups, so
//! no cgroup limit, high-water mark or OOM-kill counter (the resource limits are read in
//! `sys/unix`, as on Linux).

use super::libproc;
use crate::model::limit::{LimitSource, MemoryLimit};
use crate::sys::{Intrusion, Pid};

/// The machine's memory (`sysctl hw.memsize`).
pub(crate) fn physical() -> Result<MemoryLimit, String> {
    let bytes = libproc::memsize().ok_or("cannot read sysctl hw.memsize")?;
    Ok(MemoryLimit {
        kib: bytes / 1024,
        source: LimitSource::Physical,
        detail: "sysctl hw.memsize".to_string(),
    })
}

/// The memory cgroup of a job: macOS has none, so there is never one (the type has no
/// value, and its methods cannot be called).
#[derive(Debug)]
pub(crate) enum JobCgroup {}

impl JobCgroup {
    /// Never: macOS has no memory cgroups.
    pub(crate) fn of_self() -> Result<JobCgroup, String> {
        Err("macOS has no memory cgroups".to_string())
    }

    pub(crate) fn path(&self) -> &str {
        match *self {}
    }

    pub(crate) fn limit(&self) -> (Option<MemoryLimit>, Vec<String>) {
        match *self {}
    }

    pub(crate) fn oom_kills(&self) -> Option<u64> {
        match *self {}
    }

    pub(crate) fn oom_kills_at_start(&self) -> Option<u64> {
        match *self {}
    }

    pub(crate) fn peak_bytes(&self) -> Result<u64, String> {
        match *self {}
    }

    pub(crate) fn peak_at_start(&self) -> Result<u64, String> {
        match *self {}
    }

    pub(crate) fn intrusion(
        &self,
        _is_job: &dyn Fn(Pid) -> bool,
        _live: &[Pid],
    ) -> Result<Option<Intrusion>, String> {
        match *self {}
    }
}
