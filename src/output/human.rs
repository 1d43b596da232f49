//! The human summary: job, duration, samples, peaks, the limit in force and the OOM kills,
//! then the per-process table sorted by peak. IEC units (1 KiB = 1024 bytes) with one
//! decimal; the only place where KiB become text.

use std::io::{self, Write};
use std::time::Duration;

use super::units::{
    Interval, duration, iec, iec_or_unknown, pid_list, plural, seconds, short_command,
};
use crate::model::{Exit, Metric, Report};

/// Rows of the per-process table; the rest are counted in a final line.
pub(crate) const MAX_ROWS: usize = 20;
/// Commands are cut to this many characters in the table.
pub(crate) const COMMAND_WIDTH: usize = 100;

/// Where the whole list of processes can be read, for the summary's last table line
/// ("… and 11 more"): it must never point to an output that was not written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FullList<'a> {
    /// The JSON report was written to this file.
    File(&'a str),
    /// The JSON report went to standard output.
    Stdout,
    /// No JSON report was written.
    NotWritten,
}

impl std::fmt::Display for FullList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FullList::File(path) => write!(f, "all of them are in {path}"),
            FullList::Stdout => f.write_str("all of them are in the JSON on standard output"),
            FullList::NotWritten => f.write_str("--json or -o FILE.json lists them all"),
        }
    }
}

/// Write the summary, with no JSON report beside it.
pub(crate) fn write(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_with(r, out, FullList::NotWritten)
}

/// Write the summary; `full` says where the whole process list is.
pub(crate) fn write_with(r: &Report, out: &mut dyn Write, full: FullList<'_>) -> io::Result<()> {
    write_job(r, out)?;
    writeln!(out)?;
    write_memory(r, out)?;
    write_limits(r, out)?;
    write_usage(r, out)?;
    write_processes(r, out, full)?;
    if !r.left_running.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Left running:    {} process(es) of the job (pids {})",
            r.left_running.len(),
            pid_list(&r.left_running)
        )?;
    }
    for w in &r.warnings {
        writeln!(out, "warning: {w}")?;
    }
    // Last, where a CI log ends: the `--max-rss` verdict.
    if let Some(check) = &r.max_rss_check {
        writeln!(out, "{}", check.verdict)?;
    }
    out.flush()
}

/// The job, its duration, the samples and how it ended.
fn write_job(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let job = short_command(&r.command.join(" "), 200);
    writeln!(out, "Job:             {job}")?;
    let dur = Duration::from_secs_f64(r.duration_seconds.max(0.0));
    writeln!(out, "Duration:        {}", duration(dur))?;
    writeln!(out, "Samples:         {}", samples_text(r))?;
    if r.attached {
        write_attached(r, out)?;
    }
    let Some(exit) = r.exit() else {
        return Ok(());
    };
    let how = match exit {
        Exit::Code(c) => format!("{c}"),
        Exit::Signal(s) => format!(
            "killed by {}",
            crate::model::signal_name(s)
                .map_or(format!("signal {s}"), |n| format!("signal {s} ({n})"))
        ),
    };
    let note = match (r.interrupt_signal, r.exit_status()) {
        (Some(s), Some(status)) if status != exit.status() => format!(
            " (memwatch was interrupted by {}: it exits {status})",
            signal_text(s)
        ),
        (Some(s), _) => format!(" (memwatch was interrupted by {})", signal_text(s)),
        (None, _) if r.interrupted => " (memwatch was interrupted)".to_string(),
        (None, _) => String::new(),
    };
    writeln!(out, "Exit status:     {how}{note}")
}

