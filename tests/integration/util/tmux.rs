//! A real pseudo-terminal for the tests of what memwatch draws on one: a tmux server of the
//! test's own, whose screen is read back as text.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::{output, skip_or_fail, which};

/// A tmux server of its own (own socket) with one session, killed on drop.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    /// A session running `command` in a 100x20 window; `None` (after [`skip_or_fail`])
    /// without tmux.
    pub(crate) fn start(name: &str, command: &str) -> Option<Tmux> {
        if which("tmux").is_none() {
            skip_or_fail("tmux is not installed (Debian package tmux; .ci/run installs it)");
            return None;
        }
        let t = Tmux {
            socket: format!("memwatch-{name}-{}", std::process::id()),
        };
        let o = t.tmux(&[
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "20",
            "-s",
            "t",
            command,
        ]);
        assert!(o.status.success(), "tmux new-session failed: {o:?}");
        Some(t)
    }

    /// An interactive bash (job control, `$ ` prompt) in the pane.
    pub(crate) fn shell(name: &str) -> Option<Tmux> {
        let t = Tmux::start(name, "env PS1='$ ' bash --norc --noprofile -i")?;
        let s = t.wait_for(Duration::from_secs(10), |s| s.contains('$'));
        assert!(s.contains('$'), "no prompt:\n{s}");
        Some(t)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        output(
            Command::new("tmux")
                .args(["-L", &self.socket])
                .args(args)
                .env("TERM", "xterm-256color"),
        )
    }

    /// Type `keys` (tmux key names: `Enter`, `C-c`, `C-z`, or literal text).
    #[track_caller]
    pub(crate) fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success(), "tmux send-keys {keys:?}");
    }

    /// The screen now, as text.
    pub(crate) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Poll the screen until `pred` holds or `timeout` passes; the last screen either way
    /// (the caller asserts on it, and shows it).
    pub(crate) fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if pred(&s) || Instant::now() > until {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll the screen until `done` holds (or `timeout` passes), also noting whether any
    /// screen on the way held `seen`; the last screen and that.
    pub(crate) fn watch(
        &self,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
        seen: impl Fn(&str) -> bool,
    ) -> (String, bool) {
        let until = Instant::now() + timeout;
        let mut was_seen = false;
        loop {
            let s = self.screen();
            was_seen |= seen(&s);
            if done(&s) || Instant::now() > until {
                return (s, was_seen);
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
