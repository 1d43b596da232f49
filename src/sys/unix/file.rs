//! Output files and standard output. Report files. A regular file (or a new one) is written atomically: a temporary file next
//! to the target is created (and removed) before the job starts, so an unwritable path fails
//! at once, not after an hour; at the end it is written and renamed over the target, so a
//! report is never half-written and a killed memwatch leaves nothing behind. A symbolic link is followed and the file it names is replaced, the
//! link kept. Anything else (a device such as `/dev/stdout` or `/dev/null`, a FIFO, a
//! socket, `/proc/self/fd/N`) is written through, never replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Error;

/// Symbolic links followed before giving up (as the kernel's ELOOP limit).
const MAX_LINKS: usize = 40;

/// A report file being prepared.
pub(crate) struct PendingFile {
    /// The path as given.
    target: PathBuf,
    how: How,
}

enum How {
    /// Written to `temp`, then renamed to `path` (the target with its links followed).
    /// `temp` was created once up front to prove the directory writable, and removed at
    /// once, so a memwatch killed with SIGKILL leaves nothing behind.
    Atomic { path: PathBuf, temp: PathBuf },
    /// Written into the existing `path` (a device, a FIFO, an open file named through
    /// `/proc/self/fd` or `/dev/fd`, or a file the directory forbids replacing). `file` is
    /// opened up front, except for a FIFO, whose open would wait for a reader.
    Through {
        path: PathBuf,
        file: Option<File>,
        mode: Mode,
    },
}

/// How a written-through file is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As it is (a device, a FIFO).
    Plain,
    /// After what is there: an open file named by a descriptor, as a shell's redirection.
    Append,
    /// Emptied first, when the report is ready: a file that cannot be replaced, as `>`.
    Truncate,
}

