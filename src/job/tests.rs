//! The job's unit tests, driven by the fake inspector: admission, totals, peaks, recycled
//! pids, fork copies, bounded records, and property tests of the invariants.

use super::record::started_command;
use super::*;
use crate::sys::fake::{FakeInspector, FakeProc};

const ME: Pid = 100;
const ROOT: Pid = 101;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn job(fake: FakeInspector) -> Job<FakeInspector> {
    Job::new(fake, ME, ROOT, 8)
}

#[test]
fn totals_and_peaks() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(100));
    let mut j = job(fake.clone());
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (100, 1));
    fake.spawn(FakeProc::new(200, ROOT, 11, "child a").rss(300));
    fake.spawn(FakeProc::new(201, ROOT, 12, "child b").rss(50));
    let s = j.sample(ms(10), false).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (450, 3));
    fake.set_rss(200, 1000);
    fake.exit(201);
    let s = j.sample(ms(20), false).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (1100, 2));
    fake.set_rss(200, 10);
    j.sample(ms(30), false).unwrap();
    let stats = j.finish();
    assert_eq!(stats.max_total_rss_kib, 1100);
    assert_eq!(stats.max_total_index, Some(2));
    assert_eq!(stats.processes_at_peak, 2);
    assert_eq!(stats.samples, 4);
    let a = stats.processes.iter().find(|p| p.id.pid == 200).unwrap();
    assert_eq!(a.max_rss_kib, Some(1000));
    assert_eq!((a.first_seen, a.last_seen, a.samples), (ms(10), ms(30), 3));
    let b = stats.processes.iter().find(|p| p.id.pid == 201).unwrap();
    assert_eq!((b.max_rss_kib, b.last_seen), (Some(50), ms(10)));
    assert!(
        stats
            .processes
            .iter()
            .find(|p| p.id.pid == ROOT)
            .unwrap()
            .is_root
    );
}

#[test]
fn private_totals_leave_shared_pages_out() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(100).shared(60));
    fake.spawn(FakeProc::new(200, ROOT, 11, "child").rss(300).shared(250));
    let mut j = job(fake.clone());
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.total_rss_kib, s.total_private_kib), (400, 90));
    // The child's own memory grows, its shared pages shrink: the private total peaks here.
    fake.spawn(FakeProc::new(200, ROOT, 11, "child").rss(1000).shared(100));
    let s = j.sample(ms(10), false).unwrap();
    assert_eq!((s.total_rss_kib, s.total_private_kib), (1100, 940));
    // A process whose private part is unknown: that sample has no private total, not a
    // smaller one, while its RSS total stands.
    fake.spawn(
        FakeProc::new(201, ROOT, 12, "other")
            .rss(5000)
            .private_unknown(),
    );
    let s = j.sample(ms(20), false).unwrap();
    assert_eq!((s.total_rss_kib, s.private_unknown), (6100, 1));
    let stats = j.finish();
    assert_eq!(stats.max_total_rss_kib, 6100);
    assert_eq!(stats.max_total_private_kib, Some(940));
    let private = |pid| {
        stats
            .processes
            .iter()
            .find(|p| p.id.pid == pid)
            .unwrap()
            .max_private_kib
    };
    assert_eq!(
        (private(ROOT), private(200), private(201)),
        (Some(40), Some(900), None)
    );
}

#[test]
fn a_platform_without_private_pages_has_no_private_total() {
    let fake = FakeInspector::default();
    fake.spawn(
        FakeProc::new(ROOT, ME, 10, "root")
            .rss(100)
            .private_unknown(),
    );
    let mut j = job(fake);
    j.sample(ms(0), true).unwrap();
    let stats = j.finish();
    assert_eq!(stats.max_total_rss_kib, 100);
    assert_eq!(stats.max_total_private_kib, None, "unknown, never 0");
}

#[test]
fn strangers_are_not_admitted() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
    fake.spawn(FakeProc::new(50, 1, 5, "sshd").rss(999));
    fake.spawn(FakeProc::new(51, 50, 6, "bash").rss(999));
    let mut j = job(fake.clone());
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (1, 1));
}

