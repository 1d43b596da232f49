//! Snakemake's benchmark TSV (the file a rule's `benchmark:` directive names): its exact
//! header and units, one row. Columns memwatch has no figure for, and figures that are
//! bounds rather than values, are `NA`, as Snakemake writes a figure it could not measure.
//!
//! Which memwatch figure is which column: `s` and `h:m:s` the duration; `max_rss` the max
//! total RSS (the true peak of the tree's sum at one instant, not a sum of per-process
//! peaks); `max_pss` the max total PSS (`run --metric pss`); `mean_load` the CPU time over
//! the duration, in percent; `cpu_time` the user and system CPU time. `max_vms`, `max_uss`
//! (USS counts private file-backed pages, which memwatch's private RSS leaves out),
//! `io_in` and `io_out` (megabytes; memwatch counts block operations) are `NA`. Memory is
//! in MB as Snakemake writes it: bytes / 1024².

use super::{Bound, Exported};

/// Snakemake's header, tab-separated.
pub(crate) const HEADER: &str =
    "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time";

/// The exact value of the figure with report key `key`: `None` when unknown or a bound.
fn exact(figures: &[Exported], key: &str) -> Option<f64> {
    figures
        .iter()
        .find(|e| e.figure.key == key && e.bound == Bound::Exact)
        .and_then(|e| e.value)
}

/// Seconds as Snakemake's `h:m:s`: whole seconds, `N day(s), ` before the hours from a day
/// on.
pub(crate) fn hms(seconds: f64) -> String {
    let total = seconds.max(0.0) as u64;
    let (days, rest) = (total / 86_400, total % 86_400);
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        d => format!("{d} days, {clock}"),
    }
}

fn two(v: Option<f64>) -> String {
    v.map_or_else(|| "NA".to_string(), |v| format!("{v:.2}"))
}

/// The TSV: the header and one row of `figures`.
pub(crate) fn tsv(figures: &[Exported]) -> String {
    let mb = |key| exact(figures, key).map(|kib| kib / 1024.0);
    let s = exact(figures, "duration_seconds");
    let cpu = exact(figures, "cpu_user_seconds")
        .zip(exact(figures, "cpu_system_seconds"))
        .map(|(u, sys)| u + sys);
    let load = s
        .zip(cpu)
        .filter(|(s, _)| *s > 0.0)
        .map(|(s, cpu)| cpu / s * 100.0);
    let row = [
        s.map_or_else(|| "NA".to_string(), |s| format!("{s:.4}")),
        s.map_or_else(|| "NA".to_string(), hms),
        two(mb("max_total_rss_kib")),
        "NA".to_string(),
        "NA".to_string(),
        two(mb("max_total_pss_kib")),
        "NA".to_string(),
        "NA".to_string(),
        two(load),
        two(cpu),
    ];
    format!("{HEADER}\n{}\n", row.join("\t"))
}
