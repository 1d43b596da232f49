//! Reading the job's live processes at one sample: RSS for every one, the extra metric in
//! rounds, the command line after an exec, and which peaks were fresh fork copies.

use std::time::Duration;

use super::record::{ForkCopy, Live, MAX_FORK_COPIES, born_before, copy_sized, shown_command};
use super::{EXTRA_BUDGET, Job, SampleSummary};
use crate::sys::{ExtraReading, Inspector, Metric, Pid, Reading};

impl<I: Inspector> Job<I> {
    /// Read every live process once (and, when a round is due, its extra metric); retire
    /// the ones that are gone.
    pub(super) fn read_all(&mut self, t: Duration) -> SampleSummary {
        let mut sum = SampleSummary::default();
        let round = self.extra.filter(|_| t >= self.extra_next);
        let round_began = std::time::Instant::now();
        // The round's total counts the processes whose extra metric could be read; with
        // none, the round has no total (unknown, never 0).
        let mut extra_sum: Option<u64> = None;
        self.groups.begin();
        let mut i = 0;
        while i < self.live.len() {
            let live = &mut self.live[i];
            match self.inspector.read(&mut live.handle) {
                Reading::Rss {
                    kib,
                    private_kib,
                    exec,
                } => {
                    let recheck = live.rec.recheck_command && t > live.rec.first_seen;
                    if exec || recheck {
                        live.rec.recheck_command = false;
                        let seen = live.rec.seen();
                        let command = self.inspector.command(&seen, &mut live.handle);
                        let changed = *live.rec.command != *command;
                        if changed {
                            live.rec.command = shown_command(
                                &command,
                                live.rec.is_root,
                                &self.root_command,
                                &self.root_program,
                            );
                            live.rec.group = self.groups.exec(live.rec.group, &live.rec.command);
                            // It exec'd a launcher (the root, srun, is first found as a
                            // copy of memwatch), or exec'd from one.
                            let launcher = super::adopt::is_launcher(&live.rec.command);
                            if launcher != live.rec.launcher {
                                live.rec.launcher = launcher;
                                self.adoption.launcher(live.rec.id.pid, launcher);
                            }
                        }
                        if (exec || changed) && live.rec.copy_of_parent {
                            live.rec.exec_seen();
                            self.copies_live -= 1;
                        }
                    }
                    if live.rec.observe(kib, t) {
                        // A new peak: is it its own, or its parent's pages (decided below,
                        // once the parent's reading of this sample is in)?
                        live.rec.peak_as_copy = false;
                        if live.rec.copy_of_parent {
                            live.rec.copy_peak_pending = true;
                            self.copy_peaks_pending += 1;
                        }
                    }
                    sum.total_rss_kib += kib;
                    self.groups.add(live.rec.group, kib);
                    sum.add_private(&mut live.rec, private_kib);
                    if let Some(extra) = round {
                        self.extra_reads += 1;
                        if live.read_extra(&mut self.inspector, extra, &mut extra_sum) {
                            self.extra_unreadable += 1;
                        }
                    }
                    sum.processes += 1;
                    i += 1;
                }
                Reading::Loading => {
                    // Alive, between exec and the new program: no figure this time.
                    live.rec.last_seen = t;
                    live.rec.last_kib = 0;
                    sum.processes += 1;
                    sum.loading += 1;
                    i += 1;
                }
                Reading::Unknown => {
                    live.rec.samples += 1;
                    live.rec.last_seen = t;
                    live.rec.last_kib = 0;
                    sum.processes += 1;
                    sum.unknown += 1;
                    i += 1;
                }
                Reading::Gone => self.retire(i, Some(t)),
            }
        }
        if self.copy_peaks_pending > 0 {
            self.settle_copy_peaks();
        }
        sum.total_extra_kib = extra_sum;
        if round.is_some() {
            let period = round_began.elapsed().div_f64(EXTRA_BUDGET);
            self.extra_next = t + period;
            self.extra_rounds += 1;
            self.extra_period_max = self.extra_period_max.max(period);
        }
        sum
    }

    /// The RSS at this sample of the job process `ppid` that is the parent of a process
    /// born at `born`, if it is followed.
    fn parent_kib(&self, ppid: Pid, born: Option<u64>) -> Option<u64> {
        self.live_index
            .get(&ppid)
            .map(|&i| &self.live[i].rec)
            .filter(|p| born_before(p.born, born))
            .map(|p| p.last_kib)
    }

    /// For every copy that reached a new peak at this sample: whether that peak was no more
    /// than its parent's RSS at the same sample (the parent's pages, shared).
    fn settle_copy_peaks(&mut self) {
        for i in 0..self.live.len() {
            let rec = &self.live[i].rec;
            if !rec.copy_peak_pending {
                continue;
            }
            let parent = self.parent_kib(rec.ppid, rec.born);
            let rec = &mut self.live[i].rec;
            rec.copy_peak_pending = false;
            rec.peak_as_copy = parent.is_some_and(|p| copy_sized(rec.last_kib, p));
        }
        self.copy_peaks_pending = 0;
    }

    /// At a new max total: remember the fresh copies of their parents it counted, the most
    /// recently found first (a worker forked long ago that never execs is no fresh copy).
    pub(super) fn record_fork_copies(&mut self) {
        self.peak_copies = [None; MAX_FORK_COPIES];
        if self.copies_live == 0 {
            return;
        }
        for live in &self.live {
            let rec = &live.rec;
            if !rec.copy_of_parent {
                continue;
            }
            let Some(parent) = self.parent_kib(rec.ppid, rec.born) else {
                continue;
            };
            if !copy_sized(rec.last_kib, parent) {
                continue;
            }
            let copy = ForkCopy {
                id: rec.id,
                ppid: rec.ppid,
                kib: rec.last_kib,
                first_seen: rec.first_seen,
            };
            let key = |c: &ForkCopy| (c.first_seen, c.kib);
            // Fill an empty slot, else replace the stalest copy if this one is fresher.
            let slot = self
                .peak_copies
                .iter()
                .position(Option::is_none)
                .or_else(|| {
                    let (i, stalest) = self
                        .peak_copies
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.map(|c| (i, c)))
                        .min_by_key(|(_, c)| key(c))?;
                    (key(&copy) > key(&stalest)).then_some(i)
                });
            if let Some(i) = slot {
                self.peak_copies[i] = Some(copy);
            }
        }
    }
}

impl<H> Live<H> {
    /// Read the extra metric into the round's sum; returns whether the kernel refused it
    /// for the first time.
    fn read_extra<I: Inspector<Handle = H>>(
        &mut self,
        inspector: &mut I,
        extra: Metric,
        round_sum: &mut Option<u64>,
    ) -> bool {
        match inspector.read_extra(extra, &mut self.handle) {
            ExtraReading::Kib(v) => {
                *round_sum = Some(round_sum.unwrap_or(0) + v);
                if self.rec.max_extra_kib.is_none_or(|m| v > m) {
                    self.rec.max_extra_kib = Some(v);
                }
                false
            }
            ExtraReading::Denied if !self.rec.extra_failed => {
                self.rec.extra_failed = true;
                true
            }
            ExtraReading::Denied | ExtraReading::Unavailable => false,
        }
    }
}
