//! `--max-rss`: an absolute limit on a memory figure of one report (`run --max-rss`, and
//! `compare --max-rss` for a report already written), and the check of a report against
//! it. The decision is here; [`crate::output::gate`] words it.

use serde::{Deserialize, Serialize};

/// A `--max-rss` limit: a size above 0.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MaxRss {
    /// As given (`2GiB`).
    pub text: String,
    /// The limit, KiB (at least 1).
    pub kib: u64,
}

/// What the check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The figure is over the limit (a lower bound over it is over it too).
    Over,
    /// The figure, whole, is within the limit (exactly at it passes).
    Within,
    /// The figure leaves processes out and what it has is within the limit: the job's may
    /// not be.
    Unconfirmed,
    /// The figure is unknown.
    Unknown,
    /// The job is still running (an interim report) and is within the limit so far.
    Pending,
}

impl Outcome {
    /// The check of `value` (KiB; `None` unknown), a lower bound when `partial`, against
    /// `limit`; `running`: the job is not over yet.
    pub(crate) fn of(value: Option<f64>, partial: bool, limit: &MaxRss, running: bool) -> Self {
        match value {
            None => Outcome::Unknown,
            Some(v) if v > limit.kib as f64 => Outcome::Over,
            Some(_) if running => Outcome::Pending,
            Some(_) if partial => Outcome::Unconfirmed,
            Some(_) => Outcome::Within,
        }
    }

    /// Whether the figure is over the limit: `None` when that cannot be told.
    pub(crate) fn exceeded(self) -> Option<bool> {
        match self {
            Outcome::Over => Some(true),
            Outcome::Within => Some(false),
            Outcome::Unconfirmed | Outcome::Unknown | Outcome::Pending => None,
        }
    }
}

/// The check of one report against `--max-rss`, as the report (`max_rss_check`) and
/// `compare --json` give it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaxRssCheck {
    /// The figure checked, by its `--metric` name (`total`; `pss` or `footprint` with
    /// `run --metric`).
    pub metric: String,
    /// Its report key (`max_total_rss_kib`, …).
    pub figure: String,
    /// The limit as given (`2GiB`).
    pub limit: String,
    /// The limit, KiB.
    pub limit_kib: u64,
    /// The figure, KiB; `null` when unknown.
    pub value_kib: Option<u64>,
    /// The figure leaves out processes memwatch could not read or see: the peak may be
    /// higher.
    pub value_is_lower_bound: bool,
    /// `true` over the limit, `false` within it; `null` when that cannot be told (the
    /// figure is unknown, or a lower bound within the limit, or the job is still running).
    pub exceeded: Option<bool>,
    /// Whether the check passed: only a whole figure within the limit passes. When it did
    /// not and the command succeeded, `run` exits 3 (`compare` 1).
    pub passed: bool,
    /// The verdict, as printed (`FAIL: max total RSS 2.3 GiB is over the limit of …`).
    pub verdict: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let limit = MaxRss {
            text: "1MiB".into(),
            kib: 1024,
        };
        let of = |v: Option<f64>, partial, running| Outcome::of(v, partial, &limit, running);
        assert_eq!(of(Some(1025.0), false, false), Outcome::Over);
        assert_eq!(
            of(Some(1024.0), false, false),
            Outcome::Within,
            "at the limit"
        );
        // A lower bound over the limit is over it; within it, nothing is proven.
        assert_eq!(of(Some(2048.0), true, false), Outcome::Over);
        assert_eq!(of(Some(10.0), true, false), Outcome::Unconfirmed);
        assert_eq!(of(None, false, false), Outcome::Unknown);
        // While the job runs, a peak over the limit is final; one within it is not.
        assert_eq!(of(Some(2048.0), false, true), Outcome::Over);
        assert_eq!(of(Some(10.0), false, true), Outcome::Pending);
        assert_eq!(Outcome::Over.exceeded(), Some(true));
        assert_eq!(Outcome::Within.exceeded(), Some(false));
        for o in [Outcome::Unconfirmed, Outcome::Unknown, Outcome::Pending] {
            assert_eq!(o.exceeded(), None, "{o:?}");
        }
    }
}
