//! memwatch out of file descriptors: a process it cannot read for want of one is unknown at
//! that sample (never gone, never 0), and the report counts it and says why.
//!
//! Its own test binary, apart from tests/integration: it lowers the open-files limit of its
//! process and then opens /dev/null until no descriptor is left. Any test running beside
//! it in the same process (the test harness runs tests on parallel threads) would fail to
//! open a file, a pipe or a `/proc` entry meanwhile, and the descriptors those threads hold
//! would change how many this test can use up.

#![cfg(target_os = "linux")]

use std::fs::File;
use std::time::Duration;

use memwatch::job::Job;
use memwatch::run::{RunInfo, report};
use memwatch::sys::NativeInspector;

#[path = "support/sleepers.rs"]
mod sleepers;
use sleepers::Sleepers;

fn nofile() -> (u64, u64) {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap()
}

fn set_soft_nofile(soft: u64) {
    let (_, hard) = nofile();
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, soft, hard).unwrap();
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 - 1
}

/// How many `/proc/<pid>/statm` files this process keeps open now: the processes read
/// through a kept descriptor. How many fit under the limit depends on descriptors the
/// environment hands the test (a CI runner's, cargo's jobserver), so it is counted, not
/// assumed.
fn kept_statm() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.to_string_lossy().ends_with("/statm"))
        .count() as u64
}

#[test]
fn processes_unread_for_want_of_descriptors_are_unknown_and_counted() {
    const JOB: usize = 40;
    const KEPT: u64 = 8;
    let sleepers = Sleepers::start(JOB);
    let self_pid = std::process::id() as i32;
    let root = sleepers.root();
    let (soft, _) = nofile();
    let mut job = Job::new(
        NativeInspector::new(self_pid).expect("inspector"),
        self_pid,
        root,
        JOB,
    );
    // Room for about 8 kept descriptors above memwatch's reserve of 16: the other 32 or
    // so processes are read by path.
    let limit = open_fds() + 16 + KEPT;
    set_soft_nofile(limit);
    let s = job.sample(Duration::ZERO, true).unwrap();
    assert_eq!((s.processes, s.unknown), (JOB as u32, 0));
    let kept = kept_statm();
    assert!(
        (KEPT - 2..=KEPT + 2).contains(&kept),
        "about {KEPT} of the {JOB} kept open under the limit, not {kept}"
    );

    // Every descriptor used up: the ones read by path cannot be read.
    let mut hog = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        hog.push(f);
    }
    let starved = job.sample(Duration::from_millis(10), true);
    drop(hog);
    let s = starved.unwrap();
    assert_eq!(
        (s.processes, s.unknown),
        (JOB as u32, JOB as u32 - kept as u32),
        "unknown, never gone"
    );
    assert!(s.total_rss_kib > 0);

    let s = job.sample(Duration::from_millis(20), true).unwrap();
    assert_eq!((s.processes, s.unknown), (JOB as u32, 0), "read again");
    set_soft_nofile(soft);

    let stats = job.finish();
    assert_eq!(stats.gaps.fd_samples, 1);
    assert_eq!(stats.gaps.fd_processes, JOB as u64 - kept);
    let report = report(
        &stats,
        RunInfo {
            command: vec!["sleep".into(), "600".into()],
            start_time: jiff::Timestamp::now(),
            duration: Duration::from_millis(20),
            interval: Duration::from_millis(10),
            exit: None,
            interrupt_signal: None,
            left_running: Vec::new(),
        },
    );
    assert_eq!(report.fd_shortage_samples, 1);
    assert_eq!(report.fd_shortage_processes, JOB as u64 - kept);
    assert_eq!(report.processes_total, JOB as u64);
    let w = report
        .warnings
        .iter()
        .find(|w| w.contains("file descriptors"))
        .unwrap_or_else(|| panic!("no warning: {:?}", report.warnings));
    assert!(
        w.starts_with(&format!(
            "memwatch ran out of file descriptors (open-files limit {limit}) at 1 sample: {} processes could not be read then (unknown, not 0)",
            JOB as u64 - kept
        )),
        "{w}"
    );
    assert!(w.contains("ulimit -n"), "{w}");
    drop(sleepers);
}
