//! The Linux backend: `/proc`, read with kept-open descriptors and reused buffers.
//!
//! - Reading: each job process's `/proc/<pid>/statm` stays open and is re-read with one
//!   `pread` at offset 0 (fresh data every time; `ESRCH` once the process is reaped, so a
//!   kept descriptor never reports a recycled pid). RSS comes from `statm`, not `stat`.
//! - Births: `/proc/loadavg` ends with the most recently allocated pid. If it has not moved,
//!   nobody was born; if it moved a little, only the pids in between are probed (their
//!   `stat` says parent, start time, and whether it is a thread). Cost does not grow with
//!   the number of unrelated processes on the machine. The same read gives the number of
//!   tasks: if it rose while the last pid stayed, a task took that very pid again (it was
//!   freed, then reused: `ns_last_pid`, `clone3` with `set_tid`), and that pid is probed
//!   (in the initial pid namespace only: elsewhere the count includes tasks the last pid
//!   does not show); it is probed again too whenever the pids after it are.
//! - Safety net (first sample, periodically, after big pid jumps or wrap-around): a walk of
//!   the `task/<tid>/children` files from memwatch down, which as child subreaper is the
//!   ancestor of every live job process. Without `CONFIG_PROC_CHILDREN`, a full `/proc` scan.
//! - Descriptors: statm stays open only while [`FD_RESERVE`] descriptors remain free under
//!   the open-files limit; past that, processes are read by path (open, read, close), so
//!   discovery and the report files never run short. Whatever still fails for lack of
//!   descriptors, or cannot be seen at all (`hidepid`), is counted in [`Gaps`].

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::procfs::{self, Stat};
use crate::sys::{
    Access, Discovery, ExtraReading, Gaps, Inspector, Metric, Pid, ProcId, Reading, SampleError,
    Seen,
};

/// A pid jump larger than this is not probed pid by pid: the children walk is cheaper.
const MAX_PROBE_RANGE: i32 = 512;
/// Pids at the top of a probed range that were not in `/proc` yet are probed once more at
/// the next sample (a task is visible in `/proc` slightly after its pid is allocated).
const RETRY_TOP: i32 = 8;
/// Descriptors left free under the open-files limit for everything but kept-open reads:
/// discovery (a directory and a file at once), following a new process (two at once),
/// command lines, pidfds, and the report files written at the end.
const FD_RESERVE: usize = 16;
/// A birth memwatch may not see (another user's process under `hidepid`) triggers a
/// children walk, to find it if it is the job's, at most this often.
const HIDDEN_WALK_EVERY: Duration = Duration::from_millis(100);

/// Descriptors kept open by handles, in the whole process (the limit is the process's).
static KEPT_FDS: AtomicUsize = AtomicUsize::new(0);

/// A descriptor a handle keeps open, counted in [`KEPT_FDS`] while it lives.
struct Kept<T>(T);

impl<T> Kept<T> {
    fn new(fd: T) -> Self {
        KEPT_FDS.fetch_add(1, Ordering::Relaxed);
        Kept(fd)
    }
}

