//! At scale, the runs that load the machine: a memwatch that cannot keep its interval (1000
//! processes at `-i 1`) reports the interval it achieved and warns; `--cpu-budget` keeps memwatch's own CPU, measured here
//! from /proc, within 1.5 times the budget over a 1000-process job; 10 000 concurrently
//! live processes are profiled to the end, with the open-files limit high enough and too
//! low, the total checked against the job's own reading of its `statm` files.
//!
//! Its own test binary, apart from tests/integration: waking and reaping 10 000 processes,
//! or sampling 1000 every millisecond, delays every memwatch that runs beside it, and the
//! tests there that read memwatch's exact output would see an honest warning about the
//! interval. `cargo test` runs test binaries one after another. The tests here take the
//! `heavy()` lock, so they run one at a time too.

#![cfg(target_os = "linux")]

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

#[path = "integration/util/mod.rs"]
#[allow(dead_code, unused_imports)]
mod util;
use util::*;

/// A job memwatch cannot sample every millisecond on any machine: 1000 live processes at
/// `-i 1` (a sample reads 1000 `statm` files, more than a millisecond of the kernel's work
/// alone). The report says what was achieved and the summary warns, naming the cause.
#[test]
fn a_run_that_cannot_keep_its_interval_reports_it_and_warns() {
    let _heavy = heavy();
    let mut cmd = run_cmd(
        &["--json", "-i", "1"],
        &workload(&["--fork", "999", "--hold-ms", "3000"]),
    );
    let f = finish(&mut cmd);
    f.assert_code(0);
    let r = f.report();
    let mean = r
        .interval_achieved_mean_ms
        .expect("interval_achieved_mean_ms");
    let median = r.interval_achieved_ms.expect("interval_achieved_ms");
    assert!(
        mean > 1.2,
        "memwatch kept -i 1 over 1000 processes: mean {mean} ms"
    );
    assert!(
        r.interval_achieved_max_ms.unwrap() >= median,
        "max below the median"
    );
    assert!(r.deadlines_missed.unwrap() > 0, "{:?}", r.deadlines_missed);
    let w = r
        .warnings
        .iter()
        .find(|w| w.contains("not every 1 ms as asked"))
        .unwrap_or_else(|| panic!("no warning: {:?}", r.warnings));
    assert!(
        w.contains("too many processes for the interval") || w.contains("the machine was busy"),
        "{w}"
    );
    assert!(
        f.stderr.contains("(every 1 ms requested, ") && f.stderr.contains(" achieved)"),
        "{}",
        f.stderr
    );
}

/// memwatch's own CPU time so far, from the kernel's scheduler statistics: nanoseconds.
fn cpu_ns(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The `--cpu-budget 5%` run over a 1000-process job: memwatch's CPU, read from
/// `/proc/<pid>/schedstat` over 4 s once the job is whole, stays within 1.5 times the
/// budget, where sampling every 1 ms would cost far more.
#[test]
fn cpu_budget_keeps_memwatch_within_it_over_1000_processes() {
    let _heavy = heavy();
    let dir = tempdir("budget");
    let out = dir.join("r.json");
    let mut cmd = run_cmd(
        &[
            "-q",
            "-i",
            "1",
            "--cpu-budget",
            "5%",
            "-o",
            out.to_str().unwrap(),
        ],
        &workload(&["--fork", "999", "--hold-ms", "7000"]),
    );
    let mw = spawn(&mut cmd);
    let pid = mw.pid();
    let t_start = Instant::now();
    // The job is whole once memwatch has 1000 descendants.
    poll(Duration::from_secs(60), || {
        let n = descendants(pid);
        if n >= 1000 {
            Ok(())
        } else {
            Err(format!("{n} of 1000 processes started"))
        }
    });
    // A second for the rule to have set the interval from a window of the whole job.
    std::thread::sleep(Duration::from_millis(1500));
    let (c0, w0) = (cpu_ns(pid).expect("schedstat"), Instant::now());
    std::thread::sleep(Duration::from_secs(4));
    let (c1, wall) = (cpu_ns(pid).expect("schedstat"), w0.elapsed());
    assert!(
        t_start.elapsed() < Duration::from_secs(7),
        "the window must fall within the job's hold"
    );
    let share = (c1 - c0) as f64 / wall.as_nanos() as f64 * 100.0;
    let f = mw.wait();
    f.assert_code(0);
    let r = read_report(&out);
    assert!(
        share <= 1.5 * 5.0,
        "memwatch used {share:.2}% of a core with --cpu-budget 5% (report: {:?}% over the run, interval up to {:?} ms)",
        r.memwatch_cpu_percent,
        r.interval_stretched_max_ms
    );
    assert_eq!(r.cpu_budget_percent, Some(5.0));
    assert!(r.max_processes >= 1000, "{}", r.max_processes);
    let stretched = r
        .interval_stretched_max_ms
        .expect("the budget stretched -i 1");
    assert!(stretched > 1.0, "{stretched}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("--cpu-budget 5% stretched")),
        "{:?}",
        r.warnings
    );
    eprintln!(
        "--cpu-budget 5% over 1000 processes: {share:.2}% of a core measured, interval up to {stretched} ms"
    );
}

/// How many descendants `pid` has (by its children, recursively).
fn descendants(pid: i32) -> usize {
    let mut n = 0;
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        let kids =
            std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
        for k in kids.split_whitespace().filter_map(|k| k.parse().ok()) {
            n += 1;
            stack.push(k);
        }
    }
    n
}

