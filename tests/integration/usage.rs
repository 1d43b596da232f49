//! What the kernel accounted to the job once it was over (`getrusage(RUSAGE_CHILDREN)`):
//! CPU times and counts, checked against GNU time measuring the very same job; orphans
//! counted; lower bounds when memwatch did not wait for everything; unknown in an interim
//! report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::*;

/// GNU time, which the test compares with: `None` (after saying so) when it is missing.
fn gnu_time() -> Option<PathBuf> {
    let time = Path::new("/usr/bin/time");
    if time.is_file() {
        Some(time.to_path_buf())
    } else {
        skip_or_fail("GNU time (/usr/bin/time, Debian package `time`) is not installed");
        None
    }
}

/// `a` is `b` within 5% or 20 ms, whichever is larger (GNU time prints hundredths).
#[track_caller]
fn close(what: &str, a: f64, b: f64) {
    let slack = (0.05 * b).max(0.02);
    assert!(
        (a - b).abs() <= slack,
        "{what}: memwatch says {a:.3} s, GNU time {b:.3} s (more than {slack:.3} s apart)"
    );
}

/// memwatch runs GNU time, which runs a CPU-bound job of three processes: GNU time
/// reports what it waited for (the job), memwatch what it waited for (GNU time and the
/// job), so the two agree but for GNU time's own few milliseconds, and memwatch's counts
/// are GNU time's plus GNU time's own.
#[test]
fn cpu_time_and_counts_match_gnu_time_on_the_same_job() {
    let Some(time) = gnu_time() else {
        return;
    };
    let _heavy = heavy();
    let dir = tempdir("usage");
    let measured = dir.join("time.txt");
    let mut job: Vec<String> = vec![
        time.display().to_string(),
        "-f".into(),
        "%U %S %R %F %w %c %I %O".into(),
        "-o".into(),
        measured.display().to_string(),
    ];
    job.extend(workload(&[
        "--cpu-ms", "400", "--sys-ms", "150", "--fork", "2",
    ]));
    let f = finish(&mut run_cmd(&["--json", "-q", "-i", "50"], &job));
    f.assert_code(0);
    let r = f.report();
    let gnu = std::fs::read_to_string(&measured).unwrap();
    let g: Vec<f64> = gnu.split_whitespace().map(|v| v.parse().unwrap()).collect();
    assert!(g[0] >= 1.2, "the job spent 3 x 400 ms in user mode: {gnu}");
    assert!(g[1] >= 0.45, "and 3 x 150 ms in the kernel: {gnu}");
    close(
        "user CPU",
        r.cpu_user_seconds.expect("cpu_user_seconds"),
        g[0],
    );
    close(
        "system CPU",
        r.cpu_system_seconds.expect("cpu_system_seconds"),
        g[1],
    );
    let counts = [
        ("minor faults", r.page_faults_minor, g[2]),
        ("major faults", r.page_faults_major, g[3]),
        ("voluntary switches", r.context_switches_voluntary, g[4]),
        ("involuntary switches", r.context_switches_involuntary, g[5]),
        ("block inputs", r.block_input_ops, g[6]),
        ("block outputs", r.block_output_ops, g[7]),
    ];
    for (what, mine, theirs) in counts {
        let mine = mine.unwrap_or_else(|| panic!("{what} unknown"));
        assert!(
            mine as f64 >= theirs,
            "{what}: memwatch {mine} is below GNU time's {theirs} for part of the same job"
        );
    }
    assert!(!r.rusage_is_lower_bound);
    assert!(f.stderr.is_empty(), "{}", f.stderr);
}

#[test]
fn orphans_memwatch_adopted_are_in_the_cpu_time() {
    // The workload exits at once; its daemon (double fork, setsid) then spends 300 ms of
    // CPU. Reparented to memwatch, the subreaper, it is waited for and counted.
    let f = finish(&mut run_cmd(
        &["--json", "-q", "-i", "20"],
        &workload(&["--daemon", "--cpu-ms", "300"]),
    ));
    f.assert_code(0);
    let r = f.report();
    let user = r.cpu_user_seconds.expect("cpu_user_seconds");
    assert!(user >= 0.29, "the daemon's 300 ms are missing: {user}");
    assert!(!r.rusage_is_lower_bound);
}

#[test]
fn processes_left_running_make_the_cpu_time_a_lower_bound() {
    let tok = token("usage-root");
    let _job = KillOnDrop(tok.clone());
    let f = finish(&mut run_cmd(
        &["-i", "20", "--wait", "root"],
        &workload(&["--daemon", "--hold-ms", "30000", "--print", &tok]),
    ));
    f.assert_code(0);
    assert!(
        f.stderr.contains("\nCPU:             at least "),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr.contains("without the 1 process left running)\n"),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr
            .contains("\nKernel counts:   at least page faults "),
        "{}",
        f.stderr
    );
}

#[test]
fn an_interim_report_has_no_cpu_time_and_the_final_one_has() {
    let dir = tempdir("usage-interim");
    let out = dir.join("r.json");
    let tok = token("usage-interim");
    let job = KillOnDrop(tok.clone());
    let mw = spawn(&mut run_cmd(
        &["-q", "-i", "10", "-o", out.to_str().unwrap()],
        &workload(&[
            "--ignore-signals",
            "--cpu-ms",
            "50",
            "--hold-ms",
            "60000",
            "--print",
            &tok,
        ]),
    ));
    let pids = wait_for_job(&job.0, 1);
    wait_followed(mw.pid(), &pids);
    wait_ignoring(&pids, libc::SIGTERM);
    send(mw.pid(), libc::SIGTERM);
    let interim = wait_for_report(&out, Duration::from_secs(10));
    assert!(interim.interrupted);
    assert_eq!(interim.cpu_user_seconds, None);
    assert_eq!(interim.page_faults_minor, None);
    assert!(
        interim
            .warnings
            .iter()
            .any(|w| w.contains("known only once memwatch has waited for it")),
        "{:?}",
        interim.warnings
    );
    // Once the interim report has been rewritten (a second later), the job has spun its
    // 50 ms; then the second signal kills it, and memwatch, having reaped it, knows.
    poll(Duration::from_secs(10), || {
        let r = read_report(&out);
        if r.end_time > interim.end_time {
            Ok(())
        } else {
            Err("the interim report was not rewritten".to_string())
        }
    });
    send(mw.pid(), libc::SIGTERM);
    mw.wait().assert_code(137);
    let r = read_report(&out);
    assert!(r.cpu_user_seconds.expect("final cpu_user_seconds") >= 0.049);
    assert!(r.page_faults_minor.is_some());
}
