//! The outputs beside the report: `--timeline` (streamed), `--csv`, `--plot`, and the
//! placeholders of output paths.

use std::time::Duration;

use crate::util::*;

fn csv_rows(text: &str) -> Vec<&str> {
    text.split("\r\n").filter(|l| !l.is_empty()).collect()
}

#[test]
fn timeline_streams_every_sample() {
    let dir = tempdir("timeline");
    let tl = dir.join("tl.csv");
    let f = finish(&mut run_cmd(
        &[
            "--json",
            "-q",
            "-i",
            "20",
            "--timeline",
            tl.to_str().unwrap(),
        ],
        &workload(&["--mib", "32", "--hold-ms", "400"]),
    ));
    f.assert_code(0);
    let r = f.report();
    let text = std::fs::read_to_string(&tl).unwrap();
    let rows = csv_rows(&text);
    assert_eq!(rows[0], "t_ms,total_rss_kib,processes");
    // Every sample, not the bounded timeline.
    assert_eq!(rows.len() as u64 - 1, r.samples, "{text}");
    let max = rows[1..]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert_eq!(Some(max), r.max_total_rss_kib);
}

#[test]
fn timeline_survives_memwatch_killed() {
    let dir = tempdir("timeline-kill");
    let tl = dir.join("tl.csv");
    let tok = token("tlkill");
    let _job = KillOnDrop(tok.clone());
    let mut cmd = run_cmd(
        &["-q", "-i", "20", "--timeline", tl.to_str().unwrap()],
        &workload(&["--print", &tok, "--mib", "8", "--hold-ms", "30000"]),
    );
    let running = spawn(&mut cmd);
    // The samples of the first seconds reach the file while memwatch runs (one flush a
    // second), long before its 16 KiB buffer could fill: more than 50 rows in less than
    // 8 KiB. Then memwatch is killed.
    let flushed = poll(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&tl).unwrap_or_default();
        if csv_rows(&text).len() > 50 {
            Ok(text.len())
        } else {
            Err(format!("{} rows flushed:\n{text}", csv_rows(&text).len()))
        }
    });
    assert!(
        flushed < 8192,
        "{flushed} bytes before 50 rows were seen: not flushed every second"
    );
    send(running.pid(), libc::SIGKILL);
    let _ = running.wait();
    let text = std::fs::read_to_string(&tl).unwrap();
    let rows = csv_rows(&text);
    // At least the samples of the first two seconds were flushed (one flush a second).
    assert!(rows.len() > 50, "only {} rows:\n{text}", rows.len());
    assert!(rows[1..].iter().all(|r| r.split(',').count() == 3));
}

#[test]
fn csv_directory_has_both_files_quoted() {
    let dir = tempdir("csv");
    let out = dir.join("out/sub");
    let f = finish(&mut run_cmd(
        &["--json", "-q", "-i", "20", "--csv", out.to_str().unwrap()],
        &["sh", "-c", "sleep 0.3; echo \"a, \\\"b\\\"\" > /dev/null"],
    ));
    f.assert_code(0);
    let r = f.report();
    let peaks = std::fs::read_to_string(out.join("process_peaks.csv")).unwrap();
    let rows = csv_rows(&peaks);
    assert!(rows[0].starts_with("pid,ppid,start_time,first_seen,last_seen,"));
    assert_eq!(rows.len() - 1, r.processes.len());
    // The root's command has a comma and quotes: one quoted field, quotes doubled.
    assert!(
        peaks.contains("\"sh -c sleep 0.3; echo \"\"a, \\\"\"b\\\"\"\"\" > /dev/null\""),
        "{peaks}"
    );
    let timeline = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    assert_eq!(csv_rows(&timeline).len() - 1, r.timeline.len());
}

#[test]
fn plot_is_written_next_to_the_report() {
    let dir = tempdir("plot");
    let svg = dir.join("mem.svg");
    let f = finish(&mut run_cmd(
        &["-q", "-i", "20", "--plot", svg.to_str().unwrap()],
        &workload(&["--mib", "16", "--hold-ms", "300"]),
    ));
    f.assert_code(0);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<?xml") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains("peak"), "no peak marker");
}

#[test]
fn unwritable_side_outputs_fail_before_the_command_runs() {
    let dir = tempdir("side-out");
    let marker = dir.join("ran");
    for flag in ["--plot", "--timeline", "--csv"] {
        let f = finish(&mut run_cmd(
            &[flag, "/proc/memwatch-nope/x"],
            &["touch", marker.to_str().unwrap()],
        ));
        f.assert_code(125);
        assert!(
            f.stderr.contains("/proc/memwatch-nope"),
            "{flag}: {}",
            f.stderr
        );
        assert_eq!(lines(&f.stderr).len(), 1, "{flag}: {}", f.stderr);
        assert!(!marker.exists(), "{flag}: the command ran");
    }
}

#[test]
fn placeholders_expand_from_the_launcher() {
    let dir = tempdir("placeholders");
    let template = dir.join("mem-%h-%r-%%.json");
    let f = finish(
        run_cmd(&["-q", "-o", template.to_str().unwrap()], &["true"])
            .env("OMPI_COMM_WORLD_RANK", "3")
            .env_remove("SLURM_PROCID")
            .env_remove("PMI_RANK"),
    );
    f.assert_code(0);
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let written = dir.join(format!("mem-{host}-3-%.json"));
    let r = read_report(&written);
    assert_eq!(
        r.launcher.get("OMPI_COMM_WORLD_RANK").map(String::as_str),
        Some("3")
    );
    assert_eq!(r.hostname, host);

    // A rank that is not there: an error naming it, nothing run.
    let f = finish(
        run_cmd(&["-o", template.to_str().unwrap()], &["true"])
            .env_remove("OMPI_COMM_WORLD_RANK")
            .env_remove("SLURM_PROCID")
            .env_remove("PMI_RANK"),
    );
    f.assert_code(125);
    assert!(f.stderr.contains("%r needs a rank"), "{}", f.stderr);

    // An empty rank is no rank: the same error, not a `mem-host--%.json` that every node
    // would share.
    let f = finish(
        run_cmd(&["-o", template.to_str().unwrap()], &["true"])
            .env("SLURM_PROCID", "")
            .env_remove("OMPI_COMM_WORLD_RANK")
            .env_remove("PMI_RANK"),
    );
    f.assert_code(125);
    assert!(f.stderr.contains("%r needs a rank"), "{}", f.stderr);
    assert_eq!(lines(&f.stderr).len(), 1, "{}", f.stderr);
}
