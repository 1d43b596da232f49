//! What the Unix plumbing asks of macOS, through the hooks in `sys/mod.rs`: nothing to
//! prepare in the parent, whether the command gets a process group of its own, the exited
//! child to reap first (with its lifetime peak footprint, read from the zombie), and
//! whether a caught signal came from the terminal.

use std::io;
use std::os::fd::OwnedFd;

use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::{Pid as NixPid, getpgrp, getpid, getsid, tcgetpgrp};

use super::{darwin, libproc};
use crate::sys::unix::reap::Peek;

/// macOS has no child subreaper, so there is nothing to prepare: orphans are followed
/// through the job's process group instead ([`command_in_own_group`], and the backend's
/// documentation).
pub(crate) fn prepare_parent() -> io::Result<()> {
    Ok(())
}

/// The next exited child memwatch will reap, found without reaping it (`waitid` with
/// `WNOWAIT`), and its lifetime peak physical footprint in KiB, read from the zombie before
/// `wait4` discards it (`ri_lifetime_max_phys_footprint`). When none has exited, nothing
/// may be reaped (see [`darwin::exited_child`]).
pub(crate) fn peek_exited_child() -> Peek {
    // No safe wrapper will do: nix has no `waitid` on macOS, and rustix's does not give
    // the child's pid.
    // SAFETY: siginfo_t is plain data: all zeros is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid fills the valid siginfo_t it is given; WNOWAIT leaves the child
    // waitable, so the one reaping place (`sys::reap_one`) still reaps it.
    let r = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    // SAFETY: waitid filled `info` (or left it zeroed: si_pid 0, "none exited").
    let pid = unsafe { info.si_pid() };
    match darwin::exited_child(r, errno, pid) {
        Peek::Exited { pid, .. } => Peek::Exited {
            pid,
            max_footprint_kib: libproc::rusage(pid)
                .ok()
                .map(|ri| darwin::bytes_to_kib(ri.ri_lifetime_max_phys_footprint)),
        },
        other => other,
    }
}

/// Whether memwatch starts the command in a process group of its own: when memwatch does
/// not lead its group and has no controlling terminal (see [`darwin::command_in_own_group`]).
pub(crate) fn command_in_own_group() -> bool {
    darwin::command_in_own_group(
        getpid().as_raw(),
        getpgrp().as_raw(),
        controlling_terminal().is_some(),
    )
}

/// macOS fills `si_pid` of every caught signal with the pid of the process that was running
/// when the signal was raised (xnu `psignal_internal`: `si_pid = current_proc()->p_pid`):
/// for Ctrl+C that is the terminal emulator (or sshd, tmux) writing to the pty, not 0, or
/// the command memwatch started when its exit overwrote it. The job got that signal from the
/// terminal already, so it must not be sent twice: see [`darwin::raised_by_terminal`] for
/// the rule. `root` is the command memwatch started.
pub(crate) fn raised_by_terminal(signal: i32, sender: i32, root: i32) -> bool {
    // getsid answers for every live process on macOS, and refuses a zombie; -1 for
    // memwatch's own is impossible.
    let sender = match getsid(Some(NixPid::from_raw(sender))) {
        Ok(session) => darwin::Sender::Live {
            session: session.as_raw(),
        },
        Err(_) if sender == root => darwin::Sender::ExitedRoot,
        Err(_) => darwin::Sender::Exited,
    };
    let ours = getsid(None).map_or(-1, NixPid::as_raw);
    darwin::raised_by_terminal(signal, sender, ours, in_terminal_foreground)
}

/// memwatch's controlling terminal, opened, if it has one.
fn controlling_terminal() -> Option<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    open(c"/dev/tty", flags, Mode::empty()).ok()
}

/// Whether memwatch is in the foreground process group of its controlling terminal.
fn in_terminal_foreground() -> bool {
    // No controlling terminal: nothing but a process can have sent it.
    let Some(tty) = controlling_terminal() else {
        return false;
    };
    tcgetpgrp(&tty).is_ok_and(|foreground| foreground.as_raw() > 0 && foreground == getpgrp())
}
