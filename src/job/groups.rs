//! The job's RSS split by program, built sample by sample at no extra cost beyond one
//! addition per process: a process gets its group's slot when it is first seen (or when it
//! execs another program), and each reading adds its RSS to that slot's sum.
//!
//! At most [`SLOTS`] programs have a slot at once; slot 0 is "other". When every slot is
//! taken, a new program takes the slot of the program with the smallest peak that no
//! longer runs, whose history is added into "other" (the points are whole samples, so
//! adding is exact); when every program still runs, the new one goes to "other". At the
//! end the [`TOP_GROUPS`] programs with the largest peaks are named and the rest added into
//! "other" ([`Groups::report`]).
//!
//! The timeline is thinned like the total's ([`crate::model::timeline`]): neighbouring
//! points merged two by two, the sample with the larger total kept whole, so at every point
//! the groups add up to that sample's total and the peak's split survives. Each group's
//! own peak is kept apart, exactly.

use std::rc::Rc;
use std::time::Duration;

use crate::model::groups::{GROUP_POINTS, ProgramGroup, TOP_GROUPS, TimelineGroups};

/// Programs with a slot of their own at once (slot 0, "other", besides).
pub(crate) const SLOTS: usize = 32;

/// The slot of "other".
const OTHER: u16 = 0;

/// The program a command line runs: the file name of its first word (`/usr/bin/cc -c x.c`:
/// `cc`), without the brackets of a name the kernel gave (`[kworker]`), the dash of a login
/// shell (`-bash`) or the colon of a retitled process (`postgres: writer`).
pub(crate) fn program_of(command: &str) -> &str {
    // A name the kernel gave (no command line) is a name, not a path.
    if let Some(name) = command.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return if name.is_empty() { "?" } else { name };
    }
    let first = command.split(' ').next().unwrap_or("");
    let name = first.rsplit('/').next().unwrap_or(first);
    let name = name.strip_prefix('-').unwrap_or(name);
    let name = name.strip_suffix(':').unwrap_or(name);
    if name.is_empty() { "?" } else { name }
}

/// One slot: a program (or "other") and what it used.
#[derive(Clone, Debug)]
struct Slot {
    program: Rc<str>,
    /// Live processes in it now.
    live: u32,
    /// Processes that ran it.
    processes: u64,
    /// Its peak so far and when.
    max_kib: u64,
    max_at: Duration,
    /// Its RSS at the job's max-total sample.
    at_peak: u64,
    /// Its RSS at each point.
    column: Vec<u64>,
}

impl Slot {
    fn new(program: Rc<str>, points: usize) -> Slot {
        let mut column = Vec::with_capacity(GROUP_POINTS);
        column.resize(points, 0);
        Slot {
            program,
            live: 0,
            processes: 0,
            max_kib: 0,
            max_at: Duration::ZERO,
            at_peak: 0,
            column,
        }
    }
}

/// The split by program being built.
#[derive(Clone, Debug)]
pub(crate) struct Groups {
    slots: Vec<Slot>,
    /// This sample's sum per slot.
    sums: Vec<u64>,
    /// The points: offset and total (the slots' columns hold the split).
    t_ms: Vec<u64>,
    totals: Vec<u64>,
    cap: usize,
    /// Samples each stored point stands for, and those folded into the open point so far.
    stride: u64,
    pending: u64,
}

impl Default for Groups {
    fn default() -> Self {
        Groups::new(GROUP_POINTS)
    }
}

impl Groups {
    /// No program yet; at most `cap` points (at least 2).
    pub(crate) fn new(cap: usize) -> Groups {
        let cap = cap.max(2);
        let mut slots = Vec::with_capacity(SLOTS + 1);
        slots.push(Slot::new(Rc::from("other"), 0));
        Groups {
            slots,
            sums: vec![0; SLOTS + 1],
            t_ms: Vec::with_capacity(cap),
            totals: Vec::with_capacity(cap),
            cap,
            stride: 1,
            pending: 0,
        }
    }

    /// A process running `command` joins: its slot (found, made, or "other").
    pub(crate) fn join(&mut self, command: &str) -> u16 {
        let program = program_of(command);
        let slot = match self.slots[1..].iter().position(|s| *s.program == *program) {
            Some(i) => i + 1,
            None => self.make_slot(program),
        };
        let s = &mut self.slots[slot];
        s.live += 1;
        s.processes += 1;
        slot as u16
    }

    /// A process leaves slot `slot` (it exited).
    pub(crate) fn leave(&mut self, slot: u16) {
        if let Some(s) = self.slots.get_mut(usize::from(slot)) {
            s.live = s.live.saturating_sub(1);
        }
    }

    /// A process of slot `slot` now runs `command`: its new slot.
    pub(crate) fn exec(&mut self, slot: u16, command: &str) -> u16 {
        let same = self
            .slots
            .get(usize::from(slot))
            .is_some_and(|s| slot != OTHER && *s.program == *program_of(command));
        if same {
            return slot;
        }
        self.leave(slot);
        self.join(command)
    }

