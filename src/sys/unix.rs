//! Unix plumbing shared by the Linux and macOS backends: the signal self-pipe that wakes
//! the sampling loop (job signals, and SIGCHLD when a child exits), the one place that reaps
//! children (`wait4`, with the kernel's `ru_maxrss`), and the file-descriptor limit.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// Signals that end or interrupt the job and that memwatch handles.
pub const JOB_SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// Job signals (not SIGCHLD) received so far, for waits outside the sampling loop.
static JOB_SIGNALS_RECEIVED: AtomicU32 = AtomicU32::new(0);

/// Bytes per signal in the pipe: the signal number, then the sender's pid (native endian).
const RECORD: usize = 5;

/// A signal memwatch received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// The signal number.
    pub signal: i32,
    /// Sent by a process (`kill`), rather than by the kernel or the terminal (Ctrl+C, which
    /// already reached the whole foreground process group, job included).
    pub from_process: bool,
}

extern "C" fn on_signal(signal: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if JOB_SIGNALS.iter().any(|s| *s as libc::c_int == signal) {
        JOB_SIGNALS_RECEIVED.fetch_add(1, Ordering::Relaxed);
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
        // (see `raised_by_terminal`).
        unsafe { (*info).si_pid() }
    };
    let pid = sender.to_ne_bytes();
    let msg: [u8; RECORD] = [signal as u8, pid[0], pid[1], pid[2], pid[3]];
    let saved = io::Error::last_os_error().raw_os_error();
    // SAFETY: write(2) is async-signal-safe; `msg` is a live buffer of RECORD bytes, written
    // atomically (less than PIPE_BUF). A full pipe (EAGAIN) drops the record: the loop is
    // already awake with events pending.
    unsafe {
        libc::write(fd, msg.as_ptr().cast(), msg.len());
    }
    if let Some(errno) = saved {
        // SAFETY: restore errno for the interrupted code; errno_location is thread-local.
        unsafe { *errno_location() = errno };
    }
}

#[cfg(target_os = "linux")]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__errno_location() }
}

#[cfg(target_os = "macos")]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__error() }
}

/// The self-pipe that the signal handlers write to and the sampling loop sleeps on.
pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl SignalPipe {
    /// Create the pipe and install handlers for [`JOB_SIGNALS`] and SIGCHLD. Handlers, not
    /// `SIG_IGN`: an ignored disposition would survive `exec` into the job. A job signal
    /// already ignored when memwatch started (`nohup`, a background job of a script) stays
    /// ignored, so the job inherits it exactly as it would without memwatch, and memwatch
    /// never receives it to pass on.
    pub fn install() -> io::Result<SignalPipe> {
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe(2) to fill.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe(2) returned two fresh descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        for fd in [&read, &write] {
            set_flags(fd.as_raw_fd())?;
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
        })
    }

    /// Also route `sig` through the pipe (the status line's SIGTSTP and SIGCONT), unless it
    /// was ignored when memwatch started.
    pub fn also_handle(&self, sig: Signal) -> io::Result<()> {
        if ignored(sig)? {
            return Ok(());
        }
        install_handler(sig)
    }

    /// Sleep until a signal arrives or `timeout` passes (rounded up to whole milliseconds).
    /// Returns whether a signal is waiting to be [drained](SignalPipe::drain).
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
        let mut pfd = libc::pollfd {
            fd: self.read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
            return Ok(true);
        }
        Ok(r > 0)
    }

    /// Take the signals received since the last call (SIGCHLD included), oldest first,
    /// into `out`; returns how many.
    pub fn drain(&self, out: &mut [Received; 32]) -> usize {
        let mut buf = [0u8; RECORD * 32];
        // SAFETY: reading into a live buffer of `buf.len()` bytes from our non-blocking pipe.
        let n = unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return 0;
        }
        let count = (n as usize / RECORD).min(out.len());
        for (i, rec) in buf[..count * RECORD].chunks_exact(RECORD).enumerate() {
            let signal = i32::from(rec[0]);
            let sender = i32::from_ne_bytes([rec[1], rec[2], rec[3], rec[4]]);
            out[i] = Received {
                signal,
                from_process: sender > 0 && !raised_by_terminal(signal, sender),
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
pub fn suspend_self() -> io::Result<()> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: restoring the default disposition installs no code.
    unsafe { sigaction(Signal::SIGTSTP, &default) }.map_err(io::Error::from)?;
    // The default action stops the whole process here, until SIGCONT.
    nix::sys::signal::raise(Signal::SIGTSTP).map_err(io::Error::from)?;
    install_handler(Signal::SIGTSTP)
}

/// The process group of `pid`, if it is alive.
pub fn process_group(pid: i32) -> Option<i32> {
    nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid)))
        .ok()
        .map(nix::unistd::Pid::as_raw)
}

