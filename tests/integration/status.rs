//! The live status line, on a real pseudo-terminal (tmux): shown while the job runs, gone
//! from the final screen, never written when standard error is not a terminal or plain
//! output is asked for.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

const MARK: &str = "memwatch \u{25b8}";

fn job_command(env: &str, secs: f64) -> String {
    format!(
        "{env} {} run -i 20 -- sh -c 'echo started; sleep {secs}; echo finished'; echo EXIT=$?; sleep 60",
        BIN
    )
}

#[test]
fn shown_while_running_and_gone_afterwards() {
    let Some(t) = Tmux::start("shown", &job_command("", 3.0)) else {
        return;
    };
    let during = t.wait_for(Duration::from_secs(10), |s| s.contains(MARK));
    assert!(
        during.contains(MARK),
        "no status line while running:\n{during}"
    );
    let line = during.lines().find(|l| l.contains(MARK)).unwrap();
    assert!(
        line.contains(" now \u{b7} peak ") && line.contains("proc"),
        "{line}"
    );
    // It is on the last row, below the command's output.
    let rows: Vec<&str> = during.lines().collect();
    assert!(
        rows.last().unwrap().contains(MARK),
        "not on the last row:\n{during}"
    );
    assert!(during.contains("started"));

    let after = t.wait_for(Duration::from_secs(15), |s| s.contains("EXIT="));
    assert!(after.contains("EXIT=0"), "{after}");
    assert!(after.contains("Max total RSS"), "{after}");
    assert!(!after.contains(MARK), "status line left behind:\n{after}");
    assert!(after.contains("finished"));
}

#[test]
fn plain_output_requests_turn_it_off() {
    for (name, env) in [("nocolor", "NO_COLOR=1"), ("dumb", "TERM=dumb")] {
        let Some(t) = Tmux::start(name, &job_command(&format!("env {env}"), 2.0)) else {
            return;
        };
        let (s, seen) = t.watch(
            Duration::from_secs(15),
            |s| s.contains("EXIT="),
            |s| s.contains(MARK),
        );
        assert!(s.contains("EXIT=0"), "{s}");
        assert!(!seen, "{env}: a status line was drawn");
    }
}

#[test]
fn never_written_when_stderr_is_not_a_terminal() {
    let out =
        output(memwatch(["run", "-i", "20", "--", "sleep", "1.5"]).env("TERM", "xterm-256color"));
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains(MARK) && !err.contains('\x1b'), "{err:?}");
    assert!(err.contains("Max total RSS"));
}

/// The screen's last row.
fn last_row(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

/// After memwatch was stopped or killed: the terminal has its whole height back (output
/// scrolls down to the last row, where the prompt ends up) and no status line is left.
#[track_caller]
fn assert_terminal_restored(t: &Tmux, first: u32) {
    let last = first + 30;
    t.send(&[&format!("seq {first} {last}"), "Enter"]);
    let s = t.wait_for(Duration::from_secs(10), |s| {
        s.lines().any(|l| l.trim() == last.to_string()) && last_row(s).starts_with('$')
    });
    assert!(!s.contains(MARK), "status line left behind:\n{s}");
    assert!(
        last_row(&s).starts_with('$'),
        "the prompt is not on the last row (scroll region left shrunk?):\n{s}"
    );
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_fg_brings_the_line_back() {
    let Some(t) = Tmux::shell("ctrlz") else {
        return;
    };
    // No `; echo` after it: bash goes on with the rest of a list when a job stops.
    t.send(&[&format!("{BIN} run -i 20 -- sleep 30"), "Enter"]);
    let s = t.wait_for(Duration::from_secs(10), |s| last_row(s).contains(MARK));
    assert!(last_row(&s).contains(MARK), "no status line:\n{s}");
    t.send(&["C-z"]);
    let s = t.wait_for(Duration::from_secs(10), |s| s.contains("Stopped"));
    assert!(s.contains("Stopped"), "not stopped:\n{s}");
    assert_terminal_restored(&t, 1);
    // Continued in the foreground: the line is back, and gone at the end.
    t.send(&["fg", "Enter"]);
    let s = t.wait_for(Duration::from_secs(10), |s| last_row(s).contains(MARK));
    assert!(last_row(&s).contains(MARK), "no status line after fg:\n{s}");
    t.send(&["C-c"]);
    let s = t.wait_for(Duration::from_secs(20), |s| s.contains("Max total RSS"));
    assert!(s.contains("Max total RSS"), "{s}");
    assert!(!s.contains(MARK), "status line left behind:\n{s}");
}

#[test]
fn killed_while_stopped_leaves_the_terminal_clean() {
    let Some(t) = Tmux::shell("ctrlzkill") else {
        return;
    };
    let tok = token("ctrlzkill");
    t.send(&[
        &format!("{BIN} run -i 20 -- sh -c 'sleep 30' {tok}"),
        "Enter",
    ]);
    let s = t.wait_for(Duration::from_secs(10), |s| last_row(s).contains(MARK));
    assert!(last_row(&s).contains(MARK), "no status line:\n{s}");
    t.send(&["C-z"]);
    t.wait_for(Duration::from_secs(10), |s| s.contains("Stopped"));
    // As `kill -9 %1` does: SIGKILL to the stopped job's process group.
    let pid = memwatch_with(&tok).expect("memwatch is running");
    let group = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).expect("killpg");
    // Gone once the shell has reaped it.
    poll(Duration::from_secs(10), || {
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            Err(format!("memwatch {pid} is still there"))
        } else {
            Ok(())
        }
    });
    assert_terminal_restored(&t, 100);
}

