//! `memwatch attach`: a job started elsewhere (here, by the test), measured from the
//! attach on; stopped by its exit or by a signal to memwatch, which never reaches the job;
//! and every reason memwatch refuses to attach, each one line, exit 125, nothing written.

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

/// `memwatch attach <pid> <opts>`.
fn attach_cmd(pid: i32, opts: &[&dyn AsRef<std::ffi::OsStr>]) -> Command {
    let mut c = memwatch(["attach".to_string(), pid.to_string()]);
    c.args(opts.iter().map(|a| a.as_ref()));
    c
}

/// A job the test starts itself (so memwatch is not its parent), its output discarded.
fn start_job(script: &str) -> std::process::Child {
    Command::new("sh")
        .args(["-c", script, BIN])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn attach_follows_a_running_tree_as_it_grows_and_shrinks() {
    let _g = heavy();
    let tok = token("attach-grow");
    let _cleanup = KillOnDrop(tok.clone());
    // Already running when memwatch attaches: a 30 MiB worker. After the attach: two
    // workers of 60 MiB together with the first, then only a small one.
    let script = format!(
        "\"$0\" __workload --mib 30 --hold-ms 2600 --print {tok} & \
         while [ ! -e \"$1\" ]; do sleep 0.02; done; \
         \"$0\" __workload --mib 60 --fork 1 --parent-mib 1 --hold-ms 900 --print {tok}; \
         \"$0\" __workload --mib 5 --hold-ms 700 --print {tok}; wait"
    );
    let d = tempdir("attach-grow");
    let go = d.join("go");
    let mut job = Command::new("sh")
        .args(["-c", &script, BIN, go.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let root = job.id() as i32;
    let first = wait_for_job(&tok, 1);
    wait_resident(&first, 30 * MIB);
    let out = d.join("mem.json");
    let mw = spawn(&mut attach_cmd(root, &[&"-i", &"20", &"-o", &out]));
    wait_followed(mw.pid(), &[root, first[0]]);
    fs::write(&go, "").unwrap();
    let f = mw.wait();
    f.assert_code(0);
    assert!(job.wait().unwrap().success(), "the job ran to its end");
    let r = read_report(&out);
    assert!(r.attached, "{r:?}");
    assert_eq!(r.exit_code, None, "how it ended is unknown to memwatch");
    assert_eq!(r.signal, None);
    assert!(!r.interrupted);
    // What the kernel accounts to memwatch's children is not the attached job's.
    assert_eq!(r.cpu_user_seconds, None, "{r:?}");
    // memwatch's own cgroup and limits are not the attached process's: the machine's
    // memory is the limit in force.
    let limit = r.memory_limit.as_ref().expect("the machine's memory");
    assert_eq!(
        limit.source,
        memwatch::model::limit::LimitSource::Physical,
        "{limit:?}"
    );
    assert_eq!(r.page_faults_minor, None);
    let attached_at = r
        .attached_process_start_time
        .expect("the root's start time");
    assert!(attached_at <= r.start_time, "it ran before the attach");
    let root_rep = r.processes.iter().find(|p| p.root).expect("the root");
    assert_eq!(root_rep.pid, root);
    assert_eq!(r.command[..2], ["sh".to_string(), "-c".to_string()]);
    assert_eq!(r.processes_total, r.processes.len() as u64);
    // The root, the shell's first worker, the forking worker, its child, the last worker
    // (and the shell's short-lived sleeps).
    let workers: Vec<_> = r
        .processes
        .iter()
        .filter(|p| p.command.contains(&tok))
        .collect();
    assert!(workers.len() >= 4, "{workers:?}");
    let peak = r.max_total_rss_kib.unwrap();
    assert!(peak >= 90 * MIB, "grew: {peak} KiB");
    let last = r.timeline.last().unwrap().total_rss_kib;
    assert!(last < 40 * MIB, "shrank: {last} KiB at the end");
    // The picture's split: the workers' program is memwatch, the shell's sh.
    let groups = r.timeline_groups.expect("groups");
    let names: Vec<&str> = groups.groups.iter().map(|g| g.program.as_str()).collect();
    assert!(
        names.contains(&"memwatch") && names.contains(&"sh"),
        "{names:?}"
    );
    assert!(f.stderr.contains("Attached:        to pid"), "{}", f.stderr);
}

#[test]
fn a_signal_stops_memwatch_alone_and_the_report_is_written() {
    let _g = heavy();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let tok = token("attach-stop");
        let _cleanup = KillOnDrop(tok.clone());
        let mut job = start_job(&format!(
            "exec \"$0\" __workload --mib 20 --fork 2 --hold-ms 30000 --print {tok}"
        ));
        let root = job.id() as i32;
        let pids = wait_for_job(&tok, 3);
        wait_resident(&pids, 20 * MIB);
        let d = tempdir("attach-stop");
        let out = d.join("mem.json");
        let timeline = d.join("tl.csv");
        // Stopped by SIGTERM, it also checks a --max-rss the job is over: exit 3.
        let limit: &[&dyn AsRef<std::ffi::OsStr>] = if signal == libc::SIGTERM {
            &[&"--max-rss", &"10MiB"]
        } else {
            &[]
        };
        let mut opts: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"-i", &"20", &"-o", &out, &"--timeline", &timeline];
        opts.extend_from_slice(limit);
        let mw = spawn(&mut attach_cmd(root, &opts));
        wait_followed(mw.pid(), &pids);
        std::thread::sleep(Duration::from_millis(200));
        send(mw.pid(), signal);
        let f = mw.wait();
        let r = read_report(&out);
        if signal == libc::SIGTERM {
            f.assert_code(3);
            let check = r.max_rss_check.as_ref().expect("the check");
            assert!(!check.passed, "{check:?}");
        } else {
            f.assert_code(0);
            assert!(r.max_rss_check.is_none());
        }
        assert!(r.attached && r.interrupted, "{r:?}");
        assert_eq!(r.interrupt_signal, Some(signal));
        let mut left = r.left_running.clone();
        left.sort_unstable();
        assert_eq!(left, pids, "every process was left running");
        assert!(r.max_total_rss_kib.unwrap() >= 60 * MIB);
        // The job never saw the signal: all of it still runs.
        assert_eq!(job_pids(&tok), pids);
        assert!(job.try_wait().unwrap().is_none());
        assert!(fs::read_to_string(&timeline).unwrap().lines().count() > 2);
        kill_job(&tok);
        let _ = job.wait();
    }
}

/// A named pipe at `path`.
fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert!(fs::metadata(path).unwrap().file_type().is_fifo());
}

