//! The descriptor budget. A followed process's `statm` stays open (one descriptor per job
//! process), but only while [`FD_RESERVE`] descriptors remain free under the open-files
//! limit; past that, processes are read by path (open, read, close), so discovery and the
//! report files written at the end never run short. Whatever still fails for lack of
//! descriptors is counted in [`Gaps`](crate::sys::Gaps).

use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::process::{Resource, getrlimit};

use super::files;
use super::inspector::LinuxInspector;
use super::reading::LinuxHandle;
use crate::sys::Reading;

/// Descriptors left free under the open-files limit for everything but kept-open reads:
/// discovery (a directory and a file at once), following a new process (two at once),
/// command lines, pidfds, and the report files written at the end.
const FD_RESERVE: usize = 16;

/// Descriptors kept open by handles, in the whole process (the limit is the process's).
static KEPT_FDS: AtomicUsize = AtomicUsize::new(0);

/// A descriptor a handle keeps open, counted in [`KEPT_FDS`] while it lives.
pub(super) struct Kept(OwnedFd);

impl Kept {
    pub(super) fn new(fd: OwnedFd) -> Kept {
        KEPT_FDS.fetch_add(1, Ordering::Relaxed);
        Kept(fd)
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        KEPT_FDS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsFd for Kept {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// The soft open-files limit (`RLIMIT_NOFILE`) as it is now; `u64::MAX` for none.
pub(super) fn nofile_limit() -> u64 {
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// How many descriptors memwatch has open now (standard streams, output files, the
/// signal pipe, `/proc/loadavg`...).
pub(super) fn open_now(dents: &mut Vec<u8>) -> usize {
    let mut open = 0usize;
    let _ = files::list_dir(c"/proc/self/fd", dents, |_| open += 1);
    // The listing's own descriptor on the directory is listed too.
    open.saturating_sub(1)
}

impl LinuxInspector {
    /// Whether a handle may keep `fd` (just opened) open: [`FD_RESERVE`] descriptors must
    /// stay free under the open-files limit, counting the ones open at the start, the
    /// kept ones, and, for descriptors opened elsewhere since, `fd`'s own number (the
    /// kernel gives the lowest free one).
    pub(super) fn may_keep(&self, fd: &OwnedFd) -> bool {
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
    pub(super) fn short_of_fds(&mut self) {
        self.rescan = true;
        if !self.short_this_sample {
            self.short_this_sample = true;
            self.gaps.fd_samples += 1;
            self.gaps.fd_limit = Some(nofile_limit());
        }
    }

    /// A followed process could not be read for lack of descriptors: unknown this time.
    pub(super) fn unread(&mut self, h: &mut LinuxHandle) -> Reading {
        self.short_of_fds();
        if !h.starved {
            h.starved = true;
            self.gaps.fd_processes += 1;
        }
        Reading::Unknown
    }
}
