//! Honest numbers: the kernel's high-water marks against the sampled peaks.

use crate::util::*;

/// KiB as memwatch words sizes (IEC, one decimal: `512.0 KiB`, `1.5 MiB`), written here as
/// the test's own reference rather than borrowed from the renderer under test.
fn iec(kib: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = kib as f64;
    let mut unit = 0;
    // A unit up before rounding could print "1024.0".
    while value >= 1023.95 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Run `job` at -i 1000 until a run where no sample caught the spike (a sample can land on
/// it on a slow machine); every run must warn exactly when the samples missed the kernel's
/// peak. Returns that run's report and stderr.
fn missed_spike(job: &[String], opts: &[&str]) -> (memwatch::model::Report, String) {
    for _ in 0..3 {
        let mut o = vec!["-i", "1000", "--json"];
        o.extend_from_slice(opts);
        let f = finish(&mut run_cmd(&o, job));
        f.assert_code(0);
        let r = f.report();
        let root = r.processes.iter().find(|p| p.root).expect("the command");
        let kernel = root.kernel_max_rss_kib.expect("kernel peak of the command");
        assert!(kernel >= 250 * MIB, "kernel peak {kernel} KiB");
        let sampled = r.processes.iter().filter_map(|p| p.max_rss_kib).max();
        let missed = (sampled.unwrap_or(0) as f64) < 0.9 * kernel as f64;
        assert_eq!(
            r.warnings.len(),
            usize::from(missed),
            "sampled {sampled:?} KiB, kernel {kernel} KiB: {:?}",
            r.warnings
        );
        if missed {
            return (r, f.stderr);
        }
    }
    panic!("three runs at -i 1000 all sampled a 50 ms spike");
}

#[test]
fn a_spike_between_samples_is_reported() {
    let _g = heavy();
    // The command touches 250 MiB for 50 ms and frees it; at -i 1000 no sample sees it.
    let job = workload(&["--mib", "250", "--spike-ms", "50", "--hold-ms", "100"]);
    let (r, stderr) = missed_spike(&job, &[]);
    let root = r.processes.iter().find(|p| p.root).unwrap();
    let w = &r.warnings[0];
    // Its command line, or its name when the only sample that saw it caught it mid-exec.
    assert!(
        w.starts_with(&format!("pid {} (", root.pid)) && w.contains("memwatch"),
        "names the process: {w}"
    );
    assert!(w.contains("according to the kernel"), "{w}");
    assert!(w.contains("try -i 100"), "suggests an interval: {w}");
    assert!(
        stderr.contains(&format!("warning: {w}")),
        "on stderr too: {stderr}"
    );

    // A child that spikes is covered by the kernel figure of the parent that reaped it.
    let job = workload(&[
        "--fork",
        "1",
        "--parent-mib",
        "0",
        "--mib",
        "250",
        "--spike-ms",
        "50",
        "--hold-ms",
        "100",
    ]);
    let (r, stderr) = missed_spike(&job, &["-q"]);
    let root = r.processes.iter().find(|p| p.root).unwrap();
    assert!(r.warnings[0].starts_with(&format!("pid {} (", root.pid)));
    assert!(
        stderr.contains(&format!("memwatch: warning: {}", r.warnings[0])),
        "with --quiet the warning is still printed: {stderr}"
    );
}

#[test]
fn a_steady_process_gives_no_warning() {
    let _g = heavy();
    let job = workload(&["--mib", "100", "--hold-ms", "800"]);
    let f = finish(&mut run_cmd(&["-i", "50", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    let root = r.processes.iter().find(|p| p.root).unwrap();
    let kernel = root.kernel_max_rss_kib.expect("kernel peak");
    let sampled = root.max_rss_kib.unwrap();
    assert!(sampled >= 100 * MIB, "{root:?}");
    assert!(
        sampled as f64 >= 0.9 * kernel as f64,
        "sampled {sampled} KiB vs kernel {kernel} KiB"
    );
    assert!(
        past_interval_warnings(&r.warnings).is_empty(),
        "{:?}",
        r.warnings
    );
    assert!(!f.stderr.contains("warning"), "{}", f.stderr);
}

#[test]
fn total_matches_the_sum_of_kernel_peaks() {
    let _g = heavy();
    // Four independent processes, orphaned at once so memwatch (the subreaper) reaps each
    // and learns each one's kernel peak.
    let script = "for i in 1 2 3 4; do \"$0\" __workload --mib 64 --hold-ms 1000 & done";
    let f = finish(&mut run_cmd(
        &["-i", "10", "--json"],
        &["sh", "-c", script, BIN],
    ));
    f.assert_code(0);
    let r = f.report();
    let workers: Vec<_> = r
        .processes
        .iter()
        .filter(|p| p.command.starts_with(&format!("{BIN} __workload --mib 64")))
        .collect();
    assert_eq!(workers.len(), 4, "{:#?}", r.processes);
    let kernel_sum: u64 = workers
        .iter()
        .map(|p| {
            p.kernel_max_rss_kib
                .unwrap_or_else(|| panic!("no kernel peak: {p:?}"))
        })
        .sum();
    let total = r.max_total_rss_kib.unwrap();
    let error = (total as f64 - kernel_sum as f64).abs() / kernel_sum as f64;
    assert!(
        error <= 0.03,
        "total {total} KiB vs the kernel's {kernel_sum} KiB: {:.1}% off",
        error * 100.0
    );
    assert!(
        past_interval_warnings(&r.warnings).is_empty(),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_spike_in_a_child_no_sample_saw_names_the_parent_and_each_ones_figure() {
    let _g = heavy();
    // sh runs a 200 MiB spiker, then sleep, at -i 500: the spiker comes and goes between
    // samples, and sh's kernel figure (it waited for both) is the spiker's.
    let script = "\"$0\" __workload --mib 200; sleep 0.5";
    for _ in 0..3 {
        let f = finish(&mut run_cmd(
            &["-i", "500", "--json"],
            &["sh", "-c", script, BIN],
        ));
        f.assert_code(0);
        let r = f.report();
        let sh = r.processes.iter().find(|p| p.root).expect("the command");
        let kernel = sh.kernel_max_rss_kib.expect("kernel peak of sh");
        assert!(kernel >= 200 * MIB, "kernel peak {kernel} KiB");
        let kids: Vec<_> = r
            .processes
            .iter()
            .filter(|p| !p.root && p.ppid == sh.pid)
            .collect();
        let largest = kids
            .iter()
            .max_by_key(|p| p.max_rss_kib)
            .expect("sleep was seen");
        if largest.max_rss_kib.unwrap_or(0) as f64 >= 0.9 * kernel as f64 {
            continue; // a sample caught the spiker
        }
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        let w = &r.warnings[0];
        assert!(
            w.starts_with(&format!("pid {} (sh -c ", sh.pid)),
            "names the shell: {w}"
        );
        assert!(w.contains(", or a child it waited for, reached "), "{w}");
        // Each figure is said of the process it belongs to.
        let expected = format!(
            "but samples saw at most {} in it and {} in its descendants (pid {} (",
            iec(sh.max_rss_kib.expect("sh was measured")),
            iec(largest.max_rss_kib.unwrap()),
            largest.pid
        );
        assert!(w.contains(&expected), "{w}\nexpected: {expected}");
        assert!(w.ends_with("try -i 50"), "{w}");
        return;
    }
    panic!("three runs at -i 500 all sampled a 200 MiB spike");
}

#[test]
fn a_kernel_peak_inherited_before_exec_is_no_missed_spike() {
    let _g = heavy();
    // A 300 MiB process forks a child that execs sleep and is orphaned; memwatch reaps it.
    // Its ru_maxrss counts the 300 MiB it shared with its parent before the exec.
    //   1. Seen while its parent lived (its parent known).
    //   2. Found only after its parent exited (adopted: its parent unknown).
    let cases: [(&str, &str, bool); 2] = [("20", "300", true), ("1000", "0", false)];
    for (interval, hold, parent_known) in cases {
        let job = workload(&[
            "--mib",
            "300",
            "--fork-exec",
            "sleep 0.6",
            "--hold-ms",
            hold,
            "--orphan",
        ]);
        let mut checked = false;
        for _ in 0..3 {
            let f = finish(&mut run_cmd(&["-i", interval, "--json"], &job));
            f.assert_code(0);
            let r = f.report();
            let root = r.processes.iter().find(|p| p.root).expect("the command");
            // The only process besides the command that memwatch reaps (its command line may
            // be `[sleep]` when the only sample that saw it caught it mid-exec).
            let sleep = r
                .processes
                .iter()
                .find(|p| !p.root && p.kernel_max_rss_kib.is_some())
                .unwrap_or_else(|| panic!("sleep was seen: {:#?}", r.processes));
            let kernel = sleep.kernel_max_rss_kib.expect("memwatch reaped sleep");
            assert!(
                kernel >= 250 * MIB,
                "the kernel counts the copy before exec: {kernel} KiB"
            );
            if sleep.max_rss_kib.unwrap_or(0) >= 100 * MIB
                || (sleep.ppid == root.pid) != parent_known
            {
                continue; // sampled in its fork window, or not the case wanted
            }
            assert!(
                !r.warnings
                    .iter()
                    .any(|w| w.contains(&format!("pid {} (", sleep.pid))),
                "-i {interval}: {:?}",
                r.warnings
            );
            if parent_known {
                assert!(
                    past_interval_warnings(&r.warnings).is_empty(),
                    "{:?}",
                    r.warnings
                );
                assert!(!f.stderr.contains("warning"), "{}", f.stderr);
            }
            checked = true;
            break;
        }
        assert!(checked, "-i {interval}: three runs missed the case");
    }
}

#[test]
fn a_child_sampled_between_fork_and_exec_is_named_by_what_it_became_and_the_double_count_said() {
    let _g = heavy();
    // A 300 MiB process forks a child that stays a copy of it for 150 ms, then execs sleep:
    // at -i 10 samples land in that window and count the parent's pages in both.
    let job = workload(&[
        "--mib",
        "300",
        "--fork-exec",
        "sleep 0.5",
        "--exec-delay-ms",
        "150",
        "--hold-ms",
        "800",
    ]);
    let f = finish(&mut run_cmd(&["-i", "10", "--json"], &job));
    f.assert_code(0);
    let r = f.report();
    let root = r.processes.iter().find(|p| p.root).expect("the command");
    let child = r
        .processes
        .iter()
        .find(|p| !p.root && p.ppid == root.pid)
        .unwrap_or_else(|| panic!("the child was seen: {:#?}", r.processes));
    assert_eq!(child.command, "sleep 0.5", "named by what it became");
    assert!(child.peak_before_exec, "{child:?}");
    assert!(child.max_rss_kib.unwrap() >= 250 * MIB, "{child:?}");
    let copies = r.max_total_rss_fork_copies_kib.expect("a max total");
    assert!(copies >= 250 * MIB, "{copies} KiB");
    assert!(r.max_total_rss_kib.unwrap() >= 500 * MIB, "counted twice");
    let w = r
        .warnings
        .iter()
        .find(|w| w.contains("--metric pss"))
        .unwrap_or_else(|| panic!("{:?}", r.warnings));
    assert!(
        w.starts_with("the max total RSS counts ")
            && w.contains(&format!(
                "pid {} (sleep 0.5) was still a copy of its parent pid {} (",
                child.pid, root.pid
            )),
        "{w}"
    );
    assert!(f.stderr.contains(&format!("warning: {w}")), "{}", f.stderr);
    assert!(
        f.stderr.contains(&format!(
            "sleep 0.5  (before its exec, as a copy of pid {})",
            root.pid
        )),
        "{}",
        f.stderr
    );

    // The advice holds: PSS counts the shared pages once (its rounds are spaced out, so the
    // largest one may fall before the 300 MiB are all touched: only an upper bound is sure).
    let f = finish(&mut run_cmd(
        &["-i", "10", "--json", "--metric", "pss"],
        &job,
    ));
    f.assert_code(0);
    let r = f.report();
    let pss = r.max_total_pss_kib.expect("max_total_pss_kib");
    assert!(
        pss < 400 * MIB,
        "PSS {pss} KiB counts the parent's pages once"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.ends_with("; the max total PSS counts shared pages once")),
        "{:?}",
        r.warnings
    );
}
