//! The export formats' unit tests: names, units, escaping, unknown figures and bounds.

use super::*;
use crate::output::svg::tests::report;

fn sample() -> Report {
    let mut r = report(
        &["make", "-j8"],
        &[(0, 1024), (500, 300 * 1024), (900, 2048)],
    );
    r.duration_seconds = 3725.5;
    r.cpu_user_seconds = Some(6.0);
    r.cpu_system_seconds = Some(1.45);
    r
}

#[test]
fn snakemake_writes_its_header_units_and_na() {
    let text = snakemake::tsv(&of_report(&sample()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"
    );
    assert_eq!(
        lines[1],
        "3725.5000\t1:02:05\t300.00\tNA\tNA\tNA\tNA\tNA\t0.20\t7.45"
    );
    assert_eq!(snakemake::hms(86_400.0 * 2.0 + 61.9), "2 days, 0:01:01");
    assert_eq!(snakemake::hms(86_400.0 + 3.0), "1 day, 0:00:03");
}

#[test]
fn snakemake_writes_na_for_a_bound_never_a_wrong_value() {
    let mut r = sample();
    r.processes_unreadable = 2;
    r.max_total_rss_is_lower_bound = true;
    r.rusage_is_lower_bound = true;
    let row = snakemake::tsv(&of_report(&r));
    let cells: Vec<&str> = row.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(cells[2], "NA", "max_rss: {row}");
    assert_eq!(&cells[8..], ["NA", "NA"], "{row}");
}

#[test]
fn openmetrics_names_units_and_labels() {
    let text = openmetrics::exposition(&of_report(&sample()), &[("job", "a \"b\"\\\nc")]);
    assert!(
        text.contains(
            "# TYPE memwatch_max_total_rss_bytes gauge\n# UNIT memwatch_max_total_rss_bytes bytes\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("memwatch_max_total_rss_bytes{job=\"a \\\"b\\\"\\\\\\nc\"} 314572800\n"),
        "{text}"
    );
    assert!(
        text.contains("memwatch_processes{"),
        "no _total on a gauge: {text}"
    );
    assert!(text.contains("memwatch_cpu_user_seconds{job="), "{text}");
    assert!(!text.contains("memwatch_figure_bound"), "{text}");
    assert!(text.ends_with("# EOF\n"));
    // A figure the report does not know is left out, never 0.
    assert!(!text.contains("max_total_pss"), "{text}");
}

#[test]
fn openmetrics_names_a_lower_bound() {
    let mut r = sample();
    r.processes_unreadable = 1;
    r.max_total_rss_is_lower_bound = true;
    let text = openmetrics::exposition(&of_report(&r), &[]);
    assert!(
        text.contains(
            "memwatch_figure_bound{figure=\"memwatch_max_total_rss_bytes\",bound=\"lower\"} 1"
        ),
        "{text}"
    );
}

#[test]
fn github_benchmark_charts_memory_in_mib_and_leaves_out_the_unknown() {
    let text = benchmark::github(&of_report(&sample()), "build", "ctx");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = v.as_array().unwrap();
    let total = entries
        .iter()
        .find(|e| e["name"] == "build - Max total RSS")
        .expect("the total");
    assert_eq!(total["unit"], "MiB");
    assert_eq!(total["value"], 300.0);
    assert_eq!(total["extra"], "ctx");
    assert!(entries.iter().all(|e| e["value"].is_number()));
    assert!(!text.contains("PSS"), "{text}");
    // Samples: more is not worse, so it is not charted.
    assert!(!text.contains("Samples"), "{text}");
}

#[test]
fn bencher_measures_in_base_units() {
    let text = benchmark::bencher(&of_report(&sample()), "build");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["build"]["max-total-rss"]["value"],
        300.0 * 1024.0 * 1024.0
    );
    assert_eq!(v["build"]["duration"]["value"], 3725.5);
    assert_eq!(v["build"]["cpu-user"]["value"], 6.0);
}

#[test]
fn markdown_escapes_what_it_shows_and_holds_one_table() {
    let mut r = sample();
    r.command = vec!["sh".into(), "-c".into(), "a | b `x`".into()];
    let text = markdown::report(&r, None);
    assert!(
        text.starts_with("### memwatch: `` sh -c a | b `x` ``\n"),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("|---:")).count(), 1);
    assert!(text.contains("| 300.0 MiB |"), "{text}");
    assert_eq!(markdown::text("a*b_[c]"), "a\\*b\\_\\[c\\]");
    assert_eq!(markdown::code("x|y", true), "`x\\|y`");
}
