//! The pure half of the macOS backend: every decision it makes that needs no macOS (which
//! listed pids to probe, who may belong to the job, units, the bytes of `kinfo_proc` it
//! reads, how a command line is shown). Compiled on macOS and in unit tests everywhere, so
//! it is unit-tested on Linux; the FFI that feeds it lives in `libproc.rs` alone.

use super::procargs::parse_procargs2;
use crate::sys::unix::reap::Peek;
use crate::sys::{Pid, join_args, truncate_at_char};

/// Resident size in bytes (`ri_resident_size`, `pti_resident_size`) to KiB, rounded down as
/// Linux's page counts never need to be.
pub(super) fn bytes_to_kib(bytes: u64) -> u64 {
    bytes / 1024
}

/// A `timeval` start time (`pbi_start_tvsec`/`pbi_start_tvusec`, or `kinfo_proc`'s
/// `p_starttime`) as microseconds since the epoch: the macOS [`crate::sys::ProcId::start`].
pub(super) fn start_us(sec: u64, usec: u64) -> u64 {
    sec.saturating_mul(1_000_000).saturating_add(usec)
}

/// A process's birth for ordering parent and child ([`crate::sys::Seen::born`]), from its
/// `proc_pid_rusage` figures: `ri_proc_start_abstime`, the Mach absolute time the kernel
/// stamps at fork together with the wall-clock `p_start` (xnu `forkproc`,
/// `microtime_with_abstime`; `exec` keeps both). Unlike `p_start` it never steps back, so a
/// child forked after the clock was set back is still born after its parent. `None` for a
/// zombie's stashed figures (`exit_abstime` set) and for a zero time, which no process has.
pub(super) fn born(start_abstime: u64, exit_abstime: u64) -> Option<u64> {
    (exit_abstime == 0 && start_abstime > 0).then_some(start_abstime)
}

/// How many pids to offer `proc_listallpids` next, after a listing filled all `current`
/// slots (or before the first, with `current == 0`): at least double, at least half as
/// much again as the kernel's size hint (`proc_listallpids(NULL, 0)`, which is the number
/// of processes plus 20), and never fewer than 256.
pub(super) fn list_len(current: usize, hint: i32) -> usize {
    let hint = usize::try_from(hint).unwrap_or(0);
    current
        .saturating_mul(2)
        .max(hint.saturating_add(hint / 2))
        .max(256)
}

/// Whether memwatch starts the command in a process group of its own (`self_pid` is
/// memwatch's pid, `own_pgid` its group, `has_terminal` whether it has a controlling
/// terminal), so that the job's orphans stay recognisable by their group (see
/// [`adopted_ppid`]).
///
/// - memwatch leads its group (an interactive shell's job control made it, `setsid`):
///   no. The command shares it, with the terminal, and the group is memwatch's pid.
/// - memwatch does not lead its group and has no controlling terminal (CI, `make` or a
///   script without a terminal, `ssh host cmd`, launchd): yes. The group memwatch is in is
///   someone else's (the CI runner's, the script's), shared with processes that are not the
///   job; a group of the command's own has its pid, and with no terminal it loses nothing:
///   no foreground to leave, no Ctrl+C or Ctrl+Z to miss. memwatch still passes on the
///   signals it is sent (to the job processes outside its own group, or all of them).
/// - memwatch does not lead its group but has a terminal (a script or `make` started from
///   an interactive shell): no. A group of its own would be a background group: the
///   command would stop at its first read from the terminal (SIGTTIN) or change of its
///   settings (SIGTTOU), and Ctrl+Z would not reach it. The job keeps the group it is in,
///   and orphans there are followed only through a live group leader (a limit docs/accuracy.md states).
pub(super) fn command_in_own_group(self_pid: Pid, own_pgid: Pid, has_terminal: bool) -> bool {
    own_pgid != self_pid && !has_terminal
}

