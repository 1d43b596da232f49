//! Rendering reports: the human summary and JSON, each writing into any `io::Write`
//! so tests render into a `Vec<u8>`; the atomic report file; and [`print`], the one way
//! text meant for reading reaches standard output.

pub mod csv;
pub mod file;
pub mod human;
pub mod json;
pub mod status;

use std::io::{self, Write};

use crate::error::Error;

/// Write `text` (a comparison, a plot, a merge, the manual page…) to standard output.
/// A reader that stopped early (`| head`) is not an error for text meant for reading; a
/// standard output closed when memwatch started (`>&-`, which Rust's runtime quietly points
/// at /dev/null) is, naming `what` was lost.
pub fn print(what: &'static str, text: &[u8]) -> Result<(), Error> {
    let failed = |source| Error::Output {
        what,
        target: "standard output".to_string(),
        source,
        job: None,
    };
    if crate::sys::unix::stdout_closed_at_start() {
        return Err(failed(io::Error::from_raw_os_error(libc::EBADF)));
    }
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        written => written.map_err(failed),
    }
}
