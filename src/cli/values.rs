//! Parsers for flag values: the sampling interval, a quantity (`20%`, `256MiB`, `30s`), a
//! figure of the figure table, a metric. Each gives a one-line message on bad input.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;

use crate::model::Metric;
use crate::model::figures::{FIGURES, Figure};
use crate::model::quantity::{self, Quantity};

/// Sampling interval bounds, milliseconds.
pub(crate) const INTERVAL_MS: std::ops::RangeInclusive<u64> = 1..=3_600_000;

/// `-i`: whole milliseconds within [`INTERVAL_MS`].
pub(crate) fn interval(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(v) if INTERVAL_MS.contains(&v) => Ok(v),
        _ => Err(format!(
            "the interval must be a whole number of milliseconds from {} to {}",
            INTERVAL_MS.start(),
            INTERVAL_MS.end()
        )),
    }
}

/// `--max-increase`: a quantity.
pub(crate) fn limit(s: &str) -> Result<Quantity, String> {
    quantity::parse(s)
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
    fn intervals() {
        assert_eq!(interval("10"), Ok(10));
        for bad in ["0", "-5", "abc", "3600001", ""] {
            assert!(interval(bad).unwrap_err().contains("from 1 to 3600000"));
        }
    }
}
