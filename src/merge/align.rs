//! Reports on wall-clock time: each report's timeline as a step function of the instant,
//! and their sum at every instant where one of them changes (the job's total over time and
//! its peak).

use std::time::Duration;

use jiff::Timestamp;

use crate::model::Report;
use crate::model::timeline::{DEFAULT_POINTS, Point, Timeline};

/// A report's totals on wall-clock time, microseconds since the Unix epoch.
pub(super) struct Series {
    /// (instant, total KiB, processes), in time order.
    points: Vec<(i64, u64, u32)>,
    /// From this instant on it counts 0.
    end: i64,
}

pub(super) fn series(r: &Report) -> Series {
    let start = r.start_time.as_microsecond();
    let at =
        |ms: u64| start.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX).saturating_mul(1000));
    let mut points: Vec<(i64, u64, u32)> = r
        .timeline
        .iter()
        .map(|p| (at(p.t_ms), p.total_rss_kib, p.processes))
        .collect();
    if points.is_empty() {
        // A report without timeline points (written by hand, or trimmed): its peak is all
        // that is known.
        if let (Some(kib), Some(ms)) = (r.max_total_rss_kib, r.max_total_rss_ms) {
            points.push((at(ms), kib, r.processes_at_peak));
        }
    }
    points.sort_by_key(|p| p.0);
    // The last point holds at least for an instant, even if end_time was rounded below it.
    let last = points.last().map_or(i64::MIN, |p| p.0.saturating_add(1));
    Series {
        points,
        end: r.end_time.as_microsecond().max(last),
    }
}

/// The largest gap between consecutive points, ms, at least the sampling interval.
pub(super) fn resolution_ms(r: &Report) -> u64 {
    r.timeline
        .windows(2)
        .map(|w| w[1].t_ms.saturating_sub(w[0].t_ms))
        .max()
        .unwrap_or(0)
        .max(r.interval_ms)
}

/// What the sweep found.
pub(super) struct Sweep {
    /// Job peak: (instant, sum, each report's value at it).
    pub(super) peak: Option<(i64, u64, Vec<u64>)>,
    /// The summed curve: (instant, sum, processes).
    pub(super) curve: Vec<(i64, u64, u32)>,
}

/// Add the reports' step functions at every instant where one of them changes.
pub(super) fn sweep(all: &[Series]) -> Sweep {
    // (instant, report, new value); an end sets 0. Sorting by instant only (stable) keeps
    // a report's own events in order.
    let mut events: Vec<(i64, usize, u64, u32)> = Vec::new();
    for (i, s) in all.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        events.extend(s.points.iter().map(|&(t, kib, n)| (t, i, kib, n)));
        events.push((s.end, i, 0, 0));
    }
    events.sort_by_key(|e| e.0);
    // Wide sums: reports are input, and their figures may be anything.
    let mut values = vec![(0u64, 0u32); all.len()];
    let mut sum: u128 = 0;
    let mut procs: u64 = 0;
    let mut peak: Option<(i64, u64, Vec<u64>)> = None;
    let mut curve = Vec::new();
    let mut k = 0;
    while k < events.len() {
        let t = events[k].0;
        // Every change at this instant before looking at the sum: a node ending exactly
        // when another starts does not overlap it.
        while k < events.len() && events[k].0 == t {
            let (_, i, kib, n) = events[k];
            sum = sum - u128::from(values[i].0) + u128::from(kib);
            procs = procs - u64::from(values[i].1) + u64::from(n);
            values[i] = (kib, n);
            k += 1;
        }
        let total = u64::try_from(sum).unwrap_or(u64::MAX);
        if peak.as_ref().is_none_or(|p| total > p.1) {
            peak = Some((t, total, values.iter().map(|v| v.0).collect()));
        }
        curve.push((t, total, u32::try_from(procs).unwrap_or(u32::MAX)));
    }
    Sweep { peak, curve }
}

pub(super) fn timestamp(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Milliseconds from `from` to `to`, rounded to the nearest (instants are kept in
/// microseconds, a report's start time in nanoseconds: truncating could show a report's
/// own peak 1 ms early).
pub(super) fn offset_ms(from: Timestamp, to: Timestamp) -> u64 {
    let d = to.duration_since(from);
    u64::try_from((d.as_micros() + 500).div_euclid(1000)).unwrap_or(0)
}

/// The summed curve as a bounded timeline (ms after `start_us`): several changes within one
/// millisecond become one point with the largest total, like the timeline's own merging.
pub(super) fn summed_timeline(curve: &[(i64, u64, u32)], start_us: i64) -> Vec<Point> {
    let mut timeline = Timeline::new(DEFAULT_POINTS);
    let mut open: Option<Point> = None;
    for &(t, sum, n) in curve {
        let t_ms = u64::try_from(t.saturating_sub(start_us) / 1000).unwrap_or(0);
        match &mut open {
            Some(p) if p.t_ms == t_ms => {
                p.total_rss_kib = p.total_rss_kib.max(sum);
                p.processes = p.processes.max(n);
            }
            _ => {
                if let Some(p) = open.take() {
                    timeline.push(Duration::from_millis(p.t_ms), p.total_rss_kib, p.processes);
                }
                open = Some(Point {
                    t_ms,
                    total_rss_kib: sum,
                    processes: n,
                });
            }
        }
    }
    if let Some(p) = open {
        timeline.push(Duration::from_millis(p.t_ms), p.total_rss_kib, p.processes);
    }
    timeline.points().to_vec()
}
