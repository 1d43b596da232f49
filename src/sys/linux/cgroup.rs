//! The memory cgroup a job starts in, read from the cgroup file system: where it is (from
//! `/proc/self/cgroup` and `/proc/self/mountinfo`, v1, v2 or hybrid), the lowest limit
//! along its path, its high-water mark and OOM-kill counter, and whether anyone but the
//! job and memwatch is in it. Read-only: memwatch never creates, moves or writes cgroups.
//! The parsers are `cgroupfs.rs`; the machine's memory is read here too.
//!
//! Every path is taken under a root directory (`/` on the machine), so the unit tests walk
//! fake cgroup trees in a temporary directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::cgroupfs::{
    Version, below, descends_from_job, has_memory_controller, parse_bytes, parse_cgroup_mounts,
    parse_limit, parse_membership, parse_memtotal_kib, parse_oom_kill, parse_procs, within,
};
use super::procfs;
use crate::error::os_message;
use crate::model::limit::{LimitSource, MemoryLimit};
use crate::sys::{Intrusion, Pid};

/// Cgroups below the job's that memwatch looks into for members; past that, it does not
/// claim the cgroup is the job's alone.
const MAX_CGROUPS: usize = 1000;

/// Where the memory cgroup is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    /// The layout that holds the memory controller.
    pub(crate) version: Version,
    /// The cgroup's path as `/proc/self/cgroup` gives it.
    pub(crate) path: String,
    /// Its directory.
    pub(crate) dir: PathBuf,
    /// The mount point: the highest directory memwatch can read.
    pub(crate) top: PathBuf,
}

impl Location {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Find the memory cgroup of a process from its `/proc/<pid>/cgroup` (`membership`) and
/// `/proc/self/mountinfo`, mount points taken under `root`. The v1 memory hierarchy wins
/// when there is one (a hybrid machine's v2 hierarchy has no memory controller); else v2,
/// if its memory controller is enabled there. `Err` says why there is none.
pub(crate) fn locate(membership: &str, mountinfo: &str, root: &Path) -> Result<Location, String> {
    let m = parse_membership(membership);
    let mounts = parse_cgroup_mounts(mountinfo);
    let (version, path) = match (&m.v1_memory, &m.v2) {
        (Some(p), _) => (Version::V1, p),
        (None, Some(p)) => (Version::V2, p),
        (None, None) => return Err("memwatch is in no memory cgroup".to_string()),
    };
    let layout = match version {
        Version::V1 => "cgroup v1",
        Version::V2 => "cgroup v2",
    };
    let (mount, rel) = mounts
        .iter()
        .filter(|mt| mt.version == version)
        .filter_map(|mt| below(path, &mt.root).map(|rel| (mt, rel)))
        .max_by_key(|(mt, _)| mt.root.len())
        .ok_or_else(|| {
            format!("the memory cgroup {path} ({layout}) is not mounted where memwatch can read it")
        })?;
    let top = root.join(mount.point.trim_start_matches('/'));
    let dir = top.join(rel.trim_start_matches('/'));
    if !dir.is_dir() {
        return Err(format!(
            "the cgroup {path} does not exist under {} (removed, or in another cgroup namespace)",
            mount.point
        ));
    }
    if version == Version::V2 {
        let controllers = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        if !has_memory_controller(&controllers) {
            return Err(format!(
                "the memory controller is not enabled for the cgroup {path} (cgroup v2)"
            ));
        }
    }
    Ok(Location {
        version,
        path: path.clone(),
        dir,
        top,
    })
}

/// The lowest memory limit along the path from the cgroup up to the mount point, and what
/// could not be read on the way (a limit there could be lower).
pub(crate) fn lowest_limit(loc: &Location) -> (Option<MemoryLimit>, Vec<String>) {
    let mut best: Option<MemoryLimit> = None;
    let mut notes = Vec::new();
    let mut dir = loc.dir.clone();
    loop {
        let file = dir.join(loc.version.limit_file());
        match fs::read_to_string(&file) {
            Ok(text) => match parse_limit(&text) {
                Ok(Some(bytes)) if best.as_ref().is_none_or(|b| bytes / 1024 < b.kib) => {
                    best = Some(MemoryLimit {
                        kib: bytes / 1024,
                        source: LimitSource::Cgroup,
                        detail: file.display().to_string(),
                    });
                }
                Ok(_) => {}
                Err(()) => notes.push(format!(
                    "{} holds {:?}, not a memory limit: a lower limit may apply",
                    file.display(),
                    text.trim()
                )),
            },
            // No limit at this level: the root cgroup, or the controller not enabled here.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => notes.push(format!(
                "cannot read {}: {}; a lower limit may apply",
                file.display(),
                os_message(&e)
            )),
        }
        match dir.parent() {
            Some(up) if dir != loc.top && up.starts_with(&loc.top) => dir = up.to_path_buf(),
            _ => break,
        }
    }
    (best, notes)
}

