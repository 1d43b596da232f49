//! `merge`'s unit tests: alignment, peaks, totals and warnings on reports built by hand.

use super::*;
use crate::model::SCHEMA_VERSION;
use crate::model::figures::by_name;
use crate::model::timeline::Point;

/// A merge's total of the figure named `name`, as whole KiB or a count.
fn total(m: &Merged, name: &str) -> Option<u64> {
    m.totals.get(by_name(name).unwrap()).map(|v| v as u64)
}

/// A merged report's figure named `name`.
fn fig(r: &MergedReport, name: &str) -> Option<u64> {
    r.figures.get(by_name(name).unwrap()).map(|v| v as u64)
}

const MIB: u64 = 1024;
/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000_000;

/// A report started `start_ms` after T0 on `host`, lasting `end_ms`, with these
/// (t_ms, KiB) points and one process holding the peak.
fn report(host: &str, rank: u32, start_ms: i64, end_ms: u64, points: &[(u64, u64)]) -> Report {
    let start = Timestamp::from_microsecond(T0 + start_ms * 1000).unwrap();
    let at = |ms: u64| start + jiff::SignedDuration::from_millis(ms as i64);
    let peak = points
        .iter()
        .copied()
        .max_by_key(|p| (p.1, std::cmp::Reverse(p.0)));
    let timeline: Vec<Point> = points
        .iter()
        .map(|&(t_ms, total_rss_kib)| Point {
            t_ms,
            total_rss_kib,
            processes: 1,
        })
        .collect();
    // Built from JSON so that fields added to the report (with serde defaults) need
    // no change here.
    let v = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "memwatch_version": "test",
        "hostname": host,
        "launcher": { "OMPI_COMM_WORLD_RANK": rank.to_string() },
        "os": "linux",
        "command": ["./app"],
        "start_time": start,
        "end_time": at(end_ms),
        "duration_seconds": end_ms as f64 / 1000.0,
        "interval_ms": 100,
        "samples": points.len(),
        "max_total_rss_kib": peak.map(|p| p.1),
        "max_total_rss_sample_index": null,
        "max_total_rss_ms": peak.map(|p| p.0),
        "processes_at_peak": 1,
        "max_processes": 1,
        "max_process_rss_kib": peak.map(|p| p.1),
        "max_process_pid": 100 + rank,
        "processes_total": 1,
        "processes_omitted": 0,
        "processes_unreadable": 0,
        "exit_code": 0,
        "signal": null,
        "interrupted": false,
        "left_running": [],
        "warnings": [],
        "processes": [{
            "pid": 100 + rank,
            "ppid": 1,
            "command": format!("./app on {host}"),
            "max_rss_kib": peak.map(|p| p.1),
            "kernel_max_rss_kib": null,
            "start_time": start,
            "first_seen": start,
            "last_seen": at(end_ms),
            "first_seen_ms": 0,
            "last_seen_ms": end_ms,
            "samples": points.len(),
            "root": true,
        }],
        "timeline": timeline,
    });
    serde_json::from_value(v).unwrap()
}

fn named(rs: Vec<Report>) -> Vec<(String, Report)> {
    rs.into_iter()
        .enumerate()
        .map(|(i, r)| (format!("mem-{i}.json"), r))
        .collect()
}

fn ms_after_t0(t: Timestamp) -> i64 {
    (t.as_microsecond() - T0) / 1000
}

