//! The sampling loop: sleep on absolute deadlines, woken at once by SIGCHLD or a signal
//! through the self-pipe; reap children only when one exited; sample; stream the timeline
//! and the status line; pass signals on to the job; stop when the job is over.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::job::{Job, SampleSummary};
use crate::output::csv::TimelineStream;
use crate::output::status::{Figures, StatusLine};
use crate::output::units;
use crate::sys::unix::signals::{self, Event, SignalPipe};
use crate::sys::unix::term;
use crate::sys::{NativeInspector, Pid};

use super::memory::MemoryWatch;
use super::outputs::{Interim, timeline_warning};
use super::report::{RunTiming, Standing};
use super::timing::{Budget, Timing};
use super::{Config, WaitMode};
use crate::model::findings::SLOWER_THAN_ASKED;
use crate::sys::unix;

/// A complete search for processes (children walk) at least this often, on top of the
/// cheap per-sample birth check: the safety net for anything the birth check missed.
const SAFETY_NET: Duration = Duration::from_secs(1);

/// The loop's state, and what it writes while the job runs.
pub(super) struct Sampler<'a> {
    pub(super) cfg: &'a Config,
    pub(super) pipe: &'a SignalPipe,
    pub(super) job: Job<NativeInspector>,
    pub(super) root: Pid,
    pub(super) start: Instant,
    /// How the command ended, the interruption, warnings about the run.
    pub(super) standing: Standing,
    /// The `--timeline` stream and its path.
    pub(super) timeline: Option<(TimelineStream<std::fs::File>, PathBuf)>,
    /// The `--timeline` file that could not be written, and why.
    pub(super) timeline_failure: Option<(PathBuf, io::Error)>,
    /// The status line, when shown.
    pub(super) status: Option<StatusLine>,
    /// The report file, rewritten once memwatch is interrupted.
    pub(super) interim: Option<Interim<'a>>,
    /// The memory limit and the job's cgroup, watched.
    pub(super) memory: Option<MemoryWatch>,
    /// When to write the interim report next (set at the first job signal).
    interim_next: Option<Instant>,
    /// `memwatch attach`: the job is `root`'s tree, which memwatch did not start: nothing
    /// to reap or signal, and the loop ends when `root` exits or memwatch is signalled.
    pub(super) attached: bool,
    /// Attached, and memwatch was signalled: stop at the next sample.
    stop: bool,
    escalated: bool,
    next: Instant,
    last_full: Option<Instant>,
    announced: bool,
    /// The gaps between samples and the deadlines missed.
    timing: Timing,
    /// `--cpu-budget`'s rule, when given.
    budget: Option<Budget>,
    /// Samples taken.
    samples: u64,
    /// memwatch's CPU time when the job started.
    cpu_start: Option<Duration>,
}

impl<'a> Sampler<'a> {
    /// The loop of a job whose command, `root`, was started at `start`.
    pub(super) fn new(
        cfg: &'a Config,
        pipe: &'a SignalPipe,
        job: Job<NativeInspector>,
        root: Pid,
        start: Instant,
    ) -> Self {
        Sampler {
            cfg,
            pipe,
            job,
            root,
            start,
            standing: Standing::default(),
            timeline: None,
            timeline_failure: None,
            status: None,
            interim: None,
            memory: None,
            interim_next: None,
            attached: false,
            stop: false,
            escalated: false,
            next: start,
            last_full: None,
            announced: false,
            timing: Timing::default(),
            budget: cfg.cpu_budget.map(|p| Budget::new(p, cfg.interval)),
            samples: 0,
            cpu_start: unix::own_cpu(),
        }
    }

