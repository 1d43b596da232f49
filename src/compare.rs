//! `memwatch compare`: reports side by side, a regression verdict, scaling tables.
//!
//! Two reports (or `--base …` and `--new …`, whose figures are the medians of their
//! reports) give a change table and a one-line verdict, checked against `--max-increase`
//! when given. Three or more give a scaling table with each figure's ratio to the first.
//! With `--json` the same comparison is written as [`CompareJson`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::error::{EXIT_BAD_INPUT, Error, os_message};
use crate::output::human::{self, iec, iec_or_unknown};
use crate::report::{Exit, Report};

/// Exit code: the gate failed: the limit was exceeded, or (unless `--allow-failed`) a
/// report is of a failed run.
pub const EXIT_EXCEEDED: i32 = 1;

/// Version of the `compare --json` format.
pub const COMPARE_VERSION: u32 = 1;

const LONG_HELP: &str = "\
Examples:
  memwatch compare main.json branch.json --max-increase 20%
  memwatch compare main.json branch.json --max-increase 256MiB --metric process
  memwatch compare --base main1.json main2.json main3.json \\
                   --new pr1.json pr2.json pr3.json --max-increase 10%
  memwatch compare n1.json n2.json n4.json n8.json --label 1 --label 2 --label 4 --label 8
  memwatch compare main.json branch.json --metric pss --max-increase 10%   (reports of run --metric pss)

Noise: the peak of an allocation-heavy job varies from run to run (allocator timing,
parallel scheduling, when a sample falls). For a CI gate, run the job 3 times on each
side and pass the reports with --base and --new: each figure is then the median of its
side's reports (the mean of the two middle ones for an even count; unknown figures are
left out), so one unlucky run neither fails nor hides a regression.

Failed runs: a report whose command exited non-zero or was killed by a signal, whose
memwatch was interrupted, or that does not say how the command ended, is of a failed run.
Base or new alike (a gate against a crashed baseline proves nothing either), each is
noted by file and how it ended, and marked in a scaling table. With --max-increase a
failed run fails the gate (exit 1) whatever the figures, unless --allow-failed is given;
without a limit it is only noted (exit 0). --allow-failed keeps failed runs in the
--base/--new medians like the others; to leave one out, leave its report out.

Differences: reports that differ in command line (two sides only: a scaling table's
commands differ by design), host, memwatch version or OS are noted; the verdict stays
about the figures.

Exit status: 0 within the limit (or no limit given), 1 over it or a failed run (see
above), 2 if a report cannot be read or the arguments do not fit together.";

/// `memwatch compare`.
#[derive(Debug, Args)]
#[command(
    after_long_help = LONG_HELP,
    override_usage = "memwatch compare [OPTIONS] <BASE> <NEW> [MORE]...\n       \
                      memwatch compare [OPTIONS] --base <REPORT>... --new <REPORT>..."
)]
pub struct CompareArgs {
    /// Reports (JSON, from `memwatch run --json`). Two: the first is the base, the second
    /// the new one. Three or more: a scaling table, ratios to the first.
    #[arg(
        value_name = "REPORT",
        required_unless_present = "base",
        conflicts_with_all = ["base", "new"]
    )]
    pub reports: Vec<PathBuf>,

    /// Base reports: several runs of the same job (e.g. on the main branch); each figure
    /// is their median. Use with --new, instead of positional reports.
    #[arg(long, value_name = "REPORT", num_args = 1.., requires = "new")]
    pub base: Vec<PathBuf>,

    /// New reports (e.g. of the branch under test), compared by their medians with
    /// --base's.
    #[arg(long, value_name = "REPORT", num_args = 1.., requires = "base")]
    pub new: Vec<PathBuf>,

    /// Exit 1 when the new figure exceeds the base by more than this: a percentage of the
    /// base (20%) or an amount: a size for memory (512KiB, 256MiB, 1.5GiB), a time for
    /// the duration (30s, 500ms, 2min, 1h), a number for the process count (10). Two
    /// reports (or --base/--new) only.
    #[arg(long, value_name = "LIMIT", value_parser = parse_limit, allow_hyphen_values = true)]
    pub max_increase: Option<Limit>,

    /// The figure the verdict and --max-increase are about.
    #[arg(long, value_enum, value_name = "FIGURE", default_value = "total")]
    pub metric: Metric,

    /// Name the reports in the tables, in order: one per report (two with --base/--new:
    /// base and new). By default: base/new for two, else the part of the command lines
    /// that differs (falling back to the file names).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,

    /// Let the figures decide --max-increase even when reports are of failed runs (the
    /// command exited non-zero or was killed, or memwatch was interrupted), for jobs
    /// expected to fail. They are still noted, and count in the --base/--new medians like
    /// the others.
    #[arg(long)]
    pub allow_failed: bool,

    /// Write the comparison as JSON (fields in the README) instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A figure `compare` can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Max total RSS (`max_total_rss_kib`).
    Total,
    /// Max RSS of a single process (`max_process_rss_kib`).
    Process,
    /// Duration of the job (`duration_seconds`).
    Duration,
    /// Processes in the job (`processes_total`).
    Processes,
    /// Max total PSS (`max_total_pss_kib`): shared pages counted once. Reports made with
    /// `run --metric pss` (Linux).
    Pss,
    /// Max total physical footprint (`max_total_footprint_kib`). Reports made with
    /// `run --metric footprint` (macOS).
    Footprint,
}

/// What a figure measures, for limits and formatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// KiB.
    Memory,
    /// Seconds.
    Time,
    /// A count.
    Count,
}

impl Metric {
    /// "max total RSS", as the verdict says it.
    fn name(self) -> &'static str {
        match self {
            Metric::Total => "max total RSS",
            Metric::Process => "max per-process RSS",
            Metric::Duration => "duration",
            Metric::Processes => "process count",
            Metric::Pss => "max total PSS",
            Metric::Footprint => "max total footprint",
        }
    }

    /// Why a report can lack this figure, for the error when a limit needs it.
    fn unknown_reason(self) -> &'static str {
        match self {
            Metric::Pss => {
                "the report was made without `run --metric pss`, or no PSS read succeeded"
            }
            Metric::Footprint => {
                "the report was made without `run --metric footprint`, or no footprint read succeeded"
            }
            _ => "no sample saw the job alive",
        }
    }

    /// The report's JSON field.
    fn field(self) -> &'static str {
        match self {
            Metric::Total => "max_total_rss_kib",
            Metric::Process => "max_process_rss_kib",
            Metric::Duration => "duration_seconds",
            Metric::Processes => "processes_total",
            Metric::Pss => "max_total_pss_kib",
            Metric::Footprint => "max_total_footprint_kib",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Metric::Total | Metric::Process | Metric::Pss | Metric::Footprint => Kind::Memory,
            Metric::Duration => Kind::Time,
            Metric::Processes => Kind::Count,
        }
    }

    /// The figure in its unit (KiB, seconds, count), `None` when unknown.
    fn value(self, f: &Figures) -> Option<f64> {
        match self {
            Metric::Total => f.max_total_rss_kib.map(|v| v as f64),
            Metric::Process => f.max_process_rss_kib.map(|v| v as f64),
            Metric::Duration => Some(f.duration_seconds),
            Metric::Processes => Some(f.processes_total as f64),
            Metric::Pss => f.max_total_pss_kib.map(|v| v as f64),
            Metric::Footprint => f.max_total_footprint_kib.map(|v| v as f64),
        }
    }
}

/// A `--max-increase` limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// As given on the command line.
    pub text: String,
    /// What it is.
    pub amount: LimitAmount,
}

/// The parsed value of a limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LimitAmount {
    /// A percentage of the base figure.
    Percent(f64),
    /// A memory size, KiB.
    Kib(f64),
    /// A time, seconds.
    Seconds(f64),
    /// A number of processes.
    Count(u64),
}

impl LimitAmount {
    fn kind(self) -> Option<Kind> {
        match self {
            LimitAmount::Percent(_) => None,
            LimitAmount::Kib(_) => Some(Kind::Memory),
            LimitAmount::Seconds(_) => Some(Kind::Time),
            LimitAmount::Count(_) => Some(Kind::Count),
        }
    }
}

const LIMIT_FORMS: &str =
    "give a percentage (20%), a size (256MiB, 1.5GiB), a time (30s) or a process count (10)";

