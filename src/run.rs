//! `memwatch run`: spawn the command, sample the job until it ends, write the report.
//!
//! The only place that touches the job as a whole: it spawns the command (never through a
//! shell), becomes the child subreaper, forwards and escalates signals, reaps children (in
//! [`crate::sys::unix::reap_one`] and, once the job looks over,
//! [`crate::sys::unix::reap_remaining`], nowhere else), and sleeps on absolute deadlines,
//! woken at once by SIGCHLD or a signal through the self-pipe.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::cli::{RunArgs, WaitMode};
use crate::error::Error;
use crate::job::Job;
use crate::output::csv::{self, TimelineStream};
use crate::output::status::{Figures, StatusLine};
use crate::output::{file::PendingFile, human, json};
use crate::report::{Exit, Report, RunInfo};
use crate::sys::unix::{self, Received, SignalPipe};
use crate::sys::{self, Inspector, NativeInspector, Pid};

/// A complete search for processes (children walk) at least this often, on top of the
/// cheap per-sample birth check: the safety net for anything the birth check missed.
const SAFETY_NET: Duration = Duration::from_secs(1);

/// Checked settings of one run.
pub struct RunConfig {
    /// Sampling interval.
    pub interval: Duration,
    /// Report as JSON.
    pub json: bool,
    /// Report file.
    pub output: Option<PathBuf>,
    /// The metric measured besides RSS.
    pub extra: Option<sys::Extra>,
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
    /// The command and its arguments, untouched.
    pub command: Vec<OsString>,
}

impl RunConfig {
    /// From the parsed command line.
    pub fn from_args(a: RunArgs) -> RunConfig {
        let json = a.json
            || a.output.as_ref().is_some_and(|p| {
                p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            });
        RunConfig {
            interval: Duration::from_millis(a.interval),
            json,
            output: a.output,
            extra: match a.metric {
                crate::cli::MetricArg::Rss => None,
                crate::cli::MetricArg::Pss => Some(sys::Extra::Pss),
                crate::cli::MetricArg::Footprint => Some(sys::Extra::Footprint),
            },
            timeline: a.timeline,
            csv: a.csv,
            plot: a.plot,
            quiet: a.quiet,
            status: !a.quiet
                && !a.no_status
                && crate::sys::term::stderr_is_terminal()
                && !crate::output::status::plain_requested(|k| std::env::var(k).ok()),
            wait: a.wait,
            command: a.command,
        }
    }
}

