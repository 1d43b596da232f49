//! `memwatch export`: each format read back by its consumer's own reader where a package
//! provides one (GFM Markdown by pulldown-cmark, OpenMetrics by the Prometheus Python
//! client's parsers), the others checked against their published shape (Snakemake's
//! header and units, github-action-benchmark's and Bencher's JSON); reports of schema
//! version 1 and merges export too; every error is one line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::*;

/// A real job's report: a 40 MiB worker under a shell.
fn real_job(d: &TempDir) -> PathBuf {
    real_job_named(d, "job.json")
}

/// [`real_job`], its report written to `name` in `d`.
fn real_job_named(d: &TempDir, name: &str) -> PathBuf {
    let report = d.join(name);
    let f = finish(
        memwatch(["run", "-q", "-i", "20", "-o"])
            .arg(&report)
            .args(["--", BIN, "__workload", "--mib", "40", "--hold-ms", "400"]),
    );
    f.assert_code(0);
    report
}

/// `memwatch export <report> --to <to> <more>`'s standard output; it must succeed.
fn export(report: &Path, to: &str, more: &[&str]) -> String {
    let o = output(
        memwatch(["export"])
            .arg(report)
            .args(["--to", to])
            .args(more),
    );
    assert!(o.status.success(), "{o:?}");
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    text(&o.stdout)
}

/// Markdown as GitHub shows it: CommonMark with GFM tables.
fn render_gfm(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    out
}

#[test]
fn markdown_renders_as_one_table_of_the_headline_figures() {
    let d = tempdir("export-md");
    let report = real_job(&d);
    let r = read_report(&report);
    let md = export(&report, "markdown", &[]);
    let html = render_gfm(&md);
    assert_eq!(html.matches("<table>").count(), 1, "{html}");
    assert!(
        html.contains("<th style=\"text-align: right\">Max total RSS</th>"),
        "{html}"
    );
    assert!(
        html.contains("<th style=\"text-align: left\">Exit status</th>"),
        "{html}"
    );
    // The peak as the human summary writes it, in its cell.
    let peak = r.max_total_rss_kib.unwrap() as f64 / 1024.0;
    assert!(
        html.contains(&format!(
            "<td style=\"text-align: right\">{peak:.1} MiB</td>"
        )),
        "{peak} {html}"
    );
    // The command line, shown as it is, as the heading.
    assert!(html.contains("<h3>memwatch: <code>"), "{html}");
    assert!(
        html.contains("__workload --mib 40 --hold-ms 400</code></h3>"),
        "{html}"
    );
    // A name given: the heading, escaped so Markdown shows it as typed.
    let md = export(&report, "markdown", &["--name", "build *all* | <x>"]);
    assert!(
        render_gfm(&md).contains("<h3>memwatch: build *all* | &lt;x&gt;</h3>"),
        "{md}"
    );
}

#[test]
fn markdown_and_benchmarks_of_a_merge_give_the_jobs_aligned_peak() {
    let d = tempdir("export-merge");
    let a = real_job(&d);
    let b = real_job_named(&d, "b.json");
    let merged = d.join("merged.json");
    let o = output(
        memwatch(["merge", "--json", "-o"])
            .arg(&merged)
            .arg(&a)
            .arg(&b),
    );
    assert!(o.status.success(), "{o:?}");
    let m: Value = serde_json::from_slice(&fs::read(&merged).unwrap()).unwrap();
    let peak_mib = m["max_total_rss_kib"].as_f64().unwrap() / 1024.0;
    let html = render_gfm(&export(&merged, "markdown", &[]));
    // The job's figures, then one row per report.
    assert_eq!(html.matches("<table>").count(), 2, "{html}");
    assert!(
        html.contains("memwatch: merge of 2 reports from 1 host"),
        "{html}"
    );
    let json: Value = serde_json::from_str(&export(&merged, "github-benchmark", &[])).unwrap();
    let total = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "merge - Max total RSS")
        .expect("the merge's peak");
    assert!(
        (total["value"].as_f64().unwrap() - peak_mib).abs() < 0.001,
        "{json}"
    );
    // Per-process peaks are not a job figure of a merge: left out, not summed.
    assert!(!json.to_string().contains("Max per process"), "{json}");
}

