//! `memwatch sweep` end to end: real jobs for each value of a parameter, one report per
//! run, the fit recovering a known line, failed runs, Ctrl+C, usage errors, text values,
//! `compare` of two sweeps, the picture rendered by headless Chromium, and a real Open MPI
//! sweep over 1, 2 and 4 ranks.
//!
//! `MEMWATCH_UPDATE_EXAMPLE=1 cargo test --test integration sweep::` also saves the picture
//! of the MPI sweep to tests/plot/sweep.png (the picture in docs/sweep.md).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use memwatch::model::sweep::{SWEEP_VERSION, Sweep};

use crate::util::*;

/// `memwatch sweep <opts> -- <job>`, run in `dir`.
fn sweep_cmd(dir: &Path, opts: &[&str], job: &[impl AsRef<std::ffi::OsStr>]) -> Command {
    let mut args: Vec<OsString> = vec!["sweep".into()];
    args.extend(opts.iter().map(OsString::from));
    args.push("--".into());
    args.extend(job.iter().map(|a| a.as_ref().to_os_string()));
    let mut c = memwatch(args);
    c.current_dir(dir);
    c
}

/// Read a sweep file through memwatch's own reader.
#[track_caller]
fn read_sweep(path: &Path) -> Sweep {
    let text = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(v["sweep_version"], SWEEP_VERSION);
    Sweep::from_json(&v).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The workload touching `16 + 8·x` MiB for `{x}`, holding it `hold` ms.
fn linear_job(hold: &str, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "--mib",
        "16",
        "--mib-per-unit",
        "8",
        "--units",
        "{x}",
        "--hold-ms",
        hold,
    ];
    a.extend_from_slice(extra);
    workload(&a)
}

#[test]
fn the_fit_recovers_the_cost_per_unit_and_forecasts_four_times_out() {
    let _g = heavy();
    let d = tempdir("sweep-fit");
    let f = finish(&mut sweep_cmd(
        d.path(),
        &[
            "-p",
            "x",
            "1,2,4,8",
            "-r",
            "3",
            "-i",
            "10",
            "-o",
            "out",
            "--predict",
            "32",
        ],
        &linear_job("250", &[]),
    ));
    f.assert_code(0);
    let s = read_sweep(&d.join("out/sweep.json"));
    let fit = s.fit.expect("a fit");
    let b = 8.0 * 1024.0;
    let slope_error = (fit.slope_kib_per_unit - b) / b;
    // The truth at 4× the largest value: a real run of the same job at x = 32.
    let report = d.join("x32.json");
    finish(
        memwatch(["run", "-q", "-i", "10", "-o"])
            .arg(&report)
            .arg("--")
            .args(
                linear_job("250", &[])
                    .iter()
                    .map(|a| a.replace("{x}", "32")),
            ),
    )
    .assert_code(0);
    let truth = read_report(&report).max_total_rss_kib.unwrap() as f64;
    let forecast = s.predictions[0].max_total_rss_kib.unwrap() as f64;
    let forecast_error = (forecast - truth) / truth;
    eprintln!(
        "sweep fit: slope {:.1} KiB/unit (true {b}, {:+.2}%), intercept {:.0} KiB, R² {:.6}; \
         forecast at 32: {forecast} KiB, measured {truth} KiB ({:+.2}%)",
        fit.slope_kib_per_unit,
        slope_error * 100.0,
        fit.intercept_kib,
        fit.r_squared,
        forecast_error * 100.0
    );
    assert!(
        slope_error.abs() <= 0.03,
        "slope off by {:.2}%",
        slope_error * 100.0
    );
    assert!(
        forecast_error.abs() <= 0.05,
        "forecast off by {:.2}%",
        forecast_error * 100.0
    );
    assert!(fit.r_squared > 0.99);
    assert_eq!(s.predictions[0].times_largest, Some(4.0));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    // The table says the same.
    assert!(
        f.stderr.contains("Cost per unit: ≈ 8.0 MiB per unit of x"),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr.contains("Forecast:      x=32: ≈ ") && f.stderr.contains("extrapolated 4× beyond"),
        "{}",
        f.stderr
    );
}

