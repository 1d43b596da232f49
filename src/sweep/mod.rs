//! `memwatch sweep`: one command for a scaling experiment. For each value of a parameter,
//! `{NAME}` in the command is replaced by the value and the job is run `-r` times, each run
//! by the `run` layer with the same sampler, signals and report as `memwatch run`; one
//! report per run is kept in the sweep's directory. Then each value's statistics, a line
//! fitted through the medians, forecasts, and `sweep.json` (with its own version).
//!
//! - [`values`]: the parameter, its values and ranges, `{NAME}`, the report files' names.
//! - [`fit`]: the least-squares line, forecasts and their warnings (pure).
//! - `build`: from the runs to the points and conclusions (pure); `render`: the text.
//!
//! One memwatch runs every job: the signal handlers and the subreaper are set up once
//! ([`crate::run::Session`]). The first job signal (Ctrl+C) is passed on to the running
//! job as in `run`, whose report says it was interrupted; the sweep then stops and still
//! writes its table and `sweep.json` for what was measured, and exits 128+N.

mod build;
pub(crate) mod fit;
mod render;
pub(crate) mod values;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use crate::error::{Error, Outcome, Status};
use crate::model::sweep::{self as model, Param, SWEEP_VERSION, Sweep};
use crate::model::{Metric, launcher};
use crate::output::{Format, units};
use crate::run::{self, Session, WaitMode};
use crate::sys::unix::{self, file::PendingFile};
use build::Measured;

/// A checked `memwatch sweep` command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The parameter's name (`{NAME}` in the command).
    pub parameter: String,
    /// Its values, in order, no two the same.
    pub values: Vec<Param>,
    /// Runs per value, at least 1.
    pub runs: u32,
    /// Sampling interval.
    pub interval: Duration,
    /// What each run measures besides RSS.
    pub metric: Metric,
    /// The directory for the reports (new or empty); `None`: a new one named after the
    /// parameter and the time.
    pub output: Option<PathBuf>,
    /// Also write `sweep.json` on standard output (the commands' go to standard error).
    pub json: bool,
    /// Values to forecast at (numbers).
    pub predict: Vec<f64>,
    /// No progress lines and no table on standard error (warnings still).
    pub quiet: bool,
    /// The command, `{NAME}` in it.
    pub command: Vec<OsString>,
}

/// The sweep as it goes.
struct Sweeping<'a> {
    cfg: &'a Config,
    dir: PathBuf,
    stems: Vec<String>,
    host: String,
    start_time: Timestamp,
    runs: Vec<Measured>,
}

/// Run `memwatch sweep`.
pub(crate) fn run(cfg: &Config) -> Result<Outcome, Error> {
    // What fails before the first run says that the command was not run.
    run::check_metric(cfg.metric).map_err(Error::not_run)?;
    let dir = directory(cfg).map_err(Error::not_run)?;
    let path = dir.join("sweep.json");
    let file = PendingFile::create(&path).map_err(|e| unwritten(&path, e).not_run())?;
    let host = unix::hostname();
    let session = Session::open(host.clone(), launcher::identity_from_env(), false)
        .map_err(Error::not_run)?;
    if !cfg.quiet {
        eprintln!(
            "memwatch: sweep of {} over {}, {} each; reports in {}/",
            cfg.parameter,
            units::plural(cfg.values.len() as u64, "value", "values"),
            units::plural(u64::from(cfg.runs), "run", "runs"),
            dir.display()
        );
    }
    let mut s = Sweeping {
        cfg,
        stems: values::file_stems(&cfg.parameter, &cfg.values),
        dir,
        host,
        start_time: Timestamp::now(),
        runs: Vec::new(),
    };
    let failed = s.go(&session, &file).err();
    let code = match &failed {
        Some(e) => i32::from(e.status().code()),
        None => exit_code(session.interrupted(), &s.runs),
    };
    let result = s.result(session.interrupted(), code, failed.is_none());
    let written = file
        .commit(|w| model::write(&result, w))
        .map_err(|e| unwritten(&path, e));
    show(cfg, &result)?;
    match (failed, written) {
        (Some(e), Err(also)) => {
            // Both are said; the first failure decides the status.
            eprintln!("memwatch: {also}");
            Err(e)
        }
        (Some(e), Ok(())) => Err(e),
        (None, written) => written.map(|()| Outcome::Job(code)),
    }
}

