//! Every row of the exit-status table (`memwatch --help`, the manual, the README), made to
//! happen end to end by the real binary, and the table the same in all three.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::util::*;

/// memwatch with `args`: its exit code and standard error.
fn code_of(args: &[&str]) -> (i32, String) {
    let o = memwatch_output(args);
    (o.status.code().expect("no signal"), text(&o.stderr))
}

/// A report of a job that touched `mib` MiB, written to `dir/name`.
fn report(dir: &TempDir, name: &str, mib: u64) -> String {
    let path = dir.join(name);
    let p = path.to_str().unwrap().to_string();
    let mib = mib.to_string();
    let f = finish(&mut run_cmd(
        &["-q", "-i", "10ms", "-o", &p],
        &workload(&["--mib", &mib, "--hold-ms", "200"]),
    ));
    f.assert_code(0);
    p
}

#[test]
fn every_row_of_the_exit_table_happens() {
    let dir = tempdir("exit-table");
    let small = report(&dir, "small.json", 8);
    let big = report(&dir, "big.json", 48);
    let missing = dir.join("missing.json");
    let missing = missing.to_str().unwrap();
    let no_dir = dir.join("no/such/dir/x.json");
    let no_dir = no_dir.to_str().unwrap();
    let text_file = dir.join("not-executable");
    fs::write(&text_file, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&text_file, fs::Permissions::from_mode(0o644)).unwrap();
    let text_file = text_file.to_str().unwrap();
    let bin = BIN.to_string();
    let w = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["run".to_string(), "-q".to_string(), "--".to_string()];
        v.extend(workload(args));
        v
    };
    let cases: Vec<(i32, Vec<String>, &str)> = vec![
        (0, w(&[]), ""),
        (
            0,
            s(&["compare", &small, &small, "--max-increase", "20%"]),
            "",
        ),
        (0, s(&["merge", &small]), ""),
        (0, s(&["plot", &small]), ""),
        (
            1,
            s(&["compare", &small, &big, "--max-increase", "20%"]),
            "",
        ),
        (1, s(&["compare", "--max-rss", "16MiB", &big]), ""),
        (2, s(&["compare", &small, missing]), "missing.json"),
        (2, s(&["merge", &small, missing]), "missing.json"),
        (2, s(&["plot", missing]), "missing.json"),
        (
            2,
            s(&["export", missing, "--to", "markdown"]),
            "missing.json",
        ),
        (
            3,
            s(&[
                "run",
                "-q",
                "-i",
                "10ms",
                "--max-rss",
                "4MiB",
                "--",
                &bin,
                "__workload",
                "--mib",
                "16",
                "--hold-ms",
                "300",
            ]),
            "--max-rss 4MiB",
        ),
        (125, s(&[]), "no subcommand given: usage: memwatch <run|"),
        (125, s(&["rnu"]), "unrecognized subcommand 'rnu'"),
        (125, s(&["completions", "foo"]), "invalid value 'foo'"),
        (125, s(&["man", "extra"]), "unexpected argument 'extra'"),
        (
            125,
            s(&["run", "--jsn", "--", "true"]),
            "the command was not run",
        ),
        (
            125,
            s(&["run", "-i", "0", "--", "true"]),
            "the command was not run",
        ),
        (
            125,
            s(&["run", "-o", no_dir, "--", "true"]),
            "the command was not run",
        ),
        (125, s(&["compare", &small]), "at least two reports"),
        (
            125,
            s(&["compare", &small, &big, "--metric", "bogus"]),
            "invalid value 'bogus'",
        ),
        (125, s(&["merge"]), "<REPORT>"),
        (
            125,
            s(&["export", &small, "--to", "csv"]),
            "invalid value 'csv'",
        ),
        (
            125,
            s(&["attach", "999999999"]),
            "cannot attach to pid 999999999",
        ),
        (125, s(&["merge", "--top", "x", &small]), "--top"),
        (
            125,
            s(&["plot", &small, "--label", "a", "--label", "b"]),
            "one per report",
        ),
        (
            125,
            s(&["merge", &small, "-o", no_dir]),
            "cannot write merged report",
        ),
        (126, s(&["run", "-q", "--", text_file]), "Permission denied"),
        (
            127,
            s(&["run", "-q", "--", "memwatch-no-such-command"]),
            "No such file",
        ),
        (137, w(&["--kill-self", "9"]), ""),
        (143, w(&["--kill-self", "15"]), ""),
        (7, w(&["--exit", "7"]), ""),
    ];
    for (code, args, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, err) = code_of(&args);
        assert_eq!(got, code, "memwatch {args:?}: {err}");
        assert!(
            err.contains(says),
            "memwatch {args:?}: {says:?} not in {err}"
        );
        if code == 125 || code == 2 {
            assert_eq!(err.lines().count(), 1, "memwatch {args:?}: {err}");
            assert!(err.starts_with("memwatch: "), "{err}");
        }
    }
}

fn s(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn the_readme_has_the_table_the_help_prints() {
    let help = text(&memwatch_output(["--help"]).stdout);
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = help
        .split("Exit status (the same for every subcommand):\n")
        .nth(1)
        .unwrap();
    let mut rows = 0;
    let mut row = String::new();
    for l in section.lines().take_while(|l| l.starts_with("  ")) {
        let (code, meaning) = (l[2..9].trim(), l[9..].trim());
        if code.is_empty() {
            row = format!("{row} {meaning}");
            continue;
        }
        if !row.is_empty() {
            assert!(
                readme.contains(&format!("{row} |\n")),
                "{row} not in the README"
            );
        }
        rows += 1;
        row = format!("| {code} | {meaning}");
    }
    assert!(
        readme.contains(&format!("{row} |\n")),
        "{row} not in the README"
    );
    assert_eq!(rows, 9);
}
