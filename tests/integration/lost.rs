//! Nothing measured is lost: a report that cannot be written where asked is saved elsewhere
//! and named; the first terminating signal puts a complete report on disk at once; a
//! `--timeline` stream that fails says so in the report and never ends in a partial row; an
//! interrupted run says so in its exit status.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use crate::util::*;

#[test]
fn a_report_directory_removed_during_the_run_saves_the_report_elsewhere() {
    let dir = tempdir("gone-dir");
    let tmp = tempdir("gone-tmp");
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("r.json");
    // 25 processes: the summary's table ends with "… and N more (…)", which must name a
    // file that exists.
    let job = format!(
        "rm -rf '{}'; {} __workload --fork 24 --hold-ms 300",
        out_dir.display(),
        BIN
    );
    let mut cmd = run_cmd(
        &["-q", "-i", "20", "-o", out.to_str().unwrap()],
        &["sh", "-c", &job],
    );
    cmd.env("TMPDIR", tmp.path());
    let f = finish(&mut cmd);
    f.assert_code(125);
    let saved = fallback(&tmp, f.pid);
    assert_eq!(
        f.stderr.lines().last().unwrap(),
        format!(
            "memwatch: cannot write report to {}: No such file or directory (the command exited with status 0); saved it to {} instead",
            out.display(),
            saved.display()
        ),
        "{}",
        f.stderr
    );
    let r = read_report(&saved);
    assert_eq!(r.exit_code, Some(0));
    // sh, the workload and its 24 children (and rm, when a sample caught it).
    assert!(
        (26..=27).contains(&r.processes_total),
        "{}",
        r.processes_total
    );
    // --quiet, but the report was not written where asked: the summary is on stderr, and
    // its "more" line points to the file that holds them all.
    assert!(f.stderr.contains("Max total RSS:"), "{}", f.stderr);
    assert!(
        f.stderr
            .contains(&format!("more (all of them are in {})", saved.display())),
        "{}",
        f.stderr
    );
}

#[test]
fn a_full_disk_saves_the_report_elsewhere() {
    let tmp = tempdir("full-tmp");
    let mut cmd = run_cmd(&["-q", "-o", "/dev/full", "--json"], &["true"]);
    cmd.env("TMPDIR", tmp.path());
    let f = finish(&mut cmd);
    f.assert_code(125);
    let saved = fallback(&tmp, f.pid);
    assert_eq!(
        f.stderr.lines().last().unwrap(),
        format!(
            "memwatch: cannot write report to /dev/full: No space left on device (the command exited with status 0); saved it to {} instead",
            saved.display()
        )
    );
    assert_eq!(read_report(&saved).command, ["true"]);
}

#[test]
fn when_nothing_can_be_saved_the_summary_is_what_is_left() {
    let mut cmd = run_cmd(&["-q", "-o", "/dev/full", "--json"], &["true"]);
    cmd.env("TMPDIR", "/nonexistent/memwatch-test");
    let f = finish(&mut cmd);
    f.assert_code(125);
    assert!(f.stderr.contains("Max total RSS:"), "{}", f.stderr);
    assert_eq!(
        f.stderr.lines().last().unwrap(),
        "memwatch: cannot write report to /dev/full: No space left on device (the command exited with status 0); saving it to /nonexistent/memwatch-test failed too (No such file or directory): only the summary above is left"
    );
    assert!(!f.stderr.contains("all of them are in"), "{}", f.stderr);
}

#[test]
fn the_summary_never_points_to_a_json_report_that_was_not_written() {
    // No JSON anywhere: the hint says how to get one.
    let f = finish(&mut run_cmd(
        &["-i", "20"],
        &workload(&["--fork", "24", "--hold-ms", "300"]),
    ));
    f.assert_code(0);
    assert!(
        f.stderr
            .contains("more (--json or -o FILE.json lists them all)"),
        "{}",
        f.stderr
    );
    // JSON on standard output.
    let f = finish(&mut run_cmd(
        &["-i", "20", "--json"],
        &workload(&["--fork", "24", "--hold-ms", "300"]),
    ));
    f.assert_code(0);
    assert!(
        f.stderr
            .contains("more (all of them are in the JSON on standard output)"),
        "{}",
        f.stderr
    );
    assert_eq!(f.report().processes.len(), 25);
    // JSON in a file.
    let dir = tempdir("more-file");
    let out = dir.join("r.json");
    let f = finish(&mut run_cmd(
        &["-i", "20", "-o", out.to_str().unwrap()],
        &workload(&["--fork", "24", "--hold-ms", "300"]),
    ));
    f.assert_code(0);
    assert!(
        f.stderr
            .contains(&format!("more (all of them are in {})", out.display())),
        "{}",
        f.stderr
    );
}

