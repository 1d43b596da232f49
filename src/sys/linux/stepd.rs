//! Slurm's step daemons: `srun` asks Slurm to run a step, and on each node `slurmd`
//! starts a `slurmstepd: [JOB.STEP]` (orphaned, outside `srun`'s process tree) that forks
//! the step's tasks. Here: whether a process is such a task, which step, and what its
//! environment says (`/proc/<pid>/environ`, readable for the user's own processes).
//!
//! Asked only while the job runs a launcher (the core decides when): about a process born
//! outside memwatch's tree, its parent is checked once (is it a `slurmstepd`?), and the
//! step daemons found are remembered, so a task born later costs one `environ` read. The
//! safety net, once a second, lists `/proc`, reads the `stat` of the pids that were not
//! there at the previous search (the first search reads them all) to find new step
//! daemons, and lists their children.

use super::files::{self, ProcPath};
use super::inspector::LinuxInspector;
use super::procfs;
use crate::sys::{Discovery, Launch, Launched, Pid, ProcId, RUN_MARK, Seen};

/// The name a step daemon runs under (`comm`).
const STEPD: &[u8] = b"slurmstepd";
/// The name it has before: `slurmd` forks, and the fork executes `slurmstepd`.
const SLURMD: &[u8] = b"slurmd";

/// What a process is to the search for step daemons.
enum Daemon {
    /// A step daemon, with its step (`JOB.STEP`).
    Step(ProcId, String),
    /// Not yet, perhaps later: a fork of `slurmd` before its exec, or a `slurmstepd` that
    /// has not given itself its title yet. Looked at again.
    NotYet,
    /// Something else (or gone).
    No,
}
/// Parents found not to be step daemons, remembered until the next search (bounded).
const MAX_NOT_STEPD: usize = 256;

/// The step daemons memwatch knows of, and the parents it knows are none.
#[derive(Debug, Default)]
pub(super) struct StepDaemons {
    /// Step daemons found, with their step (`JOB.STEP`).
    daemons: Vec<(ProcId, String)>,
    /// Pids found not to be step daemons since the last search.
    not_stepd: Vec<Pid>,
    /// The pids in `/proc` at the last search that were no step daemon and were not about
    /// to become one, sorted: not read again (a step daemon is a new process, with a pid
    /// that was not there a second ago, or a fork of `slurmd` that was about to exec).
    listed: Vec<Pid>,
    /// Scratch for the current listing.
    listing: Vec<Pid>,
    /// Pids that may still become step daemons: looked at again at the next search.
    later: Vec<Pid>,
}

impl LinuxInspector {
    /// [`Inspector::launched`](crate::sys::Inspector::launched).
    pub(super) fn launch_of(&mut self, seen: &Seen) -> Launch {
        let step = match self.stepd_step(seen.ppid) {
            Daemon::Step(_, step) => step,
            // Its parent may still become a step daemon: ask again.
            Daemon::NotYet => return Launch::NotYet,
            Daemon::No => return Launch::No,
        };
        let Some(stat) = self.read_stat(seen.id.pid) else {
            return Launch::No;
        };
        if stat.1.starttime != seen.id.start {
            return Launch::No;
        }
        if stat.0 == Some(STEPD) {
            // Still the daemon's copy: its program and environment come with its exec.
            return Launch::NotYet;
        }
        let environ = ProcPath::file(seen.id.pid, "environ");
        // Unreadable: gone, or another user's task, which is no task of memwatch's job.
        let Ok(n) = files::read_file_whole(environ.as_c_str(), &mut self.buf) else {
            return Launch::No;
        };
        let env = &self.buf[..n];
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let nodes = procfs::environ_var(env, "SLURM_STEP_NUM_NODES")
            .or_else(|| procfs::environ_var(env, "SLURM_JOB_NUM_NODES"))
            .and_then(procfs::parse_u64)
            .and_then(|n| u32::try_from(n).ok());
        Launch::Task(Launched {
            seen: *seen,
            step,
            mark: procfs::environ_var(env, RUN_MARK).map(text),
            nodes,
        })
    }

