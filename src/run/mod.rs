//! `memwatch run`: spawn the command, sample the job until it ends, write the report.
//!
//! The only place that touches the job as a whole: it spawns the command (never through a
//! shell), becomes the child subreaper, forwards and escalates signals, and reaps children
//! (through [`crate::sys::reap_one`] and, once the job looks over,
//! [`crate::sys::reap_remaining`], nowhere else). The loop is [`sampler`]; the files it
//! writes are [`outputs`]; the memory limit and the job's cgroup are watched by [`memory`].

mod attach;
mod memory;
mod outputs;
mod placeholders;
mod report;
mod sampler;
mod timing;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::error::{Error, Outcome, Status};
use crate::job::Job;
use crate::model::gate::MaxRss;
use crate::model::{Metric, launcher};
use crate::output::Format;
use crate::output::status::StatusLine;
use crate::sys::unix;
use crate::sys::{self, Inspector, NativeInspector};
use outputs::{Interim, Prepared};
use report::Context;
pub use report::{RunInfo, build as report};
use sampler::Sampler;

pub(crate) use attach::attach;

/// When the job is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitMode {
    /// When the command and every process it started have exited.
    All,
    /// When the command itself exits (daemons it started keep running).
    Root,
}

/// A checked `memwatch run` command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Sampling interval.
    pub interval: Duration,
    /// What the report is written as.
    pub format: Format,
    /// The report file (placeholders not expanded yet).
    pub output: Option<PathBuf>,
    /// What is measured besides RSS.
    pub metric: Metric,
    /// `--max-rss`: the limit the peak (the `metric`'s figure) is checked against.
    pub max_rss: Option<MaxRss>,
    /// Streamed timeline CSV.
    pub timeline: Option<PathBuf>,
    /// Directory for the CSV files.
    pub csv: Option<PathBuf>,
    /// SVG plot file.
    pub plot: Option<PathBuf>,
    /// No human summary on stderr.
    pub quiet: bool,
    /// Show the live status line (stderr is a terminal and nobody asked for plain output).
    pub status: bool,
    /// When the job is over.
    pub wait: WaitMode,
    /// `--cpu-budget`: memwatch's own CPU, percent of one core, to stretch the interval
    /// for.
    pub cpu_budget: Option<f64>,
    /// The command and its arguments, untouched.
    pub command: Vec<OsString>,
}

/// The metric to read besides RSS, or the usage error when this platform cannot measure
/// it.
fn extra_metric(metric: Metric, inspector: &NativeInspector) -> Result<Option<Metric>, Error> {
    if metric == Metric::Rss {
        return Ok(None);
    }
    if inspector.supports(metric) {
        return Ok(Some(metric));
    }
    Err(Error::NotRun(Box::new(Error::usage(match metric {
        Metric::Pss => {
            "--metric pss needs Linux's /proc/<pid>/smaps_rollup (kernel 4.14 or later); on macOS use --metric footprint"
        }
        _ => "--metric footprint is macOS's physical footprint; on Linux use --metric pss",
    }))))
}

/// Run the job; returns its status (the command's, or 128+N).
pub(crate) fn run(mut cfg: Config) -> Result<Outcome, Error> {
    let host = unix::hostname();
    let identity = launcher::identity_from_env();
    placeholders::expand_all(&mut cfg, &host, &identity)?;
    let prepared = Prepared::create(&cfg)?;
    let session = Session::open(host, identity, cfg.status).map_err(Error::not_run)?;
    // Standard output carries the JSON alone: the command's goes to standard error.
    let json_on_stdout = cfg.format == Format::Json && cfg.output.is_none();
    session.measure(&cfg, prepared, json_on_stdout).result
}

/// What one job gave: its report, when it ran, and how `run` would end (the job's status,
/// or memwatch's failure, reported after the report was written).
pub(crate) struct Ran {
    /// The final report of the job; `None` when it never started.
    pub(crate) report: Option<crate::model::Report>,
    /// The job's status (the command's, or 128+N), or what failed.
    pub(crate) result: Result<Outcome, Error>,
}

/// What every job of one memwatch process shares, set up once: the signal handlers and
/// their self-pipe, the child subreaper, where it runs. `run` opens one for its job; a
/// sweep opens one for all of its jobs.
pub(crate) struct Session {
    pipe: sys::unix::signals::SignalPipe,
    host: String,
    identity: BTreeMap<String, String>,
}