#[test]
fn a_process_that_exits_while_memwatch_attaches_gives_a_report_of_nothing_measured() {
    // memwatch checks the process and starts following it, then opens its --timeline, a
    // named pipe that blocks it until the test reads: the process exits in between.
    let d = tempdir("attach-exit");
    let fifo = d.join("tl.fifo");
    mkfifo(&fifo);
    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = target.id() as i32;
    let out = d.join("mem.json");
    let mw = spawn(&mut attach_cmd(
        pid,
        &[&"-i", &"20", &"-o", &out, &"--timeline", &fifo],
    ));
    wait_followed(mw.pid(), &[pid]);
    target.kill().unwrap();
    target.wait().unwrap();
    let reader = std::thread::spawn(move || fs::read_to_string(&fifo).unwrap());
    let f = mw.wait();
    f.assert_code(0);
    let r = read_report(&out);
    assert!(r.attached);
    assert_eq!(r.max_total_rss_kib, None, "nothing measured, never 0");
    let root = r
        .processes
        .iter()
        .find(|p| p.root)
        .expect("the root is listed");
    assert_eq!((root.pid, root.max_rss_kib), (pid, None));
    assert_eq!(
        reader.join().unwrap().lines().next(),
        Some("t_ms,total_rss_kib,processes")
    );
    assert!(
        f.stderr.contains("Max total RSS:   unknown"),
        "{}",
        f.stderr
    );

    // The same race, left to chance: whichever way it goes, a well-formed outcome.
    for delay_ms in [0u64, 1, 2, 5, 10, 20] {
        let child = Command::new("sleep")
            .arg(format!("0.{delay_ms:03}"))
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let out = d.join(format!("race-{delay_ms}.json"));
        let f = finish(&mut attach_cmd(pid, &[&"-q", &"-i", &"5", &"-o", &out]));
        let mut child = child;
        child.wait().unwrap();
        match f.code {
            Some(0) => assert!(read_report(&out).attached),
            Some(125) => {
                assert_eq!(f.stderr.lines().count(), 1, "{}", f.stderr);
                assert!(
                    f.stderr
                        .starts_with(&format!("memwatch: cannot attach to pid {pid}: "))
                );
                assert!(!out.exists(), "nothing written");
            }
            other => panic!("exit {other:?}: {}", f.stderr),
        }
    }
}

