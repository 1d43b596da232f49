//! The report builder's unit tests: fields, lower bounds and every worded finding, on jobs
//! driven by the fake inspector.

use super::*;
use crate::sys::Gaps;
use crate::sys::unix::ChildrenUsage;

fn report_of(stats: &JobStats) -> Report {
    build(
        stats,
        RunInfo {
            command: vec!["prog".to_string()],
            start_time: Timestamp::UNIX_EPOCH,
            duration: Duration::from_millis(5),
            interval: Duration::from_millis(500),
            exit: Some(Exit::Code(0)),
            interrupt_signal: None,
            left_running: Vec::new(),
        },
    )
}

const MIB: u64 = 1024;
const ME: i32 = 1;
const ROOT: i32 = 100;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fake_job() -> (
    crate::sys::fake::FakeInspector,
    crate::job::Job<crate::sys::fake::FakeInspector>,
) {
    let fake = crate::sys::fake::FakeInspector::default();
    let job = crate::job::Job::new(fake.clone(), ME, ROOT, 8);
    (fake, job)
}

#[test]
fn a_spike_in_a_child_no_sample_saw_is_put_on_the_parent_with_each_ones_figure() {
    // sh -c './spiker; sleep 0.5': the spiker came and went between samples; sh waited
    // for it and for sleep, so its kernel figure is the spiker's.
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "sh -c ./spiker; sleep 0.5").rss(MIB));
    job.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(102, ROOT, 12, "sleep 0.5").rss(1741));
    job.sample(ms(500), false).unwrap();
    fake.exit(102);
    fake.exit(ROOT);
    job.reaped(ROOT, Some(201 * MIB));
    let r = report_of(&job.finish());
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert_eq!(
        r.warnings[0],
        "pid 100 (sh -c ./spiker; sleep 0.5), or a child it waited for, reached \
         201.0 MiB according to the kernel, but samples saw at most 1.0 MiB in it and \
         1.7 MiB in its descendants (pid 102 (sleep 0.5)): a short spike or a \
         short-lived child fell between samples; try -i 50"
    );

    // No child seen at all: it, or a child no sample saw.
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(3 * MIB));
    job.sample(ms(0), true).unwrap();
    fake.exit(ROOT);
    job.reaped(ROOT, Some(250 * MIB));
    let r = report_of(&job.finish());
    assert_eq!(
        r.warnings,
        [
            "pid 100 (prog), or a child of it that no sample saw, reached 250.0 MiB \
          according to the kernel, but samples saw at most 3.0 MiB in it: a short spike \
          or a short-lived child fell between samples; try -i 50"
        ]
    );
}

#[test]
fn a_child_memwatch_reaped_itself_is_not_in_its_parents_kernel_figure() {
    // The orphan's 250 MiB is its own kernel figure, not the command's: the command's
    // 200 MiB was missed by the samples all the same.
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(2 * MIB));
    fake.spawn(FakeProc::new(102, ROOT, 12, "worker").rss(250 * MIB));
    job.sample(ms(0), true).unwrap();
    fake.exit(ROOT);
    fake.reparent(102, ME);
    job.reaped(ROOT, Some(200 * MIB));
    job.sample(ms(500), false).unwrap();
    fake.exit(102);
    job.reaped(102, Some(250 * MIB));
    let r = report_of(&job.finish());
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].starts_with("pid 100 (prog), or a child of it that no sample saw"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn the_hidepid_hook_blames_visibility_not_the_interval() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(MIB));
    job.sample(ms(0), true).unwrap();
    fake.exit(ROOT);
    job.reaped(ROOT, Some(101 * MIB));
    let r = report_of(&job.finish());
    let w: Vec<String> = findings::missed_peaks(&r, 1)
        .iter()
        .map(|f| warnings::word(&r, f))
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].ends_with(
            "memwatch could not see 1 process of the job (hidepid) and it may be one of \
             them, which a shorter interval would not change"
        ),
        "{w:?}"
    );
    assert!(!w[0].contains("-i"), "{w:?}");
}