/// The parent memwatch records for a process. macOS has no child subreaper: an orphan is
/// re-parented to launchd (pid 1). One whose process group is memwatch's own
/// (`pgid == self_pid`: a group memwatch leads, which the job inherits unless it moves) or
/// the command's (`pgid == root`: the group the command memwatch started created, as it
/// does when memwatch starts it in a group of its own, see [`command_in_own_group`]) can
/// only descend from the job, so it is recorded as memwatch's child, exactly what a Linux
/// subreaper would show. Both ids are safe: xnu gives no new process a pid that is in use
/// as a group id (`forkproc`), so a group with that id is the one memwatch or the command
/// made for as long as it has a member; the command's pid could come back only after the
/// group emptied and all other pids were used (the same bound as for a recycled pid). Every
/// other parent is kept.
pub(super) fn adopted_ppid(ppid: Pid, pgid: Pid, self_pid: Pid, root: Pid) -> Pid {
    if ppid == 1 && (pgid == self_pid || (root > 1 && pgid == root)) {
        self_pid
    } else {
        ppid
    }
}

/// A process discovery probed and that is not a zombie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Row {
    /// Its pid.
    pub(super) pid: Pid,
    /// Its parent as recorded (see [`adopted_ppid`]).
    pub(super) ppid: Pid,
    /// Its process group.
    pub(super) pgid: Pid,
    /// Whether it may belong to the job (set by [`mark_candidates`]).
    pub(super) candidate: bool,
}

/// Call `f(pid, new)` once for every distinct pid of `listed`, where `new` tells whether
/// the pid is absent from `known`. Both must be sorted ascending. Linear, no allocation.
pub(super) fn merge_listing(listed: &[Pid], known: &[Pid], mut f: impl FnMut(Pid, bool)) {
    let mut k = 0;
    let mut prev = None;
    for &pid in listed {
        if prev == Some(pid) {
            continue;
        }
        prev = Some(pid);
        while k < known.len() && known[k] < pid {
            k += 1;
        }
        f(pid, known.get(k) != Some(&pid));
    }
}