/// `3066 (every 1 ms)`; when the sampler fell behind (the achieved interval more than
/// 20% above the one asked for), `3066 (every 1 ms requested, 1.7 ms achieved)`, and with
/// `--cpu-budget` what the budget did.
fn samples_text(r: &Report) -> String {
    let budget = r.cpu_budget_percent.map(|p| {
        let p = super::units::trim_float(p);
        match r.interval_stretched_max_ms {
            Some(ms) => format!("; --cpu-budget {p}% stretched it up to {}", Interval(ms)),
            None => format!("; within --cpu-budget {p}%"),
        }
    });
    let budget = budget.unwrap_or_default();
    match r.interval_achieved_mean_ms.or(r.interval_achieved_ms) {
        Some(a) if crate::model::findings::interval_slower(r) => format!(
            "{} (every {} ms requested, {} achieved{budget})",
            r.samples,
            r.interval_ms,
            Interval(a)
        ),
        _ => format!("{} (every {} ms{budget})", r.samples, r.interval_ms),
    }
}

/// `memwatch attach`: the process, since when it ran, how the watch ended.
fn write_attached(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let root = r.processes.iter().find(|p| p.root);
    let pid = root.map_or_else(|| "?".to_string(), |p| p.pid.to_string());
    let since = r
        .attached_process_start_time
        .map_or_else(String::new, |t| format!(", running since {t:.0}"));
    writeln!(
        out,
        "Attached:        to pid {pid}{since}; measured from the attach"
    )?;
    let how = match r.interrupt_signal {
        Some(s) => format!(
            "memwatch was stopped by {} (the job was not signalled)",
            signal_text(s)
        ),
        None if r.left_running.is_empty() => {
            format!("pid {pid} exited (its status is unknown to memwatch)")
        }
        None => {
            format!("pid {pid} exited (its status is unknown to memwatch); what it started runs on")
        }
    };
    writeln!(out, "Ended:           {how}")?;
    if r.processes_reparented > 0 {
        writeln!(
            out,
            "Reparented:      {} process(es) left pid {pid}'s tree when their parent exited (still measured)",
            r.processes_reparented
        )?;
    }
    Ok(())
}

/// `at least ` for a figure that leaves processes out.
fn at_least(partial: bool) -> &'static str {
    if partial { "at least " } else { "" }
}

/// The memory figures: the max total RSS, the largest process, PSS or footprint; a figure
/// that leaves processes out says "at least" and which.
fn write_memory(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rss_left_out = if r.max_total_rss_is_lower_bound {
        rss_left_out(r)
    } else {
        String::new()
    };
    match r.max_total_rss_kib {
        Some(kib) => {
            let n = r.processes_at_peak;
            let plural = if n == 1 { "process" } else { "processes" };
            writeln!(
                out,
                "Max total RSS:   {}{} (across {n} {plural}{rss_left_out})",
                at_least(r.max_total_rss_is_lower_bound),
                iec(kib)
            )?;
        }
        None => writeln!(
            out,
            "Max total RSS:   unknown (the job ended before memwatch could measure it)"
        )?,
    }
    match (r.max_process_rss_kib, r.max_process_pid) {
        (Some(kib), Some(pid)) => writeln!(
            out,
            "Max per process: {}{} (pid {pid}{rss_left_out})",
            at_least(r.max_total_rss_is_lower_bound),
            iec(kib)
        )?,
        _ => writeln!(out, "Max per process: unknown")?,
    }
    write_private(r, out, &rss_left_out)?;
    write_extra_metric(r, out)?;
    if r.processes_unreadable > 0 {
        writeln!(
            out,
            "Unreadable:      {} process(es) whose memory the kernel would not show (not in the totals)",
            r.processes_unreadable
        )?;
    }
    Ok(())
}

/// The max total private RSS: the RSS without file-backed and shared pages; on macOS,
/// why there is none.
fn write_private(r: &Report, out: &mut dyn Write, rss_left_out: &str) -> io::Result<()> {
    match r.max_total_private_rss_kib {
        Some(kib) => writeln!(
            out,
            "Max private:     {}{} (the RSS without file-backed and shared pages, summed at \
             one sample{rss_left_out})",
            at_least(r.max_total_rss_is_lower_bound),
            iec(kib)
        ),
        None if r.os == "macos" && r.max_total_rss_kib.is_some() => writeln!(
            out,
            "Max private:     unknown (macOS does not tell a process's shared pages from its \
             own; --metric footprint measures the physical footprint)"
        ),
        None => Ok(()),
    }
}

