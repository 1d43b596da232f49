//! Spawning the command as `execvp` would, never through a shell: what counts as "not
//! executable", how a program is found in `$PATH`, and whether a file is a script.

use std::ffi::{OsStr, OsString};
use std::io;
use std::process::{Command, Stdio};

use crate::error::Error;

/// Start `command` (program and arguments, untouched) as memwatch's child, with `env` added
/// to its environment, and return its pid. With `stdout_to_stderr`, its standard output is
/// memwatch's standard error (so memwatch's stdout carries the JSON report alone). With
/// `own_group`, it leads a new process group (its pgid is its pid) from before its first
/// instruction; otherwise it stays in memwatch's. An executable text file without `#!`
/// runs under `/bin/sh`, as `execvp(3)` and the shells do (its arguments still untouched);
/// a binary the kernel cannot run stays an error (126), as in bash.
///
/// The child is never waited on through std: memwatch reaps in one place
/// ([`super::reap`]).
pub(crate) fn spawn(
    command: &[OsString],
    env: &[(&str, &str)],
    stdout_to_stderr: bool,
    own_group: bool,
) -> Result<i32, Error> {
    let build = |program: &OsStr, args: &[OsString]| -> Result<Command, Error> {
        let mut c = Command::new(program);
        c.args(args).envs(env.iter().copied());
        if own_group {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
        }
        if stdout_to_stderr {
            use std::os::fd::AsFd;
            let fd = io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|source| Error::Setup {
                    what: "duplicate standard error",
                    source,
                })?;
            c.stdout(Stdio::from(fd));
        }
        Ok(c)
    };
    let spawned = match build(&command[0], &command[1..])?.spawn() {
        Err(e) if is_not_executable_format(&e) => {
            match find_program(&command[0]).filter(|p| looks_like_text(p)) {
                Some(script) => {
                    let mut args = vec![script.into_os_string()];
                    args.extend_from_slice(&command[1..]);
                    build(OsStr::new("/bin/sh"), &args)?.spawn()
                }
                None => Err(e),
            }
        }
        other => other,
    };
    let child = spawned.map_err(|source| Error::Spawn {
        program: command[0].to_string_lossy().into_owned(),
        source,
    })?;
    // A pid always fits: the kernel's pids are positive `pid_t`s.
    Ok(child.id() as i32)
}

/// True when spawning failed because the file is not in a format the kernel can execute
/// (ENOEXEC: a script without `#!`).
fn is_not_executable_format(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOEXEC)
}

/// The file `program` names, as execvp(3) finds it: as given when it holds a `/`, else the
/// first executable regular file of that name in `$PATH`.
fn find_program(program: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
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
fn looks_like_text(path: &std::path::Path) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::waitpid;
    use nix::unistd::{Pid, getpgid, getpgrp};

    fn spawned_group(own_group: bool) -> (i32, i32) {
        let command = [OsString::from("sleep"), OsString::from("60")];
        let pid = spawn(&command, &[], false, own_group).unwrap();
        let group = getpgid(Some(Pid::from_raw(pid))).unwrap().as_raw();
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        (pid, group)
    }

    #[test]
    fn the_command_leads_its_own_group_when_asked() {
        let (pid, group) = spawned_group(true);
        assert_eq!(group, pid);
        let (_, group) = spawned_group(false);
        assert_eq!(group, getpgrp().as_raw());
    }
}