#[test]
fn github_benchmark_and_bencher_json_have_their_published_shape() {
    let d = tempdir("export-bench");
    let report = real_job(&d);
    let r = read_report(&report);
    let peak = r.max_total_rss_kib.unwrap() as f64;
    let gh: Value =
        serde_json::from_str(&export(&report, "github-benchmark", &["--name", "job"])).unwrap();
    let entries = gh.as_array().expect("customSmallerIsBetter is an array");
    for e in entries {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(
            keys.iter()
                .all(|k| ["name", "unit", "value", "range", "extra"].contains(k)),
            "{e}"
        );
        assert!(
            e["name"].is_string() && e["unit"].is_string() && e["value"].is_number(),
            "{e}"
        );
    }
    let total = entries
        .iter()
        .find(|e| e["name"] == "job - Max total RSS")
        .unwrap();
    assert_eq!(total["unit"], "MiB");
    assert!((total["value"].as_f64().unwrap() - peak / 1024.0).abs() < 0.001);
    assert!(
        total["extra"].as_str().unwrap().contains("memwatch "),
        "{total}"
    );

    let out = d.join("bencher.json");
    let o = output(
        memwatch(["export"])
            .arg(&report)
            .args(["--to", "bencher", "--name", "job", "-o"])
            .arg(&out),
    );
    assert!(o.status.success() && o.stdout.is_empty(), "{o:?}");
    let bmf: Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        bmf["job"]["max-total-rss"]["value"].as_f64(),
        Some(peak * 1024.0),
        "{bmf}"
    );
    assert_eq!(
        bmf["job"]["duration"]["value"].as_f64(),
        Some(r.duration_seconds)
    );
}

#[test]
fn snakemake_tsv_has_its_exact_header_and_units() {
    let d = tempdir("export-snakemake");
    let report = real_job(&d);
    let r = read_report(&report);
    let tsv = export(&report, "snakemake", &[]);
    let rows: Vec<Vec<&str>> = tsv.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "s",
            "h:m:s",
            "max_rss",
            "max_vms",
            "max_uss",
            "max_pss",
            "io_in",
            "io_out",
            "mean_load",
            "cpu_time"
        ]
    );
    assert_eq!(rows.len(), 2, "{tsv}");
    assert_eq!(rows[1][0], format!("{:.4}", r.duration_seconds));
    assert_eq!(rows[1][1], "0:00:00");
    // MB as Snakemake writes them: bytes / 1024².
    let mb = r.max_total_rss_kib.unwrap() as f64 / 1024.0;
    assert_eq!(rows[1][2], format!("{mb:.2}"));
    assert_eq!(rows[1][3..8], ["NA"; 5], "{tsv}");
    let cpu = r.cpu_user_seconds.unwrap() + r.cpu_system_seconds.unwrap();
    assert_eq!(rows[1][9], format!("{cpu:.2}"));
}

/// The Prometheus Python client reads `text` with both its parsers (OpenMetrics, and the
/// Prometheus text format node_exporter's textfile collector reads) and prints what it
/// found as JSON, or `None` when the client is not installed.
fn prometheus_read(text: &str) -> Option<Value> {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
from prometheus_client.parser import text_string_to_metric_families as prom
text = sys.stdin.read()
def read(parse, text):
    return {f.name: {"type": f.type, "unit": getattr(f, "unit", ""),
                     "samples": [[s.name, s.labels, s.value] for s in f.samples]}
            for f in parse(text)}
print(json.dumps({"openmetrics": read(om, text), "prometheus": read(prom, text)}))
"#;
    // python3 on PATH (prometheus-client from PyPI), else Debian's own python3 (with the
    // python3-prometheus-client package): the first that has it.
    let python = [which("python3"), Some("/usr/bin/python3".into())]
        .into_iter()
        .flatten()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import prometheus_client"])
                .output()
                .is_ok_and(|o| o.status.success())
        })?;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the Prometheus client refused it: {}\n{text}",
        self::text(&o.stderr)
    );
    Some(serde_json::from_slice(&o.stdout).unwrap())
}