/// The max total PSS or footprint (`--metric`), when measured.
fn write_extra_metric(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let (heading, kib, partial, what, noun) = match r.metric {
        Metric::Pss => (
            "Max total PSS:   ",
            r.max_total_pss_kib,
            r.max_total_pss_is_lower_bound,
            "shared pages counted once",
            "PSS",
        ),
        Metric::Footprint => (
            "Max footprint:   ",
            r.max_total_footprint_kib,
            r.max_total_footprint_is_lower_bound,
            "physical footprint",
            "footprint",
        ),
        Metric::Rss => return Ok(()),
    };
    let Some(kib) = kib else {
        return writeln!(out, "{heading}unknown (never read)");
    };
    let left = if partial {
        left_out(
            r.processes_metric_unreadable
                + r.processes_unreadable
                + r.processes_invisible
                + r.fd_shortage_processes,
            &format!("process whose {noun} could not be read"),
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "{heading}{}{} ({what}{left})",
        at_least(partial),
        iec(kib)
    )
}

/// What the kernel accounted to the job once it was over: its CPU time and average use of
/// a core, then its page faults, context switches and block I/O, each "at least" when
/// processes memwatch did not wait for are missing.
fn write_usage(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let (Some(user), Some(system)) = (r.cpu_user_seconds, r.cpu_system_seconds) else {
        return Ok(());
    };
    let at_least = at_least(r.rusage_is_lower_bound);
    let mut notes = Vec::new();
    if r.duration_seconds > 0.0 {
        let share = (user + system) / r.duration_seconds * 100.0;
        notes.push(format!("{share:.0}% of one core on average"));
    }
    if r.rusage_is_lower_bound {
        notes.push(match r.left_running.len() {
            0 => "without processes memwatch did not wait for".to_string(),
            n => format!(
                "without the {} left running",
                plural(n as u64, "process", "processes")
            ),
        });
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    writeln!(
        out,
        "CPU:             {at_least}{} user, {} system{notes}",
        seconds(user),
        seconds(system)
    )?;
    let n = |v: Option<u64>| v.map_or_else(|| "unknown".to_string(), |v| v.to_string());
    writeln!(
        out,
        "Kernel counts:   {at_least}page faults {} minor / {} major · context switches {} \
         voluntary / {} involuntary · block I/O {} in / {} out",
        n(r.page_faults_minor),
        n(r.page_faults_major),
        n(r.context_switches_voluntary),
        n(r.context_switches_involuntary),
        n(r.block_input_ops),
        n(r.block_output_ops),
    )
}

/// The per-process table, largest peak first, and where the rest are.
fn write_processes(r: &Report, out: &mut dyn Write, full: FullList<'_>) -> io::Result<()> {
    if r.processes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Per-process peak RSS:")?;
    let rows = &r.processes[..r.processes.len().min(MAX_ROWS)];
    let pid_w = rows
        .iter()
        .map(|p| p.pid.to_string().len())
        .max()
        .unwrap_or(1);
    let peaks: Vec<String> = rows.iter().map(|p| iec_or_unknown(p.max_rss_kib)).collect();
    let peak_w = peaks.iter().map(String::len).max().unwrap_or(1);
    for (p, peak) in rows.iter().zip(&peaks) {
        let cmd = short_command(&p.command, COMMAND_WIDTH);
        let note = if p.peak_before_exec {
            format!("  (before its exec, as a copy of pid {})", p.ppid)
        } else if let Some(step) = &p.adopted_step {
            format!("  (adopted from Slurm step {step})")
        } else {
            String::new()
        };
        writeln!(
            out,
            "  pid {:>pid_w$}  {:>peak_w$}  {cmd}{note}",
            p.pid, peak
        )?;
    }
    let more = (r.processes.len() - rows.len()) as u64 + r.processes_omitted;
    if more > 0 {
        writeln!(out, "  … and {more} more ({full})")?;
    }
    Ok(())
}

/// `; without 2 unreadable processes`: the processes a lower bound leaves out, as the end
/// of a parenthesis (`what` is singular).
fn left_out(n: u64, what: &str) -> String {
    match n {
        1 => format!("; without 1 {what}"),
        n => format!("; without {n} {}", what.replacen("process", "processes", 1)),
    }
}

/// What the RSS figures leave out, as the end of a parenthesis: `; without 1 unreadable
/// process and 2 processes memwatch could not see`.
fn rss_left_out(r: &Report) -> String {
    let parts: Vec<String> = [
        (r.processes_unreadable, "unreadable process"),
        (r.processes_invisible, "process memwatch could not see"),
        (
            r.fd_shortage_processes,
            "process unread for want of file descriptors",
        ),
    ]
    .into_iter()
    .filter(|&(n, _)| n > 0)
    .map(|(n, what)| left_out(n, what)["; without ".len()..].to_string())
    .collect();
    if parts.is_empty() {
        // Only births memwatch may have missed when it ran out of descriptors.
        return "; memwatch ran out of file descriptors".to_string();
    }
    format!("; without {}", parts.join(" and "))
}

/// `SIGTERM`, or `signal 40` for a number without a name.
fn signal_text(s: i32) -> String {
    crate::model::signal_name(s).map_or_else(|| format!("signal {s}"), str::to_string)
}

/// A share of a limit: whole percents, one decimal below 10% and around 100%.
fn percent_text(p: f64) -> String {
    if p < 10.0 || (99.5..100.5).contains(&p) {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// The limit in force and the headroom, the cgroup's own peak when the job had its
/// cgroup to itself, and the OOM kills (or that there were none).
fn write_limits(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    if let Some(l) = &r.memory_limit {
        let share = match r.peak_percent_of_limit {
            Some(p) => format!(
                "peak {}{} of it",
                at_least(r.max_total_rss_is_lower_bound),
                percent_text(p)
            ),
            None => "peak unknown".to_string(),
        };
        let oom = if r.oom_kill_count == Some(0) {
            "; no OOM kill in the job's cgroup"
        } else {
            ""
        };
        writeln!(
            out,
            "Limit:           {} ({}); {share}{oom}",
            iec(l.kib),
            l.describe()
        )?;
    }
    if let Some(kib) = r.cgroup_peak_kib {
        writeln!(
            out,
            "Cgroup peak:     {} (the kernel's high-water mark of the job's cgroup: page cache and kernel memory included)",
            iec(kib)
        )?;
    }
    for k in &r.oom_kills {
        let how = if k.certain {
            "was killed by the OOM killer"
        } else {
            "was probably killed by the OOM killer (its parent reaped it, so memwatch could not see how it ended; it ended when the cgroup counted the kill)"
        };
        let limit = k.limit.as_ref().map_or(String::new(), |l| {
            format!(", limit {} ({})", iec(l.kib), l.describe())
        });
        writeln!(
            out,
            "OOM kill:        pid {} ({}) {how}: last sampled RSS {}{limit}",
            k.pid,
            short_command(&k.command, 60),
            iec_or_unknown(k.last_rss_kib),
        )?;
    }
    let named = r.oom_kills.len() as u64;
    if let Some(unnamed) = r
        .oom_kill_count
        .map(|n| n.saturating_sub(named))
        .filter(|&n| n > 0)
    {
        writeln!(
            out,
            "OOM kill:        {unnamed} more process{} in the job's cgroup killed by the OOM killer during the run, which memwatch could not name",
            if unnamed == 1 { "" } else { "es" }
        )?;
    }
    Ok(())
}