#[test]
fn a_sweep_keeps_one_report_per_run_and_its_result() {
    let d = tempdir("sweep-files");
    let tok = token("sweep");
    let f = finish(&mut sweep_cmd(
        d.path(),
        &[
            "-p", "x", "1..3", "-r", "2", "-i", "10", "-o", "out", "--json",
        ],
        &linear_job("60", &["--print", &tok]),
    ));
    f.assert_code(0);
    let mut names: Vec<String> = fs::read_dir(d.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "sweep.json",
            "x=1.run1.json",
            "x=1.run2.json",
            "x=2.run1.json",
            "x=2.run2.json",
            "x=3.run1.json",
            "x=3.run2.json"
        ]
    );
    // --json: the result alone on standard output, the job's output on standard error.
    let s: serde_json::Value = serde_json::from_slice(&f.stdout).expect("JSON alone on stdout");
    assert_eq!(
        s,
        serde_json::from_slice::<serde_json::Value>(&fs::read(d.join("out/sweep.json")).unwrap())
            .unwrap()
    );
    assert_eq!(
        f.stderr.lines().filter(|l| *l == tok).count(),
        6,
        "{}",
        f.stderr
    );
    let s = read_sweep(&d.join("out/sweep.json"));
    assert_eq!(
        (s.parameter.as_str(), s.runs_per_value, s.interval_ms),
        ("x", 2, 10)
    );
    assert!(s.complete && !s.interrupted && s.exit_code == 0);
    assert_eq!(s.command.iter().filter(|a| *a == "{x}").count(), 1);
    for (p, x) in s.points.iter().zip([1u64, 2, 3]) {
        assert_eq!(p.value.number, Some(x as f64));
        assert_eq!(p.runs.len(), 2);
        for r in &p.runs {
            let report = read_report(&d.join("out").join(&r.report));
            assert_eq!(report.max_total_rss_kib, r.max_total_rss_kib);
            assert!(
                report.command.contains(&x.to_string()),
                "{:?}",
                report.command
            );
            assert!(!r.failed);
        }
        let (lo, med, hi) = (
            p.min_max_total_rss_kib.unwrap(),
            p.median_max_total_rss_kib.unwrap(),
            p.max_max_total_rss_kib.unwrap(),
        );
        assert!(lo <= med && med <= hi);
        assert!(med >= (16 + 8 * x) * MIB, "{med}");
    }
    // The progress lines and the table on standard error.
    assert!(
        f.stderr
            .contains("memwatch: x=2, run 2 of 2: max total RSS"),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr
            .contains("Max total RSS       min       max  Max total private RSS  Max per process"),
        "{}",
        f.stderr
    );
}

#[test]
fn the_default_directory_is_new_and_named_after_the_parameter() {
    let d = tempdir("sweep-default");
    for _ in 0..2 {
        finish(&mut sweep_cmd(
            d.path(),
            &["-q", "-p", "ranks", "1", "-r", "1"],
            &["true", "{ranks}"],
        ))
        .assert_code(0);
    }
    let dirs = d.list();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in &dirs {
        assert!(
            dir.starts_with("sweep-ranks-") && dir.contains('T'),
            "{dir}"
        );
        assert!(d.join(dir).join("ranks=1.run1.json").is_file());
        assert!(d.join(dir).join("sweep.json").is_file());
    }
}

#[test]
fn failed_runs_are_kept_marked_and_left_out_of_the_fit() {
    let d = tempdir("sweep-fail");
    let job = format!(
        "{} __workload --mib $((8 * {{x}})) --hold-ms 60; [ {{x}} -ne 2 ] || exit 3",
        BIN
    );
    let f = finish(&mut sweep_cmd(
        d.path(),
        &["-p", "x", "1,2,3,4", "-r", "2", "-i", "10", "-o", "out"],
        &["sh", "-c", &job],
    ));
    f.assert_code(3);
    let s = read_sweep(&d.join("out/sweep.json"));
    assert_eq!(s.exit_code, 3);
    let p = &s.points[1];
    assert_eq!((p.failed_runs, p.median_max_total_rss_kib), (2, None));
    assert!(p.runs.iter().all(|r| r.failed && r.exit_code == Some(3)));
    assert_eq!(
        s.fit.unwrap().points,
        3,
        "the failed value is left out of the fit"
    );
    assert_eq!(
        s.warnings[0],
        "x=2: no run succeeded (run 1 exited with status 3, run 2 exited with status 3); the value is left out of the fit"
    );
    assert!(
        f.stderr
            .contains("memwatch: x=2, run 1 of 2: max total RSS"),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr.contains("; failed: exited with status 3"),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr.contains("warning: x=2: no run succeeded"),
        "{}",
        f.stderr
    );
}

