//! The headline figures of a report, declared once.
//!
//! Each [`Figure`] says what it is called (on the command line, in JSON, in tables and
//! sentences), its unit, which way is better, how to read it from a report and how to add
//! it across reports. `compare` (its tables, verdicts, medians, ratios and JSON), `merge`
//! (per-report columns and totals) and the summary walk [`FIGURES`]; none of them lists
//! figures of its own. Adding a figure is one entry here plus its measurement (the report
//! field it reads).

use std::collections::BTreeMap;

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::Report;

/// What a figure measures, for formatting and for the kind of limit that fits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Memory, KiB (whole numbers in JSON).
    Kib,
    /// Time, seconds (fractions in JSON).
    Seconds,
    /// A count (whole numbers in JSON).
    Count,
    /// Time, milliseconds (fractions in JSON): the achieved interval.
    Millis,
    /// A percentage (fractions in JSON).
    Percent,
}

impl Unit {
    /// The value as a JSON number: whole for KiB and counts, as is for seconds.
    pub fn json(self, v: f64) -> serde_json::Value {
        match self {
            Unit::Seconds | Unit::Millis | Unit::Percent => serde_json::Value::from(v),
            Unit::Kib | Unit::Count if v < 0.0 => serde_json::Value::from(v.round() as i64),
            Unit::Kib | Unit::Count => serde_json::Value::from(v.round() as u64),
        }
    }

    /// Whether values are whole (medians of an even count round half up to one).
    pub fn whole(self) -> bool {
        matches!(self, Unit::Kib | Unit::Count)
    }
}

/// Which way a figure should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Less is better (memory, time): `compare --max-increase` can gate on it.
    Lower,
    /// Neither way is better (the sample count): shown, never gated.
    Neither,
}

/// How a figure adds up across the reports `merge` combines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// The reports' timelines added at each instant (merge computes that peak); the sum of
    /// the reports' own values is given under `sum_key` as an upper bound only.
    Aligned {
        /// The key of the sum of the reports' own peaks.
        sum_key: &'static str,
    },
    /// Added up (counts, CPU time): the merge's figure under the figure's own key.
    Sum,
    /// Each report's peak added up, an upper bound only (the peaks need not coincide),
    /// given when every report has the figure.
    SumOfPeaks {
        /// The key of that sum in the merge.
        key: &'static str,
    },
    /// From the earliest start to the latest end (the duration).
    Span,
    /// Not combined: each report's own value is listed.
    PerReport,
}

/// How a scaling table's summary line speaks of a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Its ratio, with the first and last values.
    Values,
    /// Its ratio only.
    Ratio,
    /// Not in the line.
    Absent,
    /// Neither in the line nor a column of the scaling table, which it would crowd (the
    /// kernel's counts): two-sided tables, JSON and merge show it.
    Hidden,
}

/// One headline figure.
#[derive(Debug)]
pub struct Figure {
    /// Its name on the command line (`compare --metric total`).
    pub name: &'static str,
    /// Its key in a report, and in `compare --json`'s `entries` and `changes`.
    pub key: &'static str,
    /// Its key in `compare --json`'s `ratio_to_first`; `None`: no ratio.
    pub ratio_key: Option<&'static str>,
    /// Its row or column heading: `Max total RSS`.
    pub label: &'static str,
    /// How a sentence names it: `max total RSS`.
    pub noun: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
    /// Its value in a report, in its unit; `None` when the report does not know it.
    pub read: fn(&Report) -> Option<f64>,
    /// Whether a report's value leaves out processes it could not read (it is then a lower
    /// bound, and no sum of such values bounds a job).
    pub partial: fn(&Report) -> bool,
    /// How `merge` combines it.
    pub merge: Merge,
    /// Only some reports have it (`run --metric`; a figure an interim report or an earlier
    /// memwatch version does not give): shown only when one of them does.
    pub optional: bool,
    /// A scaling table gives its ratio in a column of its own.
    pub ratio_column: bool,
    /// How the scaling table's summary line speaks of it.
    pub scaling: Scaling,
    /// Why a report may not know it, for the error when a limit needs it.
    pub unknown_reason: &'static str,
}

