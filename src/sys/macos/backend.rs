//! The macOS [`Inspector`]: discovery over `proc_listallpids`, one `proc_pid_rusage` per
//! followed process and sample, identity by start time (see the module documentation of
//! `sys::macos` for the design).

use std::io;

use super::darwin::{self, Row};
use super::libproc::{self, PATH_SIZE, is_denied};
use crate::sys::{
    Access, Discovery, ExtraReading, Inspector, Metric, Pid, ProcId, Reading, Refusal, SampleError,
    Seen,
};

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
    /// `KERN_PROCARGS2` buffer: the argc slot and `kern.argmax` bytes, the most the kernel
    /// takes (`darwin::procargs_capacity`).
    args: Vec<u8>,
    /// Attached to a running process (`memwatch attach`): memwatch's own process group is
    /// not the job's.
    attached: bool,
}

fn err(what: &str, source: io::Error) -> SampleError {
    SampleError {
        what: what.to_string(),
        source,
    }
}

impl MacInspector {
    /// Read the system's constants and size the buffers.
    pub fn new(self_pid: Pid) -> Result<Self, SampleError> {
        let hint = libproc::pid_count_hint();
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
            args: vec![0; darwin::procargs_capacity(libproc::argmax())],
            attached: false,
        })
    }

    /// List every pid into `pids`, growing the buffer while the kernel fills it. Returns how
    /// many were listed.
    fn list(&mut self) -> Result<usize, SampleError> {
        loop {
            let n = libproc::list_all_pids(&mut self.pids)
                .map_err(|e| err("list processes (proc_listallpids)", e))?;
            if n < self.pids.len() {
                return Ok(n);
            }
            // Full: maybe cut short. Grow (rare: the machine got busier) and list again.
            let len = darwin::list_len(self.pids.len(), libproc::pid_count_hint());
            self.pids.resize(len, 0);
            for v in [&mut self.known, &mut self.next_known] {
                v.reserve(len.saturating_sub(v.len()));
            }
            self.rows.reserve(len.saturating_sub(self.rows.len()));
        }
    }
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
    match libproc::bsd_info(pid) {
        Ok(b) if b.pbi_status == libc::SZOMB => Life::Zombie,
        Ok(b) => Life::Alive(darwin::start_us(b.pbi_start_tvsec, b.pbi_start_tvusec)),
        Err(libc::ESRCH) => Life::Gone,
        Err(_) => match libproc::kinfo_start(pid) {
            Some(k) if k.zombie => Life::Zombie,
            Some(k) => Life::Alive(k.start_us),
            None => Life::Gone,
        },
    }
}

/// When the process was born on the Mach clock, which never steps back: its
/// `ri_proc_start_abstime`, set by the same fork as its wall-clock start time and kept by
/// `exec` (see [`darwin::born`]). `None` for another user's process (EPERM).
fn born(pid: Pid) -> Option<u64> {
    let ri = libproc::rusage(pid).ok()?;
    darwin::born(ri.ri_proc_start_abstime, ri.ri_proc_exit_abstime)
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
        // Attached: an orphan in memwatch's own group is not the job's (0 is no group).
        let own_group = if self.attached { 0 } else { self_pid };
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
            match libproc::short_info(pid) {
                Ok(s) => {
                    next_known.push(pid);
                    // A zombie has no memory left to follow.
                    if s.pbsi_status != libc::SZOMB {
                        let ppid = s.pbsi_ppid as Pid;
                        let pgid = s.pbsi_pgid as Pid;
                        rows.push(Row {
                            pid,
                            ppid: if pgid == own_group || pgid == d.root {
                                darwin::adopted_ppid(ppid, pgid, self_pid, d.root)
                            } else {
                                ppid
                            },
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
            // Read before the start time: if that still matches after, it is this process's.
            let born = born(r.pid);
            match life(r.pid) {
                Life::Alive(start) if start > 0 => out.push(Seen {
                    id: ProcId { pid: r.pid, start },
                    ppid: r.ppid,
                    pgid: r.pgid,
                    born,
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
        match libproc::rusage(pid) {
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
        let capacity = self.args.len();
        if let Some(n) = libproc::procargs(pid, &mut self.args) {
            if let Some(command) = darwin::command_from_procargs_reply(&self.args[..n], capacity) {
                return command;
            }
        }
        // Another user's process: its arguments are refused, its executable path is not.
        // Arguments and environment too large for the kernel to copy whole: only their tail
        // came back.
        let mut path = [0u8; PATH_SIZE];
        if let Some(command) =
            libproc::pid_path(pid, &mut path).and_then(|n| darwin::command_from_path(&path[..n]))
        {
            return command;
        }
        match libproc::short_info(pid) {
            // c_char is i8 on both Apple targets: reinterpret the bytes.
            Ok(s) => darwin::command_from_comm(&s.pbsi_comm.map(|c| c as u8)),
            Err(_) => String::from("[unknown]"),
        }
    }

    fn read(&mut self, h: &mut MacHandle) -> Reading {
        match libproc::rusage(h.pid) {
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
                    // libproc does not tell a process's shared resident pages from its own
                    // (only a walk of every region would, far too dear per sample).
                    private_kib: None,
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

    fn attach(&mut self, _root: Pid) {
        self.attached = true;
    }
}

/// The process `pid` as discovery would see it, or why memwatch cannot attach to it
/// (`memwatch attach`). Another user's process is seen (its memory may not be readable:
/// following it says so).
pub(crate) fn process(pid: Pid) -> Result<Seen, Refusal> {
    let short = match libproc::short_info(pid) {
        Ok(s) => s,
        Err(libc::ESRCH) => return Err(Refusal::Absent),
        Err(e) if is_denied(e) => return Err(Refusal::Hidden),
        Err(_) => return Err(Refusal::Absent),
    };
    if short.pbsi_status == libc::SZOMB {
        return Err(Refusal::Exited);
    }
    let born = born(pid);
    match life(pid) {
        Life::Alive(start) if start > 0 => Ok(Seen {
            id: ProcId { pid, start },
            ppid: short.pbsi_ppid as Pid,
            pgid: short.pbsi_pgid as Pid,
            born,
        }),
        Life::Zombie => Err(Refusal::Exited),
        _ => Err(Refusal::Absent),
    }
}

/// The arguments of `pid` (lossy UTF-8), `None` when the kernel will not give them.
pub(crate) fn arguments(pid: Pid) -> Option<Vec<String>> {
    let mut buf = vec![0u8; darwin::procargs_capacity(libproc::argmax())];
    let n = libproc::procargs(pid, &mut buf).filter(|&n| n < buf.len())?;
    let parsed = super::procargs::parse_procargs2(&buf[..n])?;
    let args: Vec<String> = parsed
        .argv
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!args.is_empty()).then_some(args)
}
