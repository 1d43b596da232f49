//! Pure parsers of the files that say which memory cgroup a process is in and what it
//! allows: `/proc/<pid>/cgroup`, `/proc/self/mountinfo`, the cgroup's limit, high-water
//! mark, OOM-kill counter and member list, and `/proc/meminfo`. Compiled on Linux and in
//! unit tests everywhere; the walking of the cgroup tree is `cgroup.rs`.
//!
//! Two layouts exist, and a machine may have both (hybrid): cgroup v1, one hierarchy per
//! controller (`memory` mounted at `/sys/fs/cgroup/memory`, say), with
//! `memory.limit_in_bytes`, `memory.max_usage_in_bytes` and `memory.oom_control`; and
//! cgroup v2, one hierarchy (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid
//! machine) where the memory controller, when enabled, gives `memory.max`, `memory.peak`
//! and `memory.events`. The memory controller is in one of them only.

/// Which cgroup layout holds the memory controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// One hierarchy per controller.
    V1,
    /// The unified hierarchy.
    V2,
}

impl Version {
    /// The file of a cgroup's memory limit.
    pub(crate) fn limit_file(self) -> &'static str {
        match self {
            Version::V1 => "memory.limit_in_bytes",
            Version::V2 => "memory.max",
        }
    }

    /// The file of a cgroup's high-water mark.
    pub(crate) fn peak_file(self) -> &'static str {
        match self {
            Version::V1 => "memory.max_usage_in_bytes",
            Version::V2 => "memory.peak",
        }
    }

    /// The file with a cgroup's `oom_kill` counter.
    pub(crate) fn oom_file(self) -> &'static str {
        match self {
            Version::V1 => "memory.oom_control",
            Version::V2 => "memory.events",
        }
    }
}

/// A process's cgroups as `/proc/<pid>/cgroup` lists them: the path in the v1 hierarchy
/// that has the memory controller, and the path in the v2 hierarchy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    /// `4:memory:/a/b` gives `/a/b`.
    pub(crate) v1_memory: Option<String>,
    /// `0::/a/b` gives `/a/b`.
    pub(crate) v2: Option<String>,
}

/// Parse `/proc/<pid>/cgroup` (`hierarchy-id:controllers:path` per line).
pub(crate) fn parse_membership(text: &str) -> Membership {
    let mut m = Membership::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            m.v2 = Some(path.to_string());
        } else if controllers.split(',').any(|c| c == "memory") {
            m.v1_memory = Some(path.to_string());
        }
    }
    m
}

/// A cgroup file system mounted somewhere (a line of `/proc/self/mountinfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mount {
    /// Which layout.
    pub(crate) version: Version,
    /// The directory of the hierarchy that is mounted (`/` unless a sub-tree is).
    pub(crate) root: String,
    /// Where it is mounted.
    pub(crate) point: String,
}

/// The cgroup mounts of `/proc/self/mountinfo` that matter for memory: v1 hierarchies with
/// the memory controller, and v2 hierarchies, in the order listed.
pub(crate) fn parse_cgroup_mounts(text: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in text.lines() {
        // id parent major:minor root point options [optional...] - fstype source super
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let rest: Vec<&str> = right.split(' ').collect();
        if fields.len() < 5 || rest.is_empty() {
            continue;
        }
        let version = match rest[0] {
            "cgroup2" => Version::V2,
            "cgroup"
                if rest
                    .get(2)
                    .is_some_and(|o| o.split(',').any(|o| o == "memory")) =>
            {
                Version::V1
            }
            _ => continue,
        };
        out.push(Mount {
            version,
            root: unescape(fields[3]),
            point: unescape(fields[4]),
        });
    }
    out
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = |j: usize| b.get(j).filter(|c| (b'0'..=b'7').contains(c));
        if b[i] == b'\\' {
            if let (Some(&x), Some(&y), Some(&z)) = (octal(i + 1), octal(i + 2), octal(i + 3)) {
                let v = u32::from(x - b'0') * 64 + u32::from(y - b'0') * 8 + u32::from(z - b'0');
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The part of a cgroup `path` below a mount's `root`, `None` when the path is not inside
/// what is mounted. `/a/b` below `/` is `/a/b`; below `/a` it is `/b`.
pub(crate) fn below<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    if root == "/" {
        return Some(path);
    }
    let rest = path.strip_prefix(root.trim_end_matches('/'))?;
    match rest {
        "" => Some("/"),
        r if r.starts_with('/') => Some(r),
        _ => None,
    }
}

/// Whether `path` is the cgroup `ancestor` or below it.
pub(crate) fn within(path: &str, ancestor: &str) -> bool {
    below(path, ancestor).is_some()
}

/// Whether a v2 `cgroup.controllers` lists the memory controller.
pub(crate) fn has_memory_controller(text: &str) -> bool {
    text.split_whitespace().any(|c| c == "memory")
}

/// Values at or above this are v1's "no limit" (`PAGE_COUNTER_MAX` pages: about 8 EiB,
/// rounded down to a page, so the exact figure depends on the page size).
const V1_UNLIMITED: u64 = 1 << 62;

/// A memory limit file: `Some(bytes)`, `None` for no limit (v2 `max`, v1's huge value),
/// `Err` when it is neither.
pub(crate) fn parse_limit(text: &str) -> Result<Option<u64>, ()> {
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    let v: u64 = t.parse().map_err(|_| ())?;
    Ok((v < V1_UNLIMITED).then_some(v))
}

/// A single number file (`memory.peak`, `memory.max_usage_in_bytes`), bytes.
pub(crate) fn parse_bytes(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// The `oom_kill` count of `memory.events` (v2) or `memory.oom_control` (v1): lines of
/// `key value`.
pub(crate) fn parse_oom_kill(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == "oom_kill").then(|| v.trim().parse().ok()).flatten()
    })
}