#[test]
fn peaks_at_different_times_are_not_added() {
    // a peaks at 100 MiB 1 s in; b, started 3 s later, peaks at 80 MiB. Both hold 10
    // MiB otherwise and overlap in time, but never at their peaks.
    let a = report(
        "a",
        0,
        0,
        5_000,
        &[(0, 10 * MIB), (1_000, 100 * MIB), (1_500, 10 * MIB)],
    );
    let b = report(
        "b",
        1,
        500,
        5_000,
        &[(0, 10 * MIB), (1_000, 80 * MIB), (2_000, 10 * MIB)],
    );
    let m = merge(&named(vec![a, b]), 10);
    // At 1.0 s: a 100 + b 10; at 1.5 s (b's peak): a 10 + b 80.
    assert_eq!(m.max_total_rss_kib, Some(110 * MIB));
    assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 1_000);
    assert_eq!(m.max_total_rss_ms, Some(1_000));
    assert_eq!(total(&m, "total"), Some(180 * MIB));
    assert_eq!(m.reports[0].rss_at_job_peak_kib, 100 * MIB);
    assert_eq!(m.reports[1].rss_at_job_peak_kib, 10 * MIB);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(m.duration_seconds, 5.5);
    // b starting 3 s later: at a's peak it has not started, and counts 0.
    let a = report(
        "a",
        0,
        0,
        5_000,
        &[(0, 10 * MIB), (1_000, 100 * MIB), (1_500, 10 * MIB)],
    );
    let b = report(
        "b",
        1,
        3_000,
        5_000,
        &[(0, 10 * MIB), (1_000, 80 * MIB), (2_000, 10 * MIB)],
    );
    let m = merge(&named(vec![a, b]), 10);
    assert_eq!(m.max_total_rss_kib, Some(100 * MIB));
    assert_eq!(m.reports[1].rss_at_job_peak_kib, 0);
}

#[test]
fn overlapping_peaks_are_added() {
    // b starts 700 ms after a; a's peak (1.0 s to 2.0 s) and b's (300 ms to 1.5 s after
    // its start, i.e. 1.0 s to 2.2 s) overlap from 1.0 s to 2.0 s.
    let a = report(
        "a",
        0,
        0,
        3_000,
        &[(0, MIB), (1_000, 100 * MIB), (2_000, MIB)],
    );
    let b = report(
        "b",
        1,
        700,
        3_000,
        &[(0, MIB), (300, 80 * MIB), (1_500, MIB)],
    );
    let m = merge(&named(vec![a, b]), 10);
    assert_eq!(m.max_total_rss_kib, Some(180 * MIB));
    assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 1_000);
    let at_peak: u64 = m.reports.iter().map(|r| r.rss_at_job_peak_kib).sum();
    assert_eq!(
        at_peak,
        180 * MIB,
        "the per-report values add up to the job peak"
    );
}

#[test]
fn values_hold_until_the_next_point_and_stop_at_the_end() {
    // a: 50 MiB from 0 until its next point at 2 s. b: one point, 30 MiB at 1.5 s
    // (start 1 s + 500 ms), held until b ends at 1.8 s.
    let a = report("a", 0, 0, 4_000, &[(0, 50 * MIB), (2_000, 5 * MIB)]);
    let b = report("b", 1, 1_000, 800, &[(500, 30 * MIB)]);
    let m = merge(&named(vec![a.clone(), b.clone()]), 10);
    assert_eq!(
        m.max_total_rss_kib,
        Some(80 * MIB),
        "a's 50 MiB still holds at 1.5 s"
    );
    assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 1_500);
    // After b's end (1.8 s) only a counts: the curve drops back to 50 MiB, then 5 MiB.
    let tl: Vec<(u64, u64)> = m
        .timeline
        .iter()
        .map(|p| (p.t_ms, p.total_rss_kib))
        .collect();
    assert_eq!(
        tl,
        [
            (0, 50 * MIB),
            (1_500, 80 * MIB),
            (1_800, 50 * MIB),
            (2_000, 5 * MIB),
            (4_000, 0)
        ]
    );
    // b's point comes 100 ms after a has dropped: not added.
    let b_late = report("b", 1, 1_600, 800, &[(500, 30 * MIB)]);
    let m = merge(&named(vec![a, b_late]), 10);
    assert_eq!(m.max_total_rss_kib, Some(50 * MIB));
    assert_eq!(ms_after_t0(m.max_total_rss_time.unwrap()), 0);
}

#[test]
fn a_node_ending_as_another_starts_does_not_overlap_it() {
    let a = report("a", 0, 0, 1_000, &[(0, 40 * MIB)]);
    let b = report("b", 1, 1_000, 1_000, &[(0, 30 * MIB)]);
    let m = merge(&named(vec![a, b]), 10);
    assert_eq!(m.max_total_rss_kib, Some(40 * MIB));
}

