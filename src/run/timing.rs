//! What the sampler achieved, and the `--cpu-budget` rule.
//!
//! [`Timing`] keeps the gaps between sample starts in a fixed log-linear histogram (about
//! 3% wide buckets, allocated once: nothing per sample), so the report can give their
//! median, 99th percentile and maximum, and counts the deadlines no sample started at.
//!
//! [`Budget`] stretches the interval so that memwatch's own CPU stays within a share of one
//! core: every [`Budget::WINDOW`] or more it reads memwatch's CPU time, divides what the
//! window used by the samples taken in it (a sample's whole cost: the reads, the wake-up,
//! the safety net's share), and sets the interval to that cost over the budget (aiming at
//! [`Budget::AIM`] of it), never below the interval asked for. Every sample still reads
//! every live process of the job, so peaks and totals stay true samples; only the time
//! between samples grows.

use std::time::{Duration, Instant};

/// Gaps below this many microseconds have a bucket each.
const LINEAR: u64 = 32;
/// Buckets per power of two above [`LINEAR`] (each about 1/32 = 3% wide).
const SUB: u64 = 32;
/// Powers of two covered above [`LINEAR`]: up to 2^40 µs (12 days); longer gaps fall into
/// the last bucket (the maximum is kept exactly).
const OCTAVES: u64 = 35;
const BUCKETS: usize = (LINEAR + OCTAVES * SUB) as usize;

/// The bucket of a gap of `us` microseconds.
fn bucket(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let e = u64::from(63 - us.leading_zeros()); // floor(log2), at least 5
    let sub = (us >> (e - 5)) - SUB;
    let i = LINEAR + (e - 5) * SUB + sub;
    i.min(BUCKETS as u64 - 1) as usize
}

/// The middle of bucket `i`, microseconds.
fn middle(i: usize) -> f64 {
    let i = i as u64;
    if i < LINEAR {
        return i as f64;
    }
    let e = (i - LINEAR) / SUB + 5;
    let sub = (i - LINEAR) % SUB;
    let low = (SUB + sub) << (e - 5);
    let width = 1u64 << (e - 5);
    low as f64 + width as f64 / 2.0
}

/// The gaps between sample starts and the deadlines missed.
pub(super) struct Timing {
    counts: Box<[u32; BUCKETS]>,
    gaps: u64,
    sum: Duration,
    max: Duration,
    last_start: Option<Instant>,
    missed: u64,
    /// The recent gap (a moving average over about 8 samples), for the status line.
    recent_us: u64,
}

/// The achieved interval: median, 99th percentile, maximum and mean of the gaps between
/// sample starts, milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Achieved {
    pub mean_ms: f64,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            counts: Box::new([0; BUCKETS]),
            gaps: 0,
            sum: Duration::ZERO,
            max: Duration::ZERO,
            last_start: None,
            missed: 0,
            recent_us: 0,
        }
    }
}

impl Timing {
    /// A sample started at `now`.
    pub(super) fn started(&mut self, now: Instant) {
        if let Some(last) = self.last_start.replace(now) {
            let gap = now.saturating_duration_since(last);
            let us = u64::try_from(gap.as_micros()).unwrap_or(u64::MAX);
            let slot = &mut self.counts[bucket(us)];
            *slot = slot.saturating_add(1);
            self.gaps += 1;
            self.sum += gap;
            self.max = self.max.max(gap);
            self.recent_us = if self.gaps == 1 {
                us
            } else {
                self.recent_us - self.recent_us / 8 + us / 8
            };
        }
    }

    /// `n` deadlines passed with no sample started at them.
    pub(super) fn missed(&mut self, n: u64) {
        self.missed = self.missed.saturating_add(n);
    }

    /// memwatch was stopped (Ctrl+Z) and continued: the time it was stopped is no gap.
    pub(super) fn resumed(&mut self) {
        self.last_start = None;
    }

    /// Deadlines missed so far.
    pub(super) fn deadlines_missed(&self) -> u64 {
        self.missed
    }

    /// The recent gap between samples (about the last 8), when there is one.
    pub(super) fn recent(&self) -> Option<Duration> {
        (self.gaps > 0).then(|| Duration::from_micros(self.recent_us))
    }

    /// The achieved interval; `None` before the second sample.
    pub(crate) fn achieved(&self) -> Option<Achieved> {
        if self.gaps == 0 {
            return None;
        }
        let max_us = self.max.as_secs_f64() * 1e6;
        let at = |q: f64| {
            // The smallest gap with at least q of the gaps at or below it.
            let rank = ((q * self.gaps as f64).ceil() as u64).max(1);
            let mut seen = 0u64;
            for (i, &c) in self.counts.iter().enumerate() {
                seen += u64::from(c);
                if seen >= rank {
                    return middle(i).min(max_us);
                }
            }
            max_us
        };
        let ms = |us: f64| (us / 1000.0 * 1000.0).round() / 1000.0;
        Some(Achieved {
            mean_ms: ms(self.sum.as_secs_f64() * 1e6 / self.gaps as f64),
            median_ms: ms(at(0.5)),
            p99_ms: ms(at(0.99)),
            max_ms: ms(max_us),
        })
    }
}

/// The `--cpu-budget` rule (see the module's documentation).
pub(super) struct Budget {
    /// The share of one core, 0 to 1.
    share: f64,
    requested: Duration,
    interval: Duration,
    longest: Duration,
    window_start: Option<(Instant, Duration, u64)>,
}

