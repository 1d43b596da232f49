//! `merge`'s text: the job span, the job peak and the totals, one row per report, the
//! largest processes, and how the reports were aligned.

use std::io::{self, Write};

use jiff::Timestamp;

use super::align::offset_ms;
use crate::model::figures::{FIGURES, Merge, by_name};
use crate::model::merge::Merged;
use crate::output::table::{self, Align};
use crate::output::units::{self, iec, iec_or_unknown, short_command};

/// Commands are cut to this many characters in the process list.
const COMMAND_WIDTH: usize = 100;

/// An instant for people: RFC 3339 UTC to the millisecond.
pub(super) fn human_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `+3.2 s` after the merge's start.
fn human_offset(from: Timestamp, to: Timestamp) -> String {
    format!("+{}", units::millis(offset_ms(from, to)))
}

/// `Label:` padded to the summary's first column (a longer one still gets its space).
fn heading(label: &str) -> String {
    format!("{:<17}", format!("{label}: "))
}

/// `private RSS` as a heading: `Private RSS`.
fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Write the human summary of a merge.
pub(crate) fn write_human(m: &Merged, out: &mut dyn Write) -> io::Result<()> {
    let n = m.reports.len();
    writeln!(
        out,
        "Merged:          {n} report{} from {} host{} ({})",
        if n == 1 { "" } else { "s" },
        m.hosts.len(),
        if m.hosts.len() == 1 { "" } else { "s" },
        short_command(&m.hosts.join(", "), 120),
    )?;
    writeln!(
        out,
        "Job span:        {} to {} ({}, earliest start to latest end)",
        human_time(m.start_time),
        human_time(m.end_time),
        units::seconds(m.duration_seconds),
    )?;
    for f in FIGURES.iter().filter(|f| f.merge == Merge::Sum) {
        if let Some(v) = m.totals.get(f) {
            writeln!(
                out,
                "{}{} in all reports",
                heading(f.label),
                units::value(f.unit, v)
            )?;
        }
    }
    writeln!(out)?;
    write_peak(m, out)?;
    writeln!(out)?;
    write_reports(m, out)?;
    write_processes(m, out)?;
    writeln!(out)?;
    writeln!(
        out,
        "Clock:           reports are aligned on each node's own wall clock, which assumes the\n\
         \x20                nodes' clocks are synchronised (NTP, chrony, PTP): an offset between two\n\
         \x20                clocks shifts those nodes' curves by that much. Samples are at most {}\n\
         \x20                apart, so the job peak's time is accurate to about that, plus any offset.",
        units::millis(m.resolution_ms),
    )?;
    for w in &m.warnings {
        writeln!(out, "warning: {w}")?;
    }
    out.flush()
}

/// The job peak, and the sums of peaks that only bound it.
fn write_peak(m: &Merged, out: &mut dyn Write) -> io::Result<()> {
    match (m.max_total_rss_kib, m.max_total_rss_time) {
        (Some(kib), Some(t)) => {
            writeln!(
                out,
                "Job peak RSS:    {} at {} ({}), the reports' totals added at one instant",
                iec(kib),
                human_time(t),
                human_offset(m.start_time, t),
            )?;
            if m.max_total_rss_is_upper_bound {
                writeln!(
                    out,
                    "                 (an upper bound at a resolution of {}: thinned timelines keep each span's maximum)",
                    units::millis(m.resolution_ms),
                )?;
            }
        }
        _ => writeln!(
            out,
            "Job peak RSS:    unknown (no report has a sample of its job)"
        )?,
    }
    let total = by_name("total").map(|f| m.totals.get(f));
    if let Some(Some(sum)) = total {
        if m.reports.len() > 1 {
            writeln!(
                out,
                "Sum of peaks:    {} (upper bound only, NOT the job peak: the reports need not peak together)",
                iec(sum as u64),
            )?;
        }
    }
    for f in FIGURES
        .iter()
        .filter(|f| matches!(f.merge, Merge::SumOfPeaks { .. }))
    {
        if let Some(sum) = m.totals.get(f) {
            let short = f.label.trim_start_matches("Max total ");
            writeln!(
                out,
                "{}{} (each report's {short} peak added: an upper bound, as {short} has no timeline to align)",
                heading(&format!("{}, summed", capitalized(short))),
                units::value(f.unit, sum),
            )?;
        }
    }
    Ok(())
}

