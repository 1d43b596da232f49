//! Reaping: the one place memwatch waits for its children (`wait4`, with the kernel's peak
//! RSS of each), so the root's pid cannot be recycled before memwatch has its status.

use std::io;
use std::time::Duration;

use crate::model::Exit;

/// A child reaped by [`reap_one`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// What the platform's look at memwatch's children says before one is reaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "Linux's hook makes only `Any`; macOS's, which looks first, makes them all"
)]
pub(crate) enum Peek {
    /// Nothing is read before reaping: reap whichever child exited (Linux).
    Any,
    /// This child exited (a zombie): reap it, and only it, with what was read from it first
    /// (macOS: its lifetime peak footprint, KiB).
    Exited {
        /// The child.
        pid: i32,
        /// Its lifetime peak physical footprint, KiB, if it could be read.
        max_footprint_kib: Option<u64>,
    },
    /// Children are left, none has exited.
    Running,
    /// memwatch has no child left.
    NoChild,
}

/// The platform's look at its children before reaping (see [`Peek`]).
pub(crate) type Peeker = fn() -> Peek;

/// Reap one exited child without blocking: `None` when none is waiting. This and
/// [`reap_remaining`] are the only places memwatch reaps.
pub(crate) fn reap_one(peek: Peeker) -> Option<Reaped> {
    match wait_any(peek(), wait4) {
        Waited::Reaped(r) => Some(r),
        Waited::Running | Waited::NoChild => None,
    }
}

/// Once the job looks over: reap the children memwatch has not reaped yet, waiting at most
/// `timeout` for them. A process looks gone (its memory released) a moment before the
/// kernel lets its parent reap it; without this, memwatch would exit first, losing its
/// kernel peak and leaving a zombie to init.
pub(crate) fn reap_remaining(peek: Peeker, timeout: Duration, mut f: impl FnMut(Reaped)) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match wait_any(peek(), wait4) {
            Waited::Reaped(r) => f(r),
            Waited::Running if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Waited::Running | Waited::NoChild => return,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Waited {
    Reaped(Reaped),
    /// Children left, none exited yet.
    Running,
    NoChild,
}

/// What one `wait4(target, WNOHANG)` gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait4 {
    /// It reaped this child, which ended so, with this `ru_maxrss` (platform units).
    Reaped { pid: i32, exit: Exit, max_rss: i64 },
    /// Nothing to reap yet (0), or interrupted (EINTR).
    Running,
    /// No such child (ECHILD).
    NoChild,
}

/// Reap what `peek` allows: the child it names, only that one, or any child when it names
/// none (Linux). When it saw no exited child, nothing is reaped, even if one exits a moment
/// later: reaping that one now would discard what the platform reads from a zombie before
/// reaping it (macOS: its lifetime peak footprint); the next look finds it.
fn wait_any(peek: Peek, wait4: impl FnOnce(i32) -> Wait4) -> Waited {
    let (target, max_footprint_kib) = match peek {
        Peek::Any => (-1, None),
        Peek::Exited {
            pid,
            max_footprint_kib,
        } => (pid, max_footprint_kib),
        Peek::Running => return Waited::Running,
        Peek::NoChild => return Waited::NoChild,
    };
    match wait4(target) {
        Wait4::Reaped { pid, exit, max_rss } => Waited::Reaped(Reaped {
            pid,
            exit,
            max_rss_kib: u64::try_from(max_rss)
                .ok()
                .filter(|&v| v > 0)
                .map(maxrss_to_kib),
            max_footprint_kib,
        }),
        Wait4::Running => Waited::Running,
        Wait4::NoChild => Waited::NoChild,
    }
}

/// `wait4(target, WNOHANG)`, with the child's status and peak RSS.
fn wait4(target: i32) -> Wait4 {
    let mut status = 0;
    // SAFETY: rusage is plain data; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are valid for wait4 to fill.
    let pid = unsafe { libc::wait4(target, &mut status, libc::WNOHANG, &mut usage) };
    if pid == 0 {
        return Wait4::Running;
    }
    if pid < 0 {
        return if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            Wait4::Running
        } else {
            Wait4::NoChild
        };
    }
    let exit = if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    Wait4::Reaped {
        pid,
        exit,
        max_rss: usage.ru_maxrss,
    }
}

/// `ru_maxrss` is KiB on Linux and bytes on macOS.
fn maxrss_to_kib(v: u64) -> u64 {
    if cfg!(target_os = "macos") {
        v / 1024
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Play `wait_any` against scripted `wait4` results, recording the targets it asked for.
    fn play(peek: Peek, wait4: Option<Wait4>, asked: &RefCell<Vec<i32>>) -> Waited {
        wait_any(peek, |target| {
            asked.borrow_mut().push(target);
            wait4.expect("wait4 must not be called")
        })
    }

    #[test]
    fn a_child_that_exits_after_the_look_waits_for_the_next_look() {
        // macOS. Two children run: 42 (its footprint peak 9 MiB) and 43. waitid(WNOWAIT)
        // finds none exited; 42 exits right after. A wait4(-1) now would reap 42 with no
        // footprint read: nothing may be reaped until the next look.
        let asked = RefCell::new(Vec::new());
        assert_eq!(play(Peek::Running, None, &asked), Waited::Running);
        assert!(asked.borrow().is_empty());
        // The next look sees 42 and its footprint; exactly 42 is reaped, with it.
        let exited = Peek::Exited {
            pid: 42,
            max_footprint_kib: Some(9 * 1024),
        };
        let reaped = Wait4::Reaped {
            pid: 42,
            exit: Exit::Code(0),
            max_rss: 12 * 1024 * 1024,
        };
        let Waited::Reaped(r) = play(exited, Some(reaped), &asked) else {
            panic!("42 was not reaped");
        };
        assert_eq!(*asked.borrow(), [42]);
        assert_eq!((r.pid, r.exit), (42, Exit::Code(0)));
        assert_eq!(r.max_footprint_kib, Some(9 * 1024));
        // Then waitid finds no child at all.
        assert_eq!(play(Peek::NoChild, None, &asked), Waited::NoChild);
        assert_eq!(asked.borrow().len(), 1);
    }

    #[test]
    fn linux_reaps_any_child() {
        let asked = RefCell::new(Vec::new());
        let reaped = Wait4::Reaped {
            pid: 7,
            exit: Exit::Signal(9),
            max_rss: 2048,
        };
        let Waited::Reaped(r) = play(Peek::Any, Some(reaped), &asked) else {
            panic!("7 was not reaped");
        };
        assert_eq!(*asked.borrow(), [-1]);
        assert_eq!(
            (r.pid, r.exit, r.max_footprint_kib),
            (7, Exit::Signal(9), None)
        );
        assert_eq!(
            play(Peek::Any, Some(Wait4::Running), &asked),
            Waited::Running
        );
        assert_eq!(
            play(Peek::Any, Some(Wait4::NoChild), &asked),
            Waited::NoChild
        );
        // No peak (0) is unknown, never 0.
        let reaped = Wait4::Reaped {
            pid: 8,
            exit: Exit::Code(1),
            max_rss: 0,
        };
        let Waited::Reaped(r) = play(Peek::Any, Some(reaped), &asked) else {
            panic!("8 was not reaped");
        };
        assert_eq!(r.max_rss_kib, None);
    }
}