impl<T> Drop for Kept<T> {
    fn drop(&mut self) {
        KEPT_FDS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T> std::ops::Deref for Kept<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Become the child subreaper, so descendants that daemonize (double fork) are reparented
/// to memwatch and stay in the job.
pub fn prepare_parent() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// How the backend follows one process.
pub struct LinuxHandle {
    pid: Pid,
    start: u64,
    /// Kept-open `/proc/<pid>/statm`; `None` (with `dir`) when it is read by path because
    /// the descriptor budget is spent.
    statm: Option<Kept<File>>,
    /// Kept-open `/proc/<pid>` directory for a process whose `statm` is denied, to tell
    /// whether it is still alive.
    dir: Option<Kept<OwnedFd>>,
    /// Text pages at the previous reading (a change means `exec`).
    text: u64,
    /// Kept-open `/proc/<pid>/smaps_rollup`, opened at the first PSS reading.
    smaps: Option<Kept<File>>,
    /// A reading failed for lack of descriptors (counted once in [`Gaps::fd_processes`]).
    starved: bool,
}

impl LinuxHandle {
    /// A handle that reads by path, checking the start time at each reading.
    fn by_path(id: ProcId) -> Self {
        LinuxHandle {
            pid: id.pid,
            start: id.start,
            statm: None,
            dir: None,
            text: 0,
            smaps: None,
            starved: false,
        }
    }
}

/// The Linux [`Inspector`].
pub struct LinuxInspector {
    self_pid: Pid,
    page_kib: u64,
    /// Boot time in microseconds since the epoch and clock ticks
    /// per second: a start time in ticks since boot put on the wall clock.
    boot_us: Option<i64>,
    ticks_per_s: i64,
    loadavg: File,
    last_pid: Option<i32>,
    /// Tasks on the machine at the previous sample (`/proc/loadavg`).
    tasks: Option<u64>,
    /// Whether memwatch runs in the initial pid namespace, where every new task moves the
    /// last pid, so a task count that rises while it stays means a reused pid. In another
    /// namespace the count includes the host's tasks and would trigger needless probes.
    count_tasks: bool,
    retry: Vec<i32>,
    retry_next: Vec<i32>,
    children_files: bool,
    buf: Vec<u8>,
    dents: Vec<u8>,
    queue: Vec<Pid>,
    tids: Vec<Pid>,
    /// Descriptors open when the inspector was made (standard streams, output files, the
    /// signal pipe, `/proc/loadavg`): not available to handles.
    base_fds: usize,
    /// Look for every process at the next sample: a search or probe ran out of descriptors.
    rescan: bool,
    /// A probe met a pid memwatch may not see: walk the children soon, in case it is the job's.
    hidden_birth: bool,
    /// When the last complete search ran.
    last_search: Option<Instant>,
    /// Invisible job processes found by the last walk, sorted, and by the current one.
    invisible: Vec<Pid>,
    invisible_next: Vec<Pid>,
    /// The current sample already counted a descriptor shortage.
    short_this_sample: bool,
    gaps: Gaps,
}

fn err(what: &str, source: io::Error) -> SampleError {
    SampleError {
        what: what.to_string(),
        source,
    }
}

/// When the machine booted, microseconds since the epoch: the wall clock now minus
/// `CLOCK_BOOTTIME` (the clock process start times count from). `/proc/stat`'s `btime` is
/// whole seconds and would put start times up to a second off.
fn boot_time_us() -> Option<i64> {
    let read = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime fills the valid timespec it is given.
        let ok = unsafe { libc::clock_gettime(clock, &mut ts) } == 0;
        #[allow(clippy::unnecessary_cast)] // time_t and c_long are i32 on 32-bit targets
        ok.then(|| ts.tv_sec as i64 * 1_000_000 + ts.tv_nsec as i64 / 1000)
    };
    Some(read(libc::CLOCK_REALTIME)? - read(libc::CLOCK_BOOTTIME)?)
}

impl LinuxInspector {
    /// Open what the backend keeps open (`/proc/loadavg`) and read the system's constants.
    pub fn new(self_pid: Pid) -> Result<Self, SampleError> {
        let loadavg = File::open("/proc/loadavg").map_err(|e| err("open /proc/loadavg", e))?;
        // SAFETY: sysconf with a valid name.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page_kib = if page > 0 { page as u64 / 1024 } else { 4 };
        // SAFETY: sysconf with a valid name.
        let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as i64;
        let boot_us = boot_time_us();
        let children_files =
            std::path::Path::new(&format!("/proc/{self_pid}/task/{self_pid}/children")).exists();
        let mut dents = vec![0; 32 * 1024];
        let mut base_fds = 0usize;
        // Its own descriptor on the directory is listed too: not counted.
        let _ = list_dir(c"/proc/self/fd", &mut dents, |_| base_fds += 1);
        Ok(LinuxInspector {
            self_pid,
            page_kib,
            boot_us,
            ticks_per_s,
            loadavg,
            last_pid: None,
            tasks: None,
            count_tasks: in_initial_pid_namespace(),
            retry: Vec::with_capacity(RETRY_TOP as usize),
            retry_next: Vec::with_capacity(RETRY_TOP as usize),
            children_files,
            buf: vec![0; 4096],
            dents,
            queue: Vec::with_capacity(256),
            tids: Vec::with_capacity(64),
            base_fds: base_fds.saturating_sub(1),
            rescan: false,
            hidden_birth: false,
            last_search: None,
            invisible: Vec::with_capacity(16),
            invisible_next: Vec::with_capacity(16),
            short_this_sample: false,
            gaps: Gaps::default(),
        })
    }

