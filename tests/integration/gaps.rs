//! Nothing lost: a low open-files limit. Every process is counted, or the report says which
//! are missing and why.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

/// Make `cmd` run with an open-files limit of `n`, soft and hard (as `ulimit -n n`).
fn with_nofile_limit(cmd: &mut Command, n: u64) -> &mut Command {
    // SAFETY: setrlimit is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            let rl = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Resident KiB of a process (`/proc/<pid>/statm`), `None` if it is gone.
fn rss_kib(pid: i32) -> Option<u64> {
    let statm = fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf with a valid name.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    Some(pages * page / 1024)
}

#[test]
fn a_low_open_files_limit_loses_no_process() {
    let _g = heavy();
    // 80 children holding still and a parent holding 200 MiB, under `ulimit -n 64`: more
    // processes than memwatch can keep a descriptor open for.
    let tok = token("nofile");
    let job = workload(&[
        "--fork",
        "80",
        "--mib",
        "0",
        "--parent-mib",
        "200",
        "--hold-ms",
        "2500",
        "--print",
        &tok,
    ]);
    let _cleanup = KillOnDrop(tok.clone());
    let mut cmd = run_cmd(&["-i", "20", "--json"], &job);
    let mw = spawn(with_nofile_limit(&mut cmd, 64));
    // The truth, read from /proc while the job holds still: 81 processes and their RSS.
    let pids = wait_for_job(&tok, 81);
    let parent = *pids.first().unwrap();
    let t = Instant::now();
    while rss_kib(parent).unwrap_or(0) < 200 * MIB {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the parent never touched 200 MiB"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let truth: u64 = pids.iter().filter_map(|&p| rss_kib(p)).sum();
    let f = mw.wait();
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.processes_total, 81, "{}", f.stderr);
    assert_eq!(r.max_processes, 81);
    let total = r.max_total_rss_kib.unwrap();
    let error = (total as f64 - truth as f64).abs() / truth as f64;
    assert!(
        error <= 0.03,
        "total {total} KiB vs {truth} KiB read from /proc: {:.1}% off",
        error * 100.0
    );
    assert_eq!((r.fd_shortage_samples, r.fd_shortage_processes), (0, 0));
    assert_eq!(r.processes_unreadable, 0);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn wait_root_lists_every_process_left_running_under_a_low_open_files_limit() {
    let _g = heavy();
    let tok = token("nofile-root");
    let script = format!(
        "for i in $(seq 80); do \"$0\" __workload --hold-ms 20000 --print {tok} >/dev/null & done"
    );
    let _cleanup = KillOnDrop(tok.clone());
    let mut cmd = run_cmd(
        &["-i", "20", "--json", "--wait", "root"],
        &["sh", "-c", &script, BIN],
    );
    let f = finish(with_nofile_limit(&mut cmd, 64));
    f.assert_code(0);
    let r = f.report();
    let left = job_pids(&tok);
    assert_eq!(left.len(), 80, "the workers still run");
    let mut listed = r.left_running.clone();
    listed.sort_unstable();
    assert_eq!(listed, left, "{}", f.stderr);
    assert!(
        f.stderr
            .contains("Left running:    80 process(es) of the job"),
        "{}",
        f.stderr
    );
    kill_job(&tok);
    assert_all_gone(&tok, &left);
}