    /// Sample until the job is over (or the sampler fails).
    pub(super) fn run(&mut self) -> Result<(), Error> {
        let mut events = [Event::ChildExited; 32];
        loop {
            let child_exited = self.take_events(&mut events)?;
            let now = Instant::now();
            let safety_due = self.last_full.is_none_or(|t| now - t >= SAFETY_NET);
            // wait4 only when SIGCHLD said a child exited (and with the safety net, in case
            // a signal was lost to a full pipe): no system call for it in the steady state.
            let (root_exited_now, reaped_any) = if !self.attached && (child_exited || safety_due) {
                self.reap()
            } else {
                (false, false)
            };
            let now = Instant::now();
            // Sample at each deadline, and at once when a child exited after the command
            // did (that may have been the job's last process), when the command exits, and
            // for the interim report, so it holds what the job uses now.
            let interim_due =
                self.interim.is_some() && self.interim_next.is_some_and(|at| now >= at);
            let exited = self.standing.exit.is_some();
            let due = now >= self.next || root_exited_now || (exited && reaped_any) || interim_due;
            if !due {
                continue;
            }
            self.sample(now, exited || safety_due, interim_due)?;
            if exited && self.job_over() {
                return Ok(());
            }
            if self.attached && self.attach_over() {
                return Ok(());
            }
        }
    }

    /// Sleep until the next deadline or an event; handle the events. Returns whether a
    /// child exited.
    fn take_events(&mut self, events: &mut [Event; 32]) -> Result<bool, Error> {
        let now = Instant::now();
        // Past the deadline (a slow sample), look at the pipe anyway; else sleep on it.
        let signalled = if now < self.next {
            self.pipe
                .wait(self.next - now)
                .map_err(|source| Error::Setup {
                    what: "wait for the job",
                    source,
                })?
        } else {
            true
        };
        let n = if signalled {
            self.pipe.drain(events)
        } else {
            0
        };
        let mut child_exited = false;
        for ev in &events[..n] {
            match *ev {
                Event::ChildExited => child_exited = true,
                Event::Stop => self.suspend()?,
                Event::Continue => self.resumed(),
                Event::Job {
                    signal,
                    from_process,
                } => self.interrupted(signal, from_process),
            }
        }
        Ok(child_exited)
    }

    /// Reap every child that exited; returns (the command exited now, any was reaped).
    fn reap(&mut self) -> (bool, bool) {
        let (mut root_exited, mut reaped_any) = (false, false);
        while let Some(r) = crate::sys::reap_one() {
            if r.pid == self.root {
                self.standing.exit = Some(r.exit);
                root_exited = true;
            }
            self.job.reaped(r.pid, r.max_rss_kib);
            self.job.reaped_footprint(r.pid, r.max_footprint_kib);
            self.job.exited(r.pid, r.exit);
            reaped_any = true;
        }
        (root_exited, reaped_any)
    }

    /// Take a sample (`full`: a complete search for processes), stream it, write the
    /// interim report when due, and set the next deadline.
    fn sample(&mut self, now: Instant, full: bool, interim_due: bool) -> Result<(), Error> {
        if full {
            self.last_full = Some(now);
        }
        self.timing.started(now);
        let interval = self.interval();
        if now >= self.next {
            // Deadlines after the one due that passed too, before this sample started.
            let late = (now - self.next).as_nanos() / interval.as_nanos();
            self.timing.missed(u64::try_from(late).unwrap_or(u64::MAX));
        }
        let t = now - self.start;
        let s = self.job.sample(t, full)?;
        if let Some(memory) = &mut self.memory {
            memory.after_sample(t, full, &self.job);
        }
        self.stream(t, &s);
        self.draw_status(t, &s);
        self.warn_denied();
        if interim_due {
            self.write_interim();
        }
        self.samples += 1;
        if let Some(b) = &mut self.budget {
            b.after_sample(now, self.samples, unix::own_cpu);
        }
        // Next deadline on the fixed grid start + k * interval (no drift); skip the ones
        // already missed.
        let interval = self.interval();
        let k = (now - self.start).as_nanos() / interval.as_nanos() + 1;
        self.next = self.start + interval * u32::try_from(k).unwrap_or(u32::MAX);
        Ok(())
    }

    /// The interval to keep now: the one asked for, or the one `--cpu-budget` set.
    fn interval(&self) -> Duration {
        self.budget
            .as_ref()
            .map_or(self.cfg.interval, Budget::interval)
    }

