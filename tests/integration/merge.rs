//! `memwatch merge` end to end: real reports from concurrent `memwatch run`s merged on
//! wall-clock time, the output forms, and bad inputs.

use std::fs;
use std::path::Path;
use std::time::Instant;

use memwatch::merge::Merged;
use memwatch::model::Report;
use memwatch::model::figures::by_name;

use crate::util::*;

/// Start `memwatch run --json -o <out> -i 20 -- memwatch __workload --mib M --hold-ms H`.
fn start_run(out: &Path, mib: u64, hold_ms: u64) -> Running {
    spawn(
        memwatch(["run", "--json", "-q", "-i", "20", "-o"])
            .arg(out)
            .args(["--", BIN, "__workload", "--mib"])
            .arg(mib.to_string())
            .arg("--hold-ms")
            .arg(hold_ms.to_string()),
    )
}

#[track_caller]
fn run_ok(run: Running) {
    let f = run.wait();
    assert!(f.status.success(), "memwatch run failed: {}", f.stderr);
}

fn read(p: &Path) -> Report {
    memwatch::model::io::read(&fs::read(p).unwrap()).unwrap()
}

/// A report's total at wall-clock instant `us` (microseconds since the epoch), step-wise:
/// written independently of the merge code as the test's reference.
fn value_at(r: &Report, us: i64) -> u64 {
    let start = r.start_time.as_microsecond();
    if us >= r.end_time.as_microsecond().max(start) {
        return 0;
    }
    r.timeline
        .iter()
        .take_while(|p| start + p.t_ms as i64 * 1000 <= us)
        .last()
        .map_or(0, |p| p.total_rss_kib)
}

