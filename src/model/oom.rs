//! OOM kills, named: which processes of the job the kernel's OOM killer killed, from how
//! they ended and when the job's cgroup counted its OOM kills. Pure: the run gathers the
//! facts (exit statuses from `wait4`, the counter's readings), this decides.
//!
//! What memwatch can know of how a process ended: the command and the orphans it adopted
//! as subreaper, it reaps itself, so it sees their wait status (killed by SIGKILL, or
//! not). A child of a job process is reaped by its parent (a shell, `make`), and its status
//! is gone with it: for those memwatch knows only the sample at which it learned the
//! process was gone, and its last sampled RSS. The counter is read at every sample where a
//! process of the job ended, so each kill it counts falls between two such readings.
//!
//! A process memwatch reaped that died by SIGKILL is named for certain when the counter had
//! counted a kill no other such process took, by the reading of the sample that learned of
//! its end (the kill comes first, the death after; a large process can take a few samples to
//! die). A kill left over is put, as "probably", on the largest process (by its last
//! sampled RSS: the OOM killer chooses the largest) of those whose exit status is unknown
//! and whose end was learned at the reading that counted it. A kill neither takes stays a
//! count.

use serde::{Deserialize, Serialize};

use super::limit::MemoryLimit;

/// A process of the job that the OOM killer killed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomKill {
    /// Its pid.
    pub pid: i32,
    /// Its command line (as in `processes`).
    pub command: String,
    /// Its RSS at the last sample that read it, KiB; `null` when no sample read it.
    pub last_rss_kib: Option<u64>,
    /// The last sample that saw it alive, ms after the start.
    pub last_seen_ms: u64,
    /// The limit it ran into: the job's cgroup's, else the machine's memory.
    pub limit: Option<MemoryLimit>,
    /// `true`: memwatch reaped it and saw it die by SIGKILL after the cgroup's OOM-kill
    /// counter had counted a kill no other such process took. `false`: its parent reaped
    /// it, so its exit status is unknown; it was found gone at the sample where the counter
    /// was seen to rise, and was the largest process that was (probably the one killed).
    pub certain: bool,
}

/// A process of the job that ended, as the attribution sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    /// Its pid.
    pub(crate) pid: i32,
    /// Its command line.
    pub(crate) command: String,
    /// Its RSS at the last sample that read it, KiB.
    pub(crate) last_rss_kib: Option<u64>,
    /// The last sample that saw it alive, ms.
    pub(crate) last_seen_ms: u64,
    /// The sample at which memwatch learned it was gone, ms (the end of the run for one
    /// reaped after the last sample).
    pub(crate) gone_ms: u64,
    /// How it ended, when memwatch reaped it: `Some(true)` by SIGKILL (not memwatch's
    /// own), `Some(false)` otherwise; `None` when its parent reaped it.
    pub(crate) sigkill: Option<bool>,
}

/// A reading of the cgroup's OOM-kill counter that found it risen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rise {
    /// The sample at which it was read, ms.
    pub(crate) at_ms: u64,
    /// Kills counted since the previous reading.
    pub(crate) kills: u64,
}

