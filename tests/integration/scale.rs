//! At scale, the light part: bad `--cpu-budget` values refused before the job starts, and
//! a run that keeps its interval reporting it without a warning. The runs that load the
//! machine (a starved memwatch, `--cpu-budget` over 1000 processes, 10 000 live
//! processes) are `tests/scale.rs`, a binary of its own.

use crate::util::*;

#[test]
fn bad_cpu_budgets_are_usage_errors_before_the_job_starts() {
    let dir = tempdir("budget-bad");
    let marker = dir.join("marker");
    for (bad, says) in [
        ("0", "the budget must be above 0"),
        ("0%", "the budget must be above 0"),
        ("150%", "'150%' is more than one core"),
        ("abc", "'abc' is not a percentage"),
        ("5", "'5' is not a percentage"),
        ("-5%", "'-5%' is not a percentage"),
        ("", "'' is not a percentage"),
    ] {
        let job = [
            "sh",
            "-c",
            "touch \"$0\"",
            marker.to_str().expect("utf-8 path"),
        ];
        let f = finish(&mut run_cmd(&["--cpu-budget", bad], &job));
        f.assert_code(125);
        assert_eq!(f.stderr.lines().count(), 1, "{bad:?}: {}", f.stderr);
        assert!(
            f.stderr.starts_with(&format!(
                "memwatch: invalid value '{bad}' for '--cpu-budget <PCT>': "
            )),
            "{bad:?}: {}",
            f.stderr
        );
        assert!(f.stderr.contains(says), "{bad:?}: {}", f.stderr);
        assert!(
            !marker.exists(),
            "the command ran despite --cpu-budget {bad:?}"
        );
    }
}

#[test]
fn a_run_that_keeps_its_interval_does_not_warn() {
    let f = finish(&mut run_cmd(
        &["--json", "-i", "100"],
        &workload(&["--fork", "4", "--hold-ms", "1500"]),
    ));
    f.assert_code(0);
    let r = f.report();
    let median = r.interval_achieved_ms.expect("interval_achieved_ms");
    let mean = r
        .interval_achieved_mean_ms
        .expect("interval_achieved_mean_ms");
    assert!((80.0..=120.0).contains(&median), "median {median} ms");
    assert!((80.0..=120.0).contains(&mean), "mean {mean} ms");
    assert!(r.interval_achieved_p99_ms.is_some() && r.interval_achieved_max_ms.is_some());
    assert!(r.deadlines_missed.is_some());
    let cpu = r.memwatch_cpu_percent.expect("memwatch_cpu_percent");
    assert!(cpu < 50.0, "memwatch used {cpu}% of a core at -i 100");
    assert!(
        !r.warnings.iter().any(|w| w.contains("sampled every")),
        "{:?}",
        r.warnings
    );
    assert!(
        f.stderr.contains("(every 100 ms)\n") && !f.stderr.contains("achieved"),
        "{}",
        f.stderr
    );
}
