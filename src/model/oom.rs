//! OOM kills, named: which processes of the job the kernel's OOM killer killed, from how
//! they ended and when the job's cgroup counted its OOM kills. Pure: the run gathers the
//! facts (exit statuses from `wait4`, the counter's readings), this decides.
//!
//! What memwatch can know of how a process ended: the command and the orphans it adopted
//! as subreaper, it reaps itself, so it sees their wait status (killed by SIGKILL, or
//! not). A child of a job process is reaped by its parent (a shell, `make`), and its status
//! is gone with it: for those memwatch knows only the sample at which the process was
//! found gone and its last sampled RSS. So a kill is named for certain when a process
//! memwatch reaped died by SIGKILL while the counter rose during the run; otherwise a kill
//! counted between two readings of the counter is put, as "probably", on the largest
//! process (by its last sampled RSS, as the OOM killer chooses the largest) whose end was
//! found at the sample that read the rise; a kill it cannot put on anyone stays a count.

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
    /// `true`: memwatch reaped it and saw it die by SIGKILL while the cgroup's OOM-kill
    /// counter rose. `false`: its parent reaped it, so its exit status is unknown; it
    /// ended at the sample where the counter was seen to rise, and was the largest process
    /// that did (probably the one killed).
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
    /// The sample at which memwatch found it gone, ms; `None` when memwatch reaped it
    /// before a sample saw it gone.
    pub(crate) gone_ms: Option<u64>,
    /// How it ended, when memwatch reaped it: `Some(true)` by SIGKILL, `Some(false)`
    /// otherwise; `None` when its parent reaped it.
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
pub(crate) fn attribute(
    ended: &[Ended],
    rises: &[Rise],
    total: u64,
    limit: Option<&MemoryLimit>,
) -> (Vec<OomKill>, u64) {
    if total == 0 {
        return (Vec::new(), 0);
    }
    let kill = |e: &Ended, certain: bool| OomKill {
        pid: e.pid,
        command: e.command.clone(),
        last_rss_kib: e.last_rss_kib,
        last_seen_ms: e.last_seen_ms,
        limit: limit.cloned(),
        certain,
    };
    let mut named: Vec<OomKill> = ended
        .iter()
        .filter(|e| e.sigkill == Some(true))
        .map(|e| kill(e, true))
        .collect();
    let mut left = total.saturating_sub(named.len() as u64);
    for rise in rises {
        if left == 0 {
            break;
        }
        let at = |e: &&Ended| e.gone_ms == Some(rise.at_ms);
        let used = ended
            .iter()
            .filter(at)
            .filter(|e| e.sigkill == Some(true))
            .count() as u64;
        let mut candidates: Vec<&Ended> = ended
            .iter()
            .filter(at)
            .filter(|e| e.sigkill.is_none())
            .collect();
        // Unstable sorts: the keys are unique (pids), and the stable sort's code is large.
        candidates.sort_unstable_by_key(|e| (std::cmp::Reverse(e.last_rss_kib), e.pid));
        let take = rise.kills.saturating_sub(used).min(left) as usize;
        for e in candidates.into_iter().take(take) {
            named.push(kill(e, false));
            left -= 1;
        }
    }
    named.sort_unstable_by_key(|k| (k.last_seen_ms, k.pid));
    (named, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(pid: i32, rss: u64, gone: Option<u64>, sigkill: Option<bool>) -> Ended {
        Ended {
            pid,
            command: format!("p{pid}"),
            last_rss_kib: Some(rss),
            last_seen_ms: gone.unwrap_or(1000).saturating_sub(10),
            gone_ms: gone,
            sigkill,
        }
    }

    #[test]
    fn no_kill_counted_names_nobody_even_a_sigkill() {
        let e = [ended(1, 100, None, Some(true))];
        assert_eq!(attribute(&e, &[], 0, None), (vec![], 0));
    }

    #[test]
    fn a_process_memwatch_reaped_by_sigkill_is_certain() {
        let e = [
            ended(1, 100, None, Some(true)),
            ended(2, 500, Some(50), Some(false)),
        ];
        let rises = [Rise {
            at_ms: 50,
            kills: 1,
        }];
        let (named, left) = attribute(&e, &rises, 1, None);
        assert_eq!(left, 0);
        assert_eq!(named.len(), 1);
        assert_eq!((named[0].pid, named[0].certain), (1, true));
    }

    #[test]
    fn a_child_reaped_by_its_parent_is_probable_and_the_largest_is_chosen() {
        let e = [
            ended(10, 300, Some(200), None),
            ended(11, 65_000, Some(200), None),
            ended(12, 90_000, Some(100), None),
        ];
        let rises = [Rise {
            at_ms: 200,
            kills: 1,
        }];
        let (named, left) = attribute(&e, &rises, 1, None);
        assert_eq!(left, 0);
        assert_eq!(named.len(), 1);
        assert_eq!((named[0].pid, named[0].certain), (11, false));
    }

    #[test]
    fn a_kill_nobody_can_carry_stays_a_count() {
        let e = [ended(10, 300, Some(100), None)];
        let rises = [Rise {
            at_ms: 200,
            kills: 2,
        }];
        let (named, left) = attribute(&e, &rises, 2, None);
        assert!(named.is_empty());
        assert_eq!(left, 2);
    }

    #[test]
    fn a_certain_kill_uses_up_its_rise() {
        // Both ended at the sample that read one kill; the one reaped by SIGKILL is it.
        let e = [
            ended(1, 100, Some(300), Some(true)),
            ended(2, 900, Some(300), None),
        ];
        let rises = [Rise {
            at_ms: 300,
            kills: 1,
        }];
        let (named, left) = attribute(&e, &rises, 1, None);
        assert_eq!(left, 0);
        assert_eq!(named.iter().map(|k| k.pid).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn several_rises_several_probable_kills_in_order() {
        let e = [
            ended(5, 10, Some(500), None),
            ended(3, 20, Some(100), None),
            ended(4, 30, Some(100), None),
        ];
        let rises = [
            Rise {
                at_ms: 100,
                kills: 2,
            },
            Rise {
                at_ms: 500,
                kills: 1,
            },
        ];
        let (named, left) = attribute(&e, &rises, 3, None);
        assert_eq!(left, 0);
        let mut pids: Vec<i32> = named.iter().map(|k| k.pid).collect();
        pids.sort_unstable();
        assert_eq!(pids, vec![3, 4, 5]);
        assert!(named.iter().all(|k| !k.certain));
    }
}
