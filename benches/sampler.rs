//! Sampler benchmarks (criterion): the cost of one steady-state sample of a job of N
//! processes while M unrelated processes are alive, next to the kernel's floor, all in the
//! same run; plus the periodic safety-net search and the parsers.
//!
//! - Linux (group `sample`): the floor is one `pread` of a kept-open `statm` per job
//!   process; a hand-written full `/proc` scan shows what scanning samplers pay.
//! - macOS (group `sample_macos`, compiled on macOS only, not run by this project yet): the
//!   floor is one `proc_pid_rusage` per job process, what memwatch must read anyway; the
//!   listing is one `proc_listallpids` of every process on the machine, the part of a
//!   sample that grows with the number of other processes.
//!
//! Run: `cargo bench --bench sampler` (alias `cargo bench-sampler`). The bench spawns its own
//! `sleep` processes (job: children of the bench; unrelated: orphans in their own process
//! group) and kills them at the end.

use std::hint::black_box;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use memwatch::job::Job;
use memwatch::sys::NativeInspector;
use memwatch::sys::linux::procfs;

/// Job sizes (N) and unrelated processes (M) every platform's group measures: up to a fat
/// node's 256 ranks with helpers, `make -j64`, and beyond (on Linux 4096: as many kept-open
/// `statm` files for memwatch and for the floor, so the bench raises its open-files limit;
/// macOS's default limit of processes per user is below that).
#[cfg(target_os = "linux")]
const JOB_SIZES: &[usize] = &[1, 8, 64, 256, 1000, 4096];
#[cfg(not(target_os = "linux"))]
const JOB_SIZES: &[usize] = &[1, 8, 64, 256, 1000];
const OTHERS: [usize; 2] = [0, 1000];

/// N sleeping children of this process.
struct JobFixture {
    children: Vec<Child>,
}

impl JobFixture {
    fn new(n: usize) -> JobFixture {
        let children = (0..n)
            .map(|_| {
                Command::new("sleep")
                    .arg("100000")
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("spawn sleep")
            })
            .collect();
        JobFixture { children }
    }
    fn pids(&self) -> Vec<i32> {
        self.children.iter().map(|c| c.id() as i32).collect()
    }
}

impl Drop for JobFixture {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// M sleeping processes that are not descendants of this process (their shell exited, so
/// they were reparented away), all in one process group to kill at the end.
struct Strangers {
    pgid: i32,
}

impl Strangers {
    fn new(m: usize) -> Option<Strangers> {
        if m == 0 {
            return None;
        }
        let script = format!(
            "i=0; while [ $i -lt {m} ]; do sleep 100000 </dev/null >/dev/null 2>&1 & i=$((i+1)); done"
        );
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg(script)
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        let pgid = sh.id() as i32;
        sh.wait().expect("wait sh");
        std::thread::sleep(Duration::from_millis(200));
        Some(Strangers { pgid })
    }
}

impl Drop for Strangers {
    fn drop(&mut self) {
        // SAFETY: killpg with integer arguments.
        unsafe { libc::killpg(self.pgid, libc::SIGKILL) };
    }
}

/// A hand-written full scan: list /proc, read every process's stat (what samplers that scan
/// the whole system do on every sample).
#[cfg(target_os = "linux")]
fn full_proc_scan(buf: &mut [u8]) -> usize {
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    let mut found = 0;
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(f) = File::open(format!("/proc/{pid}/stat")) {
            if let Ok(n) = f.read_at(buf, 0) {
                if procfs::parse_stat(&buf[..n]).is_some() {
                    found += 1;
                }
            }
        }
    }
    found
}

