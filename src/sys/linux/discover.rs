//! Discovery: which processes may have joined the job since the previous sample.
//!
//! - Births: `/proc/loadavg` ends with the most recently allocated pid. If it has not moved,
//!   nobody was born; if it moved a little, only the pids in between are probed (their
//!   `stat` says parent, start time, and whether it is a thread). Cost does not grow with
//!   the number of unrelated processes on the machine. The same read gives the number of
//!   tasks: if it rose while the last pid stayed, a task took that very pid again (it was
//!   freed, then reused: `ns_last_pid`, `clone3` with `set_tid`), and that pid is probed
//!   (in the initial pid namespace only: elsewhere the count includes tasks the last pid
//!   does not show); it is probed again too whenever the pids after it are.
//! - Safety net (first sample, periodically, after big pid jumps or wrap-around): a walk of
//!   the `task/<tid>/children` files from memwatch down, which as child subreaper is the
//!   ancestor of every live job process (and from the adopted tasks of a Slurm step, which
//!   are not under memwatch). Without `CONFIG_PROC_CHILDREN`, a full `/proc` scan.
//! - A child of a job process that memwatch may not see (`hidepid`) is counted as invisible
//!   in [`Gaps`](crate::sys::Gaps).

use std::io;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid as RawPid, test_kill_process};

use super::files::{self, ProcPath, is_denied, is_fd_exhaustion};
use super::inspector::{LinuxInspector, err};
use super::procfs::{self, Stat};
use crate::sys::{Discovery, Pid, ProcId, SampleError, Seen};

/// A pid jump larger than this is not probed pid by pid: the children walk is cheaper.
const MAX_PROBE_RANGE: i32 = 512;
/// Pids at the top of a probed range that were not in `/proc` yet are probed once more at
/// the next sample (a task is visible in `/proc` slightly after its pid is allocated).
pub(super) const RETRY_TOP: i32 = 8;
/// A birth memwatch may not see (another user's process under `hidepid`) triggers a
/// children walk, to find it if it is the job's, at most this often.
const HIDDEN_WALK_EVERY: Duration = Duration::from_millis(100);

impl LinuxInspector {
    /// [`Inspector::discover`](crate::sys::Inspector::discover): probe the births, or
    /// search for every process when asked, when due, or when births cannot be probed.
    pub(super) fn discover_births(
        &mut self,
        d: &Discovery<'_>,
        out: &mut Vec<Seen>,
    ) -> Result<(), SampleError> {
        self.short_this_sample = false;
        let (newest, tasks) = self.loadavg()?;
        let tasks = tasks.filter(|_| self.count_tasks);
        let tasks_before = std::mem::replace(&mut self.tasks, tasks);
        let full = d.full || self.search_due();
        let Some(last) = self.last_pid.filter(|_| !full) else {
            self.last_pid = Some(newest);
            self.retry.clear();
            return self.search(d, out);
        };
        self.last_pid = Some(newest);
        std::mem::swap(&mut self.retry, &mut self.retry_next);
        self.retry_next.clear();
        for i in 0..self.retry.len() {
            let pid = self.retry[i];
            self.push_seen(pid, out);
        }
        match births(last, tasks_before, newest, tasks) {
            Births::None => return Ok(()),
            Births::Search => return self.search(d, out),
            Births::Probe(from, to) => self.probe_range(from, to, out),
        }
        // A birth /proc hides from memwatch: walk the job's children now, in case it is one.
        if self.search_due() {
            return self.search(d, out);
        }
        Ok(())
    }

    /// The most recently allocated pid and the number of tasks, from `/proc/loadavg`.
    fn loadavg(&mut self) -> Result<(i32, Option<u64>), SampleError> {
        let n = files::read(&self.loadavg, &mut self.buf)
            .map_err(|e| err("read /proc/loadavg", e.into()))?;
        procfs::parse_loadavg(&self.buf[..n]).ok_or_else(|| {
            err(
                "parse /proc/loadavg",
                io::Error::new(io::ErrorKind::InvalidData, "no last pid field"),
            )
        })
    }

    /// Read `/proc/<pid>/stat` of a process that may have been born.
    fn probe(&mut self, pid: Pid) -> Probe {
        match files::read_file(ProcPath::file(pid, "stat").as_c_str(), &mut self.buf) {
            Ok(n) => procfs::parse_stat(&self.buf[..n])
                .filter(|s| !s.is_thread() && !s.is_dead())
                .map_or(Probe::Skip, Probe::Found),
            Err(Errno::NOENT) => Probe::Absent,
            Err(e) if is_denied(e) => Probe::Hidden,
            Err(e) if is_fd_exhaustion(e) => {
                self.short_of_fds();
                Probe::Skip
            }
            Err(_) => Probe::Skip,
        }
    }

    fn push_seen(&mut self, pid: Pid, out: &mut Vec<Seen>) {
        if let Probe::Found(s) = self.probe(pid) {
            out.push(seen_of(&s));
        }
    }

