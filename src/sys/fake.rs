//! A scripted, in-memory [`Inspector`] for tests, property tests and benches of the
//! platform-neutral core: a table of fake processes that a test spawns, changes and ends.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{
    Access, Discovery, ExtraReading, Inspector, Launch, Launched, Metric, Pid, ProcId, Reading,
    SampleError, Seen,
};

/// One fake process.
#[derive(Clone, Debug)]
pub(crate) struct FakeProc {
    /// Identity.
    pub id: ProcId,
    /// Parent.
    pub ppid: Pid,
    /// Process group (defaults to the parent's convention: itself).
    pub pgid: Pid,
    /// Birth on the never-stepping clock ([`Seen::born`]); defaults to the start time, as
    /// on Linux.
    pub born: Option<u64>,
    /// Command line.
    pub command: String,
    /// Current RSS, KiB; `None` for a process whose memory is denied.
    pub rss_kib: Option<u64>,
    /// Bumped by [`FakeInspector::exec`].
    pub generation: u32,
    /// Its PSS (`--metric pss`), KiB; `None`: cannot be read.
    pub pss_kib: Option<u64>,
    /// Started by a step daemon: the step, the mark in its environment, its step's nodes;
    /// `None` for the step while it has not run its program yet.
    pub launch: Option<(Option<String>, Option<String>, Option<u32>)>,
    /// How much of its RSS is shared or file-backed, KiB (the rest is private); `None`:
    /// the platform does not tell (macOS).
    pub shared_kib: Option<u64>,
}

impl FakeProc {
    /// A process `pid` started at `start` under `ppid`.
    pub(crate) fn new(pid: Pid, ppid: Pid, start: u64, command: &str) -> Self {
        FakeProc {
            id: ProcId { pid, start },
            ppid,
            pgid: 0,
            born: Some(start),
            command: command.to_string(),
            rss_kib: Some(0),
            generation: 0,
            pss_kib: None,
            launch: None,
            shared_kib: Some(0),
        }
    }
    /// A task a step daemon started for step `step`, with `mark` in its environment.
    pub(crate) fn task(mut self, step: &str, mark: Option<&str>, nodes: Option<u32>) -> Self {
        self.launch = Some((Some(step.into()), mark.map(Into::into), nodes));
        self
    }
    /// Forked by a step daemon, not run its program yet.
    pub(crate) fn task_not_yet(mut self) -> Self {
        self.launch = Some((None, None, None));
        self
    }
    /// With this much of its RSS shared or file-backed.
    pub(crate) fn shared(mut self, kib: u64) -> Self {
        self.shared_kib = Some(kib);
        self
    }
    /// On a platform that does not tell shared pages from private ones.
    pub(crate) fn private_unknown(mut self) -> Self {
        self.shared_kib = None;
        self
    }
    /// With this PSS.
    pub(crate) fn pss(mut self, kib: u64) -> Self {
        self.pss_kib = Some(kib);
        self
    }
    /// With this RSS.
    pub(crate) fn rss(mut self, kib: u64) -> Self {
        self.rss_kib = Some(kib);
        self
    }
    /// Unreadable.
    pub(crate) fn denied(mut self) -> Self {
        self.rss_kib = None;
        self
    }
    /// In this process group.
    pub(crate) fn pgid(mut self, pgid: Pid) -> Self {
        self.pgid = pgid;
        self
    }
    /// Born at this time of the never-stepping clock (`None`: the kernel will not say), the
    /// start time staying what it is (macOS: the wall clock).
    pub(crate) fn born(mut self, born: Option<u64>) -> Self {
        self.born = born;
        self
    }
}

/// The handle: which process, and the generation last read.
#[derive(Debug)]
pub(crate) struct FakeHandle {
    id: ProcId,
    generation: u32,
}

/// A shared table of fake processes; clones see the same table.
#[derive(Clone, Default)]
pub(crate) struct FakeInspector {
    procs: Rc<RefCell<BTreeMap<Pid, FakeProc>>>,
    /// Signals delivered, as (pid, signal).
    pub signals: Rc<RefCell<Vec<(Pid, i32)>>>,
    /// Calls of [`Inspector::launched`], and of [`Inspector::launched_search`].
    pub launched_calls: Rc<Cell<u64>>,
    pub searches: Rc<Cell<u64>>,
}

