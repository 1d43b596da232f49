//! Following one process: its handle, reading its memory (one `pread` of a kept-open
//! `statm` per sample), its PSS (`smaps_rollup`), its command line, and signalling it
//! through a pidfd so a recycled pid is never hit.

use std::mem::MaybeUninit;

use rustix::fd::{AsFd, OwnedFd};
use rustix::process::{Pid as RawPid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

use super::fds::Kept;
use super::files::{self, ProcPath, is_denied, is_fd_exhaustion};
use super::inspector::LinuxInspector;
use super::procfs;
use crate::sys::{Access, ExtraReading, Pid, ProcId, Reading, Seen};

/// How the backend follows one process.
pub struct LinuxHandle {
    pid: Pid,
    start: u64,
    /// Kept-open `/proc/<pid>/statm`; `None` (with `dir`) when it is read by path because
    /// the descriptor budget is spent.
    statm: Option<Kept>,
    /// Kept-open `/proc/<pid>` directory for a process whose `statm` is denied, to tell
    /// whether it is still alive.
    dir: Option<Kept>,
    /// Text pages at the previous reading (a change means `exec`).
    text: u64,
    /// Kept-open `/proc/<pid>/smaps_rollup`, opened at the first PSS reading.
    smaps: Option<Kept>,
    /// A reading failed for lack of descriptors (counted once in `Gaps::fd_processes`).
    pub(super) starved: bool,
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

impl LinuxInspector {
    /// Start following a process discovery saw: `None` if it is gone (or is another
    /// process by now).
    pub(super) fn follow_process(&mut self, seen: &Seen) -> Option<(LinuxHandle, Access)> {
        let dir = match files::open_dir(ProcPath::dir(seen.id.pid).as_c_str()) {
            Ok(fd) => fd,
            // Out of descriptors: follow by path, checking the start time at each reading.
            Err(e) if is_fd_exhaustion(e) => {
                return Some((LinuxHandle::by_path(seen.id), Access::Readable));
            }
            Err(_) => return None,
        };
        // The directory pins this very process: check it is the one discovery saw.
        let n = files::read_file_at(&dir, c"stat", &mut self.buf).ok()?;
        let stat = procfs::parse_stat(&self.buf[..n])?;
        if stat.starttime != seen.id.start || stat.is_dead() {
            return None;
        }
        let mut h = LinuxHandle::by_path(seen.id);
        match files::open_at(&dir, c"statm") {
            Ok(statm) => {
                if let Some(m) = files::read(&statm, &mut self.buf)
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
                // Past the budget it is read by path (`statm` closes here).
                if self.may_keep(&statm) {
                    h.statm = Some(Kept::new(statm));
                }
                Some((h, Access::Readable))
            }
            Err(e) if is_denied(e) => {
                if self.may_keep(&dir) {
                    h.dir = Some(Kept::new(dir));
                }
                Some((h, Access::Denied))
            }
            Err(e) if is_fd_exhaustion(e) => Some((h, Access::Readable)),
            Err(_) => None,
        }
    }

    /// The command line of a followed process; a process without arguments (a kernel
    /// thread, or one exiting) is shown by its name in brackets, as `ps` does.
    pub(super) fn command_line(&mut self, pid: Pid) -> String {
        let cmdline = ProcPath::file(pid, "cmdline");
        let n = files::read_file(cmdline.as_c_str(), &mut self.buf).unwrap_or(0);
        if n > 0 {
            return crate::sys::join_args(procfs::cmdline_args(&self.buf[..n]));
        }
        let stat = ProcPath::file(pid, "stat");
        let n = files::read_file(stat.as_c_str(), &mut self.buf).unwrap_or(0);
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

    /// The current reading of a followed process: the hot path, one `pread` in the steady
    /// state.
    pub(super) fn read_process(&mut self, h: &mut LinuxHandle) -> Reading {
        if let Some(statm) = &h.statm {
            // Left uninitialised: the kernel writes what is read (statm is under 100 bytes).
            let mut buf = [MaybeUninit::uninit(); 256];
            return match files::read_into(statm, &mut buf) {
                Ok(text) => self.statm_reading(h, text),
                Err(e) if is_denied(e) => Reading::Unknown,
                Err(_) => Reading::Gone,
            };
        }
        let mut buf = [0u8; 256];
        if let Some(dir) = &h.dir {
            // Denied: only liveness can be learned, from `stat` (longer than 256 bytes: the
            // field that tells a thread from a process comes near its end).
            return match files::read_file_at(dir, c"stat", &mut self.buf) {
                Ok(n) if procfs::parse_stat(&self.buf[..n]).is_some_and(|s| s.is_dead()) => {
                    Reading::Gone
                }
                Ok(_) => Reading::Unknown,
                Err(e) if is_denied(e) || is_fd_exhaustion(e) => Reading::Unknown,
                Err(_) => Reading::Gone,
            };
        }
        self.read_by_path(h, &mut buf)
    }

    /// No descriptor kept: open by path, and check the start time every time.
    fn read_by_path(&mut self, h: &mut LinuxHandle, buf: &mut [u8]) -> Reading {
        let stat = ProcPath::file(h.pid, "stat");
        match files::read_file(stat.as_c_str(), &mut self.buf) {
            Ok(n) => {
                let alive = procfs::parse_stat(&self.buf[..n])
                    .is_some_and(|s| s.starttime == h.start && !s.is_dead());
                if !alive {
                    return Reading::Gone;
                }
            }
            // Never "gone" (nor 0) for want of a descriptor: unknown this time.
            Err(e) if is_fd_exhaustion(e) => return self.unread(h),
            // `hidepid=noaccess`: alive as far as memwatch can tell.
            Err(e) if is_denied(e) => return Reading::Unknown,
            Err(_) => return Reading::Gone,
        }
        let statm = ProcPath::file(h.pid, "statm");
        match files::read_file(statm.as_c_str(), buf) {
            Ok(n) => self.statm_reading(h, &buf[..n]),
            Err(e) if is_denied(e) => Reading::Unknown,
            Err(e) if is_fd_exhaustion(e) => self.unread(h),
            Err(_) => Reading::Gone,
        }
    }

    // Inlined into the hot path: as a call it costs more than the private figure it adds.
    #[inline]
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
                    // Resident anonymous memory: statm's shared pages are the file-backed
                    // and shmem ones, whoever else maps them.
                    private_kib: Some(
                        m.resident
                            .saturating_sub(m.shared)
                            .saturating_mul(self.page_kib),
                    ),
                    exec,
                }
            }
            None => Reading::Gone,
        }
    }

    /// The PSS of a followed process, from its `smaps_rollup` (kept open while the
    /// descriptor budget allows).
    pub(super) fn read_pss(&mut self, h: &mut LinuxHandle) -> ExtraReading {
        // A kept descriptor belongs to the program the process ran when it was opened: after
        // an exec its reads fail (ESRCH), so it is reopened once.
        for _ in 0..2 {
            let opened: OwnedFd;
            let smaps = match &h.smaps {
                Some(kept) => kept.as_fd(),
                None => {
                    // Opened right after a reading showed the process alive (and the start
                    // time matched), so the pid is still this process's.
                    let path = ProcPath::file(h.pid, "smaps_rollup");
                    match files::open(path.as_c_str()) {
                        // Past the descriptor budget: read once and closed.
                        Ok(fd) if !self.may_keep(&fd) => {
                            opened = fd;
                            opened.as_fd()
                        }
                        Ok(fd) => Kept::as_fd(h.smaps.insert(Kept::new(fd))),
                        Err(e) if is_denied(e) => return ExtraReading::Denied,
                        Err(e) if is_fd_exhaustion(e) => {
                            self.short_of_fds();
                            return ExtraReading::Unavailable;
                        }
                        Err(_) => return ExtraReading::Unavailable,
                    }
                }
            };
            match files::read(smaps, &mut self.buf) {
                Ok(n) => {
                    return procfs::parse_smaps_rollup_pss(&self.buf[..n])
                        .map_or(ExtraReading::Unavailable, ExtraReading::Kib);
                }
                Err(e) if is_denied(e) => return ExtraReading::Denied,
                Err(_) => h.smaps = None,
            }
        }
        ExtraReading::Unavailable
    }

    /// Send `signal` to a followed process if it is still the one `h` follows.
    pub(super) fn signal_process(&mut self, id: ProcId, h: &mut LinuxHandle, signal: i32) -> bool {
        // Open a pidfd first, then check the followed process is still alive: if it is, the
        // pid was not recycled, so the pidfd refers to it and the signal cannot go astray.
        let pidfd = (id.pid > 0)
            .then(|| RawPid::from_raw(id.pid))
            .flatten()
            .and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok());
        if matches!(self.read_process(h), Reading::Gone) {
            return false;
        }
        match pidfd {
            // The signals memwatch sends all have names; a number without one is not sent.
            Some(fd) => {
                Signal::from_named_raw(signal).is_some_and(|s| pidfd_send_signal(fd, s).is_ok())
            }
            // Kernels before 5.3: a plain kill right after the liveness check.
            None => crate::sys::unix::signals::kill(id.pid, signal),
        }
    }
}