    /// [`Inspector::launched_search`](crate::sys::Inspector::launched_search): every step
    /// daemon on the machine (a scan of `/proc`), and their children the job does not
    /// follow.
    pub(super) fn search_launched(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        self.steps.not_stepd.clear();
        let mut listing = std::mem::take(&mut self.steps.listing);
        listing.clear();
        if files::list_dir(c"/proc", &mut self.dents, |pid| listing.push(pid)).is_err() {
            self.steps.listing = listing;
            return;
        }
        listing.sort_unstable();
        let mut daemons = std::mem::take(&mut self.steps.daemons);
        daemons.retain(|(id, _)| {
            self.read_stat(id.pid)
                .is_some_and(|s| s.1.starttime == id.start)
        });
        let mut later = std::mem::take(&mut self.steps.later);
        later.clear();
        for &pid in &listing {
            // Listed at the previous search already, and no step daemon then, nor about to
            // become one.
            let known = self.steps.listed.binary_search(&pid).is_ok();
            if known || (d.is_live)(pid) || daemons.iter().any(|(id, _)| id.pid == pid) {
                continue;
            }
            match self.new_stepd(pid) {
                Daemon::Step(id, step) => daemons.push((id, step)),
                Daemon::NotYet => later.push(pid),
                Daemon::No => {}
            }
        }
        listing.retain(|pid| !daemons.iter().any(|(id, _)| id.pid == *pid) && !later.contains(pid));
        self.steps.later = later;
        std::mem::swap(&mut self.steps.listed, &mut listing);
        self.steps.listing = listing;
        self.queue.clear();
        for (id, _) in &daemons {
            self.stepd_children(id.pid, d, out);
        }
        self.steps.daemons = daemons;
    }

    /// The children of step daemon `pid` the job does not follow (threads included: a
    /// daemon may fork from any of them).
    fn stepd_children(&mut self, pid: Pid, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        self.tids.clear();
        let tids = &mut self.tids;
        let task = ProcPath::file(pid, "task");
        if files::list_dir(task.as_c_str(), &mut self.dents, |t| tids.push(t)).is_err() {
            return;
        }
        for t in 0..self.tids.len() {
            let children = ProcPath::children(pid, self.tids[t]);
            let Ok(n) = files::read_file_whole(children.as_c_str(), &mut self.buf) else {
                continue;
            };
            let start = self.queue.len();
            self.queue.extend(procfs::children_pids(&self.buf[..n]));
            for q in start..self.queue.len() {
                let child = self.queue[q];
                if (d.is_live)(child) {
                    continue;
                }
                if let Some((_, s)) = self.read_stat(child).filter(|(_, s)| !s.is_thread()) {
                    out.push(Seen {
                        id: ProcId {
                            pid: s.pid,
                            start: s.starttime,
                        },
                        ppid: s.ppid,
                        pgid: s.pgrp,
                        born: Some(s.starttime),
                    });
                }
            }
            self.queue.truncate(start);
        }
    }

    /// What process `pid` is as a step daemon (remembered when it is one, or is none).
    fn stepd_step(&mut self, pid: Pid) -> Daemon {
        if let Some((id, step)) = self.steps.daemons.iter().find(|(id, _)| id.pid == pid) {
            return Daemon::Step(*id, step.clone());
        }
        if self.steps.not_stepd.contains(&pid) {
            return Daemon::No;
        }
        let daemon = self.new_stepd(pid);
        match &daemon {
            Daemon::Step(id, step) => self.steps.daemons.push((*id, step.clone())),
            Daemon::NotYet => {}
            Daemon::No => {
                if self.steps.not_stepd.len() >= MAX_NOT_STEPD {
                    self.steps.not_stepd.clear();
                }
                self.steps.not_stepd.push(pid);
            }
        }
        daemon
    }

    /// Process `pid` as a step daemon: its identity and its step, from the title it gives
    /// itself (`slurmstepd: [1234.0]`).
    fn new_stepd(&mut self, pid: Pid) -> Daemon {
        let Some((comm, stat)) = self.read_stat(pid) else {
            return Daemon::No;
        };
        match comm {
            Some(STEPD) => {}
            Some(SLURMD) => return Daemon::NotYet,
            _ => return Daemon::No,
        }
        let cmdline = ProcPath::file(pid, "cmdline");
        let Ok(n) = files::read_file(cmdline.as_c_str(), &mut self.buf) else {
            return Daemon::No;
        };
        let Some(step) = procfs::stepd_step(&self.buf[..n]) else {
            return Daemon::NotYet;
        };
        let id = ProcId {
            pid,
            start: stat.starttime,
        };
        Daemon::Step(id, String::from_utf8_lossy(step).into_owned())
    }

    /// `/proc/<pid>/stat`: its name when it is one of [`STEPD`] and [`SLURMD`], and its
    /// fields.
    fn read_stat(&mut self, pid: Pid) -> Option<(Option<&'static [u8]>, procfs::Stat)> {
        let path = ProcPath::file(pid, "stat");
        let n = files::read_file(path.as_c_str(), &mut self.buf).ok()?;
        let line = &self.buf[..n];
        let stat = procfs::parse_stat(line).filter(|s| !s.is_dead())?;
        let comm = procfs::stat_comm(line);
        let name = [STEPD, SLURMD].into_iter().find(|&n| comm == Some(n));
        Some((name, stat))
    }
}
