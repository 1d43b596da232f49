//! `--max-rss`: an absolute limit on the job's peak, as one line of CI (`memwatch run
//! --max-rss 2GiB -- cargo test`), and on a report already written (`memwatch compare
//! --max-rss 2GiB report.json`).

use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// A job that would leave `marker` behind if it ever ran.
fn marker_job(marker: &Path) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        "touch \"$0\"".into(),
        marker.to_str().unwrap().into(),
    ]
}

#[test]
fn a_peak_over_max_rss_fails_the_run_with_3_and_says_so() {
    let dir = tempdir("gate-over");
    let out = dir.join("r.json");
    let f = finish(&mut run_cmd(
        &[
            "-i",
            "20",
            "--max-rss",
            "16MiB",
            "--json",
            "-o",
            out.to_str().unwrap(),
        ],
        &workload(&["--mib", "48", "--hold-ms", "300"]),
    ));
    f.assert_code(3);
    let r = read_report(&out);
    let check = r.max_rss_check.expect("max_rss_check");
    assert_eq!((check.exceeded, check.passed), (Some(true), false));
    assert_eq!(
        (check.metric.as_str(), check.limit_kib),
        ("total", 16 * MIB)
    );
    assert_eq!(check.value_kib, r.max_total_rss_kib);
    // The summary on stderr ends with the verdict, which names the peak and the limit.
    let last = f.stderr.lines().last().unwrap();
    assert_eq!(last, check.verdict);
    assert!(last.starts_with("FAIL: max total RSS "), "{last}");
    assert!(
        last.ends_with(" is over the limit of 16.0 MiB (--max-rss 16MiB)"),
        "{last}"
    );
    // The job's own status is in the report: it succeeded.
    assert_eq!(r.exit_code, Some(0));
}

#[test]
fn a_peak_within_max_rss_passes_quietly_under_q() {
    let f = finish(&mut run_cmd(
        &["-i", "20", "--max-rss", "1GiB"],
        &workload(&["--mib", "16", "--hold-ms", "200"]),
    ));
    f.assert_code(0);
    let last = f.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("OK: max total RSS ") && last.ends_with("(--max-rss 1GiB)"),
        "{last}"
    );
    let f = finish(&mut run_cmd(
        &["-q", "-i", "20", "--max-rss", "1GiB"],
        &workload(&["--mib", "16", "--hold-ms", "200"]),
    ));
    f.assert_code(0);
    assert_eq!(past_interval_warning(&f.stderr), "", "{}", f.stderr);
    // Under -q a failure still says so, on one line.
    let f = finish(&mut run_cmd(
        &["-q", "-i", "20", "--max-rss", "8MiB"],
        &workload(&["--mib", "16", "--hold-ms", "200"]),
    ));
    f.assert_code(3);
    let stderr = past_interval_warning(&f.stderr);
    assert_eq!(stderr.lines().count(), 1, "{}", f.stderr);
    assert!(
        stderr.starts_with("memwatch: FAIL: max total RSS "),
        "{}",
        f.stderr
    );
}

#[test]
fn a_failed_command_keeps_its_own_status_over_max_rss() {
    let f = finish(&mut run_cmd(
        &["-q", "-i", "20", "--max-rss", "8MiB"],
        &workload(&["--mib", "16", "--hold-ms", "200", "--exit", "7"]),
    ));
    f.assert_code(7);
    let stderr = past_interval_warning(&f.stderr);
    assert!(stderr.starts_with("memwatch: FAIL: "), "{}", f.stderr);
}

#[test]
fn with_metric_pss_the_pss_is_the_peak_checked() {
    // Four processes sharing 120 MiB: about 490 MiB of RSS, about 125 MiB of PSS.
    let _heavy = heavy();
    let f = finish(&mut run_cmd(
        &[
            "--json",
            "-q",
            "-i",
            "20",
            "--metric",
            "pss",
            "--max-rss",
            "300MiB",
        ],
        &workload(&["--shared-mib", "120", "--fork", "3", "--hold-ms", "1500"]),
    ));
    f.assert_code(0);
    let r = f.report();
    assert!(
        r.max_total_rss_kib.unwrap() > 300 * MIB,
        "RSS alone would fail"
    );
    let check = r.max_rss_check.unwrap();
    assert_eq!((check.metric.as_str(), check.passed), ("pss", true));
    assert_eq!(check.value_kib, r.max_total_pss_kib);
}