#[test]
fn children_listed_before_parents_are_found() {
    // After a pid wrap a grandchild can have a lower pid than its parent, and discovery
    // may list it first.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(30_000, 30_001, 13, "grandchild").rss(3));
    fake.spawn(FakeProc::new(30_001, 32_000, 12, "child").rss(2));
    fake.spawn(FakeProc::new(32_000, ME, 11, "root").rss(1));
    let mut j = Job::new(fake.clone(), ME, 32_000, 4);
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (6, 3));
}

#[test]
fn reparented_and_orphaned_processes_stay() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
    fake.spawn(FakeProc::new(300, ROOT, 11, "middle").rss(1));
    fake.spawn(FakeProc::new(301, 300, 12, "daemon").rss(7));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.exit(300);
    fake.exit(ROOT);
    fake.reparent(301, 1);
    let s = j.sample(ms(10), true).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (7, 1));
    // An orphan born later and adopted by memwatch (subreaper) is admitted too.
    fake.spawn(FakeProc::new(400, ME, 20, "adopted").rss(5));
    let s = j.sample(ms(20), true).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (12, 2));
}

#[test]
fn recycled_pid_is_a_new_process() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
    fake.spawn(FakeProc::new(500, ROOT, 11, "first").rss(900));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.exit(500);
    fake.spawn(FakeProc::new(500, ROOT, 99, "second").rss(20));
    j.sample(ms(10), true).unwrap();
    let stats = j.finish();
    let both: Vec<_> = stats.processes.iter().filter(|p| p.id.pid == 500).collect();
    assert_eq!(both.len(), 2);
    let first = both.iter().find(|p| p.id.start == 11).unwrap();
    let second = both.iter().find(|p| p.id.start == 99).unwrap();
    assert_eq!((first.max_rss_kib, &*first.command), (Some(900), "first"));
    assert_eq!((second.max_rss_kib, &*second.command), (Some(20), "second"));
    assert_eq!(second.first_seen, ms(10));
}

#[test]
fn a_recycled_parent_pid_does_not_adopt_strangers() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    // A process older than the job member with that pid cannot be its child.
    fake.spawn(FakeProc::new(77, ROOT, 5, "impossible").rss(1));
    let s = j.sample(ms(10), true).unwrap();
    assert_eq!(s.processes, 1);
}

/// A process table shaped like macOS's after the wall clock stepped back 2 s (time sync, a
/// VM resumed) between a fork and the next: start times are the wall clock's `p_start` in
/// microseconds, births the monotonic `ri_proc_start_abstime` in Mach ticks.
fn stepped_clock(fake: &FakeInspector) {
    const WALL: u64 = 1_700_000_000_000_000;
    fake.spawn(
        FakeProc::new(ROOT, ME, WALL + 500_000, "make")
            .born(Some(40_000))
            .rss(10),
    );
    // Forked after the step: an earlier wall-clock start than its parent's. It leads a
    // group of its own.
    fake.spawn(
        FakeProc::new(300, ROOT, WALL - 1_500_000, "cc")
            .born(Some(41_000))
            .pgid(300)
            .rss(20),
    );
    fake.spawn(
        FakeProc::new(301, 300, WALL - 1_400_000, "cc1")
            .born(Some(41_500))
            .rss(30),
    );
    // A group member that lost its parent, in a group the child leads.
    fake.spawn(
        FakeProc::new(302, 1, WALL - 1_300_000, "as")
            .born(Some(42_000))
            .pgid(300)
            .rss(40),
    );
}

#[test]
fn a_wall_clock_stepped_back_loses_no_subtree() {
    let fake = FakeInspector::default();
    stepped_clock(&fake);
    let mut j = job(fake.clone());
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.processes, s.total_rss_kib), (4, 100));
}

