//! Real Open MPI under memwatch: a C MPI program (tests/mpi/rank.c) compiled with `mpicc`
//! and launched with `mpirun`, first under one memwatch (the launcher and every rank in
//! one report), then with one memwatch per rank whose reports `memwatch merge` adds up.
//!
//! Needs Open MPI (Debian: `openmpi-bin libopenmpi-dev`, which `.ci/run` installs when
//! missing) and the C compiler `mpicc` drives. Without them each test prints
//! `skipped: <reason>` and returns (fails under `MEMWATCH_REQUIRE_ALL=1`).
//!
//! What mpirun needs here: `--allow-run-as-root` (CI containers run as root; harmless
//! otherwise), `--oversubscribe` (4 ranks on machines with fewer cores), and
//! `--mca pml ob1 --mca btl self,vader` (shared memory only: no probing of UCX, OFI,
//! InfiniBand or TCP devices, which a container lacks and which slow every start).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{MutexGuard, OnceLock};
use std::time::Instant;

use memwatch::merge::Merged;
use memwatch::model::{ProcessReport, Report};

use crate::util::*;

/// mpirun's options for every job (see the module documentation).
pub(crate) const MPIRUN_FLAGS: [&str; 8] = [
    "--allow-run-as-root",
    "--oversubscribe",
    "--mca",
    "pml",
    "ob1",
    "--mca",
    "btl",
    "self,vader",
];

/// Open MPI, ready to use.
pub(crate) struct Mpi {
    pub(crate) mpirun: PathBuf,
    /// The compiled tests/mpi/rank.c.
    pub(crate) prog: PathBuf,
}

impl Mpi {
    /// `mpirun <flags> -n <n>` followed by `args`, as arguments (without mpirun itself).
    pub(crate) fn mpirun_args(&self, n: u32, args: &[&OsStr]) -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = MPIRUN_FLAGS.iter().map(Into::into).collect();
        v.push("-n".into());
        v.push(n.to_string().into());
        v.extend(args.iter().map(|a| a.to_os_string()));
        v
    }

    pub(crate) fn prog(&self) -> &OsStr {
        self.prog.as_os_str()
    }
}

static SETUP: OnceLock<Result<Mpi, String>> = OnceLock::new();

/// Open MPI, with the tests' heavy lock (four busy ranks on a small machine: one MPI test
/// at a time, and no other heavy test beside it), or `None` after [`skip_or_fail`].
pub(crate) fn mpi() -> Option<(&'static Mpi, MutexGuard<'static, ()>)> {
    match SETUP.get_or_init(setup) {
        Ok(m) => Some((m, heavy())),
        Err(reason) => {
            skip_or_fail(reason);
            None
        }
    }
}

fn first_lines(b: &[u8], n: usize) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Find mpicc and mpirun, compile the program, and check that a one-rank job runs.
fn setup() -> Result<Mpi, String> {
    const INSTALL: &str = "install Debian's openmpi-bin and libopenmpi-dev (.ci/run does)";
    let mpicc = which("mpicc").ok_or_else(|| format!("mpicc is not on PATH; {INSTALL}"))?;
    let mpirun = which("mpirun").ok_or_else(|| format!("mpirun is not on PATH; {INSTALL}"))?;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mpi");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let prog = dir.join("rank");
    // Compile next to the target and rename: concurrent test runs never see half a file.
    let temp = dir.join(format!("rank-{}.tmp", std::process::id()));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mpi/rank.c");
    let out = try_output(
        Command::new(&mpicc)
            .args(["-O2", "-Wall", "-o"])
            .arg(&temp)
            .arg(&src),
    )
    .map_err(|e| format!("cannot run {}: {e}", mpicc.display()))?;
    if !out.status.success() {
        let _ = fs::remove_file(&temp);
        return Err(format!(
            "mpicc cannot compile tests/mpi/rank.c ({}): {}",
            out.status,
            first_lines(&out.stderr, 3)
        ));
    }
    fs::rename(&temp, &prog).map_err(|e| format!("cannot rename {}: {e}", temp.display()))?;
    let mpi = Mpi { mpirun, prog };
    let version = try_output(Command::new(&mpi.mpirun).arg("--version"))
        .map(|o| first_lines(&o.stdout, 1))
        .unwrap_or_default();
    let t0 = Instant::now();
    let out = run_with_deadline(
        Command::new(&mpi.mpirun)
            .args(mpi.mpirun_args(1, &[mpi.prog(), "0".as_ref(), "0".as_ref()])),
    );
    if !out.status.success() {
        return Err(format!(
            "{version}: a one-rank job fails without memwatch ({}): {}",
            out.status,
            first_lines(&out.stderr, 4)
        ));
    }
    eprintln!("{version}: a one-rank job takes {:?}", t0.elapsed());
    Ok(mpi)
}