/// Run `cmd` (an attach that must be refused) with every output asked for: one line naming
/// `why`, exit 125, and nothing written.
#[track_caller]
fn assert_refused(cmd: &mut Command, d: &TempDir, why: &str) {
    let (out, tl, csv, svg) = (
        d.join("r.json"),
        d.join("tl.csv"),
        d.join("csv"),
        d.join("p.svg"),
    );
    cmd.arg("-o").arg(&out).arg("--timeline").arg(&tl);
    cmd.arg("--csv").arg(&csv).arg("--plot").arg(&svg);
    let f = finish(cmd);
    f.assert_code(125);
    assert_eq!(f.stderr.lines().count(), 1, "{}", f.stderr);
    assert!(
        f.stderr.starts_with("memwatch: cannot attach to pid ") && f.stderr.contains(why),
        "{why:?}: {}",
        f.stderr
    );
    assert!(f.stdout.is_empty());
    for p in [&out, &tl, &csv, &svg] {
        assert!(!p.exists(), "{} was written", p.display());
    }
}

#[test]
fn attach_refuses_what_it_cannot_measure() {
    let d = tempdir("attach-refused");
    // No such process (above any pid_max).
    assert_refused(&mut attach_cmd(i32::MAX, &[]), &d, "no such process");
    // An ancestor: the test harness, memwatch's parent.
    let me = std::process::id() as i32;
    assert_refused(
        &mut attach_cmd(me, &[]),
        &d,
        "it is an ancestor of memwatch",
    );
    // memwatch itself: the shell's pid, which the exec hands to memwatch.
    let mut own = Command::new("sh");
    own.args(["-c", "exec \"$0\" attach $$ \"$@\"", BIN]);
    assert_refused(&mut own, &d, "it is memwatch itself");
    // A thread, and a kernel thread.
    let tid = fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|&t| t != me)
        .expect("the harness has threads");
    assert_refused(
        &mut attach_cmd(tid, &[]),
        &d,
        "it is a thread, not a process",
    );
    if fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd") {
        assert_refused(&mut attach_cmd(2, &[]), &d, "it is a kernel thread");
    }
    // A zombie: exited, its parent (this test) has not reaped it yet.
    let mut zombie = Command::new("true").spawn().unwrap();
    let zpid = zombie.id() as i32;
    poll(Duration::from_secs(10), || match state(zpid) {
        Some(b'Z') => Ok(()),
        s => Err(format!("state {s:?}")),
    });
    assert_refused(&mut attach_cmd(zpid, &[]), &d, "it has already exited");
    zombie.wait().unwrap();
    // Usage: no pid, pid 0.
    for args in [&["attach"][..], &["attach", "0"], &["attach", "x"]] {
        let f = finish(&mut memwatch(args));
        f.assert_code(125);
        assert_eq!(f.stderr.lines().count(), 1, "{}", f.stderr);
        assert!(f.stderr.contains("memwatch attach --help"), "{}", f.stderr);
    }
}

#[test]
fn attach_refuses_another_users_process_it_may_not_read() {
    if !is_root() {
        return skip_or_fail(
            "needs root to mount a procfs with hidepid and to run memwatch as nobody",
        );
    }
    // memwatch runs as nobody in a namespace whose /proc hides root's processes; the
    // target is root's.
    let d = tempdir("attach-other");
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let mw = d.join("memwatch");
    fs::copy(BIN, &mw).unwrap();
    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = target.id() as i32;
    for mode in ["invisible", "noaccess"] {
        let mut cmd = Command::new(&mw);
        cmd.args(["attach", &pid.to_string()]);
        let out = d.join("r.json");
        cmd.arg("-o").arg(&out);
        let o = match try_output(under_hidepid(&mut cmd, mode)) {
            Ok(o) => o,
            Err(e) => {
                let _ = target.kill();
                let _ = target.wait();
                return skip_or_fail(&format!("cannot mount /proc with hidepid={mode} here: {e}"));
            }
        };
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "hidepid={mode}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "memwatch: cannot attach to pid {pid}: it belongs to another user"
            )),
            "hidepid={mode}: {err}"
        );
        assert!(!out.exists());
    }
    target.kill().unwrap();
    target.wait().unwrap();
}
