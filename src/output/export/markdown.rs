//! A compact Markdown summary (GitHub Flavored Markdown: CommonMark and tables) for
//! `$GITHUB_STEP_SUMMARY` or a pull-request comment: a heading naming the job, one table of
//! the headline figures, what made up the peak, the warnings.

use std::fmt::Write as _;

use super::{Bound, Exported, of_merge, of_report};
use crate::model::figures::by_key;
use crate::model::merge::Merged;
use crate::model::{Exit, Report, signal_name};
use crate::output::units::{self, iec};

/// Text as Markdown that shows it as it is: every ASCII punctuation character escaped
/// (CommonMark lets any be), line breaks as spaces.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text as a code span: fenced by more backticks than it holds in a row, padded when it
/// starts or ends with one, pipes escaped so a table keeps its cells (GFM reads `\|` as a
/// pipe inside a code span in a table).
pub(crate) fn code(s: &str, in_table: bool) -> String {
    let s: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.trim().is_empty() {
        " "
    } else {
        ""
    };
    let body = if in_table { s.replace('|', "\\|") } else { s };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A figure's value as the table shows it.
fn cell(e: &Exported) -> String {
    let Some(v) = e.value else {
        return "unknown".to_string();
    };
    let v = units::value(e.figure.unit, v);
    match e.bound {
        Bound::Exact => v,
        Bound::AtLeast => format!("≥ {v}"),
        Bound::AtMost => format!("≤ {v}"),
    }
}

/// One table: a header row, the alignment row, the rows.
fn table(out: &mut String, header: &[String], right: &[bool], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let align: Vec<&str> = right
        .iter()
        .map(|&r| if r { "---:" } else { ":---" })
        .collect();
    let _ = writeln!(out, "|{}|", align.join("|"));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
}

/// How the job ended, for the table.
fn ended(r: &Report) -> String {
    if r.attached {
        return match r.interrupt_signal {
            Some(s) => format!("attached; stopped by {}", signal_text(s)),
            None => "attached; the process exited".to_string(),
        };
    }
    let how = match r.exit() {
        Some(Exit::Code(c)) => c.to_string(),
        Some(Exit::Signal(s)) => format!("killed by {}", signal_text(s)),
        None => "unknown".to_string(),
    };
    match r.interrupt_signal {
        Some(s) => format!("{how} (memwatch interrupted by {})", signal_text(s)),
        None => how,
    }
}

fn signal_text(s: i32) -> String {
    signal_name(s).map_or_else(|| format!("signal {s}"), str::to_string)
}

/// The summary of a report, headed by `name` (the command line by default).
pub(crate) fn report(r: &Report, name: Option<&str>) -> String {
    let mut out = String::new();
    let title = match name {
        Some(n) => text(n),
        None => code(&r.command.join(" "), false),
    };
    let _ = writeln!(out, "### memwatch: {title}\n");
    let figures = of_report(r);
    let mut header: Vec<String> = figures.iter().map(|e| text(e.figure.label)).collect();
    header.push("Exit status".to_string());
    let mut right = vec![true; figures.len()];
    right.push(false);
    let mut row: Vec<String> = figures.iter().map(cell).collect();
    row.push(text(&ended(r)));
    table(&mut out, &header, &right, &[row]);
    let _ = writeln!(out);
    peak_line(&mut out, r);
    let host = if r.hostname.is_empty() {
        String::new()
    } else {
        format!(" on {}", text(&r.hostname))
    };
    let _ = writeln!(
        out,
        "memwatch {}{host}, started {}, sampled every {} ms\\.",
        text(&r.memwatch_version),
        text(&r.start_time.to_string()),
        r.interval_ms
    );
    for w in &r.warnings {
        let _ = writeln!(out, "\n> **warning:** {}", text(w));
    }
    out
}

/// When the peak was and which programs made it up.
fn peak_line(out: &mut String, r: &Report) {
    let (Some(kib), Some(ms)) = (r.max_total_rss_kib, r.max_total_rss_ms) else {
        return;
    };
    let n = r.processes_at_peak;
    let _ = write!(
        out,
        "**Peak** {} at {} across {n} process{}",
        text(&iec(kib)),
        text(&units::millis(ms)),
        if n == 1 { "" } else { "es" }
    );
    let groups = r.timeline_groups.iter().flat_map(|g| &g.groups);
    let parts: Vec<String> = groups
        .filter(|g| g.rss_at_peak_kib > 0)
        .map(|g| {
            let name = if g.other {
                "other programs"
            } else {
                &g.program
            };
            let share = g.rss_at_peak_kib as f64 * 100.0 / kib.max(1) as f64;
            format!(
                "{} {} \\({share:.0}%\\)",
                code(name, false),
                text(&iec(g.rss_at_peak_kib))
            )
        })
        .collect();
    if parts.is_empty() {
        let _ = writeln!(out, "\\.\n");
    } else {
        let _ = writeln!(out, ": {}\\.\n", parts.join(" · "));
    }
}

/// The summary of a merge: the job's figures, then one row per report.
pub(crate) fn merge(m: &Merged, name: Option<&str>) -> String {
    let mut out = String::new();
    let hosts = m.hosts.len();
    let title = name.map_or_else(
        || {
            format!(
                "merge of {} report{} from {hosts} host{}",
                m.reports.len(),
                if m.reports.len() == 1 { "" } else { "s" },
                if hosts == 1 { "" } else { "s" }
            )
        },
        text,
    );
    let _ = writeln!(out, "### memwatch: {title}\n");
    let figures = of_merge(m);
    let header: Vec<String> = figures.iter().map(|e| text(e.figure.label)).collect();
    let row: Vec<String> = figures.iter().map(cell).collect();
    table(&mut out, &header, &vec![true; figures.len()], &[row]);
    let _ = writeln!(out);
    if let (Some(kib), Some(at)) = (m.max_total_rss_kib, m.max_total_rss_time) {
        let _ = writeln!(
            out,
            "**Job peak** {} at {}: the reports' totals added at one instant\\.\n",
            text(&iec(kib)),
            text(&at.to_string())
        );
    }
    let total = by_key("max_total_rss_kib");
    let duration = by_key("duration_seconds");
    let rows: Vec<Vec<String>> = m
        .reports
        .iter()
        .map(|r| {
            let get = |f: Option<&'static crate::model::figures::Figure>| {
                f.and_then(|f| r.figures.get(f).map(|v| units::value(f.unit, v)))
                    .unwrap_or_else(|| "unknown".to_string())
            };
            vec![
                text(r.rank.as_deref().unwrap_or("")),
                text(&r.hostname),
                get(total),
                text(&iec(r.rss_at_job_peak_kib)),
                get(duration),
                code(&r.file, true),
            ]
        })
        .collect();
    let header = ["Rank", "Host", "Peak", "At job peak", "Duration", "Report"].map(String::from);
    table(
        &mut out,
        &header,
        &[false, false, true, true, true, false],
        &rows,
    );
    for w in &m.warnings {
        let _ = writeln!(out, "\n> **warning:** {}", text(w));
    }
    out
}