/// Run the job; returns memwatch's exit status (the command's, or 128+N).
pub fn run(mut cfg: RunConfig) -> Result<i32, Error> {
    let host = hostname();
    let identity = crate::launcher::identity_from_env();
    for path in [
        &mut cfg.output,
        &mut cfg.timeline,
        &mut cfg.csv,
        &mut cfg.plot,
    ]
    .into_iter()
    .flatten()
    {
        *path = crate::launcher::expand_path(path, &host, &identity, std::process::id())
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    }
    let pending = match &cfg.output {
        Some(path) => Some(PendingFile::create(path).map_err(|source| Error::Output {
            what: "report",
            target: path.display().to_string(),
            source,
            job: None,
        })?),
        None => None,
    };
    let plot = match &cfg.plot {
        Some(path) => Some(PendingFile::create(path).map_err(|source| Error::Output {
            what: "plot",
            target: path.display().to_string(),
            source,
            job: None,
        })?),
        None => None,
    };
    let csv = match &cfg.csv {
        Some(dir) => Some(CsvFiles::create(dir)?),
        None => None,
    };
    let timeline = match &cfg.timeline {
        Some(path) => Some(open_timeline(path)?),
        None => None,
    };
    let pipe = SignalPipe::install().map_err(|source| Error::Setup {
        what: "install signal handlers",
        source,
    })?;
    sys::prepare_parent().map_err(|source| Error::Setup {
        what: "become the child subreaper",
        source,
    })?;
    let self_pid = std::process::id() as Pid;
    let inspector = NativeInspector::new(self_pid)?;
    if let Some(extra) = cfg.extra {
        if !inspector.supports(extra) {
            return Err(Error::Usage(match extra {
                sys::Extra::Pss => "--metric pss needs Linux's /proc/<pid>/smaps_rollup (kernel 4.14 or later); on macOS use --metric footprint".to_string(),
                sys::Extra::Footprint => "--metric footprint is macOS's physical footprint; on Linux use --metric pss".to_string(),
            }));
        }
    }

    // Standard output carries the JSON alone: the command's goes to standard error.
    let json_on_stdout = cfg.json && cfg.output.is_none();
    let command = |program: &std::ffi::OsStr, args: &[OsString]| -> Result<Command, Error> {
        let mut c = Command::new(program);
        c.args(args);
        if json_on_stdout {
            use std::os::fd::AsFd;
            let fd = io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|source| Error::Setup {
                    what: "duplicate standard error",
                    source,
                })?;
            c.stdout(Stdio::from(fd));
        }
        Ok(c)
    };
    let start_time = Timestamp::now();
    let start = Instant::now();
    let spawned = match command(&cfg.command[0], &cfg.command[1..])?.spawn() {
        // An executable text file without `#!`: run it with /bin/sh, as execvp(3) and the
        // shells do (its own arguments untouched; nothing is interpolated). A binary file
        // the kernel cannot run stays an error (126), as in bash.
        Err(e) if unix::is_not_executable_format(&e) => {
            match unix::find_program(&cfg.command[0]).filter(|p| unix::looks_like_text(p)) {
                Some(script) => {
                    let mut args = vec![script.into_os_string()];
                    args.extend_from_slice(&cfg.command[1..]);
                    command(std::ffi::OsStr::new("/bin/sh"), &args)?.spawn()
                }
                None => Err(e),
            }
        }
        other => other,
    };
    let child = spawned.map_err(|source| Error::Spawn {
        program: cfg.command[0].to_string_lossy().into_owned(),
        source,
    })?;
    let root = child.id() as Pid;
    // memwatch reaps in one place (unix::reap_one); the Child handle is never waited on.
    drop(child);
    unix::raise_nofile_limit();

    let mut job = Job::new(inspector, self_pid, root, 64);
    job.set_root_command(
        &sys::join_args(cfg.command.iter().map(|a| a.as_encoded_bytes())),
        &cfg.command[0].to_string_lossy(),
    );
    if let Some(extra) = cfg.extra {
        job.measure_extra(extra);
    }
    let ctx = RunContext {
        command: cfg
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        host,
        launcher: identity,
        start_time,
        interval: cfg.interval,
    };
    let mut state = LoopState::default();
    let mut live = LiveOutputs {
        timeline,
        status: cfg.status.then(StatusLine::default),
        interim: pending.as_ref().map(|file| Interim {
            file,
            json: cfg.json,
            ctx: &ctx,
        }),
    };
    if live.status.is_some() {
        // Ctrl+Z puts the terminal back in order before memwatch stops; `fg` redraws.
        for sig in [
            nix::sys::signal::Signal::SIGTSTP,
            nix::sys::signal::Signal::SIGCONT,
        ] {
            pipe.also_handle(sig).map_err(|source| Error::Setup {
                what: "install signal handlers",
                source,
            })?;
        }
    }
    let outcome = sample_loop(&cfg, &pipe, &mut job, root, start, &mut state, &mut live);
    if let Some(line) = &mut live.status {
        if line.shown() {
            let _ = io::stderr().write_all(line.clear());
        }
    }
    let mut timeline_failure = state.timeline_failure.take();
    if let Some((stream, path)) = live.timeline.take() {
        if let Err(source) = stream.finish() {
            state
                .warnings
                .push(timeline_warning(&path, start.elapsed(), &source));
            timeline_failure = Some((path, source));
        }
    }
    let duration = start.elapsed();
    let left_running = if cfg.wait == WaitMode::Root {
        job.live_pids().to_vec()
    } else {
        Vec::new()
    };
    let stats = job.finish();
    let report = ctx.report(&stats, duration, &state, left_running);
    let status = report.exit_status().unwrap_or(crate::error::EXIT_FAILURE);
    let job_desc = state.exit.map(|e| format!("the command {}", e.describe()));

    let csv_result = match csv {
        Some(files) => files.commit(&report, job_desc.clone()),
        None => Ok(()),
    };
    let plot_result = match plot {
        Some(file) => {
            let target = file.target().display().to_string();
            let label = report.command.join(" ");
            file.commit(|w| crate::plot::write_svg(&[(label, &report)], w))
                .map_err(|source| Error::Output {
                    what: "plot",
                    target,
                    source,
                    job: job_desc.clone(),
                })
        }
        None => Ok(()),
    };
    if let Err(e) = outcome {
        // The report of what was measured is still written; then memwatch's failure counts.
        let _ = emit(&cfg, pending, &report, job_desc.clone());
        return Err(e);
    }
    let emitted = emit(&cfg, pending, &report, job_desc.clone());
    emitted?;
    csv_result?;
    plot_result?;
    if let Some((path, source)) = timeline_failure {
        return Err(Error::Output {
            what: "timeline",
            target: path.display().to_string(),
            source,
            job: job_desc,
        });
    }
    Ok(status)
}

