//! Bad input and failures to start or to write: one clear line on stderr, the documented
//! exit code, no panic, and (for memwatch's own errors) nothing started.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::util::*;
use memwatch::model::Report;

/// A job that would leave `marker` behind if it ever ran.
fn marker_job(marker: &Path) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        "touch \"$0\"".into(),
        marker.to_str().unwrap().into(),
    ]
}

/// memwatch refused before starting anything: 125, exactly `message` on stderr, saying the
/// command was not run, no marker.
#[track_caller]
fn assert_refused(opts: &[&str], dir: &TempDir, message: &str) {
    let marker = dir.join("marker");
    let f = finish(&mut run_cmd(opts, &marker_job(&marker)));
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        format!("memwatch: {message}; the command was not run\n"),
        "{opts:?}"
    );
    assert_eq!(f.stdout_str(), "");
    assert!(!marker.exists(), "the command ran despite {opts:?}");
}

#[test]
fn marker_job_runs_when_nothing_is_wrong() {
    // The refusal tests below rely on this job leaving its marker when it runs.
    let dir = tempdir("marker");
    let marker = dir.join("marker");
    let out = dir.join("r.json");
    let f = finish(&mut run_cmd(
        &["--quiet", "-o", out.to_str().unwrap()],
        &marker_job(&marker),
    ));
    f.assert_code(0);
    assert!(marker.exists());
}

#[test]
fn missing_command_exits_127_naming_it() {
    let f = finish(&mut run_cmd(
        &["--json"],
        &["memwatch-no-such-command-xyz", "a"],
    ));
    f.assert_code(127);
    assert_eq!(
        f.stderr,
        "memwatch: cannot run 'memwatch-no-such-command-xyz': No such file or directory\n"
    );
    assert_eq!(f.stdout_str(), "", "no report for a job that never started");

    let f = finish(&mut run_cmd(&[], &["/nonexistent-dir/tool"]));
    f.assert_code(127);
    assert_eq!(
        f.stderr,
        "memwatch: cannot run '/nonexistent-dir/tool': No such file or directory\n"
    );
}

#[test]
fn a_script_without_a_shebang_runs_under_sh_as_with_execvp() {
    // `env ./s`, `time ./s` and the shells run an executable text file without `#!` with
    // /bin/sh; so does memwatch, arguments untouched (nothing interpolated), status kept.
    let dir = tempdir("noshebang");
    let script = dir.join("s");
    fs::write(&script, "printf '%s|' \"$@\"; exit 7\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let f = finish(&mut run_cmd(
        &["-q", "--json"],
        &[script.to_str().unwrap(), "a b", "$HOME", "*"],
    ));
    f.assert_code(7);
    assert_eq!(f.stderr, "a b|$HOME|*|");
    let r = f.report();
    assert_eq!(r.command, [script.to_str().unwrap(), "a b", "$HOME", "*"]);
    assert_eq!(r.exit_code, Some(7));

    // Found through PATH too.
    let mut cmd = run_cmd(&["-q"], &["s", "x"]);
    cmd.env("PATH", dir.path());
    let f = finish(&mut cmd);
    f.assert_code(7);
    assert_eq!(f.stdout_str(), "x|");

    // A binary the kernel cannot run is still not executable: 126, one line.
    let bin = dir.join("broken");
    fs::write(&bin, b"\x7fELF\x02\x01\x01\x00 not really").unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let f = finish(&mut run_cmd(&["-q"], &[&bin]));
    f.assert_code(126);
    assert_eq!(
        f.stderr,
        format!(
            "memwatch: cannot run '{}': Exec format error\n",
            bin.display()
        )
    );
}

#[test]
fn not_executable_exits_126() {
    let dir = tempdir("noexec");
    let script = dir.join("script.sh");
    let marker = dir.join("marker");
    fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    let f = finish(&mut run_cmd(&[], &[&script]));
    f.assert_code(126);
    assert_eq!(
        f.stderr,
        format!(
            "memwatch: cannot run '{}': Permission denied\n",
            script.display()
        )
    );
    assert!(!marker.exists());

    // A directory cannot be executed either.
    let f = finish(&mut run_cmd(&[], &[dir.path()]));
    f.assert_code(126);
    assert!(
        f.stderr.starts_with(&format!(
            "memwatch: cannot run '{}': ",
            dir.path().display()
        )),
        "{}",
        f.stderr
    );
    assert_eq!(lines(&f.stderr).len(), 1);
}