impl Figure {
    /// Whether `compare --max-increase` can gate on it.
    pub fn gate(&self) -> bool {
        self.better == Better::Lower
    }

    /// Its value in `r`.
    pub fn of(&self, r: &Report) -> Option<f64> {
        (self.read)(r)
    }
}

fn kib(v: Option<u64>) -> Option<f64> {
    v.map(|v| v as f64)
}

fn count(v: Option<u64>) -> Option<f64> {
    v.map(|v| v as f64)
}

const NO_SAMPLE: &str = "no sample saw the job alive";
const AT_THE_END: &str = "it is known only once the job is over, so an interim report and reports of \
     earlier memwatch versions lack it";

/// Every headline figure, in the order tables show them: the memory figures together,
/// then time and counts.
pub static FIGURES: &[Figure] = &[
    Figure {
        name: "total",
        key: "max_total_rss_kib",
        ratio_key: Some("max_total_rss"),
        label: "Max total RSS",
        noun: "max total RSS",
        unit: Unit::Kib,
        better: Better::Lower,
        read: |r| kib(r.max_total_rss_kib),
        partial: |r| r.max_total_rss_is_lower_bound || r.processes_unreadable > 0,
        merge: Merge::Aligned {
            sum_key: "sum_of_report_peaks_kib",
        },
        optional: false,
        ratio_column: true,
        scaling: Scaling::Values,
        unknown_reason: NO_SAMPLE,
    },
    Figure {
        name: "process",
        key: "max_process_rss_kib",
        ratio_key: Some("max_process_rss"),
        label: "Max per process",
        noun: "max per-process RSS",
        unit: Unit::Kib,
        better: Better::Lower,
        read: |r| kib(r.max_process_rss_kib),
        partial: |r| r.max_total_rss_is_lower_bound || r.processes_unreadable > 0,
        merge: Merge::PerReport,
        optional: false,
        ratio_column: true,
        scaling: Scaling::Ratio,
        unknown_reason: NO_SAMPLE,
    },
    Figure {
        name: "pss",
        key: "max_total_pss_kib",
        ratio_key: Some("max_total_pss"),
        label: "Max total PSS",
        noun: "max total PSS",
        unit: Unit::Kib,
        better: Better::Lower,
        read: |r| kib(r.max_total_pss_kib),
        partial: |r| r.max_total_pss_is_lower_bound || r.processes_metric_unreadable > 0,
        merge: Merge::SumOfPeaks {
            key: "sum_of_report_pss_peaks_kib",
        },
        optional: true,
        ratio_column: true,
        scaling: Scaling::Values,
        unknown_reason: "the report was made without `run --metric pss`, or no PSS read succeeded",
    },
    Figure {
        name: "footprint",
        key: "max_total_footprint_kib",
        ratio_key: Some("max_total_footprint"),
        label: "Max total footprint",
        noun: "max total footprint",
        unit: Unit::Kib,
        better: Better::Lower,
        read: |r| kib(r.max_total_footprint_kib),
        partial: |r| r.max_total_footprint_is_lower_bound || r.processes_metric_unreadable > 0,
        merge: Merge::PerReport,
        optional: true,
        ratio_column: true,
        scaling: Scaling::Values,
        unknown_reason: "the report was made without `run --metric footprint`, or no footprint read succeeded",
    },
    Figure {
        name: "private",
        key: "max_total_private_rss_kib",
        ratio_key: Some("max_total_private_rss"),
        label: "Max total private RSS",
        noun: "max total private RSS",
        unit: Unit::Kib,
        better: Better::Lower,
        read: |r| kib(r.max_total_private_rss_kib),
        partial: |r| r.max_total_rss_is_lower_bound || r.processes_unreadable > 0,
        merge: Merge::SumOfPeaks {
            key: "sum_of_report_private_peaks_kib",
        },
        optional: true,
        ratio_column: true,
        scaling: Scaling::Ratio,
        unknown_reason: "the report was made on macOS, where memwatch cannot tell private pages \
             from shared ones, or by an earlier memwatch, or no sample saw the job alive",
    },
    Figure {
        name: "duration",
        key: "duration_seconds",
        ratio_key: Some("duration"),
        label: "Duration",
        noun: "duration",
        unit: Unit::Seconds,
        better: Better::Lower,
        read: |r| Some(r.duration_seconds),
        partial: |_| false,
        merge: Merge::Span,
        optional: false,
        ratio_column: true,
        scaling: Scaling::Ratio,
        unknown_reason: NO_SAMPLE,
    },
    Figure {
        name: "processes",
        key: "processes_total",
        ratio_key: Some("processes_total"),
        label: "Processes",
        noun: "process count",
        unit: Unit::Count,
        better: Better::Lower,
        read: |r| Some(r.processes_total as f64),
        partial: |_| false,
        merge: Merge::Sum,
        optional: false,
        ratio_column: false,
        scaling: Scaling::Absent,
        unknown_reason: NO_SAMPLE,
    },
    Figure {
        name: "cgroup",
        key: "cgroup_peak_kib",
        ratio_key: Some("cgroup_peak"),
        label: "Cgroup peak",
        noun: "cgroup peak",
        unit: Unit::Kib,
        better: Better::Lower,
        read: |r| kib(r.cgroup_peak_kib),
        partial: |_| false,
        merge: Merge::PerReport,
        optional: true,
        ratio_column: true,
        scaling: Scaling::Values,
        unknown_reason: "the job did not have its memory cgroup to itself, or the report was made on macOS or by an earlier memwatch (its cgroup_peak_note says why)",
    },
    Figure {
        name: "limit",
        key: "peak_percent_of_limit",
        ratio_key: None,
        label: "Peak % of limit",
        noun: "peak share of the memory limit",
        unit: Unit::Percent,
        better: Better::Neither,
        read: |r| r.peak_percent_of_limit,
        partial: |r| r.max_total_rss_is_lower_bound || r.processes_unreadable > 0,
        merge: Merge::PerReport,
        optional: true,
        ratio_column: false,
        scaling: Scaling::Absent,
        unknown_reason: "the report has no memory limit (made by an earlier memwatch) or no max total",
    },
    Figure {
        name: "samples",
        key: "samples",
        ratio_key: None,
        label: "Samples",
        noun: "sample count",
        unit: Unit::Count,
        better: Better::Neither,
        read: |r| Some(r.samples as f64),
        partial: |_| false,
        merge: Merge::PerReport,
        optional: false,
        ratio_column: false,
        scaling: Scaling::Absent,
        unknown_reason: NO_SAMPLE,
    },
    Figure {
        name: "cpu-user",
        key: "cpu_user_seconds",
        ratio_key: Some("cpu_user"),
        label: "CPU user",
        noun: "user CPU time",
        unit: Unit::Seconds,
        better: Better::Lower,
        read: |r| r.cpu_user_seconds,
        partial: |r| r.rusage_is_lower_bound,
        merge: Merge::Sum,
        optional: true,
        ratio_column: false,
        scaling: Scaling::Ratio,
        unknown_reason: AT_THE_END,
    },
    Figure {
        name: "cpu-system",
        key: "cpu_system_seconds",
        ratio_key: Some("cpu_system"),
        label: "CPU system",
        noun: "system CPU time",
        unit: Unit::Seconds,
        better: Better::Lower,
        read: |r| r.cpu_system_seconds,
        partial: |r| r.rusage_is_lower_bound,
        merge: Merge::Sum,
        optional: true,
        ratio_column: false,
        scaling: Scaling::Absent,
        unknown_reason: AT_THE_END,
    },
    Figure {
        name: "interval",
        key: "interval_achieved_mean_ms",
        ratio_key: None,
        label: "Interval achieved",
        noun: "achieved interval",
        unit: Unit::Millis,
        better: Better::Neither,
        read: |r| r.interval_achieved_mean_ms,
        partial: |_| false,
        merge: Merge::PerReport,
        optional: true,
        ratio_column: false,
        scaling: Scaling::Absent,
        unknown_reason: "the report was made by an earlier memwatch, or has fewer than two samples",
    },
    count_figure(
        "faults-minor",
        "page_faults_minor",
        "Minor faults",
        "minor page fault count",
        |r| count(r.page_faults_minor),
    ),
    count_figure(
        "faults-major",
        "page_faults_major",
        "Major faults",
        "major page fault count",
        |r| count(r.page_faults_major),
    ),
    count_figure(
        "switches-voluntary",
        "context_switches_voluntary",
        "Vol. switches",
        "voluntary context switch count",
        |r| count(r.context_switches_voluntary),
    ),
    count_figure(
        "switches-involuntary",
        "context_switches_involuntary",
        "Invol. switches",
        "involuntary context switch count",
        |r| count(r.context_switches_involuntary),
    ),
    count_figure(
        "block-in",
        "block_input_ops",
        "Block inputs",
        "block input count",
        |r| count(r.block_input_ops),
    ),
    count_figure(
        "block-out",
        "block_output_ops",
        "Block outputs",
        "block output count",
        |r| count(r.block_output_ops),
    ),
];