/// What every report of this run shares: what ran, where and when.
struct RunContext {
    command: Vec<String>,
    host: String,
    launcher: std::collections::BTreeMap<String, String>,
    start_time: Timestamp,
    interval: Duration,
}

impl RunContext {
    /// The report of the job as it stands (`stats`), `duration` after its start.
    fn report(
        &self,
        stats: &crate::job::JobStats,
        duration: Duration,
        st: &LoopState,
        left_running: Vec<i32>,
    ) -> Report {
        let info = RunInfo {
            command: self.command.clone(),
            start_time: self.start_time,
            duration,
            interval: self.interval,
            exit: st.exit,
            interrupt_signal: st.interrupt,
            left_running,
        };
        let mut report = Report::new(stats, info);
        report.hostname = self.host.clone();
        report.launcher = self.launcher.clone();
        report.warnings.extend(st.warnings.iter().cloned());
        report
    }
}

/// The report file rewritten while an interrupted job goes on.
struct Interim<'a> {
    file: &'a PendingFile,
    json: bool,
    ctx: &'a RunContext,
}

/// How often an interim report is rewritten while an interrupted job goes on.
const INTERIM_EVERY: Duration = Duration::from_secs(1);

/// What the loop writes while the job runs.
struct LiveOutputs<'a> {
    /// The `--timeline` stream and its path.
    timeline: Option<(TimelineStream<std::fs::File>, PathBuf)>,
    /// The status line, when shown.
    status: Option<StatusLine>,
    /// The report file, for interim reports once memwatch is interrupted.
    interim: Option<Interim<'a>>,
}

#[derive(Default)]
struct LoopState {
    exit: Option<Exit>,
    /// The first job signal memwatch received.
    interrupt: Option<i32>,
    escalated: bool,
    /// Warnings about the run itself (a timeline stream that stopped), for the report.
    warnings: Vec<String>,
    /// The `--timeline` file that could not be written, and why.
    timeline_failure: Option<(PathBuf, io::Error)>,
    /// When to write the interim report next (set at the first job signal).
    interim_next: Option<Instant>,
}

/// The warning a report carries when its `--timeline` stream stopped.
fn timeline_warning(path: &std::path::Path, at: Duration, e: &io::Error) -> String {
    format!(
        "the --timeline stream to {} stopped {} into the job ({}): the file holds whole rows up \
         to then; the report's own timeline covers the whole run",
        path.display(),
        human::duration(at),
        crate::error::os_message(e)
    )
}