    /// Whether a handle may keep `fd` (just opened) open: [`FD_RESERVE`] descriptors must
    /// stay free under the open-files limit, counting the ones open at the start, the
    /// kept ones, and, for descriptors opened elsewhere since, `fd`'s own number (the
    /// kernel gives the lowest free one).
    fn may_keep(&self, fd: &impl AsRawFd) -> bool {
        let limit = usize::try_from(nofile_limit()).unwrap_or(usize::MAX);
        let kept = KEPT_FDS.load(Ordering::Relaxed);
        let lowest_free = usize::try_from(fd.as_raw_fd()).unwrap_or(usize::MAX);
        kept.saturating_add(self.base_fds)
            .saturating_add(FD_RESERVE)
            < limit
            && lowest_free.saturating_add(FD_RESERVE) < limit
    }

    /// memwatch ran out of descriptors: count the sample (once), and look for every
    /// process at the next one.
    fn short_of_fds(&mut self) {
        self.rescan = true;
        if !self.short_this_sample {
            self.short_this_sample = true;
            self.gaps.fd_samples += 1;
            self.gaps.fd_limit = Some(nofile_limit());
        }
    }

    /// A followed process could not be read for lack of descriptors: unknown this time.
    fn unread(&mut self, h: &mut LinuxHandle) -> Reading {
        self.short_of_fds();
        if !h.starved {
            h.starved = true;
            self.gaps.fd_processes += 1;
        }
        Reading::Unknown
    }

    /// Whether `/proc/<pid>/task/<tid>/children` exists on this kernel.
    pub fn has_children_files(&self) -> bool {
        self.children_files
    }

    /// Force the full `/proc` scan instead of the children walk (for tests and benches).
    pub fn set_children_files(&mut self, on: bool) {
        self.children_files = on && self.children_files;
    }

    /// The most recently allocated pid and the number of tasks, from `/proc/loadavg`.
    fn loadavg(&mut self) -> Result<(i32, Option<u64>), SampleError> {
        let n = self
            .loadavg
            .read_at(&mut self.buf, 0)
            .map_err(|e| err("read /proc/loadavg", e))?;
        procfs::parse_loadavg(&self.buf[..n]).ok_or_else(|| {
            err(
                "parse /proc/loadavg",
                io::Error::new(io::ErrorKind::InvalidData, "no last pid field"),
            )
        })
    }

    /// Read `/proc/<pid>/stat` of a process that may have been born.
    fn probe(&mut self, pid: Pid) -> Probe {
        let mut path = PathBuf::new();
        path.proc(pid).file(b"stat");
        match read_file(path.as_cstr(), &mut self.buf) {
            Ok(n) => procfs::parse_stat(&self.buf[..n])
                .filter(|s| !s.is_thread() && !s.is_dead())
                .map_or(Probe::Skip, Probe::Found),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Probe::Absent,
            Err(e) if is_denied(&e) => Probe::Hidden,
            Err(e) if is_fd_exhaustion(&e) => {
                self.short_of_fds();
                Probe::Skip
            }
            Err(_) => Probe::Skip,
        }
    }

    fn push_seen(&mut self, pid: Pid, out: &mut Vec<Seen>) {
        if let Probe::Found(s) = self.probe(pid) {
            out.push(seen_of(&s));
        }
    }

    /// A child of a job process that memwatch may not see: count it once while it lives.
    fn note_invisible(&mut self, pid: Pid) {
        if self.invisible.binary_search(&pid).is_err() && !self.invisible_next.contains(&pid) {
            self.gaps.invisible += 1;
        }
        if !self.invisible_next.contains(&pid) {
            self.invisible_next.push(pid);
        }
    }

