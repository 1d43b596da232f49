//! A sweep's result, `memwatch sweep`'s JSON (`sweep.json`, with its own
//! [`SWEEP_VERSION`]): the swept parameter, each value's runs and their statistics, the
//! line fitted through the medians and its forecasts. `compare` and `plot` read it back
//! ([`read_if_sweep`] tells a sweep file from a run report). The field docs are the JSON
//! schema; docs/schema.md's table is written from them. It is read back field by field
//! ([`Sweep::from_json`]) rather than through serde's derive, whose code for a second
//! large document would not fit memwatch's size budget.

use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;
use serde::ser::Serializer;
use serde_json::{Map, Value};

use super::Metric;
use super::figures::{FIGURES, Values};
use crate::error::Error;

/// The version of the sweep file this memwatch writes. Readers refuse other versions.
pub const SWEEP_VERSION: u32 = 1;

/// A value of the swept parameter: the text substituted into the command, and the number it
/// is when every value of the sweep is one. JSON: a number in a numeric sweep, else a
/// string.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// As given (`4`, `0.5`, `jemalloc`).
    pub text: String,
    /// Its value, in a numeric sweep.
    pub number: Option<f64>,
}

impl Param {
    /// Whether `self` and `other` are the same value: equal numbers, else equal texts.
    pub fn same(&self, other: &Param) -> bool {
        match (self.number, other.number) {
            (Some(a), Some(b)) => a == b,
            _ => self.text == other.text,
        }
    }
}

impl Serialize for Param {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.number {
            Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => s.serialize_i64(v as i64),
            Some(v) => s.serialize_f64(v),
            None => s.serialize_str(&self.text),
        }
    }
}

/// One run of one value (`points[].runs[]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepRun {
    /// Which run of the value, from 1.
    pub run: u32,
    /// Its report's file name, in the sweep's `directory` (`n=4.run2.json`).
    pub report: String,
    /// Its max total RSS, KiB; `null` if the job ended before any sample.
    pub max_total_rss_kib: Option<u64>,
    /// Its max per-process RSS, KiB.
    pub max_process_rss_kib: Option<u64>,
    /// How long the job ran, s.
    pub duration_seconds: f64,
    /// The command's exit status, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed the command, if one did.
    pub signal: Option<i32>,
    /// memwatch was sent a signal during this run.
    pub interrupted: bool,
    /// The run failed (exited non-zero, was killed, or was interrupted): kept here, left
    /// out of the statistics and the fit.
    pub failed: bool,
}

/// One value of the parameter and what its runs measured (`points[]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// The value.
    pub value: Param,
    /// Its runs, in order, failed ones included.
    pub runs: Vec<SweepRun>,
    /// How many of `runs` failed.
    pub failed_runs: u32,
    /// The median of the successful runs' max total RSS, KiB (what the fit is made of);
    /// `null` when no run succeeded.
    pub median_max_total_rss_kib: Option<u64>,
    /// The smallest of them, KiB.
    pub min_max_total_rss_kib: Option<u64>,
    /// The largest of them, KiB.
    pub max_max_total_rss_kib: Option<u64>,
    /// Every headline figure's median over the successful runs, under the figure's report
    /// key (`max_process_rss_kib`, `duration_seconds`, `max_total_pss_kib`, …).
    pub medians: Values,
}

/// The least-squares line through the points' medians, `median ≈ a + b·value` (`fit`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fit {
    /// `a`, the fixed part: the line's value at 0, KiB (may be negative).
    pub intercept_kib: f64,
    /// `b`, the cost per unit of the parameter, KiB.
    pub slope_kib_per_unit: f64,
    /// R², how much of the medians' variation the line explains (1: every point on it).
    pub r_squared: f64,
    /// How many values (points with a median) the line was fitted through.
    pub points: usize,
}

/// A forecast from the line (`predictions[]`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// The value of the parameter (`--predict`).
    pub value: f64,
    /// `a + b·value`, KiB; `null` when the line gives less than 0 there.
    pub max_total_rss_kib: Option<u64>,
    /// The value divided by the largest measured value; `null` when that is not positive.
    pub times_largest: Option<f64>,
    /// The value lies outside the measured ones.
    pub extrapolated: bool,
}

