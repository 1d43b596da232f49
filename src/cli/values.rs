//! Parsers for flag values: the sampling interval, a quantity (`20%`, `256MiB`, `30s`), a
//! figure of the figure table, a metric. Each gives a one-line message on bad input.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;

use crate::model::Metric;
use crate::model::figures::{FIGURES, Figure};
use crate::model::gate::MaxRss;
use crate::model::quantity::{self, Amount, Quantity};

/// Sampling interval bounds, milliseconds.
pub(crate) const INTERVAL_MS: std::ops::RangeInclusive<u64> = 1..=3_600_000;

/// `-i`: a duration as `--max-increase` writes one (`10ms`, `2s`, `1min`, `1h`) or a bare
/// number of milliseconds, whole milliseconds within [`INTERVAL_MS`].
pub(crate) fn interval(s: &str) -> Result<u64, String> {
    let ms = match quantity::parse(s).map(|q| q.amount) {
        Ok(Amount::Count(n)) => Some(n as f64),
        Ok(Amount::Seconds(secs)) => Some(secs * 1000.0),
        _ => None,
    };
    let whole = ms
        .filter(|ms| (ms - ms.round()).abs() < 1e-6)
        .map(|ms| ms.round() as u64)
        .filter(|ms| INTERVAL_MS.contains(ms));
    whole.ok_or_else(|| {
        "the interval must be whole milliseconds from 1ms to 1h: 10ms, 2s, 1min (a bare \
         number is milliseconds)"
            .to_string()
    })
}

/// `--max-increase`: a quantity.
pub(crate) fn limit(s: &str) -> Result<Quantity, String> {
    quantity::parse(s)
}

/// `--max-rss` (of `run` and `compare`): a size above 0, written as every size flag takes
/// it (`512MiB`, `2GiB`; IEC units), nothing relative, no time, no bare number.
pub(crate) fn max_rss(s: &str) -> Result<MaxRss, String> {
    const SIZE: &str = "give a size above 0 in IEC units (512MiB, 2GiB, 1.5TiB)";
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("an empty value is not a size: {SIZE}"));
    }
    let q = quantity::parse(t).map_err(|e| {
        // Its own words for a negative value and for `MB`; the rest: not a size.
        if e.contains("negative") || e.contains("IEC") {
            e
        } else {
            format!("'{t}' is not a size: {SIZE}")
        }
    })?;
    match q.amount {
        Amount::Kib(kib) if kib.round() >= 1.0 => Ok(MaxRss {
            text: q.text,
            kib: kib.round() as u64,
        }),
        Amount::Kib(_) => Err(format!("the limit must be above 0: {SIZE}")),
        Amount::Count(_) => Err(format!("'{t}' has no unit: {SIZE}")),
        Amount::Percent(_) => Err(format!(
            "'{t}' is a percentage, and --max-rss is an absolute limit: {SIZE} (compare \
             --max-increase takes percentages)"
        )),
        Amount::Seconds(_) => Err(format!("'{t}' is a time: {SIZE}")),
    }
}

/// `--cpu-budget`: a share of one core, as a percentage above 0 and at most 100.
pub(crate) fn cpu_budget(s: &str) -> Result<f64, String> {
    const PCT: &str = "give a share of one core as a percentage above 0% and at most 100% (5%)";
    let t = s.trim();
    let q = quantity::parse(t).map_err(|_| format!("'{t}' is not a percentage: {PCT}"))?;
    match q.amount {
        Amount::Percent(p) if p > 0.0 && p <= 100.0 => Ok(p),
        Amount::Percent(p) if p > 100.0 => Err(format!(
            "'{t}' is more than one core: memwatch samples on one core, so {PCT}"
        )),
        Amount::Percent(_) | Amount::Count(0) => Err(format!("the budget must be above 0: {PCT}")),
        _ => Err(format!("'{t}' is not a percentage: {PCT}")),
    }
}

/// Parses a figure's name (`compare --metric`) into the figure, offering the names of the
/// figures a gate can be about, each with its label.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FigureParser;

impl TypedValueParser for FigureParser {
    type Value = &'static Figure;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let name = value.to_string_lossy();
        FIGURES
            .iter()
            .filter(|f| f.gate())
            .find(|f| f.name == name)
            .ok_or_else(|| invalid(cmd, arg, &name, self.possible_values()))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(FIGURES.iter().filter(|f| f.gate()).map(|f| {
            PossibleValue::new(f.name).help(format!("{} ({})", f.label, f.key))
        })))
    }
}

