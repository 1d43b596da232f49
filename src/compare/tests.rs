//! `compare`'s unit tests: verdicts, tables, medians, notes and JSON, on entries built by
//! hand.

use std::path::PathBuf;

use super::entries::{Entry, Run};
use super::*;
use crate::model::Exit;
use crate::model::figures::{Values, by_name};
use crate::model::quantity;

fn fig(name: &str) -> &'static Figure {
    by_name(name).unwrap()
}

fn figures(total: Option<u64>, process: Option<u64>, secs: f64, procs: u64) -> Values {
    let mut v = Values::unknown();
    v.set(fig("total"), total.map(|x| x as f64));
    v.set(fig("process"), process.map(|x| x as f64));
    v.set(fig("duration"), Some(secs));
    v.set(fig("processes"), Some(procs as f64));
    v.set(fig("samples"), Some(10.0));
    v
}

fn with_pss(mut v: Values, pss: Option<u64>) -> Values {
    v.set(fig("pss"), pss.map(|x| x as f64));
    v
}

/// A pair with `--max-increase` (and `--allow-failed`) as its only gate.
fn pair(
    entries: Vec<Entry>,
    f: &'static Figure,
    limit: Option<&Quantity>,
    allow_failed: bool,
) -> Result<Comparison, Error> {
    let gates = Gates {
        increase: limit,
        max_rss: None,
        allow_failed,
    };
    super::pair(entries, f, &gates)
}

fn human_pair(c: &Comparison) -> String {
    render::human(c)
}

fn human_scaling(c: &Comparison) -> String {
    render::human(c)
}

#[test]
fn pss_is_checked_and_shown_only_when_measured() {
    let limit = quantity::parse("10%").unwrap();
    let b = entry(
        "base",
        with_pss(figures(Some(4000), Some(1000), 1.0, 4), Some(1000)),
    );
    let n = entry(
        "new",
        with_pss(figures(Some(4000), Some(1000), 1.0, 4), Some(1200)),
    );
    let c = pair(vec![b.clone(), n], fig("pss"), Some(&limit), false).unwrap();
    let check = c.json.check.as_ref().unwrap();
    assert_eq!(check.figure, "max_total_pss_kib");
    assert_eq!(
        (check.base, check.new, check.allowed),
        (1000.0, 1200.0, 1100.0)
    );
    assert!(check.exceeded);
    assert_eq!(c.json.exit_code, 1);
    assert!(
        c.json.verdict.starts_with("FAIL: max total PSS rose from"),
        "{}",
        c.json.verdict
    );
    assert_eq!(
        c.json.changes.as_ref().unwrap().get(fig("pss")).change,
        Some(200.0)
    );
    let text = human_pair(&c);
    assert!(text.contains("Max total PSS"), "{text}");
    assert!(!text.contains("footprint"), "{text}");

    // Without PSS on one side: no figure to check, and the message says why.
    let old = entry("old", figures(Some(4000), Some(1000), 1.0, 4));
    let Err(Error::Input { message, .. }) = pair(
        vec![old.clone(), b.clone()],
        fig("pss"),
        Some(&limit),
        false,
    ) else {
        panic!("a report without PSS was checked");
    };
    assert!(message.contains("max total PSS is unknown"), "{message}");
    assert!(message.contains("--metric pss"), "{message}");
    // RSS-only reports: no PSS row at all.
    let c = pair(vec![old.clone(), old], fig("total"), None, false).unwrap();
    assert!(!human_pair(&c).contains("PSS"));
}

#[test]
fn a_partial_pss_is_noted_as_a_lower_bound() {
    let b = entry(
        "base",
        with_pss(figures(Some(4000), Some(1000), 1.0, 4), Some(1000)),
    );
    let mut n = entry(
        "new",
        with_pss(figures(Some(4000), Some(1000), 1.0, 4), Some(900)),
    );
    n.partial_metric = vec![(PathBuf::from("new.json"), 2)];
    let c = pair(
        vec![b, n],
        fig("pss"),
        Some(&quantity::parse("10%").unwrap()),
        false,
    )
    .unwrap();
    assert_eq!(
        c.json.notes,
        [
            "note: new.json: the PSS of 2 processes could not be read (another user's, or \
          setuid), so its max total PSS is a lower bound"
        ]
    );
    assert!(human_pair(&c).contains("is a lower bound"));
}