#[test]
fn birth_order_still_refuses_a_child_older_than_its_parent() {
    let fake = FakeInspector::default();
    fake.spawn(
        FakeProc::new(ROOT, ME, 900, "root")
            .born(Some(40_000))
            .rss(1),
    );
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    // Its wall-clock start is later than the root's, but it was born before the root: its
    // parent was an earlier holder of the pid (or of the group id).
    fake.spawn(
        FakeProc::new(77, ROOT, 950, "impossible")
            .born(Some(39_000))
            .rss(1),
    );
    fake.spawn(
        FakeProc::new(78, 1, 960, "impossible member")
            .born(Some(39_500))
            .pgid(ROOT)
            .rss(1),
    );
    let s = j.sample(ms(10), true).unwrap();
    assert_eq!(s.processes, 1);
}

#[test]
fn processes_whose_birth_is_unknown_are_not_refused() {
    // macOS: another user's process (a setuid `sudo` and what it runs) has no readable
    // `ri_proc_start_abstime`, and its wall-clock start may be earlier than its parent's.
    let fake = FakeInspector::default();
    fake.spawn(
        FakeProc::new(ROOT, ME, 5_000, "sh")
            .born(Some(40_000))
            .rss(1),
    );
    fake.spawn(FakeProc::new(400, ROOT, 4_000, "sudo").born(None).denied());
    fake.spawn(FakeProc::new(401, 400, 4_100, "make").born(None).denied());
    fake.spawn(
        FakeProc::new(402, 401, 4_200, "cc")
            .born(Some(41_000))
            .rss(2),
    );
    let mut j = job(fake.clone());
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.processes, s.total_rss_kib, s.unknown), (4, 3, 2));
}

#[test]
fn a_root_gone_before_any_sample_is_still_reported_unknown() {
    let fake = FakeInspector::default();
    let mut j = job(fake.clone());
    j.set_root_command("true --flag", "/bin/true");
    // It exited and was reaped before the first sample found it.
    j.reaped(ROOT, Some(3600));
    let s = j.sample(ms(1), true).unwrap();
    assert_eq!((s.processes, s.total_rss_kib), (0, 0));
    let stats = j.finish();
    assert_eq!(stats.processes_total, 1);
    let root = &stats.processes[0];
    assert!(root.is_root);
    assert_eq!(root.id.pid, ROOT);
    assert_eq!(&*root.command, "true --flag");
    assert_eq!(root.max_rss_kib, None, "never sampled: unknown, not 0");
    assert_eq!(root.kernel_max_rss_kib, Some(3600));
    assert_eq!(root.samples, 0);
    assert_eq!(stats.max_total_index, None);
}

#[test]
fn a_zombie_root_keeps_the_command_memwatch_started() {
    let started: Rc<str> = Rc::from("/usr/bin/a-long-program-name --x");
    let program = "a-long-program-name";
    let got = |read: &str| started_command(&started, program, read).map(|c| c.to_string());
    assert_eq!(got("[a-long-program-]").as_deref(), Some(&*started));
    assert_eq!(
        got("[a-long-program-n]").as_deref(),
        Some(&*started),
        "macOS: 16"
    );
    assert_eq!(got("[other]"), None, "after exec into something else");
    assert_eq!(got("[a-long]"), None, "a shorter name is another program");
    assert_eq!(
        got("a-long-program-name --x"),
        None,
        "a real command line stays"
    );
    assert_eq!(got("[]"), None);
    let sh: Rc<str> = Rc::from("shellcheck x.sh");
    assert_eq!(started_command(&sh, "shellcheck", "[sh]"), None);
    assert_eq!(
        started_command(&sh, "shellcheck", "[shellcheck]").as_deref(),
        Some("shellcheck x.sh")
    );
}

#[test]
fn a_root_seen_then_reaped_is_not_doubled() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(5));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.exit(ROOT);
    j.reaped(ROOT, Some(9));
    let stats = j.finish();
    assert_eq!(stats.processes_total, 1);
    assert_eq!(stats.processes.len(), 1);
    assert_eq!(stats.processes[0].max_rss_kib, Some(5));
}

#[test]
fn a_sample_with_nothing_measured_has_no_timeline_point() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "sudo").denied());
    let mut j = job(fake.clone());
    let s = j.sample(ms(0), true).unwrap();
    assert!(!s.has_total());
    fake.exit(ROOT);
    let s = j.sample(ms(10), true).unwrap();
    assert!(s.has_total(), "nothing alive: a true 0");
    let stats = j.finish();
    let points = stats.timeline.points();
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!((points[0].total_rss_kib, points[0].processes), (0, 0));
}