impl Session {
    /// Install the signal handlers (with `stops`, also Ctrl+Z and `fg`, for the status
    /// line) and become the child subreaper.
    pub(crate) fn open(
        host: String,
        identity: BTreeMap<String, String>,
        stops: bool,
    ) -> Result<Session, Error> {
        let pipe = sys::signal_pipe().map_err(|source| Error::Setup {
            what: "install signal handlers",
            source,
        })?;
        if stops {
            // Ctrl+Z puts the terminal in order before memwatch stops; `fg` redraws.
            pipe.handle_stops().map_err(|source| Error::Setup {
                what: "install signal handlers",
                source,
            })?;
        }
        sys::prepare_parent().map_err(|source| Error::Setup {
            what: "become the child subreaper",
            source,
        })?;
        Ok(Session {
            pipe,
            host,
            identity,
        })
    }

    /// The first job signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) memwatch received since it
    /// started, if any: a job running then was passed it and ended interrupted.
    pub(crate) fn interrupted(&self) -> Option<i32> {
        sys::unix::signals::first_job_signal()
    }

    /// Run one job of `cfg` (its placeholders expanded) to the end: its outputs created
    /// (an unwritable one fails before the command starts), sampled, written. With
    /// `stdout_to_stderr` the command's standard output goes to memwatch's standard error.
    pub(crate) fn job(&self, cfg: &Config, stdout_to_stderr: bool) -> Ran {
        match Prepared::create(cfg) {
            Ok(prepared) => self.measure(cfg, prepared, stdout_to_stderr),
            Err(e) => Ran {
                report: None,
                result: Err(e),
            },
        }
    }

    /// Start the command, sample it until the job is over, write its outputs.
    fn measure(&self, cfg: &Config, prepared: Prepared, stdout_to_stderr: bool) -> Ran {
        let self_pid = unix::own_pid();
        let memory = memory::MemoryWatch::start(self_pid);
        let started = NativeInspector::new(self_pid)
            .map_err(|e| Error::from(e).not_run())
            .and_then(|inspector| {
                let extra = extra_metric(cfg.metric, &inspector)?;
                let start_time = Timestamp::now();
                let start = Instant::now();
                // Unique to this run on this machine: how its tasks are told from others'
                // when a launcher has a daemon start them (job::adopt).
                let mark = format!("{self_pid}.{}", start_time.as_nanosecond());
                let root = sys::spawn_job(
                    &cfg.command,
                    &[(sys::RUN_MARK, &mark)],
                    stdout_to_stderr,
                    &self.pipe,
                )?;
                unix::raise_nofile_limit();
                let mut job = job(cfg, inspector, self_pid, root, extra);
                job.adopt_marked(&mark);
                Ok((job, root, start_time, start))
            });
        let (job, root, start_time, start) = match started {
            Ok(s) => s,
            Err(e) => {
                return Ran {
                    report: None,
                    result: Err(e),
                };
            }
        };
        let ctx = Context {
            command: cfg
                .command
                .iter()
                .map(|a| a.to_string_lossy().into())
                .collect(),
            host: self.host.clone(),
            launcher: self.identity.clone(),
            start_time,
            interval: cfg.interval,
            limits: memory.limits.clone(),
            max_rss: cfg.max_rss.clone(),
            metric: cfg.metric,
        };
        let Prepared {
            report: pending,
            plot,
            csv,
            timeline,
        } = prepared;
        let mut sampler = Sampler::new(cfg, &self.pipe, job, root, start);
        sampler.timeline = timeline;
        sampler.memory = Some(memory);
        sampler.status = cfg.status.then(StatusLine::default);
        sampler.interim = pending.as_ref().map(|file| Interim {
            file,
            format: cfg.format,
            ctx: &ctx,
        });
        let outcome = sampler.run();
        let (report, failure) = finish(sampler, &ctx);
        let result = write_outputs(cfg, pending, plot, csv, &report, outcome, failure);
        Ran {
            report: Some(report),
            result,
        }
    }
}