fn sample_loop(
    cfg: &RunConfig,
    pipe: &SignalPipe,
    job: &mut Job<NativeInspector>,
    root: Pid,
    start: Instant,
    st: &mut LoopState,
    live: &mut LiveOutputs<'_>,
) -> Result<(), Error> {
    let mut events = [Received {
        signal: 0,
        from_process: false,
    }; 32];
    let mut next = start;
    let mut last_full: Option<Instant> = None;
    let mut announced = false;
    loop {
        let now = Instant::now();
        // Past the deadline (a slow sample), look at the pipe anyway; else sleep on it.
        let signalled = if now < next {
            pipe.wait(next - now).map_err(|source| Error::Setup {
                what: "wait for the job",
                source,
            })?
        } else {
            true
        };
        let n = if signalled {
            pipe.drain(&mut events)
        } else {
            0
        };
        let mut child_exited = false;
        for ev in &events[..n] {
            match ev.signal {
                libc::SIGCHLD => child_exited = true,
                libc::SIGTSTP => suspend(live)?,
                libc::SIGCONT => resumed(live),
                _ => {
                    let first = st.interrupt.is_none();
                    handle_signal(job, root, st, *ev);
                    if first {
                        // Whatever ends memwatch next (a second signal, Slurm's SIGKILL),
                        // what was measured is on disk: the report now, and again while
                        // the job goes on.
                        st.interim_next = Some(Instant::now());
                        if let Some((stream, path)) = live.timeline.as_mut() {
                            if let Err(e) = stream.flush() {
                                timeline_failed(st, path.clone(), start, e);
                                live.timeline = None;
                            }
                        }
                    }
                }
            }
        }
        let now = Instant::now();
        let safety_due = last_full.is_none_or(|t| now - t >= SAFETY_NET);
        let mut root_exited_now = false;
        let mut reaped_any = false;
        // wait4 only when SIGCHLD said a child exited (and with the safety net, in case a
        // signal was lost to a full pipe): no system call for it in the steady state.
        let reap = child_exited || safety_due;
        while let Some(r) = reap.then(unix::reap_one).flatten() {
            if r.pid == root {
                st.exit = Some(match r.exit {
                    unix::Exit::Code(c) => Exit::Code(c),
                    unix::Exit::Signal(s) => Exit::Signal(s),
                });
                root_exited_now = true;
            }
            job.reaped(r.pid, r.max_rss_kib);
            job.reaped_footprint(r.pid, r.max_footprint_kib);
            reaped_any = true;
        }
        let now = Instant::now();
        // Sample at each deadline, and at once when a child exited after the command did
        // (that may have been the job's last process) or when the command exits.
        // And for the interim report, so it holds what the job uses now.
        let interim_due = live.interim.is_some() && st.interim_next.is_some_and(|at| now >= at);
        let due =
            now >= next || root_exited_now || (st.exit.is_some() && reaped_any) || interim_due;
        if !due {
            continue;
        }
        let full = st.exit.is_some() || safety_due;
        if full {
            last_full = Some(now);
        }
        let t = now - start;
        let s = job.sample(t, full)?;
        if let Some((stream, path)) = live.timeline.as_mut().filter(|_| s.has_total()) {
            if let Err(e) = stream.push(t, s.total_rss_kib, s.processes) {
                // The job goes on; the report will still have the bounded timeline.
                timeline_failed(st, path.clone(), start, e);
                live.timeline = None;
            }
        }
        if let Some(line) = &mut live.status {
            if line.due(t) && !crate::sys::term::stderr_in_foreground() {
                // Started with `&`, or put in the background: the terminal is the shell's.
                if line.shown() {
                    let _ = io::stderr().write_all(line.clear());
                }
                line.defer(t);
            } else if line.due(t) {
                if let Some((rows, cols)) = crate::sys::term::stderr_size() {
                    let figures = Figures {
                        elapsed: t,
                        now_kib: s.total_rss_kib,
                        peak_kib: job.max_total_rss_kib(),
                        processes: s.processes,
                    };
                    let _ = io::stderr().write_all(line.draw(&figures, rows, cols));
                }
            }
        }
        warn_denied(job);
        if let Some(interim) = live.interim.as_ref().filter(|_| interim_due) {
            st.interim_next = write_interim(interim, job, st, start);
        }
        // Next deadline on the fixed grid start + k * interval (no drift); skip the ones
        // already missed.
        let elapsed = now - start;
        let k = elapsed.as_nanos() / cfg.interval.as_nanos() + 1;
        next = start + cfg.interval * u32::try_from(k).unwrap_or(u32::MAX);

        if st.exit.is_some() {
            if job.live_pids().is_empty() {
                unix::reap_remaining(Duration::from_millis(500), |r| {
                    job.reaped(r.pid, r.max_rss_kib);
                    job.reaped_footprint(r.pid, r.max_footprint_kib);
                });
            }
            let live = job.live_pids();
            if live.is_empty() || cfg.wait == WaitMode::Root {
                if !live.is_empty() {
                    eprintln!(
                        "memwatch: the command exited; {} process(es) of the job are still running and were not waited for (--wait root): pids {}",
                        live.len(),
                        human::pid_list(live)
                    );
                }
                return Ok(());
            }
            if !announced {
                announced = true;
                eprintln!(
                    "memwatch: the command exited; waiting for {} remaining process(es) of the job (pids {}); use --wait root to stop at the command's exit",
                    live.len(),
                    human::pid_list(live)
                );
            }
        }
    }
}

