//! The macOS backend: libproc and `sysctl`, no subprocess, and no allocation per sample in
//! the steady state. Every call, struct, unit and failure mode used here is documented with
//! its xnu source in `platforms.md` Part A; the decisions that need no macOS (which pids to
//! probe, who may belong, units, byte layouts read by hand) are in [`super::darwin`],
//! unit-tested on every platform.
//!
//! # Membership without a subreaper
//!
//! macOS has no child subreaper: an orphan is re-parented to launchd (pid 1), so the ppid
//! chain from memwatch loses it. Membership is therefore the ppid chain **plus** process
//! groups:
//! - a process whose parent is memwatch or a live job process (with a start time not before
//!   the parent's) belongs, as on Linux ([`crate::job`]);
//! - so does one whose process group is led by a live job process (a shell with job control
//!   puts each pipeline in its own group, so its orphans stay in);
//! - memwatch does not move the command into a group of its own (a background group would
//!   lose the terminal's Ctrl+C and stop at its first read from the terminal). When memwatch
//!   leads its own process group, as it does when an interactive shell starts it, the
//!   command and every descendant that does not move inherit that group; an orphan found in
//!   it (parent launchd, `pgid` = memwatch's pid) can only come from the job, so it is
//!   recorded as memwatch's child ([`darwin::adopted_ppid`]), which is what the Linux
//!   subreaper would show.
//!
//! What escapes: a process whose parent exited before any sample saw the parent, and that
//! has left the job's groups: typically a daemon that double-forks and calls `setsid` (or
//! `setpgid`) in between. Also, when memwatch does not lead its group (started by a script
//! without job control, or after another process in a pipeline), orphans of the command's
//! own group are only found through a live group leader. A pipeline neighbour of memwatch
//! (`memwatch cmd | tee log`) shares memwatch's group, but it is never adopted while its
//! parent, the shell, is alive.
//!
//! # Discovery
//!
//! There is no "last allocated pid" to watch as on Linux, so every sample lists all pids
//! with `proc_listallpids` into a reused buffer (it takes bytes, returns a count, returns 0
//! on error; a full buffer is grown and the call repeated) and sorts the list in place.
//! Only pids absent from the previous listing are probed (`PROC_PIDT_SHORTBSDINFO` with
//! arg 1: ppid, pgid, zombie state; it works for other users' processes), except when the
//! core asks for a full search, which probes every pid not already followed. A pid whose
//! probe failed transiently (exited or still being created) is probed again next time.
//! Probed processes that may belong ([`darwin::mark_candidates`], a superset of the core's
//! rule) get a start-time read and are handed to the core. `proc_listchildpids` per job
//! process was not used: each call is a full walk of the kernel's process list, and it
//! cannot see orphans, which the group rule needs the full listing for anyway.
//!
//! Cost per sample, steady state: one `proc_listallpids` (about 0.1 ms for 1000 processes,
//! `platforms.md` A.8), an in-place sort and a merge with the previous listing; a full
//! search adds about 0.2 µs per process on the machine.
//!
//! # Identity
//!
//! A process is its pid plus its start time: `pbi_start_tvsec`/`pbi_start_tvusec` of
//! `PROC_PIDTBSDINFO` in microseconds since the epoch. That flavor is refused (EPERM) for
//! another user's process (setuid programs such as `sudo` included), so the start time then
//! comes from `sysctl(KERN_PROC_PID)`'s `kinfo_proc`, which every user may read and which
//! holds the same kernel field (`p_start`): the identity is never a guess. Each reading
//! checks the process is still the one followed through `ri_proc_start_abstime` (its
//! fork time in Mach ticks, returned by the same call as the RSS, so free), and a
//! signal is sent only after the start time was read again and matched (macOS has no pidfd:
//! a pid recycled in the microseconds between that check and `kill` would need all 99,999
//! pids to be used in between).
//!
//! # Reading memory
//!
//! One `proc_pid_rusage(RUSAGE_INFO_V4)` per followed process and sample: `ri_resident_size`
//! (bytes, reported in KiB rounded down), `ri_proc_start_abstime` (identity),
//! `ri_proc_exit_abstime` (non-zero once the process is a zombie: the kernel then serves
//! figures stashed at exit, which are not live memory, so the process is gone), and
//! `ri_uuid`, the UUID of the main executable: a change means the process ran `exec`, and
//! triggers a new read of its command line. An `exec` of the same binary keeps the UUID and
//! is not noticed (the Linux backend's text-size test has the same blind spot). A process
//! that the kernel will not describe (EPERM: another user, setuid) reads as unknown, never
//! as 0; its liveness and identity still come from the start-time check.
//!
//! # What RSS means on macOS
//!
//! `ri_resident_size` is the task's `phys_mem` ledger: pages resident in RAM, shared pages
//! included, as `ps -o rss` and psutil's `rss` report. It is not what Activity Monitor's
//! "Memory" column shows (that is `phys_footprint`: dirty private memory plus compressed
//! memory). Resident size does not drop when the malloc zones give pages back with
//! `madvise(MADV_FREE_REUSABLE)`, so after a big free it stays higher than the footprint
//! until the system reclaims the pages. The kernel's own peak for the command
//! (`wait4`'s `ru_maxrss`, in bytes on macOS) is a resident peak too, read in
//! [`crate::sys::reap_one`].
//!
//! # Command lines
//!
//! Read once per process and again after `exec`: `sysctl([CTL_KERN, KERN_PROCARGS2, pid])`
//! into a buffer of `kern.argmax` bytes (read once; a smaller buffer makes the kernel return
//! the tail of the area, whose head is then garbage), parsed by [`super::procargs`]. For
//! another user's process that call fails (EINVAL), so the executable path from
//! `proc_pidpath` is shown instead, then the short name (`pbsi_comm`) in brackets.

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr;