    /// A child of a job process that memwatch may not see: count it once while it lives.
    fn note_invisible(&mut self, pid: Pid) {
        if self.invisible.binary_search(&pid).is_err() && !self.invisible_next.contains(&pid) {
            self.gaps.invisible += 1;
        }
        if !self.invisible_next.contains(&pid) {
            self.invisible_next.push(pid);
        }
    }

    /// Breadth-first walk of `task/*/children` from memwatch: every live descendant. A
    /// child listed there whose `/proc/<pid>` memwatch may not see or open is counted as
    /// invisible.
    fn walk_children(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        self.invisible_next.clear();
        self.queue.clear();
        // Attached to a running process: the job is under it, not under memwatch.
        self.queue.extend(self.attached);
        self.queue.push(self.self_pid);
        // Adopted processes (a Slurm step's tasks) are not under memwatch: their own trees.
        self.queue.extend_from_slice(d.roots);
        while let Some(pid) = self.queue.pop() {
            self.tids.clear();
            let tids = &mut self.tids;
            let task = ProcPath::file(pid, "task");
            if let Err(e) = files::list_dir(task.as_c_str(), &mut self.dents, |n| tids.push(n)) {
                if is_fd_exhaustion(e) {
                    self.short_of_fds();
                }
                continue;
            }
            for t in 0..self.tids.len() {
                self.walk_thread_children(pid, self.tids[t], d, out);
            }
        }
        std::mem::swap(&mut self.invisible, &mut self.invisible_next);
        self.invisible.sort_unstable();
    }

    /// Queue the children of thread `tid` of process `pid`, and probe those the job does
    /// not follow yet.
    fn walk_thread_children(&mut self, pid: Pid, tid: Pid, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        let children = ProcPath::children(pid, tid);
        // Read it whole: 2000 children are ~12 KiB, more than one buffer.
        let n = match files::read_file_whole(children.as_c_str(), &mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                if is_fd_exhaustion(e) {
                    self.short_of_fds();
                }
                return;
            }
        };
        let start = self.queue.len();
        self.queue.extend(procfs::children_pids(&self.buf[..n]));
        // Probe the ones not followed yet (the probe reuses `buf`, so after the copy).
        for q in start..self.queue.len() {
            let child = self.queue[q];
            if (d.is_live)(child) {
                continue;
            }
            match self.probe(child) {
                Probe::Found(s) => out.push(seen_of(&s)),
                Probe::Hidden => self.note_invisible(child),
                Probe::Absent if exists(child) => self.note_invisible(child),
                Probe::Absent | Probe::Skip => {}
            }
        }
    }

    /// Every process in `/proc` not followed yet (kernels without children files).
    fn scan_all(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        self.queue.clear();
        let queue = &mut self.queue;
        match files::list_dir(c"/proc", &mut self.dents, |pid| queue.push(pid)) {
            Ok(()) => {}
            Err(e) if is_fd_exhaustion(e) => self.short_of_fds(),
            Err(e) => return Err(err("list /proc", e.into())),
        }
        for i in 0..self.queue.len() {
            let pid = self.queue[i];
            if !(d.is_live)(pid) {
                self.push_seen(pid, out);
            }
        }
        Ok(())
    }

    fn search(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        self.rescan = false;
        self.hidden_birth = false;
        self.last_search = Some(Instant::now());
        if self.children_files {
            self.walk_children(d, out);
            Ok(())
        } else {
            self.scan_all(d, out)
        }
    }

    /// Probe the pids from `from` to `to`, both included. `from` is the last pid of the
    /// previous sample, probed then: not retried.
    fn probe_range(&mut self, from: i32, to: i32, out: &mut Vec<Seen>) {
        // Already probed at this sample when it was left to retry.
        let first = if self.retry.contains(&from) {
            from + 1
        } else {
            from
        };
        for pid in first..=to {
            match self.probe(pid) {
                Probe::Found(s) => out.push(seen_of(&s)),
                Probe::Skip => {}
                // Another user's process hidden by hidepid: the job's, if a walk finds it
                // among the children of job processes.
                Probe::Hidden => self.hidden_birth = true,
                Probe::Absent => {
                    if exists(pid) {
                        self.hidden_birth = true;
                    } else if pid > from
                        && to - pid < RETRY_TOP
                        && self.retry_next.len() < RETRY_TOP as usize
                    {
                        self.retry_next.push(pid);
                    }
                }
            }
        }
    }

    /// Whether discovery should look for every process now although the core asked only
    /// for births: a search or probe ran out of descriptors, or a hidden birth is waiting
    /// for a walk (at most every [`HIDDEN_WALK_EVERY`]).
    fn search_due(&self) -> bool {
        self.rescan
            || (self.hidden_birth
                && self.children_files
                && self
                    .last_search
                    .is_none_or(|t| t.elapsed() >= HIDDEN_WALK_EVERY))
    }
}

/// Which pids discovery probes for births.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Births {
    /// Nobody was born.
    None,
    /// These pids, both included.
    Probe(i32, i32),
    /// Too many, or the pids wrapped around: look for every process.
    Search,
}

