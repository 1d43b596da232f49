//! `memwatch attach PID`: the job is a process that is already running and every process
//! it starts from now on, measured until it exits or memwatch is signalled.
//!
//! The same loop, outputs and report as `run` ([`super::sampler`], [`super::outputs`],
//! [`super::report`]), with what differs for a process memwatch did not start: it is
//! checked before anything is written (it exists, memwatch may read it, it is not memwatch
//! or one of its ancestors); memwatch is not the subreaper and reaps nothing; a signal
//! stops memwatch alone (the job is never signalled); the report says it was attached,
//! with the process's real start time, and how it ended is unknown.

use std::time::Instant;

use jiff::Timestamp;

use super::outputs::Prepared;
use super::report::Context;
use super::sampler::Sampler;
use super::{Config, extra_metric, finish, placeholders};
use crate::error::{Error, Outcome};
use crate::job::Job;
use crate::model::launcher;
use crate::output::status::StatusLine;
use crate::sys::{self, Access, Inspector, NativeInspector, Pid, Refusal, Seen, unix};

/// Attach to `pid` and measure its tree; 0 once it exited or memwatch was stopped by a
/// signal (the normal way to stop watching a service), with the report written either
/// way; 3 when its peak failed `--max-rss`.
pub(crate) fn attach(pid: Pid, mut cfg: Config) -> Result<Outcome, Error> {
    let host = unix::hostname();
    let identity = launcher::identity_from_env();
    placeholders::expand_all(&mut cfg, &host, &identity)?;
    let self_pid = unix::own_pid();
    let root = target(pid, self_pid)?;
    let mut inspector = NativeInspector::new(self_pid)?;
    let extra = extra_metric(cfg.metric, &inspector)?;
    inspector.attach(pid);
    let mut job = Job::new(inspector, self_pid, pid, 64);
    if let Some(extra) = extra {
        job.measure_extra(extra);
    }
    let command = sys::arguments(pid);
    let start_time = Timestamp::now();
    let start = Instant::now();
    match job.attach(root) {
        Some(Access::Readable) => {}
        Some(Access::Denied) => return Err(refused(pid, &Refusal::Hidden)),
        None => return Err(refused(pid, &Refusal::Exited)),
    }
    // Only now, with the process known and readable, is anything written.
    let prepared = Prepared::create(&cfg)?;
    let pipe = sys::signal_pipe().map_err(|source| Error::Setup {
        what: "install signal handlers",
        source,
    })?;
    if cfg.status {
        pipe.handle_stops().map_err(|source| Error::Setup {
            what: "install signal handlers",
            source,
        })?;
    }
    unix::raise_nofile_limit();
    let ctx = Context {
        command: command.unwrap_or_default(),
        host,
        launcher: identity,
        start_time,
        interval: cfg.interval,
        max_rss: cfg.max_rss.clone(),
        metric: cfg.metric,
        limits: machine_limit(),
    };
    let Prepared {
        report: pending,
        plot,
        csv,
        timeline,
    } = prepared;
    let mut sampler = Sampler::new(&cfg, &pipe, job, pid, start);
    sampler.attached = true;
    sampler.timeline = timeline;
    sampler.status = cfg.status.then(StatusLine::default);
    let outcome = sampler.run();
    let (mut report, failure) = finish(sampler, &ctx);
    report.attached = true;
    let root_report = report.processes.iter().find(|p| p.root);
    report.attached_process_start_time = root_report.and_then(|p| p.start_time);
    if report.command.is_empty() {
        // Its arguments could not be read: its command line as the job read it.
        report.command = root_report
            .map(|p| vec![p.command.clone()])
            .unwrap_or_default();
    }
    super::write_outputs(&cfg, pending, plot, csv, &report, outcome, failure)
}

/// The process to attach to, or why not: it must exist, be a process memwatch may see, and
/// be neither memwatch nor one of its ancestors (which wait for memwatch: the job would
/// never end, and its total would count memwatch).
fn target(pid: Pid, self_pid: Pid) -> Result<Seen, Error> {
    let root = sys::process(pid).map_err(|why| refused(pid, &why))?;
    let mut at = self_pid;
    // The chain up to init; bounded in case it loops while processes come and go.
    for _ in 0..4096 {
        if at == pid {
            return Err(Error::usage(if pid == self_pid {
                format!("cannot attach to pid {pid}: it is memwatch itself")
            } else {
                format!(
                    "cannot attach to pid {pid}: it is an ancestor of memwatch (its job would include memwatch)"
                )
            }));
        }
        match sys::process(at) {
            Ok(s) if at > 1 && s.ppid > 0 => at = s.ppid,
            _ => break,
        }
    }
    Ok(root)
}

/// The one-line error for a process memwatch cannot attach to (exit 125).
fn refused(pid: Pid, why: &Refusal) -> Error {
    let reason = match why {
        Refusal::Absent => "no such process".to_string(),
        Refusal::Hidden => "it belongs to another user and memwatch may not read its memory \
                            (run memwatch as that user, or as root)"
            .to_string(),
        Refusal::Exited => "it has already exited".to_string(),
        Refusal::Thread => "it is a thread, not a process: attach to its process".to_string(),
        Refusal::KernelThread => {
            "it is a kernel thread, which has no memory of its own".to_string()
        }
    };
    Error::usage(format!("cannot attach to pid {pid}: {reason}"))
}

/// The limit in force for an attached job: the machine's memory. Its cgroup, resource
/// limits and Slurm allocation are the process's own, not memwatch's, and are not read.
fn machine_limit() -> crate::model::limit::Limits {
    use crate::model::limit::{LimitSource, Limits};
    let (found, mut notes) = sys::machine_limits();
    notes.push(
        "attached: the process's own memory cgroup, resource limits and Slurm allocation were not read"
            .to_string(),
    );
    Limits::from_candidates(
        found
            .into_iter()
            .filter(|l| l.source == LimitSource::Physical)
            .collect(),
        notes,
    )
}
