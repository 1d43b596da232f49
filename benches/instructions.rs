//! The sampler's cost in instructions, for callgrind (repeatable on a busy machine, where
//! times are not): N steady-state samples of a job of P sleeping processes, inside
//! `steady`, which callgrind counts alone.
//!
//! Run (docs/performance.md has the command and the figures):
//! ```sh
//! cargo bench --bench instructions --no-run
//! unshare -pf --mount-proc valgrind --tool=callgrind --toggle-collect='instructions::steady*' \
//!     target/release/deps/instructions-<hash> 64 1000
//! ```
//! Take the difference between runs of 3000 and 1000 samples and divide by 2000: the
//! per-sample cost, without the set-up. In a private pid namespace (`unshare -pf`) no birth
//! elsewhere on the machine adds a probe.

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use memwatch::job::Job;
use memwatch::sys::NativeInspector;

/// P sleeping children, killed at the end.
struct Sleepers(Vec<Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The measured part: `n` steady-state samples.
#[inline(never)]
fn steady(job: &mut Job<NativeInspector>, n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        let s = job
            .sample(Duration::from_millis(10 * (i + 4)), false)
            .expect("sample");
        total += s.total_rss_kib;
    }
    total
}

fn main() {
    let mut args = std::env::args().skip(1);
    // Under `cargo bench` the harness passes `--bench`: nothing to count then.
    let Some(p) = args.next().and_then(|a| a.parse::<usize>().ok()) else {
        return;
    };
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let sleepers = Sleepers(
        (0..p)
            .map(|_| {
                Command::new("sleep")
                    .arg("100000")
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("spawn sleep")
            })
            .collect(),
    );
    std::thread::sleep(Duration::from_millis(200));
    let self_pid = std::process::id() as i32;
    let root = sleepers.0[0].id() as i32;
    let mut job = Job::new(
        NativeInspector::new(self_pid).expect("inspector"),
        self_pid,
        root,
        p,
    );
    // Warm up: the first samples find the job and open what is kept open.
    for i in 0..3 {
        job.sample(Duration::from_millis(10 * i), true)
            .expect("sample");
    }
    assert_eq!(job.live_pids().len(), p, "the job is found whole");
    println!("{}", black_box(steady(&mut job, n)));
}
