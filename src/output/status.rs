//! The live status line on the terminal while a job runs:
//! `memwatch ▸ 00:03:12 · 2.1 GiB now · peak 3.4 GiB · 17 procs`, followed by
//! `· every 1.7 ms (behind)` while the sampler falls behind its interval.
//!
//! It lives on the terminal's **last row**, outside a scroll region that covers the rows
//! above (DECSTBM, as apt's progress bar does): the command's own output scrolls in the
//! region and never runs into the line, and the line never lands in the middle of it. It is
//! drawn at most [`PERIOD`] apart, from the first second of the job on (a short job never
//! touches the terminal), and erased, with the scroll region reset, before the summary.
//! A command that takes over the screen itself (an editor, a pager) is better run with
//! `--no-status`.
//!
//! This module only composes bytes into a reused buffer (no allocation per update once it
//! has grown); the run loop decides when and writes them to standard error.

use std::fmt::Write as _;
use std::time::Duration;

use super::units::{Iec, Interval};

/// The shortest time between two updates.
pub(crate) const PERIOD: Duration = Duration::from_millis(250);
/// No line before the job has run this long.
pub(crate) const FIRST_AFTER: Duration = Duration::from_secs(1);
/// Terminals shorter than this get no status line.
pub(crate) const MIN_ROWS: u16 = 4;

/// Whether the environment asks for plain output: `NO_COLOR` set (to anything non-empty),
/// or `TERM` unset or `dumb`.
pub(crate) fn plain_requested(env: impl Fn(&str) -> Option<String>) -> bool {
    env("NO_COLOR").is_some_and(|v| !v.is_empty())
        || env("TERM").is_none_or(|t| t.is_empty() || t == "dumb")
}

/// What the line shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Figures {
    /// Time since the job started.
    pub elapsed: Duration,
    /// Total RSS at the latest sample, KiB.
    pub now_kib: u64,
    /// Largest total so far, KiB.
    pub peak_kib: u64,
    /// Live processes at the latest sample.
    pub processes: u32,
    /// The recent interval between samples, when it falls behind the one asked for.
    pub behind: Option<Duration>,
}

/// The status line's state on one terminal.
#[derive(Debug)]
pub(crate) struct StatusLine {
    buf: String,
    line: String,
    /// Rows the scroll region was set up for (`None`: not drawn yet).
    rows: Option<u16>,
    last: Option<Duration>,
}

impl Default for StatusLine {
    fn default() -> Self {
        StatusLine {
            buf: String::with_capacity(512),
            line: String::with_capacity(256),
            rows: None,
            last: None,
        }
    }
}

impl StatusLine {
    /// Whether an update is due at `elapsed`.
    pub(crate) fn due(&self, elapsed: Duration) -> bool {
        elapsed >= FIRST_AFTER
            && self
                .last
                .is_none_or(|l| elapsed.saturating_sub(l) >= PERIOD)
    }

    /// The bytes that draw `f` on a terminal of `rows` × `cols` (setting up, or moving, the
    /// scroll region first when needed). Empty if the terminal is too small.
    pub(crate) fn draw(&mut self, f: &Figures, rows: u16, cols: u16) -> &[u8] {
        self.buf.clear();
        self.last = Some(f.elapsed);
        if rows < MIN_ROWS || cols < 20 {
            return self.buf.as_bytes();
        }
        match self.rows {
            None => {
                // Make room for the line, then keep the rows above it as the scroll region.
                let _ = write!(self.buf, "\n\x1b7\x1b[1;{}r\x1b8\x1b[1A", rows - 1);
            }
            Some(old) if old != rows => {
                // Resized: clear the old line, move the region.
                let _ = write!(
                    self.buf,
                    "\x1b7\x1b[r\x1b[{old};1H\x1b[2K\x1b[1;{}r\x1b8",
                    rows - 1
                );
            }
            Some(_) => {}
        }
        self.rows = Some(rows);
        self.line.clear();
        let s = f.elapsed.as_secs();
        let _ = write!(
            self.line,
            "memwatch \u{25b8} {:02}:{:02}:{:02} \u{b7} {} now \u{b7} peak {} \u{b7} {} proc{}",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            Iec(f.now_kib),
            Iec(f.peak_kib),
            f.processes,
            if f.processes == 1 { "" } else { "s" }
        );
        if let Some(d) = f.behind {
            let _ = write!(
                self.line,
                " \u{b7} every {} (behind)",
                Interval(d.as_secs_f64() * 1000.0)
            );
        }
        let width = usize::from(cols) - 1;
        let shown = match self.line.char_indices().nth(width) {
            Some((cut, _)) => &self.line[..cut],
            None => &self.line[..],
        };
        let _ = write!(self.buf, "\x1b7\x1b[{rows};1H\x1b[2K{shown}\x1b8");
        self.buf.as_bytes()
    }