#[test]
fn no_command_is_a_usage_error() {
    const MSG: &str = "memwatch: no command given: usage: memwatch run [OPTIONS] -- <COMMAND> \
                       [ARGS]...; the command was not run (see 'memwatch run --help')\n";
    for args in [
        &["run", "--"][..],
        &["run"],
        &["run", "-i", "5", "--json", "--"],
    ] {
        let f = finish(&mut memwatch(args));
        f.assert_code(125);
        assert_eq!(f.stderr, MSG, "{args:?}");
        assert_eq!(f.stdout_str(), "");
    }
}

#[test]
fn bad_intervals_are_one_line_with_the_range() {
    let dir = tempdir("interval");
    for bad in [
        "0",
        "-5",
        "99999999999",
        "abc",
        "3600001",
        "1.5",
        "",
        "1.5ms",
        "2h",
        "5MiB",
    ] {
        let marker = dir.join("marker");
        let f = finish(&mut run_cmd(&["-i", bad], &marker_job(&marker)));
        f.assert_code(125);
        assert_eq!(lines(&f.stderr).len(), 1, "{bad:?}: {}", f.stderr);
        assert_eq!(f.stderr.lines().count(), 1, "{bad:?}: {}", f.stderr);
        assert!(f.stderr.starts_with("memwatch: "), "{bad:?}: {}", f.stderr);
        assert!(
            f.stderr.contains(
                "the interval must be whole milliseconds from 1ms to 1h: 10ms, 2s, 1min (a bare \
                 number is milliseconds); the command was not run (see 'memwatch run --help')"
            ),
            "{bad:?}: {}",
            f.stderr
        );
        assert!(!marker.exists(), "-i {bad:?} started the command");
    }
    // The bounds themselves are accepted, as numbers of milliseconds and as durations.
    for good in ["1", "3600000", "1ms", "1h", "10ms"] {
        let f = finish(&mut run_cmd(&["-i", good, "--quiet"], &["true"]));
        f.assert_code(0);
    }
}

#[test]
fn output_into_a_missing_directory_is_refused_before_the_start() {
    let dir = tempdir("o-missing");
    let path = dir.join("no/such/dir/r.json");
    let p = path.to_str().unwrap();
    assert_refused(
        &["-o", p],
        &dir,
        &format!("cannot write report to {p}: No such file or directory"),
    );
    assert!(!dir.join("no").exists());
}

#[test]
fn output_into_an_unwritable_place_is_refused_before_the_start() {
    let dir = tempdir("o-unwritable");
    // Under a regular file (unwritable for root too).
    let file = dir.join("file");
    fs::write(&file, "x").unwrap();
    let p = format!("{}/r.json", file.display());
    assert_refused(
        &["-o", &p, "--json"],
        &dir,
        &format!("cannot write report to {p}: Not a directory"),
    );
    // A directory given as the report file.
    let sub = dir.join("sub");
    fs::create_dir(&sub).unwrap();
    let p = sub.to_str().unwrap();
    assert_refused(
        &["-o", p],
        &dir,
        &format!("cannot write report to {p}: Is a directory"),
    );
    fs::remove_dir(&sub).unwrap();

    if is_root() {
        // Permissions do not stop root; sysfs refuses new files to everyone.
        let p = format!("/sys/{}.json", token("o"));
        let marker = dir.join("marker");
        let f = finish(&mut run_cmd(&["-o", &p], &marker_job(&marker)));
        f.assert_code(125);
        let prefix = format!("memwatch: cannot write report to {p}: ");
        assert!(f.stderr.starts_with(&prefix), "{}", f.stderr);
        assert!(
            f.stderr.ends_with("; the command was not run\n"),
            "{}",
            f.stderr
        );
        assert_eq!(lines(&f.stderr).len(), 1, "{}", f.stderr);
        assert!(!marker.exists());
        assert!(!Path::new(&p).exists());
    } else {
        let ro = dir.join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        let p = format!("{}/r.json", ro.display());
        assert_refused(
            &["-o", &p],
            &dir,
            &format!("cannot write report to {p}: Permission denied"),
        );
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
        // Removed like `sub` above (fails if memwatch left anything in it).
        fs::remove_dir(&ro).unwrap();
    }
    assert_eq!(dir.list(), ["file"], "nothing left behind");
}

