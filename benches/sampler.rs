//! Sampler benchmarks (criterion): the cost of one steady-state sample of a job of N
//! processes while M unrelated processes are alive, next to the kernel's floor (one `pread`
//! of a kept-open `statm` per job process) and a hand-written full `/proc` scan, all in the
//! same run; plus the periodic safety-net search and the parsers.
//!
//! Run: `cargo bench --bench sampler` (alias `cargo bench-sampler`). The bench spawns its own
//! `sleep` processes (job: children of the bench; unrelated: orphans in their own process
//! group) and kills them at the end.

use std::fs::File;
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use memwatch::job::Job;
use memwatch::sys::NativeInspector;
use memwatch::sys::linux::procfs;

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
fn full_proc_scan(buf: &mut [u8]) -> usize {
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

fn sampler(c: &mut Criterion) {
    let self_pid = std::process::id() as i32;
    let mut group = c.benchmark_group("sample");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for m in [0usize, 1000] {
        let strangers = Strangers::new(m);
        for n in [1usize, 8, 64, 256] {
            let fixture = JobFixture::new(n);
            let pids = fixture.pids();
            std::thread::sleep(Duration::from_millis(100));
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

            // The periodic safety net (complete search), for the README's amortised figure.
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