#[test]
fn a_kernel_peak_inherited_before_exec_is_no_missed_spike() {
    // A 300 MiB program forks a child that execs `sleep` and is orphaned: the kernel's
    // figure for sleep is the copy of its parent it was before exec.
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(313 * MIB));
    job.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(102, ROOT, 12, "sleep 0.6").rss(1741));
    job.sample(ms(20), false).unwrap();
    fake.exit(ROOT);
    fake.reparent(102, ME);
    job.reaped(ROOT, Some(313 * MIB));
    job.sample(ms(40), false).unwrap();
    fake.exit(102);
    job.reaped(102, Some(310 * MIB));
    let r = report_of(&job.finish());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // Adopted before any sample saw it (its parent unknown): the processes alive at its
    // birth bound what it can have inherited.
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(313 * MIB));
    job.sample(ms(0), true).unwrap();
    fake.exit(ROOT);
    job.reaped(ROOT, Some(313 * MIB));
    fake.spawn(FakeProc::new(102, ME, 12, "sleep 0.6").rss(1741));
    job.sample(ms(500), false).unwrap();
    fake.exit(102);
    job.reaped(102, Some(310 * MIB));
    let r = report_of(&job.finish());
    assert_eq!(r.processes.iter().find(|p| p.pid == 102).unwrap().ppid, ME);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn a_spike_above_what_the_parent_held_is_still_a_missed_spike() {
    use crate::sys::fake::FakeProc;
    let scenario = |child_kernel: u64, child_command: &str| {
        let (fake, mut job) = fake_job();
        fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(100 * MIB));
        job.sample(ms(0), true).unwrap();
        fake.spawn(FakeProc::new(102, ROOT, 12, child_command).rss(2 * MIB));
        job.sample(ms(20), false).unwrap();
        fake.exit(ROOT);
        fake.reparent(102, ME);
        job.reaped(ROOT, Some(100 * MIB));
        job.sample(ms(40), false).unwrap();
        fake.exit(102);
        job.reaped(102, Some(child_kernel));
        report_of(&job.finish()).warnings
    };
    // Above the parent's 100 MiB: it used that itself, after exec.
    let w = scenario(300 * MIB, "convert big.png");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(
            "pid 102 (convert big.png), or a child of it that no sample saw, reached 300.0 MiB"
        ),
        "{w:?}"
    );
    // Not exec'd (still its parent's program): nothing was inherited across an exec.
    let w = scenario(90 * MIB, "python3 big.py");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("pid 102 (python3 big.py)"), "{w:?}");
    // Exec'd, and within what its parent held: inherited.
    assert!(scenario(90 * MIB, "sleep 1").is_empty());
}

#[test]
fn a_max_total_that_counted_a_fresh_fork_copy_says_so_and_points_to_pss() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "python3 big.py").rss(300 * MIB));
    job.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(102, ROOT, 12, "python3 big.py").rss(299 * MIB));
    job.sample(ms(10), false).unwrap();
    fake.exec(102, "sleep 0.5", 1741);
    job.sample(ms(20), false).unwrap();
    let r = report_of(&job.finish());
    assert_eq!(r.max_total_rss_kib, Some(599 * MIB));
    assert_eq!(r.max_total_rss_fork_copies_kib, Some(299 * MIB));
    let child = r.processes.iter().find(|p| p.pid == 102).unwrap();
    assert_eq!(
        (child.command.as_str(), child.peak_before_exec),
        ("sleep 0.5", true)
    );
    assert_eq!(
        r.warnings,
        [
            "the max total RSS counts 299.0 MiB twice: at that sample pid 102 (sleep 0.5) \
          was still a copy of its parent pid 100 (python3 big.py), forked and not yet \
          exec'd, and RSS counts the pages they share in each, so whether a sample falls \
          in that window changes the total from run to run; --metric pss counts shared \
          pages once"
        ]
    );

    // Reports of earlier versions, without the new fields, still read.
    let mut v = serde_json::to_value(&r).unwrap();
    v.as_object_mut()
        .unwrap()
        .remove("max_total_rss_fork_copies_kib");
    for p in v["processes"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("peak_before_exec");
    }
    let old: Report = serde_json::from_value(v).unwrap();
    assert_eq!(old.max_total_rss_fork_copies_kib, None);
    assert!(old.processes.iter().all(|p| !p.peak_before_exec));
}

