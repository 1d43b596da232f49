//! Private memory: each process's RSS without its file-backed and shared pages, from the
//! same `statm` read as its RSS. A mapping several processes share counts in every RSS
//! and in no private figure.

use crate::util::*;

#[test]
fn a_shared_mapping_counts_in_every_rss_and_in_no_private_total() {
    // A parent and three children share one 120 MiB mapping; each touches 20 MiB of its
    // own.
    let _heavy = heavy();
    let dir = tempdir("private");
    let csv = dir.join("csv");
    let f = finish(&mut run_cmd(
        &["--json", "-q", "-i", "20", "--csv", csv.to_str().unwrap()],
        &workload(&[
            "--shared-mib",
            "120",
            "--fork",
            "3",
            "--mib",
            "20",
            "--hold-ms",
            "1500",
        ]),
    ));
    f.assert_code(0);
    let r = f.report();
    let rss = r.max_total_rss_kib.unwrap();
    let private = r
        .max_total_private_rss_kib
        .expect("max_total_private_rss_kib");
    assert!(
        rss >= 4 * (120 + 20) * MIB,
        "the RSS total {rss} KiB counts the mapping in each of the 4 processes"
    );
    // 4 x 20 MiB of their own, plus what each memwatch workload process holds itself (its
    // heap and stacks: about a MiB), and not even one copy of the 120 MiB.
    assert!(
        private >= 4 * 20 * MIB,
        "the private total {private} KiB lost the processes' own memory"
    );
    assert!(
        private < 4 * 20 * MIB + 24 * MIB,
        "the private total {private} KiB counts the shared mapping"
    );
    assert!(!r.max_total_rss_is_lower_bound);
    let workers: Vec<_> = r.processes.iter().collect();
    assert_eq!(workers.len(), 4, "{:#?}", r.processes);
    for p in &workers {
        let own = p.max_private_rss_kib.expect("max_private_rss_kib");
        assert!(
            (20 * MIB..30 * MIB).contains(&own),
            "pid {}: private {own} KiB is not its 20 MiB",
            p.pid
        );
        assert!(p.max_rss_kib.unwrap() >= (120 + 20) * MIB, "pid {}", p.pid);
    }
    // process_peaks.csv has the same figure, in a column after the earlier ones.
    let peaks = std::fs::read_to_string(csv.join("process_peaks.csv")).unwrap();
    let mut rows = peaks.split("\r\n").filter(|l| !l.is_empty());
    assert!(
        rows.next()
            .unwrap()
            .ends_with(",root,command,max_private_rss_kib")
    );
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        let pid: i32 = fields[0].parse().unwrap();
        let p = r.processes.iter().find(|p| p.pid == pid).unwrap();
        assert_eq!(
            fields.last().unwrap().parse::<u64>().ok(),
            p.max_private_rss_kib,
            "{row}"
        );
    }
}

#[test]
fn the_summary_gives_the_private_total() {
    let f = finish(&mut run_cmd(
        &["-i", "20"],
        &workload(&["--mib", "24", "--hold-ms", "300"]),
    ));
    f.assert_code(0);
    let line = f
        .stderr
        .lines()
        .find(|l| l.starts_with("Max private:     "))
        .unwrap_or_else(|| panic!("no private line:\n{}", f.stderr));
    assert!(
        line.ends_with("(the RSS without file-backed and shared pages, summed at one sample)"),
        "{line}"
    );
}
