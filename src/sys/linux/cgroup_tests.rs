//! The cgroup reader on fake cgroup trees in a temporary directory (v1, v2, hybrid, nested
//! limits, `max`, unreadable and malformed files, a cgroup that no longer exists), and
//! once on the machine's own.

use std::fs;
use std::path::Path;

use super::*;

const V1_UNLIMITED: &str = "9223372036854771712\n";

/// mountinfo of a hybrid machine: v1 memory at /sys/fs/cgroup/memory, v2 (without the
/// memory controller) at /sys/fs/cgroup/unified.
const HYBRID_MOUNTS: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

/// mountinfo of a pure v2 machine.
const V2_MOUNTS: &str = "26 23 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("memwatch-cgroup-")
        .tempdir()
        .unwrap()
}

/// A v2 tree: `/sys/fs/cgroup` with the memory controller, `user.slice` limited to
/// `slice`, `user.slice/job` limited to `job`.
fn v2_tree(root: &Path, slice: &str, job: &str) {
    write(
        root,
        "sys/fs/cgroup/cgroup.controllers",
        "cpu io memory pids\n",
    );
    write(
        root,
        "sys/fs/cgroup/user.slice/cgroup.controllers",
        "memory pids\n",
    );
    write(root, "sys/fs/cgroup/user.slice/memory.max", slice);
    write(
        root,
        "sys/fs/cgroup/user.slice/job/cgroup.controllers",
        "memory\n",
    );
    write(root, "sys/fs/cgroup/user.slice/job/memory.max", job);
}

#[test]
fn v1_hybrid_lowest_along_the_path() {
    let t = tmp();
    let root = t.path();
    write(
        root,
        "sys/fs/cgroup/memory/memory.limit_in_bytes",
        V1_UNLIMITED,
    );
    write(
        root,
        "sys/fs/cgroup/memory/a/memory.limit_in_bytes",
        "1073741824\n",
    );
    write(
        root,
        "sys/fs/cgroup/memory/a/b/memory.limit_in_bytes",
        V1_UNLIMITED,
    );
    let loc = locate("4:memory:/a/b\n0::/\n", HYBRID_MOUNTS, root).unwrap();
    assert_eq!(loc.version, Version::V1);
    assert_eq!(loc.path, "/a/b");
    let (limit, notes) = lowest_limit(&loc);
    let limit = limit.unwrap();
    assert_eq!(limit.kib, 1 << 20);
    assert_eq!(limit.source, LimitSource::Cgroup);
    assert!(
        limit
            .detail
            .ends_with("sys/fs/cgroup/memory/a/memory.limit_in_bytes"),
        "{}",
        limit.detail
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn v2_nested_limits_take_the_lowest_wherever_it_is() {
    let t = tmp();
    let root = t.path();
    v2_tree(root, "2147483648\n", "max\n");
    let loc = locate("0::/user.slice/job\n", V2_MOUNTS, root).unwrap();
    assert_eq!(loc.version, Version::V2);
    let (limit, _) = lowest_limit(&loc);
    let limit = limit.unwrap();
    assert_eq!(limit.kib, 2 << 20);
    assert!(limit.detail.ends_with("user.slice/memory.max"));
    assert_eq!(limit.describe(), "cgroup memory.max");
    // The job's own, lower, wins.
    fs::write(
        root.join("sys/fs/cgroup/user.slice/job/memory.max"),
        "67108864\n",
    )
    .unwrap();
    let (limit, _) = lowest_limit(&loc);
    assert_eq!(limit.unwrap().kib, 64 << 10);
}

#[test]
fn max_everywhere_is_no_limit() {
    let t = tmp();
    v2_tree(t.path(), "max\n", "max\n");
    let loc = locate("0::/user.slice/job\n", V2_MOUNTS, t.path()).unwrap();
    assert_eq!(lowest_limit(&loc), (None, vec![]));
}

#[test]
fn unreadable_and_malformed_files_are_noted_and_the_rest_still_counts() {
    let t = tmp();
    let root = t.path();
    v2_tree(root, "max\n", "3221225472\n");
    // A directory where the file should be: reading it fails (as root, which reads any
    // file whatever its mode, this is how a read is made to fail).
    let slice_max = root.join("sys/fs/cgroup/user.slice/memory.max");
    fs::remove_file(&slice_max).unwrap();
    fs::create_dir(&slice_max).unwrap();
    let loc = locate("0::/user.slice/job\n", V2_MOUNTS, root).unwrap();
    let (limit, notes) = lowest_limit(&loc);
    assert_eq!(limit.unwrap().kib, 3 << 20);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("cannot read ")
            && notes[0].contains("user.slice/memory.max: ")
            && notes[0].ends_with("; a lower limit may apply"),
        "{}",
        notes[0]
    );
    fs::write(
        root.join("sys/fs/cgroup/user.slice/job/memory.max"),
        "lots\n",
    )
    .unwrap();
    let (limit, notes) = lowest_limit(&loc);
    assert_eq!(limit, None);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("holds \"lots\", not a memory limit")),
        "{notes:?}"
    );
}

