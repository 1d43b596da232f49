//! The job's processes as `/proc` shows them (found by a token among their arguments, so a
//! recycled pid never counts), what memwatch follows, and signals.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::poll;

/// How long a test waits for a job to take the shape it asked for.
const SETTLE: Duration = Duration::from_secs(30);

/// The arguments of a process, `None` if it is gone.
pub(crate) fn cmdline(pid: i32) -> Option<Vec<Vec<u8>>> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

/// The fields of `/proc/<pid>/stat` after the command (field 3, the state, first), `None`
/// if it is gone.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let fields = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    Some(fields.split_whitespace().map(str::to_string).collect())
}

/// The state letter of a process (`R`, `S`, `Z`, ...), `None` if it is gone.
pub(crate) fn state(pid: i32) -> Option<u8> {
    stat_fields(pid)?.first()?.bytes().next()
}

/// A process's start time (clock ticks after boot, `/proc/<pid>/stat` field 22), `None` if
/// it is gone. With the pid it names one process, never a recycled pid.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    // Fields after the command start at field 3 (state); the start time is field 22.
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Resident KiB of a process (`/proc/<pid>/statm`), `None` if it is gone.
pub(crate) fn rss_kib(pid: i32) -> Option<u64> {
    let statm = fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf with a valid name.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    Some(pages * page / 1024)
}

/// Wait until every one of `pids` has at least `kib` resident (its memory touched).
#[track_caller]
pub(crate) fn wait_resident(pids: &[i32], kib: u64) {
    poll(SETTLE, || {
        let low: Vec<(i32, Option<u64>)> = pids
            .iter()
            .map(|&p| (p, rss_kib(p)))
            .filter(|&(_, k)| k.unwrap_or(0) < kib)
            .collect();
        if low.is_empty() {
            Ok(())
        } else {
            Err(format!("(pid, KiB) below {kib} KiB: {low:?}"))
        }
    });
}

/// Fail unless every one of these processes is gone entirely: not running and not a
/// zombie either (memwatch, their subreaper, must have reaped them before exiting).
#[track_caller]
pub(crate) fn assert_reaped(procs: &[(i32, u64)]) {
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
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Whether a process exists and has not exited (a zombie has: this machine's init may never
/// reap the orphans a test leaves).
pub(crate) fn is_running(pid: i32) -> bool {
    let exists = kill(Pid::from_raw(pid), None).is_ok();
    exists && !matches!(state(pid), None | Some(b'Z' | b'X'))
}

/// Whether `pid` is a live `memwatch __workload` process with `token` among its arguments
/// (so a pid recycled by some other process never counts).
pub(crate) fn is_job_process(pid: i32, token: &str) -> bool {
    let Some(args) = cmdline(pid) else {
        return false;
    };
    args.get(1).map(Vec::as_slice) == Some(b"__workload".as_slice())
        && args.iter().any(|a| a.as_slice() == token.as_bytes())
        && is_running(pid)
}

/// Pids of the processes in `/proc` for which `keep` holds, sorted.
fn pids_where(keep: impl Fn(i32) -> bool) -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&pid| keep(pid))
        .collect();
    pids.sort_unstable();
    pids
}

/// Live `memwatch __workload` processes with `token` among their arguments.
pub(crate) fn job_pids(token: &str) -> Vec<i32> {
    pids_where(|pid| is_job_process(pid, token))
}

/// The pid of the `memwatch run` (started by any means, a shell in tmux too) whose
/// arguments include `token`.
pub(crate) fn memwatch_with(token: &str) -> Option<i32> {
    pids_where(|pid| {
        cmdline(pid).is_some_and(|args| {
            args.get(1).map(Vec::as_slice) == Some(b"run".as_slice())
                && args.iter().any(|a| a.as_slice() == token.as_bytes())
        })
    })
    .first()
    .copied()
}

/// Wait until exactly `n` workload processes carry `token`; returns their pids.
#[track_caller]
pub(crate) fn wait_for_job(token: &str, n: usize) -> Vec<i32> {
    poll(SETTLE, || {
        let pids = job_pids(token);
        if pids.len() == n {
            Ok(pids)
        } else {
            Err(format!("expected {n} job processes, found {pids:?}"))
        }
    })
}

/// Pids whose `/proc/<pid>/statm` memwatch (`mw`) keeps open: the processes it follows.
pub(crate) fn followed_by(mw: i32) -> Vec<i32> {
    let mut v = Vec::new();
    let Ok(dir) = fs::read_dir(format!("/proc/{mw}/fd")) else {
        return v;
    };
    for e in dir.flatten() {
        let Ok(target) = fs::read_link(e.path()) else {
            continue;
        };
        let t = target.as_os_str().as_bytes();
        let pid = t
            .strip_prefix(b"/proc/")
            .and_then(|rest| rest.strip_suffix(b"/statm"))
            .and_then(|pid| std::str::from_utf8(pid).ok()?.parse::<i32>().ok());
        v.extend(pid);
    }
    v
}

/// Wait until memwatch follows every one of `pids` (so a signal now reaches them all).
#[track_caller]
pub(crate) fn wait_followed(mw: i32, pids: &[i32]) {
    poll(SETTLE, || {
        let f = followed_by(mw);
        if pids.iter().all(|p| f.contains(p)) {
            Ok(())
        } else {
            Err(format!(
                "memwatch {mw} follows {f:?}, expected at least {pids:?}"
            ))
        }
    });
}

/// Wait until every one of `pids` ignores `signal` (`SigIgn` of its status): a workload
/// run with `--ignore-signals` is listed under its token from its `exec` on, a moment
/// before it ignores anything, and a signal sent then kills it.
#[track_caller]
pub(crate) fn wait_ignoring(pids: &[i32], signal: i32) {
    let bit = 1u64 << (signal - 1);
    poll(SETTLE, || {
        let ignoring = |p: &i32| {
            fs::read_to_string(format!("/proc/{p}/status"))
                .ok()
                .and_then(|s| {
                    let hex = s.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
                    u64::from_str_radix(hex.trim(), 16).ok()
                })
                .is_some_and(|mask| mask & bit != 0)
        };
        match pids.iter().find(|p| !ignoring(p)) {
            None => Ok(()),
            Some(p) => Err(format!("pid {p} does not ignore signal {signal} yet")),
        }
    });
}

/// Wait (a little) for the job's processes to be gone, then fail naming the ones still
/// running.
#[track_caller]
pub(crate) fn assert_all_gone(token: &str, pids: &[i32]) {
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
pub(crate) fn kill_job(token: &str) {
    for p in job_pids(token) {
        let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
    }
}

/// Kills what is left of the job marked with this token when dropped, so a failing
/// assertion leaves nothing behind.
pub(crate) struct KillOnDrop(pub String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_job(&self.0);
    }
}

/// Send `signal` to one process.
#[track_caller]
pub(crate) fn send(pid: i32, signal: i32) {
    let sig = Signal::try_from(signal).unwrap_or_else(|e| panic!("signal {signal}: {e}"));
    let r = kill(Pid::from_raw(pid), sig);
    assert_eq!(r, Ok(()), "kill({pid}, {signal})");
}