/// The machine's memory (`MemTotal` of `/proc/meminfo`).
pub(crate) fn physical() -> Result<MemoryLimit, String> {
    physical_from(Path::new("/proc/meminfo"))
}

/// `MemTotal` of a `meminfo` file.
fn physical_from(meminfo: &Path) -> Result<MemoryLimit, String> {
    let shown = meminfo.display();
    let text = fs::read_to_string(meminfo)
        .map_err(|e| format!("cannot read {shown}: {}", os_message(&e)))?;
    let kib = parse_memtotal_kib(&text).ok_or_else(|| format!("{shown} has no MemTotal"))?;
    Ok(MemoryLimit {
        kib,
        source: LimitSource::Physical,
        detail: format!("{shown} MemTotal"),
    })
}

/// The memory cgroup a job runs in: where it is, and its high-water mark and OOM-kill
/// counter when memwatch started watching.
#[derive(Debug)]
pub(crate) struct JobCgroup {
    loc: Location,
    peak_start: Result<u64, String>,
    oom_start: Option<u64>,
}

impl JobCgroup {
    /// The cgroup memwatch is in now, which the job it starts next starts in.
    pub(crate) fn of_self() -> Result<JobCgroup, String> {
        let read = |p: &str| {
            fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {}", os_message(&e)))
        };
        let membership = read("/proc/self/cgroup")?;
        let mountinfo = read("/proc/self/mountinfo")?;
        Ok(JobCgroup::at(locate(
            &membership,
            &mountinfo,
            Path::new("/"),
        )?))
    }

    /// The cgroup at `loc`, its high-water mark and counter read now.
    pub(crate) fn at(loc: Location) -> JobCgroup {
        let mut cg = JobCgroup {
            loc,
            peak_start: Err(String::new()),
            oom_start: None,
        };
        cg.peak_start = cg.peak_bytes();
        cg.oom_start = cg.oom_kills();
        cg
    }

    /// Its path, as `/proc/self/cgroup` gives it.
    pub(crate) fn path(&self) -> &str {
        &self.loc.path
    }

    /// The lowest limit along its path, and what could not be read.
    pub(crate) fn limit(&self) -> (Option<MemoryLimit>, Vec<String>) {
        lowest_limit(&self.loc)
    }

    /// Its OOM-kill counter now (`None` when it cannot be read).
    pub(crate) fn oom_kills(&self) -> Option<u64> {
        let text = fs::read_to_string(self.loc.file(self.loc.version.oom_file())).ok()?;
        parse_oom_kill(&text)
    }

    /// Its OOM-kill counter when memwatch started.
    pub(crate) fn oom_kills_at_start(&self) -> Option<u64> {
        self.oom_start
    }