    /// Breadth-first walk of `task/*/children` from memwatch: every live descendant. A
    /// child listed there whose `/proc/<pid>` memwatch may not see or open is counted as
    /// invisible.
    fn walk_children(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) {
        self.invisible_next.clear();
        self.queue.clear();
        self.queue.push(self.self_pid);
        while let Some(pid) = self.queue.pop() {
            self.tids.clear();
            let mut path = PathBuf::new();
            path.proc(pid).file(b"task");
            let tids = &mut self.tids;
            if let Err(e) = list_dir(path.as_cstr(), &mut self.dents, |n| tids.push(n)) {
                if is_fd_exhaustion(&e) {
                    self.short_of_fds();
                }
                continue;
            }
            for t in 0..self.tids.len() {
                let tid = self.tids[t];
                let mut path = PathBuf::new();
                path.proc(pid).file(b"task/").int(tid).file(b"/children");
                // Read it whole: 2000 children are ~12 KiB, more than one buffer.
                let n = match read_file_whole(path.as_cstr(), &mut self.buf) {
                    Ok(n) => n,
                    Err(e) => {
                        if is_fd_exhaustion(&e) {
                            self.short_of_fds();
                        }
                        continue;
                    }
                };
                let start = self.queue.len();
                self.queue.extend(procfs::children_pids(&self.buf[..n]));
                // Probe the ones not followed yet (the probe reuses `buf`, so after the copy).
                for q in start..self.queue.len() {
                    let child = self.queue[q];
                    if (d.is_live)(child) {
                        continue;
                    }
                    match self.probe(child) {
                        Probe::Found(s) => out.push(seen_of(&s)),
                        Probe::Hidden => self.note_invisible(child),
                        Probe::Absent if exists(child) => self.note_invisible(child),
                        Probe::Absent | Probe::Skip => {}
                    }
                }
            }
        }
        std::mem::swap(&mut self.invisible, &mut self.invisible_next);
        self.invisible.sort_unstable();
    }

    /// Every process in `/proc` not followed yet (kernels without children files).
    fn scan_all(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        self.queue.clear();
        let queue = &mut self.queue;
        match list_dir(c"/proc", &mut self.dents, |pid| queue.push(pid)) {
            Ok(()) => {}
            Err(e) if is_fd_exhaustion(&e) => self.short_of_fds(),
            Err(e) => return Err(err("list /proc", e)),
        }
        for i in 0..self.queue.len() {
            let pid = self.queue[i];
            if !(d.is_live)(pid) {
                self.push_seen(pid, out);
            }
        }
        Ok(())
    }

    fn search(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        self.rescan = false;
        self.hidden_birth = false;
        self.last_search = Some(Instant::now());
        if self.children_files {
            self.walk_children(d, out);
            Ok(())
        } else {
            self.scan_all(d, out)
        }
    }

    /// Probe the pids from `from` to `to`, both included. `from` is the last pid of the
    /// previous sample, probed then: not retried.
    fn probe_range(&mut self, from: i32, to: i32, out: &mut Vec<Seen>) {
        // Already probed at this sample when it was left to retry.
        let first = if self.retry.contains(&from) {
            from + 1
        } else {
            from
        };
        for pid in first..=to {
            match self.probe(pid) {
                Probe::Found(s) => out.push(seen_of(&s)),
                Probe::Skip => {}
                // Another user's process hidden by hidepid: the job's, if a walk finds it
                // among the children of job processes.
                Probe::Hidden => self.hidden_birth = true,
                Probe::Absent => {
                    if exists(pid) {
                        self.hidden_birth = true;
                    } else if pid > from
                        && to - pid < RETRY_TOP
                        && self.retry_next.len() < RETRY_TOP as usize
                    {
                        self.retry_next.push(pid);
                    }
                }
            }
        }
    }

    /// Whether discovery should look for every process now although the core asked only
    /// for births: a search or probe ran out of descriptors, or a hidden birth is waiting
    /// for a walk (at most every [`HIDDEN_WALK_EVERY`]).
    fn search_due(&self) -> bool {
        self.rescan
            || (self.hidden_birth
                && self.children_files
                && self
                    .last_search
                    .is_none_or(|t| t.elapsed() >= HIDDEN_WALK_EVERY))
    }
}

/// Which pids discovery probes for births.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Births {
    /// Nobody was born.
    None,
    /// These pids, both included.
    Probe(i32, i32),
    /// Too many, or the pids wrapped around: look for every process.
    Search,
}

/// What to probe, from the last pid and task count at the previous sample and now.
///
/// New pids are those after the previous last one. That pid itself may have been freed and
/// taken again by a new task (`ns_last_pid`, `clone3` with `set_tid`): the last pid does not
/// move then, but the task count rises (unless a task exited meanwhile), so that pid is
/// probed; and it is probed again whenever the pids after it are, in case the new task
/// took it before them.
fn births(last: i32, tasks: Option<u64>, newest: i32, now: Option<u64>) -> Births {
    if newest == last {
        return match (tasks, now) {
            (Some(before), Some(now)) if now > before => Births::Probe(last, last),
            _ => Births::None,
        };
    }
    // Wrapped around pid_max, or too many births to probe one by one.
    if newest < last || newest - last > MAX_PROBE_RANGE {
        return Births::Search;
    }
    Births::Probe(last, newest)
}