#[test]
fn bad_max_rss_values_are_refused_before_the_job_starts() {
    let dir = tempdir("gate-bad");
    let marker = dir.join("marker");
    for (bad, says) in [
        ("0", "'0' has no unit"),
        ("-5", "the limit cannot be negative"),
        ("12XB", "'12XB' is not a size"),
        ("", "an empty value is not a size"),
        (
            "20%",
            "'20%' is a percentage, and --max-rss is an absolute limit",
        ),
        ("30s", "'30s' is a time"),
        ("0MiB", "the limit must be above 0"),
        ("2GB", "IEC"),
    ] {
        let f = finish(&mut run_cmd(&["--max-rss", bad], &marker_job(&marker)));
        f.assert_code(125);
        assert_eq!(f.stderr.lines().count(), 1, "{bad:?}: {}", f.stderr);
        assert!(
            f.stderr.starts_with(&format!(
                "memwatch: invalid value '{bad}' for '--max-rss <SIZE>': "
            )),
            "{bad:?}: {}",
            f.stderr
        );
        assert!(f.stderr.contains(says), "{bad:?}: {}", f.stderr);
        assert!(
            !marker.exists(),
            "the command ran despite --max-rss {bad:?}"
        );
    }
}

/// A real report of a 48 MiB job, as JSON to edit.
fn report_of_48_mib(dir: &TempDir) -> (std::path::PathBuf, Value) {
    let path = dir.join("r.json");
    let f = finish(&mut run_cmd(
        &["-q", "-i", "20", "-o", path.to_str().unwrap()],
        &workload(&["--mib", "48", "--hold-ms", "300"]),
    ));
    f.assert_code(0);
    let v = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    (path, v)
}

#[test]
fn compare_checks_one_report_against_max_rss() {
    let dir = tempdir("gate-compare");
    let (path, v) = report_of_48_mib(&dir);
    let o = memwatch_output([
        "compare".as_ref(),
        "--max-rss".as_ref(),
        "16MiB".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = text(&o.stdout);
    assert!(out.starts_with("report: "), "{out}");
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("FAIL: max total RSS ")
            && last.ends_with("over the limit of 16.0 MiB (--max-rss 16MiB)"),
        "{out}"
    );
    let o = memwatch_output([
        "compare".as_ref(),
        "--json".as_ref(),
        "--max-rss".as_ref(),
        "1GiB".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["kind"], "single");
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["max_rss_check"]["passed"], true);
    assert_eq!(j["max_rss_check"]["value_kib"], v["max_total_rss_kib"]);

    // A report whose total leaves out a process it could not read: not shown within.
    let mut partial = v.clone();
    partial["processes_unreadable"] = 1.into();
    partial["max_total_rss_is_lower_bound"] = true.into();
    let p = write_json(&dir, "partial.json", &partial);
    let o = memwatch_output([
        "compare".as_ref(),
        "--max-rss".as_ref(),
        "1GiB".as_ref(),
        p.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        text(&o.stdout).contains("FAIL: cannot confirm --max-rss 1GiB"),
        "{o:?}"
    );

    // A report of a failed run fails the gate (--allow-failed checks it anyway).
    let mut failed = v.clone();
    failed["exit_code"] = 3.into();
    let p = write_json(&dir, "failed.json", &failed);
    let args = |extra: &[&str]| {
        let mut a: Vec<std::ffi::OsString> =
            vec!["compare".into(), "--max-rss".into(), "1GiB".into()];
        a.extend(extra.iter().map(Into::into));
        a.push(p.clone().into());
        a
    };
    let o = memwatch_output(args(&[]));
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        text(&o.stdout).contains("FAIL: 1 report is of a failed run"),
        "{o:?}"
    );
    let o = memwatch_output(args(&["--allow-failed"]));
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn compare_max_rss_errors_exit_2_or_125_with_one_line() {
    let dir = tempdir("gate-compare-bad");
    let (path, _) = report_of_48_mib(&dir);
    let path = path.to_str().unwrap();
    // 2: the report cannot be used; 125: the command line cannot.
    for (args, code, says) in [
        (
            vec!["compare", "--max-rss", "1GiB", "--metric", "pss", path],
            2,
            "max total PSS is unknown",
        ),
        (
            vec!["compare", "--max-rss", "1GiB", "--metric", "duration", path],
            125,
            "--metric duration is a time",
        ),
        (
            vec!["compare", "--max-rss", "0", path],
            125,
            "'0' has no unit",
        ),
        (
            vec!["compare", "--max-rss", "1GiB", "/nonexistent/r.json"],
            2,
            "/nonexistent/r.json",
        ),
    ] {
        let o = memwatch_output(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {o:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("memwatch: ") && err.contains(says),
            "{args:?}: {err}"
        );
    }
}