    /// A slot for a new program: a free one, else the one of the program with the smallest
    /// peak that no longer runs (its history added into "other"), else "other".
    fn make_slot(&mut self, program: &str) -> usize {
        let points = self.t_ms.len();
        if self.slots.len() <= SLOTS {
            self.slots.push(Slot::new(Rc::from(program), points));
            return self.slots.len() - 1;
        }
        let idle = (1..self.slots.len())
            .filter(|&i| self.slots[i].live == 0)
            .min_by_key(|&i| self.slots[i].max_kib);
        let Some(i) = idle else {
            return usize::from(OTHER);
        };
        self.fold_into_other(i);
        self.slots[i] = Slot::new(Rc::from(program), points);
        i
    }

    /// Add slot `i`'s history into "other" (exact: every point is one whole sample).
    fn fold_into_other(&mut self, i: usize) {
        let (other, rest) = self.slots.split_at_mut(1);
        let (other, s) = (&mut other[0], &rest[i - 1]);
        for (o, v) in other.column.iter_mut().zip(&s.column) {
            *o += v;
        }
        other.at_peak += s.at_peak;
        other.processes += s.processes;
    }

    /// A new sample begins: no RSS counted yet.
    pub(crate) fn begin(&mut self) {
        let n = self.slots.len();
        self.sums[..n].fill(0);
    }

    /// A process of slot `slot` was read at `kib`.
    #[inline]
    pub(crate) fn add(&mut self, slot: u16, kib: u64) {
        if let Some(sum) = self.sums.get_mut(usize::from(slot)) {
            *sum += kib;
        }
    }

    /// The sample at `t` is read: keep each slot's peak, the split at a new job peak
    /// (`new_peak`), and a point when the sample has a total (`total`).
    pub(crate) fn end(&mut self, t: Duration, total: Option<u64>, new_peak: bool) {
        let n = self.slots.len();
        for (s, &sum) in self.slots.iter_mut().zip(&self.sums[..n]) {
            if sum > s.max_kib {
                s.max_kib = sum;
                s.max_at = t;
            }
            if new_peak {
                s.at_peak = sum;
            }
        }
        if let Some(total) = total {
            self.push(t.as_millis() as u64, total);
        }
    }

    fn push(&mut self, t_ms: u64, total: u64) {
        let n = self.slots.len();
        if self.pending > 0 && self.pending < self.stride {
            let last = self.t_ms.len() - 1;
            if total > self.totals[last] {
                self.t_ms[last] = t_ms;
                self.totals[last] = total;
                for (s, &sum) in self.slots.iter_mut().zip(&self.sums[..n]) {
                    s.column[last] = sum;
                }
            }
            self.pending += 1;
            return;
        }
        if self.t_ms.len() == self.cap {
            self.halve();
            return self.push(t_ms, total);
        }
        self.t_ms.push(t_ms);
        self.totals.push(total);
        for (s, &sum) in self.slots.iter_mut().zip(&self.sums[..n]) {
            s.column.push(sum);
        }
        self.pending = 1;
    }

    /// Merge the points two by two, keeping the sample with the larger total (the earlier
    /// on a tie), as the total's timeline does.
    fn halve(&mut self) {
        let n = self.t_ms.len();
        let winner = |totals: &[u64], r: usize| {
            if r + 1 < n && totals[r + 1] > totals[r] {
                r + 1
            } else {
                r
            }
        };
        for s in &mut self.slots {
            for (w, r) in (0..n).step_by(2).enumerate() {
                s.column[w] = s.column[winner(&self.totals, r)];
            }
            s.column.truncate(n.div_ceil(2));
        }
        for (w, r) in (0..n).step_by(2).enumerate() {
            let k = winner(&self.totals, r);
            self.t_ms[w] = self.t_ms[k];
            self.totals[w] = self.totals[k];
        }
        self.t_ms.truncate(n.div_ceil(2));
        self.totals.truncate(n.div_ceil(2));
        // A last point that was not paired stands for fewer samples than the new stride.
        if n % 2 == 0 {
            self.pending += self.stride;
        }
        self.stride *= 2;
    }

    /// The split as a report gives it: the [`TOP_GROUPS`] programs with the largest peaks,
    /// largest first, then "other" (when it holds anything) with the rest added up.
    pub(crate) fn report(&self) -> TimelineGroups {
        let mut named: Vec<usize> = (1..self.slots.len())
            .filter(|&i| self.slots[i].processes > 0)
            .collect();
        named.sort_by_key(|&i| (std::cmp::Reverse(self.slots[i].max_kib), i));
        let rest = named.split_off(named.len().min(TOP_GROUPS));
        let group = |s: &Slot| ProgramGroup {
            program: s.program.to_string(),
            other: false,
            processes: s.processes,
            max_rss_kib: Some(s.max_kib),
            max_rss_ms: Some(s.max_at.as_millis() as u64),
            rss_at_peak_kib: s.at_peak,
            rss_kib: s.column.clone(),
        };
        let mut groups: Vec<ProgramGroup> = named.iter().map(|&i| group(&self.slots[i])).collect();
        let mut other = group(&self.slots[0]);
        (other.other, other.max_rss_kib, other.max_rss_ms) = (true, None, None);
        for &i in &rest {
            let s = &self.slots[i];
            for (o, v) in other.rss_kib.iter_mut().zip(&s.column) {
                *o += v;
            }
            other.rss_at_peak_kib += s.at_peak;
            other.processes += s.processes;
        }
        if other.processes > 0 {
            groups.push(other);
        }
        TimelineGroups {
            t_ms: self.t_ms.clone(),
            thinned: self.stride > 1,
            groups,
        }
    }
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
