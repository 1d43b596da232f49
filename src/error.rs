//! memwatch's own errors and the exit codes they map to.
//!
//! Messages say what failed and on what, lower case, no trailing period; `main` prefixes
//! `memwatch: `. Exit codes follow `time`/`timeout`: 125 memwatch itself failed, 126 the
//! command could not be executed, 127 it was not found; report readers use 2 for bad input.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::sys::SampleError;

/// memwatch failed (the job's own status is not an error).
#[derive(Debug)]
pub enum Error {
    /// Bad command line (message already worded for the user).
    Usage(String),
    /// The command could not be started.
    Spawn {
        /// The program as given.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// An output (the report, a plot, a CSV file…) cannot be created or written.
    Output {
        /// What it is: "report", "plot", "timeline", "CSV file", "manual page"…
        what: &'static str,
        /// Its path, or "standard output".
        target: String,
        /// Why.
        source: io::Error,
        /// How the job ended, when it had run ("the command exited with status 0").
        job: Option<String>,
    },
    /// The report could not be written where it was asked; it was saved elsewhere, or not.
    Rescued {
        /// Why it could not be written where asked.
        failed: Box<Error>,
        /// The file the report was saved to instead, or why that failed too.
        saved: Result<PathBuf, io::Error>,
    },
    /// Something memwatch needs from the system failed.
    Setup {
        /// What was being done.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
    /// The sampler failed during the job.
    Sample(SampleError),
    /// A report given as input cannot be used.
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Exit code: memwatch itself failed.
pub const EXIT_FAILURE: i32 = 125;
/// Exit code: the command was found but could not be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit code: the command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;
/// Exit code of the report-reading commands on bad input.
pub const EXIT_BAD_INPUT: i32 = 2;

impl Error {
    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                EXIT_NOT_FOUND
            }
            Error::Spawn { .. } => EXIT_CANNOT_EXECUTE,
            Error::Input { .. } => EXIT_BAD_INPUT,
            _ => EXIT_FAILURE,
        }
    }
}

/// An io::Error's message without Rust's " (os error N)" suffix.
pub fn os_message(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => f.write_str(m),
            Error::Spawn { program, source } => {
                write!(f, "cannot run '{program}': {}", os_message(source))
            }
            Error::Output {
                what,
                target,
                source,
                job,
            } => {
                write!(f, "cannot write {what} to {target}: {}", os_message(source))?;
                if let Some(job) = job {
                    write!(f, " ({job})")?;
                }
                Ok(())
            }
            Error::Rescued { failed, saved } => match saved {
                Ok(path) => write!(f, "{failed}; saved it to {} instead", path.display()),
                Err(e) => write!(
                    f,
                    "{failed}; saving it to {} failed too ({}): only the summary above is left",
                    std::env::temp_dir().display(),
                    os_message(e)
                ),
            },
            Error::Setup { what, source } => write!(f, "cannot {what}: {}", os_message(source)),
            Error::Sample(e) => write!(
                f,
                "sampling failed: cannot {}: {}",
                e.what,
                os_message(&e.source)
            ),
            Error::Input { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn { source, .. }
            | Error::Output { source, .. }
            | Error::Setup { source, .. } => Some(source),
            Error::Rescued { failed, .. } => Some(failed.as_ref()),
            Error::Sample(e) => Some(e),
            Error::Usage(_) | Error::Input { .. } => None,
        }
    }
}

impl From<SampleError> for Error {
    fn from(e: SampleError) -> Self {
        Error::Sample(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_codes() {
        let e = Error::Spawn {
            program: "foo".into(),
            source: io::Error::from_raw_os_error(2),
        };
        assert_eq!(e.to_string(), "cannot run 'foo': No such file or directory");
        assert_eq!(e.exit_code(), 127);
        let e = Error::Spawn {
            program: "./x".into(),
            source: io::Error::from_raw_os_error(13),
        };
        assert_eq!(e.to_string(), "cannot run './x': Permission denied");
        assert_eq!(e.exit_code(), 126);
        let e = Error::Output {
            what: "report",
            target: "out/x.json".into(),
            source: io::Error::from_raw_os_error(13),
            job: Some("the command exited with status 0".into()),
        };
        assert_eq!(
            e.to_string(),
            "cannot write report to out/x.json: Permission denied (the command exited with status 0)"
        );
        assert_eq!(e.exit_code(), 125);
    }
}