/// Mark the rows that may belong to the job, as a superset of the core's admission rule
/// ([`crate::job`]): the parent is memwatch, a live job process or another marked row; or
/// the process group is led by a live job process or a marked row. Rows must be sorted by
/// pid (they come from a sorted listing), so a row is looked up by binary search; the
/// marking repeats until nothing changes, so a child is marked whatever its pid is relative
/// to its parent's (pids wrap around). Only marked rows cost a start-time read.
pub(super) fn mark_candidates(rows: &mut [Row], self_pid: Pid, is_live: &dyn Fn(Pid) -> bool) {
    for r in rows.iter_mut() {
        r.candidate = r.ppid == self_pid
            || is_live(r.ppid)
            || (r.pgid > 0 && r.pgid != r.pid && is_live(r.pgid));
    }
    loop {
        let mut changed = false;
        for i in 0..rows.len() {
            if rows[i].candidate {
                continue;
            }
            let Row {
                pid, ppid, pgid, ..
            } = rows[i];
            let marked = |p: Pid| {
                rows.binary_search_by_key(&p, |r| r.pid)
                    .is_ok_and(|j| rows[j].candidate)
            };
            if marked(ppid) || (pgid > 0 && pgid != pid && marked(pgid)) {
                rows[i].candidate = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Where `p_starttime` and `p_stat` sit in the LP64 `struct kinfo_proc` that
/// `sysctl([CTL_KERN, KERN_PROC, KERN_PROC_PID, pid])` returns. Its first member is the
/// `extern_proc`, whose first member is a union holding, in user space, the start time as a
/// `struct timeval` (`tv_sec`: i64 at 0, `tv_usec`: i32 at 8, padded to 16), then
/// `p_vmspace` (8 bytes), `p_sigacts` (8), `p_flag` (i32 at 32) and `p_stat` (char at 36).
/// xnu `bsd/sys/sysctl.h`, `bsd/sys/proc.h`; filled by `fill_user64_externproc` in
/// `bsd/kern/kern_sysctl.c` from the same `p_start` as `pbi_start_tvsec`/`usec`.
mod kinfo {
    /// `sizeof(struct kinfo_proc)` on LP64 (x86_64 and arm64).
    pub(super) const SIZE: usize = 648;
    /// Offset of `p_starttime.tv_sec` (i64).
    pub(super) const START_SEC: usize = 0;
    /// Offset of `p_starttime.tv_usec` (i32).
    pub(super) const START_USEC: usize = 8;
    /// Offset of `p_stat` (char).
    pub(super) const STAT: usize = 36;
}

/// What memwatch reads from a `kinfo_proc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct KinfoStart {
    /// Start time, microseconds since the epoch (as [`start_us`]).
    pub(super) start_us: u64,
    /// `p_stat == SZOMB`.
    pub(super) zombie: bool,
}

/// `SZOMB` of `<sys/proc.h>`.
const SZOMB: u8 = 5;

/// Read the start time and zombie state out of a `kinfo_proc` returned by
/// `sysctl(KERN_PROC_PID)` (native endian). `None` when the reply is short (the kernel
/// answers an empty buffer for a pid with no process) or the time is not a valid timeval.
pub(super) fn parse_kinfo_proc(buf: &[u8]) -> Option<KinfoStart> {
    if buf.len() < kinfo::SIZE {
        return None;
    }
    let sec = i64::from_ne_bytes(
        buf[kinfo::START_SEC..kinfo::START_SEC + 8]
            .try_into()
            .ok()?,
    );
    let usec = i32::from_ne_bytes(
        buf[kinfo::START_USEC..kinfo::START_USEC + 4]
            .try_into()
            .ok()?,
    );
    let sec = u64::try_from(sec).ok().filter(|&s| s > 0)?;
    let usec = u64::try_from(usec).ok().filter(|&u| u < 1_000_000)?;
    Some(KinfoStart {
        start_us: start_us(sec, usec),
        zombie: buf[kinfo::STAT] == SZOMB,
    })
}

/// The command line from a `KERN_PROCARGS2` buffer: the arguments joined (as on Linux), or
/// the executable path when the process has no arguments. `None` when the buffer holds
/// neither.
pub(super) fn command_from_procargs(buf: &[u8]) -> Option<String> {
    let args = parse_procargs2(buf)?;
    if !args.argv.is_empty() {
        return Some(join_args(args.argv));
    }
    if !args.exec_path.is_empty() {
        return Some(join_args([args.exec_path]));
    }
    None
}

/// The size of memwatch's `KERN_PROCARGS2` buffer for a `kern.argmax` of `argmax`: the
/// 4-byte argc slot plus `argmax` bytes for the arguments area, the most the kernel takes
/// (`sysctl_procargsx` refuses, EINVAL, more than `ARG_MAX` after the argc slot, and
/// `kern.argmax` is `ARG_MAX`).
pub(super) fn procargs_capacity(argmax: usize) -> usize {
    argmax.saturating_add(4)
}

/// The command line from a `KERN_PROCARGS2` reply of `reply.len()` bytes into a buffer of
/// `capacity` bytes, or `None` when the reply cannot be trusted.
///
/// When the arguments area is larger than the buffer, `sysctl_procargsx` copies only its
/// tail, behind the right argc: the executable path and the first arguments are lost, and
/// what would be parsed as arguments is the middle of the area (later arguments, the
/// environment, the apple strings). The area can be larger than any buffer the kernel
/// accepts: it holds up to `ARG_MAX` bytes of arguments and environment plus a page
/// (`exec_extract_strings` allows `NCARGS + PAGE_SIZE`), the path and the apple strings.
/// Such a reply fills the buffer exactly, so a full buffer is not read (the caller shows
/// the executable path instead); an area of exactly the buffer's size is lost with it.
pub(super) fn command_from_procargs_reply(reply: &[u8], capacity: usize) -> Option<String> {
    if reply.len() >= capacity {
        return None;
    }
    command_from_procargs(reply)
}

/// The command shown for a process whose arguments cannot be read, from the executable
/// path `proc_pidpath` gave (it works for other users' processes).
pub(super) fn command_from_path(path: &[u8]) -> Option<String> {
    let path = &path[..path.iter().position(|&b| b == 0).unwrap_or(path.len())];
    if path.is_empty() {
        return None;
    }
    let mut s = String::from_utf8_lossy(path).into_owned();
    truncate_at_char(&mut s, crate::sys::MAX_COMMAND_BYTES);
    Some(s)
}

/// The last resort: the short name (`pbsi_comm`, at most 15 bytes) in brackets, as the Linux
/// backend shows a process without arguments.
pub(super) fn command_from_comm(comm: &[u8]) -> String {
    let comm = &comm[..comm.iter().position(|&b| b == 0).unwrap_or(comm.len())];
    if comm.is_empty() {
        return String::from("[unknown]");
    }
    format!("[{}]", String::from_utf8_lossy(comm))
}

/// What `waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)` said about memwatch's children, from
/// its return value `ret`, the errno when it failed, and the `si_pid` of the siginfo it was
/// given zeroed (it leaves it so when no child has exited). The footprint is read by the
/// caller. When no child has exited, none may be reaped: a `wait4(-1)` now could reap one
/// that exits a moment later, before its footprint was read.
pub(super) fn exited_child(ret: i32, errno: i32, si_pid: Pid) -> Peek {
    match (ret, si_pid) {
        (0, pid) if pid > 0 => Peek::Exited {
            pid,
            max_footprint_kib: None,
        },
        (0, _) => Peek::Running,
        _ if errno == libc::ECHILD => Peek::NoChild,
        // Interrupted: look again next time.
        _ if errno == libc::EINTR => Peek::Running,
        // waitid failing otherwise (it should not): reap whichever child exited rather
        // than none, losing only its footprint.
        _ => Peek::Any,
    }
}

/// The signals a terminal raises for its foreground process group: SIGHUP, SIGINT, SIGQUIT
/// (the same numbers on macOS and Linux).
const TERMINAL_SIGNALS: [i32; 3] = [1, 2, 3];

/// Who a caught signal's `si_pid` names, as far as memwatch can learn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sender {
    /// A live process, of this session.
    Live {
        /// Its session.
        session: Pid,
    },
    /// The command memwatch started, which has exited (`getsid` refuses a zombie).
    ExitedRoot,
    /// Another process that has exited, or none.
    Exited,
}

/// Whether a caught signal that names a sender (macOS always does, see
/// `sys::unix::raised_by_terminal`) most likely came from memwatch's terminal: Ctrl+C,
/// Ctrl+\ or a hangup, which already reached the job through the foreground process group,
/// as opposed to a `kill` aimed at memwatch alone, which must be passed on.
///
/// The rule: a terminal signal, while memwatch is in its terminal's foreground process
/// group, whose sender is
/// - a live process of another session (the terminal emulator, sshd or tmux writing to the
///   pty is never in the session of the shell it serves), or
/// - the command memwatch started, exited. xnu keeps one `si_pid` per process, and a child's
///   exit overwrites it with the child's pid (`proc_exit` in `bsd/kern/kern_exit.c`), which
///   the next signal delivered carries (`sendsig`). memwatch's only child is the command, so
///   when the command exits on the same Ctrl+C before memwatch's handler runs, memwatch's
///   SIGINT names the command. Taken for a `kill`, it would be sent again to every job
///   process, and programs that read a second Ctrl+C as "force quit" would skip their
///   cleanup.
///
/// A sender of memwatch's own session (the script that started it) or another one that
/// already exited (a short-lived `kill` command) is a process. A `kill -INT` from another
/// terminal while memwatch runs in the foreground is mistaken for Ctrl+C, and so is one
/// whose sender is masked by the command's exit: it is not passed on, and a second signal
/// still kills the job.
pub(super) fn raised_by_terminal(
    signal: i32,
    sender: Sender,
    own_session: Pid,
    in_foreground: impl FnOnce() -> bool,
) -> bool {
    let from_elsewhere = match sender {
        Sender::Live { session } => session != own_session,
        Sender::ExitedRoot => true,
        Sender::Exited => false,
    };
    TERMINAL_SIGNALS.contains(&signal) && from_elsewhere && in_foreground()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes_to_kib(0), 0);
        assert_eq!(bytes_to_kib(1023), 0);
        assert_eq!(bytes_to_kib(1024), 1);
        assert_eq!(bytes_to_kib(257 * 1024 * 1024 + 512), 257 * 1024);
        assert_eq!(start_us(1_700_000_000, 123_456), 1_700_000_000_123_456);
        assert_eq!(start_us(u64::MAX, 1), u64::MAX);
        // Order of start times is the order of (sec, usec).
        assert!(start_us(10, 999_999) < start_us(11, 0));
    }

    #[test]
    fn births_come_from_the_mach_clock() {
        // Shaped like two `proc_pid_rusage` replies: a live process, then its zombie.
        assert_eq!(born(41_000_123, 0), Some(41_000_123));
        assert_eq!(born(41_000_123, 52_000_000), None);
        assert_eq!(born(0, 0), None);
    }

    #[test]
    fn only_the_child_waitid_reported_is_reaped() {
        // A zombie child 4242: reap it, after reading its footprint.
        assert_eq!(
            exited_child(0, 0, 4242),
            Peek::Exited {
                pid: 4242,
                max_footprint_kib: None
            }
        );
        // Children, none exited (siginfo left zeroed): reap nothing, not `wait4(-1)`.
        assert_eq!(exited_child(0, 0, 0), Peek::Running);
        // No child at all.
        assert_eq!(exited_child(-1, libc::ECHILD, 0), Peek::NoChild);
        // Interrupted: look again.
        assert_eq!(exited_child(-1, libc::EINTR, 0), Peek::Running);
        // Refused for a reason it should not have: reap as without the look.
        assert_eq!(exited_child(-1, libc::EINVAL, 0), Peek::Any);
    }

    #[test]
    fn list_grows() {
        assert_eq!(list_len(0, 0), 256);
        assert_eq!(list_len(0, -1), 256);
        assert_eq!(list_len(0, 1000), 1500);
        assert_eq!(list_len(1500, 1000), 3000);
        assert_eq!(list_len(300, 5000), 7500);
        assert!(list_len(usize::MAX / 2 + 1, i32::MAX) >= usize::MAX / 2);
    }

    #[test]
    fn orphans_in_memwatchs_group_are_adopted() {
        const ME: Pid = 500;
        const ROOT: Pid = 501;
        assert_eq!(adopted_ppid(1, ME, ME, ROOT), ME);
        // In the group the command made.
        assert_eq!(adopted_ppid(1, ROOT, ME, ROOT), ME);
        // Not an orphan: the real parent stays.
        assert_eq!(adopted_ppid(600, ME, ME, ROOT), 600);
        assert_eq!(adopted_ppid(600, ROOT, ME, ROOT), 600);
        // An orphan of another group (a daemon that called setsid) escapes.
        assert_eq!(adopted_ppid(1, 700, ME, ROOT), 1);
        // No root yet: no group 0 or 1 to match.
        assert_eq!(adopted_ppid(1, 0, ME, 0), 1);
    }

    /// A process table as discovery probes it (pid, ppid, pgid), run through what discovery
    /// decides: the recorded parent, then the candidates for the job.
    fn candidates(table: &[(Pid, Pid, Pid)], me: Pid, root: Pid, live: &[Pid]) -> Vec<Pid> {
        let mut rows: Vec<Row> = table
            .iter()
            .map(|&(pid, ppid, pgid)| row(pid, adopted_ppid(ppid, pgid, me, root), pgid))
            .collect();
        rows.sort_by_key(|r| r.pid);
        mark_candidates(&mut rows, me, &|p| live.contains(&p));
        marked(&rows)
    }

    #[test]
    fn a_ci_run_gives_the_command_a_group_and_keeps_its_orphans() {
        // GitHub Actions: the runner (50) runs bash (60) in its group, no terminal; bash
        // runs memwatch (70), which does not lead the group.
        const ME: Pid = 70;
        assert!(command_in_own_group(ME, 50, false));
        // memwatch started `make` (80) in a group of its own. make's shell (81) exited
        // before any sample saw it; its background job (82) and a double-forked child
        // (84, without setsid) are orphans in make's group. A setsid daemon (85) left it.
        // bash's own background job (90) was orphaned too, in the runner's group.
        let table = [
            (50, 1, 50),
            (60, 50, 50),
            (80, ME, 80),
            (82, 1, 80),
            (84, 1, 80),
            (85, 1, 85),
            (86, 85, 85),
            (90, 1, 50),
        ];
        assert_eq!(candidates(&table, ME, 80, &[]), [80, 82, 84]);
        // make exited and was reaped before its orphans were found: its group still names it.
        let table = [(50, 1, 50), (60, 50, 50), (82, 1, 80), (90, 1, 50)];
        assert_eq!(candidates(&table, ME, 80, &[]), [82]);
    }

    #[test]
    fn an_interactive_run_shares_memwatchs_group() {
        // zsh (10) with job control made a group for `memwatch run -- make | tee log`:
        // memwatch (20) leads it, tee (22) is in it, and so is the command (21).
        const ME: Pid = 20;
        assert!(!command_in_own_group(ME, ME, true));
        assert!(!command_in_own_group(ME, ME, false));
        // A script or make started from the terminal: memwatch is in its group and keeps
        // the terminal's foreground for the command.
        assert!(!command_in_own_group(ME, 15, true));
        let table = [
            (10, 1, 10),
            (21, ME, ME),
            (22, 10, ME),
            (23, 1, ME),
            (30, 1, 30),
        ];
        assert_eq!(candidates(&table, ME, 21, &[]), [21, 23]);
    }

    #[test]
    fn merging_listings() {
        let merge = |listed: &[Pid], known: &[Pid]| {
            let mut got = Vec::new();
            merge_listing(listed, known, |p, new| got.push((p, new)));
            got
        };
        assert_eq!(
            merge(&[1, 5, 7, 9, 12], &[1, 2, 7, 12, 40]),
            [(1, false), (5, true), (7, false), (9, true), (12, false)]
        );
        assert_eq!(merge(&[3, 3, 4], &[]), [(3, true), (4, true)]);
        assert_eq!(merge(&[], &[1, 2]), []);
        assert_eq!(merge(&[50, 60], &[1, 2]), [(50, true), (60, true)]);
        assert_eq!(merge(&[1, 2], &[5]), [(1, true), (2, true)]);
    }

    /// memwatch's own share of a macOS sample that grows with the machine: sorting the
    /// listing `proc_listallpids` gave (newest first, as xnu walks its process list) and
    /// merging it with the previous one. Prints medians; run on any platform with
    /// `cargo test --release --lib listing_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints a measurement, asserts nothing"]
    fn listing_cost() {
        for others in [100, 1000, 10_000] {
            let known: Vec<Pid> = (100..100 + others).collect();
            let fresh: Vec<Pid> = known.iter().rev().copied().collect();
            let mut listed = fresh.clone();
            let mut times = Vec::new();
            for _ in 0..201 {
                listed.copy_from_slice(&fresh);
                let began = std::time::Instant::now();
                listed.sort_unstable();
                let mut new = 0;
                merge_listing(&listed, &known, |_, n| new += usize::from(n));
                std::hint::black_box(new);
                times.push(began.elapsed());
            }
            times.sort_unstable();
            eprintln!(
                "{others} processes: sort and merge {:?}",
                times[times.len() / 2]
            );
        }
    }

    fn row(pid: Pid, ppid: Pid, pgid: Pid) -> Row {
        Row {
            pid,
            ppid,
            pgid,
            candidate: false,
        }
    }

    fn marked(rows: &[Row]) -> Vec<Pid> {
        rows.iter().filter(|r| r.candidate).map(|r| r.pid).collect()
    }

    #[test]
    fn marks_children_of_memwatch_and_of_live_members() {
        const ME: Pid = 100;
        let live = |p: Pid| p == 200;
        let mut rows = [
            row(150, 1, 150),  // unrelated
            row(201, ME, ME),  // the root
            row(202, 200, ME), // child of a live member
            row(203, 999, 203),
        ];
        mark_candidates(&mut rows, ME, &live);
        assert_eq!(marked(&rows), [201, 202]);
    }

    #[test]
    fn marks_chains_born_between_two_samples_whatever_the_pid_order() {
        const ME: Pid = 100;
        let live = |_: Pid| false;
        // After a pid wrap-around the grandchild has a smaller pid than its parent.
        let mut rows = [row(5, 99_990, ME), row(7, 5, ME), row(99_990, ME, ME)];
        mark_candidates(&mut rows, ME, &live);
        assert_eq!(marked(&rows), [5, 7, 99_990]);
    }

    #[test]
    fn marks_members_of_groups_led_by_the_job() {
        const ME: Pid = 100;
        let live = |p: Pid| p == 300;
        let mut rows = [
            row(301, 1, 300),  // orphan in a group a live member leads
            row(310, ME, 310), // new group leader under memwatch
            row(311, 1, 310),  // orphan in that new group
            row(320, 1, 320),  // leads its own group: no link
            row(321, 1, 320),  // orphan in that unrelated group
            row(330, 1, 330),  // pgid == pid never links to itself
        ];
        mark_candidates(&mut rows, ME, &live);
        assert_eq!(marked(&rows), [301, 310, 311]);
    }

    #[test]
    fn terminal_signals_are_told_from_kill() {
        const SIGHUP: i32 = 1;
        const SIGINT: i32 = 2;
        const SIGQUIT: i32 = 3;
        const SIGTERM: i32 = 15;
        let fg = || true;
        let bg = || false;
        let emulator = Sender::Live { session: 40 };
        let script = Sender::Live { session: 90 };
        // Ctrl+C in Terminal.app: the sender is the emulator, of another session.
        assert!(raised_by_terminal(SIGINT, emulator, 90, fg));
        assert!(raised_by_terminal(SIGQUIT, emulator, 90, fg));
        assert!(raised_by_terminal(SIGHUP, emulator, 90, fg));
        // Not in the foreground: the terminal cannot have sent it.
        assert!(!raised_by_terminal(SIGINT, emulator, 90, bg));
        // The script that started memwatch (same session).
        assert!(!raised_by_terminal(SIGINT, script, 90, fg));
        // A kill(1) that already exited.
        assert!(!raised_by_terminal(SIGINT, Sender::Exited, 90, fg));
        // Terminals never send SIGTERM.
        assert!(!raised_by_terminal(SIGTERM, emulator, 90, fg));
        // The foreground check is only made when it matters.
        assert!(!raised_by_terminal(
            SIGTERM,
            emulator,
            90,
            || unreachable!()
        ));
    }

    #[test]
    fn a_ctrl_c_masked_by_the_commands_exit_is_the_terminals() {
        const SIGINT: i32 = 2;
        const SIGTERM: i32 = 15;
        let fg = || true;
        // Ctrl+C reached memwatch and the command; the command exited first, and its exit
        // wrote its pid into memwatch's si_pid: the SIGINT names the zombie command.
        assert!(raised_by_terminal(SIGINT, Sender::ExitedRoot, 90, fg));
        // The same masking of a `kill -TERM`: terminals never send SIGTERM, it is passed on.
        assert!(!raised_by_terminal(SIGTERM, Sender::ExitedRoot, 90, fg));
        // Without a terminal in front of memwatch, nothing comes from a terminal.
        assert!(!raised_by_terminal(SIGINT, Sender::ExitedRoot, 90, || {
            false
        }));
        // The command alive, signalling its parent: a process of memwatch's session.
        assert!(!raised_by_terminal(
            SIGINT,
            Sender::Live { session: 90 },
            90,
            fg
        ));
    }

    fn kinfo_buf(sec: i64, usec: i32, stat: u8) -> Vec<u8> {
        let mut b = vec![0u8; kinfo::SIZE];
        b[kinfo::START_SEC..kinfo::START_SEC + 8].copy_from_slice(&sec.to_ne_bytes());
        b[kinfo::START_USEC..kinfo::START_USEC + 4].copy_from_slice(&usec.to_ne_bytes());
        b[kinfo::STAT] = stat;
        b
    }

    #[test]
    fn kinfo_proc_start_and_state() {
        let k = parse_kinfo_proc(&kinfo_buf(1_700_000_000, 250_000, 2)).unwrap();
        assert_eq!(k.start_us, 1_700_000_000_250_000);
        assert!(!k.zombie);
        assert!(
            parse_kinfo_proc(&kinfo_buf(1_700_000_000, 0, SZOMB))
                .unwrap()
                .zombie
        );
        // Empty reply (no such process), short replies, invalid timevals.
        assert_eq!(parse_kinfo_proc(&[]), None);
        assert_eq!(
            parse_kinfo_proc(&kinfo_buf(1, 0, 2)[..kinfo::SIZE - 1]),
            None
        );
        assert_eq!(parse_kinfo_proc(&kinfo_buf(0, 0, 2)), None);
        assert_eq!(parse_kinfo_proc(&kinfo_buf(-5, 0, 2)), None);
        assert_eq!(parse_kinfo_proc(&kinfo_buf(10, 1_000_000, 2)), None);
        assert_eq!(parse_kinfo_proc(&kinfo_buf(10, -1, 2)), None);
        // A larger buffer than the struct is fine.
        let mut big = kinfo_buf(42, 7, 2);
        big.resize(1024, 0xff);
        assert_eq!(parse_kinfo_proc(&big).unwrap().start_us, 42_000_007);
    }

    fn procargs(argc: i32, body: &[u8]) -> Vec<u8> {
        let mut v = argc.to_ne_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn command_lines() {
        // Laid out as xnu does: the path's NUL padded to 8 bytes, then the arguments.
        let b = procargs(3, b"/bin/sh\0sh\0-c\0echo \xff\0PATH=/bin\0");
        assert_eq!(command_from_procargs(&b).unwrap(), "sh -c echo \u{fffd}");
        let b = procargs(3, b"/x\0\0\0\0\0\0x\0\0y\0");
        assert_eq!(command_from_procargs(&b).unwrap(), "x  y");
        // An empty argv[0] is an argument: the environment stays out.
        let b = procargs(2, b"/tmp/x\0\0\0x\0SECRET_TOKEN=abc\0");
        assert_eq!(command_from_procargs(&b).unwrap(), " x");
        // No arguments: the executable path.
        let b = procargs(0, b"/usr/libexec/thing\0\0\0");
        assert_eq!(command_from_procargs(&b).unwrap(), "/usr/libexec/thing");
        assert_eq!(command_from_procargs(&procargs(0, b"\0\0")), None);
        assert_eq!(command_from_procargs(&[1, 0]), None);
        assert_eq!(command_from_path(b"/bin/zsh\0junk").unwrap(), "/bin/zsh");
        assert_eq!(command_from_path(b"\0"), None);
        assert_eq!(command_from_path(b""), None);
        assert_eq!(command_from_comm(b"sudo\0\0\0\0\0\0\0\0\0\0\0\0"), "[sudo]");
        assert_eq!(command_from_comm(b"fifteen-chars-x\0"), "[fifteen-chars-x]");
        assert_eq!(command_from_comm(&[0; 16]), "[unknown]");
    }

    /// What `sysctl_procargsx` returns for an arguments `area` (the path and its padding,
    /// the arguments, the environment, the apple strings) into a buffer of `capacity`
    /// bytes: argc, then the whole area if it fits, else its last `capacity - 4` bytes.
    fn sysctl_reply(argc: i32, area: &[u8], capacity: usize) -> Vec<u8> {
        let room = capacity - 4;
        let copied = &area[area.len().saturating_sub(room)..];
        procargs(argc, copied)
    }

    #[test]
    fn an_arguments_area_larger_than_the_buffer_is_not_read() {
        // `xargs`-sized arguments: 200 of 5 KiB, then the environment and the apple
        // strings, more than the 1 MiB the kernel copies at most.
        let big = vec![b'a'; 5 * 1024];
        let mut area = b"/usr/bin/tool\0\0\0".to_vec();
        for _ in 0..200 {
            area.extend_from_slice(&big);
            area.push(0);
        }
        area.extend_from_slice(b"SECRET_TOKEN=abc\0");
        area.extend_from_slice(&vec![b'e'; 64 * 1024]);
        area.extend_from_slice(b"\0ptr_munge=\0main_stack=\0");
        let capacity = procargs_capacity(1024 * 1024);
        assert_eq!(capacity, 1024 * 1024 + 4);
        let reply = sysctl_reply(201, &area, capacity);
        assert_eq!(reply.len(), capacity);
        // Parsed, the tail would give a "path" cut out of an argument, and "arguments"
        // out of the environment.
        let garbage = parse_procargs2(&reply).unwrap();
        assert!(garbage.exec_path.iter().all(|&b| b == b'a'));
        assert!(garbage.argv.contains(&&b"SECRET_TOKEN=abc"[..]));
        assert_eq!(command_from_procargs_reply(&reply, capacity), None);
        // The same process with a smaller environment fits, and is read.
        let fits = &area[..area.len() - 64 * 1024 - 40];
        let reply = sysctl_reply(201, fits, capacity);
        assert!(reply.len() < capacity);
        let command = command_from_procargs_reply(&reply, capacity).unwrap();
        assert!(command.starts_with("aaaa"));
        assert!(!command.contains("SECRET"));
    }

    #[test]
    fn long_paths_are_capped() {
        let long = vec![b'a'; 2 * crate::sys::MAX_COMMAND_BYTES];
        let s = command_from_path(&long).unwrap();
        assert_eq!(s.len(), crate::sys::MAX_COMMAND_BYTES);
    }
}