    /// What the sampler achieved so far, for a report.
    pub(super) fn run_timing(&self) -> RunTiming {
        let elapsed = self.start.elapsed().as_secs_f64();
        let cpu_percent = match (self.cpu_start, unix::own_cpu()) {
            (Some(a), Some(b)) if elapsed > 0.0 => {
                Some(b.saturating_sub(a).as_secs_f64() / elapsed * 100.0)
            }
            _ => None,
        };
        RunTiming {
            achieved: self.timing.achieved(),
            missed: self.timing.deadlines_missed(),
            cpu_percent,
            budget_percent: self.cfg.cpu_budget,
            stretched_to: self.budget.as_ref().and_then(Budget::stretched_to),
        }
    }

    /// Append the sample to the `--timeline` stream (a sample with no total has no row).
    fn stream(&mut self, t: Duration, s: &SampleSummary) {
        if let Some((stream, path)) = self.timeline.as_mut().filter(|_| s.has_total()) {
            if let Err(e) = stream.push(t, s.total_rss_kib, s.processes) {
                // The job goes on; the report will still have the bounded timeline.
                let path = path.clone();
                self.timeline_failed(path, e);
            }
        }
    }

    /// Update the status line when due, only while memwatch owns the terminal.
    fn draw_status(&mut self, t: Duration, s: &SampleSummary) {
        let Some(line) = &mut self.status else {
            return;
        };
        if !line.due(t) {
            return;
        }
        if !term::stderr_in_foreground() {
            // Started with `&`, or put in the background: the terminal is the shell's.
            if line.shown() {
                let _ = io::stderr().write_all(line.clear());
            }
            line.defer(t);
        } else if let Some((rows, cols)) = term::stderr_size() {
            // The recent interval, when it falls behind the one asked for.
            let behind = self
                .timing
                .recent()
                .filter(|r| r.as_secs_f64() > SLOWER_THAN_ASKED * self.cfg.interval.as_secs_f64());
            let figures = Figures {
                elapsed: t,
                now_kib: s.total_rss_kib,
                peak_kib: self.job.max_total_rss_kib(),
                processes: s.processes,
                behind,
            };
            let _ = io::stderr().write_all(line.draw(&figures, rows, cols));
        }
    }

    fn warn_denied(&mut self) {
        let denied = self.job.take_newly_denied();
        if let Some(first) = denied.first() {
            eprintln!(
                "memwatch: cannot read the memory of {} process(es) (first: pid {}): permission denied; reported as unknown, not counted in totals",
                denied.len(),
                first.pid
            );
        }
    }

    /// Once the command has exited: whether the job is over (every process gone, or
    /// `--wait root`). Says once what it is still waiting for.
    fn job_over(&mut self) -> bool {
        if self.job.live_pids().is_empty() {
            let job = &mut self.job;
            crate::sys::reap_remaining(Duration::from_millis(500), |r| {
                job.reaped(r.pid, r.max_rss_kib);
                job.reaped_footprint(r.pid, r.max_footprint_kib);
                job.exited(r.pid, r.exit);
            });
        }
        let live = self.job.live_pids();
        if live.is_empty() || self.cfg.wait == WaitMode::Root {
            if !live.is_empty() {
                eprintln!(
                    "memwatch: the command exited; {} process(es) of the job are still running and were not waited for (--wait root): pids {}",
                    live.len(),
                    units::pid_list(live)
                );
            }
            return true;
        }
        if !self.announced {
            self.announced = true;
            eprintln!(
                "memwatch: the command exited; waiting for {} remaining process(es) of the job (pids {}); use --wait root to stop at the command's exit",
                live.len(),
                units::pid_list(live)
            );
        }
        false
    }

    /// Attached: whether to stop (memwatch was signalled, or the attached process exited).
    /// Says which of its processes are left running when it exited.
    fn attach_over(&mut self) -> bool {
        if self.stop {
            return true;
        }
        if self.job.is_live(self.root) {
            return false;
        }
        let live = self.job.live_pids();
        if !live.is_empty() {
            eprintln!(
                "memwatch: pid {} exited; {} process(es) it started are still running and were not waited for: pids {}",
                self.root,
                live.len(),
                units::pid_list(live)
            );
        }
        true
    }