use libc::{c_int, c_void};

use super::darwin::{self, Row};
use crate::sys::{
    Access, Discovery, ExtraReading, Inspector, Metric, Pid, ProcId, Reading, SampleError, Seen,
};

// The layouts the kernel writes into, checked against the xnu headers (`platforms.md` A.1):
// a mistake here must fail the build, not corrupt memory.
const _: () = assert!(size_of::<libc::proc_bsdshortinfo>() == 64);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_ppid) == 4);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_pgid) == 8);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_status) == 12);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_comm) == 16);
const _: () = assert!(size_of::<libc::proc_bsdinfo>() == 136);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_status) == 4);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_start_tvsec) == 120);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_start_tvusec) == 128);
const _: () = assert!(size_of::<libc::proc_taskinfo>() == 96);
// rusage_info_v4: a 16-byte UUID and 35 u64 counters. proc_pid_rusage takes no size: the
// kernel writes sizeof(struct rusage_info_v4) for RUSAGE_INFO_V4, so this must be exact.
const _: () = assert!(size_of::<libc::rusage_info_v4>() == 296);
const _: () = assert!(offset_of!(libc::rusage_info_v4, ri_resident_size) == 64);
const _: () = assert!(offset_of!(libc::rusage_info_v4, ri_proc_start_abstime) == 80);
const _: () = assert!(offset_of!(libc::rusage_info_v4, ri_proc_exit_abstime) == 88);
// proc_pidinfo takes and returns sizes as c_int.
const SHORT_SIZE: c_int = size_of::<libc::proc_bsdshortinfo>() as c_int;
const BSD_SIZE: c_int = size_of::<libc::proc_bsdinfo>() as c_int;
/// `proc_pidpath` wants a buffer of 1024 to 4096 bytes (`libproc.c`).
const PATH_SIZE: usize = libc::PROC_PIDPATHINFO_MAXSIZE as usize;
/// `ARG_MAX` of `<sys/syslimits.h>`, if `kern.argmax` cannot be read.
const DEFAULT_ARGMAX: usize = 1024 * 1024;