/// What one run over 10 000 live processes gave.
struct Scaled {
    report: memwatch::model::Report,
    /// The job's own reading of its statm files, KiB.
    statm_kib: u64,
    /// memwatch's own peak RSS (`VmHWM`), as last seen before it exited, KiB.
    own_peak_kib: u64,
}

/// `pid`'s peak RSS so far (`VmHWM`), KiB; `None` once it has exited.
fn vm_hwm(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// memwatch over a job of `n` concurrently live processes (the workload and its forked
/// children), with the open-files limit `nofile` when given.
fn ten_thousand(name: &str, n: u32, nofile: Option<u64>) -> Scaled {
    let dir = tempdir(name);
    let out = dir.join("r.json");
    let stdout = dir.join("stdout");
    let mut cmd = run_cmd(
        &["-q", "-i", "100", "-o", out.to_str().unwrap()],
        &workload(&[
            "--fork",
            &(n - 1).to_string(),
            "--together",
            "--hold-ms",
            "6000",
            "--statm-sum-after-ms",
            "2000",
        ]),
    );
    cmd.stdout(File::create(&stdout).unwrap());
    if let Some(limit) = nofile {
        // SAFETY: setrlimit on the process itself, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let l = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &l) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().expect("spawn memwatch");
    let pid = child.id() as i32;
    let started = Instant::now();
    let mut own_peak_kib = 0;
    // Until it exits (a zombie has no VmHWM), or the deadline.
    while let Some(kib) = vm_hwm(pid) {
        own_peak_kib = own_peak_kib.max(kib);
        if started.elapsed() > DEADLINE {
            // Its job's processes end on their own once their hold is over.
            let _ = child.kill();
            let _ = child.wait();
            panic!("memwatch still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().expect("wait for memwatch");
    assert!(status.success(), "memwatch ended with {status}");
    let printed = std::fs::read_to_string(&stdout).unwrap();
    let statm_kib = printed
        .lines()
        .find_map(|l| l.strip_prefix("statm_rss_kib "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("the workload printed no statm sum: {printed:?}"));
    Scaled {
        report: read_report(&out),
        statm_kib,
        own_peak_kib,
    }
}

/// The report of 10 000 live processes is complete and right: every one counted at once,
/// and the total the job's own statm sum within 2%.
#[track_caller]
fn assert_complete(s: &Scaled, n: u32) {
    let r = &s.report;
    assert_eq!(r.exit_code, Some(0));
    assert!(r.max_processes >= n, "{} of {n} at once", r.max_processes);
    assert!(r.processes_total >= u64::from(n), "{}", r.processes_total);
    assert_eq!(r.processes_unreadable, 0);
    let total = r.max_total_rss_kib.expect("max total") as f64;
    let statm = s.statm_kib as f64;
    assert!(
        (total - statm).abs() <= 0.02 * statm,
        "max total {total} KiB, the job's own statm sum {statm} KiB"
    );
    assert!(
        !r.max_total_rss_is_lower_bound,
        "nothing may be left out: {:?}",
        r.warnings
    );
    // About 11 MiB for the release build; the test binary's is larger.
    assert!(
        s.own_peak_kib < 20 * 1024,
        "memwatch's own peak RSS: {} KiB",
        s.own_peak_kib
    );
}

fn require_pids(n: u32) -> bool {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
    };
    let room = read("/proc/sys/kernel/pid_max").unwrap_or(0);
    let threads = read("/proc/sys/kernel/threads-max").unwrap_or(0);
    if room < 3 * u64::from(n) || threads < 3 * u64::from(n) {
        skip_or_fail(&format!(
            "the machine allows {room} pids and {threads} threads: too few for {n} more processes"
        ));
        return false;
    }
    true
}

const N: u32 = 10_000;

#[test]
fn ten_thousand_live_processes_are_profiled_to_the_end() {
    if !require_pids(N) {
        return;
    }
    let _heavy = heavy();
    let s = ten_thousand("scale-10k", N, None);
    assert_complete(&s, N);
    eprintln!(
        "10 000 live processes: max total {} KiB, statm sum {} KiB, memwatch's own peak RSS {} KiB",
        s.report.max_total_rss_kib.unwrap(),
        s.statm_kib,
        s.own_peak_kib
    );
}

/// With an open-files limit far below the job's size, memwatch reads the processes past
/// its descriptor budget by path, and the report is as complete and right.
#[test]
fn ten_thousand_live_processes_with_a_low_open_files_limit() {
    if !require_pids(N) {
        return;
    }
    let _heavy = heavy();
    let s = ten_thousand("scale-10k-low", N, Some(1024));
    assert_complete(&s, N);
    assert_eq!(s.report.fd_shortage_samples, 0, "{:?}", s.report.warnings);
}