#[test]
fn scaling_shows_pss_ratios_when_measured() {
    let e = |l: &str, rss: u64, pss: u64| {
        entry(
            l,
            with_pss(figures(Some(rss), Some(rss / 4), 1.0, 4), Some(pss)),
        )
    };
    let c = scaling(vec![
        e("1", 1000, 500),
        e("2", 2000, 800),
        e("4", 4000, 1000),
    ]);
    assert_eq!(
        c.json.entries[2]
            .ratio_to_first
            .as_ref()
            .unwrap()
            .get(fig("pss")),
        Some(2.0)
    );
    assert_eq!(c.json.entries[1].figures.get(fig("pss")), Some(800.0));
    assert!(
        c.json.verdict.contains("max total PSS"),
        "{}",
        c.json.verdict
    );
    let text = human_scaling(&c);
    let header = text.lines().next().unwrap();
    assert!(header.contains("Max total PSS"), "{text}");
    // The report path stays the last, left-aligned column.
    assert!(text.lines().nth(1).unwrap().ends_with("1.json"), "{text}");
}

fn entry(label: &str, values: Values) -> Entry {
    let path = PathBuf::from(format!("{label}.json"));
    Entry {
        label: label.to_string(),
        paths: vec![path.clone()],
        command: vec!["app".to_string()],
        intervals: vec![500],
        values,
        partial_metric: Vec::new(),
        lower_bounds: Vec::new(),
        runs: vec![Run {
            path,
            command: vec!["app".to_string()],
            hostname: "ci-1".to_string(),
            os: "linux".to_string(),
            memwatch_version: "0.1.0".to_string(),
            exit: Some(Exit::Code(0)),
            interrupted: false,
            attached: false,
        }],
    }
}

fn ended(exit: Option<Exit>, interrupted: bool) -> Entry {
    let mut e = entry("new", figures(Some(1024), None, 1.0, 1));
    e.runs[0].exit = exit;
    e.runs[0].interrupted = interrupted;
    e
}

#[test]
fn failed_runs_say_how_they_ended() {
    let how = |exit, interrupted| {
        let r = &ended(exit, interrupted).runs[0];
        (r.failure(), r.failure_short())
    };
    assert_eq!(how(Some(Exit::Code(0)), false), (None, None));
    let s = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
    assert_eq!(
        how(Some(Exit::Code(3)), false),
        s("the command exited with status 3", "exited with status 3")
    );
    assert_eq!(
        how(Some(Exit::Signal(9)), false),
        s(
            "the command was killed by signal 9 (SIGKILL)",
            "killed by signal 9 (SIGKILL)"
        )
    );
    assert_eq!(
        how(Some(Exit::Signal(40)), false),
        s("the command was killed by signal 40", "killed by signal 40")
    );
    assert_eq!(
        how(Some(Exit::Code(0)), true),
        s(
            "memwatch was interrupted by a signal, and the command exited with status 0",
            "interrupted, exited with status 0"
        )
    );
    assert_eq!(
        how(None, true),
        s(
            "memwatch was interrupted by a signal before the command ended",
            "interrupted"
        )
    );
    assert_eq!(
        how(None, false),
        s(
            "the report does not say how the command ended",
            "end unknown"
        )
    );
}

#[test]
fn an_attached_run_stopped_by_a_signal_has_not_failed() {
    let mut e = ended(None, true);
    e.runs[0].attached = true;
    assert_eq!(e.runs[0].failure(), None);
    assert!(failures(&[e]).is_empty());
}

#[test]
fn a_failed_run_fails_the_gate_unless_allowed() {
    let b = entry("base", figures(Some(1024), None, 1.0, 1));
    let n = ended(Some(Exit::Code(3)), false);
    let gate = |allow| {
        pair(
            vec![b.clone(), n.clone()],
            fig("total"),
            Some(&limit("10%")),
            allow,
        )
        .unwrap()
    };
    let c = gate(false);
    assert_eq!(c.json.exit_code, 1);
    let check = c.json.check.as_ref().unwrap();
    assert!(check.failed_runs && !check.exceeded);
    assert_eq!(
        c.json.verdict,
        "FAIL: 1 report is of a failed run: new.json (new: exited with status 3); a \
         comparison with a failed run proves nothing (--allow-failed compares it anyway)"
    );
    let c = gate(true);
    assert_eq!(c.json.exit_code, 0);
    assert!(!c.json.check.as_ref().unwrap().failed_runs);
    assert_eq!(c.json.failures.len(), 1);
    // No limit, no gate: noted, exit 0.
    let c = pair(vec![b.clone(), n.clone()], fig("total"), None, false).unwrap();
    assert_eq!(c.json.exit_code, 0);
    assert_eq!(
        c.json.notes,
        ["note: new.json (new) is of a failed run: the command exited with status 3"]
    );
}