    /// Its high-water mark now, bytes; `Err` says why it cannot be read.
    pub(crate) fn peak_bytes(&self) -> Result<u64, String> {
        let name = self.loc.version.peak_file();
        let file = self.loc.file(name);
        match fs::read_to_string(&file) {
            Ok(text) => parse_bytes(&text)
                .ok_or_else(|| format!("{} holds {:?}, not a size", file.display(), text.trim())),
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.loc.version == Version::V2 => {
                Err(format!(
                    "the cgroup {} has no {name} (Linux 5.19 or later has it; the root cgroup never)",
                    self.loc.path
                ))
            }
            Err(e) => Err(format!(
                "cannot read {}: {}",
                file.display(),
                os_message(&e)
            )),
        }
    }

    /// Its high-water mark when memwatch started, bytes.
    pub(crate) fn peak_at_start(&self) -> Result<u64, String> {
        self.peak_start.clone()
    }

    /// Whether the cgroup is the job's alone: the first process in it (or in a cgroup
    /// below it) that is neither memwatch nor the job's, or the first live job process
    /// (`live`) running in another cgroup. `is_job` tells memwatch and the job's processes;
    /// one born since the last sample is told by its ancestry. `Err` when the members
    /// cannot be listed.
    pub(crate) fn intrusion(
        &self,
        is_job: &dyn Fn(Pid) -> bool,
        live: &[Pid],
    ) -> Result<Option<Intrusion>, String> {
        let mut members = Vec::new();
        self.members(&mut members)?;
        for &pid in &members {
            if pid == 0 {
                return Ok(Some(Intrusion::Stranger {
                    pid,
                    name: "a process in another pid namespace".to_string(),
                }));
            }
            if !descends_from_job(pid, is_job, parent_of) {
                return Ok(Some(Intrusion::Stranger {
                    pid,
                    name: name_of(pid),
                }));
            }
        }
        members.sort_unstable();
        for &pid in live {
            if members.binary_search(&pid).is_err() {
                if let Some(cgroup) = self.elsewhere(pid) {
                    return Ok(Some(Intrusion::Escaped { pid, cgroup }));
                }
            }
        }
        Ok(None)
    }

    /// The pids in the cgroup and every cgroup below it.
    fn members(&self, out: &mut Vec<Pid>) -> Result<(), String> {
        let mut dirs = vec![self.loc.dir.clone()];
        let mut seen = 0;
        while let Some(dir) = dirs.pop() {
            seen += 1;
            if seen > MAX_CGROUPS {
                return Err(format!(
                    "the cgroup {} has more than {MAX_CGROUPS} cgroups below it",
                    self.loc.path
                ));
            }
            let procs = dir.join("cgroup.procs");
            let text = fs::read_to_string(&procs)
                .map_err(|e| format!("cannot read {}: {}", procs.display(), os_message(&e)))?;
            out.extend(parse_procs(&text));
            let entries = fs::read_dir(&dir)
                .map_err(|e| format!("cannot list {}: {}", dir.display(), os_message(&e)))?;
            dirs.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
        Ok(())
    }

    /// The cgroup a live process runs in, when it is not this one or below it; `None`
    /// when it is, or is gone.
    fn elsewhere(&self, pid: Pid) -> Option<String> {
        let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
        if procfs::parse_stat(&stat).is_none_or(|s| s.is_dead()) {
            return None;
        }
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let m = parse_membership(&text);
        let path = match self.loc.version {
            Version::V1 => m.v1_memory,
            Version::V2 => m.v2,
        }?;
        (!within(&path, &self.loc.path)).then_some(path)
    }
}

/// A process's parent, `None` when it is gone.
fn parent_of(pid: Pid) -> Option<Pid> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    procfs::parse_stat(&stat).map(|s| s.ppid)
}

/// A process's command line for a note, or its name.
fn name_of(pid: Pid) -> String {
    let args = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let line = crate::sys::join_args(procfs::cmdline_args(&args));
    if !line.is_empty() {
        return line;
    }
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    format!("[{}]", comm.trim())
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
