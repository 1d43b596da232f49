//! Running the real `memwatch` binary, or any other command, with a deadline (a hang is a
//! failure, not a stuck suite), its output captured into files; reading its reports.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use memwatch::model::Report;
use serde_json::Value;

use super::{DirExt, TempDir, poll, tempdir, text};

/// The memwatch binary cargo built for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_memwatch");

/// The variable that names another memwatch binary to test (`.ci/run` sets it to the static
/// build of `cargo static`): [`memwatch`], [`run_cmd`] and [`workload`] run that one, and so
/// do the tests that take [`bin`]. Unset or empty: [`BIN`].
pub(crate) const BIN_VAR: &str = "MEMWATCH_BIN";

/// The memwatch binary under test: `$MEMWATCH_BIN`, else [`BIN`].
pub(crate) fn bin() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| match std::env::var(BIN_VAR) {
        Ok(p) if !p.is_empty() => {
            let p = fs::canonicalize(&p)
                .unwrap_or_else(|e| panic!("{BIN_VAR}={p}: {e}"))
                .to_string_lossy()
                .into_owned();
            eprintln!("testing {p} ({BIN_VAR})");
            p
        }
        _ => BIN.to_string(),
    })
}

/// How long any command a test runs may take before the test kills it and fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

/// `memwatch <args>` with stdin closed to /dev/null.
pub(crate) fn memwatch<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(bin());
    c.args(args).stdin(Stdio::null());
    c
}

/// `memwatch <args>` run to the end with the deadline, as [`Command::output`] gives it.
#[track_caller]
pub(crate) fn memwatch_output<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    output(&mut memwatch(args))
}

/// The arguments of a `memwatch __workload` job (to put after `--`).
pub(crate) fn workload(args: &[&str]) -> Vec<String> {
    let mut v = vec![bin().to_string(), "__workload".to_string()];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// `memwatch run <opts> -- <job>`.
pub(crate) fn run_cmd(opts: &[&str], job: &[impl AsRef<OsStr>]) -> Command {
    let mut args: Vec<OsString> = vec!["run".into()];
    args.extend(opts.iter().map(OsString::from));
    args.push("--".into());
    args.extend(job.iter().map(|a| a.as_ref().to_os_string()));
    memwatch(args)
}

/// What a finished command left.
#[derive(Debug)]
pub(crate) struct Finished {
    pub pid: u32,
    pub status: ExitStatus,
    /// Exit code, `None` when it died of a signal.
    pub code: Option<i32>,
    /// The signal it died of.
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    stderr_bytes: Vec<u8>,
    pub elapsed: Duration,
}

impl Finished {
    /// The JSON report on standard output.
    #[track_caller]
    pub(crate) fn report(&self) -> Report {
        parse_report(&self.stdout, &self.stderr)
    }

    pub(crate) fn stdout_str(&self) -> String {
        text(&self.stdout)
    }

    /// Fail unless memwatch exited with `code` (and did not panic).
    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "memwatch exit (signal {:?}); stderr:\n{}\nstdout:\n{}",
            self.signal,
            self.stderr,
            self.stdout_str()
        );
        assert!(
            !self.stderr.contains("panicked"),
            "memwatch panicked:\n{}",
            self.stderr
        );
        self
    }

    /// As [`Command::output`] gives it.
    pub(crate) fn into_output(self) -> Output {
        Output {
            status: self.status,
            stdout: self.stdout,
            stderr: self.stderr_bytes,
        }
    }
}

/// Parse a report, with the context in the failure message.
#[track_caller]
pub(crate) fn parse_report(bytes: &[u8], context: &str) -> Report {
    match serde_json::from_slice::<Report>(bytes) {
        Ok(r) => r,
        Err(e) => panic!(
            "not a report: {e}\n--- bytes:\n{}\n--- context:\n{context}",
            text(bytes)
        ),
    }
}

/// Read and parse a report file.
#[track_caller]
pub(crate) fn read_report(path: &Path) -> Report {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_report(&bytes, &path.display().to_string())
}

