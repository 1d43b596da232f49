//! Signals sent to memwatch alone (not its process group): the job is signalled, the report
//! is complete and says so, memwatch exits 128+N, and nothing of the job is left running.

use std::path::PathBuf;
use std::time::Duration;

use crate::util::*;

/// A job under memwatch, every process of it followed.
struct Started {
    mw: Running,
    /// The job's processes.
    pids: Vec<i32>,
    /// The job's processes with their start times.
    procs: Vec<(i32, u64)>,
    /// The report file (`None`: the JSON goes to stdout).
    report: Option<PathBuf>,
    /// Kills what is left of the job at the end of the test; `.0` is the job's token.
    job: KillOnDrop,
}

/// Start `memwatch run -i 10 --json [-o report] -- workload --fork <children> ...` and
/// wait until memwatch follows every process of the job.
fn start_job(children: u32, extra: &[&str], dir: &TempDir, to_file: bool) -> Started {
    let tok = token("sig");
    let fork = children.to_string();
    let mut args = vec!["--fork", &fork, "--mib", "2", "--hold-ms", "60000"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--print", &tok]);
    let job = workload(&args);
    let out = dir.join("r.json");
    let mut opts = vec!["-i", "10", "--json"];
    if to_file {
        opts.extend_from_slice(&["-o", out.to_str().unwrap()]);
    }
    let mw = spawn(&mut run_cmd(&opts, &job));
    let cleanup = KillOnDrop(tok.clone());
    let pids = wait_for_job(&tok, children as usize + 1);
    wait_followed(mw.pid(), &pids);
    let procs = pids
        .iter()
        .map(|&p| (p, start_time(p).expect("job process alive")))
        .collect();
    Started {
        mw,
        pids,
        procs,
        report: to_file.then_some(out),
        job: cleanup,
    }
}

fn signal_ends_the_job(sig: i32, name: &str, to_file: bool) {
    let dir = tempdir(name);
    let Started {
        mw,
        pids,
        procs,
        report: out,
        job: _job,
    } = start_job(3, &[], &dir, to_file);
    send(mw.pid(), sig);
    let f = mw.wait();
    f.assert_code(128 + sig);
    let r = match &out {
        Some(p) => read_report(p),
        None => f.report(),
    };
    assert!(r.interrupted, "{name}: interrupted");
    assert_eq!((r.exit_code, r.signal), (None, Some(sig)), "{name}");
    assert_eq!(r.processes_total, 4, "{name}: {:#?}", r.processes);
    for p in &pids {
        assert!(
            r.processes.iter().any(|q| q.pid == *p),
            "{name}: pid {p} missing from the report"
        );
    }
    assert!(
        r.processes.iter().all(|p| p.max_rss_kib.is_some()),
        "{name}: every process measured"
    );
    assert!(
        f.stderr.contains(&format!(
            "Exit status:     killed by signal {sig} ({name}) (memwatch was interrupted by {name})"
        )),
        "{}",
        f.stderr
    );
    assert_reaped(&procs);
}

#[test]
fn sigint_to_memwatch_ends_the_job_and_keeps_the_report() {
    signal_ends_the_job(libc::SIGINT, "SIGINT", false);
}

#[test]
fn sigterm_to_memwatch_ends_the_job_and_keeps_the_report() {
    signal_ends_the_job(libc::SIGTERM, "SIGTERM", true);
}

#[test]
fn sighup_to_memwatch_ends_the_job_and_keeps_the_report() {
    signal_ends_the_job(libc::SIGHUP, "SIGHUP", true);
}

#[test]
fn second_signal_kills_a_job_that_ignores_the_first() {
    let dir = tempdir("escalate");
    let Started {
        mut mw,
        pids,
        procs,
        report: out,
        job,
    } = start_job(2, &["--ignore-signals"], &dir, true);
    let out = out.unwrap();
    send(mw.pid(), libc::SIGTERM);
    // memwatch passes the signal on, then writes the interim report; once it has rewritten
    // that report (a second later) it has waited for the job that long.
    let first = wait_for_report(&out, Duration::from_secs(10));
    assert!(first.interrupted, "the interim report says so");
    poll(Duration::from_secs(10), || {
        let r = read_report(&out);
        if r.samples > first.samples && r.end_time > first.end_time {
            Ok(())
        } else {
            Err("the interim report was not rewritten".to_string())
        }
    });
    assert!(mw.is_running(), "memwatch waits for the job");
    for &p in &pids {
        assert!(
            is_job_process(p, &job.0),
            "pid {p} ignores SIGTERM and runs on"
        );
    }
    send(mw.pid(), libc::SIGTERM);
    let f = mw.wait();
    f.assert_code(137);
    assert!(
        f.stderr
            .contains("memwatch: second signal: killing the job (SIGKILL)\n"),
        "{}",
        f.stderr
    );
    let r = read_report(&out);
    assert!(r.interrupted);
    assert_eq!(r.signal, Some(9));
    assert_eq!(r.processes_total, 3);
    assert_reaped(&procs);
}

#[test]
fn sigkill_to_memwatch_leaves_the_job_running() {
    let dir = tempdir("sigkill");
    let Started { mw, pids, job, .. } = start_job(1, &[], &dir, true);
    send(mw.pid(), libc::SIGKILL);
    let f = mw.wait();
    assert_eq!(f.signal, Some(libc::SIGKILL));
    // Kept: what is checked is that nothing happens (no parent-death signal, no watchdog
    // kills the job); no event marks that, so the job gets 200 ms to die if it were to.
    std::thread::sleep(Duration::from_millis(200));
    for &p in &pids {
        assert!(
            is_job_process(p, &job.0),
            "pid {p} was killed with memwatch"
        );
    }
    kill_job(&job.0);
    assert_all_gone(&job.0, &pids);
    // No report (it was never written) and no temporary file left in its directory.
    assert!(dir.list().is_empty(), "left behind: {:?}", dir.list());
}

#[test]
fn a_signal_ignored_when_memwatch_starts_stays_ignored_for_the_job() {
    // `nohup memwatch run …`: SIGHUP is ignored on entry. The job must inherit that, as it
    // would without memwatch, and a SIGHUP must neither end memwatch nor reach the job.
    use std::os::unix::process::CommandExt;
    let dir = tempdir("nohup");
    let out = dir.join("r.json");
    let mut cmd = run_cmd(
        &["-q", "-i", "10", "-o", out.to_str().unwrap()],
        &[
            "sh",
            "-c",
            "grep SigIgn /proc/self/status; sleep 0.6; echo survived",
        ],
    );
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mw = spawn(&mut cmd);
    // The SIGHUP goes in while the job runs: once it has printed its first line.
    poll(Duration::from_secs(30), || {
        let out = mw.stdout_now();
        if out.contains("SigIgn:") {
            Ok(())
        } else {
            Err(format!("the job has not started: {out:?}"))
        }
    });
    send(mw.pid(), libc::SIGHUP);
    let f = mw.wait();
    f.assert_code(0);
    let text = f.stdout_str();
    assert!(text.contains("survived"), "the job was hung up: {text:?}");
    let ign = text
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .expect("SigIgn line");
    assert_ne!(
        ign & (1 << (libc::SIGHUP - 1)),
        0,
        "SIGHUP not ignored in the job: {ign:x}"
    );
    assert!(!read_report(&out).interrupted);
}
