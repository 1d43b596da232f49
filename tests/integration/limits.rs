//! The limit in force and the headroom, the cgroup's own peak and OOM kills, on real jobs:
//! the machine's own limits, Slurm's variables, and (as root) a child of the memory cgroup
//! the tests run in, made for one test and removed after it, even when the test fails:
//! the job alone in it, a stranger in it, a job process leaving it, and a 64 MiB limit
//! that a job touching 256 MiB runs into.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use memwatch::model::Report;
use memwatch::model::limit::LimitSource;

use crate::util::*;

/// The Slurm variables memwatch reads, removed from a command's environment.
const SLURM_VARS: [&str; 3] = [
    "SLURM_MEM_PER_NODE",
    "SLURM_MEM_PER_CPU",
    "SLURM_CPUS_ON_NODE",
];

/// `memwatch run --json -i 20 -- <workload args>`, without Slurm's variables unless given.
fn run_json(env: &[(&str, &str)], args: &[&str]) -> Finished {
    let mut c = run_cmd(&["--json", "-i", "20"], &workload(args));
    for v in SLURM_VARS {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    finish(&mut c)
}

fn memtotal_kib() -> u64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap();
    let line = text.lines().find(|l| l.starts_with("MemTotal:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The `Limit:` line of a summary.
fn limit_line(summary: &str) -> &str {
    summary
        .lines()
        .find(|l| l.starts_with("Limit:"))
        .unwrap_or_else(|| panic!("no Limit line:\n{summary}"))
}

#[test]
fn the_limit_in_force_on_this_machine() {
    let f = run_json(&[], &["--mib", "20", "--hold-ms", "200"]);
    f.assert_code(0);
    let r = f.report();
    let l = r.memory_limit.clone().expect("memory_limit");
    // Whatever wins, it is at most the machine's memory, and is read from where it says.
    let total = memtotal_kib();
    assert!(l.kib <= total, "{l:?} above MemTotal {total}");
    match l.source {
        LimitSource::Physical => {
            assert_eq!(
                (l.kib, l.detail.as_str()),
                (total, "/proc/meminfo MemTotal")
            );
        }
        LimitSource::Cgroup => {
            let bytes: u64 = fs::read_to_string(&l.detail)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(bytes / 1024, l.kib);
        }
        LimitSource::Rlimit => assert!(l.detail.starts_with("RLIMIT_")),
        LimitSource::Slurm => panic!("no Slurm variable was set: {l:?}"),
    }
    let peak = r.max_total_rss_kib.unwrap();
    let pct = r.peak_percent_of_limit.unwrap();
    assert!(
        (pct - peak as f64 * 100.0 / l.kib as f64).abs() <= 0.05,
        "{pct} for {peak} of {l:?}"
    );
    let line = limit_line(&f.stderr);
    assert!(line.contains(&format!("({})", l.describe())), "{line}");
    // The tests' own process shares the cgroup memwatch runs in: no cgroup peak, and why.
    assert_eq!(r.cgroup_peak_kib, None);
    let note = r.cgroup_peak_note.clone().unwrap();
    assert!(note.starts_with("no cgroup peak: "), "{note}");
    if r.oom_kill_count == Some(0) {
        assert!(
            line.ends_with("; no OOM kill in the job's cgroup"),
            "{line}"
        );
    }
    assert!(r.oom_kills.is_empty());
}

#[test]
fn slurm_mem_per_node_is_the_limit_and_above_90_percent_warns() {
    // 45 MiB touched under a 50 MiB allocation: above 90% whatever the binary adds.
    let f = run_json(
        &[("SLURM_MEM_PER_NODE", "50")],
        &["--mib", "45", "--hold-ms", "300"],
    );
    f.assert_code(0);
    let r = f.report();
    let l = r.memory_limit.clone().unwrap();
    assert_eq!((l.kib, l.source), (50 * MIB, LimitSource::Slurm));
    assert_eq!(l.detail, "SLURM_MEM_PER_NODE=50");
    let pct = r.peak_percent_of_limit.unwrap();
    assert!(pct > 90.0, "{pct}");
    let warning = r
        .warnings
        .iter()
        .find(|w| w.contains("of the limit in force"))
        .unwrap_or_else(|| panic!("{:?}", r.warnings));
    assert!(
        warning.contains("(50.0 MiB, Slurm --mem): little headroom"),
        "{warning}"
    );
    assert!(f.stderr.contains(&format!("warning: {warning}")));
    let line = limit_line(&f.stderr);
    assert!(
        line.starts_with("Limit:           50.0 MiB (Slurm --mem); peak "),
        "{line}"
    );
}

#[test]
fn slurm_mem_per_cpu_times_the_cpus_on_this_node_and_no_warning_below_90() {
    let f = run_json(
        &[("SLURM_MEM_PER_CPU", "1G"), ("SLURM_CPUS_ON_NODE", "2")],
        &["--mib", "20", "--hold-ms", "200"],
    );
    f.assert_code(0);
    let r = f.report();
    let l = r.memory_limit.clone().unwrap();
    if l.source == LimitSource::Slurm {
        assert_eq!(l.kib, 2 * GIB);
        assert_eq!(l.detail, "SLURM_MEM_PER_CPU=1G * SLURM_CPUS_ON_NODE=2");
        let line = limit_line(&f.stderr);
        assert!(
            line.starts_with("Limit:           2.0 GiB (Slurm --mem-per-cpu × 2 CPUs); peak "),
            "{line}"
        );
    } else {
        // A lower limit (a smaller machine or cgroup) wins, as it should.
        assert!(l.kib <= 2 * GIB, "{l:?}");
    }
    assert!(
        !r.warnings
            .iter()
            .any(|w| w.contains("of the limit in force")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn slurm_variables_memwatch_cannot_use_are_warnings_not_errors() {
    let f = run_json(
        &[("SLURM_MEM_PER_NODE", "lots")],
        &["--mib", "1", "--hold-ms", "50"],
    );
    f.assert_code(0);
    let r = f.report();
    assert_ne!(r.memory_limit.unwrap().source, LimitSource::Slurm);
    let expected = "SLURM_MEM_PER_NODE=lots is not a Slurm memory size (a number of MiB, or with K, M, G or T): Slurm's allocation is not known";
    assert!(r.warnings.iter().any(|w| w == expected), "{:?}", r.warnings);
    assert!(f.stderr.contains(&format!("warning: {expected}")));
    let f = run_json(
        &[("SLURM_MEM_PER_CPU", "1024")],
        &["--mib", "1", "--hold-ms", "50"],
    );
    f.assert_code(0);
    assert!(
        f.report().warnings.iter().any(|w| w
            == "SLURM_MEM_PER_CPU is set but SLURM_CPUS_ON_NODE is not: Slurm's allocation on this node is not known"),
        "{}",
        f.stderr
    );
}

/// Which layout holds the memory controller of the cgroup the tests run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    V1,
    V2,
}

/// A memory cgroup made below the one the tests run in, for one test, and removed when
/// dropped, whatever happened: processes the test left in it are killed first.
struct ChildCgroup {
    dir: PathBuf,
    layout: Layout,
}

impl ChildCgroup {
    /// The directory of the memory cgroup the tests run in, and its layout.
    fn own() -> Result<(PathBuf, Layout), String> {
        let cgroup = fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let mount = |fstype: &str, option: Option<&str>| {
            mountinfo.lines().find_map(|l| {
                let (left, right) = l.split_once(" - ")?;
                let mut right = right.split(' ');
                let ok = right.next() == Some(fstype)
                    && option
                        .is_none_or(|o| right.nth(1).is_some_and(|s| s.split(',').any(|x| x == o)));
                let fields: Vec<&str> = left.split(' ').collect();
                (ok && fields.get(3) == Some(&"/")).then(|| PathBuf::from(fields[4]))
            })
        };
        for line in cgroup.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next(), parts.next().unwrap_or(""), parts.next());
            let path = path.unwrap_or("/").trim_start_matches('/');
            if controllers.split(',').any(|c| c == "memory") {
                let top = mount("cgroup", Some("memory")).ok_or("v1 memory is not mounted")?;
                return Ok((top.join(path), Layout::V1));
            }
        }
        let line = cgroup
            .lines()
            .find(|l| l.starts_with("0::"))
            .ok_or("no cgroup")?;
        let top = mount("cgroup2", None).ok_or("cgroup2 is not mounted")?;
        let dir = top.join(line["0::".len()..].trim_start_matches('/'));
        let enabled = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        if !enabled.split_whitespace().any(|c| c == "memory") {
            return Err(format!(
                "the memory controller is not enabled below the tests' cgroup {} (cgroup v2)",
                dir.display()
            ));
        }
        Ok((dir, Layout::V2))
    }

    /// A new cgroup `memwatch-<name>-…` below the tests' own, limited to `limit_mib` of
    /// memory and no swap when given; `None` (after [`skip_or_fail`]) when it cannot be
    /// made here.
    fn create(name: &str, limit_mib: Option<u64>) -> Option<ChildCgroup> {
        if !is_root() {
            skip_or_fail("needs root to make a memory cgroup below the tests' own");
            return None;
        }
        let (own, layout) = match ChildCgroup::own() {
            Ok(o) => o,
            Err(why) => {
                skip_or_fail(&format!("no memory cgroup to make a child of: {why}"));
                return None;
            }
        };
        let dir = own.join(token(name));
        if let Err(e) = fs::create_dir(&dir) {
            skip_or_fail(&format!("cannot make the cgroup {}: {e}", dir.display()));
            return None;
        }
        let cg = ChildCgroup { dir, layout };
        if let Some(mib) = limit_mib {
            let bytes = (mib << 20).to_string();
            match layout {
                Layout::V1 => {
                    cg.write("memory.limit_in_bytes", &bytes);
                    cg.write_if_there("memory.memsw.limit_in_bytes", &bytes);
                }
                Layout::V2 => {
                    cg.write("memory.max", &bytes);
                    cg.write_if_there("memory.swap.max", "0");
                }
            }
        }
        Some(cg)
    }

    #[track_caller]
    fn write(&self, file: &str, value: &str) {
        let p = self.dir.join(file);
        fs::write(&p, value)
            .unwrap_or_else(|e| panic!("cannot write {value} to {}: {e}", p.display()));
    }

    fn write_if_there(&self, file: &str, value: &str) {
        if self.dir.join(file).exists() {
            self.write(file, value);
        }
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// `sh` that moves itself into the cgroup, then execs `argv` (which so starts alone
    /// in it).
    fn exec_in(&self, argv: &[impl AsRef<std::ffi::OsStr>]) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"echo $$ > "$0" && exec "$@""#)
            .arg(self.procs())
            .args(argv);
        c
    }

    /// `memwatch run --json -i 10 <opts> -- <job>`, started alone in the cgroup.
    fn memwatch(&self, job: &[impl AsRef<std::ffi::OsStr>]) -> Finished {
        let mut argv: Vec<std::ffi::OsString> = [BIN, "run", "--json", "-i", "10", "--"]
            .map(Into::into)
            .to_vec();
        argv.extend(job.iter().map(|a| a.as_ref().to_os_string()));
        let mut c = self.exec_in(&argv);
        for v in SLURM_VARS {
            c.env_remove(v);
        }
        finish(c.stdin(std::process::Stdio::null()))
    }

    /// The name of the cgroup's limit file in this layout.
    fn limit_file(&self) -> &'static str {
        match self.layout {
            Layout::V1 => "memory.limit_in_bytes",
            Layout::V2 => "memory.max",
        }
    }
}

impl Drop for ChildCgroup {
    fn drop(&mut self) {
        // Whatever a failed test left running in it (processes it started) is killed, then
        // the cgroup removed once empty.
        for _ in 0..500 {
            let pids: Vec<i32> = fs::read_to_string(self.procs())
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            if pids.is_empty() && fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("could not remove the test cgroup {}", self.dir.display());
    }
}

#[test]
fn the_cgroups_own_peak_when_the_job_has_it_to_itself() {
    let _g = heavy();
    let Some(cg) = ChildCgroup::create("alone", Some(1024)) else {
        return;
    };
    let f = cg.memwatch(&workload(&[
        "--mib",
        "100",
        "--fork",
        "1",
        "--hold-ms",
        "600",
    ]));
    f.assert_code(0);
    let r = f.report();
    let peak = r
        .cgroup_peak_kib
        .unwrap_or_else(|| panic!("{:?}", r.cgroup_peak_note));
    // Two processes touched 100 MiB each at once; the cgroup also holds memwatch and
    // whatever page cache it charged, never less than what they touched.
    assert!(peak >= 200 * MIB, "cgroup peak {peak} KiB");
    assert!(peak <= 200 * MIB + 64 * MIB, "cgroup peak {peak} KiB");
    let note = r.cgroup_peak_note.as_deref().unwrap();
    assert!(note.contains("page cache and kernel memory"), "{note}");
    let l = r.memory_limit.clone().unwrap();
    assert_eq!((l.kib, l.source), (GIB, LimitSource::Cgroup));
    assert_eq!(
        Path::new(&l.detail),
        cg.dir.join(cg.limit_file()),
        "the limit names its file"
    );
    assert!(f.stderr.contains("Cgroup peak:     "), "{}", f.stderr);
    assert_eq!(r.oom_kill_count, Some(0));
    assert!(
        limit_line(&f.stderr).starts_with("Limit:           1.0 GiB (cgroup "),
        "{}",
        f.stderr
    );
}

#[test]
fn no_cgroup_peak_when_a_stranger_shares_the_cgroup() {
    let _g = heavy();
    let Some(cg) = ChildCgroup::create("stranger", None) else {
        return;
    };
    let mut stranger = cg.exec_in(&["sleep", "30"]);
    let mut stranger = stranger.spawn().unwrap();
    let spid = stranger.id() as i32;
    poll(Duration::from_secs(5), || {
        let procs = fs::read_to_string(cg.procs()).unwrap_or_default();
        let there = procs.lines().any(|l| l.trim() == spid.to_string());
        // Moved, and exec'd: its command line is sleep's.
        let exec = cmdline(spid).is_some_and(|a| a.first().is_some_and(|a| a == b"sleep"));
        if there && exec {
            Ok(())
        } else {
            Err(format!("{procs:?}"))
        }
    });
    let f = cg.memwatch(&workload(&["--mib", "10", "--hold-ms", "300"]));
    let _ = stranger.kill();
    let _ = stranger.wait();
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.cgroup_peak_kib, None);
    let note = r.cgroup_peak_note.unwrap();
    assert!(
        note.contains(&format!("(pid {spid}, sleep 30, was in it too)")),
        "{note}"
    );
    assert!(!f.stderr.contains("Cgroup peak:"), "{}", f.stderr);
}

#[test]
fn no_cgroup_peak_when_a_job_process_leaves_the_cgroup() {
    let _g = heavy();
    let Some(cg) = ChildCgroup::create("escape", None) else {
        return;
    };
    // The job moves itself back to the tests' own cgroup, where its memory is not the
    // child cgroup's, and stays long enough for a complete search to see it there.
    let (own, _) = ChildCgroup::own().unwrap();
    let mut job = vec![
        "sh".to_string(),
        "-c".to_string(),
        r#"echo $$ > "$0" && exec "$@""#.to_string(),
        own.join("cgroup.procs").display().to_string(),
    ];
    job.extend(workload(&["--mib", "10", "--hold-ms", "1500"]));
    let f = cg.memwatch(&job);
    f.assert_code(0);
    let r = f.report();
    assert_eq!(r.cgroup_peak_kib, None);
    let note = r.cgroup_peak_note.unwrap();
    assert!(
        note.contains("of the job ran in another cgroup (")
            && note.contains("whose memory the high-water mark of the job's cgroup"),
        "{note}"
    );
}

/// The OOM kills of a report, checked against the job's own facts.
fn the_one_oom_kill(r: &Report, pid: i32, certain: bool) {
    assert_eq!(r.oom_kill_count, Some(1), "{r:#?}");
    assert_eq!(r.oom_kills.len(), 1, "{:?}", r.oom_kills);
    let k = &r.oom_kills[0];
    assert_eq!((k.pid, k.certain), (pid, certain), "{k:?}");
    assert!(k.command.contains("__workload"), "{k:?}");
    let last = k.last_rss_kib.expect("a last sampled RSS");
    assert!(
        (32 * MIB..=80 * MIB).contains(&last),
        "last RSS {last} KiB near the 64 MiB limit"
    );
    let limit = k.limit.as_ref().unwrap();
    assert_eq!((limit.kib, limit.source), (64 * MIB, LimitSource::Cgroup));
}

#[test]
fn an_oom_kill_is_named_and_the_exit_status_passes_through() {
    let _g = heavy();
    let Some(cg) = ChildCgroup::create("oom", Some(64)) else {
        return;
    };
    let f = cg.memwatch(&workload(&["--mib", "256", "--hold-ms", "1000"]));
    // Killed by SIGKILL: memwatch exits 128 + 9, as the command's status.
    f.assert_code(137);
    let r = f.report();
    assert_eq!(r.signal, Some(9));
    let root = r.processes.iter().find(|p| p.root).unwrap().pid;
    the_one_oom_kill(&r, root, true);
    let line = f
        .stderr
        .lines()
        .find(|l| l.starts_with("OOM kill:"))
        .unwrap_or_else(|| panic!("{}", f.stderr));
    assert!(
        line.starts_with(&format!("OOM kill:        pid {root} ("))
            && line.contains(") was killed by the OOM killer: last sampled RSS ")
            && line.ends_with(&format!(", limit 64.0 MiB (cgroup {})", cg.limit_file())),
        "{line}"
    );
    assert!(
        limit_line(&f.stderr).starts_with("Limit:           64.0 MiB (cgroup "),
        "{}",
        f.stderr
    );
}

#[test]
fn an_oom_kill_of_a_child_its_parent_reaped_is_named_as_probable() {
    let _g = heavy();
    let Some(cg) = ChildCgroup::create("oom-child", Some(64)) else {
        return;
    };
    // The command forks a child that touches 256 MiB and waits for it: the child is
    // reaped by its parent, so memwatch never sees its exit status.
    let f = cg.memwatch(&workload(&[
        "--chain",
        "1",
        "--mib",
        "256",
        "--hold-ms",
        "1000",
    ]));
    let r = f.report();
    let root = r.processes.iter().find(|p| p.root).unwrap();
    let child = r
        .processes
        .iter()
        .find(|p| p.ppid == root.pid)
        .unwrap_or_else(|| panic!("{:?}", r.processes));
    the_one_oom_kill(&r, child.pid, false);
    let line = f
        .stderr
        .lines()
        .find(|l| l.starts_with("OOM kill:"))
        .unwrap_or_else(|| panic!("{}", f.stderr));
    assert!(
        line.contains(&format!("pid {} (", child.pid))
            && line.contains("was probably killed by the OOM killer (its parent reaped it"),
        "{line}"
    );
}