#[test]
fn a_scaling_table_notes_hosts_but_not_commands() {
    let mut es: Vec<Entry> = ["1", "2", "4"]
        .iter()
        .map(|n| entry(n, figures(Some(1024), None, 1.0, 1)))
        .collect();
    for (i, e) in es.iter_mut().enumerate() {
        e.runs[0].command = vec!["app".into(), "-n".into(), e.label.clone()];
        e.runs[0].hostname = format!("node{}", i.min(1));
    }
    let c = scaling(es);
    assert_eq!(c.json.differs, ["hostname"]);
    assert_eq!(
        c.json.notes,
        ["note: the reports were made on different hosts (1.json: node0; 2.json, 4.json: node1)"]
    );
}

fn limit(s: &str) -> Quantity {
    quantity::parse(s).unwrap()
}

#[test]
fn medians() {
    let m = Values::median(&[
        figures(Some(100), None, 1.0, 3),
        figures(Some(300), Some(50), 3.0, 5),
        figures(None, Some(70), 2.0, 4),
    ]);
    assert_eq!(m.get(fig("total")), Some(200.0)); // the unknown is left out
    assert_eq!(m.get(fig("process")), Some(60.0));
    assert_eq!(m.get(fig("duration")), Some(2.0));
    assert_eq!(m.get(fig("processes")), Some(4.0));
    assert_eq!(
        Values::median(&[figures(None, None, 1.0, 1)]).get(fig("total")),
        None
    );
    // The mean of the two middle ones, rounded half up for whole units.
    let m = Values::median(&[
        figures(Some(1), None, 1.0, 1),
        figures(Some(2), None, 2.0, 2),
    ]);
    assert_eq!(m.get(fig("total")), Some(2.0));
    assert_eq!(m.get(fig("duration")), Some(1.5));
}

fn check(metric: &str, l: &str, b: Values, n: Values) -> Comparison {
    pair(
        vec![entry("base", b.clone()), entry("new", n.clone())],
        fig(metric),
        Some(&limit(l)),
        false,
    )
    .unwrap()
}

#[test]
fn verdicts() {
    let gib = 1024 * 1024;
    let b = figures(Some(gib), Some(gib / 2), 10.0, 4);
    let doubled = figures(Some(2 * gib), Some(gib / 2), 10.0, 4);
    let c = check("total", "20%", b.clone(), doubled.clone());
    assert_eq!(c.json.exit_code, 1);
    assert_eq!(
        c.json.verdict,
        "FAIL: max total RSS rose from 1.0 GiB to 2.0 GiB (+1.0 GiB, +100.0%), \
         over the limit of +20% (at most 1.2 GiB allowed)"
    );
    let c = check("total", "20%", b.clone(), b.clone());
    assert_eq!(c.json.exit_code, 0);
    assert_eq!(
        c.json.verdict,
        "OK: max total RSS unchanged at 1.0 GiB, within the limit of +20%"
    );
    let c = check("process", "256MiB", doubled.clone(), b.clone());
    assert_eq!(c.json.exit_code, 0);
    assert_eq!(
        c.json.verdict,
        "OK: max per-process RSS unchanged at 512.0 MiB, within the limit of +256.0 MiB"
    );
    let c = check("total", "1GiB", b.clone(), doubled.clone()); // exactly at the limit: fine
    assert_eq!(c.json.exit_code, 0);
    let c = check(
        "duration",
        "30s",
        b.clone(),
        figures(Some(gib), None, 50.0, 4),
    );
    assert_eq!(c.json.exit_code, 1);
    assert!(
        c.json.verdict.starts_with(
            "FAIL: duration rose from 10.0 s to 50.0 s (+40.0 s, +400.0%), over the limit of +30.0 s"
        ),
        "{}",
        c.json.verdict
    );
    let c = check(
        "processes",
        "2",
        b.clone(),
        figures(Some(gib), None, 9.0, 5),
    );
    assert_eq!(c.json.exit_code, 0);
    assert!(
        c.json
            .verdict
            .starts_with("OK: process count rose from 4 to 5 (+1, +25.0%)")
    );
    let c = check("total", "5%", doubled.clone(), b.clone());
    assert!(c.json.verdict.starts_with("OK: max total RSS fell"));
    // Base 0: any increase exceeds a percentage.
    let zero = figures(Some(0), None, 1.0, 1);
    let c = check(
        "total",
        "50%",
        zero.clone(),
        figures(Some(10), None, 1.0, 1),
    );
    assert_eq!(c.json.exit_code, 1);
    assert!(c.json.verdict.contains("n/a"), "{}", c.json.verdict);
}