/// The sweep's result could not be written to `target`.
fn unwritten(target: &Path, source: io::Error) -> Error {
    Error::Output {
        what: "the sweep's result",
        target: target.display().to_string(),
        source,
        job: None,
    }
}

/// The table on standard error (unless `--quiet`: then the warnings alone), and with
/// `--json` the result on standard output.
fn show(cfg: &Config, result: &Sweep) -> Result<(), Error> {
    if cfg.quiet {
        for w in &result.warnings {
            eprintln!("memwatch: warning: {w}");
        }
    } else {
        eprint!("\n{}", render::human(result));
    }
    if cfg.json {
        let mut text = Vec::new();
        model::write(result, &mut text).map_err(|e| unwritten(Path::new("standard output"), e))?;
        unix::file::print("the sweep's result", &text)?;
    }
    Ok(())
}

/// What the sweep exits with: 128+N when interrupted by signal N, else the first failed
/// run's status, else 0.
fn exit_code(interrupt: Option<i32>, runs: &[Measured]) -> i32 {
    if let Some(s) = interrupt {
        return 128 + s;
    }
    runs.iter()
        .find(|m| m.run.failed)
        .map_or(0, |m| match (m.run.exit_code, m.run.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            _ => i32::from(Status::Failure.code()),
        })
}

/// The reports' directory, created before anything runs: `-o DIR` (new or empty), else a
/// new `sweep-NAME-<UTC time>` here.
fn directory(cfg: &Config) -> Result<PathBuf, Error> {
    let fail = |dir: &Path, source: io::Error| Error::Output {
        what: "the sweep's reports",
        target: dir.display().to_string(),
        source,
        job: None,
    };
    if let Some(dir) = &cfg.output {
        return match std::fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
            Ok(false) => Err(Error::usage(format!(
                "{}: the directory is not empty; give a new or empty directory for the sweep's reports",
                dir.display()
            ))),
            Ok(true) => Ok(dir.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
                .map(|()| dir.clone())
                .map_err(|e| fail(dir, e)),
            Err(e) => Err(fail(dir, e)),
        };
    }
    // 2026-11-22T22:48:19.542Z → 20261122T224819Z
    let now = Timestamp::now().to_string();
    let stamp: String = now
        .chars()
        .take_while(|&c| c != '.' && c != 'Z')
        .filter(|&c| c != '-' && c != ':')
        .collect();
    let base = format!("sweep-{}-{stamp}Z", cfg.parameter);
    for k in 1..100 {
        let dir = PathBuf::from(if k == 1 {
            base.clone()
        } else {
            format!("{base}-{k}")
        });
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(&dir, e)),
        }
    }
    Err(fail(
        Path::new(&base),
        io::Error::from(io::ErrorKind::AlreadyExists),
    ))
}