/// Parse `20%`, `256MiB`, `1.5GiB`, `30s`, `500ms`, `2min`, `1h`, `10`.
pub fn parse_limit(s: &str) -> Result<Limit, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    if num.is_empty() {
        return Err(if t.starts_with('-') {
            "the limit cannot be negative".to_string()
        } else {
            LIMIT_FORMS.to_string()
        });
    }
    let value: f64 = num.parse().map_err(|_| LIMIT_FORMS.to_string())?;
    if !value.is_finite() {
        return Err(LIMIT_FORMS.to_string());
    }
    let amount = match unit.to_ascii_lowercase().as_str() {
        "%" => LimitAmount::Percent(value),
        "kib" => LimitAmount::Kib(value),
        "mib" => LimitAmount::Kib(value * 1024.0),
        "gib" => LimitAmount::Kib(value * 1024.0 * 1024.0),
        "tib" => LimitAmount::Kib(value * 1024.0 * 1024.0 * 1024.0),
        "ms" => LimitAmount::Seconds(value / 1000.0),
        "s" => LimitAmount::Seconds(value),
        "min" => LimitAmount::Seconds(value * 60.0),
        "h" => LimitAmount::Seconds(value * 3600.0),
        "" if num.contains('.') => {
            return Err(format!(
                "a bare number is a process count and must be whole; {LIMIT_FORMS}"
            ));
        }
        "" => LimitAmount::Count(num.parse().map_err(|_| LIMIT_FORMS.to_string())?),
        "k" | "kb" | "m" | "mb" | "g" | "gb" | "t" | "tb" => {
            return Err(format!(
                "'{unit}' is ambiguous: memwatch uses IEC sizes (KiB, MiB, GiB, TiB: powers of 1024)"
            ));
        }
        _ => return Err(format!("unknown unit '{unit}': {LIMIT_FORMS}")),
    };
    Ok(Limit {
        text: t.to_string(),
        amount,
    })
}

/// The figures compared, from one report or the medians of several.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// Max total RSS, KiB.
    pub max_total_rss_kib: Option<u64>,
    /// Max single-process RSS, KiB.
    pub max_process_rss_kib: Option<u64>,
    /// Duration, seconds.
    pub duration_seconds: f64,
    /// Processes in the job.
    pub processes_total: u64,
    /// Samples taken.
    pub samples: u64,
    /// Max total PSS, KiB (`run --metric pss`).
    pub max_total_pss_kib: Option<u64>,
    /// Max total physical footprint, KiB (`run --metric footprint`).
    pub max_total_footprint_kib: Option<u64>,
}

impl Figures {
    /// One report's figures.
    pub fn of(r: &Report) -> Figures {
        Figures {
            max_total_rss_kib: r.max_total_rss_kib,
            max_process_rss_kib: r.max_process_rss_kib,
            duration_seconds: r.duration_seconds,
            processes_total: r.processes_total,
            samples: r.samples,
            max_total_pss_kib: r.max_total_pss_kib,
            max_total_footprint_kib: r.max_total_footprint_kib,
        }
    }

    /// The median of each figure over several reports' (unknown values left out).
    pub fn median(all: &[Figures]) -> Figures {
        let opt = |f: fn(&Figures) -> Option<u64>| median_u64(all.iter().filter_map(f).collect());
        let req = |f: fn(&Figures) -> u64| median_u64(all.iter().map(f).collect()).unwrap_or(0);
        Figures {
            max_total_rss_kib: opt(|f| f.max_total_rss_kib),
            max_process_rss_kib: opt(|f| f.max_process_rss_kib),
            duration_seconds: median_f64(all.iter().map(|f| f.duration_seconds).collect())
                .unwrap_or(0.0),
            processes_total: req(|f| f.processes_total),
            samples: req(|f| f.samples),
            max_total_pss_kib: opt(|f| f.max_total_pss_kib),
            max_total_footprint_kib: opt(|f| f.max_total_footprint_kib),
        }
    }
}

/// The median; the mean of the two middle values (rounded half up) for an even count.
pub fn median_u64(mut v: Vec<u64>) -> Option<u64> {
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((u128::from(v[n / 2 - 1]) + u128::from(v[n / 2])).div_ceil(2) as u64),
    }
}

/// The median; the mean of the two middle values for an even count.
pub fn median_f64(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Read and check one report; errors name the file.
pub fn read_report(path: &Path) -> Result<Report, Error> {
    let input = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path)
        .map_err(|e| input(format!("cannot read report: {}", os_message(&e))))?;
    crate::output::json::read(&bytes).map_err(|e| input(e.to_string()))
}

/// Default labels for reports: the part of their command lines that differs (common
/// leading and trailing arguments removed, then common words inside a single differing
/// argument such as `sh -c '…'`), with the option just before it (`-n 4`). Falls back to
/// the file names (then the paths) when that leaves a label empty or two alike.
pub fn default_labels(commands: &[&[String]], paths: &[&Path]) -> Vec<String> {
    let from_commands = distinguishing(commands);
    let labels = match from_commands {
        Some(l) if usable(&l) => l,
        _ => {
            let names: Vec<String> = paths
                .iter()
                .map(|p| {
                    p.file_name()
                        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
                })
                .collect();
            if usable(&names) {
                names
            } else {
                paths.iter().map(|p| p.display().to_string()).collect()
            }
        }
    };
    labels
        .into_iter()
        .map(|l| human::short_command(&l, 40))
        .collect()
}

/// Non-empty and distinct.
fn usable(labels: &[String]) -> bool {
    labels.iter().all(|l| !l.is_empty())
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| !labels[..i].contains(l))
}

fn distinguishing(commands: &[&[String]]) -> Option<Vec<String>> {
    if commands.len() < 2 {
        return None;
    }
    let (pre, parts) = strip_common(commands);
    if parts.iter().all(|p| p.len() == 1) && parts.iter().any(|p| p[0].contains(' ')) {
        // One differing argument each: look inside it (`sh -c "app -n 4"`).
        let words: Vec<Vec<String>> = parts
            .iter()
            .map(|p| p[0].split_whitespace().map(str::to_string).collect())
            .collect();
        let refs: Vec<&[String]> = words.iter().map(Vec::as_slice).collect();
        let (inner_pre, inner) = strip_common(&refs);
        if !inner.iter().all(|p| p.is_empty()) {
            return Some(with_option(inner_pre, &inner));
        }
    }
    Some(with_option(pre, &parts))
}

/// The common leading arguments and what remains of each command once the common leading
/// and trailing ones are removed.
fn strip_common<'a>(commands: &[&'a [String]]) -> (&'a [String], Vec<&'a [String]>) {
    let min = commands.iter().map(|c| c.len()).min().unwrap_or(0);
    let first = commands[0];
    let pre = (0..min)
        .take_while(|&i| commands.iter().all(|c| c[i] == first[i]))
        .count();
    let suf = (0..min - pre)
        .take_while(|&i| {
            let a = &first[first.len() - 1 - i];
            commands.iter().all(|c| &c[c.len() - 1 - i] == a)
        })
        .count();
    let parts = commands.iter().map(|c| &c[pre..c.len() - suf]).collect();
    (&first[..pre], parts)
}

/// Join each part, preceded by the option it is the value of (`-n 4` rather than `4`).
fn with_option(prefix: &[String], parts: &[&[String]]) -> Vec<String> {
    let option = prefix.last().filter(|a| {
        a.len() > 1 && a.starts_with('-') && !a[1..].starts_with(|c: char| c.is_ascii_digit())
    });
    parts
        .iter()
        .map(|p| {
            let joined = p.join(" ");
            match option {
                Some(o) if !p.is_empty() && !p[0].starts_with('-') => format!("{o} {joined}"),
                _ => joined,
            }
        })
        .collect()
}

/// Where one report came from and how its run ended.
#[derive(Clone, Debug)]
struct Run {
    path: PathBuf,
    command: Vec<String>,
    hostname: String,
    os: String,
    memwatch_version: String,
    /// How the command ended; `None` when the report does not say.
    exit: Option<Exit>,
    /// memwatch was sent a signal during the job.
    interrupted: bool,
}

impl Run {
    fn of(path: &Path, r: &Report) -> Run {
        Run {
            path: path.to_path_buf(),
            command: r.command.clone(),
            hostname: r.hostname.clone(),
            os: r.os.clone(),
            memwatch_version: r.memwatch_version.clone(),
            exit: r.exit(),
            interrupted: r.interrupted,
        }
    }

    /// True unless the command exited with status 0 and memwatch was not interrupted.
    fn failed(&self) -> bool {
        self.interrupted || self.exit != Some(Exit::Code(0))
    }

    /// How a failed run ended, in words: "the command exited with status 3"; `None` for
    /// a successful one.
    fn failure(&self) -> Option<String> {
        if !self.failed() {
            return None;
        }
        let ended = self.exit.map(|e| format!("the command {}", e.describe()));
        Some(match (self.interrupted, ended) {
            (false, Some(ended)) => ended,
            (false, None) => "the report does not say how the command ended".to_string(),
            (true, Some(ended)) => format!("memwatch was interrupted by a signal, and {ended}"),
            (true, None) => {
                "memwatch was interrupted by a signal before the command ended".to_string()
            }
        })
    }