/// memwatch's own process group.
pub fn own_process_group() -> i32 {
    nix::unistd::getpgrp().as_raw()
}

/// Open a FIFO for writing, waiting for a reader as `>` would, but giving up when memwatch
/// receives a signal (Ctrl+C, SIGTERM) while it waits: a blocking open(2) would restart
/// after the handler and could only be ended by SIGKILL.
pub fn open_fifo_for_writing(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let signals = JOB_SIGNALS_RECEIVED.load(Ordering::Relaxed);
    let mut waited = Duration::ZERO;
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => {
                // Writes block normally from here on (a slow reader is not an error).
                use nix::fcntl::{FcntlArg, OFlag, fcntl};
                let flags = OFlag::from_bits_retain(fcntl(&file, FcntlArg::F_GETFL)?);
                fcntl(&file, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
                return Ok(file);
            }
            // No reader yet.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if JOB_SIGNALS_RECEIVED.load(Ordering::Relaxed) != signals {
                    return Err(io::Error::new(
                        io::ErrorKind::Interrupted,
                        "interrupted while waiting for a reader of the FIFO",
                    ));
                }
                if waited == Duration::from_secs(1) {
                    eprintln!(
                        "memwatch: waiting for a reader of {} to write the report",
                        path.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
                waited += Duration::from_millis(50);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `path` is a FIFO (named pipe), following links.
pub fn is_fifo(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Whether a rename over `path` would be refused although the file may be written: it is
/// another user's, in a sticky directory (such as /tmp) that is not ours either.
pub fn rename_forbidden_by_sticky_dir(path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(dir) = path.parent() else {
        return false;
    };
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let (Ok(file), Ok(dir)) = (std::fs::metadata(path), std::fs::metadata(dir)) else {
        return false;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    // 0o1000 is S_ISVTX, the sticky bit (its libc type differs between Linux and macOS).
    me != 0 && dir.mode() & 0o1000 != 0 && file.uid() != me && dir.uid() != me
}

/// True when spawning failed because the file is not in a format the kernel can execute
/// (ENOEXEC: a script without `#!`).
pub fn is_not_executable_format(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOEXEC)
}

/// The file `program` names, as execvp(3) finds it: as given when it holds a `/`, else the
/// first executable regular file of that name in `$PATH`.
pub fn find_program(program: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.as_bytes().contains(&b'/') {
        let p = std::path::PathBuf::from(program);
        return runnable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| {
            // An empty entry means the current directory.
            if dir.as_os_str().is_empty() {
                std::path::PathBuf::from(".").join(program)
            } else {
                dir.join(program)
            }
        })
        .find(|p| runnable(p))
}

/// Whether a file the kernel refused to execute is a text script (bash's test: no NUL in
/// its first line, within the first 80 bytes), rather than a broken binary.
pub fn looks_like_text(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 80];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(n) = f.read(&mut head) else {
        return false;
    };
    let first_line = head[..n].split(|&b| b == b'\n').next().unwrap_or(&[]);
    !first_line.contains(&0)
}

/// True when `sig`'s disposition is `SIG_IGN` (inherited from whoever started memwatch).
pub fn ignored(sig: Signal) -> io::Result<bool> {
    // SAFETY: an all-zero sigaction is a valid value for the kernel to overwrite.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action makes sigaction(2) only read the current disposition into
    // `old`, a live, writable sigaction.
    if unsafe { libc::sigaction(sig as libc::c_int, std::ptr::null(), &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(old.sa_sigaction == libc::SIG_IGN)
}

/// Linux sends a terminal's signals with `si_pid` 0: a sender is always a process.
#[cfg(not(target_os = "macos"))]
fn raised_by_terminal(_signal: i32, _sender: i32) -> bool {
    false
}

/// macOS fills `si_pid` of every caught signal with the pid of the process that was running
/// when the signal was raised (xnu `psignal_internal`: `si_pid = current_proc()->p_pid`):
/// for Ctrl+C that is the terminal emulator (or sshd, tmux) writing to the pty, not 0. The
/// job got that signal from the terminal already, so it must not be sent twice: see
/// [`super::darwin::raised_by_terminal`] for the rule.
#[cfg(target_os = "macos")]
fn raised_by_terminal(signal: i32, sender: i32) -> bool {
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
#[cfg(target_os = "macos")]
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

fn set_flags(fd: libc::c_int) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer flags only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        let fd_fl = libc::fcntl(fd, libc::F_GETFD);
        if fl < 0
            || fd_fl < 0
            || libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0
            || libc::fcntl(fd, libc::F_SETFD, fd_fl | libc::FD_CLOEXEC) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// How a reaped child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

/// A child reaped by [`reap_one`].
#[derive(Clone, Copy, Debug)]
pub struct Reaped {
    /// Its pid.
    pub pid: i32,
    /// How it ended.
    pub exit: Exit,
    /// The kernel's peak RSS for it (and the descendants it waited for), KiB.
    pub max_rss_kib: Option<u64>,
    /// macOS: its lifetime peak physical footprint (`ri_lifetime_max_phys_footprint`),
    /// KiB, read before it was reaped. `None` on Linux.
    pub max_footprint_kib: Option<u64>,
}

/// Reap one exited child without blocking: `None` when none is waiting. This and
/// [`reap_remaining`] are the only places memwatch reaps, so the root's pid cannot be
/// recycled before memwatch has its status.
pub fn reap_one() -> Option<Reaped> {
    match wait_any() {
        Waited::Reaped(r) => Some(r),
        Waited::Running | Waited::NoChild => None,
    }
}

/// Once the job looks over: reap the children memwatch has not reaped yet, waiting at most
/// `timeout` for them. A process looks gone (its memory released) a moment before the
/// kernel lets its parent reap it; without this, memwatch would exit first, losing its
/// kernel peak and leaving a zombie to init.
pub fn reap_remaining(timeout: Duration, mut f: impl FnMut(Reaped)) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match wait_any() {
            Waited::Reaped(r) => f(r),
            Waited::Running if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Waited::Running | Waited::NoChild => return,
        }
    }
}

enum Waited {
    Reaped(Reaped),
    /// Children left, none exited yet.
    Running,
    NoChild,
}

fn wait_any() -> Waited {
    // On macOS the exited child's lifetime peak footprint is read from the zombie first,
    // and that very child is reaped.
    #[cfg(target_os = "macos")]
    let (target, max_footprint_kib) = match super::macos::peek_exited_child() {
        Some((pid, footprint)) => (pid, footprint),
        None => (-1, None),
    };
    #[cfg(not(target_os = "macos"))]
    let (target, max_footprint_kib) = (-1, None);
    let mut status = 0;
    // SAFETY: rusage is plain data; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are valid for wait4 to fill.
    let pid = unsafe { libc::wait4(target, &mut status, libc::WNOHANG, &mut usage) };
    if pid == 0 {
        return Waited::Running;
    }
    if pid < 0 {
        return if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            Waited::Running
        } else {
            Waited::NoChild
        };
    }
    let exit = if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    let max_rss = u64::try_from(usage.ru_maxrss).ok().filter(|&v| v > 0);
    Waited::Reaped(Reaped {
        pid,
        exit,
        max_rss_kib: max_rss.map(maxrss_to_kib),
        max_footprint_kib,
    })
}

/// `ru_maxrss` is KiB on Linux and bytes on macOS.
fn maxrss_to_kib(v: u64) -> u64 {
    if cfg!(target_os = "macos") {
        v / 1024
    } else {
        v
    }
}

/// Raise the soft open-file limit to the hard limit (memwatch keeps one descriptor per job
/// process open on Linux). Called after the job is spawned, so the job inherits the limit
/// the user had. Returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 256;
    };
    // macOS refuses RLIM_INFINITY and anything above OPEN_MAX for the soft limit.
    let target = if cfg!(target_os = "macos") {
        hard.min(10_240)
    } else {
        hard
    };
    if target > soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        return target;
    }
    soft
}

static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

extern "C" fn check_stdout_at_start() {
    // SAFETY: F_GETFD only queries descriptor 1.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
        STDOUT_CLOSED_AT_START.store(true, Ordering::Relaxed);
    }
}

/// Runs before `main` (an ELF `.init_array` / Mach-O `__mod_init_func` entry), before Rust's
/// runtime reopens a closed standard descriptor on `/dev/null`.
#[used]
#[cfg_attr(target_os = "linux", unsafe(link_section = ".init_array"))]
#[cfg_attr(target_os = "macos", unsafe(link_section = "__DATA,__mod_init_func"))]
static CHECK_STDOUT_AT_START: extern "C" fn() = check_stdout_at_start;

/// Whether memwatch was started with standard output closed (`>&-`). Rust's runtime then
/// points descriptor 1 at `/dev/null`, where a report would vanish without an error.
pub fn stdout_closed_at_start() -> bool {
    STDOUT_CLOSED_AT_START.load(Ordering::Relaxed)
}

/// Send `signal` to `pid` (used for the root, memwatch's unreaped child, whose pid cannot
/// be recycled).
pub fn kill(pid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) with integer arguments.
    unsafe { libc::kill(pid, signal) == 0 }
}