#[test]
fn ctrl_c_stops_the_sweep_and_keeps_what_was_measured() {
    let d = tempdir("sweep-int");
    let tok = token("sweep-int");
    let _cleanup = KillOnDrop(tok.clone());
    let mut cmd = sweep_cmd(
        d.path(),
        &["-p", "x", "1,2,3", "-r", "2", "-i", "10", "-o", "out"],
        &workload(&[
            "--mib",
            "8",
            "--hold-ms",
            "1500",
            "--units",
            "{x}",
            "--print",
            &tok,
        ]),
    );
    let mw = spawn(&mut cmd);
    // Run 1 ends; run 2 starts and is followed; then Ctrl+C (SIGINT from a process).
    poll(std::time::Duration::from_secs(30), || {
        d.join("out/x=1.run1.json")
            .is_file()
            .then_some(())
            .ok_or("run 1 not done".to_string())
    });
    let pids = wait_for_job(&tok, 1);
    wait_followed(mw.pid(), &pids);
    send(mw.pid(), libc::SIGINT);
    let f = mw.wait();
    f.assert_code(130);
    assert_all_gone(&tok, &pids);
    let s = read_sweep(&d.join("out/sweep.json"));
    assert!(s.interrupted && !s.complete);
    assert_eq!((s.interrupt_signal, s.exit_code), (Some(2), 130));
    assert_eq!(s.points.len(), 1);
    let runs = &s.points[0].runs;
    assert_eq!(runs.len(), 2);
    assert!(!runs[0].failed && runs[1].failed && runs[1].interrupted);
    let r = read_report(&d.join("out/x=1.run2.json"));
    assert!(r.interrupted && r.interrupt_signal == Some(2), "{r:?}");
    assert!(
        !d.join("out/x=2.run1.json").exists(),
        "nothing ran after the signal"
    );
    assert!(
        s.warnings[0].starts_with("the sweep was interrupted by SIGINT after 2 of 6 runs"),
        "{:?}",
        s.warnings
    );
    assert!(
        f.stderr
            .contains("warning: the sweep was interrupted by SIGINT"),
        "{}",
        f.stderr
    );
    assert!(
        f.stderr.contains("Max total RSS"),
        "the table is printed: {}",
        f.stderr
    );
}

#[test]
fn usage_errors_exit_125_before_anything_runs() {
    let d = tempdir("sweep-usage");
    fs::create_dir(d.join("full")).unwrap();
    fs::write(d.join("full/old.json"), "{}").unwrap();
    let marker = d.join("marker");
    let job = |placeholder: &str| -> Vec<String> {
        vec![
            "sh".into(),
            "-c".into(),
            format!("touch \"$0\" # {placeholder}"),
            marker.to_str().unwrap().into(),
        ]
    };
    for (opts, placeholder, message) in [
        (
            &["-p", "n", "1,2"][..],
            "",
            "{n} appears nowhere in the command, so every run would be the same: put {n} where the value goes (e.g. -n {n})",
        ),
        (&["-p", "n", ""], "{n}", "the list of values of n is empty"),
        (
            &["-p", "n", "1..x"],
            "{n}",
            "malformed range '1..x': write START..END, START..END:xFACTOR or START..END:+STEP with whole numbers (1..8, 1..64:x2, 0..100:+10)",
        ),
        (
            &["-p", "n", "8..1"],
            "{n}",
            "the range '8..1' is empty: its end is below its start",
        ),
        (
            &["-p", "n", "1", "-r", "0"],
            "{n}",
            "-r/--runs must be 1 or more (got 0)",
        ),
        (
            &["-p", "n", "1,1"],
            "{n}",
            "the value 1 of n is given twice in '1,1'",
        ),
        (
            &["-p", "n", "1", "-o", "full"],
            "{n}",
            "full: the directory is not empty; give a new or empty directory for the sweep's reports",
        ),
        (
            &["-p", "n", "1", "--metric", "footprint"],
            "{n}",
            "--metric footprint is macOS's physical footprint; on Linux use --metric pss",
        ),
        (
            &["-p", "alloc", "a,b", "--predict", "8"],
            "{alloc}",
            "--predict needs numbers as the values of alloc (got 'a'): a sweep of text values has no line to forecast from",
        ),
    ] {
        let f = finish(&mut sweep_cmd(d.path(), opts, &job(placeholder)));
        f.assert_code(125);
        assert_eq!(
            f.stderr,
            format!("memwatch: {message}; the command was not run\n"),
            "{opts:?}"
        );
        assert!(f.stdout.is_empty());
        assert!(!marker.exists(), "the command ran despite {opts:?}");
        assert_eq!(d.list(), ["full"], "{opts:?} left something behind");
    }
    let f = finish(memwatch(["sweep", "-p", "n", "1"]).current_dir(d.path()));
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        "memwatch: no command given: usage: memwatch sweep -p <NAME> <VALUES> [OPTIONS] -- <COMMAND> [ARGS]...; the command was not run (see 'memwatch sweep --help')\n"
    );
    // An output directory that cannot be made: 125, naming it, nothing run.
    let f = finish(&mut sweep_cmd(
        d.path(),
        &["-p", "n", "1", "-o", "full/old.json/x"],
        &job("{n}"),
    ));
    f.assert_code(125);
    assert_eq!(
        f.stderr,
        "memwatch: cannot write the sweep's reports to full/old.json/x: Not a directory; the command was not run\n"
    );
    assert!(!marker.exists());
}

