//! Report files written atomically: a temporary file next to the target is created before
//! the job starts (so an unwritable path fails at once, not after an hour) and renamed over
//! the target once the report is complete. A report is never half-written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A report file being prepared.
pub struct PendingFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
}

impl PendingFile {
    /// Create the temporary file next to `target`. Fails if the directory is missing or not
    /// writable, or if `target` is a directory.
    pub fn create(target: &Path) -> io::Result<PendingFile> {
        if target.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "Is a directory",
            ));
        }
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".memwatch-{}.tmp", std::process::id()));
        let temp = target.with_file_name(temp_name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(PendingFile {
            target: target.to_path_buf(),
            temp,
            file: Some(file),
        })
    }

    /// The path the report will have.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Write the content with `f`, flush it to disk and rename it into place.
    pub fn commit(mut self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("report already written"))?;
        let mut w = io::BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temp, &self.target)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Not committed (or the rename failed): leave no temporary file behind.
        let _ = fs::remove_file(&self.temp);
    }
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
        p.commit(|w| w.write_all(b"{}\n")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}\n");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        let p = PendingFile::create(&target).unwrap();
        drop(p);
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "temp file removed");
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
