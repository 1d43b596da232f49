//! Chart axes: "nice" tick steps, the memory axis in IEC units, the time axis in seconds,
//! minutes or hours.

use crate::output::units::iec_unit;

/// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about `target` steps
/// over `range`.
pub(crate) fn nice_step(range: f64, target: usize) -> f64 {
    if !(range.is_finite() && range > 0.0) {
        return 1.0;
    }
    let raw = range / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let k = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&k| norm <= k * (1.0 + 1e-9))
        .unwrap_or(10.0);
    k * mag
}

/// Decimals needed to write multiples of `step` exactly (0 to 3).
pub(super) fn decimals(step: f64) -> usize {
    (0..3)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(3)
}

/// An axis from 0: its top (in the unit) and the ticks, as (value in the unit, label).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Axis {
    /// Data units per axis unit (KiB per MiB, seconds per minute).
    pub per_unit: f64,
    /// The unit ("MiB", "s").
    pub unit: &'static str,
    /// Top of the axis, in the unit.
    pub top: f64,
    /// Ticks: value in the unit and its label.
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// Position of a data value between 0 (bottom/left) and 1.
    pub(super) fn frac(&self, data: f64) -> f64 {
        (data / self.per_unit / self.top).clamp(0.0, 1.0)
    }
}

/// The memory axis for values up to `max_kib`: in the IEC unit of its top, about 5 ticks
/// labelled with that unit (`0`, `256 MiB`, `512 MiB`…), headroom above the peak for its
/// label.
pub(crate) fn memory_axis(max_kib: u64) -> Axis {
    let max = if max_kib == 0 { 1024.0 } else { max_kib as f64 };
    let want = max * 1.12;
    let (per_unit, unit) = iec_unit(want);
    let step = nice_step(want / per_unit, 5);
    let top = (want / per_unit / step).ceil() * step;
    let d = decimals(step);
    let ticks = ticks(step, top)
        .map(|v| {
            let label = if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v:.d$} {unit}")
            };
            (v, label)
        })
        .collect();
    Axis {
        per_unit,
        unit,
        top,
        ticks,
    }
}

/// The time axis for a job of `max_ms`: seconds up to 2 minutes, minutes up to 2 hours,
/// then hours; about 8 ticks.
pub(crate) fn time_axis(max_ms: u64) -> Axis {
    let secs = if max_ms == 0 {
        1.0
    } else {
        max_ms as f64 / 1000.0
    };
    let (per_unit, unit) = if secs <= 120.0 {
        (1000.0, "s")
    } else if secs <= 7200.0 {
        (60_000.0, "min")
    } else {
        (3_600_000.0, "h")
    };
    let v = secs * 1000.0 / per_unit;
    let step = nice_step(v, 8);
    let top = (v / step - 1e-9).ceil().max(1.0) * step;
    let d = decimals(step);
    let ticks = ticks(step, top)
        .map(|v| {
            let label = if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v:.d$}")
            };
            (v, label)
        })
        .collect();
    Axis {
        per_unit,
        unit,
        top,
        ticks,
    }
}

fn ticks(step: f64, top: f64) -> impl Iterator<Item = f64> {
    let n = (top / step + 1e-6).floor() as u64;
    (0..=n).map(move |i| i as f64 * step)
}