#[test]
fn non_utf8_arguments_pass_through_untouched() {
    let dir = tempdir("utf8");
    let out = dir.join("arg");
    let bytes: &[u8] = b"caf\xe9-\xff\xfe-ok";
    let arg = OsStr::from_bytes(bytes);
    let lossy = String::from_utf8_lossy(bytes).into_owned();
    assert!(lossy.contains('\u{fffd}'));
    let job = [
        OsStr::new("sh"),
        OsStr::new("-c"),
        OsStr::new("printf %s \"$1\" > \"$0\"; sleep 0.05"),
        out.as_os_str(),
        arg,
    ];
    let f = finish(&mut run_cmd(&["-i", "5", "--json"], &job));
    f.assert_code(0);
    assert_eq!(fs::read(&out).unwrap(), bytes, "the command got the bytes");
    let r = f.report();
    assert_eq!(r.command.len(), 5);
    assert_eq!(r.command[4], lossy, "shown lossily in the report");
    let root = r.processes.iter().find(|p| p.root).expect("root seen");
    assert!(root.command.ends_with(&lossy), "{:?}", root.command);
    assert!(f.stderr.contains(&lossy), "human summary: {}", f.stderr);
}

/// The JSON report saved in `tmp` when it could not be written where asked: the path the
/// last line of stderr names, which must be memwatch's fallback file, holding the report.
#[track_caller]
fn rescued(f: &Finished, tmp: &TempDir, failure: &str) -> Report {
    let last = f.stderr.lines().last().unwrap_or_default();
    let path = fallback(tmp, f.pid);
    assert_eq!(
        last,
        format!("{failure}; saved it to {} instead", path.display()),
        "{}",
        f.stderr
    );
    read_report(&path)
}

#[test]
fn broken_pipe_on_stdout_exits_125_with_the_job_status_and_saves_the_report() {
    let tmp = tempdir("rescue-pipe");
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    drop(read);
    let mut cmd = run_cmd(&["--json", "--quiet"], &["sh", "-c", "exit 3"]);
    cmd.stdout(Stdio::from(write)).env("TMPDIR", tmp.path());
    let f = finish_own_stdout(&mut cmd);
    f.assert_code(125);
    // Not written where asked: even with --quiet, the summary is not lost.
    assert!(f.stderr.contains("Max total RSS:"), "{}", f.stderr);
    let r = rescued(
        &f,
        &tmp,
        "memwatch: cannot write report to standard output: Broken pipe (the command exited with status 3)",
    );
    assert_eq!(r.exit_code, Some(3));

    // Without --quiet the summary is there once, and the failure is the last line.
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    drop(read);
    let mut cmd = run_cmd(&["--json"], &["sh", "-c", "kill -TERM $$"]);
    cmd.stdout(Stdio::from(write)).env("TMPDIR", tmp.path());
    let f = finish_own_stdout(&mut cmd);
    f.assert_code(125);
    assert_eq!(
        f.stderr.matches("Max total RSS:").count(),
        1,
        "{}",
        f.stderr
    );
    let r = rescued(
        &f,
        &tmp,
        "memwatch: cannot write report to standard output: Broken pipe (the command was killed by signal 15 (SIGTERM))",
    );
    assert_eq!(r.signal, Some(15));
}

#[test]
fn closed_stdout_exits_125_with_the_job_status() {
    let tmp = tempdir("rescue-closed");
    let mut cmd = run_cmd(&["--json", "--quiet"], &["sh", "-c", "exit 3"]);
    cmd.env("TMPDIR", tmp.path());
    // SAFETY: close(2) is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let f = finish_own_stdout(&mut cmd);
    f.assert_code(125);
    rescued(
        &f,
        &tmp,
        "memwatch: cannot write report to standard output: Bad file descriptor (the command exited with status 3)",
    );

    // Without --json nothing goes to stdout: the job's status is memwatch's.
    let mut cmd = run_cmd(&["--quiet"], &["sh", "-c", "exit 3"]);
    // SAFETY: as above.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let f = finish_own_stdout(&mut cmd);
    f.assert_code(3);
    assert_eq!(f.stderr, "");
}

#[test]
fn an_existing_report_that_cannot_be_written_is_refused_before_the_command() {
    // A report file memwatch may not write (another user's in sticky /tmp, or mode 444)
    // must stop the run before the command starts, not fail after it.
    let dir = tempdir("readonly");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let out = dir.join("r.json");
    fs::write(&out, "old").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o444)).unwrap();
    let marker = dir.join("marker");
    let p = out.to_str().unwrap();
    let mut cmd = run_cmd(&["-q", "-o", p], &marker_job(&marker));
    // As nobody when the tests run as root: the check needs permissions to bite.
    let Some(cmd) = as_nobody(&mut cmd) else {
        return;
    };
    let f = finish(cmd);
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        format!(
            "memwatch: cannot write report to {p}: Permission denied; the command was not run\n"
        )
    );
    assert!(!marker.exists(), "the command ran");
    assert_eq!(fs::read_to_string(&out).unwrap(), "old");
    assert_eq!(dir.list(), ["r.json"], "nothing left behind");
}