impl FakeInspector {
    /// Add a process (replacing any with the same pid).
    pub(crate) fn spawn(&self, p: FakeProc) {
        self.procs.borrow_mut().insert(p.id.pid, p);
    }
    /// End a process.
    pub(crate) fn exit(&self, pid: Pid) {
        self.procs.borrow_mut().remove(&pid);
    }
    /// Change a process's RSS.
    pub(crate) fn set_rss(&self, pid: Pid, kib: u64) {
        if let Some(p) = self.procs.borrow_mut().get_mut(&pid) {
            p.rss_kib = Some(kib);
        }
    }
    /// Give a process a new parent.
    pub(crate) fn reparent(&self, pid: Pid, ppid: Pid) {
        if let Some(p) = self.procs.borrow_mut().get_mut(&pid) {
            p.ppid = ppid;
        }
    }
    /// Make a process run `exec`: new command line and RSS.
    pub(crate) fn exec(&self, pid: Pid, command: &str, kib: u64) {
        if let Some(p) = self.procs.borrow_mut().get_mut(&pid) {
            p.command = command.to_string();
            p.rss_kib = Some(kib);
            p.generation += 1;
        }
    }
    /// Make a task forked by a step daemon run its program.
    pub(crate) fn task_runs(&self, pid: Pid, step: &str, mark: Option<&str>) {
        if let Some(p) = self.procs.borrow_mut().get_mut(&pid) {
            p.launch = Some((Some(step.into()), mark.map(Into::into), None));
        }
    }
    /// An `exec` the backend cannot notice (same text size on Linux): new command line and
    /// RSS, no exec flag on the next reading.
    pub(crate) fn exec_unnoticed(&self, pid: Pid, command: &str, kib: u64) {
        if let Some(p) = self.procs.borrow_mut().get_mut(&pid) {
            p.command = command.to_string();
            p.rss_kib = Some(kib);
        }
    }
}

impl Inspector for FakeInspector {
    type Handle = FakeHandle;

    fn discover(&mut self, _d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        // Newest first, so children are often listed before their parents.
        for p in self.procs.borrow().values().rev() {
            out.push(Seen {
                id: p.id,
                ppid: p.ppid,
                pgid: if p.pgid == 0 { p.id.pid } else { p.pgid },
                born: p.born,
            });
        }
        Ok(())
    }

    fn follow(&mut self, seen: &Seen) -> Option<(FakeHandle, Access)> {
        let procs = self.procs.borrow();
        let p = procs.get(&seen.id.pid).filter(|p| p.id == seen.id)?;
        let access = if p.rss_kib.is_some() {
            Access::Readable
        } else {
            Access::Denied
        };
        Some((
            FakeHandle {
                id: p.id,
                generation: p.generation,
            },
            access,
        ))
    }

    fn command(&mut self, seen: &Seen, _h: &mut FakeHandle) -> String {
        self.procs
            .borrow()
            .get(&seen.id.pid)
            .map(|p| p.command.clone())
            .unwrap_or_default()
    }

    fn read(&mut self, h: &mut FakeHandle) -> Reading {
        let procs = self.procs.borrow();
        match procs.get(&h.id.pid).filter(|p| p.id == h.id) {
            None => Reading::Gone,
            Some(p) => match p.rss_kib {
                None => Reading::Unknown,
                Some(kib) => {
                    let exec = p.generation != h.generation;
                    h.generation = p.generation;
                    let private_kib = p.shared_kib.map(|s| kib.saturating_sub(s));
                    Reading::Rss {
                        kib,
                        private_kib,
                        exec,
                    }
                }
            },
        }
    }

    fn read_extra(&mut self, extra: Metric, h: &mut FakeHandle) -> ExtraReading {
        let procs = self.procs.borrow();
        match procs.get(&h.id.pid).filter(|p| p.id == h.id) {
            None => ExtraReading::Unavailable,
            Some(_) if extra != Metric::Pss => ExtraReading::Unavailable,
            // A fake process without a PSS stands for a setuid one.
            Some(p) => p.pss_kib.map_or(ExtraReading::Denied, ExtraReading::Kib),
        }
    }

    fn launched(&mut self, seen: &Seen) -> Launch {
        self.launched_calls.set(self.launched_calls.get() + 1);
        let procs = self.procs.borrow();
        match procs.get(&seen.id.pid).and_then(|p| p.launch.clone()) {
            None => Launch::No,
            Some((None, _, _)) => Launch::NotYet,
            Some((Some(step), mark, nodes)) => Launch::Task(Launched {
                seen: *seen,
                step,
                mark,
                nodes,
            }),
        }
    }

    fn launched_search(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        self.searches.set(self.searches.get() + 1);
        for p in self.procs.borrow().values() {
            if p.launch.is_some() && !(d.is_live)(p.id.pid) {
                out.push(Seen {
                    id: p.id,
                    ppid: p.ppid,
                    pgid: p.id.pid,
                    born: p.born,
                });
            }
        }
    }

    fn signal(&mut self, id: ProcId, _h: &mut FakeHandle, signal: i32) -> bool {
        let alive = self.procs.borrow().get(&id.pid).is_some_and(|p| p.id == id);
        if alive {
            self.signals.borrow_mut().push((id.pid, signal));
        }
        alive
    }
}
