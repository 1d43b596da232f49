//! A job of `sleep 600` processes for the tests that drive the sampler directly
//! (`tests/alloc.rs`, `tests/descriptors.rs`, each its own test binary), included by path.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `sleep 600` children, killed when the test ends, pass or fail.
pub(crate) struct Sleepers(pub Vec<Child>);

impl Sleepers {
    /// Start `n` sleepers and wait (at most 30 s) until every one runs `sleep`, so no
    /// command line changes while the sampler watches them.
    pub(crate) fn start(n: usize) -> Sleepers {
        let sleepers = Sleepers(
            (0..n)
                .map(|_| {
                    Command::new("sleep")
                        .arg("600")
                        .stdin(Stdio::null())
                        .spawn()
                        .expect("spawn sleep")
                })
                .collect(),
        );
        let until = Instant::now() + Duration::from_secs(30);
        for c in &sleepers.0 {
            let path = format!("/proc/{}/cmdline", c.id());
            while std::fs::read(&path).ok().as_deref() != Some(b"sleep\x00600\x00".as_slice()) {
                assert!(Instant::now() < until, "pid {} never ran sleep", c.id());
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        sleepers
    }

    /// The first sleeper's pid: the job's root.
    pub(crate) fn root(&self) -> i32 {
        self.0[0].id() as i32
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