/// Write the report and the other outputs of a finished job; then memwatch's failures
/// count (the report of what was measured is written first), else the job's status.
fn write_outputs(
    cfg: &Config,
    pending: Option<sys::unix::file::PendingFile>,
    plot: Option<sys::unix::file::PendingFile>,
    csv: Option<outputs::CsvFiles>,
    report: &crate::model::Report,
    outcome: Result<(), Error>,
    failure: Option<(PathBuf, io::Error)>,
) -> Result<Outcome, Error> {
    let job_desc = report
        .exit()
        .map(|e| format!("the command {}", e.describe()));
    let extras = outputs::write_extras(csv, plot, report, job_desc.as_ref());
    let emitted = outputs::emit(cfg, pending, report, job_desc.clone());
    outcome?;
    emitted?;
    extras?;
    if let Some((path, source)) = failure {
        return Err(Error::Output {
            what: "timeline",
            target: path.display().to_string(),
            source,
            job: job_desc,
        });
    }
    Ok(outcome_of(report))
}

/// What memwatch exits with once the report is out: the command's status (128+N for a
/// signal or an interruption), except that a command that succeeded fails a `--max-rss`
/// check that did not pass with 3.
fn outcome_of(report: &crate::model::Report) -> Outcome {
    // An attached process is not memwatch's child: memwatch never learns its status, and
    // measuring it to its end is success.
    let status = if report.attached {
        0
    } else {
        report
            .exit_status()
            .unwrap_or(i32::from(Status::Failure.code()))
    };
    let gate_failed = report.max_rss_check.as_ref().is_some_and(|c| !c.passed);
    if status == 0 && gate_failed {
        Outcome::Status(Status::MaxRssExceeded)
    } else {
        Outcome::Job(status)
    }
}

/// Whether this platform can measure `metric` besides RSS: the usage error of `run`
/// when it cannot, checked before anything starts.
pub(crate) fn check_metric(metric: Metric) -> Result<(), Error> {
    if metric == Metric::Rss {
        return Ok(());
    }
    let inspector = NativeInspector::new(unix::own_pid())?;
    extra_metric(metric, &inspector).map(drop)
}

/// The job of the command memwatch started (`root`), measuring `extra` besides RSS.
fn job(
    cfg: &Config,
    inspector: NativeInspector,
    self_pid: i32,
    root: i32,
    extra: Option<Metric>,
) -> Job<NativeInspector> {
    let mut job = Job::new(inspector, self_pid, root, 64);
    job.set_root_command(
        &sys::join_args(cfg.command.iter().map(|a| a.as_encoded_bytes())),
        &cfg.command[0].to_string_lossy(),
    );
    if let Some(extra) = extra {
        job.measure_extra(extra);
    }
    job
}

/// After the loop: clear the status line, finish the timeline stream, and build the final
/// report. Returns it with the `--timeline` failure, if any.
fn finish(
    mut s: Sampler<'_>,
    ctx: &Context,
) -> (crate::model::Report, Option<(PathBuf, io::Error)>) {
    if let Some(line) = &mut s.status {
        if line.shown() {
            let _ = io::stderr().write_all(line.clear());
        }
    }
    let mut failure = s.timeline_failure.take();
    if let Some((stream, path)) = s.timeline.take() {
        if let Err(source) = stream.finish() {
            s.standing
                .warnings
                .push(outputs::timeline_warning(&path, s.start.elapsed(), &source));
            failure = Some((path, source));
        }
    }
    s.standing.timing = Some(s.run_timing());
    let duration = s.start.elapsed();
    let left_running = if s.cfg.wait == WaitMode::Root {
        s.job.live_pids().to_vec()
    } else {
        Vec::new()
    };
    let standing = std::mem::take(&mut s.standing);
    if let Some(memory) = &mut s.memory {
        memory.finish(duration, &s.job);
    }
    let memory = s.memory.take();
    let stats = s.job.finish();
    let mut report = ctx.report(&stats, duration, &standing, left_running);
    if let Some(memory) = memory {
        memory.conclude(&mut report, &stats);
    }
    // Every process memwatch will wait for has been reaped. An attached job's processes
    // are not memwatch's children: what they used is unknown to it.
    let usage = if s.attached {
        None
    } else {
        unix::children_usage()
    };
    let report = report::with_usage(report, usage);
    (ctx.with_check(report, false), failure)
}