#[test]
fn a_cgroup_that_no_longer_exists() {
    let t = tmp();
    v2_tree(t.path(), "max\n", "max\n");
    let err = locate("0::/user.slice/gone\n", V2_MOUNTS, t.path()).unwrap_err();
    assert_eq!(
        err,
        "the cgroup /user.slice/gone does not exist under /sys/fs/cgroup (removed, or in another cgroup namespace)"
    );
}

#[test]
fn v2_without_the_memory_controller_and_nothing_mounted() {
    let t = tmp();
    let root = t.path();
    write(root, "sys/fs/cgroup/unified/cgroup.controllers", "pids\n");
    write(root, "sys/fs/cgroup/unified/s/cgroup.controllers", "");
    let err = locate("1:cpu:/\n0::/s\n", HYBRID_MOUNTS, root).unwrap_err();
    assert!(err.contains("memory controller is not enabled"), "{err}");
    let err = locate("4:memory:/a\n", "", root).unwrap_err();
    assert_eq!(
        err,
        "the memory cgroup /a (cgroup v1) is not mounted where memwatch can read it"
    );
    assert!(locate("", V2_MOUNTS, root).is_err());
}

#[test]
fn a_mounted_subtree_as_in_a_container() {
    let t = tmp();
    let root = t.path();
    write(root, "sys/fs/cgroup/cgroup.controllers", "memory\n");
    write(root, "sys/fs/cgroup/sub/cgroup.controllers", "memory\n");
    write(root, "sys/fs/cgroup/sub/memory.max", "1048576\n");
    let mounts = "26 23 0:23 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    let loc = locate("0::/docker/abc/sub\n", mounts, root).unwrap();
    assert_eq!(loc.dir, root.join("sys/fs/cgroup/sub"));
    assert_eq!(lowest_limit(&loc).0.unwrap().kib, 1024);
    // The walk stops at the mount point: nothing above it is read.
    assert_eq!(loc.top, root.join("sys/fs/cgroup"));
}