#[test]
fn reports_apart_in_time_are_warned_about() {
    let a = report("a", 0, 0, 1_000, &[(0, 40 * MIB)]);
    let b = report("b", 1, 60_000, 1_000, &[(0, 30 * MIB)]);
    let m = merge(&named(vec![a.clone(), b.clone()]), 10);
    assert_eq!(m.max_total_rss_kib, Some(40 * MIB));
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].contains("no two reports overlap"),
        "{:?}",
        m.warnings
    );
    // Three reports, one of them apart: that one is named.
    let c = report("c", 2, 500, 1_000, &[(0, 30 * MIB)]);
    let m = merge(&named(vec![a, b, c]), 10);
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with("mem-1.json (b, rank 1) does not overlap"),
        "{:?}",
        m.warnings
    );
    assert_eq!(m.max_total_rss_kib, Some(70 * MIB));
}

#[test]
fn thinned_timelines_make_the_peak_an_upper_bound() {
    let mut a = report("a", 0, 0, 10_000, &[(0, MIB), (5_000, 9 * MIB)]);
    a.samples = 10_000;
    let m = merge(&named(vec![a]), 10);
    assert!(m.max_total_rss_is_upper_bound);
    assert_eq!(m.resolution_ms, 5_000);
    assert!(
        m.warnings.iter().any(|w| w.contains("upper bound")),
        "{:?}",
        m.warnings
    );
    let mut text = Vec::new();
    write_human(&m, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("an upper bound at a resolution of 5.0 s"),
        "{text}"
    );
}

#[test]
fn reports_sorted_by_rank_and_processes_by_peak_with_their_host() {
    let rs: Vec<Report> = (0..12)
        .rev()
        .map(|r| {
            report(
                &format!("n{}", r % 3),
                r,
                0,
                1_000,
                &[(0, u64::from(r + 1) * MIB)],
            )
        })
        .collect();
    let m = merge(&named(rs), 5);
    let ranks: Vec<&str> = m
        .reports
        .iter()
        .map(|r| r.rank.as_deref().unwrap())
        .collect();
    assert_eq!(
        ranks,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]
    );
    assert_eq!(m.max_total_rss_kib, Some(78 * MIB));
    assert_eq!(total(&m, "total"), m.max_total_rss_kib, "all peak together");
    assert_eq!(m.hosts, ["n0", "n1", "n2"]);
    assert_eq!(m.processes.len(), 5);
    assert_eq!(total(&m, "processes"), Some(12));
    assert_eq!(m.processes[0].max_rss_kib, Some(12 * MIB));
    assert_eq!(m.processes[0].hostname, "n2");
    assert_eq!(m.processes[0].rank.as_deref(), Some("11"));
}

#[test]
fn a_report_without_samples_counts_nothing_and_is_named() {
    let a = report("a", 0, 0, 1_000, &[(0, 40 * MIB)]);
    let b = report("b", 1, 0, 1_000, &[]);
    let m = merge(&named(vec![a, b]), 10);
    assert_eq!(m.max_total_rss_kib, Some(40 * MIB));
    // b's peak is unknown, so no sum can bound the job's.
    assert_eq!(total(&m, "total"), None);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("mem-1.json (b, rank 1) has no sample"))
    );
    // Reports whose jobs ended before any sample: their timelines hold only the 0 of
    // an ended job, and the job peak is unknown, not 0.
    let mut c = report("c", 2, 0, 1_000, &[(0, 0)]);
    c.max_total_rss_kib = None;
    let mut d = report("d", 3, 0, 1_000, &[(1, 0)]);
    d.max_total_rss_kib = None;
    let m = merge(&named(vec![c, d]), 10);
    assert_eq!((m.max_total_rss_kib, m.max_total_rss_time), (None, None));
    assert_eq!(total(&m, "total"), None);
    let m = merge(&named(vec![report("b", 1, 0, 1_000, &[])]), 10);
    assert_eq!(m.max_total_rss_kib, None);
    let mut text = Vec::new();
    write_human(&m, &mut text).unwrap();
    assert!(
        String::from_utf8(text)
            .unwrap()
            .contains("Job peak RSS:    unknown")
    );
}