/// The `--timeline` stream failed: say so now, and in the report, and remember it for the
/// exit status.
fn timeline_failed(st: &mut LoopState, path: PathBuf, start: Instant, e: io::Error) {
    eprintln!(
        "memwatch: cannot write the timeline to {}: {}; no longer streaming it",
        path.display(),
        crate::error::os_message(&e)
    );
    st.warnings
        .push(timeline_warning(&path, start.elapsed(), &e));
    st.timeline_failure = Some((path, e));
}

/// Ctrl+Z (SIGTSTP): give the terminal back its whole height and stop, as the job (in the
/// terminal's foreground group with memwatch) already did.
fn suspend(live: &mut LiveOutputs<'_>) -> Result<(), Error> {
    if let Some(line) = &mut live.status {
        if line.shown() {
            let _ = io::stderr().write_all(line.clear());
        }
    }
    unix::suspend_self().map_err(|source| Error::Setup {
        what: "stop on SIGTSTP",
        source,
    })
}

/// Continued (`fg`, `bg`, SIGCONT): whatever the shell did to the terminal meanwhile, the
/// status line is set up afresh at its next update (only in the foreground).
fn resumed(live: &mut LiveOutputs<'_>) {
    if let Some(line) = &mut live.status {
        if line.shown() && crate::sys::term::stderr_in_foreground() {
            let _ = io::stderr().write_all(line.clear());
        }
    }
}

/// Write the interim report (the job still running, memwatch interrupted); returns when to
/// write it next, or `None` when it cannot be rewritten.
fn write_interim(
    interim: &Interim<'_>,
    job: &Job<NativeInspector>,
    st: &LoopState,
    start: Instant,
) -> Option<Instant> {
    let elapsed = start.elapsed();
    let mut report = interim
        .ctx
        .report(&job.stats(), elapsed, st, job.live_pids().to_vec());
    let signal = st.interrupt.map_or_else(String::new, |s| {
        crate::report::signal_name(s).map_or_else(|| format!(" signal {s}"), |n| format!(" {n}"))
    });
    report.warnings.push(format!(
        "interim report: written {} into the job, after memwatch received{signal}, while the job \
         was still running; it is rewritten every second, and replaced by the final report when \
         the job ends",
        human::duration(elapsed)
    ));
    let written = interim.file.write_interim(|w| {
        if interim.json {
            json::write(&report, w)
        } else {
            human::write(&report, w)
        }
    });
    match written {
        Ok(true) => Some(Instant::now() + INTERIM_EVERY),
        // A device, a FIFO or a descriptor gets the report once, at the end.
        Ok(false) => None,
        Err(e) => {
            eprintln!(
                "memwatch: cannot write the interim report to {}: {}",
                interim.file.target().display(),
                crate::error::os_message(&e)
            );
            None
        }
    }
}

/// SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to memwatch: the first is passed on to the job, the
/// second kills it. A terminal's Ctrl+C already reached the terminal's foreground group
/// (memwatch and, unless they moved, the job's processes), so it is passed on only to the
/// job processes outside that group: a daemon in a session of its own, a process group a
/// job's shell made.
fn handle_signal(job: &mut Job<NativeInspector>, root: Pid, st: &mut LoopState, ev: Received) {
    if st.interrupt.is_none() {
        st.interrupt = Some(ev.signal);
        if ev.from_process {
            if st.exit.is_none() {
                unix::kill(root, ev.signal);
            }
            job.signal_all(ev.signal);
        } else {
            let own = unix::own_process_group();
            job.signal_where(ev.signal, |pid| {
                unix::process_group(pid).is_some_and(|g| g != own)
            });
        }
    } else if !st.escalated {
        st.escalated = true;
        eprintln!("memwatch: second signal: killing the job (SIGKILL)");
        if st.exit.is_none() {
            unix::kill(root, libc::SIGKILL);
        }
        job.signal_all(libc::SIGKILL);
    } else {
        job.signal_all(libc::SIGKILL);
    }
}

fn warn_denied(job: &mut Job<NativeInspector>) {
    let denied = job.take_newly_denied();
    if let Some(first) = denied.first() {
        eprintln!(
            "memwatch: cannot read the memory of {} process(es) (first: pid {}): permission denied; reported as unknown, not counted in totals",
            denied.len(),
            first.pid
        );
    }
}