impl Sweeping<'_> {
    /// Run every value `runs` times, until done, interrupted, or memwatch fails.
    fn go(&mut self, session: &Session, file: &PendingFile) -> Result<(), Error> {
        let cfg = self.cfg;
        let total = cfg.values.len() * cfg.runs as usize;
        for (i, value) in cfg.values.iter().enumerate() {
            let command = values::substitute(&cfg.command, &cfg.parameter, &value.text);
            for k in 1..=cfg.runs {
                if session.interrupted().is_some() {
                    return Ok(());
                }
                let name = format!("{}.run{k}.json", self.stems[i]);
                let job = run::Config {
                    interval: cfg.interval,
                    format: Format::Json,
                    output: Some(self.dir.join(&name)),
                    metric: cfg.metric,
                    timeline: None,
                    csv: None,
                    plot: None,
                    quiet: true,
                    status: false,
                    wait: WaitMode::All,
                    max_rss: None,
                    cpu_budget: None,
                    command: command.clone(),
                };
                let ran = session.job(&job, cfg.json);
                if let Some(r) = &ran.report {
                    self.runs.push(Measured::of(i, k, name, r));
                    self.progress(value, k);
                }
                ran.result?;
                if self.runs.len() < total {
                    let mut interim = self.result(session.interrupted(), 0, false);
                    interim.warnings.push(format!(
                        "interim: written after {} of {total} runs, while the sweep was going on; \
                         replaced by the final result when it ends",
                        self.runs.len()
                    ));
                    // The final write says what fails; an interim one is a courtesy.
                    let _ = file.write_interim(|w| model::write(&interim, w));
                }
            }
        }
        Ok(())
    }

    /// One line on standard error per run: `n=4, run 2 of 3: max total RSS 52.1 MiB, 412 ms`.
    fn progress(&self, value: &Param, k: u32) {
        let Some(m) = self.runs.last().filter(|_| !self.cfg.quiet) else {
            return;
        };
        let failed = if m.run.failed {
            format!("; failed: {}", build::how_it_failed(&m.run))
        } else {
            String::new()
        };
        eprintln!(
            "memwatch: {}={}, run {k} of {}: max total RSS {}, {}{failed}",
            self.cfg.parameter,
            value.text,
            self.cfg.runs,
            units::iec_or_unknown(m.run.max_total_rss_kib),
            units::seconds(m.run.duration_seconds)
        );
    }

    /// The result of what was measured so far.
    fn result(&self, interrupt: Option<i32>, exit_code: i32, ended: bool) -> Sweep {
        let cfg = self.cfg;
        let points = build::points(&cfg.values, &self.runs);
        let (fit, predictions, mut warnings) =
            build::conclude(&cfg.parameter, &cfg.values, &points, &cfg.predict);
        if let Some(sig) = interrupt {
            let name = crate::model::signal_name(sig)
                .map_or_else(|| format!("signal {sig}"), str::to_string);
            warnings.insert(
                0,
                format!(
                    "the sweep was interrupted by {name} after {} of {} runs: what was not \
                     measured is missing here",
                    self.runs.len(),
                    cfg.values.len() * cfg.runs as usize
                ),
            );
        }
        let all = self.runs.len() == cfg.values.len() * cfg.runs as usize;
        Sweep {
            sweep_version: SWEEP_VERSION,
            memwatch_version: env!("CARGO_PKG_VERSION").to_string(),
            hostname: self.host.clone(),
            os: std::env::consts::OS.to_string(),
            parameter: cfg.parameter.clone(),
            values: cfg.values.clone(),
            command: values::template(&cfg.command),
            runs_per_value: cfg.runs,
            interval_ms: u64::try_from(cfg.interval.as_millis()).unwrap_or(u64::MAX),
            metric: cfg.metric,
            directory: self.dir.display().to_string(),
            start_time: self.start_time,
            end_time: Timestamp::now(),
            points,
            no_fit_reason: fit.as_ref().err().cloned(),
            fit: fit.ok(),
            predictions,
            complete: ended && all && interrupt.is_none(),
            interrupted: interrupt.is_some(),
            interrupt_signal: interrupt,
            warnings,
            exit_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::figures::Values;
    use crate::model::sweep::SweepRun;

    fn ran(exit_code: Option<i32>, signal: Option<i32>) -> Measured {
        Measured {
            value: 0,
            run: SweepRun {
                run: 1,
                report: String::new(),
                max_total_rss_kib: None,
                max_process_rss_kib: None,
                duration_seconds: 0.0,
                exit_code,
                signal,
                interrupted: false,
                failed: exit_code != Some(0),
            },
            figures: Values::unknown(),
        }
    }

    #[test]
    fn exit_codes() {
        let ok = ran(Some(0), None);
        assert_eq!(exit_code(None, &[ok.clone(), ok.clone()]), 0);
        assert_eq!(
            exit_code(None, &[ok.clone(), ran(Some(3), None), ran(Some(4), None)]),
            3
        );
        assert_eq!(exit_code(None, &[ran(None, Some(9))]), 137);
        assert_eq!(exit_code(Some(2), &[ran(Some(3), None)]), 130);
        assert_eq!(exit_code(None, &[ran(None, None)]), 125);
    }
}
