//! The hidden `memwatch __workload` subcommand: a deterministic job for memwatch's own
//! tests and benches on both platforms. It allocates and touches a known amount of memory,
//! forks children, chains, daemons and threads, ignores signals, and exits as told.

use std::time::Duration;

use clap::Args;

/// Options of the test workload.
#[derive(Debug, Args, Clone)]
pub(crate) struct WorkloadArgs {
    /// MiB each worker process touches (the parent too, unless --parent-mib is given).
    #[arg(long, default_value = "0")]
    pub mib: u64,
    /// MiB the parent touches when it has children (default: --mib).
    #[arg(long)]
    pub parent_mib: Option<u64>,
    /// With --units X: each worker touches --mib + X times this many MiB (`a + b·x` MiB,
    /// for a sweep over x).
    #[arg(long, default_value = "0")]
    pub mib_per_unit: u64,
    /// The x of --mib-per-unit.
    #[arg(long, default_value = "0")]
    pub units: u64,
    /// Children to fork; each touches --mib and holds.
    #[arg(long, default_value = "0")]
    pub fork: u32,
    /// Depth of a chain of processes, each the parent of the next; the last touches --mib.
    #[arg(long, default_value = "0")]
    pub chain: u32,
    /// How long each worker holds its memory, ms.
    #[arg(long, default_value = "0")]
    pub hold_ms: u64,
    /// Touch --mib, hold it this long (ms), free it, then hold --hold-ms with nothing.
    #[arg(long)]
    pub spike_ms: Option<u64>,
    /// Start a daemon (double fork + setsid) that touches --mib and holds --hold-ms, then
    /// exit at once.
    #[arg(long)]
    pub daemon: bool,
    /// Fork the children from a second thread instead of the main one.
    #[arg(long)]
    pub thread_fork: bool,
    /// Ignore SIGTERM, SIGINT and SIGHUP.
    #[arg(long)]
    pub ignore_signals: bool,
    /// MiB of one shared anonymous mapping (MAP_SHARED) that the parent writes and every
    /// forked child reads, so each maps the same pages (for PSS tests).
    #[arg(long, default_value = "0")]
    pub shared_mib: u64,
    /// Linux, root: fork a child that exits at once, wait until no other pid has been
    /// allocated on the machine since (retrying otherwise), then set `ns_last_pid` so that
    /// the worker, forked next, takes that very pid again: a pid reused as the very next
    /// pid. The worker touches --mib and holds --hold-ms; prints `reused pid <N>`. Exits 77
    /// when `ns_last_pid` cannot be written, 75 when the machine never stayed quiet.
    #[arg(long)]
    pub reuse_last_pid: bool,
    /// Touch --mib, then fork one child that waits --exec-delay-ms and then runs this
    /// command (split at spaces, found on PATH), while the parent holds --hold-ms and waits
    /// for it (see --orphan).
    #[arg(long, value_name = "COMMAND")]
    pub fork_exec: Option<String>,
    /// With --fork-exec: how long the child stays a copy of the parent before its exec, ms.
    #[arg(long, default_value = "0")]
    pub exec_delay_ms: u64,
    /// With --fork-exec: do not wait for the child; it is orphaned when the parent exits.
    #[arg(long)]
    pub orphan: bool,
    /// CPU time each worker spends in user mode first, ms: a busy loop that watches its own
    /// CPU clock, so the amount is the same on a busy machine.
    #[arg(long, default_value = "0")]
    pub cpu_ms: u64,
    /// Then CPU time in the kernel, ms: reads of /dev/zero until its own system time has
    /// grown by this much.
    #[arg(long, default_value = "0")]
    pub sys_ms: u64,
    /// Linux: once every --fork child is forked, wait this long (ms), then read the
    /// `statm` of every child and of itself and print `statm_rss_kib <sum>` on standard
    /// output: the job's total RSS by the workload's own reading, for memwatch's to be
    /// checked against.
    #[arg(long, value_name = "MS")]
    pub statm_sum_after_ms: Option<u64>,
    /// The --fork children start their work (and their --hold-ms) together, once the last
    /// one is forked, so that all of them are alive at once however long forking takes.
    #[arg(long)]
    pub together: bool,
    /// Print this line on standard output first.
    #[arg(long)]
    pub print: Option<String>,
    /// Exit with this code at the end.
    #[arg(long, default_value = "0")]
    pub exit: i32,
    /// Kill itself with this signal at the end.
    #[arg(long)]
    pub kill_self: Option<i32>,
}