#[test]
fn unreadable_pss_is_unknown_not_zero() {
    // Nothing readable: no PSS total at all, and the process is counted.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "setuid").rss(5));
    let mut j = job(fake.clone());
    j.measure_extra(Metric::Pss);
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!(s.total_extra_kib, None);
    let stats = j.finish();
    assert_eq!(stats.max_total_extra_kib, None);
    assert_eq!(stats.extra_unreadable, 1);

    // One readable, one not: the total is the readable one's, the other counted once.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(50).pss(30));
    fake.spawn(FakeProc::new(600, ROOT, 11, "setuid").rss(40));
    let mut j = job(fake.clone());
    j.measure_extra(Metric::Pss);
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!(s.total_extra_kib, Some(30));
    j.sample(ms(500), false).unwrap();
    let stats = j.finish();
    assert_eq!(stats.max_total_extra_kib, Some(30));
    assert_eq!(stats.extra_unreadable, 1);
    let root = stats.processes.iter().find(|p| p.id.pid == ROOT).unwrap();
    assert_eq!(root.max_extra_kib, Some(30));
}

#[test]
fn unreadable_processes_are_unknown_not_zero() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(5));
    fake.spawn(FakeProc::new(600, ROOT, 11, "sudo").denied());
    let mut j = job(fake.clone());
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.total_rss_kib, s.processes, s.unknown), (5, 2, 1));
    assert_eq!(j.take_newly_denied().len(), 1);
    assert!(j.take_newly_denied().is_empty());
    let stats = j.finish();
    let sudo = stats.processes.iter().find(|p| p.id.pid == 600).unwrap();
    assert_eq!(sudo.max_rss_kib, None);
    assert_eq!(sudo.samples, 1);
    assert_eq!(stats.processes_unreadable, 1);
}

#[test]
fn command_at_peak_follows_exec() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "sh -c big").rss(500));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.exec(ROOT, "big --work", 2000);
    j.sample(ms(10), false).unwrap();
    fake.exec(ROOT, "small", 1);
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    assert_eq!(&*stats.processes[0].peak_command, "big --work");
    assert_eq!(&*stats.processes[0].command, "small");
}

#[test]
fn a_child_found_before_its_exec_gets_its_own_command() {
    // Found between fork and exec (showing mpirun's command line), then an exec the
    // backend cannot see: the command is read once more at the next sample.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "mpirun -n 2 rank").rss(10));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(501, ROOT, 11, "mpirun -n 2 rank").rss(10));
    j.sample(ms(10), false).unwrap();
    fake.exec_unnoticed(501, "rank 64", 65_536);
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    let rank = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
    assert_eq!(&*rank.peak_command, "rank 64");
    assert_eq!(rank.max_rss_kib, Some(65_536));
}

#[test]
fn a_fresh_fork_copy_is_named_by_what_it_became() {
    // A 300 MiB program forks a child that stays a copy of it for a while, then execs
    // sleep: a sample in that window reads the parent's pages in the child too.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(300_000));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(501, ROOT, 11, "python3 big.py").rss(299_000));
    let s = j.sample(ms(10), false).unwrap();
    assert_eq!(s.total_rss_kib, 599_000);
    fake.exec(501, "sleep 0.5", 1_700);
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
    assert_eq!(child.max_rss_kib, Some(299_000));
    assert_eq!(&*child.peak_command, "sleep 0.5");
    assert!(child.peak_before_exec());
    let root = stats.processes.iter().find(|p| p.is_root).unwrap();
    assert!(!root.peak_before_exec());
    assert_eq!(stats.max_total_rss_kib, 599_000);
    assert_eq!(
        stats.fork_copies_at_peak,
        [ForkCopy {
            id: ProcId {
                pid: 501,
                start: 11
            },
            ppid: ROOT,
            kib: 299_000,
            first_seen: ms(10),
        }]
    );
}