/// The processes the OOM killer killed, in the order they were last seen, and how many of
/// the `total` kills the counter counted during the run could not be put on a process.
/// `rises` are in the order read.
pub(crate) fn attribute(
    ended: &[Ended],
    rises: &[Rise],
    total: u64,
    limit: Option<&MemoryLimit>,
) -> (Vec<OomKill>, u64) {
    let kill = |e: &Ended, certain: bool| OomKill {
        pid: e.pid,
        command: e.command.clone(),
        last_rss_kib: e.last_rss_kib,
        last_seen_ms: e.last_seen_ms,
        limit: limit.cloned(),
        certain,
    };
    // Certain first: each SIGKILL, in the order learned, takes the oldest kill counted by
    // then that no other took.
    let mut left: Vec<u64> = rises.iter().map(|r| r.kills).collect();
    let mut killed: Vec<&Ended> = ended.iter().filter(|e| e.sigkill == Some(true)).collect();
    killed.sort_unstable_by_key(|e| (e.gone_ms, e.pid));
    let mut named = Vec::new();
    for e in killed {
        let oldest = rises
            .iter()
            .zip(left.iter_mut())
            .find(|(r, n)| r.at_ms <= e.gone_ms && **n > 0);
        if let Some((_, n)) = oldest {
            *n -= 1;
            named.push(kill(e, true));
        }
    }
    // Then the kills left at each reading, on the largest processes of unknown end
    // learned gone at that reading.
    for (r, &n) in rises.iter().zip(&left) {
        let mut candidates: Vec<&Ended> = ended
            .iter()
            .filter(|e| e.sigkill.is_none() && e.gone_ms == r.at_ms)
            .collect();
        // Unstable sorts: the keys are unique (pids), and the stable sort's code is large.
        candidates.sort_unstable_by_key(|e| (std::cmp::Reverse(e.last_rss_kib), e.pid));
        named.extend(
            candidates
                .into_iter()
                .take(n as usize)
                .map(|e| kill(e, false)),
        );
    }
    named.truncate(usize::try_from(total).unwrap_or(usize::MAX));
    named.sort_unstable_by_key(|k| (k.last_seen_ms, k.pid));
    let unnamed = total.saturating_sub(named.len() as u64);
    (named, unnamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(pid: i32, rss: u64, gone: u64, sigkill: Option<bool>) -> Ended {
        Ended {
            pid,
            command: format!("p{pid}"),
            last_rss_kib: Some(rss),
            last_seen_ms: gone.saturating_sub(10),
            gone_ms: gone,
            sigkill,
        }
    }

    fn rise(at_ms: u64, kills: u64) -> Rise {
        Rise { at_ms, kills }
    }

    fn pids(named: &[OomKill]) -> Vec<(i32, bool)> {
        let mut v: Vec<(i32, bool)> = named.iter().map(|k| (k.pid, k.certain)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn no_kill_counted_names_nobody_even_a_sigkill() {
        let e = [ended(1, 100, 50, Some(true))];
        assert_eq!(attribute(&e, &[], 0, None), (vec![], 0));
    }

    #[test]
    fn a_process_memwatch_reaped_by_sigkill_is_certain() {
        let e = [
            ended(1, 100, 50, Some(true)),
            ended(2, 500, 50, Some(false)),
        ];
        let (named, left) = attribute(&e, &[rise(50, 1)], 1, None);
        assert_eq!((pids(&named), left), (vec![(1, true)], 0));
    }

    #[test]
    fn a_sigkill_without_a_kill_counted_by_then_is_not_the_oom_killers() {
        // Killed by SIGKILL at 50 ms (kill -9, a timeout): the OOM kill is counted later.
        let e = [ended(1, 100, 50, Some(true))];
        let (named, left) = attribute(&e, &[rise(90, 1)], 1, None);
        assert_eq!((pids(&named), left), (vec![], 1));
    }

    #[test]
    fn a_victim_slow_to_die_still_takes_its_kill() {
        // The kill is counted at 100 ms, when another process of unknown end was found
        // gone; the victim, memwatch's own child, is learned gone at 120 ms.
        let e = [ended(7, 10, 100, None), ended(1, 60_000, 120, Some(true))];
        let (named, left) = attribute(&e, &[rise(100, 1)], 1, None);
        assert_eq!((pids(&named), left), (vec![(1, true)], 0));
    }

    #[test]
    fn a_child_reaped_by_its_parent_is_probable_and_the_largest_is_chosen() {
        let e = [
            ended(10, 300, 200, None),
            ended(11, 65_000, 200, None),
            ended(12, 90_000, 100, None),
        ];
        let (named, left) = attribute(&e, &[rise(200, 1)], 1, None);
        assert_eq!((pids(&named), left), (vec![(11, false)], 0));
    }

    #[test]
    fn a_kill_nobody_can_carry_stays_a_count() {
        let e = [ended(10, 300, 100, None)];
        let (named, left) = attribute(&e, &[rise(200, 2)], 2, None);
        assert!(named.is_empty());
        assert_eq!(left, 2);
    }

    #[test]
    fn a_certain_kill_uses_up_its_rise() {
        // Both ended at the sample that read one kill; the one reaped by SIGKILL is it.
        let e = [ended(1, 100, 300, Some(true)), ended(2, 900, 300, None)];
        let (named, left) = attribute(&e, &[rise(300, 1)], 1, None);
        assert_eq!((pids(&named), left), (vec![(1, true)], 0));
    }

    #[test]
    fn several_rises_several_probable_kills() {
        let e = [
            ended(5, 10, 500, None),
            ended(3, 20, 100, None),
            ended(4, 30, 100, None),
        ];
        let (named, left) = attribute(&e, &[rise(100, 2), rise(500, 1)], 3, None);
        assert_eq!(
            (pids(&named), left),
            (vec![(3, false), (4, false), (5, false)], 0)
        );
        // In the order last seen.
        assert_eq!(named[2].pid, 5);
    }
}
