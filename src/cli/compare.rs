//! `memwatch compare`'s command line, and its checked configuration.

use std::path::PathBuf;

use clap::Args;

use super::help;
use super::values::{self, FigureParser};
use crate::compare::{Config, Plan};
use crate::error::Error;
use crate::model::figures::{Figure, Unit};
use crate::model::gate::MaxRss;
use crate::model::quantity::{Amount, Quantity};
use crate::output::Format;

/// What `compare --help` and the manual page say after the options, besides the examples.
pub(crate) const NOTES: &str = "\
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

--max-rss SIZE: an absolute limit on the figure (a memory figure; the max total RSS by
default) of one report, or of the new side of two, as `run --max-rss` checks it: a
figure over it fails, and so does a figure that leaves out processes memwatch could not
read when what it has is within it (it cannot be shown to be within).";

/// `memwatch compare`.
#[derive(Debug, Args)]
#[command(after_help = help::short("compare"), after_long_help = help::long("compare"))]
pub(crate) struct CompareArgs {
    /// Reports (JSON, from `memwatch run --json`). One: checked against --max-rss. Two: the
    /// first is the base, the second the new one. Three or more: a scaling table, ratios to
    /// the first. Or --base and --new instead.
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
    /// the duration and CPU times (30s, 500ms, 2min, 1h), a number for the counts (10). Two
    /// reports (or --base/--new) only.
    #[arg(long, value_name = "LIMIT", value_parser = values::limit, allow_hyphen_values = true)]
    pub max_increase: Option<Quantity>,

    /// Exit 1 when the figure (a memory figure: the max total RSS unless --metric names
    /// another) is over this size (IEC: 512MiB, 2GiB), in the one report given or the new
    /// side of two, as `run --max-rss` checks it.
    #[arg(long, value_name = "SIZE", value_parser = values::max_rss, allow_hyphen_values = true)]
    pub max_rss: Option<MaxRss>,

    /// The figure the verdict, --max-increase and --max-rss are about.
    #[arg(long, value_name = "FIGURE", default_value = "total", value_parser = FigureParser)]
    pub metric: &'static Figure,

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

    /// Write the comparison as JSON (fields in docs/schema.md) instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// "a memory size", for messages about a limit that does not fit.
fn unit_noun(u: Unit) -> &'static str {
    match u {
        Unit::Kib => "a memory size",
        Unit::Seconds | Unit::Millis => "a time",
        Unit::Count => "a count",
        Unit::Percent => "a percentage",
    }
}

/// "a size (256MiB)", for messages about the limit a figure takes.
fn unit_example(u: Unit) -> &'static str {
    match u {
        Unit::Kib => "a size (256MiB)",
        Unit::Seconds | Unit::Millis => "a time (30s)",
        Unit::Count => "a count (10)",
        Unit::Percent => "a percentage (20%)",
    }
}

/// The reports to compare, from the arguments' shape.
fn plan(a: &CompareArgs) -> Result<Plan, String> {
    if !a.base.is_empty() || !a.new.is_empty() {
        return Ok(Plan::Pair {
            base: a.base.clone(),
            new: a.new.clone(),
        });
    }
    match a.reports.len() {
        1 if a.max_rss.is_some() => Ok(Plan::Single(a.reports[0].clone())),
        0 | 1 => Err(format!(
            "compare needs at least two reports, or --base and --new, or one with --max-rss \
             (got {})",
            a.reports.len()
        )),
        2 => Ok(Plan::Pair {
            base: vec![a.reports[0].clone()],
            new: vec![a.reports[1].clone()],
        }),
        _ => Ok(Plan::Scaling(a.reports.clone())),
    }
}

/// Whether the labels and the limit fit the plan and the figure.
fn check_fit(a: &CompareArgs, plan: &Plan) -> Result<(), String> {
    let n = a.labels.len();
    match plan {
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
        Plan::Scaling(paths) if a.max_increase.is_some() => {
            return Err(format!(
                "--max-increase checks one side against another: give two reports, or --base and --new (got {} reports)",
                paths.len()
            ));
        }
        Plan::Scaling(paths) if a.max_rss.is_some() => {
            return Err(format!(
                "--max-rss checks one report, or the new side of two: give one report, two, or --base and --new (got {} reports)",
                paths.len()
            ));
        }
        Plan::Single(_) if n > 1 => {
            return Err(format!(
                "--label was given {n} times for one report: give one label or none"
            ));
        }
        Plan::Single(_) if a.max_increase.is_some() => {
            return Err(
                "--max-increase compares two reports: give two, or --base and --new (one report takes --max-rss only)"
                    .to_string(),
            );
        }
        _ => {}
    }
    if let Some(limit) = &a.max_rss {
        if a.metric.unit != Unit::Kib {
            return Err(format!(
                "--max-rss {} is a size, but --metric {} is {}: --max-rss checks a memory figure (total, process, private, pss, footprint)",
                limit.text,
                a.metric.name,
                unit_noun(a.metric.unit)
            ));
        }
    }
    let Some(limit) = &a.max_increase else {
        return Ok(());
    };
    let want = a.metric.unit;
    if let Some(got) = limit.amount.unit().filter(|&u| u != want) {
        let hint = if got == Unit::Count {
            format!(" (did you mean {}%?)", limit.text)
        } else {
            String::new()
        };
        return Err(format!(
            "--max-increase {} is {}, but --metric {} needs a percentage (20%) or {}{hint}",
            limit.text,
            unit_noun(got),
            a.metric.name,
            unit_example(want)
        ));
    }
    if !matches!(limit.amount, Amount::Count(_)) && limit.amount.value() < 0.0 {
        return Err("--max-increase cannot be negative".to_string());
    }
    Ok(())
}

