//! Helpers for the integration tests: run the real `memwatch` binary with a deadline, read
//! its report, find the processes of a job in `/proc`, and serialise the tests that need a
//! lot of memory or CPU.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memwatch::model::Report;

/// The memwatch binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_memwatch");

/// How long any memwatch run may take before the test fails (a hang is a failure, not a
/// stuck suite).
pub const DEADLINE: Duration = Duration::from_secs(120);

static HEAVY: Mutex<()> = Mutex::new(());

/// Serialise the tests that touch hundreds of MiB or run thousands of processes, so they
/// neither exhaust a small machine nor slow each other's sampling down.
pub fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A string no other process on the machine has in its command line.
pub fn token(name: &str) -> String {
    format!(
        "mwtest-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory, removed (with whatever is inside) when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(token(name));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }

    /// Names of the entries, sorted.
    pub fn list(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `memwatch <args>` with stdin closed to /dev/null.
pub fn memwatch<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(BIN);
    c.args(args).stdin(Stdio::null());
    c
}

/// The arguments of a `memwatch __workload` job (to put after `--`).
pub fn workload(args: &[&str]) -> Vec<String> {
    let mut v = vec![BIN.to_string(), "__workload".to_string()];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// `memwatch run <opts> -- <job>`.
pub fn run_cmd(opts: &[&str], job: &[impl AsRef<OsStr>]) -> Command {
    let mut args: Vec<OsString> = vec!["run".into()];
    args.extend(opts.iter().map(OsString::from));
    args.push("--".into());
    args.extend(job.iter().map(|a| a.as_ref().to_os_string()));
    memwatch(args)
}

/// What a finished memwatch run left.
#[derive(Debug)]
pub struct Finished {
    pub pid: u32,
    /// Exit code, `None` when memwatch died of a signal.
    pub code: Option<i32>,
    /// The signal memwatch died of.
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// The JSON report on standard output.
    pub fn report(&self) -> Report {
        parse_report(&self.stdout, &self.stderr)
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Fail unless memwatch exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
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
}

/// Parse a report, with the context in the failure message.
#[track_caller]
pub fn parse_report(bytes: &[u8], context: &str) -> Report {
    match serde_json::from_slice::<Report>(bytes) {
        Ok(r) => r,
        Err(e) => panic!(
            "not a report: {e}\n--- bytes:\n{}\n--- context:\n{context}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Read and parse a report file.
#[track_caller]
pub fn read_report(path: &Path) -> Report {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_report(&bytes, &path.display().to_string())
}

/// A memwatch process started by a test, whose output goes to files (a pipe would keep a
/// reader waiting for processes the job left running).
pub struct Running {
    pub child: Child,
    started: Instant,
    out: PathBuf,
    err: PathBuf,
    _dir: TempDir,
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether memwatch is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait for memwatch to exit (at most [`DEADLINE`], then kill it and fail).
    #[track_caller]
    pub fn wait(mut self) -> Finished {
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if self.started.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "memwatch did not finish within {DEADLINE:?}; stderr:\n{}",
                    read_lossy(&self.err)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.started.elapsed();
        Finished {
            pid: self.child.id(),
            code: status.code(),
            signal: status.signal(),
            stdout: fs::read(&self.out).unwrap_or_default(),
            stderr: read_lossy(&self.err),
            elapsed,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed half-way leaves no memwatch behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_lossy(p: &Path) -> String {
    let mut s = Vec::new();
    if let Ok(mut f) = File::open(p) {
        let _ = f.read_to_end(&mut s);
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// Start memwatch with stdout and stderr captured into files (unless the caller already
/// chose a stdout).
pub fn spawn(cmd: &mut Command) -> Running {
    spawn_with(cmd, true)
}

fn spawn_with(cmd: &mut Command, capture_stdout: bool) -> Running {
    let dir = TempDir::new("out");
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    if capture_stdout {
        cmd.stdout(File::create(&out).unwrap());
    }
    cmd.stderr(File::create(&err).unwrap());
    let started = Instant::now();
    let child = cmd.spawn().expect("spawn memwatch");
    Running {
        child,
        started,
        out,
        err,
        _dir: dir,
    }
}

/// Run memwatch to the end.
#[track_caller]
pub fn finish(cmd: &mut Command) -> Finished {
    spawn(cmd).wait()
}

/// Run memwatch to the end with the stdout the caller set on `cmd`.
#[track_caller]
pub fn finish_own_stdout(cmd: &mut Command) -> Finished {
    spawn_with(cmd, false).wait()
}

/// The arguments of a process, `None` if it is gone.
pub fn cmdline(pid: i32) -> Option<Vec<Vec<u8>>> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

/// The state letter of a process (`R`, `S`, `Z`, ...), `None` if it is gone.
pub fn state(pid: i32) -> Option<u8> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied()
}

/// A process's start time (clock ticks after boot, `/proc/<pid>/stat` field 22), `None` if
/// it is gone. With the pid it names one process, never a recycled pid.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let fields = std::str::from_utf8(&stat[close + 2..]).ok()?;
    // Fields after the command start at field 3 (state); the start time is field 22.
    fields.split_whitespace().nth(19)?.parse().ok()
}

/// Fail unless every one of these processes is gone entirely: not running and not a
/// zombie either (memwatch, their subreaper, must have reaped them before exiting).
#[track_caller]
pub fn assert_reaped(procs: &[(i32, u64)]) {
    let left: Vec<(i32, Option<u8>)> = procs
        .iter()
        .filter(|&&(pid, start)| start_time(pid) == Some(start))
        .map(|&(pid, _)| (pid, state(pid)))
        .collect();
    if !left.is_empty() {
        kill_all_exact(procs);
        panic!("job processes (pid, state) still there after memwatch exited: {left:?}");
    }
}

fn kill_all_exact(procs: &[(i32, u64)]) {
    for &(pid, start) in procs {
        if start_time(pid) == Some(start) {
            // SAFETY: kill(2) on a process this test started (pid and start time checked).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Whether a process exists and has not exited (a zombie has: this machine's init may never
/// reap the orphans a test leaves).
pub fn is_running(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists && !matches!(state(pid), None | Some(b'Z' | b'X'))
}

/// Whether `pid` is a live `memwatch __workload` process with `token` among its arguments
/// (so a pid recycled by some other process never counts).
pub fn is_job_process(pid: i32, token: &str) -> bool {
    let Some(args) = cmdline(pid) else {
        return false;
    };
    args.get(1).map(Vec::as_slice) == Some(b"__workload".as_slice())
        && args.iter().any(|a| a.as_slice() == token.as_bytes())
        && is_running(pid)
}

/// Live `memwatch __workload` processes with `token` among their arguments.
pub fn job_pids(token: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return pids;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if is_job_process(pid, token) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// Wait until exactly `n` workload processes carry `token`; returns their pids.
#[track_caller]
pub fn wait_for_job(token: &str, n: usize) -> Vec<i32> {
    let t = Instant::now();
    loop {
        let pids = job_pids(token);
        if pids.len() == n {
            return pids;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "expected {n} job processes, found {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Pids whose `/proc/<pid>/statm` memwatch (`mw`) keeps open: the processes it follows.
pub fn followed_by(mw: i32) -> Vec<i32> {
    let mut v = Vec::new();
    let Ok(dir) = fs::read_dir(format!("/proc/{mw}/fd")) else {
        return v;
    };
    for e in dir.flatten() {
        let Ok(target) = fs::read_link(e.path()) else {
            continue;
        };
        let t = target.as_os_str().as_bytes();
        if let Some(rest) = t.strip_prefix(b"/proc/") {
            if let Some(pid) = rest.strip_suffix(b"/statm") {
                if let Some(pid) = std::str::from_utf8(pid).ok().and_then(|s| s.parse().ok()) {
                    v.push(pid);
                }
            }
        }
    }
    v
}

/// Wait until memwatch follows every one of `pids` (so a signal now reaches them all).
#[track_caller]
pub fn wait_followed(mw: i32, pids: &[i32]) {
    let t = Instant::now();
    loop {
        let f = followed_by(mw);
        if pids.iter().all(|p| f.contains(p)) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "memwatch {mw} follows {f:?}, expected at least {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait (a little) for the job's processes to be gone, then fail naming the ones still
/// running.
#[track_caller]
pub fn assert_all_gone(token: &str, pids: &[i32]) {
    let t = Instant::now();
    loop {
        let left: Vec<i32> = pids
            .iter()
            .copied()
            .filter(|&p| is_job_process(p, token))
            .collect();
        if left.is_empty() {
            return;
        }
        if t.elapsed() > Duration::from_secs(5) {
            kill_job(token);
            panic!("job processes still running after memwatch exited: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILL every process of the job marked with `token` (test clean-up).
pub fn kill_job(token: &str) {
    for p in job_pids(token) {
        // SAFETY: kill(2) on a process of this test's job (checked by its arguments).
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
}

/// Kills what is left of the job marked with this token when dropped, so a failing
/// assertion leaves nothing behind.
pub struct KillOnDrop(pub String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_job(&self.0);
    }
}

/// Send `signal` to one process.
pub fn send(pid: i32, signal: i32) {
    // SAFETY: kill(2) with integer arguments.
    let r = unsafe { libc::kill(pid, signal) };
    assert_eq!(r, 0, "kill({pid}, {signal})");
}

/// 1 MiB in KiB.
pub const MIB: u64 = 1024;

/// Lines of `s` that are not empty.
pub fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}
