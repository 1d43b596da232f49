//! Adoption: the work a launcher hands to a daemon. `srun` (like `sbatch --wait` and
//! `salloc`) asks Slurm to run its tasks; on this node they run under `slurmstepd`, outside
//! the launcher's process tree, so outside the job as that tree defines it.
//!
//! While the job runs such a launcher, the processes born outside the job's tree are put to
//! the backend ([`Inspector::launched`]): a task of a step whose environment carries this
//! run's mark (the value of [`crate::sys::RUN_MARK`] memwatch gave the command, which the
//! launcher passed on) is adopted into the job and marked with its step; its descendants
//! then join by the ordinary rule. Once a second (with the complete search) the backend
//! also lists the step daemons' children, for births discovery missed. A task not run yet
//! (between its daemon's fork and its exec) is asked about again at the next samples.
//!
//! A job without a launcher pays nothing for this: one test per sample.

use std::rc::Rc;
use std::time::Duration;

use super::Job;
use crate::sys::{Discovery, Inspector, Launch, Launched, Pid, ProcId, Seen};

/// Programs that hand their work to a daemon (by file name).
pub(super) const LAUNCHERS: [&str; 3] = ["srun", "sbatch", "salloc"];

/// A task not run yet is asked about at every sample for this long after it was first
/// seen, then only at the complete searches.
const PENDING_EVERY_SAMPLE: Duration = Duration::from_secs(1);
/// Bounds on what adoption remembers (pending tasks; processes known not to be the job's).
const MAX_PENDING: usize = 64;
const MAX_REJECTED: usize = 1024;

/// Whether a command line runs a launcher (its program's file name is in [`LAUNCHERS`]).
pub(super) fn is_launcher(command: &str) -> bool {
    let program = command.split(' ').next().unwrap_or("");
    let name = program.rsplit('/').next().unwrap_or(program);
    LAUNCHERS.contains(&name)
}

/// What adoption knows and remembers.
#[derive(Debug, Default)]
pub(super) struct Adoption {
    /// This run's mark, as the adopted tasks' environment must carry it.
    mark: Option<Rc<str>>,
    /// Live job processes running a launcher.
    launchers_live: usize,
    /// The first launcher the job ran.
    pub(super) first_launcher: Option<Pid>,
    /// Tasks not run yet, and when they were first seen.
    pending: Vec<(Seen, Duration)>,
    /// Tasks of other jobs (or not marked), never asked about again.
    rejected: Vec<ProcId>,
    /// Live adopted tasks: their trees are searched too ([`Discovery::roots`]).
    pub(super) roots: Vec<Pid>,
    /// Tasks adopted in all.
    pub(super) adopted: u64,
    /// The most nodes an adopted task's step ran on, when the tasks said.
    pub(super) nodes: Option<u32>,
    /// Scratch: this sample's candidates.
    candidates: Vec<Seen>,
}

impl Adoption {
    /// Whether processes born outside the job are asked about now.
    pub(super) fn active(&self) -> bool {
        self.launchers_live > 0 && self.mark.is_some()
    }

    /// A job process started (`now`) or stopped running a launcher.
    pub(super) fn launcher(&mut self, pid: Pid, now: bool) {
        if now {
            self.launchers_live += 1;
            self.first_launcher.get_or_insert(pid);
        } else {
            self.launchers_live -= 1;
        }
    }
}

impl<I: Inspector> Job<I> {
    /// Adopt the tasks a launcher's daemon started for this run: memwatch gave the command
    /// `mark` in its environment (see [`crate::sys::RUN_MARK`]).
    pub(crate) fn adopt_marked(&mut self, mark: &str) {
        self.adoption.mark = Some(Rc::from(mark));
    }

    /// Put this sample's births outside the job (left in `seen` by admission), the pending
    /// tasks and, at a complete search, the step daemons' children to the backend; adopt
    /// the marked tasks, then admit what was born under them.
    pub(super) fn adopt(&mut self, t: Duration, full: bool) {
        let mut candidates = std::mem::take(&mut self.adoption.candidates);
        candidates.clear();
        candidates.append(&mut self.seen);
        let mut pending = std::mem::take(&mut self.adoption.pending);
        let first_seen = |s: &Seen| {
            pending
                .iter()
                .find(|(p, _)| p.id == s.id)
                .map_or(t, |&(_, since)| since)
        };
        let is_due = |since: Duration| full || t.saturating_sub(since) < PENDING_EVERY_SAMPLE;
        let due: Vec<Seen> = pending
            .iter()
            .filter(|&&(_, since)| is_due(since))
            .map(|(s, _)| *s)
            .collect();
        candidates.extend(due);
        if full {
            let index = &self.live_index;
            let is_live = |pid: Pid| index.contains_key(&pid);
            let d = Discovery {
                root: self.root_pid,
                live: &self.live_pids,
                is_live: &is_live,
                full,
                roots: &self.adoption.roots,
            };
            self.inspector.launched_search(&d, &mut candidates);
        }
        let mut adopted = false;
        let mut still_pending = Vec::new();
        for s in candidates.drain(..) {
            if self.live_index.contains_key(&s.id.pid) || self.adoption.rejected.contains(&s.id) {
                continue;
            }
            match self.inspector.launched(&s) {
                // Perhaps born under a task adopted below: admitted then.
                Launch::No => self.seen.push(s),
                Launch::NotYet => still_pending.push((s, first_seen(&s))),
                Launch::Task(task) => adopted |= self.adopt_task(&task, t),
            }
        }
        still_pending.truncate(MAX_PENDING);
        // Pending tasks not due at this sample stay as they were.
        pending.retain(|&(s, since)| {
            !is_due(since) && !still_pending.iter().any(|(p, _)| p.id == s.id)
        });
        pending.extend(still_pending);
        self.adoption.pending = pending;
        self.adoption.candidates = candidates;
        if adopted {
            // What the adopted tasks started before memwatch saw them: a complete search,
            // which now looks under them too. (This sample's discovery already succeeded.)
            let _ = self.discover(true);
            self.admit(t);
        }
        self.seen.clear();
    }

    /// Adopt a task if it carries this run's mark (else remember it is not the job's).
    /// Returns whether it was adopted.
    fn adopt_task(&mut self, task: &Launched, t: Duration) -> bool {
        let a = &mut self.adoption;
        if task.mark.as_deref() != a.mark.as_deref() {
            if a.rejected.len() >= MAX_REJECTED {
                a.rejected.clear();
            }
            a.rejected.push(task.seen.id);
            return false;
        }
        if !self.follow(task.seen, t) {
            return false;
        }
        let rec = &mut self.live.last_mut().expect("just followed").rec;
        rec.adopted_step = Some(Rc::from(task.step.as_str()));
        let a = &mut self.adoption;
        a.roots.push(task.seen.id.pid);
        a.adopted += 1;
        if let Some(n) = task.nodes {
            a.nodes = Some(a.nodes.map_or(n, |m| m.max(n)));
        }
        true
    }
}

#[cfg(test)]
#[path = "adopt_tests.rs"]
mod tests;
