//! `--metric`: PSS counts a shared mapping once where RSS counts it in every process.

use std::path::Path;
use std::process::Output;

use memwatch::model::Report;

use crate::util::*;

fn run_json(args: &[&str]) -> (Output, Option<Report>) {
    let out = memwatch_output(args);
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
        BIN,
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
    assert_eq!(serde_json::to_value(r.metric).unwrap(), "pss");
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
    assert_eq!(serde_json::to_value(r.metric).unwrap(), "rss");
    assert!(r.max_total_pss_kib.is_none() && r.max_total_footprint_kib.is_none());
    assert!(r.metric_sampling.is_none());
    assert!(r.processes.iter().all(|p| p.max_pss_kib.is_none()));
}

#[test]
fn footprint_is_refused_on_linux_before_the_command_runs() {
    let dir = tempdir("metric");
    let marker = dir.join("ran");
    let out = output(memwatch(["run", "--metric", "footprint", "--", "touch"]).arg(&marker));
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--metric footprint") && err.contains("--metric pss"),
        "{err}"
    );
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn compare_gates_on_pss() {
    // Two real runs with --metric pss: 4 processes sharing 30 MiB, then 90 MiB. The gate on
    // PSS fails the second with the figure named; a report without PSS cannot be gated on it.
    let dir = tempdir("metric-cmp");
    let run = |name: &str, metric: &str, shared: &str| {
        let path = dir.join(name);
        let out = output(
            memwatch(["run", "-q", "-i", "20", "--metric", metric, "-o"])
                .arg(&path)
                .args(["--", BIN, "__workload", "--shared-mib", shared])
                .args(["--fork", "3", "--hold-ms", "600"]),
        );
        assert!(out.status.success(), "{out:?}");
        path
    };
    let small = run("small.json", "pss", "30");
    let big = run("big.json", "pss", "90");
    let rss_only = run("rss.json", "rss", "30");
    let compare =
        |args: &[&Path], extra: &[&str]| output(memwatch(["compare"]).args(args).args(extra));

    let o = compare(
        &[&small, &big],
        &["--metric", "pss", "--max-increase", "20%"],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("Max total PSS"), "{text}");
    assert!(text.contains("FAIL: max total PSS rose from"), "{text}");

    let o = compare(
        &[&small, &small],
        &["--metric", "pss", "--max-increase", "20%"],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("OK: max total PSS unchanged"));

    let o = compare(
        &[&rss_only, &big],
        &["--metric", "pss", "--max-increase", "20%"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("rss.json")
            && err.contains("max total PSS is unknown")
            && err.contains("--metric pss"),
        "{err}"
    );

    let o = compare(&[&small, &big], &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (a, b) = (
        v["entries"][0]["max_total_pss_kib"].as_u64().unwrap(),
        v["entries"][1]["max_total_pss_kib"].as_u64().unwrap(),
    );
    assert!(b > a + 40 * MIB, "PSS {a} KiB then {b} KiB");
    assert_eq!(
        v["changes"]["max_total_pss_kib"]["change"].as_i64(),
        Some(b as i64 - a as i64)
    );
}

#[test]
fn pss_that_cannot_be_read_is_unknown_with_a_warning_never_0() {
    // A setuid-root job under a memwatch run by nobody: its RSS can be read (statm is
    // world-readable) but not its PSS (smaps_rollup needs ptrace access).
    let dir = tempdir("metric-suid");
    let Some(suid) = setuid_copy(&dir) else {
        return;
    };
    let mut cmd = memwatch(["run", "-q", "--json", "--metric", "pss", "-i", "20", "--"]);
    cmd.arg(&suid)
        .args(["__workload", "--mib", "20", "--hold-ms", "400"]);
    let Some(cmd) = as_nobody(&mut cmd) else {
        return;
    };
    let out = output(cmd);
    assert!(out.status.success(), "{out:?}");
    let r: Report = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert!(
        r.max_total_rss_kib.unwrap() >= 20 * MIB,
        "{:?}",
        r.max_total_rss_kib
    );
    assert_eq!(
        r.max_total_pss_kib, None,
        "an unreadable PSS reads as a figure"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("the PSS of 1 process could not be read")),
        "{:?}",
        r.warnings
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("memwatch: warning: the PSS of 1 process"),
        "{err}"
    );
}

#[test]
fn a_pss_total_without_a_setuid_process_says_at_least() {
    // As nobody, a shell whose setuid child holds 100 MiB: the PSS total has the shell's
    // PSS only, and its headline, in text and JSON, must say it is a lower bound.
    let dir = tempdir("metric-partial");
    let Some(suid) = setuid_copy(&dir) else {
        return;
    };
    let script = format!("{} __workload --mib 100 --hold-ms 600", suid.display());
    let mut cmd = memwatch([
        "run", "--json", "--metric", "pss", "-i", "20", "--", "sh", "-c",
    ]);
    cmd.arg(&script);
    let Some(cmd) = as_nobody(&mut cmd) else {
        return;
    };
    let out = output(cmd);
    assert!(out.status.success(), "{out:?}");
    let r: Report = serde_json::from_slice(&out.stdout).expect("JSON report");
    let rss = r.max_total_rss_kib.unwrap();
    let pss = r.max_total_pss_kib.expect("the shell's PSS was read");
    assert!(rss >= 100 * MIB, "RSS {rss} KiB has the setuid process");
    assert!(pss < 50 * MIB, "PSS {pss} KiB lacks it");
    assert_eq!(r.processes_metric_unreadable, 1);
    assert!(r.max_total_pss_is_lower_bound, "JSON says at least");
    assert!(!r.max_total_rss_is_lower_bound, "every RSS was read");
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("Max total PSS:"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.starts_with("Max total PSS:   at least ")
            && line.ends_with("without 1 process whose PSS could not be read)"),
        "{line}"
    );
    let line = err
        .lines()
        .find(|l| l.starts_with("Max total RSS:"))
        .unwrap();
    assert!(!line.contains("at least"), "{line}");
}

#[test]
fn pss_follows_a_process_through_exec() {
    // A shell read for PSS, then exec'd into a 100 MiB workload: the kept smaps_rollup
    // descriptor belongs to the shell's image, and the new program's PSS must still count.
    let script = format!("sleep 0.3; exec {BIN} __workload --mib 100 --hold-ms 900");
    let (out, report) = run_json(&[
        "run", "--json", "-q", "--metric", "pss", "-i", "20", "--", "sh", "-c", &script,
    ]);
    assert!(out.status.success(), "{out:?}");
    let r = report.expect("JSON report");
    let pss = r.max_total_pss_kib.expect("max_total_pss_kib");
    assert!(pss >= 95 * MIB, "PSS {pss} KiB lost the exec'd program");
    assert!(
        past_interval_warnings(&r.warnings).is_empty(),
        "{:?}",
        r.warnings
    );
}