/// What probing a pid found.
enum Probe {
    /// A process (not a thread, not a zombie).
    Found(Stat),
    /// Nothing to follow: a thread, a zombie, gone, or no descriptor to look.
    Skip,
    /// No `/proc/<pid>`: not there yet, gone, or hidden (`hidepid=invisible`).
    Absent,
    /// `/proc/<pid>` may not be opened (`hidepid=noaccess`).
    Hidden,
}

/// Whether a process with this pid exists (possibly another user's), whatever `/proc` shows.
fn exists(pid: Pid) -> bool {
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks that the pid exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether memwatch runs in the initial pid namespace (its `/proc/self/ns/pid` has the
/// kernel's fixed inode number for it, `PROC_PID_INIT_INO`).
fn in_initial_pid_namespace() -> bool {
    use std::os::unix::fs::MetadataExt;
    const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;
    std::fs::metadata("/proc/self/ns/pid").is_ok_and(|m| m.ino() == PROC_PID_INIT_INO)
}

/// The soft open-files limit (`RLIMIT_NOFILE`) as it is now.
fn nofile_limit() -> u64 {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the valid rlimit it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return u64::MAX;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u32 on some 32-bit targets
    let cur = rl.rlim_cur as u64;
    cur
}

fn seen_of(s: &Stat) -> Seen {
    Seen {
        id: ProcId {
            pid: s.pid,
            start: s.starttime,
        },
        ppid: s.ppid,
        pgid: s.pgrp,
    }
}

impl Inspector for LinuxInspector {
    type Handle = LinuxHandle;

    fn discover(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        self.short_this_sample = false;
        let (newest, tasks) = self.loadavg()?;
        let tasks = tasks.filter(|_| self.count_tasks);
        let tasks_before = std::mem::replace(&mut self.tasks, tasks);
        let full = d.full || self.search_due();
        let Some(last) = self.last_pid.filter(|_| !full) else {
            self.last_pid = Some(newest);
            self.retry.clear();
            return self.search(d, out);
        };
        self.last_pid = Some(newest);
        std::mem::swap(&mut self.retry, &mut self.retry_next);
        self.retry_next.clear();
        for i in 0..self.retry.len() {
            let pid = self.retry[i];
            self.push_seen(pid, out);
        }
        match births(last, tasks_before, newest, tasks) {
            Births::None => return Ok(()),
            Births::Search => return self.search(d, out),
            Births::Probe(from, to) => self.probe_range(from, to, out),
        }
        // A birth /proc hides from memwatch: walk the job's children now, in case it is one.
        if self.search_due() {
            return self.search(d, out);
        }
        Ok(())
    }

    fn follow(&mut self, seen: &Seen) -> Option<(LinuxHandle, Access)> {
        let mut path = PathBuf::new();
        path.proc(seen.id.pid);
        let dir = match open(path.as_cstr(), libc::O_DIRECTORY) {
            Ok(fd) => fd,
            // Out of descriptors: follow by path, checking the start time at each reading.
            Err(e) if is_fd_exhaustion(&e) => {
                return Some((LinuxHandle::by_path(seen.id), Access::Readable));
            }
            Err(_) => return None,
        };
        // The directory pins this very process: check it is the one discovery saw.
        let n = read_at_dir(&dir, c"stat", &mut self.buf).ok()?;
        let stat = procfs::parse_stat(&self.buf[..n])?;
        if stat.starttime != seen.id.start || stat.is_dead() {
            return None;
        }
        let mut h = LinuxHandle::by_path(seen.id);
        match openat(&dir, c"statm") {
            Ok(fd) => {
                let keep = self.may_keep(&fd);
                let file = File::from(fd);
                if let Some(m) = file
                    .read_at(&mut self.buf, 0)
                    .ok()
                    .and_then(|n| procfs::parse_statm(&self.buf[..n]))
                {
                    // Its memory is released: it is exiting (and may be a job process the
                    // core already retired, seen again once reparented), not a new process.
                    if m.is_empty() {
                        return None;
                    }
                    h.text = m.text;
                }
                // Past the budget it is read by path (`file` closes here).
                if keep {
                    h.statm = Some(Kept::new(file));
                }
                Some((h, Access::Readable))
            }
            Err(e) if is_denied(&e) => {
                if self.may_keep(&dir) {
                    h.dir = Some(Kept::new(dir));
                }
                Some((h, Access::Denied))
            }
            Err(e) if is_fd_exhaustion(&e) => Some((h, Access::Readable)),
            Err(_) => None,
        }
    }

    fn command(&mut self, seen: &Seen, _handle: &mut LinuxHandle) -> String {
        let mut path = PathBuf::new();
        path.proc(seen.id.pid).file(b"cmdline");
        let n = read_file(path.as_cstr(), &mut self.buf).unwrap_or(0);
        if n > 0 {
            return crate::sys::join_args(procfs::cmdline_args(&self.buf[..n]));
        }
        // Kernel threads and exiting processes have no arguments: show the name as ps does.
        let mut path = PathBuf::new();
        path.proc(seen.id.pid).file(b"stat");
        let n = read_file(path.as_cstr(), &mut self.buf).unwrap_or(0);
        let stat = &self.buf[..n];
        match (
            stat.iter().position(|&b| b == b'('),
            stat.iter().rposition(|&b| b == b')'),
        ) {
            (Some(a), Some(b)) if a < b => {
                format!("[{}]", String::from_utf8_lossy(&stat[a + 1..b]))
            }
            _ => String::from("[unknown]"),
        }
    }

    fn read(&mut self, h: &mut LinuxHandle) -> Reading {
        let mut buf = [0u8; 256];
        if let Some(statm) = &h.statm {
            return match statm.read_at(&mut buf, 0) {
                Ok(n) => self.statm_reading(h, &buf[..n]),
                Err(e) if is_denied(&e) => Reading::Unknown,
                Err(_) => Reading::Gone,
            };
        }
        if let Some(dir) = &h.dir {
            // Denied: only liveness can be learned.
            return match read_at_dir(dir, c"stat", &mut buf) {
                Ok(n) if procfs::parse_stat(&buf[..n]).is_some_and(|s| s.is_dead()) => {
                    Reading::Gone
                }
                Ok(_) => Reading::Unknown,
                Err(e) if is_denied(&e) || is_fd_exhaustion(&e) => Reading::Unknown,
                Err(_) => Reading::Gone,
            };
        }
        // No descriptor kept: open by path and check the start time every time.
        let mut path = PathBuf::new();
        path.proc(h.pid).file(b"stat");
        match read_file(path.as_cstr(), &mut self.buf) {
            Ok(n) => {
                let alive = procfs::parse_stat(&self.buf[..n])
                    .is_some_and(|s| s.starttime == h.start && !s.is_dead());
                if !alive {
                    return Reading::Gone;
                }
            }
            // Never "gone" (nor 0) for want of a descriptor: unknown this time.
            Err(e) if is_fd_exhaustion(&e) => return self.unread(h),
            // `hidepid=noaccess`: alive as far as memwatch can tell.
            Err(e) if is_denied(&e) => return Reading::Unknown,
            Err(_) => return Reading::Gone,
        }
        let mut path = PathBuf::new();
        path.proc(h.pid).file(b"statm");
        match read_file(path.as_cstr(), &mut buf) {
            Ok(n) => self.statm_reading(h, &buf[..n]),
            Err(e) if is_denied(&e) => Reading::Unknown,
            Err(e) if is_fd_exhaustion(&e) => self.unread(h),
            Err(_) => Reading::Gone,
        }
    }

    fn supports(&self, extra: Metric) -> bool {
        extra == Metric::Pss && std::path::Path::new("/proc/self/smaps_rollup").exists()
    }

    fn read_extra(&mut self, extra: Metric, h: &mut LinuxHandle) -> ExtraReading {
        if extra != Metric::Pss {
            return ExtraReading::Unavailable;
        }
        // A kept descriptor belongs to the program the process ran when it was opened: after
        // an exec its reads fail (ESRCH), so it is reopened once.
        for _ in 0..2 {
            let opened;
            let smaps = match &h.smaps {
                Some(f) => &**f,
                None => {
                    // Opened right after a reading showed the process alive (and the start
                    // time matched), so the pid is still this process's.
                    let mut path = PathBuf::new();
                    path.proc(h.pid).file(b"smaps_rollup");
                    match open(path.as_cstr(), 0) {
                        // Past the descriptor budget: read once and closed.
                        Ok(fd) if !self.may_keep(&fd) => {
                            opened = File::from(fd);
                            &opened
                        }
                        Ok(fd) => &**h.smaps.insert(Kept::new(File::from(fd))),
                        Err(e) if is_denied(&e) => return ExtraReading::Denied,
                        Err(e) if is_fd_exhaustion(&e) => {
                            self.short_of_fds();
                            return ExtraReading::Unavailable;
                        }
                        Err(_) => return ExtraReading::Unavailable,
                    }
                }
            };
            match smaps.read_at(&mut self.buf, 0) {
                Ok(n) => {
                    return procfs::parse_smaps_rollup_pss(&self.buf[..n])
                        .map_or(ExtraReading::Unavailable, ExtraReading::Kib);
                }
                Err(e) if is_denied(&e) => return ExtraReading::Denied,
                Err(_) => h.smaps = None,
            }
        }
        ExtraReading::Unavailable
    }

    fn gaps(&self) -> Gaps {
        self.gaps
    }

    fn start_unix_us(&self, id: ProcId) -> Option<i64> {
        let ticks = i64::try_from(id.start).ok()?;
        Some(self.boot_us? + ticks * 1_000_000 / self.ticks_per_s)
    }

    fn signal(&mut self, id: ProcId, h: &mut LinuxHandle, signal: i32) -> bool {
        // Open a pidfd first, then check the followed process is still alive: if it is, the
        // pid was not recycled, so the pidfd refers to it and the signal cannot go astray.
        // SAFETY: pidfd_open takes a pid and flags, returns a new descriptor or -1.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, id.pid, 0) } as RawFd;
        let pidfd = if raw >= 0 {
            // SAFETY: a fresh descriptor owned by nobody else.
            Some(unsafe { OwnedFd::from_raw_fd(raw) })
        } else {
            None
        };
        if matches!(self.read(h), Reading::Gone) {
            return false;
        }
        match pidfd {
            // SAFETY: pidfd_send_signal on a descriptor we own, no siginfo, no flags.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                ) == 0
            },
            // Kernels before 5.3: plain kill right after the liveness check.
            None => crate::sys::unix::signals::kill(id.pid, signal),
        }
    }
}

impl LinuxInspector {
    fn statm_reading(&self, h: &mut LinuxHandle, buf: &[u8]) -> Reading {
        match procfs::parse_statm(buf) {
            // All zeros: a zombie, its memory already released.
            Some(m) if m.is_empty() => Reading::Gone,
            // A new image without text: exec has replaced the memory but not loaded the
            // program yet. The next reading (text > 0) counts as an exec.
            Some(m) if m.text == 0 => {
                h.text = 0;
                // A kept smaps_rollup belongs to the image being replaced.
                h.smaps = None;
                Reading::Loading
            }
            Some(m) => {
                // Also from 0: mid-exec, the new image has no text and no arguments yet.
                let exec = m.text != h.text;
                if exec {
                    h.smaps = None;
                }
                h.text = m.text;
                Reading::Rss {
                    kib: m.resident.saturating_mul(self.page_kib),
                    exec,
                }
            }
            None => Reading::Gone,
        }
    }
}

fn is_denied(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM))
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// A `/proc/...` path built on the stack, NUL-terminated.
struct PathBuf {
    buf: [u8; 64],
    len: usize,
}