/// Raise the soft open-files limit to the hard one, as memwatch does.
#[cfg(target_os = "linux")]
fn raise_nofile() {
    // SAFETY: getrlimit and setrlimit on a valid, local struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
            l.rlim_cur = l.rlim_max.min(1 << 20);
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[cfg(target_os = "linux")]
fn sampler(c: &mut Criterion) {
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    raise_nofile();
    let self_pid = std::process::id() as i32;
    let mut group = c.benchmark_group("sample");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for m in OTHERS {
        let strangers = Strangers::new(m);
        for &n in JOB_SIZES {
            let fixture = JobFixture::new(n);
            let pids = fixture.pids();
            // Time for every `sleep` to have started (4 s for 4096), so none of them
            // competes with the first measurement.
            std::thread::sleep(Duration::from_millis(100 + n as u64));
            let label = format!("n{n}_m{m}");

            // The floor: one pread of a kept-open statm per job process.
            let files: Vec<File> = pids
                .iter()
                .map(|p| File::open(format!("/proc/{p}/statm")).unwrap())
                .collect();
            let mut buf = [0u8; 256];
            group.bench_function(BenchmarkId::new("floor", &label), |b| {
                b.iter(|| {
                    let mut total = 0u64;
                    for f in &files {
                        let n = f.read_at(&mut buf, 0).unwrap();
                        total += procfs::parse_statm(&buf[..n]).map_or(0, |m| m.resident);
                    }
                    black_box(total)
                })
            });

            // memwatch's steady-state sample.
            let inspector = NativeInspector::new(self_pid).unwrap();
            let mut job = Job::new(inspector, self_pid, pids[0], n);
            let s = job.sample(Duration::ZERO, true).unwrap();
            assert_eq!(s.processes as usize, n, "the job is found whole");
            group.bench_function(BenchmarkId::new("memwatch", &label), |b| {
                b.iter(|| black_box(job.sample(Duration::from_millis(10), false).unwrap()))
            });

            // The periodic safety net (complete search), for docs/performance.md's amortised figure.
            group.bench_function(BenchmarkId::new("memwatch_full_search", &label), |b| {
                b.iter(|| black_box(job.sample(Duration::from_millis(10), true).unwrap()))
            });

            // A full /proc scan reading every stat, as scanning samplers do.
            let mut big = vec![0u8; 4096];
            group.bench_function(BenchmarkId::new("full_proc_scan", &label), |b| {
                b.iter(|| black_box(full_proc_scan(&mut big)))
            });
            drop(job);
            drop(files);
            drop(fixture);
        }
        drop(strangers);
    }
    group.finish();
}

/// `proc_pid_rusage(RUSAGE_INFO_V4)` of `pid`: its resident size in bytes, as memwatch reads
/// it at every sample.
#[cfg(target_os = "macos")]
fn rusage_resident(pid: i32) -> u64 {
    // SAFETY: rusage_info_v4 is plain integers: all zeros is a valid value.
    let mut ri: libc::rusage_info_v4 = unsafe { std::mem::zeroed() };
    // SAFETY: for RUSAGE_INFO_V4 the kernel writes exactly sizeof(struct rusage_info_v4)
    // bytes into `ri`, which is that struct.
    let r = unsafe {
        libc::proc_pid_rusage(
            pid,
            libc::RUSAGE_INFO_V4,
            (&raw mut ri).cast::<libc::rusage_info_t>(),
        )
    };
    if r == 0 { ri.ri_resident_size } else { 0 }
}

/// One `proc_listallpids` into `pids`: how many processes the machine has.
#[cfg(target_os = "macos")]
fn list_all(pids: &mut [i32]) -> usize {
    let bytes = libc::c_int::try_from(std::mem::size_of_val(pids)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pids` is writable for `bytes` bytes; the kernel writes at most that many
    // and returns a count of pids.
    let n = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast::<libc::c_void>(), bytes) };
    usize::try_from(n).unwrap_or(0)
}

#[cfg(target_os = "macos")]
fn sampler(c: &mut Criterion) {
    let self_pid = std::process::id() as i32;
    let mut group = c.benchmark_group("sample_macos");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut listing = vec![0i32; 16 * 1024];
    for m in OTHERS {
        let strangers = Strangers::new(m);
        for &n in JOB_SIZES {
            let fixture = JobFixture::new(n);
            let pids = fixture.pids();
            std::thread::sleep(Duration::from_millis(100));
            let label = format!("n{n}_m{m}");

            // The floor: what memwatch must read per job process, one proc_pid_rusage.
            group.bench_function(BenchmarkId::new("floor", &label), |b| {
                b.iter(|| {
                    let total: u64 = pids.iter().map(|&p| rusage_resident(p)).sum();
                    black_box(total)
                })
            });

            // The part that grows with the machine: one listing of every process.
            group.bench_function(BenchmarkId::new("list_all_pids", &label), |b| {
                b.iter(|| black_box(list_all(&mut listing)))
            });

            // memwatch's steady-state sample (a listing, its sort and merge, the reads).
            let inspector = NativeInspector::new(self_pid).unwrap();
            let mut job = Job::new(inspector, self_pid, pids[0], n);
            let s = job.sample(Duration::ZERO, true).unwrap();
            assert_eq!(s.processes as usize, n, "the job is found whole");
            group.bench_function(BenchmarkId::new("memwatch", &label), |b| {
                b.iter(|| black_box(job.sample(Duration::from_millis(10), false).unwrap()))
            });

            // The periodic safety net (complete search: every listed pid probed).
            group.bench_function(BenchmarkId::new("memwatch_full_search", &label), |b| {
                b.iter(|| black_box(job.sample(Duration::from_millis(10), true).unwrap()))
            });
            drop(job);
            drop(fixture);
        }
        drop(strangers);
    }
    group.finish();
}

fn parsers(c: &mut Criterion) {
    let stat = b"4321 (sleep) S 4300 4300 1032 34816 4300 4194304 93 0 0 0 0 0 0 0 20 0 1 0 1010678 5664768 245 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    let statm = b"2838 245 215 5 0 84 0\n";
    let mut group = c.benchmark_group("parse");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(1));
    group.bench_function("stat", |b| b.iter(|| procfs::parse_stat(black_box(stat))));
    group.bench_function("statm", |b| {
        b.iter(|| procfs::parse_statm(black_box(statm)))
    });
    group.finish();
}

criterion_group!(benches, sampler, parsers);
criterion_main!(benches);