#[test]
fn the_first_terminating_signal_puts_a_complete_report_on_disk_at_once() {
    // A job that ignores SIGTERM, as under a Slurm time limit: memwatch passes the signal
    // on and waits, and whatever kills it next (Slurm's SIGKILL), the report is on disk.
    let dir = tempdir("interim");
    let out = dir.join("r.json");
    let tok = token("interim");
    let _job = KillOnDrop(tok.clone());
    let mut cmd = run_cmd(
        &["-q", "-i", "10", "-o", out.to_str().unwrap()],
        &workload(&[
            "--fork",
            "2",
            "--mib",
            "8",
            "--hold-ms",
            "60000",
            "--ignore-signals",
            "--print",
            &tok,
        ]),
    );
    let mw = spawn(&mut cmd);
    let pids = wait_for_job(&tok, 3);
    wait_followed(mw.pid(), &pids);
    wait_resident(&pids, 8 * MIB);
    assert!(!out.exists(), "no report before the signal");
    send(mw.pid(), libc::SIGTERM);
    let first = wait_for_report(&out, Duration::from_secs(2));
    assert!(first.interrupted);
    assert_eq!(first.interrupt_signal, Some(libc::SIGTERM));
    assert_eq!(
        (first.exit_code, first.signal),
        (None, None),
        "still running"
    );
    assert_eq!(first.processes_total, 3);
    assert!(
        first.max_total_rss_kib.unwrap() >= 24 * MIB,
        "{:?}",
        first.max_total_rss_kib
    );
    let mut live = first.left_running.clone();
    live.sort_unstable();
    assert_eq!(live, pids, "the processes still running are named");
    assert!(
        first
            .warnings
            .iter()
            .any(|w| w.starts_with("interim report: written ")),
        "{:?}",
        first.warnings
    );
    // Kept up to date while the job goes on.
    poll(Duration::from_secs(5), || {
        let now = wait_for_report(&out, Duration::from_secs(2));
        if now.samples > first.samples && now.end_time > first.end_time {
            Ok(())
        } else {
            Err("the interim report was not rewritten".to_string())
        }
    });
    // Killed as Slurm would: the report stays, whole.
    send(mw.pid(), libc::SIGKILL);
    let _ = mw.wait();
    let last = read_report(&out);
    assert!(last.interrupted && last.processes_total == 3);
}

#[test]
fn an_interrupted_run_whose_command_exits_0_exits_128_plus_the_signal() {
    let tok = token("int0");
    let _job = KillOnDrop(tok.clone());
    let mut cmd = run_cmd(
        &["-i", "10", "--json"],
        &workload(&["--hold-ms", "1500", "--ignore-signals", "--print", &tok]),
    );
    let mw = spawn(&mut cmd);
    let pids = wait_for_job(&tok, 1);
    wait_followed(mw.pid(), &pids);
    wait_ignoring(&pids, libc::SIGINT);
    send(mw.pid(), libc::SIGINT);
    let f = mw.wait();
    f.assert_code(130);
    let r = f.report();
    assert!(r.interrupted);
    assert_eq!((r.exit_code, r.interrupt_signal), (Some(0), Some(2)));
    assert!(
        f.stderr
            .contains("Exit status:     0 (memwatch was interrupted by SIGINT: it exits 130)"),
        "{}",
        f.stderr
    );
}

#[test]
fn a_timeline_stream_that_fails_is_in_the_report_and_never_ends_in_a_partial_row() {
    // A file size limit makes the stream fail part-way through a write, as a full disk does.
    let dir = tempdir("tl-full");
    let tl = dir.join("tl.csv");
    let mut cmd = run_cmd(
        &[
            "--json",
            "-q",
            "-i",
            "2",
            "--timeline",
            tl.to_str().unwrap(),
        ],
        &workload(&["--mib", "4", "--hold-ms", "2500"]),
    );
    // SAFETY: setrlimit and signal are async-signal-safe; nothing else is touched.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1000,
                rlim_max: 1000,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            // As `ulimit -f` under a shell that ignores it: a write past the limit fails
            // with EFBIG instead of killing memwatch.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    // The report goes to a pipe, which the file size limit does not cover.
    let out = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.lines().last().unwrap().starts_with(&format!(
            "memwatch: cannot write timeline to {}: File too large (the command exited with status 0)",
            tl.display()
        )),
        "{stderr}"
    );
    let r = parse_report(&out.stdout, &stderr);
    assert_eq!(r.exit_code, Some(0));
    assert!(
        r.warnings.iter().any(|w| w.starts_with(&format!(
            "the --timeline stream to {} stopped ",
            tl.display()
        ))),
        "{:?}",
        r.warnings
    );
    let text = std::fs::read_to_string(&tl).unwrap();
    assert!(text.len() <= 1000 && text.len() > 100, "{}", text.len());
    assert!(text.ends_with("\r\n"), "a partial row at the end: {text:?}");
    for row in text.split("\r\n").filter(|l| !l.is_empty()).skip(1) {
        assert_eq!(row.split(',').count(), 3, "{row:?}");
    }
}

#[test]
fn a_timeline_that_cannot_be_written_at_all_stops_memwatch_before_the_command() {
    let dir = tempdir("tl-devfull");
    let marker = dir.join("ran");
    let f = finish(&mut run_cmd(
        &["--timeline", "/dev/full"],
        &["touch", marker.to_str().unwrap()],
    ));
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        "memwatch: cannot write timeline to /dev/full: No space left on device; the command was not run\n"
    );
    assert!(!marker.exists(), "the command ran");
}