/// macOS has no child subreaper (`platforms.md` A.6), so there is nothing to prepare: orphans
/// are followed through memwatch's process group instead (see the module documentation).
pub fn prepare_parent() -> io::Result<()> {
    Ok(())
}

/// How the backend follows one process: nothing is kept open, only what tells a later
/// reading whether it is still the same process and whether it ran `exec`.
#[derive(Debug)]
pub struct MacHandle {
    pid: Pid,
    /// Start time, microseconds since the epoch (the core's [`ProcId::start`]).
    start: u64,
    /// `ri_proc_start_abstime` once the process could be read; `None` while it is denied.
    abstime: Option<u64>,
    /// `ri_uuid` at the previous reading.
    uuid: Option<[u8; 16]>,
    /// `ri_phys_footprint` at the previous reading, bytes (`--metric footprint` costs no
    /// extra call: it comes with the RSS).
    footprint: Option<u64>,
}

/// The macOS [`Inspector`].
pub struct MacInspector {
    self_pid: Pid,
    /// The listing buffer; its whole length is offered to `proc_listallpids`.
    pids: Vec<Pid>,
    /// Pids of the previous listing that need no probe (sorted).
    known: Vec<Pid>,
    /// `known` being built for the next sample.
    next_known: Vec<Pid>,
    /// Probed processes of this sample, sorted by pid.
    rows: Vec<Row>,
    /// Whether a listing was taken (the first one is always a full search).
    listed: bool,
    /// `KERN_PROCARGS2` buffer, `kern.argmax` bytes.
    args: Vec<u8>,
}

fn err(what: &str, source: io::Error) -> SampleError {
    SampleError {
        what: what.to_string(),
        source,
    }
}

/// The errno of the libproc or sysctl call that just failed.
fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn is_denied(errno: i32) -> bool {
    errno == libc::EPERM || errno == libc::EACCES
}

impl MacInspector {
    /// Read the system's constants and size the buffers.
    pub fn new(self_pid: Pid) -> Result<Self, SampleError> {
        // SAFETY: a NULL buffer of size 0 only asks for the size hint (processes + 20).
        let hint = unsafe { libc::proc_listallpids(ptr::null_mut(), 0) };
        if hint <= 0 {
            return Err(err(
                "list processes (proc_listallpids)",
                io::Error::last_os_error(),
            ));
        }
        let len = darwin::list_len(0, hint);
        Ok(MacInspector {
            self_pid,
            pids: vec![0; len],
            known: Vec::with_capacity(len),
            next_known: Vec::with_capacity(len),
            rows: Vec::with_capacity(len),
            listed: false,
            args: vec![0; argmax()],
        })
    }

    /// List every pid into `pids`, growing the buffer while the kernel fills it. Returns how
    /// many were listed.
    fn list(&mut self) -> Result<usize, SampleError> {
        loop {
            let bytes = c_int::try_from(self.pids.len() * size_of::<Pid>()).unwrap_or(c_int::MAX);
            // SAFETY: `pids` is writable for its whole length, at least `bytes` bytes; the
            // kernel writes at most `bytes` bytes of pids. The result is a count of pids.
            let n =
                unsafe { libc::proc_listallpids(self.pids.as_mut_ptr().cast::<c_void>(), bytes) };
            let Ok(n) = usize::try_from(n) else {
                return Err(err(
                    "list processes (proc_listallpids)",
                    io::Error::last_os_error(),
                ));
            };
            if n == 0 {
                // Never a real answer (launchd at least exists): the wrapper's error value.
                return Err(err(
                    "list processes (proc_listallpids)",
                    io::Error::last_os_error(),
                ));
            }
            if n < self.pids.len() {
                return Ok(n);
            }
            // Full: maybe cut short. Grow (rare: the machine got busier) and list again.
            // SAFETY: a NULL buffer of size 0 only asks for the size hint.
            let hint = unsafe { libc::proc_listallpids(ptr::null_mut(), 0) };
            let len = darwin::list_len(self.pids.len(), hint);
            self.pids.resize(len, 0);
            for v in [&mut self.known, &mut self.next_known] {
                v.reserve(len.saturating_sub(v.len()));
            }
            self.rows.reserve(len.saturating_sub(self.rows.len()));
        }
    }