#[test]
fn devices_links_and_fifos_are_written_through_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempdir("through");
    // -o /dev/stdout: the JSON report on standard output, /dev/stdout left alone.
    let f = finish(&mut run_cmd(
        &["-q", "--json", "-o", "/dev/stdout"],
        &["sh", "-c", "echo job-output"],
    ));
    f.assert_code(0);
    let text = f.stdout_str();
    assert!(text.starts_with("job-output\n"), "{text}");
    let report = parse_report(&text.as_bytes()["job-output\n".len()..], &f.stderr);
    assert_eq!(report.exit_code, Some(0));
    assert!(
        fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // -o /dev/null, even for a user who may not create files in /dev.
    let mut cmd = run_cmd(&["-q", "-o", "/dev/null"], &["true"]);
    if let Some(cmd) = as_nobody(&mut cmd) {
        finish(cmd).assert_code(0);
    }
    assert!(
        fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A symbolic link: the file it names gets the report, the link stays.
    std::os::unix::fs::symlink("real.json", dir.join("link.json")).unwrap();
    let link = dir.join("link.json");
    finish(&mut run_cmd(
        &["-q", "-o", link.to_str().unwrap()],
        &["true"],
    ))
    .assert_code(0);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    read_report(&dir.join("real.json"));
}

#[test]
fn each_output_is_named_in_its_error_and_checked_before_the_command() {
    let dir = tempdir("names");
    let missing = dir.join("no/such/dir");
    let m = missing.to_str().unwrap();
    assert_refused(
        &["--timeline", &format!("{m}/t.csv")],
        &dir,
        &format!("cannot write timeline to {m}/t.csv: No such file or directory"),
    );
    assert_refused(
        &["--plot", &format!("{m}/p.svg")],
        &dir,
        &format!("cannot write plot to {m}/p.svg: No such file or directory"),
    );
    let file = dir.join("file");
    fs::write(&file, "").unwrap();
    let f = file.to_str().unwrap();
    assert_refused(
        &["--csv", f],
        &dir,
        &format!("cannot write CSV file to {f}: Not a directory"),
    );
}

#[test]
fn descriptor_paths_append_and_fifos_wait_for_a_reader_but_not_past_a_signal() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempdir("fdpaths");
    // -o /dev/fd/1 with standard output redirected to a file: the job's output stays and
    // the report follows it, as `>>` would; the file is not replaced.
    let out = dir.join("out.txt");
    let mut cmd = run_cmd(&["-q", "--json", "-o", "/dev/fd/1"], &["echo", "hello"]);
    cmd.stdout(fs::File::create(&out).unwrap());
    let f = finish_own_stdout(&mut cmd);
    f.assert_code(0);
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("hello\n"), "{text}");
    parse_report(&text.as_bytes()["hello\n".len()..], &f.stderr);

    // A FIFO nobody reads: memwatch waits (saying so), and a SIGTERM ends the wait.
    let fifo = dir.join("r.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mw = spawn(&mut run_cmd(
        &["-q", "-o", fifo.to_str().unwrap()],
        &["true"],
    ));
    // Signalled once it says it waits (the job is over by then), not after a guessed time.
    poll(Duration::from_secs(30), || {
        let err = mw.stderr_now();
        if err.contains("waiting for a reader of") {
            Ok(())
        } else {
            Err(format!(
                "memwatch does not say it waits for a reader: {err:?}"
            ))
        }
    });
    send(mw.pid(), libc::SIGTERM);
    let f = mw.wait();
    f.assert_code(125);
    assert!(
        f.stderr.contains("waiting for a reader of")
            && f.stderr
                .contains("interrupted while waiting for a reader of the FIFO"),
        "{}",
        f.stderr
    );
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn another_users_report_in_a_sticky_directory_is_written_in_place() {
    // Run as nobody: a world-writable report owned by someone else in a sticky directory
    // may be written but not replaced (rename is refused). It is written in place, as `>`.
    use std::os::unix::fs::MetadataExt;
    if !is_root() {
        return skip_or_fail("needs root to give the report to another user");
    }
    let dir = tempdir("sticky");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let out = dir.join("r.json");
    fs::write(&out, "old").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::chown(&out, Some(1000), None).unwrap();
    let mut cmd = run_cmd(&["-q", "-o", out.to_str().unwrap()], &["true"]);
    let Some(cmd) = as_nobody(&mut cmd) else {
        return;
    };
    finish(cmd).assert_code(0);
    read_report(&out);
    assert_eq!(
        fs::metadata(&out).unwrap().uid(),
        1000,
        "replaced, not written"
    );
    assert_eq!(dir.list(), ["r.json"]);
}