/// Wait until `path` holds a whole report, for at most `within`.
#[track_caller]
pub(crate) fn wait_for_report(path: &Path, within: Duration) -> Report {
    poll(within, || {
        let bytes = fs::read(path).map_err(|e| format!("no report at {}: {e}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("no whole report at {}: {e}", path.display()))
    })
}

/// The file memwatch (pid `pid`) saves its report to in `tmp` (its `TMPDIR`) when it cannot
/// write it where asked.
pub(crate) fn fallback(tmp: &TempDir, pid: u32) -> PathBuf {
    tmp.join(format!("memwatch-report-{pid}.json"))
}

/// Write `v` (a report, edited) as JSON to `name` in `dir`; its path.
pub(crate) fn write_json(dir: &TempDir, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

/// A real report of a short job (`sleep 0.1`), made once, as JSON to edit into synthetic
/// reports that follow the current schema.
pub(crate) fn real_report() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(|| {
        let dir = tempdir("real");
        let path = dir.join("real.json");
        let f = finish(
            memwatch(["run", "-q", "-i", "10", "--json", "-o"])
                .arg(&path)
                .args(["--", "sleep", "0.1"]),
        );
        f.assert_code(0);
        let v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert!(
            v["processes"].as_array().is_some_and(|p| !p.is_empty()),
            "the real report has no process: {v}"
        );
        v
    })
}

/// A process started by a test, whose output goes to files (a pipe would keep a reader
/// waiting for processes the job left running). Killed when dropped unfinished.
pub(crate) struct Running {
    pub child: Child,
    /// The command, for messages.
    what: String,
    started: Instant,
    out: PathBuf,
    err: PathBuf,
    _dir: TempDir,
}

impl Running {
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether it is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Its standard output so far (empty when the caller chose its stdout).
    pub(crate) fn stdout_now(&self) -> String {
        text(&fs::read(&self.out).unwrap_or_default())
    }

    /// Its standard error so far.
    pub(crate) fn stderr_now(&self) -> String {
        text(&fs::read(&self.err).unwrap_or_default())
    }

    /// Wait for it to exit (at most [`DEADLINE`], then kill it and fail).
    #[track_caller]
    pub(crate) fn wait(mut self) -> Finished {
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if self.started.elapsed() > DEADLINE {
                self.kill();
                panic!(
                    "{} did not finish within {DEADLINE:?}; stderr:\n{}",
                    self.what,
                    self.stderr_now()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.started.elapsed();
        let stderr_bytes = fs::read(&self.err).unwrap_or_default();
        Finished {
            pid: self.child.id(),
            status,
            code: status.code(),
            signal: status.signal(),
            stdout: fs::read(&self.out).unwrap_or_default(),
            stderr: text(&stderr_bytes),
            stderr_bytes,
            elapsed,
        }
    }

    /// Kill it: its whole process group when it leads one (as `mpirun` is started), so
    /// nothing it started is left behind.
    fn kill(&mut self) {
        use nix::sys::signal::{Signal, kill, killpg};
        use nix::unistd::{Pid, getpgid};
        let pid = Pid::from_raw(self.pid());
        if getpgid(Some(pid)) == Ok(pid) {
            let _ = killpg(pid, Signal::SIGKILL);
        } else {
            let _ = kill(pid, Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed half-way leaves nothing behind.
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Start a command with stdout and stderr captured into files.
#[track_caller]
pub(crate) fn spawn(cmd: &mut Command) -> Running {
    try_spawn_with(cmd, true).unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

fn try_spawn_with(cmd: &mut Command, capture_stdout: bool) -> io::Result<Running> {
    let dir = tempdir("out");
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    if capture_stdout {
        cmd.stdout(File::create(&out)?);
    }
    cmd.stderr(File::create(&err)?);
    let what = format!("{cmd:?}");
    let started = Instant::now();
    let child = cmd.spawn()?;
    Ok(Running {
        child,
        what,
        started,
        out,
        err,
        _dir: dir,
    })
}

/// Run a command to the end.
#[track_caller]
pub(crate) fn finish(cmd: &mut Command) -> Finished {
    spawn(cmd).wait()
}

/// Run a command to the end with the stdout the caller set on `cmd`.
#[track_caller]
pub(crate) fn finish_own_stdout(cmd: &mut Command) -> Finished {
    try_spawn_with(cmd, false)
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
        .wait()
}

/// Run a command to the end (stdin /dev/null), as [`Command::output`] does but with the
/// deadline.
#[track_caller]
pub(crate) fn output(cmd: &mut Command) -> Output {
    finish(cmd.stdin(Stdio::null())).into_output()
}

/// [`output`], or why the command could not be started (its `pre_exec` failed, it could
/// not be executed).
#[track_caller]
pub(crate) fn try_output(cmd: &mut Command) -> io::Result<Output> {
    Ok(try_spawn_with(cmd.stdin(Stdio::null()), true)?
        .wait()
        .into_output())
}