#[test]
fn openmetrics_is_read_by_the_prometheus_client() {
    let d = tempdir("export-om");
    let report = real_job(&d);
    let r = read_report(&report);
    let exposition = export(&report, "openmetrics", &["--name", "nightly \"build\""]);
    let Some(read) = prometheus_read(&exposition) else {
        skip_or_fail(
            "python3 with prometheus_client is not installed (.ci/run installs it from PyPI or Debian)",
        );
        return;
    };
    let peak = (r.max_total_rss_kib.unwrap() * 1024) as f64;
    for parser in ["openmetrics", "prometheus"] {
        let fam = &read[parser]["memwatch_max_total_rss_bytes"];
        assert_eq!(fam["type"], "gauge", "{parser}: {read}");
        let sample = &fam["samples"][0];
        assert_eq!(sample[0], "memwatch_max_total_rss_bytes");
        assert_eq!(sample[1]["job"], "nightly \"build\"", "{sample}");
        assert_eq!(sample[1]["host"], r.hostname.as_str());
        assert_eq!(sample[2].as_f64(), Some(peak), "{parser}: {sample}");
        let duration = &read[parser]["memwatch_duration_seconds"]["samples"][0][2];
        assert_eq!(duration.as_f64(), Some(r.duration_seconds), "{parser}");
        assert!(read[parser]["memwatch_processes"]["samples"][0][2].as_f64() >= Some(1.0));
    }
    assert_eq!(
        read["openmetrics"]["memwatch_max_total_rss_bytes"]["unit"],
        "bytes"
    );
}

#[test]
fn a_report_of_schema_version_1_exports_too() {
    let d = tempdir("export-v1");
    let mut v = real_report().clone();
    v["schema_version"] = 1.into();
    let obj = v.as_object_mut().unwrap();
    for k in [
        "timeline_groups",
        "attached",
        "attached_process_start_time",
        "processes_reparented",
    ] {
        obj.remove(k);
    }
    let report = write_json(&d, "v1.json", &v);
    let md = export(&report, "markdown", &[]);
    assert!(render_gfm(&md).contains("<table>"), "{md}");
    assert!(export(&report, "openmetrics", &[]).contains("memwatch_max_total_rss_bytes{"));
}

#[test]
fn export_errors_are_one_line() {
    let d = tempdir("export-errors");
    let missing = d.join("missing.json");
    let check = |cmd: &mut Command, code: i32, want: &str| {
        let o = output(cmd);
        assert_eq!(o.status.code(), Some(code), "{o:?}");
        let err = text(&o.stderr);
        assert_eq!(lines(&err).len(), 1, "one line: {err}");
        assert!(err.contains(want), "{want:?} in {err}");
        assert!(o.stdout.is_empty());
    };
    check(
        memwatch(["export"])
            .arg(&missing)
            .args(["--to", "markdown"]),
        2,
        "missing.json: cannot read it",
    );
    let not_json = d.join("notes.txt");
    fs::write(&not_json, "hello").unwrap();
    check(
        memwatch(["export"])
            .arg(&not_json)
            .args(["--to", "bencher"]),
        2,
        "notes.txt",
    );
    let mut future = real_report().clone();
    future["schema_version"] = 99.into();
    let future = write_json(&d, "future.json", &future);
    check(
        memwatch(["export"]).arg(&future).args(["--to", "bencher"]),
        2,
        "99",
    );
    let report = write_json(&d, "r.json", real_report());
    // A format memwatch does not know is a usage error: 125, as for every subcommand.
    check(
        memwatch(["export"]).arg(&report).args(["--to", "excel"]),
        125,
        "excel",
    );
    check(
        memwatch(["export"])
            .arg(&report)
            .args(["--to", "markdown", "-o"])
            .arg(d.join("no/such/dir/x.md")),
        125,
        "x.md",
    );
}