/// Parses `--metric rss|pss|footprint`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetricParser;

impl TypedValueParser for MetricParser {
    type Value = Metric;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Metric, clap::Error> {
        let name = value.to_string_lossy();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| invalid(cmd, arg, &name, self.possible_values()))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            Metric::ALL
                .into_iter()
                .map(|m| PossibleValue::new(m.name()).help(m.help())),
        ))
    }
}

/// clap's "invalid value" error, with the values it takes.
fn invalid(
    cmd: &clap::Command,
    arg: Option<&clap::Arg>,
    value: &str,
    possible: Option<Box<dyn Iterator<Item = PossibleValue> + '_>>,
) -> clap::Error {
    let names: Vec<String> = possible
        .into_iter()
        .flatten()
        .map(|v| v.get_name().to_string())
        .collect();
    let mut err = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
    use clap::error::{ContextKind, ContextValue};
    if let Some(arg) = arg {
        err.insert(
            ContextKind::InvalidArg,
            ContextValue::String(arg.to_string()),
        );
    }
    err.insert(
        ContextKind::InvalidValue,
        ContextValue::String(value.to_string()),
    );
    err.insert(ContextKind::ValidValue, ContextValue::Strings(names));
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_budgets() {
        assert_eq!(cpu_budget("5%"), Ok(5.0));
        assert_eq!(cpu_budget(" 0.5% "), Ok(0.5));
        assert_eq!(cpu_budget("100%"), Ok(100.0));
        for bad in ["0", "0%", "150%", "abc", "5", "-5%", "", "5MiB"] {
            let e = cpu_budget(bad).unwrap_err();
            assert!(e.contains("percentage above 0%"), "{bad}: {e}");
        }
        assert!(
            cpu_budget("150%")
                .unwrap_err()
                .contains("more than one core")
        );
        assert!(cpu_budget("0").unwrap_err().contains("must be above 0"));
    }

    #[test]
    fn max_rss_takes_a_size_above_0_and_nothing_else() {
        let ok = |s: &str| max_rss(s).unwrap();
        assert_eq!(ok("2GiB").kib, 2 * 1024 * 1024);
        assert_eq!(ok(" 512mib ").kib, 512 * 1024);
        assert_eq!(ok("1.5GiB").kib, 1_572_864);
        assert_eq!(ok("1KiB").kib, 1);
        assert_eq!(ok("2GiB").text, "2GiB");
        for (bad, says) in [
            ("0", "'0' has no unit"),
            ("-5", "cannot be negative"),
            ("-5MiB", "cannot be negative"),
            ("12XB", "'12XB' is not a size"),
            ("", "an empty value is not a size"),
            ("  ", "an empty value is not a size"),
            ("20%", "'20%' is a percentage"),
            ("30s", "'30s' is a time"),
            ("1.5", "'1.5' is not a size"),
            ("0MiB", "must be above 0"),
            ("0.2KiB", "must be above 0"),
            ("2GB", "IEC"),
            ("lots", "'lots' is not a size"),
        ] {
            let e = max_rss(bad).expect_err(bad);
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(!e.contains('\n'), "{bad:?}: {e}");
        }
    }

    #[test]
    fn intervals_are_durations_and_a_bare_number_is_milliseconds() {
        for (text, ms) in [
            ("10", 10),
            ("10ms", 10),
            (" 10 ms ", 10),
            ("2s", 2000),
            ("0.5s", 500),
            ("1.5s", 1500),
            ("1min", 60_000),
            ("1h", 3_600_000),
            ("1ms", 1),
            ("3600000", 3_600_000),
        ] {
            assert_eq!(interval(text), Ok(ms), "{text}");
        }
        for bad in [
            "0",
            "0ms",
            "-5",
            "-5ms",
            "abc",
            "3600001",
            "61min",
            "2h",
            "",
            "1.5",
            "1.5ms",
            "0.0001s",
            "10MiB",
            "20%",
            "10x",
            "99999999999999999999999",
        ] {
            let e = interval(bad).unwrap_err();
            assert!(
                e.contains("from 1ms to 1h") && !e.contains('\n'),
                "{bad}: {e}"
            );
        }
    }
}