    /// Read the command line into `args`: the number of bytes, or `None` when refused (another
    /// user: EINVAL), gone or empty.
    fn procargs(&mut self, pid: Pid) -> Option<usize> {
        let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid];
        let mut len = self.args.len();
        // SAFETY: `mib` holds 3 valid ints; `args` is writable for `len` bytes and the kernel
        // writes at most that and stores the count in `len`; nothing is set (NULL, 0).
        let r = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                3,
                self.args.as_mut_ptr().cast::<c_void>(),
                &mut len,
                ptr::null_mut(),
                0,
            )
        };
        (r == 0 && len > 0 && len <= self.args.len()).then_some(len)
    }
}

/// `kern.argmax`: the size a `KERN_PROCARGS2` buffer must have to receive the whole area.
fn argmax() -> usize {
    let mut mib = [libc::CTL_KERN, libc::KERN_ARGMAX];
    let mut value: c_int = 0;
    let mut len = size_of::<c_int>();
    // SAFETY: `mib` holds 2 valid ints; `value` is a writable c_int of `len` bytes; nothing
    // is set.
    let r = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            2,
            (&raw mut value).cast::<c_void>(),
            &mut len,
            ptr::null_mut(),
            0,
        )
    };
    match usize::try_from(value) {
        Ok(v) if r == 0 && v > 0 => v,
        _ => DEFAULT_ARGMAX,
    }
}

/// `PROC_PIDT_SHORTBSDINFO` with arg 1 (zombies too); allowed for every user's process.
fn short_info(pid: Pid) -> Result<libc::proc_bsdshortinfo, i32> {
    // SAFETY: proc_bsdshortinfo is plain integers (its private field is padding): all
    // zeros is a valid value.
    let mut info: libc::proc_bsdshortinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a writable proc_bsdshortinfo of SHORT_SIZE bytes, the size this
    // flavor writes (asserted above).
    let n = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDT_SHORTBSDINFO,
            1,
            (&raw mut info).cast::<c_void>(),
            SHORT_SIZE,
        )
    };
    if n == SHORT_SIZE {
        Ok(info)
    } else {
        Err(failure(n))
    }
}

/// `PROC_PIDTBSDINFO` with arg 1 (zombies too); same-user only (EPERM otherwise).
fn bsd_info(pid: Pid) -> Result<libc::proc_bsdinfo, i32> {
    // SAFETY: proc_bsdinfo is plain integers and char arrays: all zeros is a valid value.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a writable proc_bsdinfo of BSD_SIZE bytes, the size this flavor
    // writes (asserted above).
    let n = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTBSDINFO,
            1,
            (&raw mut info).cast::<c_void>(),
            BSD_SIZE,
        )
    };
    if n == BSD_SIZE {
        Ok(info)
    } else {
        Err(failure(n))
    }
}

/// The errno behind a `proc_pidinfo` result that is not the full struct: 0 means failure
/// with errno set; a short positive count should not happen and is treated as gone.
fn failure(n: c_int) -> i32 {
    if n <= 0 {
        match errno() {
            0 => libc::ESRCH,
            e => e,
        }
    } else {
        libc::ESRCH
    }
}

/// `proc_pid_rusage(RUSAGE_INFO_V4)`: same-user only; serves a zombie the figures stashed at
/// its exit (`ri_proc_exit_abstime != 0`).
fn rusage(pid: Pid) -> Result<libc::rusage_info_v4, i32> {
    // SAFETY: rusage_info_v4 is plain integers: all zeros is a valid value.
    let mut ri: libc::rusage_info_v4 = unsafe { std::mem::zeroed() };
    // SAFETY: for RUSAGE_INFO_V4 the kernel writes exactly sizeof(struct rusage_info_v4)
    // bytes (asserted above), into `ri`, which is that struct. libc types the buffer as a
    // pointer to `rusage_info_t`; the kernel treats it as the struct's address.
    let r = unsafe {
        libc::proc_pid_rusage(
            pid,
            libc::RUSAGE_INFO_V4,
            (&raw mut ri).cast::<libc::rusage_info_t>(),
        )
    };
    if r == 0 {
        Ok(ri)
    } else {
        Err(match errno() {
            0 => libc::ESRCH,
            e => e,
        })
    }
}