#[test]
fn a_copy_found_by_its_changed_command_line_is_named_by_it_too() {
    // An exec the backend cannot see (same text size): the command line read once more
    // at the next reading tells.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(100_000));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(501, ROOT, 11, "prog").rss(100_000));
    j.sample(ms(10), false).unwrap();
    fake.exec_unnoticed(501, "other", 1_000);
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
    assert_eq!(&*child.peak_command, "other");
    assert!(child.peak_before_exec());
    assert_eq!(stats.fork_copies_at_peak.len(), 1);
}

#[test]
fn a_worker_that_never_execs_is_no_fork_copy() {
    // A pre-forked worker shares its parent's pages for good: RSS counts them in both,
    // as documented, but it is not caught between fork and exec.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "server").rss(100_000));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(501, ROOT, 11, "server").rss(100_000));
    j.sample(ms(10), false).unwrap();
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    assert!(stats.fork_copies_at_peak.is_empty());
    let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
    assert!(!child.peak_before_exec());
    assert_eq!(&*child.peak_command, "server");
}

#[test]
fn memory_a_child_used_before_its_exec_is_its_own() {
    // Larger than its parent before the exec: its own work under its parent's program,
    // named so, and no fork copy.
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 pool.py").rss(100_000));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(501, ROOT, 11, "python3 pool.py").rss(500_000));
    j.sample(ms(10), false).unwrap();
    fake.exec(501, "sleep 1", 1_000);
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    let child = stats.processes.iter().find(|p| p.id.pid == 501).unwrap();
    assert_eq!(&*child.peak_command, "python3 pool.py");
    assert!(!child.peak_before_exec());
    assert!(stats.fork_copies_at_peak.is_empty());
}

#[test]
fn fork_copies_at_the_peak_are_bounded_and_the_freshest_kept() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "make -j8").rss(10_000));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    for k in 0..6 {
        fake.spawn(FakeProc::new(600 + k, ROOT, 20 + k as u64, "make -j8").rss(10_000));
        j.sample(ms(10 * (k as u64 + 1)), false).unwrap();
    }
    for k in 0..6 {
        fake.exec(600 + k, "cc -c x.c", 5_000);
    }
    j.sample(ms(100), false).unwrap();
    let stats = j.finish();
    let mut kept: Vec<Pid> = stats.fork_copies_at_peak.iter().map(|c| c.id.pid).collect();
    kept.sort_unstable();
    assert_eq!(kept, [602, 603, 604, 605]);
}

#[test]
fn process_groups_led_by_members_are_followed() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(1).pgid(ROOT));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    // Reparented to init before memwatch saw it, still in the root's group.
    fake.spawn(FakeProc::new(700, 1, 11, "orphan").rss(4).pgid(ROOT));
    // Same group id as a stranger's pid, but that stranger is no job member.
    fake.spawn(FakeProc::new(701, 1, 12, "other").rss(4).pgid(50));
    let s = j.sample(ms(10), true).unwrap();
    assert_eq!(s.processes, 2);
}

#[test]
fn kernel_peak_is_recorded_when_reaped() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(5));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.exit(ROOT);
    j.reaped(ROOT, Some(9000));
    let stats = j.finish();
    assert_eq!(stats.processes[0].kernel_max_rss_kib, Some(9000));
}

