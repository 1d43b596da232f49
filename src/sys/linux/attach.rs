//! What `memwatch attach` asks of `/proc` before it follows a running process: who the
//! process is (or why it cannot be attached to) and its arguments.

use rustix::io::Errno;

use super::discover::{exists, seen_of};
use super::files::{self, ProcPath, is_denied};
use super::procfs;
use crate::sys::{Pid, Refusal, Seen};

/// The process `pid` as discovery would see it, or why memwatch cannot attach to it.
pub(crate) fn process(pid: Pid) -> Result<Seen, Refusal> {
    let mut buf = vec![0u8; 4096];
    let stat = match files::read_file(ProcPath::file(pid, "stat").as_c_str(), &mut buf) {
        Ok(n) => procfs::parse_stat(&buf[..n]).ok_or(Refusal::Absent)?,
        // Hidden by `hidepid=invisible`, or not there.
        Err(Errno::NOENT) if pid > 0 && exists(pid) => return Err(Refusal::Hidden),
        Err(e) if is_denied(e) => return Err(Refusal::Hidden),
        Err(_) => return Err(Refusal::Absent),
    };
    if stat.is_thread() {
        return Err(Refusal::Thread);
    }
    if stat.is_dead() {
        return Err(Refusal::Exited);
    }
    // A kernel thread has no memory of its own: its statm is all zeros.
    let statm = files::read_file(ProcPath::file(pid, "statm").as_c_str(), &mut buf)
        .ok()
        .and_then(|n| procfs::parse_statm(&buf[..n]));
    if statm.is_some_and(|s| s.is_empty()) {
        return Err(Refusal::KernelThread);
    }
    Ok(seen_of(&stat))
}

/// The arguments of `pid` (lossy UTF-8), `None` when they cannot be read.
pub(crate) fn arguments(pid: Pid) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = procfs::cmdline_args(&raw)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!args.is_empty()).then_some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_what_is_not_one() {
        let me = std::process::id() as Pid;
        let s = process(me).unwrap();
        assert_eq!(s.id.pid, me);
        assert_eq!(s.ppid, nix::unistd::getppid().as_raw());
        assert!(arguments(me).is_some_and(|a| !a.is_empty()));
        assert!(matches!(process(i32::MAX), Err(Refusal::Absent)));
        // A thread of this process (the test harness runs each test on its own thread).
        let tid = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<Pid>().ok())
            .find(|&t| t != me);
        if let Some(tid) = tid {
            assert!(matches!(process(tid), Err(Refusal::Thread)));
        }
        // kthreadd, the kernel threads' parent.
        if std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd") {
            assert!(matches!(process(2), Err(Refusal::KernelThread)));
        }
    }
}
