//! What the kernel accounted to the job once it was over (`getrusage(RUSAGE_CHILDREN)`):
//! its CPU time, checked against GNU time measuring the very same job.

use std::path::{Path, PathBuf};

use crate::util::*;

/// GNU time, which the test compares with: `None` (after saying so) when it is missing.
fn gnu_time() -> Option<PathBuf> {
    let time = Path::new("/usr/bin/time");
    if time.is_file() {
        Some(time.to_path_buf())
    } else {
        skip_or_fail("GNU time (/usr/bin/time, Debian package `time`) is not installed");
        None
    }
}

/// `a` is `b` within 5% or 20 ms, whichever is larger (GNU time prints hundredths).
#[track_caller]
fn close(what: &str, a: f64, b: f64) {
    let slack = (0.05 * b).max(0.02);
    assert!(
        (a - b).abs() <= slack,
        "{what}: memwatch says {a:.3} s, GNU time {b:.3} s (more than {slack:.3} s apart)"
    );
}

/// memwatch runs GNU time, which runs a CPU-bound job of three processes: GNU time
/// reports what it waited for (the job), memwatch what it waited for (GNU time and the
/// job), so the two agree but for GNU time's own few milliseconds.
#[test]
fn cpu_time_matches_gnu_time_on_the_same_job() {
    let Some(time) = gnu_time() else {
        return;
    };
    let _heavy = heavy();
    let dir = tempdir("usage");
    let measured = dir.join("time.txt");
    let mut job: Vec<String> = vec![
        time.display().to_string(),
        "-f".into(),
        "%U %S".into(),
        "-o".into(),
        measured.display().to_string(),
    ];
    job.extend(workload(&["--cpu-ms", "400", "--fork", "2"]));
    let f = finish(&mut run_cmd(&["--json", "-q", "-i", "50"], &job));
    f.assert_code(0);
    let r = f.report();
    let gnu = std::fs::read_to_string(&measured).unwrap();
    let user: f64 = gnu.split_whitespace().next().unwrap().parse().unwrap();
    assert!(user >= 1.2, "the job spent 3 x 400 ms in user mode: {gnu}");
    close(
        "user CPU",
        r.cpu_user_seconds.expect("cpu_user_seconds"),
        user,
    );
    assert!(f.stderr.is_empty(), "{}", f.stderr);
}