#[test]
fn offsets_round_to_the_nearest_millisecond() {
    let t0 = Timestamp::from_microsecond(T0).unwrap();
    let at = |us: i64| Timestamp::from_microsecond(T0 + us).unwrap();
    assert_eq!(offset_ms(t0, at(39_999)), 40);
    assert_eq!(offset_ms(t0, at(40_499)), 40);
    assert_eq!(offset_ms(t0, at(40_500)), 41);
    assert_eq!(offset_ms(at(10), t0), 0, "never negative");
}

#[test]
fn pss_peaks_are_summed_only_when_every_report_has_one() {
    let with = |host: &str, rank: u32, pss: Option<u64>| {
        let mut r = report(host, rank, 0, 2_000, &[(0, 10 * MIB), (1_000, 50 * MIB)]);
        r.max_total_pss_kib = pss;
        r
    };
    let m = merge(
        &named(vec![
            with("a", 0, Some(20 * MIB)),
            with("b", 1, Some(30 * MIB)),
        ]),
        10,
    );
    assert_eq!(total(&m, "pss"), Some(50 * MIB));
    assert_eq!(fig(&m.reports[1], "pss"), Some(30 * MIB));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let mut text = Vec::new();
    write_human(&m, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("PSS, summed:     50.0 MiB"), "{text}");
    assert!(text.contains("upper bound"), "{text}");

    let m = merge(
        &named(vec![with("a", 0, Some(20 * MIB)), with("b", 1, None)]),
        10,
    );
    assert_eq!(total(&m, "pss"), None);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("only 1 of 2 reports have a PSS figure")),
        "{:?}",
        m.warnings
    );
    // A report whose PSS missed unreadable processes: no sum claims to bound the job.
    let mut partial = with("b", 1, Some(30 * MIB));
    partial.processes_metric_unreadable = 1;
    let m = merge(&named(vec![with("a", 0, Some(20 * MIB)), partial]), 10);
    assert_eq!(total(&m, "pss"), None);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("mem-1.json could not read the PSS")),
        "{:?}",
        m.warnings
    );
    // Without --metric anywhere: nothing said about PSS.
    let m = merge(&named(vec![with("a", 0, None), with("b", 1, None)]), 10);
    assert_eq!(total(&m, "pss"), None);
    let mut text = Vec::new();
    write_human(&m, &mut text).unwrap();
    assert!(!String::from_utf8(text).unwrap().contains("PSS"));
}

#[test]
fn human_summary_labels_the_sum_of_peaks_and_states_the_clock_assumption() {
    let a = report(
        "a",
        0,
        0,
        5_000,
        &[(0, 10 * MIB), (1_000, 100 * MIB), (1_500, 10 * MIB)],
    );
    let b = report(
        "b",
        1,
        500,
        5_000,
        &[(0, 10 * MIB), (1_000, 80 * MIB), (2_000, 10 * MIB)],
    );
    let m = merge(&named(vec![a, b]), 10);
    let mut text = Vec::new();
    write_human(&m, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("Job peak RSS:    110.0 MiB at 2025-01-01T00:00:01.000Z (+1.0 s)"),
        "{text}"
    );
    assert!(
        text.contains("Sum of peaks:    180.0 MiB (upper bound only, NOT the job peak"),
        "{text}"
    );
    assert!(text.contains("clocks are synchronised (NTP"), "{text}");
    print!("{text}");
    assert!(
        text.contains(
            "Job span:        2025-01-01T00:00:00.000Z to 2025-01-01T00:00:05.500Z (5.5 s"
        ),
        "{text}"
    );
    let mut json = Vec::new();
    write_json(&m, &mut json).unwrap();
    let back: Merged = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, m);
}

