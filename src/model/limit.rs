//! The memory limit in force for a job, and the headroom it leaves: the candidates (the
//! memory cgroup's limit, Slurm's allocation, a resource limit, the machine's memory), the
//! lowest of them, and a peak as a share of it. Pure: the operating system's readings come
//! from [`crate::sys`], Slurm's variables from the environment through a getter.

use serde::{Deserialize, Serialize};

/// Where a memory limit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitSource {
    /// The memory cgroup the job started in (or an ancestor of it): enforced by the
    /// kernel on the whole job, page cache and kernel memory included.
    Cgroup,
    /// Slurm's memory allocation for this node (`--mem`, `--mem-per-cpu`).
    Slurm,
    /// A resource limit (`RLIMIT_AS`, `RLIMIT_DATA`): per process, on virtual memory.
    Rlimit,
    /// The machine's physical memory.
    Physical,
}

/// A memory limit: how much, where it comes from, and the file or variable it was read
/// from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryLimit {
    /// The limit, KiB.
    pub kib: u64,
    /// Where it comes from.
    pub source: LimitSource,
    /// The file or variable it was read from: `/sys/fs/cgroup/a/memory.max`,
    /// `SLURM_MEM_PER_NODE=4096`, `RLIMIT_AS`, `/proc/meminfo MemTotal`.
    pub detail: String,
}

impl MemoryLimit {
    /// How a sentence names it: `cgroup memory.max`, `Slurm --mem`, `RLIMIT_AS, per
    /// process`, `physical memory`.
    pub fn describe(&self) -> String {
        match self.source {
            LimitSource::Cgroup => {
                let file = self.detail.rsplit('/').next().unwrap_or(&self.detail);
                format!("cgroup {file}")
            }
            LimitSource::Slurm if self.detail.starts_with("SLURM_MEM_PER_CPU") => {
                let cpus = self
                    .detail
                    .rsplit_once("SLURM_CPUS_ON_NODE=")
                    .map_or("", |(_, n)| n);
                format!("Slurm --mem-per-cpu × {cpus} CPUs")
            }
            LimitSource::Slurm => "Slurm --mem".to_string(),
            LimitSource::Rlimit => format!("{}, per process", self.detail),
            LimitSource::Physical => "physical memory".to_string(),
        }
    }
}

/// What was found about the limits, before the job started: the limit in force (the
/// lowest candidate) and what could not be read on the way (a cgroup file, a malformed
/// variable), which may hide a lower limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The lowest limit found; `None` when not even the machine's memory is known.
    pub(crate) limit: Option<MemoryLimit>,
    /// The memory cgroup's own limit (the lowest along its path), when finite: the one
    /// the OOM killer enforces on the job's cgroup.
    pub(crate) cgroup: Option<MemoryLimit>,
    /// The machine's memory, when known.
    pub(crate) physical: Option<MemoryLimit>,
    /// What could not be read or made sense of, one sentence each.
    pub(crate) notes: Vec<String>,
}

impl Limits {
    /// The limits from every candidate (any order) and the notes: the lowest candidate is
    /// the limit in force.
    pub(crate) fn from_candidates(candidates: Vec<MemoryLimit>, notes: Vec<String>) -> Limits {
        let find = |s: LimitSource| candidates.iter().find(|c| c.source == s).cloned();
        Limits {
            cgroup: find(LimitSource::Cgroup),
            physical: find(LimitSource::Physical),
            limit: lowest(candidates),
            notes,
        }
    }

    /// The limit an OOM kill in the job's cgroup ran into: the cgroup's own when it has
    /// one, else the machine's memory (the OOM killer of the whole machine).
    pub(crate) fn oom_limit(&self) -> Option<MemoryLimit> {
        self.cgroup.clone().or_else(|| self.physical.clone())
    }
}

/// The limit in force: the lowest candidate. On a tie the one the kernel enforces on the
/// whole job wins (cgroup, then Slurm's allocation, a resource limit, physical memory).
pub(crate) fn lowest(candidates: impl IntoIterator<Item = MemoryLimit>) -> Option<MemoryLimit> {
    candidates.into_iter().min_by_key(|c| (c.kib, c.source))
}

/// `peak` as a percentage of `limit`, to one decimal.
pub(crate) fn percent_of(peak_kib: u64, limit_kib: u64) -> Option<f64> {
    (limit_kib > 0).then(|| (peak_kib as f64 * 1000.0 / limit_kib as f64).round() / 10.0)
}

