//! Churn and scale: thousands of short-lived processes, a 2000-wide tree, a 500-deep chain.

use std::collections::HashMap;
use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use memwatch::job::MAX_DEAD_RECORDS;

use crate::util::*;

/// memwatch's own `VmHWM` (KiB), read from `/proc/<pid>/status`.
fn vm_hwm(pid: i32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn five_thousand_short_lived_processes() {
    let _g = heavy();
    let script = "i=0; while [ $i -lt 5000 ]; do /bin/true; i=$((i+1)); done";
    let mw = spawn(&mut run_cmd(&["-i", "5", "--json"], &["sh", "-c", script]));
    // memwatch's own high-water mark, watched while it runs (VmHWM only grows; the last
    // reading before it exits is its peak).
    let hwm = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (hwm, done, pid) = (Arc::clone(&hwm), Arc::clone(&done), mw.pid());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(v) = vm_hwm(pid) {
                    hwm.fetch_max(v, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let f = mw.wait();
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.exit_code, Some(0));
    assert!(r.processes_total >= 1);
    assert!(r.samples >= 10, "{} samples", r.samples);
    assert_eq!(
        r.processes.len() as u64 + r.processes_omitted,
        r.processes_total,
        "every process is listed or counted"
    );
    assert!(r.processes.len() <= 2 * MAX_DEAD_RECORDS + 1);
    assert!(r.timeline.len() <= memwatch::model::timeline::DEFAULT_POINTS);
    let hwm = hwm.load(Ordering::Relaxed);
    assert!(hwm > 0, "memwatch's VmHWM was read");
    assert!(hwm < 64 * MIB, "memwatch used {hwm} KiB");
    let sh = r.processes.iter().find(|p| p.root).expect("the shell");
    assert!(sh.command.starts_with("sh -c i=0;"), "{sh:?}");
}

#[test]
fn a_2000_wide_tree_is_found_whole() {
    let _g = heavy();
    let job = workload(&["--fork", "1999", "--hold-ms", "3000"]);
    let f = finish(&mut run_cmd(&["-i", "100", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.processes_total, 2000);
    assert_eq!(r.max_processes, 2000);
    assert_eq!(r.processes_omitted, 0);
    let root = r.processes.iter().find(|p| p.root).unwrap().pid;
    assert_eq!(r.processes.iter().filter(|p| p.ppid == root).count(), 1999);
    assert!(r.processes.iter().all(|p| p.max_rss_kib.is_some()));
}

#[test]
fn a_500_deep_chain_is_found_whole() {
    let _g = heavy();
    // A chain of shells, each the parent of the next; the last becomes `sleep 3`. (The
    // workload's own --chain forks without exec, and the kernel's fork cost grows with the
    // depth of such a chain: 500 levels take over 10 s to build.)
    let script =
        "if [ \"$1\" -gt 1 ]; then sh -c \"$0\" \"$0\" $(($1 - 1)); else exec sleep 3; fi; :";
    let job = ["sh", "-c", script, script, "500"];
    let f = finish(&mut run_cmd(&["-i", "100", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.processes_total, 500);
    assert_eq!(r.max_processes, 500);
    // One unbroken line of parents and children, 500 long.
    let mut child_of: HashMap<i32, Vec<i32>> = HashMap::new();
    for p in &r.processes {
        child_of.entry(p.ppid).or_default().push(p.pid);
    }
    let mut pid = r.processes.iter().find(|p| p.root).unwrap().pid;
    let mut depth = 1;
    while let Some(kids) = child_of.get(&pid) {
        assert_eq!(kids.len(), 1, "pid {pid} has children {kids:?}");
        pid = kids[0];
        depth += 1;
    }
    assert_eq!(depth, 500);
    assert_eq!(
        r.processes
            .iter()
            .filter(|p| p.command == "sleep 3")
            .count(),
        1
    );
}
