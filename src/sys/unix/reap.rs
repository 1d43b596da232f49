//! Reaping: the one place memwatch waits for its children (`wait4`, with the kernel's peak
//! RSS of each), so the root's pid cannot be recycled before memwatch has its status.

use std::io;
use std::time::Duration;

use crate::model::Exit;

/// A child reaped by [`reap_one`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reaped {
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

/// The exited child to reap first and its lifetime peak footprint, read from the zombie
/// before it is reaped (macOS); `None` on Linux, where any child will do.
pub(crate) type Peek = fn() -> Option<(i32, Option<u64>)>;

/// Reap one exited child without blocking: `None` when none is waiting. This and
/// [`reap_remaining`] are the only places memwatch reaps.
pub(crate) fn reap_one(peek: Peek) -> Option<Reaped> {
    match wait_any(peek) {
        Waited::Reaped(r) => Some(r),
        Waited::Running | Waited::NoChild => None,
    }
}

/// Once the job looks over: reap the children memwatch has not reaped yet, waiting at most
/// `timeout` for them. A process looks gone (its memory released) a moment before the
/// kernel lets its parent reap it; without this, memwatch would exit first, losing its
/// kernel peak and leaving a zombie to init.
pub(crate) fn reap_remaining(peek: Peek, timeout: Duration, mut f: impl FnMut(Reaped)) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match wait_any(peek) {
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

fn wait_any(peek: Peek) -> Waited {
    let (target, max_footprint_kib) = match peek() {
        Some((pid, footprint)) => (pid, footprint),
        None => (-1, None),
    };
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
