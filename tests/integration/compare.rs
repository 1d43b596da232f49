//! `memwatch compare` end to end: the real binary on report files written into a temporary
//! directory. The reports are a real `memwatch run --json` report with its figures edited,
//! so they follow the current schema.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::{Value, json};

use crate::util::*;

/// The figures of a synthetic report.
#[derive(Clone)]
struct Fig {
    command: Vec<&'static str>,
    total: Option<u64>,
    process: Option<u64>,
    seconds: f64,
    processes: u64,
}

fn fig(total: u64) -> Fig {
    Fig {
        command: vec!["./app", "--fast"],
        total: Some(total),
        process: Some(total / 2),
        seconds: 10.0,
        processes: 4,
    }
}

/// A real report with these figures.
fn report(f: &Fig) -> Value {
    let mut v = real_report().clone();
    v["command"] = json!(f.command);
    v["max_total_rss_kib"] = json!(f.total);
    v["max_process_rss_kib"] = json!(f.process);
    v["duration_seconds"] = json!(f.seconds);
    v["processes_total"] = json!(f.processes);
    v["samples"] = json!(20);
    v["interval_ms"] = json!(500);
    v["processes"][0]["max_rss_kib"] = json!(f.process);
    v
}

fn compare(args: &[&dyn AsRef<OsStr>]) -> Output {
    let mut c = memwatch(["compare"]);
    for a in args {
        c.arg(a);
    }
    output(&mut c)
}

fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// Exit 2 with exactly one `memwatch: …` line on stderr containing `needle`, nothing on
/// stdout.
fn assert_bad_input(o: &Output, needle: &str) {
    assert_one_line(o, 2, needle);
}

/// Exit `code` with exactly one `memwatch: …` line on stderr containing `needle`, nothing
/// on stdout.
#[track_caller]
fn assert_one_line(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("memwatch: "), "{err:?}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(o.stdout.is_empty(), "{}", stdout(o));
}