#[test]
fn a_small_fork_copy_is_counted_but_not_warned_about() {
    // A shell's 1 MiB copy before it execs a command: counted, not worth a line.
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "sh -c x").rss(MIB));
    job.sample(ms(0), true).unwrap();
    fake.spawn(FakeProc::new(102, ROOT, 12, "sh -c x").rss(MIB));
    job.sample(ms(10), false).unwrap();
    fake.exec(102, "x", 900);
    job.sample(ms(20), false).unwrap();
    let r = report_of(&job.finish());
    assert_eq!(r.max_total_rss_fork_copies_kib, Some(MIB));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

fn summary(r: &Report) -> String {
    let mut out = Vec::new();
    crate::output::human::write(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_pss_total_missing_a_process_is_headlined_as_at_least() {
    // As nobody, with a setuid child: its RSS can be read, its PSS cannot.
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    job.measure_extra(Metric::Pss);
    fake.spawn(
        FakeProc::new(ROOT, ME, 10, "sh job.sh")
            .rss(50 * MIB)
            .pss(30 * MIB),
    );
    fake.spawn(FakeProc::new(102, ROOT, 12, "setuid-tool").rss(100 * MIB));
    job.sample(ms(0), true).unwrap();
    let r = report_of(&job.finish());
    assert_eq!(r.max_total_pss_kib, Some(30 * MIB));
    assert!(r.max_total_pss_is_lower_bound);
    assert!(!r.max_total_rss_is_lower_bound, "every RSS was read");
    let text = summary(&r);
    assert!(
        text.contains(
            "Max total PSS:   at least 30.0 MiB (shared pages counted once; without 1 \
             process whose PSS could not be read)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Max total RSS:   150.0 MiB (across 2 processes)\n"),
        "{text}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.ends_with("which are lower bounds"))
    );
}

#[test]
fn an_rss_total_missing_an_unreadable_process_is_headlined_as_at_least() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    job.measure_extra(Metric::Pss);
    fake.spawn(
        FakeProc::new(ROOT, ME, 10, "sudo-wrapper")
            .rss(5 * MIB)
            .pss(3 * MIB),
    );
    fake.spawn(FakeProc::new(102, ROOT, 12, "hidden").denied());
    job.sample(ms(0), true).unwrap();
    let r = report_of(&job.finish());
    assert_eq!(r.processes_unreadable, 1);
    assert!(r.max_total_rss_is_lower_bound);
    assert!(r.max_total_pss_is_lower_bound, "its PSS is missing too");
    assert!(
        !r.max_total_footprint_is_lower_bound,
        "no footprint measured"
    );
    let text = summary(&r);
    for line in [
        "Max total RSS:   at least 5.0 MiB (across 2 processes; without 1 unreadable process)\n",
        "Max per process: at least 5.0 MiB (pid 100; without 1 unreadable process)\n",
        "Max total PSS:   at least 3.0 MiB (shared pages counted once; without 1 process whose PSS could not be read)\n",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

#[test]
fn whole_totals_are_not_called_lower_bounds() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    job.measure_extra(Metric::Pss);
    fake.spawn(
        FakeProc::new(ROOT, ME, 10, "prog")
            .rss(5 * MIB)
            .pss(3 * MIB),
    );
    job.sample(ms(0), true).unwrap();
    let r = report_of(&job.finish());
    assert!(!r.max_total_rss_is_lower_bound && !r.max_total_pss_is_lower_bound);
    assert!(!summary(&r).contains("at least"));
    // Reports of earlier versions, without the fields, read as not marked.
    let mut v = serde_json::to_value(&r).unwrap();
    let o = v.as_object_mut().unwrap();
    for f in [
        "max_total_rss_is_lower_bound",
        "max_total_pss_is_lower_bound",
        "max_total_footprint_is_lower_bound",
    ] {
        assert!(o.remove(f).is_some(), "{f}");
    }
    let old: Report = serde_json::from_value(v).unwrap();
    assert!(!old.max_total_pss_is_lower_bound);
}

#[test]
fn what_memwatch_could_not_see_or_read_is_counted_and_explained() {
    use crate::sys::fake::{FakeInspector, FakeProc};
    let fake = FakeInspector::default();
    fake.spawn(FakeProc::new(100, 1, 10, "prog").rss(5));
    let mut job = crate::job::Job::new(fake, 1, 100, 8);
    job.sample(Duration::from_millis(1), true).unwrap();
    let mut stats = job.finish();
    assert!(report_of(&stats).warnings.is_empty());

    stats.gaps = Gaps {
        invisible: 1,
        fd_samples: 3,
        fd_processes: 1,
        fd_limit: Some(64),
    };
    let r = report_of(&stats);
    assert_eq!(
        (
            r.processes_invisible,
            r.fd_shortage_samples,
            r.fd_shortage_processes
        ),
        (1, 3, 1)
    );
    assert!(r.max_total_rss_is_lower_bound);
    let mut text = Vec::new();
    crate::output::human::write(&r, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains(
            "Max total RSS:   at least 5.0 KiB (across 1 process; without 1 process memwatch \
             could not see and 1 process unread for want of file descriptors)"
        ),
        "{text}"
    );
    assert_eq!(
        r.warnings,
        [
            "memwatch could not see 1 process of the job: /proc hides it from memwatch \
             (hidepid, and it runs as another user, e.g. setuid), so its memory is in no \
             total and the totals are lower bounds; run memwatch as root to see it",
            "memwatch ran out of file descriptors (open-files limit 64) at 3 samples: 1 \
             process could not be read then (unknown, not 0) and processes born then may \
             have been missed, so the totals are lower bounds; raise the limit (ulimit -n)",
        ]
    );

    stats.gaps = Gaps {
        invisible: 2,
        fd_samples: 1,
        fd_processes: 0,
        fd_limit: Some(1024),
    };
    let r = report_of(&stats);
    assert!(
        r.max_total_rss_is_lower_bound,
        "births may have been missed"
    );
    assert!(
        r.warnings[0].starts_with("memwatch could not see 2 processes of the job: /proc hides them from memwatch (hidepid, and they run as"),
        "{}",
        r.warnings[0]
    );
    assert!(
        r.warnings[1].starts_with("memwatch ran out of file descriptors (open-files limit 1024) at 1 sample: processes born then"),
        "{}",
        r.warnings[1]
    );

    // Reports written before these fields existed still read, as nothing missing.
    let mut v = serde_json::to_value(&r).unwrap();
    for k in [
        "processes_invisible",
        "fd_shortage_samples",
        "fd_shortage_processes",
    ] {
        v.as_object_mut().unwrap().remove(k);
    }
    let old: Report = serde_json::from_value(v).unwrap();
    assert_eq!(
        (
            old.processes_invisible,
            old.fd_shortage_samples,
            old.fd_shortage_processes
        ),
        (0, 0, 0)
    );
}

#[test]
fn a_process_never_sampled_is_said_to_have_exited_first_not_to_peak_at_0() {
    use crate::sys::fake::FakeInspector;
    let mut job = crate::job::Job::new(FakeInspector::default(), 1, 100, 8);
    job.set_root_command("prog", "prog");
    job.reaped(100, Some(64 * 1024));
    job.sample(Duration::from_millis(1), true).unwrap();
    let r = report_of(&job.finish());
    assert_eq!(r.max_total_rss_kib, None);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(
        w.contains("pid 100 (prog) exited before any sample saw it"),
        "{w}"
    );
    assert!(
        w.contains("64.0 MiB") && !w.contains("0 B") && !w.contains("-i"),
        "{w}"
    );
}

fn usage() -> ChildrenUsage {
    ChildrenUsage {
        cpu_user_seconds: 1.25,
        cpu_system_seconds: 0.5,
        page_faults_minor: 12_345,
        page_faults_major: 3,
        context_switches_voluntary: 120,
        context_switches_involuntary: 45,
        block_input_ops: 0,
        block_output_ops: 1024,
    }
}

#[test]
fn cpu_time_and_counts_are_known_only_at_the_end_of_the_job() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "make").rss(MIB));
    job.sample(ms(0), true).unwrap();
    // While the job runs (an interim report): unknown, and no line in the summary.
    let r = report_of(&job.stats());
    assert_eq!((r.cpu_user_seconds, r.page_faults_minor), (None, None));
    assert!(!summary(&r).contains("CPU:"), "{}", summary(&r));
    // Once it is over: what the kernel accounted to the processes memwatch waited for.
    let mut r = report_of(&job.finish());
    r.duration_seconds = 0.5;
    let r = with_usage(r, Some(usage()));
    assert_eq!(r.cpu_user_seconds, Some(1.25));
    assert_eq!(r.cpu_system_seconds, Some(0.5));
    assert_eq!(
        (
            r.page_faults_minor,
            r.page_faults_major,
            r.context_switches_voluntary,
            r.context_switches_involuntary,
            r.block_input_ops,
            r.block_output_ops
        ),
        (
            Some(12_345),
            Some(3),
            Some(120),
            Some(45),
            Some(0),
            Some(1024)
        )
    );
    assert!(!r.rusage_is_lower_bound);
    let text = summary(&r);
    assert!(
        text.contains(
            "\nCPU:             1.2 s user, 500 ms system (350% of one core on average)\n\
             Kernel counts:   page faults 12345 minor / 3 major · context switches 120 \
             voluntary / 45 involuntary · block I/O 0 in / 1024 out\n"
        ),
        "{text}"
    );
    // A report of an earlier version reads, the figures unknown.
    let mut v = serde_json::to_value(&r).unwrap();
    for k in [
        "cpu_user_seconds",
        "cpu_system_seconds",
        "page_faults_minor",
        "block_output_ops",
        "rusage_is_lower_bound",
    ] {
        v.as_object_mut().unwrap().remove(k);
    }
    let old: Report = serde_json::from_value(v).unwrap();
    assert_eq!(old.cpu_user_seconds, None);
    assert_eq!(old.page_faults_minor, None);
    assert!(!old.rusage_is_lower_bound);
}