/// One of the kernel's counts of the job (`getrusage`): added up by merge, gateable, shown
/// in two-sided tables only.
const fn count_figure(
    name: &'static str,
    key: &'static str,
    label: &'static str,
    noun: &'static str,
    read: fn(&Report) -> Option<f64>,
) -> Figure {
    Figure {
        name,
        key,
        ratio_key: None,
        label,
        noun,
        unit: Unit::Count,
        better: Better::Lower,
        read,
        partial: |r| r.rusage_is_lower_bound,
        merge: Merge::Sum,
        optional: true,
        ratio_column: false,
        scaling: Scaling::Hidden,
        unknown_reason: AT_THE_END,
    }
}

/// The figure named `name` on the command line.
pub fn by_name(name: &str) -> Option<&'static Figure> {
    FIGURES.iter().find(|f| f.name == name)
}

/// The figure with report key `key`.
pub fn by_key(key: &str) -> Option<&'static Figure> {
    FIGURES.iter().find(|f| f.key == key)
}

/// A value per figure of [`FIGURES`] (by position): one report's, a side's medians, a
/// merge's totals. Serialised as an object of the figures' keys in table order (KiB and
/// counts whole), `null` for an unknown value, so it can be flattened into a larger object.
#[derive(Clone, Debug, PartialEq)]
pub struct Values(Vec<Option<f64>>);