/// A real sweep's result: the workload touching 16 + 8·x MiB for x = 1, 2, 3, one run each.
fn real_sweep(d: &TempDir) -> PathBuf {
    let f = finish(
        memwatch([
            "sweep",
            "-p",
            "x",
            "1,2,3",
            "-r",
            "1",
            "-i",
            "10",
            "--predict",
            "8",
            "-o",
        ])
        .arg(d.join("sw"))
        .args([
            "--",
            BIN,
            "__workload",
            "--mib",
            "16",
            "--mib-per-unit",
            "8",
            "--units",
            "{x}",
            "--hold-ms",
            "150",
        ]),
    );
    f.assert_code(0);
    d.join("sw/sweep.json")
}

#[test]
fn a_sweep_exports_each_value_as_one_job_and_refuses_snakemake() {
    let d = tempdir("export-sweep");
    let sweep = real_sweep(&d);
    let s: Value = serde_json::from_slice(&fs::read(&sweep).unwrap()).unwrap();
    let median = |i: usize| s["points"][i]["median_max_total_rss_kib"].as_f64().unwrap();

    // Markdown: one table with a row per value, the fit and the forecast, as GitHub shows it.
    let md = export(&sweep, "markdown", &["--name", "per-unit cost"]);
    let html = render_gfm(&md);
    assert_eq!(html.matches("<table>").count(), 1, "{html}");
    assert_eq!(
        html.matches("<tr>").count(),
        4,
        "a header and 3 values: {html}"
    );
    assert!(md.contains("Fit: max total RSS ≈"), "{md}");
    assert!(md.contains("forecast at x=8"), "{md}");

    // Benchmark JSON: the medians of each value as a job named after it.
    let gh: Value =
        serde_json::from_str(&export(&sweep, "github-benchmark", &["--name", "w"])).unwrap();
    for (i, x) in ["1", "2", "3"].iter().enumerate() {
        let e = gh
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == format!("w x={x} - Max total RSS").as_str())
            .unwrap_or_else(|| panic!("x={x}: {gh}"));
        assert!((e["value"].as_f64().unwrap() - median(i) / 1024.0).abs() < 0.001);
    }
    let bmf: Value = serde_json::from_str(&export(&sweep, "bencher", &["--name", "w"])).unwrap();
    assert_eq!(
        bmf["w x=3"]["max-total-rss"]["value"].as_f64(),
        Some(median(2) * 1024.0),
        "{bmf}"
    );

    // OpenMetrics: one family, a sample per value labelled with it.
    let exposition = export(&sweep, "openmetrics", &["--name", "w"]);
    assert_eq!(
        exposition
            .matches("# TYPE memwatch_max_total_rss_bytes gauge")
            .count(),
        1
    );
    if let Some(read) = prometheus_read(&exposition) {
        for parser in ["openmetrics", "prometheus"] {
            let samples = read[parser]["memwatch_max_total_rss_bytes"]["samples"]
                .as_array()
                .unwrap();
            assert_eq!(samples.len(), 3, "{parser}: {read}");
            for (i, sample) in samples.iter().enumerate() {
                assert_eq!(sample[1]["parameter"], "x");
                assert_eq!(sample[1]["value"], (i + 1).to_string().as_str());
                assert_eq!(sample[2].as_f64(), Some(median(i) * 1024.0), "{parser}");
            }
        }
    } else {
        skip_or_fail(
            "python3 with prometheus_client is not installed (.ci/run installs it from PyPI or Debian)",
        );
    }

    // Snakemake's TSV holds one job: refused, in one line, saying what to export instead.
    let o = output(memwatch(["export"]).arg(&sweep).args(["--to", "snakemake"]));
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("Snakemake's benchmark TSV one: export one of its runs' reports"),
        "{err}"
    );
    assert!(err.contains("x=1.run1.json"), "{err}");
}