#[test]
fn dead_records_are_bounded() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 1, "root").rss(1));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    let n = 2 * MAX_DEAD_RECORDS as i32 + 10;
    for k in 0..n {
        let pid = 1000 + k;
        fake.spawn(FakeProc::new(pid, ROOT, 2 + k as u64, "short").rss(k as u64));
        j.sample(ms(k as u64), false).unwrap();
        fake.exit(pid);
        j.sample(ms(k as u64), false).unwrap();
    }
    let stats = j.finish();
    assert!(stats.processes.len() <= 2 * MAX_DEAD_RECORDS + 1);
    assert_eq!(stats.processes_total, n as u64 + 1);
    assert_eq!(
        stats.processes.len() as u64 + stats.processes_omitted,
        stats.processes_total
    );
    // The heaviest survive.
    assert!(
        stats
            .processes
            .iter()
            .any(|p| p.max_rss_kib == Some(n as u64 - 1))
    );
    assert!(stats.processes.iter().any(|p| p.is_root));
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// One step of a random job's life between two samples.
    #[derive(Clone, Debug)]
    enum Op {
        /// A live job process (index into the live list) forks a child with this RSS.
        Fork(usize, u64),
        /// A live non-root process exits.
        Exit(usize),
        /// A live process's RSS changes.
        Rss(usize, u64),
        /// A live non-root process exits and its pid is reused at once by a new child of
        /// the root (another start time).
        Recycle(usize, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<usize>(), 0u64..1_000_000).prop_map(|(i, k)| Op::Fork(i, k)),
            any::<usize>().prop_map(Op::Exit),
            (any::<usize>(), 0u64..1_000_000).prop_map(|(i, k)| Op::Rss(i, k)),
            (any::<usize>(), 0u64..1_000_000).prop_map(|(i, k)| Op::Recycle(i, k)),
        ]
    }

    /// What a scenario produced: per sample, the total and the largest single member;
    /// the final stats; every incarnation's largest RSS as set by the test.
    struct Outcome {
        samples: Vec<(u64, u64)>,
        stats: JobStats,
        truth: BTreeMap<ProcId, u64>,
    }

    /// Play `steps` (each a list of ops, then a sample), plus optionally one extra
    /// steady process of `extra` KiB from the start, which no op touches.
    fn play(steps: &[Vec<Op>], extra: Option<u64>) -> Outcome {
        let fake = FakeInspector::default();
        // (identity, parent pid, RSS) of the live processes; the root first.
        let mut live: Vec<(ProcId, Pid, u64)> = vec![(
            ProcId {
                pid: ROOT,
                start: 1,
            },
            ME,
            10,
        )];
        fake.spawn(FakeProc::new(ROOT, ME, 1, "root").rss(10));
        let steady = extra.unwrap_or(0);
        if let Some(k) = extra {
            fake.spawn(FakeProc::new(999, ROOT, 1, "extra").rss(k));
        }
        let mut next_pid = 1000;
        let mut next_start = 2;
        let mut truth: BTreeMap<ProcId, u64> = BTreeMap::new();
        let mut j = job(fake.clone());
        let mut samples = Vec::new();
        for (n, ops) in steps.iter().enumerate() {
            for op in ops {
                match *op {
                    Op::Fork(i, k) => {
                        let parent = live[i % live.len()].0.pid;
                        let id = ProcId {
                            pid: next_pid,
                            start: next_start,
                        };
                        next_pid += 1;
                        next_start += 1;
                        fake.spawn(FakeProc::new(id.pid, parent, id.start, "child").rss(k));
                        live.push((id, parent, k));
                    }
                    Op::Exit(i) | Op::Recycle(i, _) if live.len() > 1 => {
                        let (gone, _, _) = live.remove(1 + i % (live.len() - 1));
                        fake.exit(gone.pid);
                        // Orphans go to the subreaper, memwatch, as the kernel does.
                        for e in live.iter_mut().filter(|e| e.1 == gone.pid) {
                            e.1 = ME;
                            fake.reparent(e.0.pid, ME);
                        }
                        if let Op::Recycle(_, k) = *op {
                            let id = ProcId {
                                pid: gone.pid,
                                start: next_start,
                            };
                            next_start += 1;
                            fake.spawn(FakeProc::new(id.pid, ROOT, id.start, "reuse").rss(k));
                            live.push((id, ROOT, k));
                        }
                    }
                    Op::Exit(_) | Op::Recycle(..) => {}
                    Op::Rss(i, k) => {
                        let n = live.len();
                        let e = &mut live[i % n];
                        e.2 = k;
                        fake.set_rss(e.0.pid, k);
                    }
                }
            }
            for &(id, _, k) in &live {
                let m = truth.entry(id).or_insert(0);
                *m = (*m).max(k);
            }
            let s = j.sample(ms(10 * n as u64), n % 4 == 0).unwrap();
            let biggest = live.iter().map(|e| e.2).max().unwrap_or(0).max(steady);
            let expected: u64 = live.iter().map(|e| e.2).sum::<u64>() + steady;
            assert_eq!(
                s.processes as usize,
                live.len() + usize::from(extra.is_some())
            );
            assert_eq!(s.total_rss_kib, expected);
            samples.push((s.total_rss_kib, biggest));
        }
        if let Some(k) = extra {
            truth.insert(ProcId { pid: 999, start: 1 }, k);
        }
        Outcome {
            samples,
            stats: j.finish(),
            truth,
        }
    }

    fn steps() -> impl Strategy<Value = Vec<Vec<Op>>> {
        prop::collection::vec(prop::collection::vec(op(), 0..4), 1..25)
    }

    proptest! {
        #[test]
        fn totals_peaks_and_identities(steps in steps()) {
            let o = play(&steps, None);
            // A total is never below any member at the same sample.
            for &(total, biggest) in &o.samples {
                prop_assert!(total >= biggest);
            }
            let max_total = o.stats.max_total_rss_kib;
            prop_assert_eq!(max_total, o.samples.iter().map(|s| s.0).max().unwrap());
            // Nothing shared: the private total is the RSS total, sample for sample.
            prop_assert_eq!(o.stats.max_total_private_kib, Some(max_total));
            for p in &o.stats.processes {
                // Every per-process peak is at most the max total.
                prop_assert!(p.max_rss_kib.unwrap_or(0) <= max_total);
                prop_assert!(p.first_seen <= p.last_seen);
                // Each (pid, start) is its own process with its own history: a recycled
                // pid never inherits the earlier holder's peak.
                prop_assert_eq!(p.max_rss_kib, o.truth.get(&p.id).copied(), "{:?}", p.id);
            }
            let ids: std::collections::BTreeSet<ProcId> =
                o.stats.processes.iter().map(|p| p.id).collect();
            prop_assert_eq!(ids.len(), o.stats.processes.len());
            prop_assert_eq!(o.stats.processes.len(), o.truth.len());
        }

        #[test]
        fn adding_a_process_never_lowers_the_peak(steps in steps(), extra in 0u64..100_000) {
            let without = play(&steps, None).stats.max_total_rss_kib;
            let with = play(&steps, Some(extra)).stats.max_total_rss_kib;
            prop_assert!(with >= without);
        }
    }
}

