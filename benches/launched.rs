//! The cost of the search for Slurm's step daemons (`Inspector::launched_search`), which
//! memwatch runs once a second while the job runs a launcher (`memwatch run -- srun …`):
//! a listing of `/proc` and a `stat` read of every process that was not there at the
//! previous search (all of them at the first). Prints the first search and the median of
//! 200, with M extra sleeping processes on the machine:
//! ```sh
//! cargo bench --bench launched -- 0      # and: -- 1000
//! ```

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memwatch::sys::{Discovery, Inspector, NativeInspector};

/// Sleeping processes, killed at the end.
struct Sleepers(Vec<Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn main() {
    let others: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(0);
    let _sleepers = Sleepers(
        (0..others)
            .map(|_| {
                Command::new("sleep")
                    .arg("100000")
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("spawn sleep")
            })
            .collect(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let processes = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .count()
        })
        .unwrap_or(0);
    let mut inspector = NativeInspector::new(std::process::id() as i32).expect("inspector");
    let d = Discovery {
        root: 0,
        live: &[],
        is_live: &|_| false,
        full: true,
        roots: &[],
    };
    let mut out = Vec::new();
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            out.clear();
            let t0 = Instant::now();
            inspector.launched_search(&d, &mut out);
            t0.elapsed()
        })
        .collect();
    let first = times[0];
    times.sort();
    println!(
        "launched_search: first {:.0} µs, median {:.0} µs over 200 searches, {processes} processes on the machine ({others} of them added sleepers), {} step daemon children found",
        first.as_secs_f64() * 1e6,
        times[100].as_secs_f64() * 1e6,
        out.len()
    );
}