#[test]
fn started_in_the_background_it_draws_nothing() {
    let Some(t) = Tmux::shell("bg") else {
        return;
    };
    t.send(&[&format!("{BIN} run -i 20 -- sleep 3 &"), "Enter"]);
    let (s, seen) = t.watch(
        Duration::from_secs(20),
        |s| s.contains("Max total RSS"),
        |s| s.contains(MARK),
    );
    assert!(s.contains("Max total RSS"), "no summary:\n{s}");
    assert!(!seen, "a status line was drawn over the shell");
}

#[test]
fn ctrl_c_reaches_job_processes_in_a_session_of_their_own() {
    let Some(t) = Tmux::shell("ctrlc") else {
        return;
    };
    let tok = token("ctrlc-daemon");
    // The command starts a daemon (double fork, setsid) that holds for 8 s: the terminal's
    // SIGINT reaches memwatch's group, not the daemon's session.
    t.send(&[
        &format!(
            "{BIN} run -i 20 -- {BIN} __workload --daemon --mib 4 --hold-ms 8000 --print {tok}; echo EXIT=$?"
        ),
        "Enter",
    ]);
    let s = t.wait_for(Duration::from_secs(10), |s| last_row(s).contains(MARK));
    assert!(last_row(&s).contains(MARK), "no status line:\n{s}");
    // The interrupt goes in once the daemon runs in a session of its own (the grandchild,
    // not the session leader that forked it) and memwatch follows it.
    let _daemon_cleanup = KillOnDrop(tok.clone());
    let mw = poll(Duration::from_secs(10), || {
        memwatch_with(&tok).ok_or_else(|| "memwatch is not running".to_string())
    });
    let session = |pid: i32| {
        nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(pid)))
            .ok()
            .map(nix::unistd::Pid::as_raw)
    };
    let daemon = poll(Duration::from_secs(10), || {
        let pids = job_pids(&tok);
        pids.iter()
            .copied()
            .find(|&p| session(p).is_some_and(|s| Some(s) != session(mw) && s != p))
            .ok_or_else(|| format!("no daemon in a session of its own among {pids:?}"))
    });
    wait_followed(mw, &[daemon]);
    let sent = Instant::now();
    t.send(&["C-c"]);
    // The typed command line holds "EXIT=$?"; its output, "EXIT=" and a number.
    let exited = |s: &str| {
        s.lines().any(|l| {
            l.strip_prefix("EXIT=")
                .is_some_and(|c| c.starts_with(|c: char| c.is_ascii_digit()))
        })
    };
    let s = t.wait_for(Duration::from_secs(15), exited);
    let took = sent.elapsed();
    if !exited(&s) {
        let ps =
            try_output(Command::new("ps").args(["-eo", "pid,ppid,pgid,sid,stat,wchan:20,args"]))
                .map(|o| text(&o.stdout))
                .unwrap_or_default();
        let mine: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(&tok) || l.contains("memwatch run"))
            .collect();
        panic!(
            "memwatch did not end:\n{s}\nprocesses:\n{}",
            mine.join("\n")
        );
    }
    assert!(s.lines().any(|l| l == "EXIT=130"), "{s}");
    assert!(
        took < Duration::from_secs(5),
        "memwatch waited {took:?}: the daemon did not get the interrupt"
    );
    assert!(s.contains("memwatch was interrupted by SIGINT"), "{s}");
}
