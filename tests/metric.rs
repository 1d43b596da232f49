//! `--metric`: PSS counts a shared mapping once where RSS counts it in every process.
#![cfg(target_os = "linux")]

use std::process::Command;

use memwatch::report::Report;

const MIB: u64 = 1024;

fn run_json(args: &[&str]) -> (std::process::Output, Option<Report>) {
    let out = Command::new(env!("CARGO_BIN_EXE_memwatch"))
        .args(args)
        .output()
        .expect("run memwatch");
    let report = serde_json::from_slice(&out.stdout).ok();
    (out, report)
}

#[test]
fn pss_counts_shared_pages_once() {
    // A parent and three children all mapping one 120 MiB shared region.
    let (out, report) = run_json(&[
        "run",
        "--json",
        "-q",
        "--metric",
        "pss",
        "-i",
        "20",
        "--",
        env!("CARGO_BIN_EXE_memwatch"),
        "__workload",
        "--shared-mib",
        "120",
        "--fork",
        "3",
        "--hold-ms",
        "1500",
    ]);
    assert!(out.status.success(), "{out:?}");
    let r = report.expect("JSON report");
    assert_eq!(r.metric, "pss");
    let rss = r.max_total_rss_kib.unwrap();
    let pss = r.max_total_pss_kib.expect("max_total_pss_kib");
    assert!(
        rss >= 3 * 120 * MIB,
        "RSS total {rss} KiB counts the mapping per process"
    );
    assert!(
        pss < 192 * MIB,
        "PSS total {pss} KiB is below 1.6 x 120 MiB"
    );
    assert!(
        pss >= 120 * MIB,
        "PSS total {pss} KiB still has the mapping once"
    );
    assert!(pss <= rss);
    let sampling = r
        .metric_sampling
        .expect("metric_sampling says how PSS was read");
    assert!(
        sampling.contains("smaps_rollup") && sampling.contains("round"),
        "{sampling}"
    );
    for p in &r.processes {
        let (Some(p_pss), Some(p_rss)) = (p.max_pss_kib, p.max_rss_kib) else {
            continue;
        };
        assert!(
            p_pss <= p_rss,
            "pid {}: PSS {p_pss} above RSS {p_rss}",
            p.pid
        );
        assert!(p.max_footprint_kib.is_none());
    }
    assert_eq!(
        r.processes
            .iter()
            .filter(|p| p.max_pss_kib.is_some())
            .count(),
        4
    );
}

#[test]
fn without_metric_the_extra_fields_are_null() {
    let (out, report) = run_json(&["run", "--json", "-q", "-i", "20", "--", "sleep", "0.2"]);
    assert!(out.status.success());
    let r = report.unwrap();
    assert_eq!(r.metric, "rss");
    assert!(r.max_total_pss_kib.is_none() && r.max_total_footprint_kib.is_none());
    assert!(r.metric_sampling.is_none());
    assert!(r.processes.iter().all(|p| p.max_pss_kib.is_none()));
}

#[test]
fn footprint_is_refused_on_linux_before_the_command_runs() {
    let dir = std::env::temp_dir().join(format!("memwatch-metric-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("ran");
    let out = Command::new(env!("CARGO_BIN_EXE_memwatch"))
        .args(["run", "--metric", "footprint", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--metric footprint") && err.contains("--metric pss"),
        "{err}"
    );
    assert!(!marker.exists(), "the command ran");
    std::fs::remove_dir_all(&dir).unwrap();
}