impl PendingFile {
    /// Prepare writing `target`. Fails at once if the directory is missing or not
    /// writable, if `target` is a directory, or if it exists and is not writable.
    pub(crate) fn create(target: &Path) -> io::Result<PendingFile> {
        let (path, open_file) = follow_links(target)?;
        let how = match fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "Is a directory",
                ));
            }
            // A descriptor's link (`/dev/stdout` is `/proc/self/fd/1`, `/dev/fd/1`) names an
            // open file: write into it, after what is there, as a shell's redirection would.
            Ok(m) if m.is_file() && open_file => through(path, Mode::Append)?,
            Ok(m) if !m.is_file() => through(path, Mode::Plain)?,
            Ok(_) => {
                // Replacing a file that cannot be written would succeed (the rename needs
                // only the directory): refuse it now, as a shell's `>` would.
                OpenOptions::new().write(true).open(&path)?;
                if rename_forbidden_by_sticky_dir(&path) {
                    // Another user's file in a sticky directory (/tmp) may be written but
                    // not replaced: write it in place at the end, as `>` would.
                    through(path, Mode::Truncate)?
                } else {
                    atomic(path)?
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => atomic(path)?,
            Err(e) => return Err(e),
        };
        Ok(PendingFile {
            target: target.to_path_buf(),
            how,
        })
    }

    /// The path the report will have.
    pub(crate) fn target(&self) -> &Path {
        &self.target
    }

    /// Write an interim version now, keeping the file pending for the final
    /// [`commit`](PendingFile::commit): the report at memwatch's first terminating signal,
    /// rewritten while the job goes on, so whatever kills memwatch next, the data is on disk.
    /// Only a file written atomically can be rewritten (a device, a FIFO or a descriptor
    /// would get the report twice): for those it writes nothing and returns `Ok(false)`.
    /// Not synced to disk (the page cache outlives a killed memwatch); the final commit is.
    pub(crate) fn write_interim(
        &self,
        f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<bool> {
        let How::Atomic { path, temp } = &self.how else {
            return Ok(false);
        };
        let written = (|| {
            let file = create_temp(temp)?;
            let mut w = io::BufWriter::new(file);
            f(&mut w)?;
            w.into_inner().map_err(io::IntoInnerError::into_error)?;
            fs::rename(temp, path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(temp);
        }
        written.map(|()| true)
    }

    /// Write the content with `f`, flush it to disk and rename it into place (or write it
    /// through).
    pub(crate) fn commit(
        mut self,
        f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        match &mut self.how {
            How::Atomic { path, temp } => {
                let file = create_temp(temp)?;
                let mut w = io::BufWriter::new(file);
                f(&mut w)?;
                let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
                file.sync_all()?;
                drop(file);
                fs::rename(temp, path)
            }
            How::Through { path, file, mode } => {
                let file = match file.take() {
                    Some(f) => f,
                    None => open_fifo_for_writing(path)?,
                };
                if *mode == Mode::Truncate {
                    file.set_len(0)?;
                }
                let mut w = io::BufWriter::new(file);
                f(&mut w)?;
                w.flush()
            }
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Not committed (or the rename failed): leave no temporary file behind.
        if let How::Atomic { temp, .. } = &self.how {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Save a report that could not be written where it was asked (a removed directory, a full
/// disk) in the temporary directory (`$TMPDIR`, else `/tmp`), as a new file named after
/// memwatch's pid. Returns its path.
pub(crate) fn save_fallback(
    extension: &str,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let mut n = 0u32;
    let (path, file) = loop {
        let name = match n {
            0 => format!("memwatch-report-{pid}.{extension}"),
            _ => format!("memwatch-report-{pid}-{n}.{extension}"),
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => break (path, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        let mut w = io::BufWriter::new(file);
        f(&mut w)?;
        w.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()
    })();
    match written {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = fs::remove_file(&path);
            Err(e)
        }
    }
}

/// `target` with its symbolic links followed (relative ones from their own directory), up
/// to the first that is not a link, does not exist, or names an open file (in `/proc` or
/// `/dev/fd`, whose links are descriptors, not paths): then the flag is true.
fn follow_links(target: &Path) -> io::Result<(PathBuf, bool)> {
    let mut path = target.to_path_buf();
    for _ in 0..MAX_LINKS {
        if names_open_file(&path) {
            return Ok((path, true));
        }
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok((path, false)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "Too many levels of symbolic links",
    ))
}

fn atomic(path: PathBuf) -> io::Result<How> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".memwatch-{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    drop(create_temp(&temp)?);
    fs::remove_file(&temp)?;
    Ok(How::Atomic { path, temp })
}

/// A new, empty `temp`; one left by a killed memwatch that had the same pid is replaced.
fn create_temp(temp: &Path) -> io::Result<File> {
    let create = || OpenOptions::new().write(true).create_new(true).open(temp);
    match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(temp)?;
            create()
        }
        other => other,
    }
}

/// Whether `path` lies in `/proc` or `/dev/fd` (directly or through a linked directory),
/// whose entries are open files, not paths to follow or replace.
fn names_open_file(path: &Path) -> bool {
    let special = |p: &Path| p.starts_with("/proc") || p.starts_with("/dev/fd");
    special(path)
        || path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .and_then(|d| fs::canonicalize(d).ok())
            .is_some_and(|d| special(&d))
}

fn through(path: PathBuf, mode: Mode) -> io::Result<How> {
    let file = if is_fifo(&path) {
        // Opening a FIFO for writing waits for a reader: open it when the report is ready.
        // Until then, check what can be checked.
        let m = fs::metadata(&path)?;
        if m.permissions().readonly() {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        None
    } else {
        Some(
            OpenOptions::new()
                .write(true)
                .append(mode == Mode::Append)
                .open(&path)?,
        )
    };
    Ok(How::Through { path, file, mode })
}

/// Open a FIFO for writing, waiting for a reader as `>` would, but giving up when memwatch
/// receives a signal (Ctrl+C, SIGTERM) while it waits: a blocking open(2) would restart
/// after the handler and could only be ended by SIGKILL.
pub(crate) fn open_fifo_for_writing(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let signals = super::signals::job_signals_received();
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
                if super::signals::job_signals_received() != signals {
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
pub(crate) fn is_fifo(path: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Whether a rename over `path` would be refused although the file may be written: it is
/// another user's, in a sticky directory (such as /tmp) that is not ours either.
pub(crate) fn rename_forbidden_by_sticky_dir(path: &std::path::Path) -> bool {
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
    let me = rustix::process::geteuid().as_raw();
    // 0o1000 is S_ISVTX, the sticky bit (its libc type differs between Linux and macOS).
    me != 0 && dir.mode() & 0o1000 != 0 && file.uid() != me && dir.uid() != me
}

static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

extern "C" fn check_stdout_at_start() {
    // F_GETFD only asks whether descriptor 1 is open.
    if rustix::io::fcntl_getfd(rustix::stdio::stdout()).is_err() {
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
pub(crate) fn stdout_closed_at_start() -> bool {
    STDOUT_CLOSED_AT_START.load(Ordering::Relaxed)
}

/// Write `text` (a comparison, a plot, a merge, the manual page…) to standard output.
/// A reader that stopped early (`| head`) is not an error for text meant for reading; a
/// standard output closed when memwatch started (`>&-`, which Rust's runtime quietly points
/// at /dev/null) is, naming `what` was lost.
pub(crate) fn print(what: &'static str, text: &[u8]) -> Result<(), Error> {
    let failed = |source| Error::Output {
        what,
        target: "standard output".to_string(),
        source,
        job: None,
    };
    if stdout_closed_at_start() {
        return Err(failed(closed_stdout()));
    }
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        written => written.map_err(failed),
    }
}

/// The error of writing to a standard output that was closed when memwatch started.
pub(crate) fn closed_stdout() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("memwatch-file-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn commits_atomically_and_cleans_up() {
        let d = tempdir("commit");
        let target = d.join("r.json");
        let p = PendingFile::create(&target).unwrap();
        assert!(!target.exists());
        // Nothing in the directory while the job runs: a SIGKILL leaves no litter.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
        p.commit(|w| w.write_all(b"{}\n")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}\n");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        let p = PendingFile::create(&target).unwrap();
        drop(p);
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "temp file removed");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn follows_symlinks_and_keeps_them() {
        let d = tempdir("links");
        fs::create_dir(d.join("real")).unwrap();
        std::os::unix::fs::symlink("real/r.json", d.join("link.json")).unwrap();
        // Dangling: the file it names is created, the link kept.
        let p = PendingFile::create(&d.join("link.json")).unwrap();
        assert_eq!(p.target(), d.join("link.json"));
        p.commit(|w| w.write_all(b"one")).unwrap();
        assert!(
            fs::symlink_metadata(d.join("link.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(d.join("real/r.json")).unwrap(), b"one");
        // Existing: replaced through the link, and no temporary file left in either place.
        PendingFile::create(&d.join("link.json"))
            .unwrap()
            .commit(|w| w.write_all(b"two"))
            .unwrap();
        assert_eq!(fs::read(d.join("link.json")).unwrap(), b"two");
        assert!(
            fs::symlink_metadata(d.join("link.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_dir(&d).unwrap().count(), 2);
        assert_eq!(fs::read_dir(d.join("real")).unwrap().count(), 1);
        // A loop is an error, not a hang.
        std::os::unix::fs::symlink("b", d.join("a")).unwrap();
        std::os::unix::fs::symlink("a", d.join("b")).unwrap();
        let e = PendingFile::create(&d.join("a")).err().unwrap();
        assert!(e.to_string().contains("symbolic links"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn descriptor_paths_are_open_files_not_paths() {
        assert!(names_open_file(Path::new("/proc/self/fd/1")));
        assert!(names_open_file(Path::new("/dev/fd/1")));
        assert!(!names_open_file(Path::new("/tmp/r.json")));
        assert!(!names_open_file(Path::new("r.json")));
    }

    #[test]
    fn devices_and_fifos_are_written_through_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        PendingFile::create(Path::new("/dev/null"))
            .unwrap()
            .commit(|w| w.write_all(b"report"))
            .unwrap();
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );

        let d = tempdir("fifo");
        let fifo = d.join("r.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Prepared without a reader (the open waits for one only at commit).
        let p = PendingFile::create(&fifo).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        p.commit(|w| w.write_all(b"through the fifo")).unwrap();
        assert_eq!(reader.join().unwrap(), b"through the fifo");
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_existing_file_that_cannot_be_written_is_refused_up_front() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempdir("readonly");
        let target = d.join("r.json");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o444)).unwrap();
        if OpenOptions::new().write(true).open(&target).is_ok() {
            eprintln!("skipped: this user (root) may write any file");
            fs::remove_dir_all(&d).unwrap();
            return;
        }
        let e = PendingFile::create(&target).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "no temporary file");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_missing_dirs_and_directories() {
        let d = tempdir("refuse");
        assert!(PendingFile::create(&d.join("no/such/dir/r.json")).is_err());
        assert!(PendingFile::create(&d).is_err());
        fs::remove_dir_all(&d).unwrap();
    }
}
