//! `memwatch plot`: reports' total RSS over time (one report's stacked by program), or a
//! sweep's peaks against its parameter, as a self-contained SVG. The picture is drawn by
//! [`crate::output::svg`]; this command reads the files, names them and writes the picture.

use std::path::PathBuf;

use crate::error::{Error, Outcome, Status};
use crate::model::sweep::read_if_sweep;
use crate::model::{Report, io::read_report};
use crate::output::{labels, svg};
use crate::sys::unix::file::{PendingFile, print};

/// A checked `memwatch plot` command line.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The reports, drawn over each other.
    pub reports: Vec<PathBuf>,
    /// The SVG file; standard output when `None`.
    pub output: Option<PathBuf>,
    /// One label per report, or none (then the differing part of the command lines).
    pub labels: Vec<String>,
    /// The title; the command by default.
    pub title: Option<String>,
    /// Draw one report's total alone, not stacked by program.
    pub total_only: bool,
}

/// The picture of a sweep file, when `cfg` names one: its peaks against its parameter.
/// A sweep is drawn alone.
fn sweep(cfg: &Config) -> Result<Option<String>, Error> {
    let first = &cfg.reports[0];
    let Some(s) = read_if_sweep(first)? else {
        return Ok(None);
    };
    if cfg.reports.len() > 1 || !cfg.labels.is_empty() {
        // Known from the file, not from the command line: the input cannot be used (2).
        return Err(Error::Input {
            path: first.clone(),
            message: "is a sweep file, and plot draws one sweep alone (no other file, no --label)"
                .to_string(),
        });
    }
    Ok(Some(svg::sweep::svg(&s, cfg.title.as_deref())))
}

/// Run `memwatch plot`.
pub(crate) fn run(cfg: &Config) -> Result<Outcome, Error> {
    if let Some(doc) = sweep(cfg)? {
        return write(cfg, &doc);
    }
    let reports = cfg
        .reports
        .iter()
        .map(|p| read_report(p))
        .collect::<Result<Vec<Report>, Error>>()?;
    let names = if cfg.labels.is_empty() {
        let cmds: Vec<&[String]> = reports.iter().map(|r| r.command.as_slice()).collect();
        let paths: Vec<&std::path::Path> = cfg.reports.iter().map(PathBuf::as_path).collect();
        labels::distinguishing(&cmds, &paths)
    } else {
        cfg.labels.clone()
    };
    let pairs: Vec<(String, &Report)> = names.into_iter().zip(&reports).collect();
    let doc = svg::picture(&pairs, cfg.title.as_deref(), cfg.total_only);
    write(cfg, &doc)
}

/// Write the picture to `-o` (atomically) or standard output.
fn write(cfg: &Config, doc: &str) -> Result<Outcome, Error> {
    match &cfg.output {
        Some(path) => PendingFile::create(path)
            .and_then(|f| f.commit(|w| w.write_all(doc.as_bytes())))
            .map_err(|source| Error::Output {
                what: "plot",
                target: path.display().to_string(),
                source,
                job: None,
            })?,
        None => print("plot", doc.as_bytes())?,
    }
    Ok(Outcome::Status(Status::Ok))
}