/// Run to the end in a process group of its own, which is killed whole (mpirun, the ranks)
/// past the deadline.
#[track_caller]
pub(crate) fn run_with_deadline(cmd: &mut Command) -> Output {
    output(cmd.process_group(0))
}

fn memwatch_run(mpi: &Mpi, interval: &str, n: u32, mib: &str, hold_ms: &str) -> (Report, Output) {
    let mut cmd = memwatch(["run", "--json", "-q", "-i", interval, "--"]);
    cmd.arg(&mpi.mpirun)
        .args(mpi.mpirun_args(n, &[mpi.prog(), mib.as_ref(), hold_ms.as_ref()]));
    let out = run_with_deadline(&mut cmd);
    let report = memwatch::model::io::read(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no report ({}): {e}; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out)
}

/// The job's processes sorted out: ranks (running the program) and the launcher's own.
struct Roles<'a> {
    ranks: Vec<&'a ProcessReport>,
    launcher: Vec<&'a ProcessReport>,
}

/// Ranks are the processes running the MPI program (by their own command line, which
/// memwatch re-reads after the sample that found them, so a rank first seen between fork
/// and exec is not listed under mpirun's); everything else is the launcher.
fn roles<'a>(r: &'a Report, mpi: &Mpi) -> Roles<'a> {
    let prog = mpi.prog.to_string_lossy();
    let mut roles = Roles {
        ranks: Vec::new(),
        launcher: Vec::new(),
    };
    for p in &r.processes {
        if p.command.starts_with(&*prog) {
            roles.ranks.push(p);
        } else {
            roles.launcher.push(p);
        }
    }
    roles
}