#[test]
fn cpu_time_without_the_processes_left_running_is_a_lower_bound() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "start-server").rss(MIB));
    fake.spawn(FakeProc::new(102, ROOT, 12, "server").rss(MIB));
    job.sample(ms(0), true).unwrap();
    let stats = job.finish();
    let mut info = RunInfo {
        command: vec!["start-server".to_string()],
        start_time: Timestamp::UNIX_EPOCH,
        duration: Duration::ZERO,
        interval: Duration::from_millis(500),
        exit: Some(Exit::Code(0)),
        interrupt_signal: None,
        left_running: vec![102],
    };
    let r = with_usage(build(&stats, info), Some(usage()));
    assert!(r.rusage_is_lower_bound);
    let text = summary(&r);
    assert!(
        text.contains(
            "\nCPU:             at least 1.2 s user, 500 ms system (without the 1 process left \
             running)\nKernel counts:   at least page faults 12345 minor"
        ),
        "{text}"
    );
    let figure = crate::model::figures::by_name("cpu-user").unwrap();
    assert!((figure.partial)(&r), "compare and merge see it as partial");
    // Nor is it whole when memwatch never learned how the command ended.
    info = RunInfo {
        command: vec!["x".to_string()],
        start_time: Timestamp::UNIX_EPOCH,
        duration: Duration::ZERO,
        interval: Duration::from_millis(500),
        exit: None,
        interrupt_signal: None,
        left_running: Vec::new(),
    };
    assert!(with_usage(build(&stats, info), Some(usage())).rusage_is_lower_bound);
}

