//! `memwatch export`: a report, a merge or a sweep's result in a format another tool reads: a Markdown
//! summary for a CI job's page, benchmark JSON for a dashboard, Snakemake's benchmark TSV,
//! an OpenMetrics exposition. The formats are rendered by [`crate::output::export`]; this
//! command reads the file, picks the format and writes the result.

use std::path::PathBuf;

use crate::error::{Error, Outcome, Status};
use crate::model::Report;
use crate::model::io::{Input, read_input};
use crate::model::merge::Merged;
use crate::model::sweep::{Sweep, read_if_sweep};
use crate::output::export::{self, benchmark, markdown, openmetrics, snakemake, sweep};
use crate::sys::unix::file::{PendingFile, print};

/// The formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum To {
    Markdown,
    GithubBenchmark,
    Bencher,
    Snakemake,
    OpenMetrics,
}

/// A checked `memwatch export` command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The report or merge.
    pub input: PathBuf,
    /// The format.
    pub to: To,
    /// The file; standard output when `None`.
    pub output: Option<PathBuf>,
    /// The benchmark's name, the summary's heading, the `job` label; by default the
    /// command line (a report) or `merge` (a merge).
    pub name: Option<String>,
}

/// Run `memwatch export`.
pub(crate) fn run(cfg: &Config) -> Result<Outcome, Error> {
    let text = match read_if_sweep(&cfg.input)? {
        Some(s) => of_sweep(&s, cfg)?,
        None => match read_input(&cfg.input)? {
            Input::Report(r) => of_report(&r, cfg),
            Input::Merge(m) => of_merge(&m, cfg),
        },
    };
    match &cfg.output {
        Some(path) => PendingFile::create(path)
            .and_then(|f| f.commit(|w| w.write_all(text.as_bytes())))
            .map_err(|source| Error::Output {
                what: "export",
                target: path.display().to_string(),
                source,
                job: None,
            })?,
        None => print("export", text.as_bytes())?,
    }
    Ok(Outcome::Status(Status::Ok))
}

/// Where and when a report was made, for a benchmark's `extra`.
fn context(r: &Report) -> String {
    format!(
        "memwatch {} on {}, started {}",
        r.memwatch_version, r.hostname, r.start_time
    )
}

fn of_report(r: &Report, cfg: &Config) -> String {
    let name = cfg.name.clone().unwrap_or_else(|| export::default_name(r));
    let figures = export::of_report(r);
    match cfg.to {
        To::Markdown => markdown::report(r, cfg.name.as_deref()),
        To::GithubBenchmark => benchmark::github(&figures, &name, &context(r)),
        To::Bencher => benchmark::bencher(&figures, &name),
        To::Snakemake => snakemake::tsv(&figures),
        To::OpenMetrics => {
            openmetrics::exposition(&figures, &[("job", &name), ("host", &r.hostname)])
        }
    }
}

fn of_merge(m: &Merged, cfg: &Config) -> String {
    let name = cfg.name.clone().unwrap_or_else(|| "merge".to_string());
    let figures = export::of_merge(m);
    let context = format!(
        "memwatch merge of {} reports from {} hosts, started {}",
        m.reports.len(),
        m.hosts.len(),
        m.start_time
    );
    match cfg.to {
        To::Markdown => markdown::merge(m, cfg.name.as_deref()),
        To::GithubBenchmark => benchmark::github(&figures, &name, &context),
        To::Bencher => benchmark::bencher(&figures, &name),
        To::Snakemake => snakemake::tsv(&figures),
        To::OpenMetrics => openmetrics::exposition(&figures, &[("job", &name)]),
    }
}

/// A sweep: each value's medians as one job named after the value; Snakemake's TSV, which
/// holds one job, is refused with the way to export a run.
fn of_sweep(s: &Sweep, cfg: &Config) -> Result<String, Error> {
    let name = cfg.name.clone().unwrap_or_else(|| "sweep".to_string());
    let jobs: Vec<(String, Vec<export::Exported>)> = s
        .points
        .iter()
        .map(|p| (sweep::point_name(&name, s, p), sweep::of_point(p)))
        .collect();
    let context = format!(
        "memwatch sweep on {}, started {}: medians of {} run(s) per value",
        s.hostname, s.start_time, s.runs_per_value
    );
    Ok(match cfg.to {
        To::Markdown => sweep::markdown(s, cfg.name.as_deref()),
        To::GithubBenchmark => benchmark::github_many(&jobs, &context),
        To::Bencher => benchmark::bencher_many(&jobs),
        To::OpenMetrics => {
            let labelled: Vec<openmetrics::Labelled<'_>> = s
                .points
                .iter()
                .zip(&jobs)
                .map(|(p, (_, figures))| {
                    (
                        vec![
                            ("job", name.as_str()),
                            ("host", s.hostname.as_str()),
                            ("parameter", s.parameter.as_str()),
                            ("value", p.value.text.as_str()),
                        ],
                        figures.clone(),
                    )
                })
                .collect();
            openmetrics::exposition_many(&labelled)
        }
        To::Snakemake => {
            let example = s
                .points
                .first()
                .and_then(|p| p.runs.first())
                .map_or_else(String::new, |r| {
                    format!(" (e.g. {}/{})", s.directory.trim_end_matches('/'), r.report)
                });
            return Err(Error::Input {
                path: cfg.input.clone(),
                message: format!(
                    "a sweep's result holds many jobs and Snakemake's benchmark TSV one: export one of its runs' reports{example}"
                ),
            });
        }
    })
}