impl PathBuf {
    fn new() -> Self {
        PathBuf {
            buf: [0; 64],
            len: 0,
        }
    }
    fn proc(&mut self, pid: Pid) -> &mut Self {
        self.file(b"/proc/").int(pid)
    }
    fn file(&mut self, s: &[u8]) -> &mut Self {
        if s.first() != Some(&b'/') && self.len > 0 && self.buf[self.len - 1] != b'/' {
            self.push(b'/');
        }
        for &b in s {
            self.push(b);
        }
        self
    }
    fn int(&mut self, v: i32) -> &mut Self {
        let mut digits = [0u8; 12];
        let mut n = v.unsigned_abs();
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &b in &digits[i..] {
            self.push(b);
        }
        self
    }
    fn push(&mut self, b: u8) {
        // The longest path is "/proc/<pid>/task/<tid>/children": far below 63 bytes.
        if self.len < self.buf.len() - 1 {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }
    fn as_cstr(&self) -> &CStr {
        // The buffer is zero-initialised and `push` never writes the last byte, so there
        // is always a NUL after `len`, and path pieces never contain NUL.
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).unwrap_or(c"/")
    }
}

fn open(path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; the flags are plain integers.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn openat(dir: &OwnedFd, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `dir` is an open directory descriptor and `name` is NUL-terminated.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn read_at_dir(dir: &OwnedFd, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    let fd = openat(dir, name)?;
    pread(&fd, buf)
}

/// Open, read (one `pread` at offset 0; `/proc` files memwatch reads fit one buffer) and close.
fn read_file(path: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    let fd = open(path, 0)?;
    pread(&fd, buf)
}

/// Read a whole file from its start, growing `buf` (kept for the next calls) when the file
/// does not fit. Returns the length read.
fn read_file_whole(path: &CStr, buf: &mut Vec<u8>) -> io::Result<usize> {
    let fd = open(path, 0)?;
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len().max(4096) * 2, 0);
        }
        let rest = &mut buf[len..];
        // SAFETY: `rest` is valid for `rest.len()` bytes of writes.
        let n = unsafe { libc::read(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(len);
        }
        len += n as usize;
    }
}