#[test]
fn concurrent_runs_merge_to_the_sum_of_their_simultaneous_totals() {
    let d = tempdir("concurrent");
    let (a, b) = (d.join("mem-a.json"), d.join("mem-b.json"));
    let t0 = Instant::now();
    let ca = start_run(&a, 64, 1500);
    let cb = start_run(&b, 64, 1500);
    run_ok(ca);
    run_ok(cb);
    let ra = read(&a);
    let rb = read(&b);
    for r in [&ra, &rb] {
        assert!(
            r.max_total_rss_kib.unwrap() >= 64 * MIB,
            "{:?}",
            r.max_total_rss_kib
        );
    }

    let out = memwatch_output(["merge", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let m: Merged = serde_json::from_slice(&out.stdout).unwrap();
    let peak = m.max_total_rss_kib.unwrap();
    let sum_of_peaks = m.totals.get(by_name("total").unwrap());
    eprintln!(
        "merged peak {peak} KiB (sum of report peaks {sum_of_peaks:?}) in {:?}",
        t0.elapsed()
    );
    // Both held 64 MiB for 1.5 s at the same time.
    assert!(peak >= 120 * MIB, "merged peak {peak} KiB");
    assert!(peak as f64 <= sum_of_peaks.unwrap());
    // The reference: the largest sum of the two step functions at any report's point.
    let instants = [&ra, &rb].into_iter().flat_map(|r| {
        let s = r.start_time.as_microsecond();
        r.timeline.iter().map(move |p| s + p.t_ms as i64 * 1000)
    });
    let expected = instants
        .map(|t| value_at(&ra, t) + value_at(&rb, t))
        .max()
        .unwrap();
    assert_eq!(peak, expected, "the merge's peak is the simultaneous sum");
    let at_peak: u64 = m.reports.iter().map(|r| r.rss_at_job_peak_kib).sum();
    assert_eq!(at_peak, peak);
    assert_eq!(m.reports.len(), 2);
    assert_eq!(m.hosts.len(), 1);
    assert!(
        !m.max_total_rss_is_upper_bound,
        "short runs are not thinned"
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert!(m.clock.contains("synchronised"));
    let span = m.end_time.duration_since(m.start_time).as_secs_f64();
    assert!(span >= 1.5 && (span - m.duration_seconds).abs() < 1e-6);
    // The largest processes are the two workloads, from their own reports.
    let workloads: Vec<_> = m
        .processes
        .iter()
        .filter(|p| p.command.contains("__workload"))
        .collect();
    assert_eq!(workloads.len(), 2, "{:?}", m.processes);
    assert!(workloads.iter().all(|p| p.max_rss_kib.unwrap() >= 64 * MIB));
    assert_ne!(workloads[0].file, workloads[1].file);

    // Human output on stdout.
    let out = memwatch_output(["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success());
    let human = text(&out.stdout);
    print!("{human}");
    assert!(
        human.starts_with("Merged:          2 reports from 1 host"),
        "{human}"
    );
    assert!(human.contains("Job peak RSS:    "), "{human}");
    assert!(human.contains("Sum of peaks:    "), "{human}");
    assert!(human.contains("clocks are synchronised (NTP"), "{human}");

    // -o writes atomically: the human summary, or JSON for a .json name; nothing on stdout.
    let out = memwatch_output([
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        d.join("job.txt").to_str().unwrap(),
    ]);
    assert!(out.status.success() && out.stdout.is_empty());
    assert!(
        fs::read_to_string(d.join("job.txt"))
            .unwrap()
            .starts_with("Merged:")
    );
    let out = memwatch_output([
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        d.join("job.json").to_str().unwrap(),
    ]);
    assert!(out.status.success() && out.stdout.is_empty());
    let again: Merged = serde_json::from_slice(&fs::read(d.join("job.json")).unwrap()).unwrap();
    assert_eq!(again, m);
    assert_eq!(
        d.list(),
        ["job.json", "job.txt", "mem-a.json", "mem-b.json"]
    );
}

#[test]
fn runs_one_after_the_other_are_not_added_and_are_warned_about() {
    let d = tempdir("sequential");
    let (a, b) = (d.join("a.json"), d.join("b.json"));
    run_ok(start_run(&a, 32, 300));
    run_ok(start_run(&b, 32, 300));
    let out = memwatch_output(["merge", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m: Merged = serde_json::from_slice(&out.stdout).unwrap();
    let peak = m.max_total_rss_kib.unwrap();
    let total = by_name("total").unwrap();
    let largest = m
        .reports
        .iter()
        .filter_map(|r| r.figures.get(total))
        .map(|kib| kib as u64)
        .max();
    assert_eq!(Some(peak), largest, "not added: they never ran together");
    assert!(peak < 60 * MIB, "{peak}");
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("no two reports overlap")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_file() {
    let d = tempdir("bad");
    let good = d.join("good.json");
    run_ok(start_run(&good, 1, 0));
    let good_text = fs::read_to_string(&good).unwrap();
    fs::write(d.join("empty.json"), "").unwrap();
    fs::write(d.join("corrupt.json"), &good_text[..good_text.len() / 2]).unwrap();
    fs::write(
        d.join("future.json"),
        good_text.replacen(
            &format!("\"schema_version\": {}", memwatch::model::SCHEMA_VERSION),
            "\"schema_version\": 99",
            1,
        ),
    )
    .unwrap();
    fs::write(d.join("other.json"), "{\"schema_version\": 1, \"x\": 2}").unwrap();
    fs::create_dir(d.join("dir.json")).unwrap();
    let cases = [
        ("missing.json", "No such file or directory"),
        ("empty.json", "the file is empty"),
        ("corrupt.json", "not a memwatch JSON report"),
        ("future.json", "schema_version 99"),
        ("other.json", "not a memwatch JSON report"),
        ("dir.json", "cannot read report"),
    ];
    for (name, why) in cases {
        let bad = d.join(name);
        let out = memwatch_output(["merge", good.to_str().unwrap(), bad.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.starts_with(&format!("memwatch: {}: ", bad.display())),
            "{name}: {err}"
        );
        assert!(err.contains(why), "{name}: {err}");
    }
    // The same report twice would be counted twice.
    let twice = d.join("twice.json");
    fs::copy(&good, &twice).unwrap();
    let out = memwatch_output(["merge", good.to_str().unwrap(), twice.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("counted twice") && err.contains("twice.json"),
        "{err}"
    );
    // No report at all is a usage error: 125, as for every subcommand.
    let out = memwatch_output(["merge"]);
    assert_eq!(out.status.code(), Some(125));
    // An output in a missing directory: memwatch's own failure, 125, nothing left behind.
    let out = memwatch_output([
        "merge",
        good.to_str().unwrap(),
        "-o",
        d.join("no/such/dir/job.json").to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.starts_with("memwatch: cannot write merged report to "),
        "{err}"
    );
}

#[test]
fn help_states_the_clock_assumption() {
    let out = memwatch_output(["merge", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(help.contains("synchronised (NTP"), "{help}");
    assert!(help.contains("upper bound"), "{help}");
}