impl Values {
    /// Every figure of `r`.
    pub fn of(r: &Report) -> Values {
        Values(FIGURES.iter().map(|f| f.of(r)).collect())
    }

    /// Every figure unknown.
    pub fn unknown() -> Values {
        Values(vec![None; FIGURES.len()])
    }

    /// Each figure's median over `all` (unknown values left out; for an even count the
    /// mean of the two middle ones, rounded half up for whole units).
    pub fn median(all: &[Values]) -> Values {
        Values(
            FIGURES
                .iter()
                .enumerate()
                .map(|(i, f)| median(all.iter().filter_map(|v| v.0[i]).collect(), f.unit))
                .collect(),
        )
    }

    /// The value of `f` (a figure of [`FIGURES`]).
    pub fn get(&self, f: &Figure) -> Option<f64> {
        self.0[index(f)]
    }

    /// Set the value of `f`.
    pub fn set(&mut self, f: &Figure, v: Option<f64>) {
        self.0[index(f)] = v;
    }

    /// The figures and their values, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Figure, Option<f64>)> + '_ {
        FIGURES.iter().zip(self.0.iter().copied())
    }
}

fn index(f: &Figure) -> usize {
    FIGURES
        .iter()
        .position(|g| std::ptr::eq(g, f))
        .expect("a figure of FIGURES")
}

