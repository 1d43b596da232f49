//! What `run --metric` measures besides RSS, as the report records it.

use serde::{Deserialize, Serialize};

/// The memory figure measured on top of RSS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Resident set size only.
    #[default]
    Rss,
    /// Also the proportional set size (Linux `/proc/<pid>/smaps_rollup`): each shared page
    /// divided among the processes that map it, so a job's sum counts shared memory once.
    Pss,
    /// Also the physical footprint (macOS `ri_phys_footprint`): private, dirty and
    /// compressed memory, what Activity Monitor shows.
    Footprint,
}

impl Metric {
    /// Every metric, in the order `--help` lists them.
    pub const ALL: [Metric; 3] = [Metric::Rss, Metric::Pss, Metric::Footprint];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rss => "rss",
            Metric::Pss => "pss",
            Metric::Footprint => "footprint",
        }
    }

    /// What it is, for `--help`.
    pub fn help(self) -> &'static str {
        match self {
            Metric::Rss => "Resident set size only",
            Metric::Pss => "Also the proportional set size (Linux)",
            Metric::Footprint => "Also the physical footprint (macOS)",
        }
    }

    /// How a sentence names it: `PSS`, `physical footprint`.
    pub fn noun(self) -> &'static str {
        match self {
            Metric::Rss => "RSS",
            Metric::Pss => "PSS",
            Metric::Footprint => "physical footprint",
        }
    }
}