#[test]
fn identical_reports_exit_0() {
    let d = tempdir("identical");
    let p = write_json(&d, "a.json", real_report());
    let o = compare(&[&p, &p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Max total RSS"), "{out}");
    assert!(out.contains("no limit checked"), "{out}");
    let o = compare(&[&p, &p, &"--max-increase", &"0%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .last()
            .unwrap()
            .starts_with("OK: max total RSS unchanged at "),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_verdict_survives_a_reader_that_stops_early() {
    // `memwatch compare … | head -3` in CI must still fail the job on a regression.
    let d = tempdir("pipe");
    let base = write_json(&d, "main.json", &report(&fig(GIB)));
    let new = write_json(&d, "branch.json", &report(&fig(2 * GIB)));
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let f = finish_own_stdout(
        memwatch(["compare"])
            .args([&base, &new])
            .args(["--max-increase", "20%"])
            .stdout(Stdio::from(write)),
    );
    assert_eq!(f.code, Some(1), "{}", f.stderr);
    assert!(f.stderr.is_empty(), "{}", f.stderr);
}

#[test]
fn doubled_peak_over_20_percent_exits_1_naming_the_figure() {
    let d = tempdir("doubled");
    let base = write_json(&d, "main.json", &report(&fig(GIB)));
    let mut doubled = fig(2 * GIB);
    doubled.process = Some(GIB / 2);
    let new = write_json(&d, "branch.json", &report(&doubled));
    let o = compare(&[&base, &new, &"--max-increase", &"20%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let verdict = out.lines().last().unwrap();
    assert_eq!(
        verdict,
        "FAIL: max total RSS rose from 1.0 GiB to 2.0 GiB (+1.0 GiB, +100.0%), \
         over the limit of +20% (at most 1.2 GiB allowed)"
    );
    assert!(
        out.contains("main.json") && out.contains("branch.json"),
        "{out}"
    );
    let total = out
        .lines()
        .find(|l| l.starts_with("Max total RSS"))
        .unwrap();
    assert!(
        total.contains("+1.0 GiB") && total.ends_with("+100.0%"),
        "{total}"
    );
    // The per-process peak did not move: that metric passes.
    let o = compare(&[
        &base,
        &new,
        &"--max-increase",
        &"20%",
        &"--metric",
        &"process",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("OK: max per-process RSS unchanged at 512.0 MiB"));
    // An absolute limit.
    let o = compare(&[&base, &new, &"--max-increase", &"1.5GiB"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = compare(&[&base, &new, &"--max-increase", &"256MiB"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("over the limit of +256.0 MiB"));
    // A decrease never fails.
    let o = compare(&[&new, &base, &"--max-increase", &"0%"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("OK: max total RSS fell from 2.0 GiB to 1.0 GiB"));
}

#[test]
fn other_metrics() {
    let d = tempdir("metrics");
    let base = write_json(&d, "a.json", &report(&fig(GIB)));
    let mut slow = fig(GIB);
    slow.seconds = 45.0;
    slow.processes = 12;
    let new = write_json(&d, "b.json", &report(&slow));
    let o = compare(&[
        &base,
        &new,
        &"--metric",
        &"duration",
        &"--max-increase",
        &"30s",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL: duration rose from 10.0 s to 45.0 s"));
    let o = compare(&[
        &base,
        &new,
        &"--metric",
        &"processes",
        &"--max-increase",
        &"10",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("OK: process count rose from 4 to 12 (+8, +200.0%)"));
}

#[test]
fn three_or_more_reports_give_a_scaling_table() {
    let d = tempdir("scaling");
    let mut paths = Vec::new();
    for n in [1u64, 2, 4, 8] {
        let mut f = fig(n * 100 * MIB);
        f.command = vec![
            "./app",
            "-n",
            ["1", "2", "4", "8"][n.trailing_zeros() as usize],
            "--fast",
        ];
        f.process = Some(100 * MIB);
        f.processes = n + 1;
        paths.push(write_json(&d, &format!("n{n}.json"), &report(&f)));
    }
    let args: Vec<&dyn AsRef<OsStr>> = paths.iter().map(|p| p as _).collect();
    let o = compare(&args[..3]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("Max total RSS") && lines[0].contains("ratio"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("-n 1 ") && lines[1].contains("100.0 MiB"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("-n 2 ") && lines[2].contains("2.00x"),
        "{out}"
    );
    assert!(
        lines[3].starts_with("-n 4 ") && lines[3].contains("4.00x"),
        "{out}"
    );
    assert!(lines[3].ends_with("n4.json"), "{out}");
    assert!(
        out.contains("from -n 1 to -n 4: max total RSS 4.00x"),
        "{out}"
    );

    // --label names the rows; four reports.
    let labels = ["one", "two", "four", "eight"];
    let mut a = args.clone();
    for l in &labels {
        a.push(&"--label");
        a.push(l);
    }
    let o = compare(&a);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.lines().nth(4).unwrap().starts_with("eight ") && out.contains("8.00x"),
        "{out}"
    );
}

#[test]
fn base_and_new_sides_compare_medians() {
    let d = tempdir("medians");
    let side = |name: &str, totals: [u64; 3]| -> Vec<PathBuf> {
        totals
            .iter()
            .enumerate()
            .map(|(i, &t)| write_json(&d, &format!("{name}{i}.json"), &report(&fig(t * MIB))))
            .collect()
    };
    // One noisy run on each side; the medians are 110 and 125 MiB: +13.6%.
    let base = side("main", [100, 110, 300]);
    let new = side("pr", [500, 120, 125]);
    let mut a: Vec<&dyn AsRef<OsStr>> = vec![&"--base"];
    a.extend(base.iter().map(|p| p as &dyn AsRef<OsStr>));
    a.push(&"--new");
    a.extend(new.iter().map(|p| p as &dyn AsRef<OsStr>));
    a.extend([&"--max-increase" as &dyn AsRef<OsStr>, &"20%"]);
    let o = compare(&a);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("base: median of 3 reports: "), "{out}");
    assert!(
        out.contains("OK: max total RSS rose from 110.0 MiB to 125.0 MiB (+15.0 MiB, +13.6%)"),
        "{out}"
    );
    a.push(&"--json");
    let v: Value = serde_json::from_slice(&compare(&a).stdout).unwrap();
    assert_eq!(v["kind"], "pair");
    assert_eq!(v["entries"][0]["reports"].as_array().unwrap().len(), 3);
    assert_eq!(v["entries"][0]["max_total_rss_kib"], 110 * MIB);
    assert_eq!(v["entries"][1]["max_total_rss_kib"], 125 * MIB);
    // The single worst run would have failed the gate.
    let o = compare(&[&base[0], &new[0], &"--max-increase", &"20%"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn json_output_parses_and_has_the_documented_fields() {
    let d = tempdir("json");
    let base = write_json(&d, "a.json", &report(&fig(GIB)));
    let new = write_json(&d, "b.json", &report(&fig(2 * GIB)));
    let o = compare(&[&base, &new, &"--max-increase", &"20%", &"--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["compare_version"], 1);
    assert_eq!(v["kind"], "pair");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["entries"][0]["label"], "base");
    assert_eq!(v["entries"][1]["label"], "new");
    assert_eq!(v["entries"][1]["command"], json!(["./app", "--fast"]));
    assert_eq!(v["entries"][1]["max_total_rss_kib"], 2 * GIB);
    assert_eq!(v["changes"]["max_total_rss_kib"]["change"], GIB);
    assert_eq!(v["changes"]["max_total_rss_kib"]["percent"], 100.0);
    assert_eq!(v["check"]["figure"], "max_total_rss_kib");
    assert_eq!(v["check"]["exceeded"], true);
    assert!(v["verdict"].as_str().unwrap().starts_with("FAIL: "));
    for key in [
        "compare_version",
        "kind",
        "entries",
        "changes",
        "check",
        "verdict",
        "notes",
        "exit_code",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    // Scaling.
    let third = write_json(&d, "c.json", &report(&fig(4 * GIB)));
    let o = compare(&[&base, &new, &third, &"--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "scaling");
    assert_eq!(v["changes"], Value::Null);
    assert_eq!(v["entries"][2]["ratio_to_first"]["max_total_rss"], 4.0);
    assert_eq!(v["entries"].as_array().unwrap().len(), 3);
}

#[test]
fn unreadable_reports_exit_2_with_one_line_naming_the_file() {
    let d = tempdir("inputs");
    let good = write_json(&d, "good.json", &report(&fig(GIB)));
    let empty = d.join("empty.json");
    std::fs::write(&empty, "").unwrap();
    let corrupt = d.join("corrupt.json");
    std::fs::write(&corrupt, "{\"schema_version\": 1, \"command\": [").unwrap();
    let mut future = report(&fig(GIB));
    future["schema_version"] = json!(3);
    let future = write_json(&d, "future.json", &future);
    let not_report = d.join("other.json");
    std::fs::write(&not_report, r#"{"schema_version": 1, "name": "x"}"#).unwrap();
    let missing = d.join("missing.json");
    let cases: [(&Path, &str); 6] = [
        (&missing, "cannot read report: No such file or directory"),
        (&empty, "the file is empty"),
        (&corrupt, "not a memwatch JSON report"),
        (
            &future,
            "schema_version 3, this memwatch reads versions 1 and 2",
        ),
        (&not_report, "not a memwatch JSON report"),
        (d.path(), "cannot read report"),
    ];
    for (bad, why) in cases {
        let name = bad.display().to_string();
        for o in [compare(&[&good, &bad]), compare(&[&bad, &good, &good])] {
            assert_bad_input(&o, &format!("memwatch: {name}: "));
            assert!(stderr(&o).contains(why), "{why:?} not in {}", stderr(&o));
        }
        let o = compare(&[&"--base", &good, &bad, &"--new", &good]);
        assert_bad_input(&o, &name);
    }
}

#[test]
fn unknown_figure_with_a_limit_exits_2() {
    let d = tempdir("unknown");
    let mut f = fig(GIB);
    f.total = None;
    let base = write_json(&d, "early.json", &report(&f));
    let new = write_json(&d, "b.json", &report(&fig(GIB)));
    let o = compare(&[&base, &new, &"--max-increase", &"20%"]);
    assert_bad_input(&o, "early.json: max total RSS is unknown");
    // Without a limit the table says unknown.
    let o = compare(&[&base, &new]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("unknown"));
}

#[test]
fn arguments_that_do_not_fit_exit_125_with_one_line() {
    let d = tempdir("usage");
    let a = write_json(&d, "a.json", &report(&fig(GIB)));
    let b = write_json(&d, "b.json", &report(&fig(GIB)));
    let c = write_json(&d, "c.json", &report(&fig(GIB)));
    let cases: Vec<(Vec<&dyn AsRef<OsStr>>, &str)> = vec![
        (vec![&a], "at least two reports"),
        (vec![], "REPORT"),
        (vec![&a, &b, &"--label", &"x"], "two labels"),
        (vec![&a, &b, &c, &"--label", &"x"], "one per report"),
        (vec![&a, &b, &c, &"--max-increase", &"5%"], "two reports"),
        (vec![&a, &b, &"--max-increase", &"lots"], "--max-increase"),
        (vec![&a, &b, &"--max-increase", &"256MB"], "IEC"),
        (vec![&a, &b, &"--max-increase", &"-5%"], "negative"),
        (
            vec![&a, &b, &"--max-increase", &"1GiB", &"--metric", &"duration"],
            "is a memory size, but --metric duration",
        ),
        (vec![&a, &b, &"--metric", &"speed"], "speed"),
        (vec![&a, &"--base", &b, &"--new", &c], "cannot be used with"),
        (vec![&"--base", &a, &b], "--new"),
        (vec![&"--new", &a], "--base"),
    ];
    for (args, needle) in cases {
        let o = compare(&args);
        // A usage error, as of every subcommand: 125, not 2 (a report that cannot be read).
        assert_one_line(&o, 125, needle);
        assert!(
            stderr(&o).ends_with(" (see 'memwatch compare --help')\n"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn help_explains_medians() {
    let o = output(&mut memwatch(["compare", "--help"]));
    assert!(o.status.success());
    let help = stdout(&o);
    for needle in [
        "--base",
        "--new",
        "median",
        "--max-increase",
        "--metric",
        "--json",
        "Exit status",
    ] {
        assert!(help.contains(needle), "{needle} not in {help}");
    }
}

// Failed runs (issue 20, item 5): a report of a run that failed, was killed or was
// interrupted fails the gate unless --allow-failed; differing commands, hosts, memwatch
// versions and OSes are noted.

/// A real report of `memwatch __workload` touching `mib` MiB, with `extra` arguments
/// (`--exit 3`, `--kill-self 9`): memwatch's own exit status is the job's.
fn workload_report(dir: &TempDir, name: &str, mib: u64, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let f = finish(
        memwatch(["run", "-q", "-i", "10", "-o"])
            .arg(&path)
            .args(["--", BIN, "__workload", "--hold-ms", "200", "--mib"])
            .arg(mib.to_string())
            .args(extra),
    );
    assert!(path.exists(), "no report: {f:?}");
    path
}

/// A synthetic report (see [`report`]) that ended this way.
fn ended(f: &Fig, exit_code: Option<i32>, signal: Option<i32>, interrupted: bool) -> Value {
    let mut v = report(f);
    v["exit_code"] = json!(exit_code);
    v["signal"] = json!(signal);
    v["interrupted"] = json!(interrupted);
    v
}

fn last_line(o: &Output) -> String {
    stdout(o).lines().last().unwrap_or_default().to_string()
}

#[test]
fn a_crashed_or_killed_new_run_fails_the_gate() {
    // The issue's case: the new run exited 3 (or was killed) and used a quarter of the
    // memory. It printed "OK: … fell" and exited 0.
    let d = tempdir("failed-new");
    let ok = workload_report(&d, "ok.json", 40, &[]);
    let crashed = workload_report(&d, "crashed.json", 10, &["--exit", "3"]);
    let killed = workload_report(&d, "killed.json", 10, &["--kill-self", "9"]);
    for (bad, how) in [
        (&crashed, "exited with status 3"),
        (&killed, "killed by signal 9 (SIGKILL)"),
    ] {
        let name = bad.display().to_string();
        let o = compare(&[&ok, bad, &"--max-increase", &"10%"]);
        assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
        let out = stdout(&o);
        assert!(!out.contains("OK:"), "{out}");
        assert_eq!(
            last_line(&o),
            format!(
                "FAIL: 1 report is of a failed run: {name} (new: {how}); a comparison with a \
                 failed run proves nothing (--allow-failed compares it anyway)"
            )
        );
        assert!(
            out.contains(&format!(
                "note: {name} (new) is of a failed run: the command {}{how}\n",
                if how.starts_with("killed") {
                    "was "
                } else {
                    ""
                }
            )),
            "{out}"
        );
        // The table still shows the figures.
        assert!(out.contains("Max total RSS"), "{out}");
    }
}

#[test]
fn an_interrupted_run_fails_the_gate_even_if_the_command_exited_0() {
    let d = tempdir("failed-interrupted");
    let ok = write_json(&d, "ok.json", &report(&fig(GIB)));
    // SIGTERM to memwatch: passed on to the command, which died of it.
    let term = write_json(&d, "term.json", &ended(&fig(GIB / 4), None, Some(15), true));
    // The command caught the signal and exited 0: still cut short.
    let caught = write_json(
        &d,
        "caught.json",
        &ended(&fig(GIB / 4), Some(0), None, true),
    );
    for (bad, how, reason) in [
        (
            &term,
            "interrupted, killed by signal 15 (SIGTERM)",
            "memwatch was interrupted by a signal, and the command was killed by signal 15 (SIGTERM)",
        ),
        (
            &caught,
            "interrupted, exited with status 0",
            "memwatch was interrupted by a signal, and the command exited with status 0",
        ),
    ] {
        let name = bad.display().to_string();
        let o = compare(&[&ok, bad, &"--max-increase", &"10%"]);
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        assert!(
            last_line(&o).starts_with(&format!(
                "FAIL: 1 report is of a failed run: {name} (new: {how}); "
            )),
            "{}",
            stdout(&o)
        );
        assert!(
            stdout(&o).contains(&format!(
                "note: {name} (new) is of a failed run: {reason}\n"
            )),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn a_failed_base_run_fails_the_gate_too() {
    // A gate against a crashed baseline proves nothing: here the new run doubled, and a
    // crashed base would hide it as well as it would fail it.
    let d = tempdir("failed-base");
    let crashed = write_json(&d, "main.json", &ended(&fig(GIB), Some(101), None, false));
    let new = write_json(&d, "pr.json", &report(&fig(GIB)));
    let o = compare(&[&crashed, &new, &"--max-increase", &"20%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let name = crashed.display().to_string();
    assert!(
        last_line(&o).starts_with(&format!(
            "FAIL: 1 report is of a failed run: {name} (base: exited with status 101); "
        )),
        "{}",
        stdout(&o)
    );
    // A report that does not say how the command ended vouches for nothing either.
    let unknown = write_json(&d, "unknown.json", &ended(&fig(GIB), None, None, false));
    let o = compare(&[&unknown, &new, &"--max-increase", &"20%"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("is of a failed run: the report does not say how the command ended"),
        "{}",
        stdout(&o)
    );
    assert!(
        last_line(&o).contains("(base: end unknown)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn allow_failed_lets_the_figures_decide() {
    let d = tempdir("allow-failed");
    let ok = write_json(&d, "ok.json", &report(&fig(GIB)));
    let crashed = write_json(
        &d,
        "crashed.json",
        &ended(&fig(GIB / 4), Some(3), None, false),
    );
    let o = compare(&[&ok, &crashed, &"--max-increase", &"10%", &"--allow-failed"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        last_line(&o),
        "OK: max total RSS fell from 1.0 GiB to 256.0 MiB (-768.0 MiB, -75.0%), within the \
         limit of +10% (1 report of a failed run compared anyway: --allow-failed)"
    );
    // Still noted.
    assert!(
        stdout(&o).contains("is of a failed run: the command exited with status 3"),
        "{}",
        stdout(&o)
    );
    // Over the limit still fails.
    let o = compare(&[&crashed, &ok, &"--max-increase", &"10%", &"--allow-failed"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        last_line(&o).starts_with("FAIL: max total RSS rose from 256.0 MiB to 1.0 GiB"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn without_a_limit_failed_runs_are_noted_and_exit_0() {
    // No --max-increase: no gate, as before; the notes and the JSON say what failed.
    let d = tempdir("failed-nolimit");
    let ok = write_json(&d, "ok.json", &report(&fig(GIB)));
    let killed = write_json(
        &d,
        "killed.json",
        &ended(&fig(GIB / 4), None, Some(9), false),
    );
    let o = compare(&[&ok, &killed]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let name = killed.display().to_string();
    assert!(
        stdout(&o).contains(&format!(
            "note: {name} (new) is of a failed run: the command was killed by signal 9 (SIGKILL)\n"
        )),
        "{}",
        stdout(&o)
    );
    assert!(last_line(&o).ends_with("no limit checked (--max-increase)"));
    let o = compare(&[&ok, &killed, &"--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["failures"][0]["signal"], 9);
}

#[test]
fn medians_flag_failed_runs_and_differing_commands() {
    // --base ok ok ok --new ok crashed killed: nothing flagged the failed runs or the
    // commands that differ.
    let d = tempdir("failed-medians");
    let ok: Vec<PathBuf> = (0..4)
        .map(|i| write_json(&d, &format!("ok{i}.json"), &report(&fig(GIB))))
        .collect();
    let mut crashed_fig = fig(GIB / 4);
    crashed_fig.command = vec!["./app", "--fast", "--crash"];
    let crashed = write_json(
        &d,
        "crashed.json",
        &ended(&crashed_fig, Some(3), None, false),
    );
    let killed = write_json(
        &d,
        "killed.json",
        &ended(&fig(GIB / 2), None, Some(9), false),
    );
    let mut a: Vec<&dyn AsRef<OsStr>> = vec![&"--base", &ok[0], &ok[1], &ok[2]];
    a.extend([&"--new" as &dyn AsRef<OsStr>, &ok[3], &crashed, &killed]);
    a.extend([&"--max-increase" as &dyn AsRef<OsStr>, &"10%"]);
    let o = compare(&a);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    let (c, k) = (crashed.display(), killed.display());
    assert_eq!(
        out.lines().last().unwrap(),
        format!(
            "FAIL: 2 reports are of failed runs: {c} (new: exited with status 3), {k} (new: \
             killed by signal 9 (SIGKILL)); a comparison with a failed run proves nothing \
             (--allow-failed compares them anyway)"
        )
    );
    assert!(
        out.contains(&format!("note: {c} (new) is of a failed run: ")),
        "{out}"
    );
    assert!(
        out.contains(&format!("note: {k} (new) is of a failed run: ")),
        "{out}"
    );
    let commands = out
        .lines()
        .find(|l| l.starts_with("note: the reports ran different commands ("))
        .unwrap_or_else(|| panic!("no note on the commands: {out}"));
    assert!(
        commands.contains(&format!("{c}: ./app --fast --crash"))
            && commands.contains(&format!("{k}: ./app --fast")),
        "{commands}"
    );
    // --allow-failed: the failed runs count in the medians like the others (the median of
    // 1 GiB, 256 MiB and 512 MiB is 512 MiB).
    a.extend([&"--allow-failed" as &dyn AsRef<OsStr>, &"--json"]);
    let o = compare(&a);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["entries"][1]["max_total_rss_kib"], GIB / 2);
    assert_eq!(v["entries"][1]["failed"], 2);
    assert_eq!(v["entries"][0]["failed"], 0);
    assert_eq!(v["check"]["failed_runs"], false);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn json_says_which_runs_failed_and_why() {
    let d = tempdir("failed-json");
    let ok = write_json(&d, "ok.json", &report(&fig(GIB)));
    let crashed = write_json(
        &d,
        "crashed.json",
        &ended(&fig(GIB / 4), Some(3), None, false),
    );
    let o = compare(&[&ok, &crashed, &"--max-increase", &"10%", &"--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["compare_version"], 1);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["check"]["exceeded"], false);
    assert_eq!(v["check"]["failed_runs"], true);
    assert_eq!(v["entries"][0]["failed"], 0);
    assert_eq!(v["entries"][1]["failed"], 1);
    assert_eq!(
        v["failures"],
        json!([{
            "report": crashed.display().to_string(),
            "label": "new",
            "exit_code": 3,
            "signal": null,
            "interrupted": false,
            "reason": "the command exited with status 3",
        }])
    );
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("FAIL: 1 report is of a failed run")
    );
    assert_eq!(v["notes"].as_array().unwrap().len(), 1, "{}", v["notes"]);
    // Successful runs: empty lists, no failure.
    let o = compare(&[&ok, &ok, &"--max-increase", &"10%", &"--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["failures"], json!([]));
    assert_eq!(v["differs"], json!([]));
    assert_eq!(v["check"]["failed_runs"], false);
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn a_failed_run_with_an_unknown_figure_fails_as_a_failed_run() {
    // Crashed before the first sample: the failure is the reason, not a bad input (exit 2).
    let d = tempdir("failed-unknown");
    let ok = write_json(&d, "ok.json", &report(&fig(GIB)));
    let mut f = fig(GIB);
    f.total = None;
    let early = write_json(&d, "early.json", &ended(&f, None, Some(11), false));
    let o = compare(&[&ok, &early, &"--max-increase", &"10%"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        last_line(&o).contains("(new: killed by signal 11 (SIGSEGV))"),
        "{}",
        stdout(&o)
    );
    let o = compare(&[&ok, &early, &"--max-increase", &"10%", &"--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["check"], Value::Null);
    assert_eq!(v["exit_code"], 1);
    // With --allow-failed the figure is needed: as before, exit 2 naming the file.
    let o = compare(&[&ok, &early, &"--max-increase", &"10%", &"--allow-failed"]);
    assert_bad_input(&o, "early.json: max total RSS is unknown");
}

#[test]
fn a_scaling_table_marks_failed_runs() {
    let d = tempdir("failed-scaling");
    let mut paths = Vec::new();
    for (n, end) in [("1", None), ("2", Some(3)), ("4", None)] {
        let mut f = fig(100 * MIB);
        f.command = vec!["./app", "-n", n];
        let v = match end {
            Some(code) => ended(&f, Some(code), None, false),
            None => report(&f),
        };
        paths.push(write_json(&d, &format!("n{n}.json"), &v));
    }
    let o = compare(&[&paths[0], &paths[1], &paths[2]]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].ends_with("n1.json"), "{out}");
    assert!(
        lines[2].starts_with("-n 2 ")
            && lines[2].ends_with("n2.json  failed: exited with status 3"),
        "{out}"
    );
    assert!(lines[3].ends_with("n4.json"), "{out}");
    assert!(
        out.contains(&format!(
            "note: {} (-n 2) is of a failed run: the command exited with status 3\n",
            paths[1].display()
        )),
        "{out}"
    );
    // The commands of a scaling table differ by design: no note on them.
    assert!(!out.contains("different commands"), "{out}");
    let o = compare(&[&paths[0], &paths[1], &paths[2], &"--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["entries"][1]["failed"], 1);
    assert_eq!(v["failures"][0]["label"], "-n 2");
    assert_eq!(v["differs"], json!([]));
}

#[test]
fn differing_hosts_versions_and_os_are_noted() {
    let d = tempdir("differs");
    let mut a = report(&fig(GIB));
    a["hostname"] = json!("ci-runner-1");
    a["memwatch_version"] = json!("0.1.0");
    a["os"] = json!("linux");
    let mut b = a.clone();
    b["hostname"] = json!("laptop");
    b["memwatch_version"] = json!("0.2.0");
    b["os"] = json!("macos");
    b["command"] = json!(["./app", "--slow"]);
    let (pa, pb) = (write_json(&d, "a.json", &a), write_json(&d, "b.json", &b));
    let (na, nb) = (pa.display(), pb.display());
    let o = compare(&[&pa, &pb, &"--max-increase", &"10%"]);
    // Notes only: the gate is about the figures.
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    for note in [
        format!(
            "note: the reports ran different commands ({na}: ./app --fast; {nb}: ./app --slow)"
        ),
        format!("note: the reports were made on different hosts ({na}: ci-runner-1; {nb}: laptop)"),
        format!(
            "note: the reports were written by different memwatch versions ({na}: 0.1.0; {nb}: 0.2.0)"
        ),
        format!(
            "note: the reports were made on different operating systems ({na}: linux; {nb}: macos): \
             RSS does not count the same memory on each"
        ),
    ] {
        assert!(out.lines().any(|l| l == note), "{note:?} not in {out}");
    }
    assert!(last_line(&o).starts_with("OK: "), "{out}");
    let o = compare(&[&pa, &pb, &"--max-increase", &"10%", &"--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["differs"],
        json!(["command", "hostname", "memwatch_version", "os"])
    );
    assert_eq!(v["notes"].as_array().unwrap().len(), 4);
    // The same file twice on a side is listed once.
    let o = compare(&[&"--base", &pa, &pa, &"--new", &pb]);
    assert!(
        stdout(&o).contains(&format!("hosts ({na}: ci-runner-1; {nb}: laptop)")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn help_explains_failed_runs() {
    let o = output(&mut memwatch(["compare", "--help"]));
    assert!(o.status.success());
    let help = stdout(&o);
    for needle in ["--allow-failed", "Failed runs", "failed run", "interrupted"] {
        assert!(help.contains(needle), "{needle} not in {help}");
    }
}

#[test]
fn reports_sampled_at_very_different_achieved_intervals_are_warned_about() {
    let d = tempdir("achieved");
    let mut a = report(&fig(GIB));
    a["interval_ms"] = json!(10);
    a["interval_achieved_ms"] = json!(10.1);
    a["interval_achieved_mean_ms"] = json!(10.2);
    let mut b = a.clone();
    b["interval_achieved_ms"] = json!(24.0);
    b["interval_achieved_mean_ms"] = json!(31.5);
    let (pa, pb) = (write_json(&d, "a.json", &a), write_json(&d, "b.json", &b));
    let o = compare(&[&pa, &pb, &"--max-increase", &"10%"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "warning: the reports were sampled at very different achieved intervals (base: \
             10 ms; new: 32 ms): their peaks are not comparable"
        ),
        "{out}"
    );
    assert!(out.contains("Interval achieved "), "{out}");
    let o = compare(&[&pa, &pb, &"--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["differs"]
            .as_array()
            .unwrap()
            .contains(&json!("interval_achieved_mean_ms")),
        "{v}"
    );
    // Close enough: nothing said.
    b["interval_achieved_mean_ms"] = json!(12.0);
    let pb = write_json(&d, "b.json", &b);
    let out = stdout(&compare(&[&pa, &pb]));
    assert!(!out.contains("achieved intervals"), "{out}");
}
