//! Reading `/proc` without allocating: paths written on the stack ([`ProcPath`]), and files
//! opened, read and listed through rustix's system calls, so every failure is an [`Errno`]
//! the backend can tell apart (gone, denied, out of descriptors).

use std::ffi::CStr;
use std::mem::MaybeUninit;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;

use crate::sys::Pid;

/// A `/proc/<pid>...` path with its NUL, built on the stack.
pub(super) struct ProcPath {
    /// Zero-initialised; [`push`](ProcPath::push) never writes the last byte, so a NUL
    /// always follows the path.
    buf: [u8; 64],
    len: usize,
}

impl ProcPath {
    /// `/proc/<pid>`.
    pub(super) fn dir(pid: Pid) -> ProcPath {
        let mut p = ProcPath {
            buf: [0; 64],
            len: 0,
        };
        p.push(b"/proc/");
        p.push_int(pid);
        p
    }

    /// `/proc/<pid>/<name>`.
    pub(super) fn file(pid: Pid, name: &str) -> ProcPath {
        let mut p = ProcPath::dir(pid);
        p.push(b"/");
        p.push(name.as_bytes());
        p
    }

    /// `/proc/<pid>/task/<tid>/children`.
    pub(super) fn children(pid: Pid, tid: Pid) -> ProcPath {
        let mut p = ProcPath::file(pid, "task/");
        p.push_int(tid);
        p.push(b"/children");
        p
    }

    pub(super) fn as_c_str(&self) -> &CStr {
        // Pieces never hold a NUL (literals and digits), so the first NUL ends the path.
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).unwrap_or(c"/")
    }

    fn push(&mut self, bytes: &[u8]) {
        // The longest path, "/proc/<pid>/task/<tid>/children", is at most 41 bytes.
        for &b in bytes {
            if self.len < self.buf.len() - 1 {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn push_int(&mut self, v: i32) {
        let mut digits = [0u8; 10];
        let mut n = v.unsigned_abs();
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// Open a file to read, close-on-exec.
pub(super) fn open(path: &CStr) -> Result<OwnedFd, Errno> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
}

/// Open a directory, close-on-exec.
pub(super) fn open_dir(path: &CStr) -> Result<OwnedFd, Errno> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty())
}

/// Open `name` in the directory `dir`, to read, close-on-exec.
pub(super) fn open_at(dir: impl AsFd, name: &CStr) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
}

/// Read a file from its start with one `pread`: every `/proc` file memwatch reads this way
/// fits `buf`, and each read at offset 0 makes the kernel generate the text afresh.
pub(super) fn read(fd: impl AsFd, buf: &mut [u8]) -> Result<usize, Errno> {
    rustix::io::pread(fd, buf, 0)
}

/// [`read`] into a buffer that need not be initialised: the bytes read.
pub(super) fn read_into(fd: impl AsFd, buf: &mut [MaybeUninit<u8>]) -> Result<&[u8], Errno> {
    rustix::io::pread(fd, buf, 0).map(|(read, _)| &*read)
}

/// Open, [`read`] and close.
pub(super) fn read_file(path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    read(open(path)?, buf)
}

/// Open `name` in `dir`, [`read`] and close.
pub(super) fn read_file_at(dir: impl AsFd, name: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    read(open_at(dir, name)?, buf)
}

/// Read a whole file, growing `buf` (kept for the next calls) when the file does not fit.
/// Returns the length read.
pub(super) fn read_file_whole(path: &CStr, buf: &mut Vec<u8>) -> Result<usize, Errno> {
    let fd = open(path)?;
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len().max(4096) * 2, 0);
        }
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) => return Ok(len),
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Call `f` with every entry of a directory whose name is a positive integer (pids, tids,
/// descriptors). `dents` is the `getdents64` buffer: its spare capacity is used, so it is
/// made with [`Vec::with_capacity`] once and nothing is allocated here.
pub(super) fn list_dir(
    path: &CStr,
    dents: &mut Vec<u8>,
    mut f: impl FnMut(Pid),
) -> Result<(), Errno> {
    let dir = open_dir(path)?;
    let mut entries = RawDir::new(dir, dents.spare_capacity_mut());
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if let Some(pid) = super::procfs::parse_int(name).filter(|&p| p > 0) {
            f(pid);
        }
    }
    Ok(())
}

/// The kernel refused: another user's process, `hidepid=noaccess`, a setuid program.
pub(super) fn is_denied(e: Errno) -> bool {
    matches!(e, Errno::ACCESS | Errno::PERM)
}

/// memwatch (`EMFILE`) or the system (`ENFILE`) has no descriptor left.
pub(super) fn is_fd_exhaustion(e: Errno) -> bool {
    matches!(e, Errno::MFILE | Errno::NFILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(ProcPath::dir(1).as_c_str(), c"/proc/1");
        assert_eq!(ProcPath::file(5, "statm").as_c_str(), c"/proc/5/statm");
        let longest = ProcPath::children(i32::MAX, i32::MAX);
        assert_eq!(
            longest.as_c_str(),
            c"/proc/2147483647/task/2147483647/children"
        );
    }

    #[test]
    fn reads_whole_files_larger_than_the_buffer() {
        let path = std::env::temp_dir().join(format!("memwatch-whole-{}", std::process::id()));
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        let mut buf = vec![0; 16];
        let n = read_file_whole(&c, &mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn lists_proc() {
        let mut dents = Vec::with_capacity(4096);
        let mut pids = Vec::new();
        list_dir(c"/proc", &mut dents, |p| pids.push(p)).unwrap();
        assert!(pids.contains(&(std::process::id() as i32)));
        assert!(pids.contains(&1));
    }

    #[test]
    fn lists_directories_larger_than_the_buffer() {
        let dir = std::env::temp_dir().join(format!("memwatch-dents-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        for name in (1..=500)
            .map(|i| i.to_string())
            .chain(["x".into(), "-3".into()])
        {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
        // Room for a few dozen entries: getdents64 is called again and again.
        let mut dents = Vec::with_capacity(1024);
        let mut listed = Vec::new();
        list_dir(&c, &mut dents, |n| listed.push(n)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        listed.sort_unstable();
        assert_eq!(listed, (1..=500).collect::<Vec<_>>());
    }

    #[test]
    fn tells_failures_apart() {
        let mut buf = [0u8; 64];
        let gone = read_file(ProcPath::file(i32::MAX, "stat").as_c_str(), &mut buf);
        assert_eq!(gone, Err(Errno::NOENT));
        assert!(is_denied(Errno::PERM) && is_denied(Errno::ACCESS));
        assert!(is_fd_exhaustion(Errno::MFILE) && !is_fd_exhaustion(Errno::NOENT));
    }
}
