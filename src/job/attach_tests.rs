//! The job attached to a running process (`memwatch attach`), and the split by program,
//! driven by the fake inspector.

use super::*;
use crate::sys::fake::{FakeInspector, FakeProc};

const ME: Pid = 100;
const ROOT: Pid = 500;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn seen(pid: Pid, ppid: Pid, start: u64) -> Seen {
    Seen {
        id: ProcId { pid, start },
        ppid,
        pgid: pid,
        born: Some(start),
    }
}

#[test]
fn an_attached_root_and_its_descendants_are_the_job() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(1, 0, 1, "init").rss(5));
    fake.spawn(FakeProc::new(ROOT, 1, 10, "server --port 80").rss(100));
    fake.spawn(FakeProc::new(501, ROOT, 11, "worker").rss(40));
    fake.spawn(FakeProc::new(ME, 1, 20, "memwatch attach 500").rss(3));
    let mut j = Job::new(fake.clone(), ME, ROOT, 8);
    assert_eq!(j.attach(seen(ROOT, 1, 10)), Some(Access::Readable));
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!(
        (s.total_rss_kib, s.processes),
        (140, 2),
        "not init, not memwatch"
    );
    assert!(j.is_live(ROOT));
    // A grandchild is born, its parent exits: it is reparented away, and stays.
    fake.spawn(FakeProc::new(502, 501, 12, "helper").rss(7));
    j.sample(ms(10), false).unwrap();
    fake.exit(501);
    fake.reparent(502, 1);
    let s = j.sample(ms(20), false).unwrap();
    assert_eq!((s.total_rss_kib, s.processes), (107, 2));
    fake.exit(ROOT);
    j.sample(ms(30), false).unwrap();
    assert!(!j.is_live(ROOT));
    let stats = j.finish();
    assert_eq!(stats.processes_reparented, 1);
    let root = stats.processes.iter().find(|p| p.is_root).unwrap();
    assert_eq!((root.id.pid, root.first_seen), (ROOT, ms(0)));
    assert_eq!(stats.processes_total, 3);
}

#[test]
fn children_that_die_with_their_parent_were_not_reparented() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, 1, 10, "sh -c sleep 1").rss(2));
    fake.spawn(FakeProc::new(501, ROOT, 11, "sleep 1").rss(2));
    let mut j = Job::new(fake.clone(), ME, ROOT, 8);
    j.attach(seen(ROOT, 1, 10));
    j.sample(ms(0), true).unwrap();
    // Both end within one interval: the parent is read (gone) before the child.
    fake.exit(ROOT);
    fake.exit(501);
    j.sample(ms(10), false).unwrap();
    assert_eq!(j.finish().processes_reparented, 0);
}

#[test]
fn an_attached_root_that_is_gone_or_unreadable() {
    let fake = FakeInspector::default();
    let mut j = Job::new(fake.clone(), ME, ROOT, 8);
    assert_eq!(j.attach(seen(ROOT, 1, 10)), None, "already gone");
    fake.spawn(FakeProc::new(ROOT, 1, 10, "secret").denied());
    let mut j = Job::new(fake, ME, ROOT, 8);
    assert_eq!(j.attach(seen(ROOT, 1, 10)), Some(Access::Denied));
}

#[test]
fn the_split_by_program_adds_up_to_the_total_at_the_peak() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "cargo build").rss(50));
    let mut j = Job::new(fake.clone(), ME, ROOT, 8);
    j.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(201, ROOT, 11, "rustc --crate-name a").rss(300));
    fake.spawn(FakeProc::new(202, ROOT, 12, "rustc --crate-name b").rss(200));
    j.sample(ms(10), false).unwrap();
    // b execs the linker: its RSS now counts for cc.
    fake.exec(202, "cc -o app", 400);
    fake.exit(201);
    j.sample(ms(20), false).unwrap();
    let stats = j.finish();
    let g = &stats.groups;
    let by = |p: &str| g.groups.iter().find(|x| x.program == p).unwrap();
    assert_eq!(stats.max_total_rss_kib, 550);
    let at_peak: u64 = g.groups.iter().map(|x| x.rss_at_peak_kib).sum();
    assert_eq!(at_peak, 550);
    assert_eq!(by("rustc").rss_at_peak_kib, 500);
    assert_eq!(by("rustc").processes, 2);
    assert_eq!(by("cc").max_rss_kib, Some(400));
    assert_eq!(by("cc").rss_kib, [0, 0, 400]);
    assert_eq!(g.totals(), [50, 550, 450]);
}