/// The next exited child memwatch will reap, found without reaping it (`waitid` with
/// `WNOWAIT`), and its lifetime peak physical footprint in KiB, read from the zombie before
/// `wait4` discards it (`ri_lifetime_max_phys_footprint`). `None` when no child has exited.
pub fn peek_exited_child() -> Option<(Pid, Option<u64>)> {
    // SAFETY: siginfo_t is plain data: all zeros is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid fills the valid siginfo_t it is given; WNOWAIT leaves the child
    // waitable, so the one reaping place (unix::reap_one) still reaps it.
    let r = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled `info` (or left it zeroed: si_pid 0, "none exited").
    let pid = unsafe { info.si_pid() };
    if r != 0 || pid <= 0 {
        return None;
    }
    let footprint = rusage(pid)
        .ok()
        .map(|ri| darwin::bytes_to_kib(ri.ri_lifetime_max_phys_footprint));
    Some((pid, footprint))
}

/// `sysctl([CTL_KERN, KERN_PROC, KERN_PROC_PID, pid])`: readable for every user's process.
fn kinfo_start(pid: Pid) -> Option<darwin::KinfoStart> {
    let mut mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, pid];
    // Larger than sizeof(struct kinfo_proc) (648 on LP64): the kernel copies the struct and
    // sets `len`; it answers 0 bytes for a pid with no process.
    let mut buf = [0u8; 1024];
    let mut len = buf.len();
    // SAFETY: `mib` holds 4 valid ints; `buf` is writable for `len` bytes and the kernel
    // writes at most that and stores the count in `len`; nothing is set.
    let r = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            4,
            buf.as_mut_ptr().cast::<c_void>(),
            &mut len,
            ptr::null_mut(),
            0,
        )
    };
    if r != 0 {
        return None;
    }
    darwin::parse_kinfo_proc(buf.get(..len)?)
}

/// A process's state as far as any user may learn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// Running, started at this time (microseconds since the epoch).
    Alive(u64),
    /// Exited, not reaped yet.
    Zombie,
    /// No such process, or nothing can be learned about it.
    Gone,
}

/// Start time and state: `PROC_PIDTBSDINFO`, or for another user's process (EPERM) the
/// `kinfo_proc`, which holds the same kernel start time.
fn life(pid: Pid) -> Life {
    match bsd_info(pid) {
        Ok(b) if b.pbi_status == libc::SZOMB => Life::Zombie,
        Ok(b) => Life::Alive(darwin::start_us(b.pbi_start_tvsec, b.pbi_start_tvusec)),
        Err(libc::ESRCH) => Life::Gone,
        Err(_) => match kinfo_start(pid) {
            Some(k) if k.zombie => Life::Zombie,
            Some(k) => Life::Alive(k.start_us),
            None => Life::Gone,
        },
    }
}

/// Whether `pid` is still the running process that started at `start`.
fn is_same(pid: Pid, start: u64) -> bool {
    life(pid) == Life::Alive(start)
}

impl Inspector for MacInspector {
    type Handle = MacHandle;

