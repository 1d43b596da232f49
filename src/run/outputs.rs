//! Everything `run` writes besides the terminal: the outputs prepared before the command
//! starts (report file, plot, CSV directory, streamed timeline), the interim report at the
//! first terminating signal, and the final report with its fallback when it cannot be
//! written where asked.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::model::{Report, io as report_io};
use crate::output::csv::{self, TimelineStream};
use crate::output::human::{self, FullList};
use crate::output::{Format, svg, units};
use crate::sys::unix::file::{self, PendingFile};

use super::Config;
use super::report::{Context, Standing};

/// The outputs of a run, checked and created before the command starts, so an unwritable
/// path fails at once rather than after an hour.
pub(super) struct Prepared {
    pub(super) report: Option<PendingFile>,
    pub(super) plot: Option<PendingFile>,
    pub(super) csv: Option<CsvFiles>,
    pub(super) timeline: Option<(TimelineStream<std::fs::File>, PathBuf)>,
}

fn create(what: &'static str, path: &Path) -> Result<PendingFile, Error> {
    PendingFile::create(path).map_err(|source| Error::Output {
        what,
        target: path.display().to_string(),
        source,
        job: None,
    })
}

impl Prepared {
    /// Create them all, or fail (before the command starts, which the error says).
    pub(super) fn create(cfg: &Config) -> Result<Prepared, Error> {
        Self::create_all(cfg).map_err(Error::not_run)
    }

    fn create_all(cfg: &Config) -> Result<Prepared, Error> {
        Ok(Prepared {
            report: cfg
                .output
                .as_deref()
                .map(|p| create("report", p))
                .transpose()?,
            plot: cfg.plot.as_deref().map(|p| create("plot", p)).transpose()?,
            csv: cfg.csv.as_deref().map(CsvFiles::create).transpose()?,
            timeline: cfg.timeline.as_deref().map(open_timeline).transpose()?,
        })
    }
}

/// The `--timeline` file, created (truncated) before the command starts.
fn open_timeline(path: &Path) -> Result<(TimelineStream<std::fs::File>, PathBuf), Error> {
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

/// The warning a report carries when its `--timeline` stream stopped.
pub(super) fn timeline_warning(path: &Path, at: Duration, e: &io::Error) -> String {
    format!(
        "the --timeline stream to {} stopped {} into the job ({}): the file holds whole rows up \
         to then; the report's own timeline covers the whole run",
        path.display(),
        units::duration(at),
        crate::error::os_message(e)
    )
}

/// The `--csv` directory's two files, prepared before the command starts.
pub(super) struct CsvFiles {
    peaks: PendingFile,
    timeline: PendingFile,
}

impl CsvFiles {
    fn create(dir: &Path) -> Result<CsvFiles, Error> {
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

/// The report in `format`.
fn render(report: &Report, format: Format, w: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => report_io::write(report, w),
        Format::Human => human::write(report, w),
    }
}

/// How often an interim report is rewritten while an interrupted job goes on.
const INTERIM_EVERY: Duration = Duration::from_secs(1);

/// The report file rewritten while an interrupted job goes on.
pub(super) struct Interim<'a> {
    pub(super) file: &'a PendingFile,
    pub(super) format: Format,
    pub(super) ctx: &'a Context,
}

impl Interim<'_> {
    /// Write the interim report of `stats` (the job still running, memwatch interrupted,
    /// `live` the processes still running); returns how long until the next, or `None`
    /// when it cannot be rewritten.
    pub(super) fn write(
        &self,
        stats: &crate::job::JobStats,
        elapsed: Duration,
        standing: &Standing,
        live: Vec<i32>,
    ) -> Option<Duration> {
        let report = self.ctx.report(stats, elapsed, standing, live);
        let mut report = self.ctx.with_check(report, true);
        let signal = standing.interrupt.map_or_else(String::new, |s| {
            crate::model::signal_name(s).map_or_else(|| format!(" signal {s}"), |n| format!(" {n}"))
        });
        report.warnings.push(format!(
            "interim report: written {} into the job, after memwatch received{signal}, while the \
             job was still running; it is rewritten every second, and replaced by the final \
             report when the job ends",
            units::duration(elapsed)
        ));
        report.warnings.push(
            "the job's CPU times, page faults, context switches and block I/O are known only \
             once memwatch has waited for it: null in this interim report"
                .to_string(),
        );
        match self.file.write_interim(|w| render(&report, self.format, w)) {
            Ok(true) => Some(INTERIM_EVERY),
            // A device, a FIFO or a descriptor gets the report once, at the end.
            Ok(false) => None,
            Err(e) => {
                eprintln!(
                    "memwatch: cannot write the interim report to {}: {}",
                    self.file.target().display(),
                    crate::error::os_message(&e)
                );
                None
            }
        }
    }
}

