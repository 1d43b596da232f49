//! Signals: the self-pipe that wakes the sampling loop (the job signals, SIGCHLD when a
//! child exits, SIGTSTP and SIGCONT for the status line), what a signal means (the
//! terminal's, or a process's `kill`), process groups, and sending signals.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};
#[cfg(not(target_os = "linux"))]
use nix::poll::{PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// Signals that end or interrupt the job and that memwatch handles.
pub(crate) const JOB_SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// Job signals (not SIGCHLD) received so far, for waits outside the sampling loop.
static JOB_SIGNALS_RECEIVED: AtomicU32 = AtomicU32::new(0);

/// The first job signal received (0 until one is), for a process that runs several jobs
/// and stops at the first signal (a sweep).
static FIRST_JOB_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Bytes per signal in the pipe: the signal number, then the sender's pid (native endian).
const RECORD: usize = 5;

/// What woke the sampling loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A child exited (SIGCHLD).
    ChildExited,
    /// Ctrl+Z (SIGTSTP): put the terminal in order, then stop.
    Stop,
    /// Continued after a stop (SIGCONT).
    Continue,
    /// A signal that ends or interrupts the job (SIGINT, SIGTERM, SIGHUP, SIGQUIT).
    Job {
        /// Its number.
        signal: i32,
        /// Sent by a process (`kill`), rather than by the kernel or the terminal (Ctrl+C,
        /// which already reached the terminal's foreground process group).
        from_process: bool,
    },
}

/// SIGKILL's number, for killing the job on a second signal.
pub(crate) const KILL: i32 = libc::SIGKILL;

extern "C" fn on_signal(signal: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if JOB_SIGNALS.iter().any(|s| *s as libc::c_int == signal) {
        JOB_SIGNALS_RECEIVED.fetch_add(1, Ordering::Relaxed);
        let _ = FIRST_JOB_SIGNAL.compare_exchange(0, signal, Ordering::Relaxed, Ordering::Relaxed);
    }
    let fd = PIPE_WRITE.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let sender = if info.is_null() {
        0
    } else {
        // SAFETY: the kernel passes a valid siginfo_t to handlers installed with SA_SIGINFO;
        // si_pid is the sender of kill(2). For a terminal's signals it is 0 on Linux, but on
        // macOS it names whatever process was running when the terminal raised the signal
        // (see `sys::raised_by_terminal`).
        unsafe { (*info).si_pid() }
    };
    let pid = sender.to_ne_bytes();
    let msg: [u8; RECORD] = [signal as u8, pid[0], pid[1], pid[2], pid[3]];
    let saved = nix::errno::Errno::last_raw();
    // SAFETY: write(2) is async-signal-safe; `msg` is a live buffer of RECORD bytes, written
    // atomically (less than PIPE_BUF). A full pipe (EAGAIN) drops the record: the loop is
    // already awake with events pending.
    unsafe {
        libc::write(fd, msg.as_ptr().cast(), msg.len());
    }
    // Restore errno for the interrupted code (errno is thread-local).
    nix::errno::Errno::set_raw(saved);
}

/// Whether a caught signal with this number and sender (`si_pid`) came from the terminal
/// rather than from a process's `kill`, given the command memwatch started (`root`, 0
/// before it is): the platform's rule (`sys::raised_by_terminal`).
pub(crate) type Classify = fn(signal: i32, sender: i32, root: i32) -> bool;

/// The self-pipe that the signal handlers write to and the sampling loop sleeps on.
pub(crate) struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
    classify: Classify,
    /// The command memwatch started, once it is.
    root: Cell<i32>,
}

impl SignalPipe {
    /// Create the pipe and install handlers for [`JOB_SIGNALS`] and SIGCHLD. Handlers, not
    /// `SIG_IGN`: an ignored disposition would survive `exec` into the job. A job signal
    /// already ignored when memwatch started (`nohup`, a background job of a script) stays
    /// ignored, so the job inherits it exactly as it would without memwatch, and memwatch
    /// never receives it to pass on.
    pub(crate) fn install(classify: Classify) -> io::Result<SignalPipe> {
        let (read, write) = nix::unistd::pipe()?;
        for fd in [&read, &write] {
            set_flags(fd)?;
        }
        PIPE_WRITE.store(write.as_raw_fd(), Ordering::Relaxed);
        for sig in JOB_SIGNALS.iter().chain([&Signal::SIGCHLD]) {
            if *sig != Signal::SIGCHLD && ignored(*sig)? {
                continue;
            }
            install_handler(*sig)?;
        }
        Ok(SignalPipe {
            read,
            _write: write,
            classify,
            root: Cell::new(0),
        })
    }

    /// The command memwatch started (its exit can mask who sent a signal, see
    /// [`Classify`]).
    pub(crate) fn set_root(&self, root: i32) {
        self.root.set(root);
    }

    /// Also route Ctrl+Z and `fg` (SIGTSTP, SIGCONT) through the pipe, for the status
    /// line, unless they were ignored when memwatch started.
    pub(crate) fn handle_stops(&self) -> io::Result<()> {
        for sig in [Signal::SIGTSTP, Signal::SIGCONT] {
            if !ignored(sig)? {
                install_handler(sig)?;
            }
        }
        Ok(())
    }

