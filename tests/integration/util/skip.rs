//! Tests that need something this machine may lack (root, a `nobody` who can run memwatch,
//! setuid, tmux, Chromium, Open MPI, ...) and what they use to get it.
//!
//! Such a test calls [`skip_or_fail`] and returns when it cannot run: `cargo test` on a bare
//! machine passes and says `skipped: <test>: <reason>` among its results, while
//! `MEMWATCH_REQUIRE_ALL=1` (which `.ci/run` sets) turns every skip into a failure, so CI
//! proves that every test really ran.

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{BIN, DirExt, TempDir, try_output};

/// The variable that turns a skip into a failure.
pub(crate) const REQUIRE_ALL: &str = "MEMWATCH_REQUIRE_ALL";

/// Whether `MEMWATCH_REQUIRE_ALL=1`: every test must run.
pub(crate) fn require_all() -> bool {
    std::env::var_os(REQUIRE_ALL).is_some_and(|v| v == "1")
}

/// This test cannot run here because of `reason`: say `skipped: <test>: <reason>` and
/// return (the caller returns too), or, under `MEMWATCH_REQUIRE_ALL=1`, fail with the
/// reason.
#[track_caller]
pub(crate) fn skip_or_fail(reason: &str) {
    if require_all() {
        panic!("{REQUIRE_ALL}=1, but this test cannot run here: {reason}");
    }
    // Straight to standard error: the test harness keeps what `eprintln!` prints in a test
    // that passes, and a skip must be seen. The harness names each test's thread.
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map_or_else(String::new, |n| format!("{n}: "));
    let _ = writeln!(std::io::stderr(), "skipped: {test}{reason}");
}

/// Whether the tests run as root.
pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Make `cmd` drop to `nobody` (uid/gid 65534, no supplementary groups) before it execs.
pub(crate) fn drop_to_nobody(cmd: &mut Command) -> &mut Command {
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

/// Why `nobody` cannot run the memwatch under test here (its path is closed to other
/// users), if it cannot; found out once.
fn nobody_cannot_run_memwatch() -> Option<&'static str> {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    WHY.get_or_init(
        || match try_output(drop_to_nobody(Command::new(BIN).arg("--version"))) {
            Ok(o) if o.status.success() => None,
            other => Some(format!(
                "memwatch cannot be run as nobody here (its path is closed?): {other:?}"
            )),
        },
    )
    .as_deref()
}

/// `cmd` (a memwatch) as it must run for permissions to bite: as `nobody` when the tests run
/// as root, as it is otherwise. `None` (after [`skip_or_fail`]) when nobody cannot run it.
pub(crate) fn as_nobody(cmd: &mut Command) -> Option<&mut Command> {
    if !is_root() {
        return Some(cmd);
    }
    if let Some(why) = nobody_cannot_run_memwatch() {
        skip_or_fail(why);
        return None;
    }
    Some(drop_to_nobody(cmd))
}

/// Why a setuid-root program cannot work in `dir`, if it cannot: the tests are not root,
/// the filesystem is mounted nosuid, or the runner set no_new_privs.
pub(crate) fn setuid_unavailable(dir: &Path) -> Option<String> {
    if !is_root() {
        return Some("needs root to make a setuid-root copy of memwatch".into());
    }
    let nosuid = nix::sys::statvfs::statvfs(dir)
        .map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOSUID))
        .unwrap_or(true);
    let no_new_privs = fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("NoNewPrivs:") && l.ends_with('1'))
        })
        .unwrap_or(true);
    (nosuid || no_new_privs).then(|| {
        format!("setuid has no effect here (nosuid {nosuid}, no_new_privs {no_new_privs})")
    })
}

/// A setuid-root copy of memwatch, `suid-workload` in `dir` (opened to every user), or
/// `None` (after [`skip_or_fail`]) where setuid cannot work.
pub(crate) fn setuid_copy(dir: &TempDir) -> Option<PathBuf> {
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    if let Some(why) = setuid_unavailable(dir.path()) {
        skip_or_fail(&why);
        return None;
    }
    let bin = dir.join("suid-workload");
    fs::copy(BIN, &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o4755)).unwrap();
    Some(bin)
}

/// `cmd` as `nobody`, in a private mount namespace whose `/proc` is mounted with
/// `hidepid=<mode>`: memwatch there cannot see root's processes.
pub(crate) fn under_hidepid<'c>(cmd: &'c mut Command, mode: &str) -> &'c mut Command {
    let options = CString::new(format!("hidepid={mode}")).unwrap();
    // SAFETY: unshare, mount, setgroups, setgid and setuid are async-signal-safe, as
    // pre_exec requires; the strings were made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return fail();
            }
            // Nothing mounted here may leak to the test's own namespace.
            let none = std::ptr::null::<libc::c_char>();
            if libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return fail();
            }
            if libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                0,
                options.as_ptr().cast(),
            ) != 0
            {
                return fail();
            }
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return fail();
            }
            Ok(())
        })
    }
}
