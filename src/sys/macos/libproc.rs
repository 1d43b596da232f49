//! The calls into libproc and `sysctl`, one function each, and the layouts they write into.
//! Every `unsafe` block of the macOS backend but the reaping peek is here: no crate wraps
//! these calls, so the FFI is written against the `libc` declarations, with the struct
//! sizes the kernel writes checked at compile time.

use std::io;
use std::mem::{offset_of, size_of};
use std::ptr;

use libc::{c_int, c_void};

use super::darwin;
use crate::sys::Pid;

// The layouts the kernel writes into, checked against the headers of xnu, the macOS kernel
// (`bsd/sys/proc_info.h`, `bsd/sys/resource.h`): a mistake here must fail the build, not
// corrupt memory.
const _: () = assert!(size_of::<libc::proc_bsdshortinfo>() == 64);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_ppid) == 4);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_pgid) == 8);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_status) == 12);
const _: () = assert!(offset_of!(libc::proc_bsdshortinfo, pbsi_comm) == 16);
const _: () = assert!(size_of::<libc::proc_bsdinfo>() == 136);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_status) == 4);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_start_tvsec) == 120);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_start_tvusec) == 128);
// rusage_info_v4: a 16-byte UUID and 35 u64 counters. proc_pid_rusage takes no size: the
// kernel writes sizeof(struct rusage_info_v4) for RUSAGE_INFO_V4, so this must be exact.
const _: () = assert!(size_of::<libc::rusage_info_v4>() == 296);
const _: () = assert!(offset_of!(libc::rusage_info_v4, ri_resident_size) == 64);
const _: () = assert!(offset_of!(libc::rusage_info_v4, ri_proc_start_abstime) == 80);
const _: () = assert!(offset_of!(libc::rusage_info_v4, ri_proc_exit_abstime) == 88);
// proc_pidinfo takes and returns sizes as c_int.
const SHORT_SIZE: c_int = size_of::<libc::proc_bsdshortinfo>() as c_int;
const BSD_SIZE: c_int = size_of::<libc::proc_bsdinfo>() as c_int;
/// `proc_pidpath` wants a buffer of 1024 to 4096 bytes (xnu's `libproc.c`).
pub(super) const PATH_SIZE: usize = libc::PROC_PIDPATHINFO_MAXSIZE as usize;
/// `ARG_MAX` of `<sys/syslimits.h>`, if `kern.argmax` cannot be read.
const DEFAULT_ARGMAX: usize = 1024 * 1024;

/// The errno of the libproc or sysctl call that just failed.
fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The kernel refused: another user's process, a setuid program, a sandbox.
pub(super) fn is_denied(errno: i32) -> bool {
    errno == libc::EPERM || errno == libc::EACCES
}

/// `proc_listallpids(NULL, 0)`: the size hint, the number of processes plus 20 (0 on
/// error).
pub(super) fn pid_count_hint() -> c_int {
    // SAFETY: a NULL buffer of size 0 only asks for the size hint.
    unsafe { libc::proc_listallpids(ptr::null_mut(), 0) }
}

/// `proc_listallpids` into `pids`: how many were listed. A full buffer may have cut the
/// list short. It takes bytes and returns a count, 0 on error (never a real answer:
/// launchd at least exists).
pub(super) fn list_all_pids(pids: &mut [Pid]) -> io::Result<usize> {
    let bytes = c_int::try_from(size_of_val(pids)).unwrap_or(c_int::MAX);
    // SAFETY: `pids` is writable for its whole length, at least `bytes` bytes; the kernel
    // writes at most `bytes` bytes of pids. The result is a count of pids.
    let n = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast::<c_void>(), bytes) };
    match usize::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(io::Error::last_os_error()),
    }
}

/// `PROC_PIDT_SHORTBSDINFO` with arg 1 (zombies too); allowed for every user's process.
pub(super) fn short_info(pid: Pid) -> Result<libc::proc_bsdshortinfo, i32> {
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
pub(super) fn bsd_info(pid: Pid) -> Result<libc::proc_bsdinfo, i32> {
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
pub(super) fn rusage(pid: Pid) -> Result<libc::rusage_info_v4, i32> {
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

/// `proc_pidpath`: the executable's path into `buf`, readable for every user's process.
/// The number of bytes, or `None`.
pub(super) fn pid_path(pid: Pid, buf: &mut [u8; PATH_SIZE]) -> Option<usize> {
    // SAFETY: `buf` is writable for PATH_SIZE bytes, within the 1024..=4096 the call
    // accepts; it returns the path length or 0.
    let n = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast::<c_void>(), PATH_SIZE as u32) };
    usize::try_from(n).ok().filter(|&n| n > 0 && n <= PATH_SIZE)
}

/// Read a `sysctl` value into `buf`: the number of bytes the kernel wrote, or `None` on
/// failure. Nothing is set.
fn sysctl(mib: &mut [c_int], buf: &mut [u8]) -> Option<usize> {
    let depth = u32::try_from(mib.len()).ok()?;
    let mut len = buf.len();
    // SAFETY: `mib` holds `depth` ints; `buf` is writable for `len` bytes and the kernel
    // writes at most that and stores the count in `len`; nothing is set (NULL, 0).
    let r = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            depth,
            buf.as_mut_ptr().cast::<c_void>(),
            &mut len,
            ptr::null_mut(),
            0,
        )
    };
    (r == 0 && len <= buf.len()).then_some(len)
}

/// `sysctl([CTL_KERN, KERN_PROC, KERN_PROC_PID, pid])`: readable for every user's process.
pub(super) fn kinfo_start(pid: Pid) -> Option<darwin::KinfoStart> {
    // Larger than sizeof(struct kinfo_proc) (648 on LP64): the kernel copies the struct and
    // sets the length; it answers 0 bytes for a pid with no process.
    let mut buf = [0u8; 1024];
    let len = sysctl(
        &mut [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, pid],
        &mut buf,
    )?;
    darwin::parse_kinfo_proc(&buf[..len])
}

/// `kern.argmax`: the kernel's `ARG_MAX`, the most a `KERN_PROCARGS2` buffer may hold after
/// its argc slot.
pub(super) fn argmax() -> usize {
    let mut value = [0u8; size_of::<c_int>()];
    match sysctl(&mut [libc::CTL_KERN, libc::KERN_ARGMAX], &mut value) {
        Some(_) => usize::try_from(c_int::from_ne_bytes(value))
            .ok()
            .filter(|&v| v > 0)
            .unwrap_or(DEFAULT_ARGMAX),
        None => DEFAULT_ARGMAX,
    }
}

/// Read the command line area (`KERN_PROCARGS2`) into `args`: the number of bytes, or
/// `None` when refused (another user: EINVAL), gone or empty. An area larger than `args`
/// comes back as its tail, filling `args` (see `darwin::command_from_procargs_reply`).
pub(super) fn procargs(pid: Pid, args: &mut [u8]) -> Option<usize> {
    sysctl(&mut [libc::CTL_KERN, libc::KERN_PROCARGS2, pid], args).filter(|&len| len > 0)
}

/// `hw.memsize`: the machine's physical memory, bytes.
pub(super) fn memsize() -> Option<u64> {
    let mut value = [0u8; size_of::<u64>()];
    let len = sysctl(&mut [libc::CTL_HW, libc::HW_MEMSIZE], &mut value)?;
    (len == value.len()).then(|| u64::from_ne_bytes(value))
}