#[test]
fn peak_and_oom_counter_v1_and_v2() {
    let t = tmp();
    let root = t.path();
    v2_tree(root, "max\n", "max\n");
    write(
        root,
        "sys/fs/cgroup/user.slice/job/memory.peak",
        "5242880\n",
    );
    write(
        root,
        "sys/fs/cgroup/user.slice/job/memory.events",
        "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n",
    );
    let cg = JobCgroup::at(locate("0::/user.slice/job\n", V2_MOUNTS, root).unwrap());
    assert_eq!(cg.peak_at_start(), Ok(5 << 20));
    assert_eq!(cg.oom_kills_at_start(), Some(1));
    write(
        root,
        "sys/fs/cgroup/user.slice/job/memory.peak",
        "9437184\n",
    );
    write(
        root,
        "sys/fs/cgroup/user.slice/job/memory.events",
        "oom_kill 3\n",
    );
    assert_eq!(cg.peak_bytes(), Ok(9 << 20));
    assert_eq!(cg.oom_kills(), Some(3));
    assert_eq!(cg.path(), "/user.slice/job");
    // A kernel before 5.19 has no memory.peak.
    fs::remove_file(root.join("sys/fs/cgroup/user.slice/job/memory.peak")).unwrap();
    let err = cg.peak_bytes().unwrap_err();
    assert!(
        err.contains("has no memory.peak (Linux 5.19 or later"),
        "{err}"
    );

    let v1 = tmp();
    let root = v1.path();
    write(
        root,
        "sys/fs/cgroup/memory/j/memory.max_usage_in_bytes",
        "2097152\n",
    );
    write(
        root,
        "sys/fs/cgroup/memory/j/memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    );
    let cg = JobCgroup::at(locate("4:memory:/j\n", HYBRID_MOUNTS, root).unwrap());
    assert_eq!(cg.peak_at_start(), Ok(2 << 20));
    assert_eq!(cg.oom_kills_at_start(), Some(0));
}

/// A fake cgroup with the layout of the machine's own, so that the real
/// `/proc/<pid>/cgroup` of this test process is read in that layout; `None` on a machine
/// without a memory cgroup.
fn fake_like_this_machine(root: &Path, procs: &str) -> Option<JobCgroup> {
    let own = parse_membership(&fs::read_to_string("/proc/self/cgroup").ok()?);
    let (membership, mounts, dir) = if own.v1_memory.is_some() {
        (
            "4:memory:/fake\n",
            HYBRID_MOUNTS,
            "sys/fs/cgroup/memory/fake",
        )
    } else {
        own.v2.as_ref()?;
        write(root, "sys/fs/cgroup/fake/cgroup.controllers", "memory\n");
        ("0::/fake\n", V2_MOUNTS, "sys/fs/cgroup/fake")
    };
    write(root, &format!("{dir}/cgroup.procs"), procs);
    Some(JobCgroup::at(locate(membership, mounts, root).unwrap()))
}

#[test]
fn strangers_and_escapees() {
    let t = tmp();
    let me = std::process::id() as i32;
    let Some(cg) = fake_like_this_machine(t.path(), &format!("{me}\n")) else {
        eprintln!("skipped: no memory cgroup on this machine");
        return;
    };
    let only_me = |p: Pid| p == me;
    assert_eq!(cg.intrusion(&only_me, &[]), Ok(None));
    // A child of a job process that no sample found yet is the job's.
    let parent_is_job = |p: Pid| p == std::os::unix::process::parent_id() as i32;
    assert_eq!(cg.intrusion(&parent_is_job, &[]), Ok(None));
    // Someone else: pid 1 is nobody's child in the job.
    let cg = fake_like_this_machine(t.path(), &format!("{me}\n1\n")).unwrap();
    match cg.intrusion(&only_me, &[]) {
        Ok(Some(Intrusion::Stranger { pid: 1, .. })) => {}
        other => panic!("{other:?}"),
    }
    // In another pid namespace.
    let cg = fake_like_this_machine(t.path(), &format!("0\n{me}\n")).unwrap();
    match cg.intrusion(&only_me, &[]) {
        Ok(Some(Intrusion::Stranger { pid: 0, name })) => {
            assert_eq!(name, "a process in another pid namespace");
        }
        other => panic!("{other:?}"),
    }
    // A live job process that is not in the fake cgroup runs in another one (its real one).
    let cg = fake_like_this_machine(t.path(), "").unwrap();
    match cg.intrusion(&only_me, &[me]) {
        Ok(Some(Intrusion::Escaped { pid, cgroup })) => {
            assert_eq!(pid, me);
            assert_ne!(cgroup, "/fake");
        }
        other => panic!("{other:?}"),
    }
    // A cgroup.procs that cannot be read.
    fs::remove_dir_all(t.path().join("sys")).unwrap();
    let err = cg.intrusion(&only_me, &[]).unwrap_err();
    assert!(
        err.starts_with("cannot read ") && err.contains("cgroup.procs"),
        "{err}"
    );
}

#[test]
fn members_below_the_cgroup_count_too() {
    let t = tmp();
    let me = std::process::id() as i32;
    let Some(cg) = fake_like_this_machine(t.path(), &format!("{me}\n")) else {
        return;
    };
    let sub = cg.loc.dir.join("child");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("cgroup.procs"), "1\n").unwrap();
    let only_me = |p: Pid| p == me;
    assert!(matches!(
        cg.intrusion(&only_me, &[]),
        Ok(Some(Intrusion::Stranger { pid: 1, .. }))
    ));
}

#[test]
fn the_machines_own_cgroup_and_memory() {
    // Once on the real machine: whatever its layout, the reader finds a cgroup or says why
    // not, a limit it finds is a real one, and MemTotal is there.
    let physical = physical().unwrap();
    assert!(physical.kib > 64 << 10, "{physical:?}");
    match JobCgroup::of_self() {
        Ok(cg) => {
            assert!(cg.path().starts_with('/'));
            let (limit, notes) = cg.limit();
            assert!(notes.is_empty(), "{notes:?}");
            if let Some(l) = limit {
                assert!(l.kib > 0 && Path::new(&l.detail).is_file(), "{l:?}");
            }
            // The test process and its threads' process are in it.
            let me = std::process::id() as i32;
            let mine = |p: Pid| p == me;
            assert!(cg.intrusion(&mine, &[me]).is_ok());
            assert!(cg.peak_at_start().is_ok() || cg.path() == "/");
        }
        Err(why) => eprintln!("no memory cgroup here: {why}"),
    }
}

#[test]
fn the_machines_memory_or_why_not() {
    let t = tmp();
    let meminfo = t.path().join("meminfo");
    fs::write(&meminfo, "MemTotal:        2048 kB\nMemFree: 1 kB\n").unwrap();
    let p = physical_from(&meminfo).unwrap();
    assert_eq!((p.kib, p.source), (2048, LimitSource::Physical));
    fs::write(&meminfo, "MemFree: 1 kB\n").unwrap();
    assert_eq!(
        physical_from(&meminfo).unwrap_err(),
        format!("{} has no MemTotal", meminfo.display())
    );
    let gone = t.path().join("gone");
    assert_eq!(
        physical_from(&gone).unwrap_err(),
        format!("cannot read {}: No such file or directory", gone.display())
    );
}
