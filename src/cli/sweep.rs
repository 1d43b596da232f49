//! `memwatch sweep`'s command line, and its checked configuration: every usage error
//! (a bad name or value list, `{NAME}` missing from the command, `-r 0`) before anything
//! runs.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::help;
use super::values::{self, MetricParser};
use crate::error::Error;
use crate::model::Metric;
use crate::sweep::{Config, values as sweep_values};

/// What `sweep --help` and the manual page say after the options, besides the examples.
pub(crate) const NOTES: &str = "\
VALUES: 1,2,4,8 (a list), 1..8 (every whole number), 1..64:x2 (doubling),
0..100:+10 (steps of 10), or a mix (1..4,8,16); any other text makes a sweep
without a fit (glibc,jemalloc).

A failed run does not stop the sweep: memwatch sweep then exits with the first
failed run's status. Interrupted by signal N (Ctrl+C), the running job gets it,
the sweep stops, writes what it measured and exits 128+N.";

/// `memwatch sweep`'s usage, the one form every help text shows.
pub(crate) const USAGE: &str = "memwatch sweep -p <NAME> <VALUES> [OPTIONS] -- <COMMAND> [ARGS]...";

/// `memwatch sweep`.
#[derive(Debug, Args)]
#[command(
    override_usage = USAGE,
    after_help = help::short("sweep"),
    after_long_help = help::long("sweep")
)]
pub(crate) struct SweepArgs {
    /// The parameter: its NAME, written {NAME} in the command where the value goes (a
    /// whole argument or inside one: -j{jobs}), and its VALUES (see below).
    #[arg(
        short = 'p',
        long = "parameter",
        num_args = 2,
        value_names = ["NAME", "VALUES"],
        required = true,
        allow_hyphen_values = true
    )]
    pub parameter: Vec<String>,

    /// Runs per value; each value's figures are the medians of its successful runs.
    #[arg(short = 'r', long = "runs", value_name = "RUNS", default_value = "3")]
    pub runs: u32,

    /// Sampling interval, as for `memwatch run`: 10ms, 2s, 1min (a bare number is
    /// milliseconds), from 1ms to 1h.
    #[arg(short, long, value_name = "DURATION", default_value = "500ms", value_parser = values::interval, allow_hyphen_values = true)]
    pub interval: u64,

    /// Also measure, besides RSS, in every run: pss (Linux) or footprint (macOS); the
    /// table then shows its medians too.
    #[arg(long, value_name = "METRIC", default_value = "rss", value_parser = MetricParser)]
    pub metric: Metric,

    /// Keep the reports (one per run, e.g. n=4.run2.json) and sweep.json in this
    /// directory, new or empty (default: a new sweep-NAME-<time> here).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Also write the sweep's result (sweep.json) on standard output; the commands'
    /// standard output goes to standard error.
    #[arg(long)]
    pub json: bool,

    /// Forecast the max total RSS at these values from the line through the medians
    /// (e.g. --predict 64 or 16,64), saying how far each reaches beyond what was measured.
    #[arg(long, value_name = "X[,Y...]", allow_hyphen_values = true)]
    pub predict: Option<String>,

    /// No progress lines and no table on standard error (warnings are still printed).
    #[arg(short, long)]
    pub quiet: bool,

    /// The command to run and its arguments (put them after --), {NAME} in them.
    #[arg(value_names = ["COMMAND", "ARGS"], required = true, trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

impl SweepArgs {
    /// The checked configuration; a usage error (exit 125) before anything runs.
    pub(crate) fn config(self) -> Result<Config, Error> {
        self.check().map_err(|e| Error::usage(e).not_run())
    }