/// What to probe, from the last pid and task count at the previous sample and now.
///
/// New pids are those after the previous last one. That pid itself may have been freed and
/// taken again by a new task (`ns_last_pid`, `clone3` with `set_tid`): the last pid does not
/// move then, but the task count rises (unless a task exited meanwhile), so that pid is
/// probed; and it is probed again whenever the pids after it are, in case the new task
/// took it before them.
fn births(last: i32, tasks: Option<u64>, newest: i32, now: Option<u64>) -> Births {
    if newest == last {
        return match (tasks, now) {
            (Some(before), Some(now)) if now > before => Births::Probe(last, last),
            _ => Births::None,
        };
    }
    // Wrapped around pid_max, or too many births to probe one by one.
    if newest < last || newest - last > MAX_PROBE_RANGE {
        return Births::Search;
    }
    Births::Probe(last, newest)
}

/// What probing a pid found.
enum Probe {
    /// A process (not a thread, not a zombie).
    Found(Stat),
    /// Nothing to follow: a thread, a zombie, gone, or no descriptor to look.
    Skip,
    /// No `/proc/<pid>`: not there yet, gone, or hidden (`hidepid=invisible`).
    Absent,
    /// `/proc/<pid>` may not be opened (`hidepid=noaccess`).
    Hidden,
}

/// Whether a process with this pid exists (possibly another user's), whatever `/proc`
/// shows: `kill(pid, 0)`, which sends nothing.
pub(super) fn exists(pid: Pid) -> bool {
    RawPid::from_raw(pid).is_some_and(|p| matches!(test_kill_process(p), Ok(()) | Err(Errno::PERM)))
}

/// Whether memwatch runs in the initial pid namespace (its `/proc/self/ns/pid` has the
/// kernel's fixed inode number for it, `PROC_PID_INIT_INO`).
pub(super) fn in_initial_pid_namespace() -> bool {
    use std::os::unix::fs::MetadataExt;
    const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;
    std::fs::metadata("/proc/self/ns/pid").is_ok_and(|m| m.ino() == PROC_PID_INIT_INO)
}

pub(super) fn seen_of(s: &Stat) -> Seen {
    Seen {
        id: ProcId {
            pid: s.pid,
            start: s.starttime,
        },
        ppid: s.ppid,
        pgid: s.pgrp,
        // Ticks since boot: they never step back.
        born: Some(s.starttime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn births_to_probe() {
        let t = Some;
        assert_eq!(births(100, t(50), 100, t(50)), Births::None, "nothing new");
        assert_eq!(births(100, t(50), 100, t(49)), Births::None, "a task ended");
        // The last pid was freed and taken again: only the task count tells.
        assert_eq!(births(100, t(50), 100, t(51)), Births::Probe(100, 100));
        assert_eq!(
            births(100, None, 100, t(51)),
            Births::None,
            "no count before"
        );
        assert_eq!(births(100, t(50), 100, None), Births::None, "no count now");
        // New pids, and the last one again (it may have been taken before them).
        assert_eq!(births(100, t(50), 103, t(50)), Births::Probe(100, 103));
        assert_eq!(births(100, t(50), 612, t(50)), Births::Probe(100, 612));
        assert_eq!(births(100, t(50), 613, t(50)), Births::Search, "too many");
        assert_eq!(births(30000, t(50), 300, t(51)), Births::Search, "wrapped");
    }

    #[test]
    fn exists_sees_what_proc_may_hide() {
        assert!(exists(1), "init, another user's process to a non-root test");
        assert!(exists(std::process::id() as i32));
        assert!(!exists(i32::MAX));
    }

    /// Both searches, the children walk and the full `/proc` scan of kernels without
    /// children files, find a child and the child's own child, and nothing the job follows.
    #[test]
    fn both_searches_find_the_descendants() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 600 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let child_pid = child.id() as i32;
        let self_pid = std::process::id() as i32;
        let deadline = Instant::now() + Duration::from_secs(10);
        for walk in [true, false] {
            let mut inspector = LinuxInspector::new(self_pid).unwrap();
            inspector.children_files &= walk;
            let d = Discovery {
                root: child_pid,
                live: &[],
                is_live: &|p| p == self_pid,
                full: true,
                roots: &[],
            };
            // Until the shell has started its sleep.
            let mut out = Vec::new();
            loop {
                out.clear();
                inspector.discover_births(&d, &mut out).unwrap();
                if out.iter().any(|s| s.ppid == child_pid) || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let shell = out.iter().find(|s| s.id.pid == child_pid);
            assert_eq!(shell.map(|s| s.ppid), Some(self_pid), "walk: {walk}");
            assert!(out.iter().any(|s| s.ppid == child_pid), "walk: {walk}");
            assert!(out.iter().all(|s| s.id.pid != self_pid), "walk: {walk}");
        }
        let group = RawPid::from_raw(child_pid).unwrap();
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = child.wait();
    }
}