    /// The bytes that erase the line and give the terminal its whole height back; empty if
    /// nothing was ever drawn.
    pub(crate) fn clear(&mut self) -> &[u8] {
        self.buf.clear();
        if let Some(rows) = self.rows.take() {
            let _ = write!(self.buf, "\x1b7\x1b[r\x1b[{rows};1H\x1b[2K\x1b8");
        }
        self.buf.as_bytes()
    }

    /// Skip the update due at `elapsed` (the terminal is not memwatch's now): the next one
    /// is due a [`PERIOD`] later.
    pub(crate) fn defer(&mut self, elapsed: Duration) {
        self.last = Some(elapsed);
    }

    /// Whether the line is on the terminal now.
    pub(crate) fn shown(&self) -> bool {
        self.rows.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(secs: u64) -> Figures {
        Figures {
            elapsed: Duration::from_secs(secs),
            now_kib: 2_202_010,
            peak_kib: 3_565_158,
            processes: 17,
            behind: None,
        }
    }

    #[test]
    fn the_achieved_interval_when_it_falls_behind() {
        let mut s = StatusLine::default();
        let f = Figures {
            behind: Some(Duration::from_micros(1660)),
            ..figures(7)
        };
        let out = String::from_utf8(s.draw(&f, 40, 120).to_vec()).unwrap();
        assert!(
            out.contains("17 procs \u{b7} every 1.7 ms (behind)\x1b8"),
            "{out:?}"
        );
    }

    #[test]
    fn the_line() {
        let mut s = StatusLine::default();
        let out = String::from_utf8(s.draw(&figures(192), 40, 120).to_vec()).unwrap();
        assert!(
            out.contains(
                "memwatch \u{25b8} 00:03:12 \u{b7} 2.1 GiB now \u{b7} peak 3.4 GiB \u{b7} 17 procs"
            ),
            "{out:?}"
        );
        // First draw: room, scroll region above the last row, then the line on row 40.
        assert!(out.starts_with("\n\x1b7\x1b[1;39r\x1b8\x1b[1A"), "{out:?}");
        assert!(out.contains("\x1b[40;1H\x1b[2K"));
        assert!(out.ends_with("\x1b8"));
        // Later draws only redraw the line.
        let out = String::from_utf8(s.draw(&figures(193), 40, 120).to_vec()).unwrap();
        assert!(out.starts_with("\x1b7\x1b[40;1H"), "{out:?}");
    }

    #[test]
    fn cut_to_the_terminal_width() {
        let mut s = StatusLine::default();
        let out = String::from_utf8(s.draw(&figures(5), 24, 30).to_vec()).unwrap();
        let line = out
            .rsplit("\x1b[2K")
            .next()
            .unwrap()
            .trim_end_matches("\x1b8");
        assert_eq!(line.chars().count(), 29, "{line:?}");
    }

    #[test]
    fn resize_moves_the_region() {
        let mut s = StatusLine::default();
        s.draw(&figures(5), 40, 100);
        let out = String::from_utf8(s.draw(&figures(6), 30, 100).to_vec()).unwrap();
        assert!(out.contains("\x1b[40;1H\x1b[2K\x1b[1;29r"), "{out:?}");
        assert!(out.contains("\x1b[30;1H\x1b[2K"), "{out:?}");
    }

    #[test]
    fn clear_erases_and_resets_only_when_drawn() {
        let mut s = StatusLine::default();
        assert!(s.clear().is_empty());
        s.draw(&figures(5), 40, 100);
        assert!(s.shown());
        assert_eq!(s.clear(), b"\x1b7\x1b[r\x1b[40;1H\x1b[2K\x1b8");
        assert!(!s.shown());
    }

    #[test]
    fn tiny_terminals_get_nothing() {
        let mut s = StatusLine::default();
        assert!(s.draw(&figures(5), 3, 100).is_empty());
        assert!(!s.shown());
    }

    #[test]
    fn rate_limited_and_not_in_the_first_second() {
        let mut s = StatusLine::default();
        assert!(!s.due(Duration::from_millis(900)));
        assert!(s.due(Duration::from_millis(1000)));
        s.draw(&figures(1), 40, 100);
        assert!(!s.due(Duration::from_millis(1100)));
        assert!(s.due(Duration::from_millis(1250)));
    }

    #[test]
    fn plain_output_requests() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(!plain_requested(env(&[("TERM", "xterm-256color")])));
        assert!(plain_requested(env(&[("TERM", "dumb")])));
        assert!(plain_requested(env(&[])));
        assert!(plain_requested(env(&[
            ("TERM", "xterm"),
            ("NO_COLOR", "1")
        ])));
        assert!(!plain_requested(env(&[
            ("TERM", "xterm"),
            ("NO_COLOR", "")
        ])));
    }

    #[test]
    fn no_allocation_once_grown() {
        let mut s = StatusLine::default();
        s.draw(&figures(5), 40, 100);
        let (b, l) = (s.buf.capacity(), s.line.capacity());
        for i in 0..100 {
            s.draw(&figures(6 + i), 40, 100);
        }
        assert_eq!((s.buf.capacity(), s.line.capacity()), (b, l));
    }
}