#[test]
fn extreme_figures_saturate_instead_of_panicking() {
    let mut a = report("a", 0, 0, 1_000, &[(0, u64::MAX), (u64::MAX, u64::MAX)]);
    a.duration_seconds = 1e300;
    a.processes_total = u64::MAX;
    let b = report("b", 1, 0, 1_000, &[(0, u64::MAX)]);
    let m = merge(&named(vec![a, b]), 10);
    assert_eq!(m.max_total_rss_kib, Some(u64::MAX));
    assert_eq!(total(&m, "total"), Some(u64::MAX));
    assert_eq!(total(&m, "processes"), Some(u64::MAX));
    write_human(&m, &mut Vec::new()).unwrap();
    write_json(&m, &mut Vec::new()).unwrap();
}

#[test]
fn cpu_times_and_counts_add_up_across_reports() {
    let with = |host: &str, rank: u32, user: Option<f64>, faults: Option<u64>| {
        let mut r = report(host, rank, 0, 2_000, &[(0, 10 * MIB)]);
        r.cpu_user_seconds = user;
        r.cpu_system_seconds = user.map(|u| u / 4.0);
        r.page_faults_minor = faults;
        r
    };
    let m = merge(
        &named(vec![
            with("a", 0, Some(1.5), Some(100)),
            with("b", 1, Some(2.5), Some(300)),
        ]),
        10,
    );
    let cpu = by_name("cpu-user").unwrap();
    assert_eq!(m.totals.get(cpu), Some(4.0));
    assert_eq!(total(&m, "faults-minor"), Some(400));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["cpu_user_seconds"], 4.0);
    assert_eq!(v["page_faults_minor"], 400);
    assert_eq!(v["reports"][1]["cpu_user_seconds"], 2.5);
    let mut text = Vec::new();
    write_human(&m, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("\nCPU user:        4.0 s in all reports\n"),
        "{text}"
    );
    assert!(
        text.contains("\nMinor faults:    400 in all reports\n"),
        "{text}"
    );

    // A report that does not know them (an older one): no sum, never a partial one.
    let m = merge(
        &named(vec![
            with("a", 0, Some(1.5), Some(100)),
            with("b", 1, None, None),
        ]),
        10,
    );
    assert_eq!(m.totals.get(cpu), None);
    assert_eq!(total(&m, "faults-minor"), None);
    // A report that left processes running: the sums are lower bounds, and merge says so.
    let mut partial = with("b", 1, Some(2.5), Some(300));
    partial.rusage_is_lower_bound = true;
    let m = merge(
        &named(vec![with("a", 0, Some(1.5), Some(100)), partial]),
        10,
    );
    assert_eq!(m.totals.get(cpu), Some(4.0));
    assert!(m.lower_bounds.contains(&"cpu_user_seconds".to_string()));
    // Exported as a lower bound: Snakemake's cpu_time is NA, Markdown says at least.
    let exported = crate::output::export::of_merge(&m);
    let e = exported
        .iter()
        .find(|e| e.figure.key == "cpu_user_seconds")
        .unwrap();
    assert_eq!(e.bound, crate::output::export::Bound::AtLeast);
    assert!(crate::output::export::snakemake::tsv(&exported).ends_with("\tNA\tNA\n"));
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert_eq!(
        m.warnings[0],
        "mem-1.json left out processes memwatch did not wait for (left running): the sums of \
         user CPU time, system CPU time, minor page fault count are lower bounds"
    );
}