    /// The same, short, for the verdict and the scaling table: "exited with status 3",
    /// "killed by signal 9 (SIGKILL)", "interrupted, killed by signal 15 (SIGTERM)".
    fn failure_short(&self) -> Option<String> {
        if !self.failed() {
            return None;
        }
        let ended = self.exit.map(|e| {
            let d = e.describe();
            d.strip_prefix("was ").map(str::to_string).unwrap_or(d)
        });
        Some(match (self.interrupted, ended) {
            (false, Some(ended)) => ended,
            (false, None) => "end unknown".to_string(),
            (true, Some(ended)) => format!("interrupted, {ended}"),
            (true, None) => "interrupted".to_string(),
        })
    }
}

/// One column of a comparison: a report, or a side's several reports.
#[derive(Clone, Debug)]
struct Entry {
    label: String,
    paths: Vec<PathBuf>,
    command: Vec<String>,
    intervals: Vec<u64>,
    figures: Figures,
    /// Reports whose extra metric missed processes it could not read, and how many.
    partial_metric: Vec<(PathBuf, u64)>,
    /// Each report's origin and end, in the order of `paths`.
    runs: Vec<Run>,
}

impl Entry {
    fn new(label: String, paths: Vec<PathBuf>, reports: &[Report]) -> Entry {
        let all: Vec<Figures> = reports.iter().map(Figures::of).collect();
        let mut intervals: Vec<u64> = reports.iter().map(|r| r.interval_ms).collect();
        intervals.sort_unstable();
        intervals.dedup();
        let partial_metric = paths
            .iter()
            .zip(reports)
            .filter(|(_, r)| r.processes_metric_unreadable > 0)
            .map(|(p, r)| (p.clone(), r.processes_metric_unreadable))
            .collect();
        let runs = paths
            .iter()
            .zip(reports)
            .map(|(p, r)| Run::of(p, r))
            .collect();
        Entry {
            label,
            paths,
            partial_metric,
            runs,
            command: reports
                .first()
                .map(|r| r.command.clone())
                .unwrap_or_default(),
            intervals,
            figures: Figures::median(&all),
        }
    }
}

/// The change of one figure, base to new.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Change<T> {
    /// New minus base, in the figure's unit (KiB, seconds, processes, samples); null when
    /// either is unknown.
    pub change: Option<T>,
    /// The change as a percentage of base; null when either is unknown, or when base is
    /// 0 and new is not.
    pub percent: Option<f64>,
}

fn percent(base: f64, new: f64) -> Option<f64> {
    if base == 0.0 {
        (new == 0.0).then_some(0.0)
    } else {
        Some((new - base) / base * 100.0)
    }
}

fn change_u64(base: Option<u64>, new: Option<u64>) -> Change<i128> {
    match (base, new) {
        (Some(b), Some(n)) => Change {
            change: Some(i128::from(n) - i128::from(b)),
            percent: percent(b as f64, n as f64),
        },
        _ => Change {
            change: None,
            percent: None,
        },
    }
}

/// Each figure's change from base to new (`compare --json`'s `changes`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Changes {
    /// Max total RSS, KiB.
    pub max_total_rss_kib: Change<i128>,
    /// Max single-process RSS, KiB.
    pub max_process_rss_kib: Change<i128>,
    /// Duration, seconds.
    pub duration_seconds: Change<f64>,
    /// Processes in the job.
    pub processes_total: Change<i128>,
    /// Samples taken.
    pub samples: Change<i128>,
    /// Max total PSS, KiB (null change unless both sides measured it).
    pub max_total_pss_kib: Change<i128>,
    /// Max total physical footprint, KiB (null change unless both sides measured it).
    pub max_total_footprint_kib: Change<i128>,
}

impl Changes {
    fn new(b: &Figures, n: &Figures) -> Changes {
        Changes {
            max_total_rss_kib: change_u64(b.max_total_rss_kib, n.max_total_rss_kib),
            max_process_rss_kib: change_u64(b.max_process_rss_kib, n.max_process_rss_kib),
            duration_seconds: Change {
                change: Some(n.duration_seconds - b.duration_seconds),
                percent: percent(b.duration_seconds, n.duration_seconds),
            },
            processes_total: change_u64(Some(b.processes_total), Some(n.processes_total)),
            samples: change_u64(Some(b.samples), Some(n.samples)),
            max_total_pss_kib: change_u64(b.max_total_pss_kib, n.max_total_pss_kib),
            max_total_footprint_kib: change_u64(
                b.max_total_footprint_kib,
                n.max_total_footprint_kib,
            ),
        }
    }
}

/// Each figure divided by the first entry's (`compare --json`'s `ratio_to_first`); null
/// when either is unknown or the first is 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ratios {
    /// Of `max_total_rss_kib`.
    pub max_total_rss: Option<f64>,
    /// Of `max_process_rss_kib`.
    pub max_process_rss: Option<f64>,
    /// Of `duration_seconds`.
    pub duration: Option<f64>,
    /// Of `processes_total`.
    pub processes_total: Option<f64>,
    /// Of `max_total_pss_kib`.
    pub max_total_pss: Option<f64>,
    /// Of `max_total_footprint_kib`.
    pub max_total_footprint: Option<f64>,
}

/// `m` of `this` divided by `m` of `first`.
fn ratio_of_first(first: &Figures, this: &Figures, m: Metric) -> Option<f64> {
    ratio(m.value(first), m.value(this))
}

fn ratio(first: Option<f64>, this: Option<f64>) -> Option<f64> {
    match (first, this) {
        (Some(f), Some(t)) if f > 0.0 => Some(t / f),
        _ => None,
    }
}

impl Ratios {
    fn new(first: &Figures, this: &Figures) -> Ratios {
        let r = |m: Metric| ratio_of_first(first, this, m);
        Ratios {
            max_total_rss: r(Metric::Total),
            max_process_rss: r(Metric::Process),
            duration: r(Metric::Duration),
            processes_total: r(Metric::Processes),
            max_total_pss: r(Metric::Pss),
            max_total_footprint: r(Metric::Footprint),
        }
    }
}

/// The `--max-increase` check (`compare --json`'s `check`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// `--metric`: `total`, `process`, `duration`, `processes`, `pss` or `footprint`.
    pub metric: Metric,
    /// The report field checked: `max_total_rss_kib`, `max_process_rss_kib`,
    /// `duration_seconds`, `processes_total`, `max_total_pss_kib` or
    /// `max_total_footprint_kib`.
    pub figure: &'static str,
    /// `--max-increase` as given (`20%`, `256MiB`).
    pub limit: String,
    /// The limit as a percentage of base, when given as one.
    pub limit_percent: Option<f64>,
    /// The limit as an amount in the figure's unit (KiB, seconds, processes), when given as
    /// one.
    pub limit_amount: Option<f64>,
    /// Base value, in the figure's unit.
    pub base: f64,
    /// New value, in the figure's unit.
    pub new: f64,
    /// The largest new value within the limit (base + limit).
    pub allowed: f64,
    /// True when `new` is above `allowed`: the exit code is then 1.
    pub exceeded: bool,
    /// True when a report (of either side) is of a failed run and `--allow-failed` was not
    /// given: the exit code is then 1 whatever the figures (the reports are in `failures`).
    pub failed_runs: bool,
}

impl Check {
    fn new(metric: Metric, limit: &Limit, base: f64, new: f64, failed_runs: bool) -> Check {
        let (limit_percent, limit_amount, allowance) = match limit.amount {
            LimitAmount::Percent(p) => (Some(p), None, base * p / 100.0),
            LimitAmount::Kib(v) | LimitAmount::Seconds(v) => (None, Some(v), v),
            LimitAmount::Count(c) => (None, Some(c as f64), c as f64),
        };
        let allowed = base + allowance;
        Check {
            metric,
            figure: metric.field(),
            limit: limit.text.clone(),
            limit_percent,
            limit_amount,
            base,
            new,
            allowed,
            exceeded: new > allowed,
            failed_runs,
        }
    }
}

/// One report or side in `compare --json`'s `entries`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntryJson {
    /// `--label`, else `base`/`new` (two sides), else the differing part of the command
    /// lines (or the file name).
    pub label: String,
    /// The report files; with `--base`/`--new` a side's several files, whose medians the
    /// figures are.
    pub reports: Vec<String>,
    /// The command of the (first) report, one string per argument.
    pub command: Vec<String>,
    /// Max total RSS, KiB (median); null when unknown.
    pub max_total_rss_kib: Option<u64>,
    /// Max single-process RSS, KiB (median); null when unknown.
    pub max_process_rss_kib: Option<u64>,
    /// Duration, seconds (median).
    pub duration_seconds: f64,
    /// Processes in the job (median).
    pub processes_total: u64,
    /// Samples taken (median).
    pub samples: u64,
    /// Max total PSS, KiB (median); null when the reports have none.
    pub max_total_pss_kib: Option<u64>,
    /// Max total physical footprint, KiB (median); null when the reports have none.
    pub max_total_footprint_kib: Option<u64>,
    /// Scaling only (null for two sides): each figure divided by the first entry's.
    pub ratio_to_first: Option<Ratios>,
    /// How many of `reports` are of failed runs (listed in `failures`).
    pub failed: usize,
}