#[test]
fn neutral_verdict_without_limit() {
    let b = figures(Some(1024), None, 1.0, 1);
    let n = figures(Some(2048), None, 1.0, 1);
    let c = pair(
        vec![entry("base", b.clone()), entry("new", n.clone())],
        fig("total"),
        None,
        false,
    )
    .unwrap();
    assert_eq!(c.json.exit_code, 0);
    assert_eq!(
        c.json.verdict,
        "max total RSS rose from 1.0 MiB to 2.0 MiB (+1.0 MiB, +100.0%); no limit checked (--max-increase)"
    );
    assert!(c.json.check.is_none());
    let u = figures(None, None, 1.0, 1);
    let c = pair(
        vec![entry("base", u.clone()), entry("new", n.clone())],
        fig("total"),
        None,
        false,
    )
    .unwrap();
    assert_eq!(
        c.json.verdict,
        "max total RSS went from unknown to 2.0 MiB; no limit checked (--max-increase)"
    );
    let text = human_pair(&c);
    assert!(text.contains("unknown"), "{text}");
}

#[test]
fn unknown_figure_with_a_limit_is_an_input_error_naming_the_file() {
    let b = figures(None, None, 1.0, 1);
    let n = figures(Some(2048), None, 1.0, 1);
    let e = pair(
        vec![entry("base", b.clone()), entry("new", n.clone())],
        fig("total"),
        Some(&limit("20%")),
        false,
    )
    .unwrap_err();
    assert_eq!(e.status(), Status::BadInput);
    assert!(
        e.to_string()
            .starts_with("base.json: max total RSS is unknown")
    );
}

#[test]
fn pair_table() {
    let b = figures(Some(1024 * 1024), Some(512 * 1024), 10.0, 4);
    let n = figures(Some(2 * 1024 * 1024), Some(512 * 1024), 12.5, 6);
    let c = pair(
        vec![entry("base", b.clone()), entry("new", n.clone())],
        fig("total"),
        None,
        false,
    )
    .unwrap();
    let text = human_pair(&c);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "base: base.json (app)");
    assert_eq!(lines[1], "new:  new.json (app)");
    assert!(lines[3].contains("base") && lines[3].contains("new"));
    assert!(lines[3].contains("change"));
    let total = lines[4];
    assert!(total.starts_with("Max total RSS"));
    assert!(total.contains("1.0 GiB") && total.contains("2.0 GiB"));
    assert!(total.contains("+1.0 GiB") && total.ends_with("+100.0%"));
    assert!(lines[5].contains(" 0.0 KiB ") && lines[5].ends_with(" 0.0%"));
    assert!(lines[6].contains("+2.5 s") && lines[6].ends_with("+25.0%"));
    assert!(lines[7].contains("+2") && lines[7].ends_with("+50.0%"));
    assert!(lines[8].starts_with("Samples"));
    assert_eq!(lines.last().unwrap(), &c.json.verdict);
}

#[test]
fn scaling_table_and_ratios() {
    let mib = 1024;
    let es: Vec<Entry> = [1u64, 2, 4]
        .iter()
        .map(|&n| {
            entry(
                &format!("-n {n}"),
                figures(Some(n * 64 * mib), Some(64 * mib), n as f64, n + 1),
            )
        })
        .collect();
    let c = scaling(es);
    assert_eq!(c.json.kind, Kind::Scaling);
    let r = c.json.entries[2].ratio_to_first.as_ref().unwrap();
    assert_eq!(r.get(fig("total")), Some(4.0));
    assert_eq!(r.get(fig("process")), Some(1.0));
    assert_eq!(
        c.json.verdict,
        "from -n 1 to -n 4: max total RSS 4.00x (64.0 MiB to 256.0 MiB), max per-process RSS 1.00x, duration 4.00x"
    );
    let text = human_scaling(&c);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("Max total RSS") && lines[0].contains("ratio"));
    assert!(lines[1].starts_with("-n 1") && lines[1].contains("1.00x"));
    assert!(lines[3].starts_with("-n 4") && lines[3].contains("256.0 MiB"));
    assert!(lines[3].contains("4.00x") && lines[3].ends_with("-n 4.json"));
}