impl Budget {
    /// The shortest window of own CPU time the interval is set from.
    pub(super) const WINDOW: Duration = Duration::from_millis(500);
    /// The share of the budget the interval aims at, so that a sample costing a little
    /// more than the last window's keeps within it.
    pub(super) const AIM: f64 = 0.8;

    /// A budget of `percent` of one core for samples asked `requested` apart.
    pub(super) fn new(percent: f64, requested: Duration) -> Budget {
        Budget {
            share: percent / 100.0,
            requested,
            interval: requested,
            longest: requested,
            window_start: None,
        }
    }

    /// The interval to keep now.
    pub(super) fn interval(&self) -> Duration {
        self.interval
    }

    /// The longest interval the budget set, when it ever stretched one.
    pub(super) fn stretched_to(&self) -> Option<Duration> {
        (self.longest > self.requested).then_some(self.longest)
    }

    /// After a sample at `now`, with `samples` taken so far and memwatch's CPU time `cpu`
    /// (read only when a window is over: `cpu` is called then).
    pub(super) fn after_sample(
        &mut self,
        now: Instant,
        samples: u64,
        cpu: impl FnOnce() -> Option<Duration>,
    ) {
        let Some((t0, cpu0, n0)) = self.window_start else {
            if let Some(c) = cpu() {
                self.window_start = Some((now, c, samples));
            }
            return;
        };
        if now.saturating_duration_since(t0) < Self::WINDOW || samples < n0 + 2 {
            return;
        }
        let Some(c) = cpu() else {
            return;
        };
        let per_sample = c.saturating_sub(cpu0).as_secs_f64() / (samples - n0) as f64;
        self.interval = self.rule(per_sample);
        self.longest = self.longest.max(self.interval);
        self.window_start = Some((now, c, samples));
    }

    /// The interval for samples that cost `per_sample` seconds of CPU each.
    fn rule(&self, per_sample: f64) -> Duration {
        let wanted = per_sample / (self.share * Self::AIM);
        let wanted = Duration::try_from_secs_f64(wanted).unwrap_or(Duration::MAX);
        wanted
            .max(self.requested)
            .min(Duration::from_secs(3600).max(self.requested))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_about_three_percent_wide() {
        let mut last = 0;
        for us in [
            0u64,
            1,
            31,
            32,
            33,
            63,
            64,
            100,
            1000,
            1650,
            10_000,
            3_600_000_000,
        ] {
            let b = bucket(us);
            assert!(b >= last, "{us}");
            last = b;
            let m = middle(b);
            assert!(
                (m - us as f64).abs() <= us as f64 * 0.032 + 0.5,
                "{us} in bucket {b} with middle {m}"
            );
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    fn timing(gaps_us: &[u64]) -> Timing {
        let mut t = Timing::default();
        let mut now = Instant::now();
        t.started(now);
        for &g in gaps_us {
            now += Duration::from_micros(g);
            t.started(now);
        }
        t
    }

    #[test]
    fn median_p99_and_max_of_the_gaps() {
        assert_eq!(Timing::default().achieved(), None);
        assert_eq!(timing(&[]).achieved(), None);
        let mut gaps = vec![1650u64; 98];
        gaps.extend([5000, 40_000]);
        let a = timing(&gaps).achieved().unwrap();
        assert!((a.median_ms - 1.65).abs() < 0.05, "{a:?}");
        assert!((a.p99_ms - 5.0).abs() < 0.16, "{a:?}");
        assert_eq!(a.max_ms, 40.0);
        assert!((a.mean_ms - 2.067).abs() < 1e-9, "{a:?}");
        // The middle of a bucket never exceeds the largest gap.
        let a = timing(&[1000]).achieved().unwrap();
        assert!(a.median_ms <= 1.0 && a.median_ms > 0.97, "{a:?}");
    }

    #[test]
    fn a_resume_is_not_a_gap() {
        let mut t = timing(&[1000, 1000]);
        t.resumed();
        t.started(Instant::now() + Duration::from_secs(60));
        assert_eq!(t.achieved().unwrap().max_ms, 1.0);
    }

    #[test]
    fn the_budget_stretches_the_interval_to_the_cost_over_the_share() {
        let i = Duration::from_millis(1);
        let b = Budget::new(5.0, i);
        // 1 ms of CPU per sample at 5%, aiming at 80% of it: 25 ms.
        assert_eq!(b.rule(0.001), Duration::from_millis(25));
        // Cheap samples keep the interval asked for.
        assert_eq!(b.rule(0.000_01), i);
        assert_eq!(b.rule(1e9), Duration::from_secs(3600));
    }

    #[test]
    fn the_budget_reads_the_cpu_once_a_window() {
        let mut b = Budget::new(10.0, Duration::from_millis(1));
        let t0 = Instant::now();
        let mut reads = 0;
        b.after_sample(t0, 1, || {
            reads += 1;
            Some(Duration::ZERO)
        });
        // Within the window: no read.
        b.after_sample(t0 + Duration::from_millis(100), 50, || {
            reads += 1;
            Some(Duration::from_millis(50))
        });
        assert_eq!(reads, 1);
        assert_eq!(b.stretched_to(), None);
        // 500 ms later, 501 samples used 250 ms: 0.5 ms each, so 0.5 / (0.1 * 0.8) ms.
        b.after_sample(t0 + Duration::from_millis(500), 501, || {
            reads += 1;
            Some(Duration::from_millis(250))
        });
        assert_eq!(reads, 2);
        assert_eq!(b.interval(), Duration::from_micros(6250));
        assert_eq!(b.stretched_to(), Some(Duration::from_micros(6250)));
    }
}
