//! memwatch's own CPU share at `-i 10` while it profiles N = 64, 256 and 1000 sleeping
//! processes, and 64 with 1000 unrelated processes on the machine.
//!
//! A measurement, not a pass/fail test (a shared machine must not fail CI): it is ignored by
//! default and prints its figures. Run it with `cargo overhead` (an alias for
//! `cargo test --release --test integration -- --ignored --exact overhead::own_cpu_at_10ms
//! --nocapture`).
//!
//! The same run measures, side by side, the kernel's floor for the same job: a process that
//! does nothing but wake every 10 ms and `pread` each of the N job processes' kept-open
//! `statm` (this test binary re-run in floor mode), so the ratio to the floor holds whatever
//! the machine is doing.
//!
//! The share is memwatch's own utime+stime (from `/proc/<pid>/stat`, its children not
//! included) over a measured window in the middle of the run, divided by the window's wall
//! time; `/proc/<pid>/schedstat` gives the same in nanoseconds, which is finer than the
//! 10 ms clock tick, and is printed beside it.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::util::*;

/// This test's name, as the test binary's filter takes it (the floor re-runs it).
const NAME: &str = "overhead::own_cpu_at_10ms";

const WINDOW: Duration = Duration::from_secs(20);

fn cpu_of(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the comm.
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // schedstat is per thread: add up the process's threads (the floor runs in a test
    // harness thread).
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .flatten()
    {
        let path = task.path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            ns += text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (ticks, ns)
}

/// Processes in their own group, killed as a group when dropped.
struct Group(Child);

impl Group {
    fn sleepers(n: usize, secs: u64) -> Group {
        let script = format!(
            "i=0; while [ $i -lt {n} ]; do sleep {secs} </dev/null >/dev/null 2>&1 & i=$((i+1)); done; wait"
        );
        use std::os::unix::process::CommandExt;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        Group(child)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: killpg on the group this struct created.
        unsafe { libc::killpg(self.0.id() as i32, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// The floor, run as a separate process: `MEMWATCH_FLOOR_PIDS=1,2,3 overhead-binary`.
fn floor_loop(pids: &str) -> ! {
    use std::os::unix::fs::FileExt;
    let files: Vec<std::fs::File> = pids
        .split(',')
        .filter_map(|p| std::fs::File::open(format!("/proc/{p}/statm")).ok())
        .collect();
    let mut buf = [0u8; 256];
    let start = Instant::now();
    let mut k = 0u32;
    loop {
        k += 1;
        let next = start + Duration::from_millis(10) * k;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for f in &files {
            let _ = std::hint::black_box(f.read_at(&mut buf, 0));
        }
    }
}

fn ticks_per_s() -> f64 {
    // SAFETY: sysconf with a valid name.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

struct Share {
    by_ticks: f64,
    by_ns: f64,
}

fn share(before: (u64, u64), after: (u64, u64), wall: f64) -> Share {
    Share {
        by_ticks: (after.0 - before.0) as f64 / ticks_per_s() / wall * 100.0,
        by_ns: (after.1 - before.1) as f64 / 1e9 / wall * 100.0,
    }
}

/// The children of `pid` (from `/proc/<pid>/task/<pid>/children`).
fn children(pid: i32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Wait until the shell `pid` has started its `n` sleepers; their pids.
fn wait_for_sleepers(pid: i32, n: usize) -> Vec<String> {
    poll(Duration::from_secs(60), || {
        let c = children(pid);
        if c.len() == n {
            Ok(c)
        } else {
            Err(format!("{} of {n} sleepers started", c.len()))
        }
    })
}

/// memwatch's share and the floor's, over a job of `n` sleepers with `strangers` unrelated
/// processes on the machine.
fn measure(n: usize, strangers: usize) -> (Share, Share) {
    let _others = (strangers > 0).then(|| {
        let g = Group::sleepers(strangers, 600);
        wait_for_sleepers(g.0.id() as i32, strangers);
        g
    });
    let hold = WINDOW.as_secs() + 4;
    let script = format!(
        "i=0; while [ $i -lt {} ]; do sleep {hold} & i=$((i+1)); done; wait",
        n - 1
    );
    let memwatch = spawn(&mut run_cmd(&["-q", "-i", "10"], &["sh", "-c", &script]));
    let pid = memwatch.pid() as u32;
    // A job of the same shape for the floor: n sleepers of its own.
    let floor_job = Group::sleepers(n, hold);
    let pids = wait_for_sleepers(floor_job.0.id() as i32, n).join(",");
    let job_shell = poll(Duration::from_secs(60), || {
        children(memwatch.pid())
            .first()
            .and_then(|p| p.parse::<i32>().ok())
            .ok_or_else(|| "memwatch has not started its job".to_string())
    });
    wait_for_sleepers(job_shell, n - 1);
    let floor = spawn(
        Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", NAME])
            .env("MEMWATCH_FLOOR_PIDS", &pids),
    );
    // The measurement itself, not a wait for a condition: a second for memwatch and the
    // floor to settle (memwatch's start-up is not its steady state), then the window.
    std::thread::sleep(Duration::from_secs(1));
    let floor_pid = floor.pid() as u32;
    let (m0, f0) = (cpu_of(pid), cpu_of(floor_pid));
    let w0 = Instant::now();
    std::thread::sleep(WINDOW);
    let (m1, f1) = (cpu_of(pid), cpu_of(floor_pid));
    let wall = w0.elapsed().as_secs_f64();
    // Dropping them kills memwatch (and so its job) and the floor.
    drop((memwatch, floor));
    (share(m0, m1, wall), share(f0, f1, wall))
}

#[test]
#[ignore = "a measurement: run with `cargo overhead`"]
fn own_cpu_at_10ms() {
    if let Ok(pids) = std::env::var("MEMWATCH_FLOOR_PIDS") {
        floor_loop(&pids);
    }
    for (n, strangers) in [(64, 0), (64, 1000), (256, 0), (1000, 0)] {
        let (mw, floor) = measure(n, strangers);
        println!(
            "-i 10, {n} job processes, {strangers} unrelated: memwatch {:.2}% of a core \
             (schedstat; {:.2}% by utime+stime), floor {:.2}% ({:.2}%), ratio {:.2}",
            mw.by_ns,
            mw.by_ticks,
            floor.by_ns,
            floor.by_ticks,
            mw.by_ns / floor.by_ns
        );
    }
}
