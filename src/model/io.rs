//! Reports as files: writing the JSON report, reading one back with its schema checked
//! (schema in docs/schema.md; fields documented on [`super::Report`]); reading a report or a
//! merge, whichever a file holds (`memwatch export`).

use std::io::{self, Write};
use std::path::Path;

use super::{Report, SCHEMA_VERSIONS_READ};
use crate::error::{Error, os_message};

/// Write `report` as pretty JSON with a final newline.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Why a report file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The bytes are not JSON, or not a report.
    Invalid(String),
    /// A report of another schema version.
    Version(u64),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Invalid(e) => write!(f, "not a memwatch JSON report: {e}"),
            ReadError::Version(v) => {
                let [old, new] = SCHEMA_VERSIONS_READ;
                write!(
                    f,
                    "report has schema_version {v}, this memwatch reads versions {old} and {new}"
                )
            }
        }
    }
}

/// Parse a report, checking the schema version first so an old or future report gets a
/// clear message rather than a missing-field error.
pub fn read(bytes: &[u8]) -> Result<Report, ReadError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::Invalid("the file is empty".to_string()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ReadError::Invalid(e.to_string()))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if SCHEMA_VERSIONS_READ.iter().any(|&r| u64::from(r) == v) => {}
        Some(v) => return Err(ReadError::Version(v)),
        None if value.get("sweep_version").is_some() => {
            return Err(ReadError::Invalid(
                "this is a sweep file (memwatch sweep), not a run's report; `compare` takes two \
                 sweep files, `plot` one"
                    .to_string(),
            ));
        }
        None => return Err(ReadError::Invalid("no schema_version field".to_string())),
    }
    serde_json::from_value(value).map_err(|e| ReadError::Invalid(e.to_string()))
}

/// Read and check one report file; every failure is one line naming the file.
pub fn read_report(path: &Path) -> Result<Report, Error> {
    let input = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path)
        .map_err(|e| input(format!("cannot read report: {}", os_message(&e))))?;
    read(&bytes).map_err(|e| input(e.to_string()))
}

/// What a file given to `memwatch export` holds.
#[derive(Debug)]
pub enum Input {
    /// A report (`memwatch run` or `attach`).
    Report(Box<Report>),
    /// A merge (`memwatch merge --json`).
    Merge(Box<super::merge::Merged>),
}

/// Read a report or a merge; every failure is one line naming the file.
pub fn read_input(path: &Path) -> Result<Input, Error> {
    use super::merge::MERGE_VERSION;
    let input = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes =
        std::fs::read(path).map_err(|e| input(format!("cannot read it: {}", os_message(&e))))?;
    let merge_version = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("merge_version").map(|m| m.as_u64()));
    match merge_version {
        Some(Some(v)) if v == u64::from(MERGE_VERSION) => serde_json::from_slice(&bytes)
            .map(|m| Input::Merge(Box::new(m)))
            .map_err(|e| input(format!("not a memwatch merge: {e}"))),
        Some(v) => Err(input(format!(
            "merge has merge_version {}, this memwatch reads version {MERGE_VERSION}",
            v.map_or_else(|| "that is not a number".to_string(), |v| v.to_string())
        ))),
        None => read(&bytes)
            .map(|r| Input::Report(Box::new(r)))
            .map_err(|e| input(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (`fuzz/`, target `report_write`): a job of 1079.302756531 s has
    /// `duration_seconds` 1079.3027565309999 (what `Duration::as_secs_f64` gives), and
    /// serde_json's default float parser reads that one unit in the last place off, so
    /// `read` does not give back what `write` wrote (about one duration in two million).
    /// Fixed by serde_json's `float_roundtrip` feature (Cargo.toml).
    #[test]
    fn a_written_duration_reads_back_exactly() {
        let mut report = read(include_bytes!(
            "../../fuzz/corpus/report_read/real_one_process.json"
        ))
        .unwrap();
        report.duration_seconds = std::time::Duration::new(1079, 302_756_531).as_secs_f64();
        let mut out = Vec::new();
        write(&report, &mut out).unwrap();
        assert_eq!(read(&out).unwrap(), report);
    }
}