#[test]
fn how_and_when_processes_ended() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(100));
    fake.spawn(FakeProc::new(200, ROOT, 11, "child").rss(300));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    assert_eq!(j.ended(), 0);
    // The child is found gone by a sample (its parent reaped it): when, but not how.
    fake.exit(200);
    j.sample(ms(10), false).unwrap();
    assert_eq!(j.ended(), 1);
    // The root is reaped by memwatch before a sample sees it gone: how, but not when.
    fake.exit(ROOT);
    j.reaped(ROOT, Some(120));
    j.exited(ROOT, Exit::Signal(9));
    assert_eq!(j.ended(), 2);
    let stats = j.finish();
    let child = stats.processes.iter().find(|p| p.id.pid == 200).unwrap();
    assert_eq!((child.gone_at, child.exit), (Some(ms(10)), None));
    assert_eq!(child.last_kib, 300);
    let root = stats.processes.iter().find(|p| p.is_root).unwrap();
    assert_eq!((root.gone_at, root.exit), (None, Some(Exit::Signal(9))));
}

#[test]
fn a_process_reaped_between_samples_is_stamped_by_the_next_one() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "root").rss(100));
    let mut j = job(fake.clone());
    j.sample(ms(0), true).unwrap();
    fake.exit(ROOT);
    j.reaped(ROOT, Some(120));
    j.exited(ROOT, Exit::Signal(9));
    j.sample(ms(10), false).unwrap();
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    assert_eq!(stats.processes[0].gone_at, Some(ms(10)));
}

#[test]
fn a_root_reaped_before_any_sample_ended_too() {
    let fake = FakeInspector::default();
    let mut j = job(fake);
    j.reaped(ROOT, Some(50));
    j.exited(ROOT, Exit::Code(3));
    assert_eq!(j.ended(), 1);
    let stats = j.finish();
    assert_eq!(stats.processes[0].exit, Some(Exit::Code(3)));
}