#[test]
fn interval_note_when_intervals_differ() {
    let mut a = entry("a", figures(Some(1), None, 1.0, 1));
    let b = entry("b", figures(Some(1), None, 1.0, 1));
    let (n, _) = notes(&[a.clone(), b.clone()], true);
    assert!(n.is_empty(), "{n:?}");
    a.intervals = vec![10];
    let (n, differs) = notes(&[a, b], true);
    assert!(
        n[0].contains("different intervals (10 ms, 500 ms)"),
        "{n:?}"
    );
    assert_eq!(differs, ["interval_ms"]);
}

#[test]
fn a_warning_when_achieved_intervals_are_far_apart() {
    let f = by_name("interval").unwrap();
    let mut a = entry("a", figures(Some(1), None, 1.0, 1));
    let mut b = entry("b", figures(Some(1), None, 1.0, 1));
    a.values.set(f, Some(10.2));
    b.values.set(f, Some(14.0));
    let (n, differs) = notes(&[a.clone(), b.clone()], true);
    assert!(n.is_empty() && differs.is_empty(), "{n:?}");
    b.values.set(f, Some(25.0));
    let (n, differs) = notes(&[a.clone(), b], true);
    assert_eq!(
        n,
        [
            "warning: the reports were sampled at very different achieved intervals (a: 10 ms; \
          b: 25 ms): their peaks are not comparable, since the one sampled less often can \
          miss more of a short peak (see interval_achieved_mean_ms)"
        ]
    );
    assert_eq!(differs, ["interval_achieved_mean_ms"]);
    // A report of an earlier memwatch does not know it: nothing to say.
    let c = entry("c", figures(Some(1), None, 1.0, 1));
    assert!(notes(&[a, c], true).0.is_empty());
}

#[test]
fn json_shape() {
    let b = figures(Some(1024), Some(512), 1.0, 2);
    let n = figures(Some(4096), Some(512), 1.5, 2);
    let c = check("total", "20%", b.clone(), n.clone());
    let v = serde_json::to_value(&c.json).unwrap();
    assert_eq!(v["compare_version"], 1);
    assert_eq!(v["kind"], "pair");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["entries"][0]["label"], "base");
    assert_eq!(v["entries"][1]["max_total_rss_kib"], 4096);
    assert_eq!(v["changes"]["max_total_rss_kib"]["change"], 3072);
    assert_eq!(v["changes"]["max_total_rss_kib"]["percent"], 300.0);
    assert_eq!(v["changes"]["duration_seconds"]["change"], 0.5);
    assert_eq!(v["check"]["metric"], "total");
    assert_eq!(v["check"]["figure"], "max_total_rss_kib");
    assert_eq!(v["check"]["limit"], "20%");
    assert_eq!(v["check"]["limit_percent"], 20.0);
    assert_eq!(v["check"]["allowed"], 1228.8);
    assert_eq!(v["check"]["exceeded"], true);
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("FAIL: max total RSS")
    );
}

fn with_usage(mut v: Values, user: f64, minor: u64) -> Values {
    v.set(fig("cpu-user"), Some(user));
    v.set(fig("cpu-system"), Some(user / 10.0));
    v.set(fig("faults-minor"), Some(minor as f64));
    v
}