/// The median; the mean of the two middle values for an even count (rounded half up for
/// whole units).
pub fn median(mut v: Vec<f64>, unit: Unit) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let m = match n {
        0 => return None,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    Some(if unit.whole() { m.ceil() } else { m })
}

impl Serialize for Values {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (f, v) in self.iter() {
            map.serialize_entry(f.key, &v.map(|v| f.unit.json(v)))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Values, D::Error> {
        // Keys that are not figures (a larger object's, when flattened) are passed over.
        let raw: BTreeMap<String, serde_json::Value> = BTreeMap::deserialize(d)?;
        let mut values = Values::unknown();
        for f in FIGURES {
            if let Some(v) = raw.get(f.key) {
                values.set(f, v.as_f64());
            }
        }
        Ok(values)
    }
}

impl Figure {
    /// The key of this figure's total in a merge, when merge adds it up: its own key for a
    /// sum, the upper-bound key for a sum of peaks.
    pub fn total_key(&self) -> Option<&'static str> {
        match self.merge {
            Merge::Aligned { sum_key } => Some(sum_key),
            Merge::Sum => Some(self.key),
            Merge::SumOfPeaks { key } => Some(key),
            Merge::Span | Merge::PerReport => None,
        }
    }
}

/// A merge's totals: each figure merge adds up ([`Figure::total_key`]), under its total's
/// key, `null` when it cannot be given. Serialised as an object, to be flattened into the
/// merge.
#[derive(Clone, Debug, PartialEq)]
pub struct Totals(pub Values);

impl Totals {
    /// The total of `f`, if merge adds it up and could.
    pub fn get(&self, f: &Figure) -> Option<f64> {
        f.total_key().and(self.0.get(f))
    }
}

impl Serialize for Totals {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (f, v) in self.0.iter() {
            if let Some(key) = f.total_key() {
                map.serialize_entry(key, &v.map(|v| f.unit.json(v)))?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Totals {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Totals, D::Error> {
        let raw: BTreeMap<String, serde_json::Value> = BTreeMap::deserialize(d)?;
        let mut values = Values::unknown();
        for f in FIGURES {
            if let Some(v) = f.total_key().and_then(|k| raw.get(k)) {
                values.set(f, v.as_f64());
            }
        }
        Ok(Totals(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_are_unique() {
        for (i, f) in FIGURES.iter().enumerate() {
            for g in &FIGURES[..i] {
                assert_ne!(f.name, g.name);
                assert_ne!(f.key, g.key);
                assert_ne!(f.label, g.label);
            }
            assert_eq!(by_name(f.name).map(|g| g.key), Some(f.key));
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![], Unit::Kib), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0], Unit::Kib), Some(2.0));
        assert_eq!(median(vec![1.0, 2.0], Unit::Kib), Some(2.0), "half up");
        assert_eq!(median(vec![1.0, 2.0], Unit::Seconds), Some(1.5));
        assert_eq!(
            median(vec![10.0, 20.0, 30.0, 40.0], Unit::Count),
            Some(25.0)
        );
    }

    #[test]
    fn values_serialise_in_table_order_with_whole_kib() {
        let mut v = Values::unknown();
        v.set(by_name("total").unwrap(), Some(1024.4));
        v.set(by_name("duration").unwrap(), Some(1.5));
        let json = serde_json::to_string(&v).unwrap();
        assert!(
            json.starts_with(r#"{"max_total_rss_kib":1024,"max_process_rss_kib":null,"#),
            "{json}"
        );
        assert!(json.contains(r#""duration_seconds":1.5"#), "{json}");
        let back: Values = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get(by_name("total").unwrap()), Some(1024.0));
    }
}