    /// Sleep until a signal arrives or `timeout` passes (Linux: to the microsecond, with
    /// `ppoll`, so `-i 1` is not rounded up to 2 ms; macOS: rounded up to whole
    /// milliseconds). Returns whether a signal is waiting to be [drained](SignalPipe::drain).
    pub(crate) fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let fds = &mut [PollFd::new(self.read.as_fd(), PollFlags::POLLIN)];
        #[cfg(target_os = "linux")]
        let polled = {
            let ts = nix::sys::time::TimeSpec::from_duration(timeout);
            nix::poll::ppoll(fds, Some(ts), None)
        };
        #[cfg(not(target_os = "linux"))]
        let polled = {
            let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
            poll(fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX))
        };
        match polled {
            Ok(n) => Ok(n > 0),
            Err(Errno::EINTR) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// Take the events received since the last call, oldest first, into `out`; returns
    /// how many.
    pub(crate) fn drain(&self, out: &mut [Event; 32]) -> usize {
        let mut buf = [0u8; RECORD * 32];
        // Non-blocking: nothing waiting (EAGAIN) reads as no event.
        let n = nix::unistd::read(&self.read, &mut buf).unwrap_or(0);
        let count = (n / RECORD).min(out.len());
        for (i, rec) in buf[..count * RECORD].chunks_exact(RECORD).enumerate() {
            let signal = i32::from(rec[0]);
            let sender = i32::from_ne_bytes([rec[1], rec[2], rec[3], rec[4]]);
            out[i] = match signal {
                libc::SIGCHLD => Event::ChildExited,
                libc::SIGTSTP => Event::Stop,
                libc::SIGCONT => Event::Continue,
                _ => Event::Job {
                    signal,
                    from_process: sender > 0 && !(self.classify)(signal, sender, self.root.get()),
                },
            };
        }
        count
    }
}

fn install_handler(sig: Signal) -> io::Result<()> {
    let action = SigAction::new(
        SigHandler::SigAction(on_signal),
        SaFlags::SA_SIGINFO | SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP,
        SigSet::empty(),
    );
    // SAFETY: the handler only calls async-signal-safe functions (write) and reads and
    // updates atomics.
    unsafe { sigaction(sig, &action) }
        .map(drop)
        .map_err(io::Error::from)
}

/// Stop memwatch as a terminal's Ctrl+Z would (SIGTSTP with its default action), once the
/// caller has put the terminal back in order; returns when memwatch is continued (`fg`,
/// `bg`, SIGCONT), with the SIGTSTP handler back in place.
pub(crate) fn suspend_self() -> io::Result<()> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: restoring the default disposition installs no code.
    unsafe { sigaction(Signal::SIGTSTP, &default) }.map_err(io::Error::from)?;
    // The default action stops the whole process here, until SIGCONT.
    nix::sys::signal::raise(Signal::SIGTSTP).map_err(io::Error::from)?;
    install_handler(Signal::SIGTSTP)
}

/// The process group of `pid`, if it is alive.
pub(crate) fn process_group(pid: i32) -> Option<i32> {
    nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid)))
        .ok()
        .map(nix::unistd::Pid::as_raw)
}

/// memwatch's own process group.
pub(crate) fn own_process_group() -> i32 {
    nix::unistd::getpgrp().as_raw()
}

/// True when `sig`'s disposition is `SIG_IGN` (inherited from whoever started memwatch).
pub(crate) fn ignored(sig: Signal) -> io::Result<bool> {
    // SAFETY: an all-zero sigaction is a valid value for the kernel to overwrite.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action makes sigaction(2) only read the current disposition into
    // `old`, a live, writable sigaction.
    if unsafe { libc::sigaction(sig as libc::c_int, std::ptr::null(), &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(old.sa_sigaction == libc::SIG_IGN)
}

/// Make a descriptor of the pipe non-blocking and close-on-exec (the job must not inherit
/// it).
fn set_flags(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
    let fl = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(fl | OFlag::O_NONBLOCK))?;
    let fd_fl = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD)?);
    fcntl(fd, FcntlArg::F_SETFD(fd_fl | FdFlag::FD_CLOEXEC))?;
    Ok(())
}

/// Job signals received so far (for waits outside the sampling loop, such as for a FIFO's
/// reader, that a signal must end).
pub(crate) fn job_signals_received() -> u32 {
    JOB_SIGNALS_RECEIVED.load(Ordering::Relaxed)
}

/// The first job signal received since memwatch started, if any.
pub(crate) fn first_job_signal() -> Option<i32> {
    Some(FIRST_JOB_SIGNAL.load(Ordering::Relaxed)).filter(|&s| s != 0)
}

/// Send `signal` to `pid` (used for the root, memwatch's unreaped child, whose pid cannot
/// be recycled). The signals memwatch sends (the job signals and SIGKILL) all have names;
/// a number without one is not sent.
pub(crate) fn kill(pid: i32, signal: i32) -> bool {
    Signal::try_from(signal)
        .is_ok_and(|s| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s).is_ok())
}