fn pread(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
    let n = unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Call `f` with every all-digit entry name of a directory, using raw `getdents64` into a
/// reused buffer (no allocation, unlike `std::fs::read_dir`).
fn list_dir(path: &CStr, dents: &mut [u8], mut f: impl FnMut(i32)) -> io::Result<()> {
    let dir = open(path, libc::O_DIRECTORY)?;
    loop {
        // SAFETY: getdents64 writes at most `dents.len()` bytes into `dents`.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                dents.as_mut_ptr(),
                dents.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(());
        }
        let mut off = 0usize;
        let n = n as usize;
        // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
        while off + 19 <= n {
            let reclen = u16::from_ne_bytes([dents[off + 16], dents[off + 17]]) as usize;
            if reclen == 0 || off + reclen > n {
                break;
            }
            let name = &dents[off + 19..off + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if let Some(pid) = procfs::parse_int(name).filter(|&p| p > 0) {
                f(pid);
            }
            off += reclen;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_building() {
        let mut p = PathBuf::new();
        p.proc(1234).file(b"task/").int(7).file(b"/children");
        assert_eq!(p.as_cstr(), c"/proc/1234/task/7/children");
        let mut p = PathBuf::new();
        p.proc(5).file(b"statm");
        assert_eq!(p.as_cstr(), c"/proc/5/statm");
    }

    #[test]
    fn reads_whole_files_larger_than_the_buffer() {
        let path = std::env::temp_dir().join(format!("memwatch-whole-{}", std::process::id()));
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        let mut buf = vec![0; 16];
        let n = read_file_whole(&c, &mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn births_to_probe() {
        let t = Some;
        assert_eq!(births(100, t(50), 100, t(50)), Births::None, "nothing new");
        assert_eq!(births(100, t(50), 100, t(49)), Births::None, "a task ended");
        // The last pid was freed and taken again: only the task count tells.
        assert_eq!(births(100, t(50), 100, t(51)), Births::Probe(100, 100));
        assert_eq!(
            births(100, None, 100, t(51)),
            Births::None,
            "no count before"
        );
        assert_eq!(births(100, t(50), 100, None), Births::None, "no count now");
        // New pids, and the last one again (it may have been taken before them).
        assert_eq!(births(100, t(50), 103, t(50)), Births::Probe(100, 103));
        assert_eq!(births(100, t(50), 612, t(50)), Births::Probe(100, 612));
        assert_eq!(births(100, t(50), 613, t(50)), Births::Search, "too many");
        assert_eq!(births(30000, t(50), 300, t(51)), Births::Search, "wrapped");
    }

    #[test]
    fn lists_proc() {
        let mut dents = vec![0; 4096];
        let mut pids = Vec::new();
        list_dir(c"/proc", &mut dents, |p| pids.push(p)).unwrap();
        assert!(pids.contains(&(std::process::id() as i32)));
        assert!(pids.contains(&1));
    }
}