    fn discover(&mut self, d: &Discovery<'_>, out: &mut Vec<Seen>) -> Result<(), SampleError> {
        let n = self.list()?;
        let full = d.full || !self.listed;
        self.listed = true;
        let listed = &mut self.pids[..n];
        listed.sort_unstable();

        self.rows.clear();
        self.next_known.clear();
        let self_pid = self.self_pid;
        let rows = &mut self.rows;
        let next_known = &mut self.next_known;
        let known: &[Pid] = if full { &[] } else { &self.known };
        // Pids listed last time were probed then: only the others are looked at, unless the
        // core asks for a full search.
        darwin::merge_listing(listed, known, |pid, new| {
            if !new || pid <= 0 || pid == self_pid || (d.is_live)(pid) {
                next_known.push(pid);
                return;
            }
            match short_info(pid) {
                Ok(s) => {
                    next_known.push(pid);
                    // A zombie has no memory left to follow.
                    if s.pbsi_status != libc::SZOMB {
                        let ppid = s.pbsi_ppid as Pid;
                        let pgid = s.pbsi_pgid as Pid;
                        rows.push(Row {
                            pid,
                            ppid: darwin::adopted_ppid(ppid, pgid, self_pid),
                            pgid,
                            candidate: false,
                        });
                    }
                }
                // Refused (a sandbox): probing again would not help.
                Err(e) if is_denied(e) => next_known.push(pid),
                // Exited since the listing, or not fully created yet: probe it again next
                // time if it is still listed.
                Err(_) => {}
            }
        });
        std::mem::swap(&mut self.known, &mut self.next_known);

        darwin::mark_candidates(&mut self.rows, self_pid, d.is_live);
        for r in self.rows.iter().filter(|r| r.candidate) {
            match life(r.pid) {
                Life::Alive(start) if start > 0 => out.push(Seen {
                    id: ProcId { pid: r.pid, start },
                    ppid: r.ppid,
                    pgid: r.pgid,
                }),
                Life::Zombie => {}
                // Gone since the probe, or caught before its start time was set: if it is
                // still listed next time, probe it again (rare, so the O(n) removal is fine).
                _ => {
                    if let Ok(i) = self.known.binary_search(&r.pid) {
                        self.known.remove(i);
                    }
                }
            }
        }
        Ok(())
    }

    fn follow(&mut self, seen: &Seen) -> Option<(MacHandle, Access)> {
        let pid = seen.id.pid;
        let mut h = MacHandle {
            pid,
            start: seen.id.start,
            abstime: None,
            uuid: None,
            footprint: None,
        };
        match rusage(pid) {
            Ok(ri) => {
                if ri.ri_proc_exit_abstime != 0 {
                    return None;
                }
                // The figures came from whoever holds `pid` now. The process discovery saw
                // held it before, and still holds it if its start time matches after the
                // call, so they are its own.
                if !is_same(pid, seen.id.start) {
                    return None;
                }
                h.abstime = Some(ri.ri_proc_start_abstime);
                h.uuid = Some(ri.ri_uuid);
                Some((h, Access::Readable))
            }
            Err(libc::ESRCH) => None,
            // EPERM: another user's process (setuid included). Anything else (a sandbox, a
            // system without RUSAGE_INFO_V4) is just as unreadable.
            Err(_) => is_same(pid, seen.id.start).then_some((h, Access::Denied)),
        }
    }

    fn command(&mut self, seen: &Seen, _handle: &mut MacHandle) -> String {
        let pid = seen.id.pid;
        if let Some(n) = self.procargs(pid) {
            if let Some(command) = darwin::command_from_procargs(&self.args[..n]) {
                return command;
            }
        }
        // Another user's process: its arguments are refused, its executable path is not.
        let mut path = [0u8; PATH_SIZE];
        // SAFETY: `path` is writable for PATH_SIZE bytes, within the 1024..=4096 the call
        // accepts; it returns the path length or 0.
        let n = unsafe {
            libc::proc_pidpath(pid, path.as_mut_ptr().cast::<c_void>(), PATH_SIZE as u32)
        };
        if let Some(command) = usize::try_from(n)
            .ok()
            .and_then(|n| path.get(..n))
            .and_then(darwin::command_from_path)
        {
            return command;
        }
        match short_info(pid) {
            // c_char is i8 on both Apple targets: reinterpret the bytes.
            Ok(s) => darwin::command_from_comm(&s.pbsi_comm.map(|c| c as u8)),
            Err(_) => String::from("[unknown]"),
        }
    }