/// Write the CSV files and the plot of the final report; their errors come after the
/// report's.
pub(super) fn write_extras(
    csv: Option<CsvFiles>,
    plot: Option<PendingFile>,
    report: &Report,
    job: Option<&String>,
) -> Result<(), Error> {
    let csv_result = match csv {
        Some(files) => files.commit(report, job.cloned()),
        None => Ok(()),
    };
    let plot_result = match plot {
        Some(file) => {
            let target = file.target().display().to_string();
            let label = report.command.join(" ");
            file.commit(|w| svg::write(&[(label, report)], w))
                .map_err(|source| Error::Output {
                    what: "plot",
                    target,
                    source,
                    job: job.cloned(),
                })
        }
        None => Ok(()),
    };
    csv_result.and(plot_result)
}

/// Write the report where it goes: the file (JSON or human), or JSON on stdout; then the
/// human summary on stderr unless it went to the file or --quiet. A report that cannot be
/// written where asked is never lost: its summary goes to stderr and its JSON to a file in
/// the temporary directory, which the error names.
pub(super) fn emit(
    cfg: &Config,
    pending: Option<PendingFile>,
    report: &Report,
    job: Option<String>,
) -> Result<(), Error> {
    let json_on_stdout = cfg.format == Format::Json && cfg.output.is_none();
    let (target, written) = match pending {
        Some(f) => (
            f.target().display().to_string(),
            f.commit(|w| render(report, cfg.format, w)),
        ),
        None if json_on_stdout => ("standard output".to_string(), write_stdout(report)),
        None => (String::new(), Ok(())),
    };
    let failed = written.err().map(|source| Error::Output {
        what: "report",
        target: target.clone(),
        source,
        job,
    });
    let saved = failed
        .as_ref()
        .map(|_| file::save_fallback("json", |w| report_io::write(report, w)));
    let saved_at = match &saved {
        Some(Ok(path)) => Some(path.display().to_string()),
        _ => None,
    };
    let full = match (&saved_at, failed.is_none(), cfg.format) {
        (Some(path), _, _) => FullList::File(path),
        (None, true, Format::Json) if cfg.output.is_some() => FullList::File(&target),
        (None, true, Format::Json) => FullList::Stdout,
        _ => FullList::NotWritten,
    };
    let human_to_stderr =
        failed.is_some() || (!cfg.quiet && (cfg.output.is_none() || cfg.format == Format::Json));
    if human_to_stderr {
        let _ = human::write_with(report, &mut io::stderr().lock(), full);
    } else {
        for w in &report.warnings {
            eprintln!("memwatch: warning: {w}");
        }
        // The `--max-rss` verdict always reaches stderr when it fails (and unless --quiet
        // when it passes), as the summary's last line or on its own.
        if let Some(check) = report
            .max_rss_check
            .as_ref()
            .filter(|c| !c.passed || !cfg.quiet)
        {
            eprintln!("memwatch: {}", check.verdict);
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

/// The JSON report on standard output, which carries it alone.
fn write_stdout(report: &Report) -> io::Result<()> {
    if file::stdout_closed_at_start() {
        return Err(file::closed_stdout());
    }
    let mut out = io::stdout().lock();
    report_io::write(report, &mut out).and_then(|()| out.flush())
}
