//! memwatch's own errors, and the exit statuses they and the commands end with.
//!
//! Messages say what failed and on what, lower case, no trailing period; `main` prefixes
//! `memwatch: `. Exit statuses follow `time`, `env` and `timeout`: 125 the command line
//! cannot be used (every subcommand) or memwatch itself failed, 126 the command could not
//! be executed, 127 it was not found; 2 a report given as input cannot be used, 1 a failed
//! gate; `run --max-rss` fails with 3. The table users read is `cli::help::EXIT_STATUS`.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// memwatch's own exit statuses. What `run` exits with when the command ran is the
/// command's status instead ([`Outcome::Job`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 0: done.
    Ok,
    /// 1: `compare`'s gate failed (a limit exceeded, a report of a failed run).
    GateFailed,
    /// 2: a report given as input cannot be read or used (`compare`, `merge`, `plot`).
    BadInput,
    /// 3: `run --max-rss`: the command succeeded, but its peak was over the limit (or
    /// could not be shown to be within it). Not 1 or 2, which commands use most; not 101
    /// (a Rust panic, `cargo test`'s failure), nor 123 to 127 (xargs, timeout and the
    /// shells'), nor above 128 (signals).
    MaxRssExceeded,
    /// 125: the command line cannot be used (any subcommand, any kind of usage error), or
    /// memwatch itself failed. 125 cannot be mistaken for the command's own status as 2
    /// could, nor for a report that cannot be read.
    Failure,
    /// 126: the command was found but could not be executed.
    CannotExecute,
    /// 127: the command was not found.
    NotFound,
}

impl Status {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::GateFailed => 1,
            Status::BadInput => 2,
            Status::MaxRssExceeded => 3,
            Status::Failure => 125,
            Status::CannotExecute => 126,
            Status::NotFound => 127,
        }
    }
}

/// How a command ends when it does not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// One of memwatch's own statuses.
    Status(Status),
    /// The job's status (`run`): the command's exit code, or 128 + a signal.
    Job(i32),
}

impl Outcome {
    /// The number the process exits with (a job status outside 0..=255 as a failure).
    pub fn code(self) -> u8 {
        match self {
            Outcome::Status(s) => s.code(),
            Outcome::Job(c) => u8::try_from(c).unwrap_or(Status::Failure.code()),
        }
    }
}

/// The sampler could not go on: an OS failure that stops sampling (a process that vanished
/// is normal and never one).
#[derive(Debug)]
pub struct SampleError {
    /// What was being done, e.g. "read /proc/loadavg".
    pub what: String,
    /// The OS error.
    pub source: io::Error,
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {}: {}", self.what, os_message(&self.source))
    }
}

impl std::error::Error for SampleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// memwatch failed (the job's own status is not an error).
#[derive(Debug)]
pub enum Error {
    /// The command line cannot be used (every usage error takes this one route; exit 125):
    /// the message, worded for the user.
    Usage {
        /// What is wrong.
        message: String,
    },
    /// `run` failed before it started the command: why, and (said in the message) that the
    /// command was not run.
    NotRun(Box<Error>),
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

impl Error {
    /// A usage error, of any subcommand (exit 125).
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
        }
    }

    /// This error, happening before the command was started, saying so.
    pub fn not_run(self) -> Error {
        match self {
            Error::NotRun(_) => self,
            e => Error::NotRun(Box::new(e)),
        }
    }

    /// The status memwatch exits with for this error.
    pub fn status(&self) -> Status {
        match self {
            Error::Usage { .. } => Status::Failure,
            Error::NotRun(e) => e.status(),
            Error::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                Status::NotFound
            }
            Error::Spawn { .. } => Status::CannotExecute,
            Error::Input { .. } => Status::BadInput,
            _ => Status::Failure,
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
            Error::Usage { message } => f.write_str(message),
            Error::NotRun(e) => write!(f, "{e}; the command was not run"),
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
            Error::Sample(e) => write!(f, "sampling failed: {e}"),
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
            Error::Rescued { failed, .. } | Error::NotRun(failed) => Some(failed.as_ref()),
            Error::Sample(e) => Some(e),
            Error::Usage { .. } | Error::Input { .. } => None,
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
    use std::error::Error as _;

    #[test]
    fn messages_and_statuses() {
        let e = Error::Spawn {
            program: "foo".into(),
            source: io::Error::from_raw_os_error(2),
        };
        assert_eq!(e.to_string(), "cannot run 'foo': No such file or directory");
        assert_eq!(e.status().code(), 127);
        assert!(e.source().is_some());
        let e = Error::Spawn {
            program: "./x".into(),
            source: io::Error::from_raw_os_error(13),
        };
        assert_eq!(e.to_string(), "cannot run './x': Permission denied");
        assert_eq!(e.status().code(), 126);
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
        assert_eq!(e.status().code(), 125);
        assert_eq!(Error::usage("x").status().code(), 125);
        let e = Error::usage("--metric pss needs Linux").not_run().not_run();
        assert_eq!(
            e.to_string(),
            "--metric pss needs Linux; the command was not run"
        );
        assert_eq!(e.status().code(), 125);
        assert!(e.source().is_some());
        let e = Error::Sample(SampleError {
            what: "read /proc/loadavg".into(),
            source: io::Error::from_raw_os_error(5),
        });
        assert_eq!(
            e.to_string(),
            "sampling failed: cannot read /proc/loadavg: Input/output error"
        );
    }

    #[test]
    fn outcomes() {
        assert_eq!(Outcome::Job(3).code(), 3);
        assert_eq!(Outcome::Job(300).code(), 125);
        assert_eq!(Outcome::Status(Status::GateFailed).code(), 1);
    }
}