#[test]
fn cpu_times_and_counts_are_compared_but_gated_only_when_asked() {
    let b = entry(
        "base",
        with_usage(figures(Some(1000), None, 1.0, 2), 2.0, 100),
    );
    let n = entry(
        "new",
        with_usage(figures(Some(1000), None, 1.0, 2), 4.0, 900),
    );
    // The default gate is on memory: doubled CPU passes it, and shows in the table.
    let limit = quantity::parse("10%").unwrap();
    let c = pair(
        vec![b.clone(), n.clone()],
        fig("total"),
        Some(&limit),
        false,
    )
    .unwrap();
    assert_eq!(c.json.exit_code, 0);
    let text = human_pair(&c);
    for row in ["CPU user", "CPU system", "Minor faults"] {
        assert!(text.contains(row), "{row}: {text}");
    }
    assert!(
        !text.contains("Major faults"),
        "measured by neither: {text}"
    );
    // Asked for, CPU time is a gate like any figure.
    let c = pair(
        vec![b.clone(), n.clone()],
        fig("cpu-user"),
        Some(&limit),
        false,
    )
    .unwrap();
    assert_eq!(c.json.exit_code, 1);
    assert_eq!(
        c.json.verdict,
        "FAIL: user CPU time rose from 2.0 s to 4.0 s (+2.0 s, +100.0%), over the limit of \
         +10% (at most 2.2 s allowed)"
    );
    let v = serde_json::to_value(&c.json).unwrap();
    assert_eq!(v["entries"][1]["cpu_user_seconds"], 4.0);
    assert_eq!(v["entries"][1]["page_faults_minor"], 900);
    assert_eq!(v["changes"]["page_faults_minor"]["change"], 800);
    // A scaling table keeps CPU time and leaves the counts to pairs and JSON.
    let c = scaling(vec![b.clone(), n.clone(), n]);
    let header = human_scaling(&c).lines().next().unwrap().to_string();
    assert!(
        header.contains("CPU user") && header.contains("CPU system"),
        "{header}"
    );
    assert!(!header.contains("faults"), "{header}");
    assert!(
        c.json.verdict.ends_with(", user CPU time 2.00x"),
        "{}",
        c.json.verdict
    );
}

/// `--max-rss <mib>MiB`, or KiB.
fn max_rss(s: &str) -> MaxRss {
    let (n, kib) = match s.strip_suffix("MiB") {
        Some(n) => (n, 1024),
        None => (s.strip_suffix("KiB").unwrap(), 1),
    };
    MaxRss {
        text: s.to_string(),
        kib: n.parse::<u64>().unwrap() * kib,
    }
}

#[test]
fn one_report_is_checked_against_max_rss() {
    let mib = 1024;
    let one = |total: u64| vec![entry("report", figures(Some(total * mib), None, 1.0, 1))];
    let c = single(one(300), fig("total"), &max_rss("256MiB"), false).unwrap();
    assert_eq!(c.json.kind, Kind::Single);
    assert_eq!(c.json.exit_code, 1);
    assert_eq!(
        c.json.verdict,
        "FAIL: max total RSS 300.0 MiB is over the limit of 256.0 MiB (--max-rss 256MiB)"
    );
    let check = c.json.max_rss_check.as_ref().unwrap();
    assert_eq!(
        (check.value_kib, check.limit_kib),
        (Some(300 * mib), 256 * mib)
    );
    assert_eq!((check.exceeded, check.passed), (Some(true), false));
    let text = human_pair(&c);
    assert!(
        text.starts_with("report: report.json (app)\n\nMax total RSS"),
        "{text}"
    );
    assert!(text.ends_with(&format!("\n{}\n", c.json.verdict)), "{text}");
    // Exactly at the limit passes.
    let c = single(one(256), fig("total"), &max_rss("256MiB"), false).unwrap();
    assert_eq!(c.json.exit_code, 0);
    assert!(
        c.json
            .verdict
            .starts_with("OK: max total RSS 256.0 MiB is within")
    );
    let v = serde_json::to_value(&c.json).unwrap();
    assert_eq!(v["kind"], "single");
    assert_eq!(v["max_rss_check"]["passed"], true);
    assert!(v["check"].is_null() && v["changes"].is_null());
}

#[test]
fn a_lower_bound_within_max_rss_does_not_pass() {
    let mut e = entry("report", figures(Some(100), None, 1.0, 1));
    e.lower_bounds = vec!["max_total_rss_kib"];
    let c = single(vec![e.clone()], fig("total"), &max_rss("1MiB"), false).unwrap();
    assert_eq!(c.json.exit_code, 1);
    assert!(
        c.json.verdict.starts_with(
            "FAIL: cannot confirm --max-rss 1MiB: max total RSS is at least 100.0 KiB"
        ),
        "{}",
        c.json.verdict
    );
    let check = c.json.max_rss_check.unwrap();
    assert_eq!((check.exceeded, check.value_is_lower_bound), (None, true));
    // Over the limit, a lower bound is over it all the same.
    let c = single(vec![e], fig("total"), &max_rss("50KiB"), false).unwrap();
    assert!(
        c.json
            .verdict
            .starts_with("FAIL: max total RSS, at least 100.0 KiB")
    );
}

