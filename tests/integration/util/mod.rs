//! Helpers shared by every module, written once: running memwatch (or any command) with a
//! deadline ([`exec`]), the job's processes in `/proc` and signals ([`procs`]), skipping a
//! test that cannot run here ([`skip`]), the tmux harness ([`tmux`]), the one-node Slurm
//! cluster ([`slurm`]), temporary
//! directories, polling with a deadline, and serialising the heavy tests.

#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

pub(crate) mod exec;
pub(crate) mod procs;
pub(crate) mod skip;
pub(crate) mod slurm;
pub(crate) mod tmux;

pub(crate) use exec::*;
pub(crate) use procs::*;
pub(crate) use skip::*;
pub(crate) use tmux::Tmux;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(crate) use tempfile::TempDir;

/// 1 MiB in KiB.
pub(crate) const MIB: u64 = 1024;

/// 1 GiB in KiB.
pub(crate) const GIB: u64 = 1024 * 1024;

static HEAVY: Mutex<()> = Mutex::new(());

/// Serialise the tests that touch hundreds of MiB, run thousands of processes or keep the
/// CPUs busy (MPI ranks, Chromium), so they neither exhaust a small machine nor slow each
/// other's sampling down.
pub(crate) fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A string no other process on the machine has in its command line.
pub(crate) fn token(name: &str) -> String {
    format!(
        "mwtest-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory (`memwatch-<name>-…` in the temporary directory), removed with
/// whatever is inside when dropped.
#[track_caller]
pub(crate) fn tempdir(name: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("memwatch-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}"))
}

/// What the tests ask of a temporary directory besides its path.
pub(crate) trait DirExt {
    /// A path inside it.
    fn join(&self, p: impl AsRef<Path>) -> PathBuf;
    /// Names of its entries, sorted.
    fn list(&self) -> Vec<String>;
}

impl DirExt for TempDir {
    fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path().join(p)
    }

    fn list(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// How often [`poll`] looks again.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// Call `probe` until it gives `Ok` (its value is returned), every 10 ms; after `within`,
/// fail with what its last `Err` said. The way to wait for a condition before asserting on
/// it: never a fixed sleep that a slow machine outlasts.
#[track_caller]
pub(crate) fn poll<T>(within: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let until = Instant::now() + within;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(why) if Instant::now() >= until => panic!("still not so after {within:?}: {why}"),
            Err(_) => std::thread::sleep(POLL_EVERY),
        }
    }
}

/// Bytes as text (lossy).
pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Lines of `s` that are not empty.
pub(crate) fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// memwatch's stderr without its warning that the machine kept it from its interval (a
/// busy test machine can delay any run; tests about something else look past it).
pub(crate) fn past_interval_warning(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !(l.starts_with("memwatch: warning: memwatch sampled every")))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A report's warnings but the one that the machine kept memwatch from its interval.
pub(crate) fn past_interval_warnings(warnings: &[String]) -> Vec<&String> {
    warnings
        .iter()
        .filter(|w| !w.starts_with("memwatch sampled every"))
        .collect()
}

/// A program on the `PATH`, if there is one.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