/// `memwatch sweep`'s result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    /// [`SWEEP_VERSION`].
    pub sweep_version: u32,
    /// The memwatch that wrote it.
    pub memwatch_version: String,
    /// Where it ran.
    pub hostname: String,
    /// `linux` or `macos`.
    pub os: String,
    /// The parameter's name (`n` for `{n}`).
    pub parameter: String,
    /// Every value to measure, in order (those an interrupted sweep never reached too).
    pub values: Vec<Param>,
    /// The command, with `{NAME}` where the value goes.
    pub command: Vec<String>,
    /// Runs per value (`-r`).
    pub runs_per_value: u32,
    /// The sampling interval, ms.
    pub interval_ms: u64,
    /// What each run measured besides RSS (`--metric`).
    pub metric: Metric,
    /// The directory holding the runs' reports, as given (or made).
    pub directory: String,
    /// When the first run started.
    pub start_time: Timestamp,
    /// When the sweep ended (or this file was written).
    pub end_time: Timestamp,
    /// The values measured so far, with their runs.
    pub points: Vec<Point>,
    /// The line through the medians; `null` when none can be fitted (`no_fit_reason`).
    pub fit: Option<Fit>,
    /// Why there is no fit; `null` when there is one.
    pub no_fit_reason: Option<String>,
    /// Forecasts at the `--predict` values.
    pub predictions: Vec<Prediction>,
    /// Every value was run `runs_per_value` times.
    pub complete: bool,
    /// The sweep was stopped by a signal (Ctrl+C).
    pub interrupted: bool,
    /// That signal's number (2 for SIGINT); `null` when not interrupted.
    pub interrupt_signal: Option<i32>,
    /// What to keep in mind: failed runs, a poor fit, far extrapolation, …
    pub warnings: Vec<String>,
    /// What `memwatch sweep` exits with: 0 when every run succeeded, else the first failed
    /// run's status, 128+N when interrupted by signal N, 125 when memwatch failed.
    pub exit_code: i32,
}

/// Write `sweep` as pretty JSON with a final newline.
pub(crate) fn write(sweep: &Sweep, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, sweep)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// A JSON object read field by field; each failure names the field.
struct Obj<'a>(&'a Map<String, Value>);

impl<'a> Obj<'a> {
    fn of(v: &'a Value, what: &str) -> Result<Obj<'a>, String> {
        v.as_object()
            .map(Obj)
            .ok_or_else(|| format!("{what} is not an object"))
    }

    fn get(&self, key: &str) -> Result<&'a Value, String> {
        self.0.get(key).ok_or_else(|| format!("no field {key}"))
    }

    fn bad(key: &str, want: &str) -> String {
        format!("field {key} is not {want}")
    }

    /// A value that may be `null`, through `read`.
    fn opt<T>(
        &self,
        key: &str,
        want: &str,
        read: fn(&Value) -> Option<T>,
    ) -> Result<Option<T>, String> {
        match self.get(key)? {
            Value::Null => Ok(None),
            v => read(v).map(Some).ok_or_else(|| Self::bad(key, want)),
        }
    }

    fn need<T>(&self, key: &str, want: &str, read: fn(&Value) -> Option<T>) -> Result<T, String> {
        self.opt(key, want, read)?
            .ok_or_else(|| Self::bad(key, want))
    }

    fn string(&self, key: &str) -> Result<String, String> {
        self.need(key, "a string", |v| v.as_str().map(str::to_string))
    }

    fn u64(&self, key: &str) -> Result<u64, String> {
        self.need(key, "a whole number", Value::as_u64)
    }

    fn f64(&self, key: &str) -> Result<f64, String> {
        self.need(key, "a number", Value::as_f64)
    }

    fn bool(&self, key: &str) -> Result<bool, String> {
        self.need(key, "true or false", Value::as_bool)
    }

    fn list(&self, key: &str) -> Result<&'a Vec<Value>, String> {
        self.get(key)?
            .as_array()
            .ok_or_else(|| Self::bad(key, "a list"))
    }

    /// A list, each item read by `read`.
    fn each<T>(&self, key: &str, read: fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
        let items = self.list(key)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(read(item)?);
        }
        Ok(out)
    }

    fn time(&self, key: &str) -> Result<Timestamp, String> {
        self.need(key, "an RFC 3339 time", |v| v.as_str()?.parse().ok())
    }

    fn i32(&self, key: &str) -> Result<Option<i32>, String> {
        self.opt(key, "a whole number", |v| i32::try_from(v.as_i64()?).ok())
    }
}

/// A string in a list.
fn text(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| "a list holds something other than strings".to_string())
}

/// A value of the parameter: a number or a string.
fn param(v: &Value) -> Result<Param, String> {
    match v {
        Value::Number(n) => Ok(Param {
            text: n.to_string(),
            number: n.as_f64(),
        }),
        Value::String(t) => Ok(Param {
            text: t.clone(),
            number: None,
        }),
        _ => Err("a value of the parameter is neither a number nor a string".to_string()),
    }
}

fn run(v: &Value) -> Result<SweepRun, String> {
    let o = Obj::of(v, "a run")?;
    Ok(SweepRun {
        run: u32::try_from(o.u64("run")?).map_err(|_| Obj::bad("run", "a run number"))?,
        report: o.string("report")?,
        max_total_rss_kib: o.opt("max_total_rss_kib", "KiB", Value::as_u64)?,
        max_process_rss_kib: o.opt("max_process_rss_kib", "KiB", Value::as_u64)?,
        duration_seconds: o.f64("duration_seconds")?,
        exit_code: o.i32("exit_code")?,
        signal: o.i32("signal")?,
        interrupted: o.bool("interrupted")?,
        failed: o.bool("failed")?,
    })
}