/// A report of a failed run, in `compare --json`'s `failures`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailedRun {
    /// The report file.
    pub report: String,
    /// The label of its entry (`base`, `new`, or its row of a scaling table).
    pub label: String,
    /// The command's exit code, if it exited (the report's `exit_code`).
    pub exit_code: Option<i32>,
    /// The signal that killed the command, if one did (the report's `signal`).
    pub signal: Option<i32>,
    /// memwatch was sent a signal during the job (the report's `interrupted`).
    pub interrupted: bool,
    /// How it ended, as the note says: "the command exited with status 3".
    pub reason: String,
}

impl FailedRun {
    fn of(label: &str, run: &Run) -> Option<FailedRun> {
        let reason = run.failure()?;
        Some(FailedRun {
            report: run.path.display().to_string(),
            label: label.to_string(),
            exit_code: match run.exit {
                Some(Exit::Code(c)) => Some(c),
                _ => None,
            },
            signal: match run.exit {
                Some(Exit::Signal(s)) => Some(s),
                _ => None,
            },
            interrupted: run.interrupted,
            reason,
        })
    }
}

/// `memwatch compare --json`: the comparison, machine-readable.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareJson {
    /// Version of this format ([`COMPARE_VERSION`]).
    pub compare_version: u32,
    /// `pair` (base and new: two reports, or `--base`/`--new`) or `scaling` (three or more
    /// reports).
    pub kind: &'static str,
    /// The two sides (base, then new) or the reports, in order.
    pub entries: Vec<EntryJson>,
    /// Pair only (null for scaling): each figure's change from base to new.
    pub changes: Option<Changes>,
    /// The `--max-increase` check; null without a limit.
    pub check: Option<Check>,
    /// The verdict (pair) or summary (scaling) line, as printed.
    pub verdict: String,
    /// Notes printed before the verdict: reports of failed runs, reports that differ
    /// (command line, host, memwatch version, OS, sampling interval), partial metrics.
    pub notes: Vec<String>,
    /// The reports of failed runs (the command exited non-zero or was killed, memwatch
    /// was interrupted, or the report does not say how the command ended), in order.
    pub failures: Vec<FailedRun>,
    /// The report fields whose values differ between the reports, each with a note:
    /// `command` (two sides only: a scaling table's commands differ by design),
    /// `hostname`, `memwatch_version`, `os`, `interval_ms`.
    pub differs: Vec<&'static str>,
    /// The exit code: 0, or 1 when the gate failed (`check.exceeded` or
    /// `check.failed_runs`).
    pub exit_code: i32,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Plan {
    Pair {
        base: Vec<PathBuf>,
        new: Vec<PathBuf>,
    },
    Scaling(Vec<PathBuf>),
}

/// Check that the arguments fit together; the error is a one-line usage message.
fn plan(args: &CompareArgs) -> Result<Plan, String> {
    let plan = if !args.base.is_empty() || !args.new.is_empty() {
        Plan::Pair {
            base: args.base.clone(),
            new: args.new.clone(),
        }
    } else {
        match args.reports.len() {
            0 | 1 => {
                return Err(format!(
                    "compare needs at least two reports, or --base and --new (got {})",
                    args.reports.len()
                ));
            }
            2 => Plan::Pair {
                base: vec![args.reports[0].clone()],
                new: vec![args.reports[1].clone()],
            },
            _ => Plan::Scaling(args.reports.clone()),
        }
    };
    let n = args.labels.len();
    match &plan {
        Plan::Pair { .. } if n != 0 && n != 2 => {
            return Err(format!(
                "--label was given {n} time(s): a comparison of base and new takes two labels (base, then new) or none"
            ));
        }
        Plan::Scaling(paths) if n != 0 && n != paths.len() => {
            return Err(format!(
                "--label was given {n} time(s) for {} reports: give one per report, in order, or none",
                paths.len()
            ));
        }
        Plan::Scaling(paths) if args.max_increase.is_some() => {
            return Err(format!(
                "--max-increase checks one side against another: give two reports, or --base and --new (got {} reports)",
                paths.len()
            ));
        }
        _ => {}
    }
    if let Some(limit) = &args.max_increase {
        let want = args.metric.kind();
        if let Some(got) = limit.amount.kind() {
            if got != want {
                let (is, needs) = (kind_noun(got), kind_example(want));
                let hint = if got == Kind::Count {
                    format!(" (did you mean {}%?)", limit.text)
                } else {
                    String::new()
                };
                return Err(format!(
                    "--max-increase {} is {is}, but --metric {} needs a percentage (20%) or {needs}{hint}",
                    limit.text,
                    metric_arg(args.metric)
                ));
            }
        }
        if let LimitAmount::Percent(p) | LimitAmount::Kib(p) | LimitAmount::Seconds(p) =
            limit.amount
        {
            if p < 0.0 {
                return Err("--max-increase cannot be negative".to_string());
            }
        }
    }
    Ok(plan)
}

fn kind_noun(k: Kind) -> &'static str {
    match k {
        Kind::Memory => "a memory size",
        Kind::Time => "a time",
        Kind::Count => "a process count",
    }
}

fn kind_example(k: Kind) -> &'static str {
    match k {
        Kind::Memory => "a size (256MiB)",
        Kind::Time => "a time (30s)",
        Kind::Count => "a number of processes (10)",
    }
}

