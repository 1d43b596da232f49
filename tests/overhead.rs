//! memwatch's own CPU share at `-i 10` while it profiles 64 sleeping processes, with and
//! without 1000 unrelated processes on the machine.
//!
//! A measurement, not a pass/fail test (a shared machine must not fail CI): it is ignored by
//! default and prints its figures. Run it with `cargo overhead` (an alias for
//! `cargo test --release --test overhead -- --ignored --nocapture`).
//!
//! The share is memwatch's own utime+stime (from `/proc/<pid>/stat`, its children not
//! included) over a measured window in the middle of the run, divided by the window's wall
//! time; `/proc/<pid>/schedstat` gives the same in nanoseconds, which is finer than the
//! 10 ms clock tick, and is printed beside it.

#![cfg(target_os = "linux")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(20);

fn cpu_of(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the comm.
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let sched = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).expect("schedstat");
    let ns = sched.split_whitespace().next().unwrap().parse().unwrap();
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

fn measure(strangers: usize) -> (f64, f64) {
    let _others = (strangers > 0).then(|| Group::sleepers(strangers, 600));
    std::thread::sleep(Duration::from_millis(if strangers > 0 { 1500 } else { 0 }));
    let hold = WINDOW.as_secs() + 4;
    let script = format!("i=0; while [ $i -lt 63 ]; do sleep {hold} & i=$((i+1)); done; wait");
    let mut memwatch = Command::new(env!("CARGO_BIN_EXE_memwatch"))
        .args(["run", "-q", "-i", "10", "--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn memwatch");
    let pid = memwatch.id();
    std::thread::sleep(Duration::from_secs(2));
    let (t0, n0) = cpu_of(pid);
    let w0 = Instant::now();
    std::thread::sleep(WINDOW);
    let (t1, n1) = cpu_of(pid);
    let wall = w0.elapsed().as_secs_f64();
    let _ = memwatch.kill();
    let _ = memwatch.wait();
    // SAFETY: sysconf with a valid name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let by_ticks = (t1 - t0) as f64 / hz / wall * 100.0;
    let by_ns = (n1 - n0) as f64 / 1e9 / wall * 100.0;
    (by_ticks, by_ns)
}

#[test]
#[ignore = "a measurement: run with `cargo overhead`"]
fn own_cpu_at_10ms_with_64_sleepers() {
    for strangers in [0, 1000] {
        let (ticks, ns) = measure(strangers);
        println!(
            "memwatch -i 10, 64 job processes, {strangers} unrelated: \
             own CPU {ticks:.2}% of a core (utime+stime), {ns:.2}% (schedstat)"
        );
    }
}
