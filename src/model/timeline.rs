//! A bounded, max-preserving timeline of the job's total RSS.
//!
//! Every sample is pushed; when the buffer is full, neighbouring points are merged two by
//! two and each later point then stands for twice as many samples. A merged point keeps the
//! larger total (with that sample's time) and the larger process count, so a spike is never
//! smoothed away, and memory stays bounded however long the job runs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Points kept at most in a report.
pub const DEFAULT_POINTS: usize = 2_000;

/// One point of the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Offset from the job's start, milliseconds (of the sample with the largest total in
    /// the span this point covers).
    pub t_ms: u64,
    /// Total RSS of the job at that sample, KiB (the largest in the span).
    pub total_rss_kib: u64,
    /// Live job processes (the most in the span).
    pub processes: u32,
}

/// The timeline being built.
#[derive(Clone, Debug)]
pub struct Timeline {
    points: Vec<Point>,
    cap: usize,
    /// Samples each stored point stands for.
    stride: u64,
    /// Samples folded into the open point (the last one) so far.
    pending: u64,
}

impl Timeline {
    /// An empty timeline holding at most `cap` points (at least 2).
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(2);
        Timeline {
            points: Vec::with_capacity(cap),
            cap,
            stride: 1,
            pending: 0,
        }
    }

    /// Add one sample.
    pub fn push(&mut self, t: Duration, total_rss_kib: u64, processes: u32) {
        let p = Point {
            t_ms: t.as_millis() as u64,
            total_rss_kib,
            processes,
        };
        if self.pending > 0 && self.pending < self.stride {
            if let Some(last) = self.points.last_mut() {
                *last = merge(*last, p);
                self.pending += 1;
                return;
            }
        }
        if self.points.len() == self.cap {
            self.halve();
            // The last point may now still have room.
            return self.push(t, total_rss_kib, processes);
        }
        self.points.push(p);
        self.pending = 1;
    }

    fn halve(&mut self) {
        let n = self.points.len();
        let mut w = 0;
        let mut r = 0;
        while r < n {
            let merged = if r + 1 < n {
                merge(self.points[r], self.points[r + 1])
            } else {
                self.points[r]
            };
            self.points[w] = merged;
            w += 1;
            r += 2;
        }
        self.points.truncate(w);
        // A last point that was not paired stands for fewer samples than the new stride.
        self.pending = if n % 2 == 1 {
            self.pending
        } else {
            self.pending + self.stride
        };
        self.stride *= 2;
    }

    /// The points, oldest first.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Whether points were merged to stay within the cap (each then stands for several
    /// samples and keeps their largest total).
    pub fn thinned(&self) -> bool {
        self.stride > 1
    }
}

fn merge(a: Point, b: Point) -> Point {
    let (t_ms, total_rss_kib) = if b.total_rss_kib > a.total_rss_kib {
        (b.t_ms, b.total_rss_kib)
    } else {
        (a.t_ms, a.total_rss_kib)
    };
    Point {
        t_ms,
        total_rss_kib,
        processes: a.processes.max(b.processes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn keeps_every_sample_until_full() {
        let mut tl = Timeline::new(4);
        for i in 0..4 {
            tl.push(ms(i * 10), i, 1);
        }
        assert_eq!(tl.points().len(), 4);
        assert_eq!(
            tl.points()[3],
            Point {
                t_ms: 30,
                total_rss_kib: 3,
                processes: 1
            }
        );
    }

    #[test]
    fn a_spike_survives_merging() {
        let mut tl = Timeline::new(8);
        for i in 0..10_000u64 {
            let total = if i == 4321 { 1_000_000 } else { 10 };
            tl.push(ms(i), total, (i % 7) as u32);
        }
        assert!(tl.points().len() <= 8);
        assert!(
            tl.points()
                .iter()
                .any(|p| p.total_rss_kib == 1_000_000 && p.t_ms == 4321)
        );
        assert_eq!(tl.points().iter().map(|p| p.processes).max(), Some(6));
    }

    proptest! {
        #[test]
        fn bounded_and_max_preserving(values in proptest::collection::vec(0u64..1_000_000, 1..3000), cap in 2usize..64) {
            let mut tl = Timeline::new(cap);
            for (i, v) in values.iter().enumerate() {
                tl.push(ms(i as u64), *v, 1);
            }
            prop_assert!(tl.points().len() <= cap);
            prop_assert_eq!(tl.points().iter().map(|p| p.total_rss_kib).max(), values.iter().copied().max());
            let ts: Vec<u64> = tl.points().iter().map(|p| p.t_ms).collect();
            prop_assert!(ts.windows(2).all(|w| w[0] < w[1]), "times increase: {:?}", ts);
        }
    }
}
