//! The live status line, on a real pseudo-terminal (tmux): shown while the job runs, gone
//! from the final screen, never written when standard error is not a terminal or plain
//! output is asked for.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MARK: &str = "memwatch \u{25b8}";

/// A tmux server of its own (own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed (Debian package tmux; .ci/run installs it)");
            return None;
        }
        let t = Tmux {
            socket: format!("memwatch-{name}-{}", std::process::id()),
        };
        let ok = t
            .tmux(&[
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "20",
                "-s",
                "t",
                command,
            ])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
        Some(t)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Poll the screen until `pred` holds or `timeout` passes; the last screen either way.
    fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if pred(&s) || Instant::now() > until {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn job_command(env: &str, secs: f64) -> String {
    format!(
        "{env} {} run -i 20 -- sh -c 'echo started; sleep {secs}; echo finished'; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_memwatch")
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
        let mut seen = false;
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let s = t.screen();
            seen |= s.contains(MARK);
            if s.contains("EXIT=") || Instant::now() > until {
                assert!(s.contains("EXIT=0"), "{s}");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!seen, "{env}: a status line was drawn");
    }
}

#[test]
fn never_written_when_stderr_is_not_a_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_memwatch"))
        .args(["run", "-i", "20", "--", "sleep", "1.5"])
        .env("TERM", "xterm-256color")
        .output()
        .expect("run memwatch");
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains(MARK) && !err.contains('\x1b'), "{err:?}");
    assert!(err.contains("Max total RSS"));
}
