//! `memwatch run` on ordinary jobs: figures, exit status, output streams, job shapes.

use std::fs;
use std::time::Duration;

use memwatch::model::{ProcessReport, Report};

use crate::util::*;

fn root_of(r: &Report) -> &ProcessReport {
    let roots: Vec<_> = r.processes.iter().filter(|p| p.root).collect();
    assert_eq!(roots.len(), 1, "one root in {:#?}", r.processes);
    roots[0]
}

#[test]
fn four_processes_of_64_mib() {
    let _g = heavy();
    let job = workload(&["--mib", "64", "--fork", "3", "--hold-ms", "800"]);
    let f = finish(&mut run_cmd(&["-i", "20", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    let total = r.max_total_rss_kib.expect("a total");
    assert!(total >= 256 * MIB, "total {total} KiB < 256 MiB");
    let big: Vec<_> = r
        .processes
        .iter()
        .filter(|p| p.max_rss_kib.is_some_and(|k| k >= 64 * MIB))
        .collect();
    assert_eq!(big.len(), 4, "four 64 MiB peaks in {:#?}", r.processes);
    assert_eq!(r.processes_total, 4);
    assert_eq!(r.processes_at_peak, 4);
    assert_eq!(r.interval_ms, 20);
    assert_eq!(
        (r.exit_code, r.signal, r.interrupted),
        (Some(0), None, false)
    );
    assert!(r.samples >= 10, "{} samples", r.samples);
    // The report never sums per-process peaks: the total is one sample's sum.
    let sum_of_peaks: u64 = r.processes.iter().filter_map(|p| p.max_rss_kib).sum();
    assert!(total <= sum_of_peaks);
    assert!(f.stderr.contains("Max total RSS:"), "{}", f.stderr);
    assert!(f.stderr.contains("(across 4 processes)"), "{}", f.stderr);
}

#[test]
fn exit_code_is_passed_through() {
    let f = finish(&mut run_cmd(&[], &["sh", "-c", "exit 3"]));
    f.assert_code(3);
    assert!(f.stderr.contains("Exit status:     3\n"), "{}", f.stderr);

    let f = finish(&mut run_cmd(&["--json"], &workload(&["--exit", "42"])));
    f.assert_code(42);
    let r = f.report();
    assert_eq!((r.exit_code, r.signal), (Some(42), None));
}

#[test]
fn signal_death_exits_128_plus_n() {
    let f = finish(&mut run_cmd(&["--json"], &["sh", "-c", "kill -TERM $$"]));
    f.assert_code(143);
    let r = f.report();
    assert_eq!((r.exit_code, r.signal), (None, Some(15)));
    assert!(
        f.stderr
            .contains("Exit status:     killed by signal 15 (SIGTERM)"),
        "{}",
        f.stderr
    );
    assert!(!r.interrupted, "memwatch itself was not signalled");

    let f = finish(&mut run_cmd(&["--json"], &workload(&["--kill-self", "9"])));
    f.assert_code(137);
    assert_eq!(f.report().signal, Some(9));
}

#[test]
fn json_stdout_stays_pure_when_the_command_prints() {
    let f = finish(&mut run_cmd(&["--json"], &["sh", "-c", "echo hi"]));
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.command, ["sh", "-c", "echo hi"]);
    assert_eq!(r.schema_version, memwatch::model::SCHEMA_VERSION);
    assert_eq!(r.os, "linux");
    assert!(f.stdout_str().ends_with("}\n"));
    assert!(
        !f.stdout_str().lines().any(|l| l.trim() == "hi"),
        "{}",
        f.stdout_str()
    );
    assert!(f.stderr.lines().any(|l| l == "hi"), "{}", f.stderr);
    // The JSON also round-trips through the report type.
    let again = serde_json::to_vec(&r).unwrap();
    assert_eq!(parse_report(&again, "re-serialised"), r);
}

#[test]
fn human_summary_on_stderr_and_the_command_keeps_stdout() {
    let f = finish(&mut run_cmd(
        &["-i", "10"],
        &["sh", "-c", "echo out; sleep 0.1"],
    ));
    f.assert_code(0);
    assert_eq!(f.stdout_str(), "out\n");
    for needle in [
        "Job:             sh -c echo out; sleep 0.1\n",
        "Duration:        ",
        "Samples:         ",
        "(every 10 ms)",
        "Exit status:     0\n",
        "Max total RSS:   ",
        "Max per process: ",
        "Per-process peak RSS:",
    ] {
        assert!(f.stderr.contains(needle), "{needle:?} in:\n{}", f.stderr);
    }

    let f = finish(&mut run_cmd(&["--quiet"], &["sh", "-c", "echo out"]));
    f.assert_code(0);
    assert_eq!(f.stdout_str(), "out\n");
    assert_eq!(f.stderr, "", "--quiet prints nothing");
}

#[test]
fn quick_exit_still_reports_a_sample_and_a_duration() {
    let f = finish(&mut run_cmd(&["--json"], &["true"]));
    f.assert_code(0);
    let r = f.report();
    assert!(r.samples >= 1, "{} samples", r.samples);
    assert!(r.duration_seconds > 0.0);
    assert!(r.end_time > r.start_time);
    assert_eq!(r.exit_code, Some(0));
    assert!(
        f.stderr.contains(" ms\n"),
        "sub-second duration: {}",
        f.stderr
    );
}

#[test]
fn a_command_faster_than_the_first_sample_is_still_listed_never_as_0() {
    // Whether or not a sample caught it, the command is in the report: as measured, or
    // with an unknown sampled peak (never 0) and the kernel's own peak.
    for _ in 0..15 {
        let f = finish(&mut run_cmd(&["-q", "--json"], &["true"]));
        f.assert_code(0);
        let r = f.report();
        assert!(r.processes_total >= 1);
        let root = root_of(&r);
        assert_eq!(root.command, "true");
        match root.max_rss_kib {
            Some(kib) => assert!(kib > 0),
            None => {
                assert_eq!(root.samples, 0);
                assert!(root.kernel_max_rss_kib.is_some_and(|k| k > 0));
            }
        }
        // No timeline point claims 0 KiB for a live process.
        assert!(
            r.timeline
                .iter()
                .all(|p| p.processes == 0 || p.total_rss_kib > 0),
            "{:?}",
            r.timeline
        );
    }
}

#[test]
fn a_short_job_does_not_wait_out_the_interval() {
    let f = finish(&mut run_cmd(&["-i", "5000"], &["true"]));
    f.assert_code(0);
    assert!(
        f.elapsed < Duration::from_millis(2500),
        "took {:?} at -i 5000",
        f.elapsed
    );

    // A process left behind by the command wakes memwatch when it exits too.
    let f = finish(&mut run_cmd(
        &["-i", "5000", "--json"],
        &["sh", "-c", "sleep 0.3 &"],
    ));
    f.assert_code(0);
    assert!(
        f.elapsed < Duration::from_millis(2500) && f.elapsed >= Duration::from_millis(300),
        "took {:?} at -i 5000",
        f.elapsed
    );
    assert!(
        f.stderr
            .contains("the command exited; waiting for 1 remaining process(es)"),
        "{}",
        f.stderr
    );
    let r = f.report();
    assert!(r.left_running.is_empty());
    assert!(r.processes.iter().any(|p| !p.root), "{:#?}", r.processes);
}

#[test]
fn fork_tree_and_chain_are_followed() {
    let job = workload(&["--fork", "5", "--mib", "4", "--hold-ms", "600"]);
    let f = finish(&mut run_cmd(&["-i", "20", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.processes_total, 6, "{:#?}", r.processes);
    assert_eq!(r.max_processes, 6);
    let root = root_of(&r);
    assert_eq!(root.ppid, f.pid as i32, "the root is memwatch's child");
    let children: Vec<_> = r.processes.iter().filter(|p| !p.root).collect();
    assert_eq!(children.len(), 5);
    for c in &children {
        assert_eq!(c.ppid, root.pid);
        assert!(c.max_rss_kib.unwrap() >= 4 * MIB, "{c:?}");
        assert!(c.command.contains("__workload --fork 5"), "{c:?}");
    }

    let job = workload(&["--chain", "3", "--mib", "4", "--hold-ms", "600"]);
    let f = finish(&mut run_cmd(&["-i", "20", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.processes_total, 4);
    let mut pid = root_of(&r).pid;
    for depth in 1..4 {
        let next: Vec<_> = r.processes.iter().filter(|p| p.ppid == pid).collect();
        assert_eq!(
            next.len(),
            1,
            "one child at depth {depth}: {:#?}",
            r.processes
        );
        pid = next[0].pid;
    }
    let last = r.processes.iter().find(|p| p.pid == pid).unwrap();
    assert!(last.max_rss_kib.unwrap() >= 4 * MIB);
}

#[test]
fn double_forked_daemon_is_waited_for() {
    let tok = token("daemon-all");
    let job = workload(&[
        "--daemon",
        "--mib",
        "16",
        "--hold-ms",
        "1000",
        "--print",
        &tok,
    ]);
    let f = finish(&mut run_cmd(&["-i", "20", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    let root = root_of(&r);
    let daemon = r
        .processes
        .iter()
        .filter(|p| !p.root)
        .max_by_key(|p| p.max_rss_kib)
        .expect("the daemon is in the report");
    assert!(daemon.max_rss_kib.unwrap() >= 16 * MIB, "{daemon:?}");
    assert!(
        daemon.last_seen_ms >= root.last_seen_ms + 500,
        "the daemon outlived the root: {daemon:?} {root:?}"
    );
    assert!(f.elapsed >= Duration::from_millis(1000), "{:?}", f.elapsed);
    assert!(r.left_running.is_empty());
    assert!(
        f.stderr.contains(&format!(
            "memwatch: the command exited; waiting for 1 remaining process(es) of the job (pids {})",
            daemon.pid
        )),
        "{}",
        f.stderr
    );
    assert!(job_pids(&tok).is_empty());
}

#[test]
fn wait_root_leaves_the_daemon_running_and_says_so() {
    let tok = token("daemon-root");
    let job = workload(&[
        "--daemon",
        "--mib",
        "1",
        "--hold-ms",
        "30000",
        "--print",
        &tok,
    ]);
    let f = finish(&mut run_cmd(
        &["-i", "20", "--json", "--wait", "root"],
        &job,
    ));
    let _cleanup = KillOnDrop(tok.clone());
    f.assert_code(0);
    assert!(
        f.elapsed < Duration::from_secs(15),
        "did not wait for the daemon: {:?}",
        f.elapsed
    );
    let r = f.report();
    let left = job_pids(&tok);
    assert_eq!(left.len(), 1, "the daemon still runs");
    assert_eq!(r.left_running, left);
    assert!(r.processes.iter().any(|p| p.pid == left[0]));
    assert!(
        f.stderr.contains(&format!(
            "memwatch: the command exited; 1 process(es) of the job are still running and were not waited for (--wait root): pids {}",
            left[0]
        )),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr.contains(&format!(
            "Left running:    1 process(es) of the job (pids {})",
            left[0]
        )),
        "{}",
        f.stderr
    );
    kill_job(&tok);
    assert_all_gone(&tok, &left);
}

#[test]
fn child_forked_by_a_second_thread_is_found() {
    let job = workload(&[
        "--fork",
        "2",
        "--thread-fork",
        "--mib",
        "16",
        "--hold-ms",
        "600",
    ]);
    let f = finish(&mut run_cmd(&["-i", "20", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    let root = root_of(&r).pid;
    let children: Vec<_> = r.processes.iter().filter(|p| p.ppid == root).collect();
    assert_eq!(children.len(), 2, "{:#?}", r.processes);
    for c in children {
        assert!(c.max_rss_kib.unwrap() >= 16 * MIB, "{c:?}");
    }
    assert_eq!(r.processes_total, 3);
}

/// Run by `threads_are_not_counted_as_processes` as its job: one process, nine threads.
#[test]
#[ignore = "helper: run as a job by threads_are_not_counted_as_processes"]
fn helper_threads() {
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| std::thread::sleep(Duration::from_millis(700))))
        .collect();
    // Each thread is in /proc/self/task once spawn returns (no sleep needed to count them);
    // their 700 ms are the job memwatch samples.
    let n = fs::read_dir("/proc/self/task").unwrap().count();
    println!("threads={n}");
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn threads_are_not_counted_as_processes() {
    let dir = tempdir("threads");
    let out = dir.join("r.json");
    let me = std::env::current_exe().unwrap();
    let job = [
        me.to_str().unwrap(),
        "run::helper_threads",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ];
    let f = finish(&mut run_cmd(
        &["-i", "10", "-o", out.to_str().unwrap()],
        &job,
    ));
    f.assert_code(0);
    let threads: usize = f
        .stdout_str()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("threads="))
        .unwrap_or_else(|| panic!("helper output: {}", f.stdout_str()))
        .parse()
        .unwrap();
    assert!(threads >= 9, "the helper ran {threads} threads");
    let r = read_report(&out);
    assert_eq!(r.processes_total, 1, "{:#?}", r.processes);
    assert_eq!(r.max_processes, 1);
    assert!(r.samples >= 20);
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempdir("atomic");
    let target = dir.join("r.json");
    // While the job runs, nothing is there: not the report, not a temporary file (it is
    // made only once the report is ready, so a killed memwatch leaves no litter).
    let script = "ls -a \"$0\" > \"$0.listing\"; sleep 0.05";
    let dir_arg = dir.path().to_str().unwrap();
    let f = finish(&mut run_cmd(
        &["-i", "10", "-o", target.to_str().unwrap()],
        &["sh", "-c", script, dir_arg],
    ));
    f.assert_code(0);
    assert_eq!(f.stdout_str(), "", "no JSON on stdout with -o");
    let during = fs::read_to_string(dir.path().with_extension("listing")).unwrap();
    let _ = fs::remove_file(dir.path().with_extension("listing"));
    let names: Vec<&str> = during.lines().collect();
    assert_eq!(names, [".", ".."], "{names:?}");
    // `-o x.json` is JSON without --json, and nothing else is left behind.
    let r = read_report(&target);
    assert_eq!(r.command[0], "sh");
    assert_eq!(dir.list(), ["r.json"]);

    // A second run replaces the file whole.
    fs::write(&target, "old").unwrap();
    let f = finish(&mut run_cmd(
        &["--quiet", "-o", target.to_str().unwrap()],
        &["sh", "-c", "exit 4"],
    ));
    f.assert_code(4);
    assert_eq!(read_report(&target).exit_code, Some(4));
    assert_eq!(dir.list(), ["r.json"]);
}

#[test]
fn output_file_human_or_json() {
    let dir = tempdir("human");
    let txt = dir.join("r.txt");
    let f = finish(&mut run_cmd(
        &["-o", txt.to_str().unwrap()],
        &["sh", "-c", "echo hi"],
    ));
    f.assert_code(0);
    assert_eq!(f.stdout_str(), "hi\n");
    let text = fs::read_to_string(&txt).unwrap();
    assert!(text.contains("Max total RSS:"), "{text}");
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    assert!(
        !f.stderr.contains("Max total RSS"),
        "the summary went to the file: {}",
        f.stderr
    );

    let out = dir.join("report.out");
    let f = finish(&mut run_cmd(
        &["--json", "-o", out.to_str().unwrap()],
        &["sh", "-c", "echo hi"],
    ));
    f.assert_code(0);
    assert_eq!(f.stdout_str(), "hi\n", "with -o the command keeps stdout");
    assert_eq!(read_report(&out).command, ["sh", "-c", "echo hi"]);
    assert_eq!(dir.list(), ["r.txt", "report.out"]);
}