    fn read(&mut self, h: &mut MacHandle) -> Reading {
        match rusage(h.pid) {
            Ok(ri) => {
                match h.abstime {
                    // Another process got the pid.
                    Some(t) if t != ri.ri_proc_start_abstime => return Reading::Gone,
                    Some(_) => {}
                    // Readable for the first time (it was denied): check it is still the
                    // process followed, as in `follow`, then use the cheap check.
                    None => {
                        if !is_same(h.pid, h.start) {
                            return Reading::Gone;
                        }
                        h.abstime = Some(ri.ri_proc_start_abstime);
                    }
                }
                // A zombie: these are the figures stashed at exit, not live memory.
                if ri.ri_proc_exit_abstime != 0 {
                    return Reading::Gone;
                }
                // A new executable (or the first one this handle can see): the command line
                // may have changed.
                let exec = h.uuid != Some(ri.ri_uuid);
                h.uuid = Some(ri.ri_uuid);
                h.footprint = Some(ri.ri_phys_footprint);
                Reading::Rss {
                    kib: darwin::bytes_to_kib(ri.ri_resident_size),
                    exec,
                }
            }
            Err(libc::ESRCH) => Reading::Gone,
            // Denied (possibly since an exec of a setuid program): alive or not is all that
            // can be learned.
            Err(_) => {
                if is_same(h.pid, h.start) {
                    Reading::Unknown
                } else {
                    Reading::Gone
                }
            }
        }
    }

    fn supports(&self, extra: Metric) -> bool {
        extra == Metric::Footprint
    }

    fn read_extra(&mut self, extra: Metric, h: &mut MacHandle) -> ExtraReading {
        // The footprint of the reading just taken (the core reads extras right after RSS,
        // from the same proc_pid_rusage call, so a denied process never gets here).
        match h.footprint.filter(|_| extra == Metric::Footprint) {
            Some(bytes) => ExtraReading::Kib(darwin::bytes_to_kib(bytes)),
            None => ExtraReading::Unavailable,
        }
    }

    fn start_unix_us(&self, id: ProcId) -> Option<i64> {
        // The start time already is the kernel's wall-clock `p_start`, in microseconds.
        i64::try_from(id.start).ok()
    }

    fn signal(&mut self, id: ProcId, _handle: &mut MacHandle, signal: i32) -> bool {
        // No pidfd on macOS: check the start time, then signal at once.
        is_same(id.pid, id.start) && crate::sys::unix::signals::kill(id.pid, signal)
    }
}

/// macOS fills `si_pid` of every caught signal with the pid of the process that was running
/// when the signal was raised (xnu `psignal_internal`: `si_pid = current_proc()->p_pid`):
/// for Ctrl+C that is the terminal emulator (or sshd, tmux) writing to the pty, not 0. The
/// job got that signal from the terminal already, so it must not be sent twice: see
/// [`darwin::raised_by_terminal`] for the rule.
pub fn raised_by_terminal(signal: i32, sender: i32) -> bool {
    // SAFETY: getsid takes a pid (0: memwatch itself) and returns a session id, or -1 when
    // the process is gone; xnu answers it for every process.
    let (theirs, ours) = unsafe { (libc::getsid(sender), libc::getsid(0)) };
    super::darwin::raised_by_terminal(
        signal,
        (theirs >= 0).then_some(theirs),
        ours,
        in_terminal_foreground,
    )
}

/// Whether memwatch is in the foreground process group of its controlling terminal.
fn in_terminal_foreground() -> bool {
    // SAFETY: a NUL-terminated path and integer flags.
    let fd = unsafe {
        libc::open(
            c"/dev/tty".as_ptr(),
            libc::O_RDONLY | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        // No controlling terminal: nothing but a process can have sent it.
        return false;
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    let tty = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: tcgetpgrp on a descriptor we own; getpgrp takes nothing.
    let (foreground, ours) = unsafe { (libc::tcgetpgrp(tty.as_raw_fd()), libc::getpgrp()) };
    foreground > 0 && foreground == ours
}