#[test]
fn the_summary_gives_the_private_total_or_says_why_there_is_none() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(
        FakeProc::new(ROOT, ME, 10, "mpirun")
            .rss(200 * MIB)
            .shared(150 * MIB),
    );
    fake.spawn(
        FakeProc::new(102, ROOT, 12, "rank")
            .rss(100 * MIB)
            .shared(90 * MIB),
    );
    job.sample(ms(0), true).unwrap();
    let r = report_of(&job.finish());
    assert_eq!(r.max_total_private_rss_kib, Some(60 * MIB));
    let rank = r.processes.iter().find(|p| p.pid == 102).unwrap();
    assert_eq!(rank.max_private_rss_kib, Some(10 * MIB));
    assert!(
        summary(&r).contains(
            "\nMax private:     60.0 MiB (the RSS without file-backed and shared pages, summed \
             at one sample)\n"
        ),
        "{}",
        summary(&r)
    );
    // On macOS: unknown, and why, never 0.
    let (fake, mut job) = fake_job();
    fake.spawn(
        FakeProc::new(ROOT, ME, 10, "app")
            .rss(MIB)
            .private_unknown(),
    );
    job.sample(ms(0), true).unwrap();
    let mut r = report_of(&job.finish());
    assert_eq!(r.max_total_private_rss_kib, None);
    r.os = "macos".to_string();
    assert!(
        summary(&r).contains("\nMax private:     unknown (macOS does not tell"),
        "{}",
        summary(&r)
    );
}