#[test]
fn a_job_peak_leaving_processes_out_is_a_lower_bound_and_neither_once_thinned() {
    let mut unreadable = report("b", 1, 0, 2_000, &[(0, 10 * MIB), (1_000, 50 * MIB)]);
    unreadable.processes_unreadable = 1;
    unreadable.max_total_rss_is_lower_bound = true;
    let whole = report("a", 0, 0, 2_000, &[(0, 10 * MIB), (1_000, 20 * MIB)]);
    let mut m = merge(&named(vec![whole, unreadable]), 10);
    assert!(
        m.lower_bounds.contains(&"max_total_rss_kib".to_string()),
        "{:?}",
        m.lower_bounds
    );
    let peak = |m: &Merged| {
        crate::output::export::of_merge(m)
            .into_iter()
            .find(|e| e.figure.key == "max_total_rss_kib")
            .map(|e| (e.value, e.bound))
            .unwrap()
    };
    use crate::output::export::Bound;
    assert_eq!(peak(&m), (Some(70.0 * MIB as f64), Bound::AtLeast));
    // Thinned as well: at most at its resolution, at least for what it leaves out.
    m.max_total_rss_is_upper_bound = true;
    assert_eq!(peak(&m), (None, Bound::Exact));
}

#[test]
fn private_peaks_are_summed_as_an_upper_bound_when_every_report_has_one() {
    let with = |host: &str, rank: u32, private: Option<u64>| {
        let mut r = report(host, rank, 0, 2_000, &[(0, 10 * MIB), (1_000, 50 * MIB)]);
        r.max_total_private_rss_kib = private;
        r
    };
    let m = merge(
        &named(vec![
            with("a", 0, Some(20 * MIB)),
            with("b", 1, Some(30 * MIB)),
        ]),
        10,
    );
    assert_eq!(total(&m, "private"), Some(50 * MIB));
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["sum_of_report_private_peaks_kib"], 50 * MIB);
    let mut text = Vec::new();
    write_human(&m, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("\nPrivate RSS, summed: 50.0 MiB (each report's private RSS peak added"),
        "{text}"
    );
    // A report from macOS (or an earlier version) has none: no sum, and no advice to run
    // with a --metric that does not exist.
    let m = merge(
        &named(vec![with("a", 0, Some(20 * MIB)), with("b", 1, None)]),
        10,
    );
    assert_eq!(total(&m, "private"), None);
    assert_eq!(
        m.warnings,
        ["only 1 of 2 reports have a private RSS figure: no private RSS sum is given"]
    );
}

#[test]
fn limits_are_listed_per_report_never_added() {
    use crate::model::limit::{LimitSource, MemoryLimit};
    let mut a = report("node-a", 0, 0, 1000, &[(0, 60 * MIB), (500, 80 * MIB)]);
    let mut b = report("node-b", 1, 0, 1000, &[(0, 10 * MIB), (500, 20 * MIB)]);
    let old = report("node-c", 2, 0, 1000, &[(0, 10 * MIB)]);
    a.memory_limit = Some(MemoryLimit {
        kib: 100 * MIB,
        source: LimitSource::Slurm,
        detail: "SLURM_MEM_PER_NODE=100".into(),
    });
    a.peak_percent_of_limit = Some(80.0);
    b.memory_limit = Some(MemoryLimit {
        kib: 200 * MIB,
        source: LimitSource::Cgroup,
        detail: "/sys/fs/cgroup/job/memory.max".into(),
    });
    b.peak_percent_of_limit = Some(10.0);
    let m = merge(&named(vec![a, b, old]), 10);
    let limits: Vec<Option<u64>> = m
        .reports
        .iter()
        .map(|r| r.memory_limit.as_ref().map(|l| l.kib))
        .collect();
    assert_eq!(limits, vec![Some(100 * MIB), Some(200 * MIB), None]);
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["reports"][0]["memory_limit"]["source"], "slurm");
    assert_eq!(json["reports"][0]["peak_percent_of_limit"], 80.0);
    assert!(json["reports"][2]["memory_limit"].is_null());
    // Nothing adds limits up.
    let text = serde_json::to_string(&json).unwrap();
    assert!(!text.contains("sum_of_report_limit"), "{text}");
    let mut human = Vec::new();
    write_human(&m, &mut human).unwrap();
    let human = String::from_utf8(human).unwrap();
    assert!(human.contains("limit  of limit"), "{human}");
    assert!(
        human.contains("100.0 MiB (Slurm --mem)     80.0%"),
        "{human}"
    );
    assert!(human.contains("200.0 MiB (cgroup memory.max)"), "{human}");
}