/// Allocate `mib` MiB and write to every page so it is resident.
pub(crate) fn touch(mib: u64) -> Vec<u8> {
    let len = (mib as usize) * 1024 * 1024;
    let mut v = vec![0u8; len];
    let mut i = 0;
    while i < len {
        v[i] = (i / 4096) as u8 | 1;
        i += 4096;
    }
    std::hint::black_box(&mut v);
    v
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// The work of one worker process: spin, touch, hold (or spike), done.
fn work(a: &WorkloadArgs, mib: u64) {
    #[cfg(unix)]
    {
        spin(a.cpu_ms);
        in_kernel(a.sys_ms);
    }
    let mib = mib + a.mib_per_unit * a.units;
    if let Some(spike) = a.spike_ms {
        let v = touch(mib);
        sleep_ms(spike);
        drop(v);
        sleep_ms(a.hold_ms);
    } else {
        let v = touch(mib);
        sleep_ms(a.hold_ms);
        drop(v);
    }
}

/// This process's CPU time so far: (in user mode, in the kernel).
#[cfg(unix)]
fn cpu_time() -> (Duration, Duration) {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::{TimeVal, TimeValLike};
    let d = |t: TimeVal| Duration::from_micros(t.num_microseconds().max(0) as u64);
    getrusage(UsageWho::RUSAGE_SELF).map_or((Duration::MAX, Duration::MAX), |u| {
        (d(u.user_time()), d(u.system_time()))
    })
}

/// Spend `ms` of CPU time in user mode.
#[cfg(unix)]
fn spin(ms: u64) {
    let (start, want) = (cpu_time().0, Duration::from_millis(ms));
    let mut x = 1u64;
    while cpu_time().0.saturating_sub(start) < want {
        for i in 0..100_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        }
        std::hint::black_box(x);
    }
}

/// Spend `ms` of CPU time in the kernel: it zeroes a buffer for every read of /dev/zero.
#[cfg(unix)]
fn in_kernel(ms: u64) {
    use std::io::Read;
    if ms == 0 {
        return;
    }
    let mut zero = std::fs::File::open("/dev/zero").expect("workload: open /dev/zero");
    let mut buf = vec![1u8; 1 << 20];
    let (start, want) = (cpu_time().1, Duration::from_millis(ms));
    while cpu_time().1.saturating_sub(start) < want {
        for _ in 0..16 {
            let _ = zero.read(&mut buf);
        }
        std::hint::black_box(&buf);
    }
}

#[cfg(unix)]
fn fork_child(f: impl FnOnce()) -> Option<nix::unistd::Pid> {
    use nix::unistd::{ForkResult, fork};
    // SAFETY: the workload forks only while single-threaded (or, with --thread-fork, from
    // the one thread that then only touches memory, sleeps and exits).
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            f();
            std::process::exit(0);
        }
        Ok(ForkResult::Parent { child }) => Some(child),
        Err(e) => {
            eprintln!("workload: fork failed: {e}");
            None
        }
    }
}

/// Run the workload; returns the exit code.
#[cfg(unix)]
pub(crate) fn run(a: &WorkloadArgs) -> i32 {
    use nix::sys::signal::{SigHandler, Signal, signal};
    use nix::sys::wait::waitpid;

    if let Some(text) = &a.print {
        println!("{text}");
    }
    if a.ignore_signals {
        for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
            // SAFETY: setting SIG_IGN installs no handler code.
            let _ = unsafe { signal(s, SigHandler::SigIgn) };
        }
    }
    if a.reuse_last_pid {
        return reuse_last_pid(a);
    }
    if a.daemon {
        let args = a.clone();
        fork_child(move || {
            let _ = nix::unistd::setsid();
            fork_child(|| work(&args, args.mib));
        })
        .map(|p| waitpid(p, None));
        return finish(a);
    }
    if let Some(command) = &a.fork_exec {
        return fork_exec(a, command);
    }
    if a.chain > 0 {
        let mut next = a.clone();
        next.chain -= 1;
        if let Some(p) = fork_child(move || {
            let code = run(&next);
            std::process::exit(code);
        }) {
            let _ = waitpid(p, None);
        }
        return finish(a);
    }
    let shared = (a.shared_mib > 0).then(|| SharedMap::new(a.shared_mib));
    let mut children = Vec::new();
    // --together: the children wait for the end of this pipe, closed once all are forked.
    let gate = a
        .together
        .then(|| nix::unistd::pipe().expect("workload: pipe"));
    let forker = |children: &mut Vec<nix::unistd::Pid>| {
        for _ in 0..a.fork {
            if let Some(p) = fork_child(|| {
                if let Some((read, write)) = &gate {
                    // SAFETY: closing this child's copy of the write end, which it owns.
                    unsafe { libc::close(std::os::fd::AsRawFd::as_raw_fd(write)) };
                    let _ = nix::unistd::read(read, &mut [0u8; 1]);
                }
                if let Some(m) = &shared {
                    m.read_every_page();
                }
                work(a, a.mib)
            }) {
                children.push(p);
            }
        }
    };
    if a.thread_fork {
        std::thread::scope(|s| {
            s.spawn(|| forker(&mut children));
        });
    } else {
        forker(&mut children);
    }
    drop(gate);
    let own = if a.fork > 0 {
        a.parent_mib.unwrap_or(a.mib)
    } else {
        a.mib
    };
    #[cfg(target_os = "linux")]
    if let Some(ms) = a.statm_sum_after_ms {
        sleep_ms(ms);
        println!("statm_rss_kib {}", statm_sum(&children));
    }
    work(a, own);
    for p in children {
        let _ = waitpid(p, None);
    }
    finish(a)
}