fn metric_arg(m: Metric) -> String {
    m.to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// The comparison, ready to print.
#[derive(Debug)]
struct Comparison {
    json: CompareJson,
    entries: Vec<Entry>,
}

/// Why the comparison could not be made.
#[derive(Debug)]
enum Failure {
    /// Arguments that do not fit together (one line, exit 2).
    Usage(String),
    /// A report that cannot be used.
    Input(Error),
}

fn load_all(paths: &[PathBuf]) -> Result<Vec<Report>, Error> {
    paths.iter().map(|p| read_report(p)).collect()
}

fn compare(args: &CompareArgs) -> Result<Comparison, Failure> {
    let plan = plan(args).map_err(Failure::Usage)?;
    match plan {
        Plan::Pair { base, new } => {
            let b = load_all(&base).map_err(Failure::Input)?;
            let n = load_all(&new).map_err(Failure::Input)?;
            let (lb, ln) = match args.labels.as_slice() {
                [a, b] => (a.clone(), b.clone()),
                _ => ("base".to_string(), "new".to_string()),
            };
            let entries = vec![Entry::new(lb, base, &b), Entry::new(ln, new, &n)];
            pair(
                entries,
                args.metric,
                args.max_increase.as_ref(),
                args.allow_failed,
            )
            .map_err(Failure::Input)
        }
        Plan::Scaling(paths) => {
            let reports = load_all(&paths).map_err(Failure::Input)?;
            let labels = if args.labels.is_empty() {
                let cmds: Vec<&[String]> = reports.iter().map(|r| r.command.as_slice()).collect();
                let ps: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
                default_labels(&cmds, &ps)
            } else {
                args.labels.clone()
            };
            let entries = paths
                .iter()
                .zip(&reports)
                .zip(labels)
                .map(|((p, r), l)| Entry::new(l, vec![p.clone()], std::slice::from_ref(r)))
                .collect();
            Ok(scaling(entries))
        }
    }
}

fn entry_json(e: &Entry, ratio_to_first: Option<Ratios>) -> EntryJson {
    EntryJson {
        label: e.label.clone(),
        reports: e.paths.iter().map(|p| p.display().to_string()).collect(),
        command: e.command.clone(),
        max_total_rss_kib: e.figures.max_total_rss_kib,
        max_process_rss_kib: e.figures.max_process_rss_kib,
        duration_seconds: e.figures.duration_seconds,
        processes_total: e.figures.processes_total,
        samples: e.figures.samples,
        max_total_pss_kib: e.figures.max_total_pss_kib,
        max_total_footprint_kib: e.figures.max_total_footprint_kib,
        ratio_to_first,
        failed: e.runs.iter().filter(|r| r.failed()).count(),
    }
}

/// The reports of failed runs, in order.
fn failures(entries: &[Entry]) -> Vec<FailedRun> {
    entries
        .iter()
        .flat_map(|e| e.runs.iter().filter_map(|r| FailedRun::of(&e.label, r)))
        .collect()
}

/// The notes printed before the verdict, and the report fields that differ (`differs`).
/// `commands`: whether differing command lines are noted (not in a scaling table, whose
/// commands differ by design).
fn notes(entries: &[Entry], commands: bool) -> (Vec<String>, Vec<&'static str>) {
    let mut notes: Vec<String> = failures(entries)
        .iter()
        .map(|f| {
            format!(
                "note: {} ({}) is of a failed run: {}",
                f.report, f.label, f.reason
            )
        })
        .collect();
    let mut differs = Vec::new();
    for (field, note) in differences(entries, commands) {
        differs.push(field);
        notes.push(note);
    }
    if let Some(note) = interval_note(entries) {
        differs.push("interval_ms");
        notes.push(note);
    }
    for (path, n) in entries.iter().flat_map(|e| &e.partial_metric) {
        let metric = if measured(Metric::Pss, entries) {
            "PSS"
        } else {
            "footprint"
        };
        notes.push(format!(
            "note: {}: the {metric} of {n} process{} could not be read (another user's, or \
             setuid), so its max total {metric} is a lower bound",
            path.display(),
            if *n == 1 { "" } else { "es" },
        ));
    }
    (notes, differs)
}

/// The reports' files grouped by a value, in order of first appearance:
/// `a.json, b.json: x; c.json: y`; `None` when all have the same value.
fn grouped<K: PartialEq>(
    runs: &[&Run],
    key: impl Fn(&Run) -> K,
    show: fn(&Run) -> String,
) -> Option<String> {
    let mut groups: Vec<(K, String, Vec<String>)> = Vec::new();
    for run in runs {
        let k = key(run);
        let file = run.path.display().to_string();
        match groups.iter_mut().find(|(g, _, _)| *g == k) {
            Some((_, _, files)) if files.contains(&file) => {}
            Some((_, _, files)) => files.push(file),
            None => groups.push((k, show(run), vec![file])),
        }
    }
    (groups.len() > 1).then(|| {
        groups
            .iter()
            .map(|(_, value, files)| format!("{}: {value}", files.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Command lines (when `commands`), hosts, memwatch versions and OSes that differ between
/// the reports: each field's name and note.
fn differences(entries: &[Entry], commands: bool) -> Vec<(&'static str, String)> {
    let runs: Vec<&Run> = entries.iter().flat_map(|e| &e.runs).collect();
    let mut out = Vec::new();
    let mut note = |field: &'static str, groups: Option<String>, what: &str, hint: &str| {
        if let Some(g) = groups {
            out.push((field, format!("note: the reports {what} ({g}){hint}")));
        }
    };
    if commands {
        let show = |r: &Run| human::short_command(&r.command.join(" "), 200);
        let groups = grouped(&runs, |r| r.command.clone(), show);
        note("command", groups, "ran different commands", "");
    }
    let groups = grouped(&runs, |r| r.hostname.clone(), |r| r.hostname.clone());
    note("hostname", groups, "were made on different hosts", "");
    let groups = grouped(
        &runs,
        |r| r.memwatch_version.clone(),
        |r| r.memwatch_version.clone(),
    );
    note(
        "memwatch_version",
        groups,
        "were written by different memwatch versions",
        "",
    );
    let groups = grouped(&runs, |r| r.os.clone(), |r| r.os.clone());
    note(
        "os",
        groups,
        "were made on different operating systems",
        ": RSS does not count the same memory on each",
    );
    out
}

fn interval_note(entries: &[Entry]) -> Option<String> {
    let mut all: Vec<u64> = entries.iter().flat_map(|e| e.intervals.clone()).collect();
    all.sort_unstable();
    all.dedup();
    (all.len() > 1).then(|| {
        let list: Vec<String> = all.iter().map(|ms| format!("{ms} ms")).collect();
        format!(
            "note: the reports were sampled at different intervals ({}): a coarser interval can miss short peaks",
            list.join(", ")
        )
    })
}

/// Base and new. With a limit, a report of a failed run fails the gate unless
/// `allow_failed`; its figure may then be unknown (no check is made, `check` is null).
fn pair(
    entries: Vec<Entry>,
    metric: Metric,
    limit: Option<&Limit>,
    allow_failed: bool,
) -> Result<Comparison, Error> {
    let (b, n) = (&entries[0], &entries[1]);
    let failures = failures(&entries);
    let failed_runs = limit.is_some() && !allow_failed && !failures.is_empty();
    let check = match limit {
        None => None,
        Some(limit) => {
            let value = |e: &Entry| {
                metric.value(&e.figures).ok_or_else(|| Error::Input {
                    path: e.paths[0].clone(),
                    message: format!(
                        "{} is unknown ({}{}): cannot check --max-increase",
                        metric.name(),
                        metric.unknown_reason(),
                        if e.paths.len() > 1 {
                            format!(", in any of the {} reports of this side", e.paths.len())
                        } else {
                            String::new()
                        }
                    ),
                })
            };
            match (value(b), value(n)) {
                (Ok(bv), Ok(nv)) => Some(Check::new(metric, limit, bv, nv, failed_runs)),
                // A failed run's unknown figure: the failure is the verdict.
                _ if failed_runs => None,
                (Err(e), _) | (_, Err(e)) => return Err(e),
            }
        }
    };
    let verdict = if failed_runs {
        failed_verdict(&entries)
    } else {
        let mut v = verdict(metric, &b.figures, &n.figures, check.as_ref());
        if limit.is_some() && !failures.is_empty() {
            let k = failures.len();
            let _ = write!(
                v,
                " ({k} report{} of a failed run compared anyway: --allow-failed)",
                if k == 1 { "" } else { "s" }
            );
        }
        v
    };
    let exit_code = if failed_runs || check.as_ref().is_some_and(|c| c.exceeded) {
        EXIT_EXCEEDED
    } else {
        0
    };
    let (notes, differs) = notes(&entries, true);
    let json = CompareJson {
        compare_version: COMPARE_VERSION,
        kind: "pair",
        entries: entries.iter().map(|e| entry_json(e, None)).collect(),
        changes: Some(Changes::new(&b.figures, &n.figures)),
        check,
        verdict,
        notes,
        failures,
        differs,
        exit_code,
    };
    Ok(Comparison { json, entries })
}

fn scaling(entries: Vec<Entry>) -> Comparison {
    let first = entries[0].figures;
    let last = &entries[entries.len() - 1];
    let ratios: Vec<Ratios> = entries
        .iter()
        .map(|e| Ratios::new(&first, &e.figures))
        .collect();
    let lr = ratios[ratios.len() - 1];
    let mut verdict = format!(
        "from {} to {}: max total RSS {} ({} to {}), max per-process RSS {}, duration {}",
        entries[0].label,
        last.label,
        fmt_ratio(lr.max_total_rss),
        iec_or_unknown(first.max_total_rss_kib),
        iec_or_unknown(last.figures.max_total_rss_kib),
        fmt_ratio(lr.max_process_rss),
        fmt_ratio(lr.duration),
    );
    for (m, r, name) in [
        (Metric::Pss, lr.max_total_pss, "max total PSS"),
        (
            Metric::Footprint,
            lr.max_total_footprint,
            "max total footprint",
        ),
    ] {
        if let (Some(f), Some(l)) = (m.value(&first), m.value(&last.figures)) {
            let _ = write!(
                verdict,
                ", {name} {} ({} to {})",
                fmt_ratio(r),
                iec(f as u64),
                iec(l as u64)
            );
        }
    }
    let (notes, differs) = notes(&entries, false);
    let json = CompareJson {
        compare_version: COMPARE_VERSION,
        kind: "scaling",
        entries: entries
            .iter()
            .zip(&ratios)
            .map(|(e, r)| entry_json(e, Some(*r)))
            .collect(),
        changes: None,
        check: None,
        verdict,
        notes,
        failures: failures(&entries),
        differs,
        exit_code: 0,
    };
    Comparison { json, entries }
}

/// A figure's value as text.
fn fmt_value(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Memory => iec(v.max(0.0).round() as u64),
        Kind::Time => human::duration(Duration::from_secs_f64(v.max(0.0))),
        Kind::Count => format!("{}", v.round() as i128),
    }
}

/// A signed change as text: `+1.0 GiB`, `-200 ms`, `+3`; zero without a sign.
fn fmt_change(kind: Kind, d: f64) -> String {
    let text = fmt_value(kind, d.abs());
    if text == fmt_value(kind, 0.0) {
        text
    } else if d < 0.0 {
        format!("-{text}")
    } else {
        format!("+{text}")
    }
}

fn fmt_percent(p: Option<f64>) -> String {
    match p {
        Some(0.0) => "0.0%".to_string(),
        Some(p) => format!("{p:+.1}%"),
        None => "n/a".to_string(),
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}x"))
}

fn fmt_limit(kind: Kind, l: &Check) -> String {
    match (l.limit_percent, l.limit_amount) {
        (Some(p), _) => format!("+{}%", trim_float(p)),
        (None, Some(a)) => format!("+{}", fmt_value(kind, a)),
        (None, None) => l.limit.clone(),
    }
}

/// `20`, `2.5`: no trailing zeros.
fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The one-line verdict of a two-sided comparison.
fn verdict(metric: Metric, b: &Figures, n: &Figures, check: Option<&Check>) -> String {
    let kind = metric.kind();
    let name = metric.name();
    let movement = match (metric.value(b), metric.value(n)) {
        (Some(bv), Some(nv)) if fmt_value(kind, bv) == fmt_value(kind, nv) && bv == nv => {
            format!("{name} unchanged at {}", fmt_value(kind, bv))
        }
        (Some(bv), Some(nv)) => format!(
            "{name} {} from {} to {} ({}, {})",
            if nv < bv { "fell" } else { "rose" },
            fmt_value(kind, bv),
            fmt_value(kind, nv),
            fmt_change(kind, nv - bv),
            fmt_percent(percent(bv, nv)),
        ),
        (bv, nv) => format!(
            "{name} went from {} to {}",
            bv.map_or_else(|| "unknown".to_string(), |v| fmt_value(kind, v)),
            nv.map_or_else(|| "unknown".to_string(), |v| fmt_value(kind, v)),
        ),
    };
    match check {
        None => format!("{movement}; no limit checked (--max-increase)"),
        Some(c) if c.exceeded => format!(
            "FAIL: {movement}, over the limit of {} (at most {} allowed)",
            fmt_limit(kind, c),
            fmt_value(kind, c.allowed)
        ),
        Some(c) => format!("OK: {movement}, within the limit of {}", fmt_limit(kind, c)),
    }
}

/// The verdict when reports of failed runs fail the gate: which, and how each ended.
fn failed_verdict(entries: &[Entry]) -> String {
    let failed: Vec<String> = entries
        .iter()
        .flat_map(|e| {
            e.runs.iter().filter_map(move |r| {
                let how = r.failure_short()?;
                Some(format!("{} ({}: {how})", r.path.display(), e.label))
            })
        })
        .collect();
    let k = failed.len();
    format!(
        "FAIL: {k} report{} of {}: {}; a comparison with a failed run proves nothing \
         (--allow-failed compares {} anyway)",
        if k == 1 { " is" } else { "s are" },
        if k == 1 {
            "a failed run"
        } else {
            "failed runs"
        },
        failed.join(", "),
        if k == 1 { "it" } else { "them" },
    )
}

/// Lay out rows of cells: the first column left-aligned, the others right-aligned, except
/// the columns in `left`.
fn table(rows: &[Vec<String>], left: &[usize]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let w = widths[c];
            if c > 0 {
                line.push_str("  ");
            }
            if c == 0 || left.contains(&c) {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "{cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

const FIGURES: [(&str, Metric); 4] = [
    ("Max total RSS", Metric::Total),
    ("Max per process", Metric::Process),
    ("Duration", Metric::Duration),
    ("Processes", Metric::Processes),
];

/// Figures only some reports have (`run --metric`): shown when any entry has them.
const OPTIONAL_FIGURES: [(&str, Metric); 2] = [
    ("Max total PSS", Metric::Pss),
    ("Max total footprint", Metric::Footprint),
];

/// True when some entry has this figure.
fn measured(m: Metric, entries: &[Entry]) -> bool {
    entries.iter().any(|e| m.value(&e.figures).is_some())
}

fn fmt_opt(kind: Kind, v: Option<f64>) -> String {
    v.map_or_else(|| "unknown".to_string(), |v| fmt_value(kind, v))
}

/// `base: main.json (cargo test)`, the label padded to `width` characters.
fn describe_side(e: &Entry, width: usize) -> String {
    let files: Vec<String> = e.paths.iter().map(|p| p.display().to_string()).collect();
    let cmd = human::short_command(&e.command.join(" "), 80);
    let label = format!("{}:", e.label);
    let label = format!("{label:<w$}", w = width + 1);
    if files.len() == 1 {
        format!("{label} {} ({cmd})", files[0])
    } else {
        format!(
            "{label} median of {} reports: {} ({cmd})",
            files.len(),
            files.join(", ")
        )
    }
}

fn human_pair(c: &Comparison) -> String {
    let (b, n) = (&c.entries[0], &c.entries[1]);
    let mut out = String::new();
    for e in [b, n] {
        let width = b.label.chars().count().max(n.label.chars().count());
        out.push_str(&describe_side(e, width));
        out.push('\n');
    }
    out.push('\n');
    let mut rows = vec![vec![
        String::new(),
        b.label.clone(),
        n.label.clone(),
        "change".to_string(),
        String::new(),
    ]];
    let mut figure_row = |name: &str, kind: Kind, bv: Option<f64>, nv: Option<f64>| {
        let (change, pct) = match (bv, nv) {
            (Some(x), Some(y)) => (fmt_change(kind, y - x), fmt_percent(percent(x, y))),
            _ => (String::new(), String::new()),
        };
        rows.push(vec![
            name.to_string(),
            fmt_opt(kind, bv),
            fmt_opt(kind, nv),
            change,
            pct,
        ]);
    };
    // The memory figures together: RSS, then PSS/footprint when measured, then the rest.
    let optional = OPTIONAL_FIGURES
        .into_iter()
        .filter(|&(_, m)| measured(m, &c.entries));
    for (name, m) in FIGURES[..2]
        .iter()
        .copied()
        .chain(optional)
        .chain(FIGURES[2..].iter().copied())
    {
        figure_row(name, m.kind(), m.value(&b.figures), m.value(&n.figures));
    }
    figure_row(
        "Samples",
        Kind::Count,
        Some(b.figures.samples as f64),
        Some(n.figures.samples as f64),
    );
    out.push_str(&table(&rows, &[]));
    out.push('\n');
    for note in &c.json.notes {
        out.push_str(note);
        out.push('\n');
    }
    out.push_str(&c.json.verdict);
    out.push('\n');
    out
}

fn human_scaling(c: &Comparison) -> String {
    let optional: Vec<(&str, Metric)> = OPTIONAL_FIGURES
        .into_iter()
        .filter(|&(_, m)| measured(m, &c.entries))
        .collect();
    let mut header: Vec<String> = ["", "Max total RSS", "ratio", "Max per process", "ratio"]
        .map(str::to_string)
        .to_vec();
    for (name, _) in &optional {
        header.push((*name).to_string());
        header.push("ratio".to_string());
    }
    header.extend(["Duration", "ratio", "Processes", "Samples", "Report"].map(str::to_string));
    let report_column = header.len() - 1;
    let mut rows = vec![header];
    for (e, j) in c.entries.iter().zip(&c.json.entries) {
        let f = &e.figures;
        let r = j.ratio_to_first.as_ref();
        let ratio = |g: fn(&Ratios) -> Option<f64>| fmt_ratio(r.and_then(g));
        let mut row = vec![
            e.label.clone(),
            iec_or_unknown(f.max_total_rss_kib),
            ratio(|r| r.max_total_rss),
            iec_or_unknown(f.max_process_rss_kib),
            ratio(|r| r.max_process_rss),
        ];
        for &(_, m) in &optional {
            row.push(fmt_opt(m.kind(), m.value(f)));
            row.push(fmt_ratio(ratio_of_first(&c.entries[0].figures, f, m)));
        }
        row.extend([
            fmt_value(Kind::Time, f.duration_seconds),
            ratio(|r| r.duration),
            f.processes_total.to_string(),
            f.samples.to_string(),
            e.paths[0].display().to_string(),
        ]);
        if let Some(how) = e.runs.first().and_then(Run::failure_short) {
            row.push(format!("failed: {how}"));
        }
        rows.push(row);
    }
    let mut out = table(&rows, &[report_column, report_column + 1]);
    out.push('\n');
    for note in &c.json.notes {
        out.push_str(note);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Ratios are to the first report ({}).",
        c.entries[0].label
    );
    out.push_str(&c.json.verdict);
    out.push('\n');
    out
}

fn render(c: &Comparison, json: bool) -> String {
    if json {
        let mut s = serde_json::to_string_pretty(&c.json).unwrap_or_default();
        s.push('\n');
        s
    } else if c.json.kind == "pair" {
        human_pair(c)
    } else {
        human_scaling(c)
    }
}

/// Run `memwatch compare`; returns the exit code.
pub fn run(args: &CompareArgs) -> Result<i32, Error> {
    let c = match compare(args) {
        Ok(c) => c,
        Err(Failure::Usage(msg)) => {
            eprintln!("memwatch: {msg}");
            return Ok(EXIT_BAD_INPUT);
        }
        Err(Failure::Input(e)) => return Err(e),
    };
    // A reader that stopped early (`| head`) does not change the verdict's exit code.
    crate::output::print("comparison", render(&c, args.json).as_bytes())?;
    Ok(c.json.exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(total: Option<u64>, process: Option<u64>, secs: f64, procs: u64) -> Figures {
        Figures {
            max_total_rss_kib: total,
            max_process_rss_kib: process,
            duration_seconds: secs,
            processes_total: procs,
            samples: 10,
            max_total_pss_kib: None,
            max_total_footprint_kib: None,
        }
    }

    fn with_pss(mut f: Figures, pss: Option<u64>) -> Figures {
        f.max_total_pss_kib = pss;
        f
    }

    #[test]
    fn pss_is_checked_and_shown_only_when_measured() {
        let limit = parse_limit("10%").unwrap();
        let b = entry(
            "base",
            with_pss(figures(Some(4000), Some(1000), 1.0, 4), Some(1000)),
        );
        let n = entry(
            "new",
            with_pss(figures(Some(4000), Some(1000), 1.0, 4), Some(1200)),
        );
        let c = pair(vec![b.clone(), n], Metric::Pss, Some(&limit), false).unwrap();
        let check = c.json.check.as_ref().unwrap();
        assert_eq!(check.figure, "max_total_pss_kib");
        assert_eq!(
            (check.base, check.new, check.allowed),
            (1000.0, 1200.0, 1100.0)
        );
        assert!(check.exceeded);
        assert_eq!(c.json.exit_code, EXIT_EXCEEDED);
        assert!(
            c.json.verdict.starts_with("FAIL: max total PSS rose from"),
            "{}",
            c.json.verdict
        );
        assert_eq!(c.json.changes.unwrap().max_total_pss_kib.change, Some(200));
        let text = human_pair(&c);
        assert!(text.contains("Max total PSS"), "{text}");
        assert!(!text.contains("footprint"), "{text}");

        // Without PSS on one side: no figure to check, and the message says why.
        let old = entry("old", figures(Some(4000), Some(1000), 1.0, 4));
        let Err(Error::Input { message, .. }) = pair(
            vec![old.clone(), b.clone()],
            Metric::Pss,
            Some(&limit),
            false,
        ) else {
            panic!("a report without PSS was checked");
        };
        assert!(message.contains("max total PSS is unknown"), "{message}");
        assert!(message.contains("--metric pss"), "{message}");
        // RSS-only reports: no PSS row at all.
        let c = pair(vec![old.clone(), old], Metric::Total, None, false).unwrap();
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
            Metric::Pss,
            Some(&parse_limit("10%").unwrap()),
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
            c.json.entries[2].ratio_to_first.unwrap().max_total_pss,
            Some(2.0)
        );
        assert_eq!(c.json.entries[1].max_total_pss_kib, Some(800));
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

    fn entry(label: &str, f: Figures) -> Entry {
        let path = PathBuf::from(format!("{label}.json"));
        Entry {
            label: label.to_string(),
            paths: vec![path.clone()],
            command: vec!["app".to_string()],
            intervals: vec![500],
            figures: f,
            partial_metric: Vec::new(),
            runs: vec![Run {
                path,
                command: vec!["app".to_string()],
                hostname: "ci-1".to_string(),
                os: "linux".to_string(),
                memwatch_version: "0.1.0".to_string(),
                exit: Some(Exit::Code(0)),
                interrupted: false,
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
    fn a_failed_run_fails_the_gate_unless_allowed() {
        let b = entry("base", figures(Some(1024), None, 1.0, 1));
        let n = ended(Some(Exit::Code(3)), false);
        let gate = |allow| {
            pair(
                vec![b.clone(), n.clone()],
                Metric::Total,
                Some(&limit("10%")),
                allow,
            )
            .unwrap()
        };
        let c = gate(false);
        assert_eq!(c.json.exit_code, EXIT_EXCEEDED);
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
        let c = pair(vec![b.clone(), n.clone()], Metric::Total, None, false).unwrap();
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
            [
                "note: the reports were made on different hosts (1.json: node0; 2.json, 4.json: node1)"
            ]
        );
    }

    fn limit(s: &str) -> Limit {
        parse_limit(s).unwrap()
    }

    fn args(a: &[&str]) -> CompareArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: CompareArgs,
        }
        T::try_parse_from(std::iter::once("compare").chain(a.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn limits_parse() {
        assert_eq!(limit("20%").amount, LimitAmount::Percent(20.0));
        assert_eq!(limit(" 2.5% ").amount, LimitAmount::Percent(2.5));
        assert_eq!(limit("256MiB").amount, LimitAmount::Kib(262_144.0));
        assert_eq!(limit("1.5GiB").amount, LimitAmount::Kib(1_572_864.0));
        assert_eq!(limit("512kib").amount, LimitAmount::Kib(512.0));
        assert_eq!(
            limit("1 TiB").amount,
            LimitAmount::Kib(1024.0 * 1024.0 * 1024.0)
        );
        assert_eq!(limit("30s").amount, LimitAmount::Seconds(30.0));
        assert_eq!(limit("500ms").amount, LimitAmount::Seconds(0.5));
        assert_eq!(limit("2min").amount, LimitAmount::Seconds(120.0));
        assert_eq!(limit("1h").amount, LimitAmount::Seconds(3600.0));
        assert_eq!(limit("10").amount, LimitAmount::Count(10));
        assert_eq!(limit("0%").amount, LimitAmount::Percent(0.0));
        assert_eq!(limit("20%").text, "20%");
    }

    #[test]
    fn bad_limits_say_what_is_accepted() {
        for bad in ["", "%", "abc", "-5%", "20 percent", "1.5", "1.2.3%", "5x"] {
            let e = parse_limit(bad).expect_err(bad);
            assert!(!e.contains('\n'), "{bad}: {e}");
        }
        assert!(parse_limit("256MB").unwrap_err().contains("IEC"));
        assert!(parse_limit("1G").unwrap_err().contains("IEC"));
        assert!(parse_limit("-5%").unwrap_err().contains("negative"));
        assert!(parse_limit("abc").unwrap_err().contains("20%"));
        assert!(parse_limit("1.5").unwrap_err().contains("whole"));
    }

    #[test]
    fn medians() {
        assert_eq!(median_u64(vec![]), None);
        assert_eq!(median_u64(vec![7]), Some(7));
        assert_eq!(median_u64(vec![9, 1, 5]), Some(5));
        assert_eq!(median_u64(vec![4, 1, 2, 100]), Some(3));
        assert_eq!(median_u64(vec![1, 2]), Some(2)); // 1.5 rounds half up
        assert_eq!(median_u64(vec![u64::MAX, u64::MAX]), Some(u64::MAX));
        assert_eq!(median_f64(vec![3.0, 1.0, 2.0, 10.0]), Some(2.5));
        let m = Figures::median(&[
            figures(Some(100), None, 1.0, 3),
            figures(Some(300), Some(50), 3.0, 5),
            figures(None, Some(70), 2.0, 4),
        ]);
        assert_eq!(m.max_total_rss_kib, Some(200)); // the unknown is left out
        assert_eq!(m.max_process_rss_kib, Some(60));
        assert_eq!(m.duration_seconds, 2.0);
        assert_eq!(m.processes_total, 4);
        assert_eq!(
            Figures::median(&[figures(None, None, 1.0, 1)]).max_total_rss_kib,
            None
        );
    }

    fn cmds(v: &[&str]) -> Vec<Vec<String>> {
        v.iter()
            .map(|c| c.split(' ').map(str::to_string).collect())
            .collect()
    }

    fn labels_of(commands: &[&str], files: &[&str]) -> Vec<String> {
        let c = cmds(commands);
        let refs: Vec<&[String]> = c.iter().map(Vec::as_slice).collect();
        let paths: Vec<&Path> = files.iter().map(Path::new).collect();
        default_labels(&refs, &paths)
    }

    #[test]
    fn labels_are_the_differing_part() {
        let f = ["a.json", "b.json", "c.json"];
        assert_eq!(
            labels_of(&["app -n 1 --x", "app -n 2 --x", "app -n 4 --x"], &f),
            ["-n 1", "-n 2", "-n 4"]
        );
        assert_eq!(
            labels_of(&["app --jobs=1", "app --jobs=2", "app --jobs=4"], &f),
            ["--jobs=1", "--jobs=2", "--jobs=4"]
        );
        assert_eq!(
            labels_of(&["app small", "app medium data", "app large"], &f),
            ["small", "medium data", "large"]
        );
        assert_eq!(
            labels_of(&["./a.out", "./b.out", "./c.out"], &f),
            ["./a.out", "./b.out", "./c.out"]
        );
        // Negative numbers are values, not options.
        assert_eq!(
            labels_of(&["app -1 5", "app -1 6", "app -1 7"], &f),
            ["5", "6", "7"]
        );
    }

    #[test]
    fn labels_look_inside_a_shell_command() {
        let c = [
            vec!["sh".into(), "-c".into(), "app -n 4 --fast".into()],
            vec!["sh".into(), "-c".into(), "app -n 8 --fast".into()],
        ];
        let refs: Vec<&[String]> = c.iter().map(Vec::as_slice).collect();
        let p = [Path::new("x.json"), Path::new("y.json")];
        assert_eq!(default_labels(&refs, &p), ["-n 4", "-n 8"]);
    }

    #[test]
    fn labels_fall_back_to_file_names_then_paths() {
        let same = ["make", "make", "make"];
        assert_eq!(
            labels_of(&same, &["runs/n1.json", "runs/n2.json", "n3.json"]),
            ["n1.json", "n2.json", "n3.json"]
        );
        assert_eq!(
            labels_of(&same, &["a/m.json", "b/m.json", "c/m.json"]),
            ["a/m.json", "b/m.json", "c/m.json"]
        );
        // One command is the common prefix of the others: its label would be empty.
        assert_eq!(
            labels_of(
                &["app", "app -v", "app -vv"],
                &["1.json", "2.json", "3.json"]
            ),
            ["1.json", "2.json", "3.json"]
        );
        let long = "x".repeat(100);
        let l = labels_of(
            &[&format!("app {long}1"), &format!("app {long}2")],
            &["a", "b"],
        );
        assert_eq!(l[0].chars().count(), 40);
        assert!(l[0].ends_with('…'));
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_change(Kind::Memory, 1024.0), "+1.0 MiB");
        assert_eq!(fmt_change(Kind::Memory, -512.0), "-512.0 KiB");
        assert_eq!(fmt_change(Kind::Memory, 0.0), "0.0 KiB");
        assert_eq!(fmt_change(Kind::Time, 0.2), "+200 ms");
        assert_eq!(fmt_change(Kind::Time, -1.5), "-1.5 s");
        assert_eq!(fmt_change(Kind::Count, 3.0), "+3");
        assert_eq!(fmt_change(Kind::Count, 0.0), "0");
        assert_eq!(fmt_percent(Some(100.0)), "+100.0%");
        assert_eq!(fmt_percent(Some(-12.34)), "-12.3%");
        assert_eq!(fmt_percent(Some(0.0)), "0.0%");
        assert_eq!(fmt_percent(None), "n/a");
        assert_eq!(percent(0.0, 5.0), None);
        assert_eq!(percent(0.0, 0.0), Some(0.0));
        assert_eq!(fmt_ratio(Some(2.0)), "2.00x");
        assert_eq!(trim_float(20.0), "20");
        assert_eq!(trim_float(2.5), "2.5");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &[
                vec!["".into(), "a".into(), "f".into()],
                vec!["long name".into(), "1.0 GiB".into(), "x.json".into()],
            ],
            &[2],
        );
        assert_eq!(t, "                 a  f\nlong name  1.0 GiB  x.json\n");
    }

    fn check(metric: Metric, l: &str, b: Figures, n: Figures) -> Comparison {
        pair(
            vec![entry("base", b), entry("new", n)],
            metric,
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
        let c = check(Metric::Total, "20%", b, doubled);
        assert_eq!(c.json.exit_code, 1);
        assert_eq!(
            c.json.verdict,
            "FAIL: max total RSS rose from 1.0 GiB to 2.0 GiB (+1.0 GiB, +100.0%), \
             over the limit of +20% (at most 1.2 GiB allowed)"
        );
        let c = check(Metric::Total, "20%", b, b);
        assert_eq!(c.json.exit_code, 0);
        assert_eq!(
            c.json.verdict,
            "OK: max total RSS unchanged at 1.0 GiB, within the limit of +20%"
        );
        let c = check(Metric::Process, "256MiB", doubled, b);
        assert_eq!(c.json.exit_code, 0);
        assert_eq!(
            c.json.verdict,
            "OK: max per-process RSS unchanged at 512.0 MiB, within the limit of +256.0 MiB"
        );
        let c = check(Metric::Total, "1GiB", b, doubled); // exactly at the limit: fine
        assert_eq!(c.json.exit_code, 0);
        let c = check(
            Metric::Duration,
            "30s",
            b,
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
        let c = check(Metric::Processes, "2", b, figures(Some(gib), None, 9.0, 5));
        assert_eq!(c.json.exit_code, 0);
        assert!(
            c.json
                .verdict
                .starts_with("OK: process count rose from 4 to 5 (+1, +25.0%)")
        );
        let c = check(Metric::Total, "5%", doubled, b);
        assert!(c.json.verdict.starts_with("OK: max total RSS fell"));
        // Base 0: any increase exceeds a percentage.
        let zero = figures(Some(0), None, 1.0, 1);
        let c = check(Metric::Total, "50%", zero, figures(Some(10), None, 1.0, 1));
        assert_eq!(c.json.exit_code, 1);
        assert!(c.json.verdict.contains("n/a"), "{}", c.json.verdict);
    }

    #[test]
    fn neutral_verdict_without_limit() {
        let b = figures(Some(1024), None, 1.0, 1);
        let n = figures(Some(2048), None, 1.0, 1);
        let c = pair(
            vec![entry("base", b), entry("new", n)],
            Metric::Total,
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
            vec![entry("base", u), entry("new", n)],
            Metric::Total,
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
            vec![entry("base", b), entry("new", n)],
            Metric::Total,
            Some(&limit("20%")),
            false,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
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
            vec![entry("base", b), entry("new", n)],
            Metric::Total,
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
        assert_eq!(c.json.kind, "scaling");
        let r = c.json.entries[2].ratio_to_first.unwrap();
        assert_eq!(r.max_total_rss, Some(4.0));
        assert_eq!(r.max_process_rss, Some(1.0));
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
        assert_eq!(interval_note(&[a.clone(), b.clone()]), None);
        a.intervals = vec![10];
        assert!(
            interval_note(&[a, b])
                .unwrap()
                .contains("different intervals (10 ms, 500 ms)")
        );
    }

    #[test]
    fn argument_shapes() {
        let a = args(&["a.json", "b.json"]);
        assert_eq!(
            plan(&a),
            Ok(Plan::Pair {
                base: vec!["a.json".into()],
                new: vec!["b.json".into()]
            })
        );
        let a = args(&["--base", "a", "b", "--new", "c", "d", "e"]);
        assert_eq!(
            plan(&a),
            Ok(Plan::Pair {
                base: vec!["a".into(), "b".into()],
                new: vec!["c".into(), "d".into(), "e".into()]
            })
        );
        assert!(matches!(
            plan(&args(&["a", "b", "c"])),
            Ok(Plan::Scaling(v)) if v.len() == 3
        ));
        let usage = |a: &[&str]| plan(&args(a)).unwrap_err();
        assert!(usage(&["a"]).contains("at least two reports"));
        assert!(usage(&["a", "b", "--label", "x"]).contains("two labels"));
        assert!(usage(&["a", "b", "c", "--label", "x"]).contains("one per report"));
        assert!(usage(&["a", "b", "c", "--max-increase", "5%"]).contains("two reports"));
        assert_eq!(
            usage(&["a", "b", "--max-increase", "1GiB", "--metric", "duration"]),
            "--max-increase 1GiB is a memory size, but --metric duration needs a percentage (20%) or a time (30s)"
        );
        assert!(usage(&["a", "b", "--max-increase", "10"]).contains("a size (256MiB)"));
        assert!(
            plan(&args(&[
                "a",
                "b",
                "--max-increase",
                "10",
                "--metric",
                "processes"
            ]))
            .is_ok()
        );
    }

    #[test]
    fn clap_rejects_mixed_shapes() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct T {
            #[command(flatten)]
            a: CompareArgs,
        }
        let parse =
            |a: &[&str]| T::try_parse_from(std::iter::once("compare").chain(a.iter().copied()));
        assert!(parse(&["x", "--base", "a", "--new", "b"]).is_err());
        assert!(parse(&["--base", "a"]).is_err());
        assert!(parse(&["--new", "a"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["a", "b", "--max-increase", "lots"]).is_err());
    }

    #[test]
    fn json_shape() {
        let b = figures(Some(1024), Some(512), 1.0, 2);
        let n = figures(Some(4096), Some(512), 1.5, 2);
        let c = check(Metric::Total, "20%", b, n);
        let v: serde_json::Value = serde_json::from_str(&render(&c, true)).unwrap();
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
}