    // Not inlined into `cli::main`: it is smaller apart (the binary's size budget).
    #[inline(never)]
    fn check(self) -> Result<Config, String> {
        let [name, list] = <[String; 2]>::try_from(self.parameter)
            .ok()
            .filter(|[_, list]| list != "--")
            .ok_or("-p takes a NAME and its VALUES before -- (e.g. -p n 1,2,4 -- app -n {n})")?;
        sweep_values::check_name(&name)?;
        let values = sweep_values::parse(&name, &list)?;
        if !sweep_values::mentions(&self.command, &name) {
            return Err(format!(
                "{{{name}}} appears nowhere in the command, so every run would be the same: \
                 put {{{name}}} where the value goes (e.g. -n {{{name}}})"
            ));
        }
        if self.runs == 0 {
            return Err("-r/--runs must be 1 or more (got 0)".to_string());
        }
        let predict = match &self.predict {
            Some(list) => sweep_values::predictions(list)?,
            None => Vec::new(),
        };
        if let Some(text) = values
            .iter()
            .find(|v| v.number.is_none())
            .filter(|_| !predict.is_empty())
        {
            return Err(format!(
                "--predict needs numbers as the values of {name} (got '{}'): a sweep of text values has no line to forecast from",
                text.text
            ));
        }
        Ok(Config {
            parameter: name,
            values,
            runs: self.runs,
            interval: Duration::from_millis(self.interval),
            metric: self.metric,
            output: self.output,
            json: self.json,
            predict,
            quiet: self.quiet,
            command: self.command,
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
        a: SweepArgs,
    }

    fn config(a: &[&str]) -> Result<Config, String> {
        T::try_parse_from(std::iter::once("sweep").chain(a.iter().copied()))
            .map_err(|e| e.to_string())?
            .a
            .check()
    }

    #[test]
    fn a_sweep_parses() {
        let c = config(&[
            "-p",
            "n",
            "1..4",
            "-r",
            "2",
            "--predict",
            "16,64",
            "--",
            "app",
            "-n",
            "{n}",
        ])
        .unwrap();
        assert_eq!(c.parameter, "n");
        assert_eq!(c.values.len(), 4);
        assert_eq!((c.runs, c.predict.as_slice()), (2, &[16.0, 64.0][..]));
        assert_eq!(c.command, ["app", "-n", "{n}"]);
        let c = config(&["-p", "x", "-1,0,1", "--", "app", "{x}"]).unwrap();
        assert_eq!(c.values[0].number, Some(-1.0));
        assert_eq!(c.runs, 3, "three runs by default");
    }

    #[test]
    fn the_help_keeps_its_placeholders() {
        // clap turns the text `{n}` into a line break in help; the help avoids it.
        use clap::CommandFactory;
        let mut cmd = crate::cli::Cli::command();
        let help = cmd
            .find_subcommand_mut("sweep")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("inside one: -j{jobs})"), "{help}");
        assert!(help.contains("mpirun -n {ranks} ./app"), "{help}");
    }

    #[test]
    fn usage_errors_before_anything_runs() {
        let err = |a: &[&str]| config(a).unwrap_err();
        assert_eq!(
            err(&["-p", "n", "1,2", "--", "app", "-n", "4"]),
            "{n} appears nowhere in the command, so every run would be the same: put {n} where the value goes (e.g. -n {n})"
        );
        assert_eq!(
            err(&["-p", "n", "", "--", "app", "{n}"]),
            "the list of values of n is empty"
        );
        assert!(
            err(&["-p", "n", "1..x", "--", "app", "{n}"]).starts_with("malformed range '1..x'")
        );
        assert_eq!(
            err(&["-r", "0", "-p", "n", "1", "--", "app", "{n}"]),
            "-r/--runs must be 1 or more (got 0)"
        );
        assert!(err(&["-p", "a b", "1", "--", "app", "{a b}"]).contains("must be letters"));
        assert!(
            err(&[
                "-p",
                "alloc",
                "a,b",
                "--predict",
                "4",
                "--",
                "app",
                "{alloc}"
            ])
            .starts_with("--predict needs numbers as the values of alloc (got 'a')")
        );
        assert!(
            err(&["-p", "n", "1", "--predict", "x", "--", "app", "{n}"])
                .starts_with("--predict takes numbers")
        );
    }
}