#[test]
fn a_command_that_cannot_run_stops_the_sweep_with_its_status() {
    let d = tempdir("sweep-missing");
    let f = finish(&mut sweep_cmd(
        d.path(),
        &["-q", "-p", "n", "1,2", "-o", "out"],
        &["memwatch-no-such-command-{n}"],
    ));
    f.assert_code(127);
    assert_eq!(
        f.stderr,
        "memwatch: cannot run 'memwatch-no-such-command-1': No such file or directory\n"
    );
    let s = read_sweep(&d.join("out/sweep.json"));
    assert!(s.points.is_empty() && !s.complete);
    assert_eq!(s.exit_code, 127);
}

#[test]
fn a_directory_removed_mid_sweep_stops_it_and_says_what_was_lost() {
    let d = tempdir("sweep-gone");
    let f = finish(
        sweep_cmd(
            d.path(),
            &["-q", "-p", "x", "1,2", "-o", "out"],
            &["sh", "-c", "rm -rf \"$0\"; : {x}", "out"],
        )
        .env("TMPDIR", d.path()),
    );
    f.assert_code(125);
    let lines: Vec<&str> = f
        .stderr
        .lines()
        .filter(|l| l.starts_with("memwatch: "))
        .collect();
    assert_eq!(lines.len(), 2, "{}", f.stderr);
    // The sweep's own loss first, then the failure that stopped it (its status).
    assert_eq!(
        lines[0],
        "memwatch: cannot write the sweep's result to out/sweep.json: No such file or directory"
    );
    assert!(
        lines[1].starts_with(
            "memwatch: cannot write report to out/x=1.run1.json: No such file or directory \
             (the command exited with status 0); saved it to "
        ),
        "{}",
        f.stderr
    );
    assert!(!d.join("out").exists(), "nothing ran after the failure");
}

#[test]
fn text_values_give_a_table_without_a_fit() {
    let d = tempdir("sweep-text");
    let f = finish(&mut sweep_cmd(
        d.path(),
        &[
            "-p",
            "size",
            "small,large",
            "-r",
            "1",
            "-i",
            "10",
            "-o",
            "out",
        ],
        &[
            "sh",
            "-c",
            &format!(
                "case {{size}} in small) m=4;; *) m=32;; esac; exec {BIN} __workload --mib $m --hold-ms 60"
            ),
        ],
    ));
    f.assert_code(0);
    let s = read_sweep(&d.join("out/sweep.json"));
    assert!(s.fit.is_none() && s.points.iter().all(|p| p.value.number.is_none()));
    assert_eq!(
        s.no_fit_reason.as_deref(),
        Some("the values of size are not all numbers (small, large), so no line can be fitted")
    );
    assert!(s.points[1].median_max_total_rss_kib > s.points[0].median_max_total_rss_kib);
    assert!(d.join("out/size=small.run1.json").is_file());
    assert!(
        f.stderr
            .contains("Fit:           none: the values of size are not all numbers"),
        "{}",
        f.stderr
    );
}

/// A sweep file edited: every median (and min, max) of `x` multiplied by `factor`.
fn scaled(s: &serde_json::Value, factor: f64) -> serde_json::Value {
    let mut v = s.clone();
    for p in v["points"].as_array_mut().unwrap() {
        for key in [
            "median_max_total_rss_kib",
            "min_max_total_rss_kib",
            "max_max_total_rss_kib",
        ] {
            p[key] = serde_json::json!((p[key].as_f64().unwrap() * factor).round() as u64);
        }
        let m = p["medians"]["max_total_rss_kib"].as_f64().unwrap();
        p["medians"]["max_total_rss_kib"] = serde_json::json!((m * factor).round() as u64);
    }
    v
}

