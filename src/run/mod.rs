//! `memwatch run`: spawn the command, sample the job until it ends, write the report.
//!
//! The only place that touches the job as a whole: it spawns the command (never through a
//! shell), becomes the child subreaper, forwards and escalates signals, and reaps children
//! (through [`crate::sys::reap_one`] and, once the job looks over,
//! [`crate::sys::reap_remaining`], nowhere else). The loop is [`sampler`]; the files it
//! writes are [`outputs`].

mod outputs;
mod placeholders;
mod report;
mod sampler;
mod timing;

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
    Err(Error::run_usage(match metric {
        Metric::Pss => {
            "--metric pss needs Linux's /proc/<pid>/smaps_rollup (kernel 4.14 or later); on macOS use --metric footprint"
        }
        _ => "--metric footprint is macOS's physical footprint; on Linux use --metric pss",
    }))
}

/// Run the job; returns its status (the command's, or 128+N).
pub(crate) fn run(mut cfg: Config) -> Result<Outcome, Error> {
    let host = unix::hostname();
    let identity = launcher::identity_from_env();
    placeholders::expand_all(&mut cfg, &host, &identity)?;
    let prepared = Prepared::create(&cfg)?;
    let pipe = sys::signal_pipe().map_err(|source| Error::Setup {
        what: "install signal handlers",
        source,
    })?;
    if cfg.status {
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
    let self_pid = unix::own_pid();
    let inspector = NativeInspector::new(self_pid)?;
    let extra = extra_metric(cfg.metric, &inspector)?;
    // Standard output carries the JSON alone: the command's goes to standard error.
    let json_on_stdout = cfg.format == Format::Json && cfg.output.is_none();
    let start_time = Timestamp::now();
    let start = Instant::now();
    let root = sys::spawn_job(&cfg.command, json_on_stdout, &pipe)?;
    unix::raise_nofile_limit();

    let job = job(&cfg, inspector, self_pid, root, extra);
    let ctx = Context {
        command: cfg
            .command
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect(),
        host,
        launcher: identity,
        start_time,
        interval: cfg.interval,
        max_rss: cfg.max_rss.clone(),
        metric: cfg.metric,
    };
    let Prepared {
        report: pending,
        plot,
        csv,
        timeline,
    } = prepared;
    let mut sampler = Sampler::new(&cfg, &pipe, job, root, start);
    sampler.timeline = timeline;
    sampler.status = cfg.status.then(StatusLine::default);
    sampler.interim = pending.as_ref().map(|file| Interim {
        file,
        format: cfg.format,
        ctx: &ctx,
    });
    let outcome = sampler.run();
    let (report, failure) = finish(sampler, &ctx);
    let job_desc = report
        .exit()
        .map(|e| format!("the command {}", e.describe()));
    let extras = outputs::write_extras(csv, plot, &report, job_desc.as_ref());
    let emitted = outputs::emit(&cfg, pending, &report, job_desc.clone());
    // The report of what was measured is written first; then memwatch's failures count.
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
    Ok(outcome_of(&report))
}

/// What memwatch exits with once the report is out: the command's status (128+N for a
/// signal or an interruption), except that a command that succeeded fails a `--max-rss`
/// check that did not pass with 3.
fn outcome_of(report: &crate::model::Report) -> Outcome {
    let status = report
        .exit_status()
        .unwrap_or(i32::from(Status::Failure.code()));
    let gate_failed = report.max_rss_check.as_ref().is_some_and(|c| !c.passed);
    if status == 0 && gate_failed {
        Outcome::Status(Status::MaxRssExceeded)
    } else {
        Outcome::Job(status)
    }
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
    let stats = s.job.finish();
    let report = ctx.report(&stats, duration, &standing, left_running);
    // Every process memwatch will wait for has been reaped.
    let report = report::with_usage(report, unix::children_usage());
    (ctx.with_check(report, false), failure)
}