/// The pids of a `cgroup.procs` (one per line). A 0 is a process in another pid
/// namespace, which memwatch cannot see.
pub(crate) fn parse_procs(text: &str) -> impl Iterator<Item = i32> + '_ {
    text.lines().filter_map(|l| l.trim().parse().ok())
}

/// `MemTotal` of `/proc/meminfo`, KiB.
pub(crate) fn parse_memtotal_kib(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix("MemTotal:")?.trim();
        v.strip_suffix("kB").unwrap_or(v).trim().parse().ok()
    })
}

/// Whether `pid` is a process of the job: one of its own (`is_job`), or a descendant of
/// one that no sample has found yet, whose parents `ppid` tells (`None` when it is gone).
/// At most 64 generations are climbed.
pub(crate) fn descends_from_job(
    pid: i32,
    is_job: impl Fn(i32) -> bool,
    ppid: impl Fn(i32) -> Option<i32>,
) -> bool {
    let mut p = pid;
    for _ in 0..64 {
        if is_job(p) {
            return true;
        }
        match ppid(p) {
            Some(parent) if parent > 0 && parent != p => p = parent,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_v1_hybrid_and_v2() {
        let hybrid = "9:name=systemd:/\n4:memory:/process_api/f61d\n3:cpuset:/\n0::/\n";
        let m = parse_membership(hybrid);
        assert_eq!(m.v1_memory.as_deref(), Some("/process_api/f61d"));
        assert_eq!(m.v2.as_deref(), Some("/"));
        let v2 = "0::/user.slice/user-1000.slice/session-3.scope\n";
        let m = parse_membership(v2);
        assert_eq!(m.v1_memory, None);
        assert_eq!(
            m.v2.as_deref(),
            Some("/user.slice/user-1000.slice/session-3.scope")
        );
        let joint = "7:cpu,memory:/a:b\n";
        assert_eq!(parse_membership(joint).v1_memory.as_deref(), Some("/a:b"));
        assert_eq!(parse_membership("garbage\n"), Membership::default());
    }

    #[test]
    fn mounts_v1_memory_and_v2() {
        let text = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:40 /docker/abc /mnt/my\\040cg rw - cgroup2 cgroup2 rw,nsdelegate
";
        let m = parse_cgroup_mounts(text);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0],
            Mount {
                version: Version::V1,
                root: "/".into(),
                point: "/sys/fs/cgroup/memory".into()
            }
        );
        assert_eq!(m[1].version, Version::V2);
        assert_eq!(m[1].point, "/sys/fs/cgroup/unified");
        assert_eq!(m[2].root, "/docker/abc");
        assert_eq!(m[2].point, "/mnt/my cg");
    }

    #[test]
    fn paths_below_a_mounted_root() {
        assert_eq!(below("/a/b", "/"), Some("/a/b"));
        assert_eq!(below("/a/b", "/a"), Some("/b"));
        assert_eq!(below("/a", "/a"), Some("/"));
        assert_eq!(below("/ab", "/a"), None);
        assert_eq!(below("/x", "/a"), None);
        assert!(within("/a/b/c", "/a/b"));
        assert!(!within("/a/bc", "/a/b"));
    }

    #[test]
    fn limits_max_unlimited_and_garbage() {
        assert_eq!(parse_limit("max\n"), Ok(None));
        assert_eq!(parse_limit("67108864\n"), Ok(Some(64 << 20)));
        assert_eq!(
            parse_limit("9223372036854771712\n"),
            Ok(None),
            "v1, 4 KiB pages"
        );
        assert_eq!(
            parse_limit("9223372036854710272\n"),
            Ok(None),
            "v1, 64 KiB pages"
        );
        assert_eq!(parse_limit("lots"), Err(()));
        assert_eq!(parse_limit(""), Err(()));
    }

    #[test]
    fn oom_counters_v1_and_v2() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(parse_oom_kill(v1), Some(3));
        let v2 = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_oom_kill(v2), Some(1));
        assert_eq!(parse_oom_kill("oom_kill_disable 0\nunder_oom 0\n"), None);
    }

    #[test]
    fn procs_meminfo_controllers() {
        assert_eq!(
            parse_procs("12\n0\n345\n").collect::<Vec<_>>(),
            [12, 0, 345]
        );
        let meminfo = "MemTotal:       24683652 kB\nMemFree:        1 kB\n";
        assert_eq!(parse_memtotal_kib(meminfo), Some(24_683_652));
        assert_eq!(parse_memtotal_kib("MemFree: 1 kB\n"), None);
        assert!(has_memory_controller("cpuset cpu io memory pids\n"));
        assert!(!has_memory_controller("cpuset cpu io pids\n"));
        assert_eq!(parse_bytes("92348416\n"), Some(92_348_416));
    }

    #[test]
    fn descent_from_the_job() {
        // 30 -> 20 -> 10 (job); 40 -> 1 (init); 50 is gone.
        let parents = |p: i32| match p {
            30 => Some(20),
            20 => Some(10),
            40 => Some(1),
            1 => Some(0),
            _ => None,
        };
        let job = |p: i32| p == 10;
        assert!(descends_from_job(30, job, parents));
        assert!(descends_from_job(10, job, parents));
        assert!(!descends_from_job(40, job, parents));
        assert!(!descends_from_job(50, job, parents));
        // A loop never hangs.
        assert!(!descends_from_job(7, job, |p| Some(if p == 7 {
            8
        } else {
            7
        })));
    }
}