#[test]
fn compare_gates_two_sweeps_value_by_value() {
    let d = tempdir("sweep-compare");
    finish(&mut sweep_cmd(
        d.path(),
        &[
            "-q", "-p", "x", "1,2,4", "-r", "1", "-i", "10", "-o", "base",
        ],
        &linear_job("60", &[]),
    ))
    .assert_code(0);
    let base_path = d.join("base/sweep.json");
    let base: serde_json::Value = serde_json::from_slice(&fs::read(&base_path).unwrap()).unwrap();
    let same = write_json(&d, "same.json", &scaled(&base, 1.05));
    let worse = write_json(&d, "worse.json", &scaled(&base, 1.5));
    let ok = output(
        memwatch(["compare"])
            .arg(&base_path)
            .arg(&same)
            .args(["--max-increase", "10%"]),
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "OK: max total RSS within the limit of +10% at every value of x compared (1, 2, 4)"
        ),
        "{text}"
    );
    let bad = output(
        memwatch(["compare"])
            .arg(&base_path)
            .arg(&worse)
            .args(["--max-increase", "10%"]),
    );
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL: max total RSS rose over the limit of +10% at x=1 ("),
        "{text}"
    );
    assert!(text.contains("x=4 ("), "{text}");
    assert!(text.contains("Cost per unit of x"), "{text}");
    // JSON: one entry per value, each with its check.
    let j = output(
        memwatch(["compare", "--json"])
            .arg(&base_path)
            .arg(&worse)
            .args(["--max-increase", "10%"]),
    );
    assert_eq!(j.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(j["kind"], "sweep");
    assert_eq!(j["values"].as_array().unwrap().len(), 3);
    assert_eq!(j["values"][2]["check"]["exceeded"], true);
    // A failed run fails the gate unless --allow-failed; a value on one side is noted.
    let mut failed = scaled(&base, 1.0);
    failed["points"][1]["failed_runs"] = serde_json::json!(1);
    failed["points"].as_array_mut().unwrap().truncate(2);
    let failed = write_json(&d, "failed.json", &failed);
    let o = output(
        memwatch(["compare"])
            .arg(&base_path)
            .arg(&failed)
            .args(["--max-increase", "10%"]),
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL: runs failed;"), "{text}");
    assert!(text.contains("note: x=4 measured only in"), "{text}");
    let o = output(
        memwatch(["compare", "--allow-failed"])
            .arg(&base_path)
            .arg(&failed)
            .args(["--max-increase", "10%"]),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A figure the sweep did not measure: exit 2, saying why.
    let o = output(
        memwatch(["compare", "--metric", "pss", "--max-increase", "5%"])
            .arg(&base_path)
            .arg(&same),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "memwatch: {}: max total PSS is unknown at x=1 (the sweep was made without --metric pss): cannot check --max-increase\n",
            base_path.display()
        )
    );
    // A sweep with a run's report: exit 2, one line naming both.
    let report = d.join("base/x=1.run1.json");
    let o = output(memwatch(["compare"]).arg(&base_path).arg(&report));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        err,
        format!(
            "memwatch: {}: is a sweep file and {} is a run's report: compare a sweep with another sweep\n",
            base_path.display(),
            report.display()
        )
    );
    // A sweep where reports are expected says what it is.
    let o = output(
        memwatch(["compare"])
            .arg(&report)
            .arg(&report)
            .arg(&base_path),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("this is a sweep file (memwatch sweep), not a run's report")
    );
    // Another version: refused naming it.
    let mut future = base.clone();
    future["sweep_version"] = serde_json::json!(2);
    let future = write_json(&d, "future.json", &future);
    let o = output(memwatch(["compare"]).arg(&base_path).arg(&future));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "memwatch: {}: sweep file has sweep_version 2, this memwatch reads version 1\n",
            future.display()
        )
    );
}