    /// The `--timeline` stream failed: say so now, and in the report, and remember it for
    /// the exit status.
    fn timeline_failed(&mut self, path: PathBuf, e: io::Error) {
        eprintln!(
            "memwatch: cannot write the timeline to {}: {}; no longer streaming it",
            path.display(),
            crate::error::os_message(&e)
        );
        self.standing
            .warnings
            .push(timeline_warning(&path, self.start.elapsed(), &e));
        self.timeline = None;
        self.timeline_failure = Some((path, e));
    }

    /// Ctrl+Z (SIGTSTP): give the terminal back its whole height and stop, as the job (in
    /// the terminal's foreground group with memwatch) already did.
    fn suspend(&mut self) -> Result<(), Error> {
        if let Some(line) = &mut self.status {
            if line.shown() {
                let _ = io::stderr().write_all(line.clear());
            }
        }
        signals::suspend_self().map_err(|source| Error::Setup {
            what: "stop on SIGTSTP",
            source,
        })
    }

    /// Continued (`fg`, `bg`, SIGCONT): whatever the shell did to the terminal meanwhile,
    /// the status line is set up afresh at its next update (only in the foreground).
    fn resumed(&mut self) {
        self.timing.resumed();
        if let Some(line) = &mut self.status {
            if line.shown() && term::stderr_in_foreground() {
                let _ = io::stderr().write_all(line.clear());
            }
        }
    }

    /// SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to memwatch: the first is passed on to the job
    /// (and the report written at once), the second kills it. A terminal's Ctrl+C already
    /// reached the terminal's foreground group (memwatch and, unless they moved, the job's
    /// processes), so it is passed on only to the job processes outside that group: a
    /// daemon in a session of its own, a process group a job's shell made.
    fn interrupted(&mut self, signal: i32, from_process: bool) {
        if self.attached {
            // Attached: the signal is memwatch's alone; stop now, write the report.
            self.standing.interrupt.get_or_insert(signal);
            self.stop = true;
            self.next = Instant::now();
            return;
        }
        let root_running = self.standing.exit.is_none();
        if self.standing.interrupt.is_none() {
            self.standing.interrupt = Some(signal);
            if from_process {
                if root_running {
                    signals::kill(self.root, signal);
                }
                self.job.signal_all(signal);
            } else {
                let own = signals::own_process_group();
                self.job.signal_where(signal, |pid| {
                    signals::process_group(pid).is_some_and(|g| g != own)
                });
            }
            self.on_first_signal();
        } else if !self.escalated {
            self.escalated = true;
            if let Some(memory) = &mut self.memory {
                memory.escalated(self.start.elapsed());
            }
            eprintln!("memwatch: second signal: killing the job (SIGKILL)");
            if root_running {
                signals::kill(self.root, signals::KILL);
            }
            self.job.signal_all(signals::KILL);
        } else {
            self.job.signal_all(signals::KILL);
        }
    }

    /// Whatever ends memwatch next (a second signal, Slurm's SIGKILL), what was measured
    /// is on disk: the report now, and again while the job goes on; the timeline at once.
    fn on_first_signal(&mut self) {
        self.interim_next = Some(Instant::now());
        if let Some((stream, path)) = self.timeline.as_mut() {
            if let Err(e) = stream.flush() {
                let path = path.clone();
                self.timeline_failed(path, e);
            }
        }
    }

    fn write_interim(&mut self) {
        let Some(interim) = &self.interim else {
            return;
        };
        let elapsed = self.start.elapsed();
        self.standing.timing = Some(self.run_timing());
        let live = self.job.live_pids().to_vec();
        self.interim_next = interim
            .write(&self.job.stats(), elapsed, &self.standing, live)
            .map(|wait| Instant::now() + wait);
    }
}
