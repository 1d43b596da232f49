//! Adoption, driven by the fake inspector: who is adopted, when the backend is asked, and
//! what the job's figures say about it.

use std::time::Duration;

use super::*;
use crate::sys::fake::{FakeInspector, FakeProc};

const ME: Pid = 100;
const ROOT: Pid = 101;
const STEPD: Pid = 50;
const MARK: &str = "100.123";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn job(fake: &FakeInspector) -> Job<FakeInspector> {
    let mut j = Job::new(fake.clone(), ME, ROOT, 8);
    j.adopt_marked(MARK);
    j
}

fn record(j: &Job<FakeInspector>, pid: Pid) -> Option<&crate::job::ProcRecord> {
    j.live_index.get(&pid).map(|&i| &j.live[i].rec)
}

#[test]
fn launchers_are_known_by_their_program() {
    assert!(is_launcher("srun -n 2 ./app"));
    assert!(is_launcher("/usr/bin/sbatch --wait job.sh"));
    assert!(is_launcher("salloc"));
    assert!(!is_launcher("./srun-wrapper -n 2"));
    assert!(!is_launcher("sh -c srun -n 2"));
    assert!(!is_launcher(""));
}

/// srun's task carrying this run's mark is adopted with its step, its child joins by the
/// ordinary rule and inherits the step; another run's task, and a stranger, are not.
#[test]
fn the_marked_tasks_of_a_launcher_are_adopted_with_their_step() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "srun -n 2 ./app").rss(9000));
    fake.spawn(FakeProc::new(STEPD, 1, 11, "slurmstepd: [7.0]").rss(5000));
    fake.spawn(
        FakeProc::new(60, STEPD, 12, "./app")
            .rss(64000)
            .task("7.0", Some(MARK), Some(1)),
    );
    fake.spawn(
        FakeProc::new(61, STEPD, 12, "./app")
            .rss(1)
            .task("8.0", Some("99.1"), Some(1)),
    );
    fake.spawn(FakeProc::new(62, 60, 13, "./app --helper").rss(1000));
    // Linked to the job by its group alone (its parent gone): adopted with its leader.
    fake.spawn(FakeProc::new(63, 1, 13, "./app --orphan").rss(0).pgid(60));
    fake.spawn(FakeProc::new(70, 1, 14, "cron").rss(777));
    let mut j = job(&fake);
    let s = j.sample(ms(0), true).unwrap();
    assert_eq!((s.processes, s.total_rss_kib), (4, 9000 + 64000 + 1000));
    assert_eq!(record(&j, 60).unwrap().adopted_step.as_deref(), Some("7.0"));
    assert_eq!(record(&j, 62).unwrap().adopted_step.as_deref(), Some("7.0"));
    assert_eq!(record(&j, 63).unwrap().adopted_step.as_deref(), Some("7.0"));
    assert_eq!(record(&j, ROOT).unwrap().adopted_step, None);
    assert!(record(&j, 61).is_none() && record(&j, 70).is_none() && record(&j, STEPD).is_none());
    // The others are asked about once each, not at every sample.
    let asked = fake.launched_calls.get();
    j.sample(ms(10), false).unwrap();
    j.sample(ms(20), false).unwrap();
    assert_eq!(
        fake.launched_calls.get(),
        asked + 2 * 2,
        "stepd and cron, each sample"
    );
    fake.exit(60);
    fake.exit(62);
    fake.exit(63);
    fake.exit(ROOT);
    j.sample(ms(30), true).unwrap();
    let stats = j.finish();
    assert_eq!(stats.launcher, Some(ROOT));
    assert_eq!((stats.adopted, stats.adopted_nodes), (1, Some(1)));
    assert_eq!(stats.max_total_rss_kib, 74000);
}

/// A job without a launcher never asks the backend, and a job stops asking once its
/// launcher has exited.
#[test]
fn only_a_running_launcher_makes_memwatch_ask() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "make -j8").rss(100));
    fake.spawn(FakeProc::new(60, STEPD, 12, "./app").task("7.0", Some(MARK), None));
    let mut j = job(&fake);
    for t in 0..5 {
        j.sample(ms(t * 10), t == 0).unwrap();
    }
    assert_eq!((fake.launched_calls.get(), fake.searches.get()), (0, 0));
    assert!(record(&j, 60).is_none());
    assert_eq!(j.finish().launcher, None);

    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "sh -c srun ./app; sleep 9").rss(100));
    fake.spawn(FakeProc::new(102, ROOT, 11, "srun ./app").rss(100));
    let mut j = job(&fake);
    j.sample(ms(0), true).unwrap();
    assert_eq!(fake.searches.get(), 1, "a complete search while srun runs");
    fake.exit(102);
    j.sample(ms(10), true).unwrap();
    let asked = (fake.launched_calls.get(), fake.searches.get());
    fake.spawn(FakeProc::new(60, STEPD, 12, "./app").task("7.0", Some(MARK), None));
    j.sample(ms(20), true).unwrap();
    assert_eq!((fake.launched_calls.get(), fake.searches.get()), asked);
    assert!(
        record(&j, 60).is_none(),
        "a task born after srun exited is not srun's"
    );
    let stats = j.finish();
    assert_eq!((stats.launcher, stats.adopted), (Some(102), 0));
}

/// The root is first seen as a copy of memwatch, and becomes srun by its exec: from then
/// on it is a launcher.
#[test]
fn a_root_that_execs_srun_becomes_a_launcher() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "memwatch run -- srun ./app").rss(3000));
    let mut j = job(&fake);
    j.sample(ms(0), true).unwrap();
    assert!(!j.adoption.active());
    fake.exec(ROOT, "srun ./app", 9000);
    j.sample(ms(10), false).unwrap();
    assert!(j.adoption.active());
    fake.spawn(
        FakeProc::new(60, STEPD, 12, "./app")
            .rss(500)
            .task("3.0", Some(MARK), None),
    );
    j.sample(ms(20), false).unwrap();
    assert_eq!(record(&j, 60).unwrap().adopted_step.as_deref(), Some("3.0"));
}

/// A task caught between its daemon's fork and its exec is asked about again, at every
/// sample for a second, then only at complete searches, and adopted once it runs.
#[test]
fn a_task_not_run_yet_is_asked_about_again() {
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "srun ./app").rss(100));
    fake.spawn(FakeProc::new(60, STEPD, 12, "slurmstepd: [4.0]").task_not_yet());
    let mut j = job(&fake);
    j.sample(ms(0), true).unwrap();
    j.sample(ms(10), false).unwrap();
    assert!(record(&j, 60).is_none());
    fake.task_runs(60, "4.0", Some(MARK));
    j.sample(ms(20), false).unwrap();
    assert_eq!(record(&j, 60).unwrap().adopted_step.as_deref(), Some("4.0"));
    assert_eq!(j.adoption.roots, [60]);
    fake.exit(60);
    j.sample(ms(30), false).unwrap();
    assert!(
        j.adoption.roots.is_empty(),
        "a gone task is no root to search under"
    );
}