fn point(v: &Value) -> Result<Point, String> {
    let o = Obj::of(v, "a point")?;
    let medians = Obj::of(o.get("medians")?, "medians")?;
    let mut values = Values::unknown();
    for f in FIGURES {
        values.set(f, medians.0.get(f.key).and_then(Value::as_f64));
    }
    Ok(Point {
        value: param(o.get("value")?)?,
        runs: o.each("runs", run)?,
        failed_runs: u32::try_from(o.u64("failed_runs")?).unwrap_or(u32::MAX),
        median_max_total_rss_kib: o.opt("median_max_total_rss_kib", "KiB", Value::as_u64)?,
        min_max_total_rss_kib: o.opt("min_max_total_rss_kib", "KiB", Value::as_u64)?,
        max_max_total_rss_kib: o.opt("max_max_total_rss_kib", "KiB", Value::as_u64)?,
        medians: values,
    })
}

fn fit(v: &Value) -> Option<Fit> {
    let o = Obj::of(v, "fit").ok()?;
    Some(Fit {
        intercept_kib: o.f64("intercept_kib").ok()?,
        slope_kib_per_unit: o.f64("slope_kib_per_unit").ok()?,
        r_squared: o.f64("r_squared").ok()?,
        points: usize::try_from(o.u64("points").ok()?).ok()?,
    })
}

fn prediction(v: &Value) -> Result<Prediction, String> {
    let o = Obj::of(v, "a prediction")?;
    Ok(Prediction {
        value: o.f64("value")?,
        max_total_rss_kib: o.opt("max_total_rss_kib", "KiB", Value::as_u64)?,
        times_largest: o.opt("times_largest", "a number", Value::as_f64)?,
        extrapolated: o.bool("extrapolated")?,
    })
}

impl Sweep {
    /// Read a sweep from its JSON (version checked by the caller).
    pub fn from_json(v: &Value) -> Result<Sweep, String> {
        let o = Obj::of(v, "the file")?;
        let metric = o.string("metric")?;
        Ok(Sweep {
            sweep_version: SWEEP_VERSION,
            memwatch_version: o.string("memwatch_version")?,
            hostname: o.string("hostname")?,
            os: o.string("os")?,
            parameter: o.string("parameter")?,
            values: o.each("values", param)?,
            command: o.each("command", text)?,
            runs_per_value: u32::try_from(o.u64("runs_per_value")?).unwrap_or(u32::MAX),
            interval_ms: o.u64("interval_ms")?,
            metric: Metric::ALL
                .into_iter()
                .find(|m| m.name() == metric)
                .ok_or_else(|| Obj::bad("metric", "rss, pss or footprint"))?,
            directory: o.string("directory")?,
            start_time: o.time("start_time")?,
            end_time: o.time("end_time")?,
            points: o.each("points", point)?,
            fit: fit(o.get("fit")?),
            no_fit_reason: o.opt("no_fit_reason", "a string", |v| {
                v.as_str().map(str::to_string)
            })?,
            predictions: o.each("predictions", prediction)?,
            complete: o.bool("complete")?,
            interrupted: o.bool("interrupted")?,
            interrupt_signal: o.i32("interrupt_signal")?,
            warnings: o.each("warnings", text)?,
            exit_code: o.i32("exit_code")?.unwrap_or(0),
        })
    }
}

/// The sweep in `path`, when it is a sweep file (it has a `sweep_version`); `None` for
/// anything else, which is read as a run's report (and its errors said) by
/// [`super::io::read_report`]. A sweep file of another version is an error naming it.
pub(crate) fn read_if_sweep(path: &Path) -> Result<Option<Sweep>, Error> {
    let input = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None);
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    match value.get("sweep_version").map(Value::as_u64) {
        None => Ok(None),
        Some(Some(n)) if n == u64::from(SWEEP_VERSION) => Sweep::from_json(&value)
            .map(Some)
            .map_err(|e| input(format!("not a memwatch sweep file: {e}"))),
        Some(n) => Err(input(format!(
            "sweep file has sweep_version {}, this memwatch reads version {SWEEP_VERSION}",
            n.map_or_else(|| "?".to_string(), |n| n.to_string())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbers_in_a_numeric_sweep_else_strings() {
        let p = |text: &str, number| Param {
            text: text.to_string(),
            number,
        };
        let json = serde_json::to_string(&[p("4", Some(4.0)), p("0.5", Some(0.5))]).unwrap();
        assert_eq!(json, "[4,0.5]");
        let back: Vec<Value> = serde_json::from_str(&json).unwrap();
        let back: Vec<Param> = back.iter().map(|v| param(v).unwrap()).collect();
        assert_eq!(back, [p("4", Some(4.0)), p("0.5", Some(0.5))]);
        let json = serde_json::to_string(&[p("glibc", None), p("1", None)]).unwrap();
        assert_eq!(json, r#"["glibc","1"]"#);
        assert!(p("4", Some(4.0)).same(&p("4.0", Some(4.0))));
        assert!(!p("4", None).same(&p("4.0", None)));
    }
}