fn context(max_rss: &str, metric: Metric) -> Context {
    let mib: u64 = max_rss.strip_suffix("MiB").unwrap().parse().unwrap();
    Context {
        command: vec!["prog".to_string()],
        host: "vm".to_string(),
        launcher: BTreeMap::new(),
        start_time: Timestamp::UNIX_EPOCH,
        interval: Duration::from_millis(500),
        limits: Default::default(),
        max_rss: Some(MaxRss {
            text: max_rss.to_string(),
            kib: mib * MIB,
        }),
        metric,
    }
}

#[test]
fn max_rss_checks_the_peak_and_says_so_last() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    job.measure_extra(Metric::Pss);
    fake.spawn(
        FakeProc::new(ROOT, ME, 10, "prog")
            .rss(300 * MIB)
            .pss(100 * MIB),
    );
    job.sample(ms(0), true).unwrap();
    // While the job runs, a peak within the limit decides nothing yet.
    let r = context("512MiB", Metric::Rss).with_check(report_of(&job.stats()), true);
    let check = r.max_rss_check.unwrap();
    assert_eq!((check.exceeded, check.passed), (None, false));
    assert!(
        check.verdict.starts_with("not decided yet"),
        "{}",
        check.verdict
    );
    let stats = job.finish();
    let r = context("256MiB", Metric::Rss).with_check(report_of(&stats), false);
    let check = r.max_rss_check.as_ref().unwrap();
    assert_eq!(
        (check.metric.as_str(), check.figure.as_str()),
        ("total", "max_total_rss_kib")
    );
    assert_eq!(
        (check.value_kib, check.limit_kib),
        (Some(300 * MIB), 256 * MIB)
    );
    assert_eq!((check.exceeded, check.passed), (Some(true), false));
    assert!(
        summary(&r).ends_with(
            "\nFAIL: max total RSS 300.0 MiB is over the limit of 256.0 MiB (--max-rss 256MiB)\n"
        ),
        "{}",
        summary(&r)
    );
    // With --metric pss the PSS is the peak checked.
    let r = context("256MiB", Metric::Pss).with_check(report_of(&stats), false);
    let check = r.max_rss_check.unwrap();
    assert_eq!((check.metric.as_str(), check.passed), ("pss", true));
    assert_eq!(
        check.verdict,
        "OK: max total PSS 100.0 MiB is within the limit of 256.0 MiB (--max-rss 256MiB)"
    );
}

#[test]
fn a_lower_bound_within_max_rss_fails_it() {
    use crate::sys::fake::FakeProc;
    let (fake, mut job) = fake_job();
    fake.spawn(FakeProc::new(ROOT, ME, 10, "sudo-wrapper").rss(5 * MIB));
    fake.spawn(FakeProc::new(102, ROOT, 12, "hidden").denied());
    job.sample(ms(0), true).unwrap();
    let r = context("1024MiB", Metric::Rss).with_check(report_of(&job.finish()), false);
    let check = r.max_rss_check.unwrap();
    assert!(check.value_is_lower_bound);
    assert_eq!((check.exceeded, check.passed), (None, false));
    assert!(
        check
            .verdict
            .starts_with("FAIL: cannot confirm --max-rss 1024MiB"),
        "{}",
        check.verdict
    );
}

/// A report of a job sampled at `interval_ms`, with what the sampler achieved.
fn timed(interval_ms: u64, t: RunTiming) -> (Report, String) {
    let (fake, mut job) = fake_job();
    use crate::sys::fake::FakeProc;
    fake.spawn(FakeProc::new(ROOT, ME, 10, "prog").rss(MIB));
    job.sample(ms(0), true).unwrap();
    let mut report = report_of(&job.finish());
    report.interval_ms = interval_ms;
    report.samples = 3066;
    report.duration_seconds = 5.06;
    let report = with_timing(report, &t);
    let mut out = Vec::new();
    crate::output::human::write(&report, &mut out).unwrap();
    (report, String::from_utf8(out).unwrap())
}

