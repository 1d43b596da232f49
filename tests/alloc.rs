//! Proof of the sampler's zero-allocation promise: a counting global allocator around 1000
//! steady-state samples of a live 64-process job.
//!
//! This is its own test binary so the counting allocator is installed nowhere else, and it
//! counts only on the thread that samples (the test harness's own threads may allocate).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use memwatch::job::Job;
use memwatch::sys::NativeInspector;

#[path = "support/sleepers.rs"]
mod sleepers;
use sleepers::Sleepers;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if COUNTING.with(|c| c.get()) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting touches only a
// const-initialised thread-local and an atomic, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_samples_do_not_allocate() {
    const JOB: usize = 64;
    const SAMPLES: u32 = 1000;

    // Every sleeper has exec'd: no command line changes during the measured samples.
    let sleepers = Sleepers::start(JOB);

    let self_pid = std::process::id() as i32;
    let root = sleepers.root();
    let inspector = NativeInspector::new(self_pid).expect("inspector");
    let mut job = Job::new(inspector, self_pid, root, JOB);

    // Warm-up: the first samples admit the 64 processes (records, command lines, files).
    let mut t = Duration::ZERO;
    for i in 0..5 {
        let s = job.sample(t, i == 0).expect("sample");
        t += Duration::from_millis(10);
        assert_eq!(
            s.processes as usize, JOB,
            "warm-up sample {i} sees the whole job"
        );
    }

    COUNTING.with(|c| c.set(true));
    let mut seen = 0u64;
    for i in 0..SAMPLES {
        // Every hundredth sample is a complete search, as the run loop's safety net does.
        let s = job.sample(t, i % 100 == 0).expect("sample");
        t += Duration::from_millis(10);
        seen += u64::from(s.processes);
    }
    COUNTING.with(|c| c.set(false));

    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        seen,
        u64::from(SAMPLES) * JOB as u64,
        "every sample saw all 64 processes"
    );
    assert_eq!(
        allocations, 0,
        "{allocations} heap allocations in {SAMPLES} steady-state samples of {JOB} processes"
    );
    assert!(job.max_total_rss_kib() > 0);
    drop(sleepers);
}