/// The sweep's picture rendered by Chromium: medians (blue), the line (red), forecasts and
/// the extrapolated line (orange). Returns the PNG's path.
fn render_sweep(chromium: &Path, d: &TempDir, sweep: &Path, title: &[&str]) -> PathBuf {
    let svg_path = d.join("sweep.svg");
    let o = output(
        memwatch(["plot"])
            .arg(sweep)
            .arg("-o")
            .arg(&svg_path)
            .args(title),
    );
    assert!(o.status.success(), "{o:?}");
    let svg = fs::read_to_string(&svg_path).unwrap();
    let texts = crate::plot::svg_texts(&svg);
    assert!(
        texts.iter().any(|t| t.starts_with("least-squares line: ")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.ends_with("(forecast)")), "{texts:?}");
    let height = crate::plot::svg_height(&svg);
    let png = d.join("sweep.png");
    crate::plot::render(chromium, d, &svg_path, &png, 960, height);
    let img = crate::plot::decode(&png);
    assert_eq!((img.width, img.height), (960, height));
    img.assert_looks_drawn(&[]);
    let blue = img.count_near(crate::plot::BLUE);
    assert!(blue > 150, "the medians and their bars: {blue} blue pixels");
    let red = img.count_near(crate::plot::RED);
    assert!(
        red > 40,
        "the line over the measured values: {red} red pixels"
    );
    let orange = img.count_near([0xff, 0x7f, 0x0e]);
    assert!(
        orange > 300,
        "the forecasts and the extrapolated line: {orange} orange pixels"
    );
    png
}

#[test]
fn headless_chromium_renders_a_sweep() {
    let Some(chromium) = crate::plot::skip_without_chromium() else {
        return;
    };
    let _g = heavy();
    let d = tempdir("sweep-render");
    finish(&mut sweep_cmd(
        d.path(),
        &[
            "-q",
            "-p",
            "x",
            "1,2,4",
            "-r",
            "2",
            "-i",
            "10",
            "-o",
            "out",
            "--predict",
            "8,16",
        ],
        &linear_job("60", &[]),
    ))
    .assert_code(0);
    render_sweep(&chromium, &d, &d.join("out/sweep.json"), &[]);
    // A sweep is drawn alone.
    let o = output(
        memwatch(["plot"])
            .arg(d.join("out/sweep.json"))
            .arg(d.join("out/x=1.run1.json")),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("plot draws one sweep alone"));
}

/// Real Open MPI: `mpirun -n {n}` over 1, 2 and 4 ranks of 32 MiB each, two runs per
/// value; each rank costs its 32 MiB plus what MPI itself holds per rank.
#[test]
fn an_open_mpi_sweep_over_one_two_and_four_ranks() {
    let Some((mpi, _serial)) = crate::mpi::mpi() else {
        return;
    };
    let d = tempdir("sweep-mpi");
    let mut job: Vec<OsString> = vec![mpi.mpirun.clone().into_os_string()];
    job.extend(crate::mpi::MPIRUN_FLAGS.iter().map(OsString::from));
    job.extend(["-n", "{n}"].map(OsString::from));
    job.extend([mpi.prog().to_os_string(), "32".into(), "400".into()]);
    let f = finish(&mut sweep_cmd(
        d.path(),
        &[
            "-p",
            "n",
            "1,2,4",
            "-r",
            "2",
            "-i",
            "20",
            "-o",
            "out",
            "--predict",
            "16,64",
        ],
        &job,
    ));
    f.assert_code(0);
    eprintln!("{}", f.stderr);
    let s = read_sweep(&d.join("out/sweep.json"));
    let fit = s.fit.expect("a fit");
    for (p, n) in s.points.iter().zip([1u64, 2, 4]) {
        for r in &p.runs {
            let report = read_report(&d.join("out").join(&r.report));
            let ranks = report
                .processes
                .iter()
                .filter(|q| q.command.starts_with(&*mpi.prog.to_string_lossy()))
                .count();
            // Every rank is in the job (a rank first read as a copy of its launcher, before
            // its exec, may be named by another command line, so names are an upper bound).
            assert!(ranks as u64 <= n, "{}: {ranks} ranks", r.report);
            assert!(
                report.processes_total > n,
                "{}: {:?}",
                r.report,
                report.processes
            );
        }
        assert!(p.median_max_total_rss_kib.unwrap() >= n * 32 * MIB);
    }
    assert!(fit.slope_kib_per_unit >= 32.0 * 1024.0, "{fit:?}");
    assert!(fit.r_squared > 0.9, "{fit:?}");
    assert_eq!(s.predictions.len(), 2);
    if let Some(chromium) = crate::plot::skip_without_chromium() {
        let title = "mpirun -n {n} rank 32 400: Open MPI ranks of 32 MiB each";
        let png = render_sweep(
            &chromium,
            &d,
            &d.join("out/sweep.json"),
            &["--title", title],
        );
        if std::env::var_os("MEMWATCH_UPDATE_EXAMPLE").is_some_and(|v| v == "1") {
            let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plot/sweep.png");
            fs::copy(&png, &example).unwrap();
            eprintln!("wrote {}", example.display());
        }
    }
}