/// The resident size of `children` and of this process by their `statm`, KiB.
#[cfg(target_os = "linux")]
fn statm_sum(children: &[nix::unistd::Pid]) -> u64 {
    // SAFETY: sysconf with a valid name.
    let page_kib =
        u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096) / 1024;
    let resident = |path: String| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let own = resident("/proc/self/statm".to_string());
    let kids: u64 = children
        .iter()
        .map(|p| resident(format!("/proc/{p}/statm")))
        .sum();
    (own + kids) * page_kib
}

/// `--reuse-last-pid`: run the worker under the pid allocated last, freed just before.
#[cfg(target_os = "linux")]
fn reuse_last_pid(a: &WorkloadArgs) -> i32 {
    use nix::sys::wait::waitpid;
    let last_pid = || {
        std::fs::read("/proc/loadavg")
            .ok()
            .and_then(|b| crate::sys::linux::procfs::parse_loadavg_last_pid(&b))
    };
    for _ in 0..200 {
        let Some(first) = fork_child(|| {}) else {
            return 1;
        };
        let _ = waitpid(first, None);
        let pid = first.as_raw();
        // Let a sampler see `pid` as the last allocated pid for a while.
        sleep_ms(60);
        if last_pid() != Some(pid) {
            continue;
        }
        if let Err(e) = std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()) {
            eprintln!("workload: cannot write /proc/sys/kernel/ns_last_pid: {e}");
            return 77;
        }
        let args = a.clone();
        let Some(second) = fork_child(move || {
            // Another process may have taken the pid first: then this one only exits.
            if nix::unistd::getpid().as_raw() == pid {
                work(&args, args.mib);
            }
        }) else {
            return 1;
        };
        let _ = waitpid(second, None);
        if second.as_raw() == pid {
            println!("reused pid {pid}");
            return finish(a);
        }
    }
    eprintln!("workload: no pid was reused (other processes kept being born)");
    75
}

#[cfg(all(unix, not(target_os = "linux")))]
fn reuse_last_pid(_: &WorkloadArgs) -> i32 {
    eprintln!("workload: --reuse-last-pid needs Linux");
    77
}

/// `--fork-exec`: touch --mib, fork a child that stays a copy of this process for
/// --exec-delay-ms and then execs `command`; hold --hold-ms, then wait for it unless
/// --orphan.
#[cfg(unix)]
fn fork_exec(a: &WorkloadArgs, command: &str) -> i32 {
    use std::ffi::CString;
    let argv: Vec<CString> = command
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| CString::new(s).expect("workload: a NUL in --fork-exec"))
        .collect();
    assert!(!argv.is_empty(), "workload: --fork-exec needs a command");
    let v = touch(a.mib);
    let delay = a.exec_delay_ms;
    let child = fork_child(move || {
        sleep_ms(delay);
        let _ = nix::unistd::execvp(&argv[0], &argv);
        eprintln!("workload: cannot run {:?}", argv[0]);
        std::process::exit(127);
    });
    sleep_ms(a.hold_ms);
    drop(v);
    if !a.orphan {
        if let Some(p) = child {
            let _ = nix::sys::wait::waitpid(p, None);
        }
    }
    finish(a)
}

/// A shared anonymous mapping, written by its creator so every page exists.
#[cfg(unix)]
struct SharedMap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping lives as long as the value and is only read through volatile byte
// accesses after creation; sharing the pointer with the forking thread is sound.
#[cfg(unix)]
unsafe impl Sync for SharedMap {}

#[cfg(unix)]
impl SharedMap {
    fn new(mib: u64) -> SharedMap {
        let len = (mib as usize) * 1024 * 1024;
        // SAFETY: a fresh anonymous mapping; no existing memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            ptr != libc::MAP_FAILED,
            "workload: mmap of {mib} MiB failed"
        );
        let ptr = ptr.cast::<u8>();
        for i in (0..len).step_by(4096) {
            // SAFETY: `i < len`, inside the mapping just created, which is writable.
            unsafe { ptr.add(i).write_volatile(1) };
        }
        SharedMap { ptr, len }
    }

    /// Read one byte of every page, so this process maps them all.
    fn read_every_page(&self) {
        let mut sum = 0u8;
        for i in (0..self.len).step_by(4096) {
            // SAFETY: `i < len`, inside the live mapping (inherited across fork).
            sum = sum.wrapping_add(unsafe { self.ptr.add(i).read_volatile() });
        }
        std::hint::black_box(sum);
    }
}

#[cfg(unix)]
fn finish(a: &WorkloadArgs) -> i32 {
    if let Some(sig) = a.kill_self {
        // SAFETY: kill(2) on our own pid.
        unsafe { libc::kill(libc::getpid(), sig) };
        sleep_ms(1000);
    }
    a.exit
}