/// A Slurm memory size: a number of mebibytes, or a number with a suffix K, M, G or T
/// (binary multiples, either case), as `--mem` and `--mem-per-cpu` take them and
/// `SLURM_MEM_PER_NODE` / `SLURM_MEM_PER_CPU` hold them. KiB; `None` when malformed.
pub(crate) fn parse_slurm_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 0),
        b'M' | b'm' => (&s[..s.len() - 1], 10),
        b'G' | b'g' => (&s[..s.len() - 1], 20),
        b'T' | b't' => (&s[..s.len() - 1], 30),
        b'0'..=b'9' => (s, 10),
        _ => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// Slurm's memory allocation on this node, from its variables (`var` gives one, `None`
/// when unset): `SLURM_MEM_PER_NODE` (`--mem`), or `SLURM_MEM_PER_CPU` (`--mem-per-cpu`)
/// times `SLURM_CPUS_ON_NODE`, the CPUs allocated on this node; the lower when both are
/// set. Sizes are mebibytes unless suffixed (Slurm's own units). `0` grants the node's
/// whole memory: no limit of Slurm's. Returns the limit and what could not be used.
pub(crate) fn slurm(var: impl Fn(&str) -> Option<String>) -> (Option<MemoryLimit>, Vec<String>) {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if let Some(v) = get("SLURM_MEM_PER_NODE") {
        match parse_slurm_size(&v) {
            Some(0) => {}
            Some(kib) => found.push(MemoryLimit {
                kib,
                source: LimitSource::Slurm,
                detail: format!("SLURM_MEM_PER_NODE={}", v.trim()),
            }),
            None => notes.push(format!(
                "SLURM_MEM_PER_NODE={v} is not a Slurm memory size (a number of MiB, or with K, M, G or T): Slurm's allocation is not known"
            )),
        }
    }
    if let Some(v) = get("SLURM_MEM_PER_CPU") {
        let cpus = get("SLURM_CPUS_ON_NODE");
        let n = cpus.as_deref().and_then(|c| c.trim().parse::<u64>().ok());
        match (parse_slurm_size(&v), n) {
            (Some(0), _) => {}
            (Some(per_cpu), Some(n)) if n > 0 => found.push(MemoryLimit {
                kib: per_cpu.saturating_mul(n),
                source: LimitSource::Slurm,
                detail: format!(
                    "SLURM_MEM_PER_CPU={} * SLURM_CPUS_ON_NODE={n}",
                    v.trim()
                ),
            }),
            (Some(_), _) => notes.push(match cpus {
                Some(c) => format!(
                    "SLURM_MEM_PER_CPU is set but SLURM_CPUS_ON_NODE={c} is not a number of CPUs: Slurm's allocation is not known"
                ),
                None => "SLURM_MEM_PER_CPU is set but SLURM_CPUS_ON_NODE is not: Slurm's allocation on this node is not known".to_string(),
            }),
            (None, _) => notes.push(format!(
                "SLURM_MEM_PER_CPU={v} is not a Slurm memory size (a number of MiB, or with K, M, G or T): Slurm's allocation is not known"
            )),
        }
    }
    (lowest(found), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(kib: u64, source: LimitSource) -> MemoryLimit {
        MemoryLimit {
            kib,
            source,
            detail: String::new(),
        }
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_lowest_candidate_is_the_limit_and_the_kernel_wins_ties() {
        let l = lowest([
            lim(8 << 20, LimitSource::Physical),
            lim(4 << 20, LimitSource::Slurm),
            lim(6 << 20, LimitSource::Cgroup),
        ])
        .unwrap();
        assert_eq!(l.source, LimitSource::Slurm);
        let tie = lowest([
            lim(4 << 20, LimitSource::Slurm),
            lim(4 << 20, LimitSource::Cgroup),
        ])
        .unwrap();
        assert_eq!(tie.source, LimitSource::Cgroup);
        assert_eq!(lowest(Vec::new()), None);
    }

    #[test]
    fn percent_of_a_limit() {
        assert_eq!(percent_of(3_400, 4_000), Some(85.0));
        assert_eq!(percent_of(1, 3), Some(33.3));
        assert_eq!(percent_of(5, 0), None);
        assert_eq!(percent_of(9_000, 4_000), Some(225.0));
    }

    #[test]
    fn slurm_sizes_are_mebibytes_unless_suffixed() {
        assert_eq!(parse_slurm_size("4096"), Some(4096 * 1024));
        assert_eq!(parse_slurm_size("512K"), Some(512));
        assert_eq!(parse_slurm_size("4g"), Some(4 << 20));
        assert_eq!(parse_slurm_size("2T"), Some(2 << 30));
        assert_eq!(parse_slurm_size("100M"), Some(100 * 1024));
        for bad in ["", "G", "4GB", "-1", "1.5G", "abc", "4 G"] {
            assert_eq!(parse_slurm_size(bad), None, "{bad:?}");
        }
        assert_eq!(parse_slurm_size("99999999999999999999"), None);
    }

    #[test]
    fn slurm_mem_per_node() {
        let (l, notes) = slurm(env(&[("SLURM_MEM_PER_NODE", "4096")]));
        let l = l.unwrap();
        assert_eq!((l.kib, l.source), (4 << 20, LimitSource::Slurm));
        assert_eq!(l.detail, "SLURM_MEM_PER_NODE=4096");
        assert_eq!(l.describe(), "Slurm --mem");
        assert!(notes.is_empty());
    }

    #[test]
    fn slurm_mem_per_cpu_times_the_cpus_on_this_node() {
        let (l, notes) = slurm(env(&[
            ("SLURM_MEM_PER_CPU", "1G"),
            ("SLURM_CPUS_ON_NODE", "4"),
        ]));
        let l = l.unwrap();
        assert_eq!(l.kib, 4 << 20);
        assert_eq!(l.describe(), "Slurm --mem-per-cpu × 4 CPUs");
        assert!(notes.is_empty());
    }

    #[test]
    fn slurm_without_the_cpus_or_with_nonsense_says_so() {
        let (l, notes) = slurm(env(&[("SLURM_MEM_PER_CPU", "1024")]));
        assert_eq!(l, None);
        assert!(notes[0].contains("SLURM_CPUS_ON_NODE is not"), "{notes:?}");
        let (l, notes) = slurm(env(&[("SLURM_MEM_PER_NODE", "lots")]));
        assert_eq!(l, None);
        assert!(notes[0].contains("SLURM_MEM_PER_NODE=lots"), "{notes:?}");
    }

    #[test]
    fn slurm_zero_is_the_whole_node_and_unset_is_nothing() {
        assert_eq!(slurm(env(&[("SLURM_MEM_PER_NODE", "0")])), (None, vec![]));
        assert_eq!(slurm(env(&[])), (None, vec![]));
        assert_eq!(slurm(env(&[("SLURM_MEM_PER_NODE", "")])), (None, vec![]));
    }

    #[test]
    fn slurm_both_set_takes_the_lower() {
        let (l, _) = slurm(env(&[
            ("SLURM_MEM_PER_NODE", "8G"),
            ("SLURM_MEM_PER_CPU", "1G"),
            ("SLURM_CPUS_ON_NODE", "2"),
        ]));
        assert_eq!(l.unwrap().kib, 2 << 20);
    }

    #[test]
    fn descriptions() {
        let cg = MemoryLimit {
            kib: 1,
            source: LimitSource::Cgroup,
            detail: "/sys/fs/cgroup/a/b/memory.max".into(),
        };
        assert_eq!(cg.describe(), "cgroup memory.max");
        let rl = MemoryLimit {
            kib: 1,
            source: LimitSource::Rlimit,
            detail: "RLIMIT_AS".into(),
        };
        assert_eq!(rl.describe(), "RLIMIT_AS, per process");
        assert_eq!(
            serde_json::to_string(&LimitSource::Physical).unwrap(),
            "\"physical\""
        );
    }

    #[test]
    fn the_oom_limit_is_the_cgroups_else_the_machines() {
        let l = Limits::from_candidates(
            vec![
                lim(8, LimitSource::Physical),
                lim(2, LimitSource::Rlimit),
                lim(6, LimitSource::Cgroup),
            ],
            vec![],
        );
        assert_eq!(l.limit.as_ref().unwrap().source, LimitSource::Rlimit);
        assert_eq!(l.oom_limit().unwrap().source, LimitSource::Cgroup);
        let l = Limits::from_candidates(vec![lim(8, LimitSource::Physical)], vec![]);
        assert_eq!(l.oom_limit().unwrap().source, LimitSource::Physical);
    }
}