/// Write the report where it goes: the file (JSON or human), or JSON on stdout; then the
/// human summary on stderr unless it went to the file or --quiet. A report that cannot be
/// written where asked is never lost: its summary goes to stderr and its JSON to a file in
/// the temporary directory, which the error names.
fn emit(
    cfg: &RunConfig,
    pending: Option<PendingFile>,
    report: &Report,
    job: Option<String>,
) -> Result<(), Error> {
    let mut target = String::new();
    let written = match pending {
        Some(file) => {
            target = file.target().display().to_string();
            file.commit(|w| {
                if cfg.json {
                    json::write(report, w)
                } else {
                    human::write(report, w)
                }
            })
        }
        None if cfg.json => {
            target = "standard output".to_string();
            if unix::stdout_closed_at_start() {
                Err(io::Error::from_raw_os_error(libc::EBADF))
            } else {
                let mut out = io::stdout().lock();
                json::write(report, &mut out).and_then(|()| out.flush())
            }
        }
        None => Ok(()),
    };
    let failed = written.err().map(|source| Error::Output {
        what: "report",
        target: target.clone(),
        source,
        job,
    });
    let saved = failed
        .as_ref()
        .map(|_| crate::output::file::save_fallback("json", |w| json::write(report, w)));
    let full = match (&saved, cfg.json) {
        (Some(Ok(path)), _) => Some(path.display().to_string()),
        (None, true) if cfg.output.is_some() => Some(target.clone()),
        _ => None,
    };
    let full = match (&full, cfg.json && cfg.output.is_none() && saved.is_none()) {
        (Some(path), _) => human::FullList::File(path),
        (None, true) => human::FullList::Stdout,
        (None, false) => human::FullList::NotWritten,
    };
    let human_to_stderr = failed.is_some() || (!cfg.quiet && (cfg.output.is_none() || cfg.json));
    if human_to_stderr {
        let mut err = io::stderr().lock();
        let _ = human::write_with(report, &mut err, full);
    } else {
        for w in &report.warnings {
            eprintln!("memwatch: warning: {w}");
        }
    }
    match (failed, saved) {
        (Some(failed), Some(saved)) => Err(Error::Rescued {
            failed: Box::new(failed),
            saved,
        }),
        _ => Ok(()),
    }
}

/// The `--timeline` file, created (truncated) before the command starts.
fn open_timeline(
    path: &std::path::Path,
) -> Result<(TimelineStream<std::fs::File>, PathBuf), Error> {
    std::fs::File::create(path)
        .and_then(TimelineStream::new)
        .map(|s| (s, path.to_path_buf()))
        .map_err(|source| Error::Output {
            what: "timeline",
            target: path.display().to_string(),
            source,
            job: None,
        })
}

/// The `--csv` directory's two files, prepared before the command starts.
struct CsvFiles {
    peaks: PendingFile,
    timeline: PendingFile,
}

impl CsvFiles {
    fn create(dir: &std::path::Path) -> Result<CsvFiles, Error> {
        let fail = |target: PathBuf, source| Error::Output {
            what: "CSV file",
            target: target.display().to_string(),
            source,
            job: None,
        };
        if dir.exists() && !dir.is_dir() {
            // create_dir_all would say "File exists", which reads as no error at all.
            return Err(fail(
                dir.to_path_buf(),
                io::Error::new(io::ErrorKind::NotADirectory, "Not a directory"),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| fail(dir.to_path_buf(), e))?;
        let peaks_path = dir.join("process_peaks.csv");
        let timeline_path = dir.join("timeline.csv");
        Ok(CsvFiles {
            peaks: PendingFile::create(&peaks_path).map_err(|e| fail(peaks_path, e))?,
            timeline: PendingFile::create(&timeline_path).map_err(|e| fail(timeline_path, e))?,
        })
    }

    fn commit(self, report: &Report, job: Option<String>) -> Result<(), Error> {
        type Render = fn(&Report, &mut dyn Write) -> io::Result<()>;
        let files: [(PendingFile, Render); 2] = [
            (self.peaks, csv::write_peaks),
            (self.timeline, csv::write_timeline),
        ];
        for (file, render) in files {
            let target = file.target().display().to_string();
            file.commit(|w| render(report, w))
                .map_err(|source| Error::Output {
                    what: "CSV file",
                    target,
                    source,
                    job: job.clone(),
                })?;
        }
        Ok(())
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}