/// One row per report: its rank, host, own peak and when, its total at the job peak.
fn write_reports(m: &Merged, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Per report:")?;
    let total = by_name("total");
    let duration = by_name("duration");
    let mut rows = vec![
        [
            "rank",
            "host",
            "peak",
            "at",
            "at job peak",
            "duration",
            "file",
        ]
        .map(str::to_string)
        .to_vec(),
    ];
    rows.extend(m.reports.iter().map(|r| {
        let peak = total.and_then(|f| r.figures.get(f)).map(|v| v as u64);
        vec![
            r.rank.clone().unwrap_or_else(|| "-".to_string()),
            r.hostname.clone(),
            iec_or_unknown(peak),
            r.max_total_rss_time
                .map_or_else(|| "-".to_string(), |t| human_offset(m.start_time, t)),
            iec(r.rss_at_job_peak_kib),
            units::seconds(duration.and_then(|f| r.figures.get(f)).unwrap_or(0.0)),
            r.file.clone(),
        ]
    }));
    use Align::{Left, Right};
    let mut align = vec![Right, Left, Right, Right, Right, Right, Left];
    if m.reports.iter().any(|r| r.memory_limit.is_some()) {
        add_limits(m, &mut rows, &mut align);
    }
    out.write_all(table::render(&rows, &align, 2).as_bytes())
}

/// Each report's limit in force and its peak's share of it, before the file column:
/// limits are per report (per node), never added up.
fn add_limits(m: &Merged, rows: &mut [Vec<String>], align: &mut Vec<Align>) {
    let share = by_name("limit");
    let at = rows[0].len() - 1;
    rows[0].insert(at, "limit".to_string());
    rows[0].insert(at + 1, "of limit".to_string());
    for (row, r) in rows[1..].iter_mut().zip(&m.reports) {
        let limit = r.memory_limit.as_ref().map_or_else(
            || "-".to_string(),
            |l| format!("{} ({})", iec(l.kib), l.describe()),
        );
        let pct = share
            .and_then(|f| r.figures.get(f).map(|v| units::value(f.unit, v)))
            .unwrap_or_else(|| "-".to_string());
        row.insert(at, limit);
        row.insert(at + 1, pct);
    }
    align.insert(at, Align::Right);
    align.insert(at + 1, Align::Right);
}

/// The processes with the largest peaks across the reports.
fn write_processes(m: &Merged, out: &mut dyn Write) -> io::Result<()> {
    if m.processes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Largest processes across reports:")?;
    let mut rows = vec![
        ["host", "rank", "pid", "peak", "command"]
            .map(str::to_string)
            .to_vec(),
    ];
    rows.extend(m.processes.iter().map(|p| {
        vec![
            p.hostname.clone(),
            p.rank.clone().unwrap_or_else(|| "-".to_string()),
            p.pid.to_string(),
            iec_or_unknown(p.max_rss_kib),
            short_command(&p.command, COMMAND_WIDTH),
        ]
    }));
    use Align::{Left, Right};
    let align = [Left, Right, Right, Right, Left];
    out.write_all(table::render(&rows, &align, 2).as_bytes())?;
    let listed = m.processes.len() as u64;
    let total = by_name("processes")
        .and_then(|f| m.totals.get(f))
        .map_or(0, |v| v as u64);
    if total > listed {
        writeln!(out, "  … and {} more (see --top, --json)", total - listed)?;
    }
    Ok(())
}

/// Write a merge as pretty JSON with a final newline.
pub(crate) fn write_json(m: &Merged, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, m)?;
    out.write_all(b"\n")?;
    out.flush()
}