#[test]
fn an_unknown_figure_or_a_failed_run_fails_max_rss() {
    // A report without PSS, checked on PSS: an input error naming the file (exit 2).
    let e = entry("report", figures(Some(100), None, 1.0, 1));
    let Err(err) = single(vec![e], fig("pss"), &max_rss("1MiB"), false) else {
        panic!("an unknown figure was checked");
    };
    assert_eq!(err.status(), crate::error::Status::BadInput);
    assert!(
        err.to_string()
            .starts_with("report.json: max total PSS is unknown"),
        "{err}"
    );
    assert!(err.to_string().ends_with("cannot check --max-rss"), "{err}");
    // A failed run fails the gate, whatever its figure, unless --allow-failed.
    let mut e = ended(Some(Exit::Code(3)), false);
    e.label = "report".into();
    let c = single(vec![e.clone()], fig("total"), &max_rss("1024MiB"), false).unwrap();
    assert_eq!(c.json.exit_code, 1);
    assert!(
        c.json
            .verdict
            .starts_with("FAIL: 1 report is of a failed run"),
        "{}",
        c.json.verdict
    );
    let c = single(vec![e], fig("total"), &max_rss("1024MiB"), true).unwrap();
    assert_eq!(c.json.exit_code, 0);
    assert!(
        c.json.verdict.ends_with("checked anyway: --allow-failed)"),
        "{}",
        c.json.verdict
    );
}

#[test]
fn max_rss_checks_the_new_side_of_a_pair() {
    let mib = 1024;
    let b = entry("base", figures(Some(100 * mib), None, 1.0, 1));
    let n = entry("new", figures(Some(300 * mib), None, 1.0, 1));
    let limit = max_rss("256MiB");
    let gates = Gates {
        max_rss: Some(&limit),
        ..Gates::default()
    };
    let c = super::pair(vec![b.clone(), n], fig("total"), &gates).unwrap();
    assert_eq!(c.json.exit_code, 1);
    assert!(
        c.json.verdict.starts_with("max total RSS rose"),
        "{}",
        c.json.verdict
    );
    let text = human_pair(&c);
    assert!(
        text.ends_with(
            "FAIL: max total RSS 300.0 MiB is over the limit of 256.0 MiB (--max-rss 256MiB)\n"
        ),
        "{text}"
    );
    let c = super::pair(vec![b.clone(), b], fig("total"), &gates).unwrap();
    assert_eq!(c.json.exit_code, 0);
}

#[test]
fn the_cgroup_peak_is_gated_and_the_share_of_the_limit_only_shown() {
    let mut b = figures(Some(4000), Some(1000), 1.0, 4);
    let mut n = figures(Some(4000), Some(1000), 1.0, 4);
    b.set(fig("cgroup"), Some(5000.0));
    n.set(fig("cgroup"), Some(6000.0));
    b.set(fig("limit"), Some(40.0));
    n.set(fig("limit"), Some(48.5));
    let limit = quantity::parse("10%").unwrap();
    let c = pair(
        vec![entry("base", b.clone()), entry("new", n.clone())],
        fig("cgroup"),
        Some(&limit),
        false,
    )
    .unwrap();
    assert!(c.json.check.as_ref().unwrap().exceeded);
    assert!(
        c.json.verdict.starts_with("FAIL: cgroup peak rose from"),
        "{}",
        c.json.verdict
    );
    let text = human_pair(&c);
    assert!(text.contains("Cgroup peak"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("Peak % of limit")
            && l.contains("40.0%")
            && l.contains("+8.5 pp")),
        "{text}"
    );
    assert!(
        !fig("limit").gate(),
        "a share of a limit that may differ is never gated"
    );
    // Reports without them (earlier versions) show neither row.
    let plain = pair(
        vec![
            entry("base", figures(Some(1), Some(1), 1.0, 1)),
            entry("new", figures(Some(1), Some(1), 1.0, 1)),
        ],
        fig("total"),
        None,
        false,
    )
    .unwrap();
    let text = human_pair(&plain);
    assert!(
        !text.contains("Cgroup peak") && !text.contains("of limit"),
        "{text}"
    );
}