fn describe(ps: &[&ProcessReport]) -> String {
    ps.iter()
        .map(|p| format!("pid {} {:?} {:?} KiB", p.pid, p.command, p.max_rss_kib))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Four ranks of 64 MiB under one memwatch: each found under its own command line and
/// measured, the total at least their sum, and nothing else in the job but the launcher.
#[test]
fn four_ranks_and_the_launcher_under_one_memwatch() {
    let Some((mpi, _serial)) = mpi() else { return };
    let t0 = Instant::now();
    let (r, out) = memwatch_run(mpi, "20", 4, "64", "800");
    let elapsed = t0.elapsed();
    assert_eq!(
        r.exit_code,
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let roles = roles(&r, mpi);
    eprintln!(
        "4 ranks x 64 MiB, 800 ms: {:.2} s, {} samples, max total {:?} KiB, launcher: {}",
        elapsed.as_secs_f64(),
        r.samples,
        r.max_total_rss_kib,
        describe(&roles.launcher)
    );
    let all_ranks: Vec<&ProcessReport> = roles.ranks.clone();
    assert_eq!(
        all_ranks.len(),
        4,
        "ranks: {}; others: {}",
        describe(&all_ranks),
        describe(&roles.launcher)
    );
    for p in &all_ranks {
        assert!(
            p.max_rss_kib.unwrap_or(0) >= 64 * MIB,
            "rank below 64 MiB: {}",
            describe(&[p])
        );
    }
    assert!(
        !roles.ranks.is_empty(),
        "no rank under its own command line"
    );
    // The launcher's own processes: mpirun (the root), and prted/orted where the version
    // runs one locally (Open MPI 5's prte, or 4's orted under a resource manager).
    let root = r.processes.iter().find(|p| p.root).unwrap();
    assert!(
        root.command.starts_with(&*mpi.mpirun.to_string_lossy()),
        "root: {}",
        root.command
    );
    assert!(root.max_rss_kib.is_some(), "mpirun's memory was read");
    for p in &roles.launcher {
        let name = p.command.split_whitespace().next().unwrap_or("");
        let base = Path::new(name)
            .file_name()
            .and_then(OsStr::to_str)
            .unwrap_or("");
        assert!(
            ["mpirun", "mpiexec", "orterun", "prterun", "prted", "orted"].contains(&base),
            "unexpected process in the job: {}",
            describe(&[p])
        );
    }
    let ranks_sum: u64 = all_ranks.iter().filter_map(|p| p.max_rss_kib).sum();
    let total = r.max_total_rss_kib.unwrap();
    assert!(
        total >= ranks_sum,
        "total {total} KiB below the ranks' sum {ranks_sum} KiB"
    );
    assert!(r.processes_at_peak >= 5, "{}", r.processes_at_peak);
}

#[test]
fn a_short_lived_mpi_job_still_reports() {
    let Some((mpi, _serial)) = mpi() else { return };
    let t0 = Instant::now();
    let (r, out) = memwatch_run(mpi, "10", 4, "16", "0");
    let elapsed = t0.elapsed();
    assert_eq!(
        r.exit_code,
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let roles = roles(&r, mpi);
    eprintln!(
        "short job (4 ranks, hold 0 ms): {:.3} s under memwatch ({:.3} s wall), {} samples, \
         {} rank(s) seen by name, max total {:?} KiB{}",
        r.duration_seconds,
        elapsed.as_secs_f64(),
        r.samples,
        roles.ranks.len(),
        r.max_total_rss_kib,
        if r.duration_seconds > 0.3 {
            " (mpirun alone takes longer than 0.3 s here: MPI_Init of 4 ranks)"
        } else {
            ""
        }
    );
    assert!(r.samples >= 1);
    assert!(r.max_total_rss_kib.is_some_and(|t| t > 0));
    assert!(r.processes.iter().any(|p| p.root));
    assert!(roles.ranks.len() <= 4);
    for p in &roles.ranks {
        assert!(
            p.samples >= 1 && p.max_rss_kib.is_some(),
            "{}",
            describe(&[p])
        );
    }

    // The shortest job mpirun can run: 4 non-MPI ranks that exit at once (about 0.3 s).
    let mut cmd = memwatch(["run", "--json", "-q", "-i", "10", "--"]);
    cmd.arg(&mpi.mpirun)
        .args(mpi.mpirun_args(4, &["true".as_ref()]));
    let out = run_with_deadline(&mut cmd);
    let r = memwatch::model::io::read(&out.stdout).unwrap();
    eprintln!(
        "mpirun -n 4 true: {:.3} s, {} samples, {} processes, max total {:?} KiB",
        r.duration_seconds, r.samples, r.processes_total, r.max_total_rss_kib
    );
    assert_eq!(r.exit_code, Some(0));
    assert!(r.samples >= 1);
    assert!(r.max_total_rss_kib.is_some_and(|t| t > 0));
    let root = r.processes.iter().find(|p| p.root).unwrap();
    assert!(root.max_rss_kib.is_some(), "mpirun measured: {root:?}");
}

#[test]
fn one_memwatch_per_rank_then_merge() {
    let Some((mpi, _serial)) = mpi() else { return };
    let dir = tempdir("mpi-per-rank");
    let template = dir.join("mem-%r.json");
    let args: Vec<&OsStr> = vec![
        bin().as_ref(),
        "run".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
        "-i".as_ref(),
        "20".as_ref(),
        "-o".as_ref(),
        template.as_os_str(),
        "--".as_ref(),
        mpi.prog(),
        "32".as_ref(),
        "500".as_ref(),
    ];
    let out = run_with_deadline(Command::new(&mpi.mpirun).args(mpi.mpirun_args(2, &args)));
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files = Vec::new();
    for rank in ["0", "1"] {
        let path = dir.join(format!("mem-{rank}.json"));
        let r = memwatch::model::io::read(
            &fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        assert_eq!(
            r.launcher.get("OMPI_COMM_WORLD_RANK").map(String::as_str),
            Some(rank)
        );
        let root = r.processes.iter().find(|p| p.root).unwrap();
        assert!(
            root.command.starts_with(&*mpi.prog.to_string_lossy()),
            "{}",
            root.command
        );
        assert!(
            root.max_rss_kib.unwrap() >= 32 * MIB,
            "{:?}",
            root.max_rss_kib
        );
        files.push(path);
    }
    let out = output(memwatch(["merge", "--json"]).args(&files));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Merged = serde_json::from_slice(&out.stdout).unwrap();
    let peak = m.max_total_rss_kib.unwrap();
    eprintln!(
        "one memwatch per rank: merged peak {peak} KiB at +{:?} ms, ranks {:?}",
        m.max_total_rss_ms,
        m.reports.iter().map(|r| r.rank.clone()).collect::<Vec<_>>()
    );
    assert!(peak >= 64 * MIB, "merged peak {peak} KiB");
    let ranks: Vec<Option<&str>> = m.reports.iter().map(|r| r.rank.as_deref()).collect();
    assert_eq!(ranks, [Some("0"), Some("1")]);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}
