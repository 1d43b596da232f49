//! Running the memwatch under test as `nobody` (uid/gid 65534), for checks that need
//! permissions to bite when the tests run as root. Shared by several test crates.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Make `cmd` drop to `nobody` (no supplementary groups) before it execs.
pub fn drop_to_nobody(cmd: &mut Command) -> &mut Command {
    // SAFETY: setgroups, setgid and setuid are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}