impl CompareArgs {
    /// The checked configuration; arguments that do not fit together are a usage error.
    pub(crate) fn config(self) -> Result<Config, Error> {
        let plan = plan(&self)
            .and_then(|p| check_fit(&self, &p).map(|()| p))
            .map_err(Error::usage)?;
        Ok(Config {
            plan,
            figure: self.metric,
            format: Format::choose(self.json, None),
            limit: self.max_increase,
            max_rss: self.max_rss,
            labels: self.labels,
            allow_failed: self.allow_failed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct T {
        #[command(flatten)]
        a: CompareArgs,
    }

    fn args(a: &[&str]) -> CompareArgs {
        T::try_parse_from(std::iter::once("compare").chain(a.iter().copied()))
            .unwrap()
            .a
    }

    fn usage(a: &[&str]) -> String {
        args(a).config().unwrap_err().to_string()
    }

    #[test]
    fn argument_shapes() {
        let c = args(&["a.json", "b.json"]).config().unwrap();
        assert_eq!(
            c.plan,
            Plan::Pair {
                base: vec!["a.json".into()],
                new: vec!["b.json".into()]
            }
        );
        let c = args(&["--base", "a", "b", "--new", "c", "d", "e"])
            .config()
            .unwrap();
        assert_eq!(
            c.plan,
            Plan::Pair {
                base: vec!["a".into(), "b".into()],
                new: vec!["c".into(), "d".into(), "e".into()]
            }
        );
        assert!(matches!(
            args(&["a", "b", "c"]).config().unwrap().plan,
            Plan::Scaling(v) if v.len() == 3
        ));
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
            args(&["a", "b", "--max-increase", "10", "--metric", "processes"])
                .config()
                .is_ok()
        );
        assert_eq!(
            args(&["a"]).config().unwrap_err().status(),
            crate::error::Status::Failure
        );
    }

    #[test]
    fn max_rss_takes_one_report_or_two_and_a_memory_figure() {
        let c = args(&["--max-rss", "2GiB", "a.json"]).config().unwrap();
        assert_eq!(c.plan, Plan::Single("a.json".into()));
        assert_eq!(c.max_rss.unwrap().kib, 2 * 1024 * 1024);
        let c = args(&["a", "b", "--max-rss", "2GiB", "--max-increase", "5%"])
            .config()
            .unwrap();
        assert!(matches!(c.plan, Plan::Pair { .. }));
        assert!(
            args(&["--max-rss", "1GiB", "--metric", "private", "a"])
                .config()
                .is_ok()
        );
        for (a, says) in [
            (
                &["a", "b", "c", "--max-rss", "1GiB"][..],
                "--max-rss checks one report, or the new side of two",
            ),
            (
                &["a", "--max-rss", "1GiB", "--metric", "cpu-user"],
                "--max-rss 1GiB is a size, but --metric cpu-user is a time",
            ),
            (
                &["a", "--max-rss", "1GiB", "--max-increase", "5%"],
                "--max-increase compares two reports",
            ),
            (
                &["a", "--max-rss", "1GiB", "--label", "x", "--label", "y"],
                "for one report",
            ),
            (&["a"], "or one with --max-rss (got 1)"),
        ] {
            let e = args(a).config().unwrap_err();
            assert!(e.to_string().contains(says), "{a:?}: {e}");
            assert_eq!(e.status(), crate::error::Status::Failure);
        }
    }

    #[test]
    fn clap_rejects_mixed_shapes_and_unknown_figures() {
        let parse =
            |a: &[&str]| T::try_parse_from(std::iter::once("compare").chain(a.iter().copied()));
        assert!(parse(&["x", "--base", "a", "--new", "b"]).is_err());
        assert!(parse(&["--base", "a"]).is_err());
        assert!(parse(&["--new", "a"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["a", "b", "--max-increase", "lots"]).is_err());
        assert!(
            parse(&["a", "b", "--metric", "samples"]).is_err(),
            "not gateable"
        );
        assert!(parse(&["a", "b", "--metric", "bogus"]).is_err());
        assert_eq!(
            parse(&["a", "b", "--metric", "pss"]).unwrap().a.metric.key,
            "max_total_pss_kib"
        );
    }
}