fn achieved(median_ms: f64, p99_ms: f64, max_ms: f64) -> Option<super::Achieved> {
    Some(super::Achieved {
        mean_ms: median_ms,
        median_ms,
        p99_ms,
        max_ms,
    })
}

#[test]
fn an_interval_memwatch_could_not_keep_is_reported_and_blamed_on_the_process_count() {
    let (r, summary) = timed(
        1,
        RunTiming {
            achieved: achieved(1.66, 2.3, 9.1),
            missed: 1100,
            cpu_percent: Some(97.25),
            ..RunTiming::default()
        },
    );
    assert_eq!(r.interval_achieved_ms, Some(1.66));
    assert_eq!(r.interval_achieved_p99_ms, Some(2.3));
    assert_eq!(r.interval_achieved_max_ms, Some(9.1));
    assert_eq!(r.deadlines_missed, Some(1100));
    assert_eq!(r.memwatch_cpu_percent, Some(97.25));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert_eq!(
        r.warnings[0],
        "memwatch sampled every 1.7 ms, not every 1 ms as asked (on average; median 1.7 ms, \
         99th percentile 2.3 ms, 1100 deadlines missed): too many processes for the \
         interval: a sample of up to 1 process took memwatch 1.6 ms of CPU on average; use \
         a longer -i, or --cpu-budget to bound memwatch's own CPU; a peak shorter than 1.7 ms may \
         fall between samples and be missed"
    );
    assert!(
        summary.contains("Samples:         3066 (every 1 ms requested, 1.7 ms achieved)\n"),
        "{summary}"
    );
    assert!(
        summary.contains("warning: memwatch sampled every 1.7 ms"),
        "{summary}"
    );
}

#[test]
fn a_late_sampler_that_used_little_cpu_blames_a_busy_machine() {
    let (r, _) = timed(
        10,
        RunTiming {
            achieved: achieved(14.0, 30.0, 80.0),
            missed: 40,
            cpu_percent: Some(4.0),
            ..RunTiming::default()
        },
    );
    assert!(
        r.warnings[0].contains(
            "the machine was busy: memwatch used only 4% of a core but did not get the CPU in time"
        ),
        "{:?}",
        r.warnings
    );
}

#[test]
fn an_interval_kept_within_20_percent_gives_no_warning_and_the_usual_line() {
    let (r, summary) = timed(
        10,
        RunTiming {
            achieved: achieved(11.9, 15.0, 30.0),
            missed: 2,
            cpu_percent: Some(3.0),
            ..RunTiming::default()
        },
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.interval_achieved_ms, Some(11.9));
    assert!(
        summary.contains("Samples:         3066 (every 10 ms)\n"),
        "{summary}"
    );
}

#[test]
fn a_stretching_budget_is_said_in_the_summary_and_the_warning() {
    let (r, summary) = timed(
        1,
        RunTiming {
            achieved: achieved(24.0, 26.0, 40.0),
            missed: 0,
            cpu_percent: Some(4.1),
            budget_percent: Some(5.0),
            stretched_to: Some(ms(25)),
        },
    );
    assert_eq!(r.cpu_budget_percent, Some(5.0));
    assert_eq!(r.interval_stretched_max_ms, Some(25.0));
    assert!(
        summary.contains(
            "Samples:         3066 (every 1 ms requested, 24 ms achieved; --cpu-budget 5% \
             stretched it up to 25 ms)\n"
        ),
        "{summary}"
    );
    assert!(
        r.warnings[0].starts_with(
            "--cpu-budget 5% stretched the interval to as much as 25 ms: memwatch sampled \
             every 24 ms"
        ),
        "{:?}",
        r.warnings
    );
    assert!(r.warnings[0].contains("true samples"), "{:?}", r.warnings);
    // A budget that never had to stretch the interval.
    let (r, summary) = timed(
        100,
        RunTiming {
            achieved: achieved(100.0, 101.0, 102.0),
            budget_percent: Some(5.0),
            ..RunTiming::default()
        },
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        summary.contains("(every 100 ms; within --cpu-budget 5%)"),
        "{summary}"
    );
}
