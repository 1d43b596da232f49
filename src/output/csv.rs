//! CSV outputs (RFC 4180): the per-process peaks and the timeline of `--csv <dir>`, and the
//! streamed timeline of `--timeline <file>`.
//!
//! Fields are quoted only when they must be (a comma, a double quote, CR or LF), quotes
//! inside are doubled, lines end in CRLF as RFC 4180 says. Numbers are KiB and
//! milliseconds, like the JSON; a value memwatch does not know is an empty field.

use std::io::{self, Write};
use std::time::Duration;

use crate::report::Report;

/// Header of both timeline files.
pub const TIMELINE_HEADER: &str = "t_ms,total_rss_kib,processes\r\n";

/// Header of `process_peaks.csv`.
pub const PEAKS_HEADER: &str = "pid,ppid,start_time,first_seen,last_seen,first_seen_ms,last_seen_ms,samples,max_rss_kib,kernel_max_rss_kib,root,command\r\n";

/// Write one field, quoted if it needs to be.
pub fn field(out: &mut dyn Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\r', '\n']) {
        out.write_all(b"\"")?;
        let mut rest = s;
        while let Some(i) = rest.find('"') {
            out.write_all(&rest.as_bytes()[..=i])?;
            out.write_all(b"\"")?;
            rest = &rest[i + 1..];
        }
        out.write_all(rest.as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(s.as_bytes())
    }
}

fn opt(out: &mut dyn Write, v: Option<impl std::fmt::Display>) -> io::Result<()> {
    match v {
        Some(v) => write!(out, "{v},"),
        None => out.write_all(b","),
    }
}

/// `process_peaks.csv`: one row per process, in the report's order (largest peak first).
pub fn write_peaks(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(PEAKS_HEADER.as_bytes())?;
    for p in &report.processes {
        write!(out, "{},{},", p.pid, p.ppid)?;
        opt(out, p.start_time)?;
        write!(
            out,
            "{},{},{},{},{},",
            p.first_seen, p.last_seen, p.first_seen_ms, p.last_seen_ms, p.samples
        )?;
        opt(out, p.max_rss_kib)?;
        opt(out, p.kernel_max_rss_kib)?;
        write!(out, "{},", p.root)?;
        field(out, &p.command)?;
        out.write_all(b"\r\n")?;
    }
    out.flush()
}

/// `timeline.csv`: the report's (bounded, max-preserving) timeline.
pub fn write_timeline(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(TIMELINE_HEADER.as_bytes())?;
    for p in &report.timeline {
        timeline_row(out, p.t_ms, p.total_rss_kib, p.processes)?;
    }
    out.flush()
}

/// One timeline row. Formatting integers through `fmt` does not allocate, so streaming a
/// row per sample keeps the sampler allocation-free.
pub fn timeline_row(out: &mut dyn Write, t_ms: u64, kib: u64, processes: u32) -> io::Result<()> {
    write!(out, "{t_ms},{kib},{processes}\r\n")
}

/// The `--timeline` file: every sample appended as it is taken, flushed at least every
/// [`TimelineStream::FLUSH_EVERY`] so a killed memwatch leaves its data behind.
pub struct TimelineStream<W: Write> {
    out: io::BufWriter<W>,
    last_flush: Duration,
}

impl<W: Write> TimelineStream<W> {
    /// The longest a sample stays unwritten.
    pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

    /// Start the stream with its header (written at once, so an empty job still leaves a
    /// valid file).
    pub fn new(out: W) -> io::Result<Self> {
        let mut out = io::BufWriter::with_capacity(16 * 1024, out);
        out.write_all(TIMELINE_HEADER.as_bytes())?;
        out.flush()?;
        Ok(TimelineStream {
            out,
            last_flush: Duration::ZERO,
        })
    }

    /// Append the sample taken at offset `t`.
    pub fn push(&mut self, t: Duration, kib: u64, processes: u32) -> io::Result<()> {
        let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
        timeline_row(&mut self.out, ms, kib, processes)?;
        if t.saturating_sub(self.last_flush) >= Self::FLUSH_EVERY {
            self.last_flush = t;
            self.out.flush()?;
        }
        Ok(())
    }

    /// Write out everything buffered.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str) -> String {
        let mut v = Vec::new();
        field(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn rfc4180_quoting() {
        assert_eq!(quoted("sleep 1"), "sleep 1");
        assert_eq!(quoted(""), "");
        assert_eq!(quoted("a,b"), "\"a,b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("\""), "\"\"\"\"");
        assert_eq!(quoted("two\nlines"), "\"two\nlines\"");
        assert_eq!(quoted("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(
            quoted("sh -c 'echo a, \"b\"'"),
            "\"sh -c 'echo a, \"\"b\"\"'\""
        );
    }

    /// A minimal RFC 4180 reader, to check that what is written reads back field by field.
    fn parse_record(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut chars = line.chars().peekable();
        let mut in_quotes = false;
        while let Some(c) = chars.next() {
            match (c, in_quotes) {
                ('"', false) => in_quotes = true,
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    fields.last_mut().unwrap().push('"');
                }
                ('"', true) => in_quotes = false,
                (',', false) => fields.push(String::new()),
                (c, _) => fields.last_mut().unwrap().push(c),
            }
        }
        fields
    }

    #[test]
    fn nasty_commands_round_trip() {
        for cmd in [
            "plain",
            "a,b,c",
            "\"quoted\"",
            "mix, of \"all\" ,",
            "new\nline",
        ] {
            let mut v = b"1,".to_vec();
            field(&mut v, cmd).unwrap();
            let s = String::from_utf8(v).unwrap();
            assert_eq!(parse_record(&s), vec!["1".to_string(), cmd.to_string()]);
        }
    }

    #[test]
    fn stream_flushes_at_least_every_second() {
        let mut shared = Vec::new();
        {
            let mut s = TimelineStream::new(&mut shared).unwrap();
            s.push(Duration::from_millis(10), 100, 1).unwrap();
            s.push(Duration::from_millis(1010), 200, 2).unwrap();
            s.finish().unwrap();
        }
        assert_eq!(
            String::from_utf8(shared).unwrap(),
            "t_ms,total_rss_kib,processes\r\n10,100,1\r\n1010,200,2\r\n"
        );
    }

    #[test]
    fn stream_writes_through_on_the_second_boundary() {
        struct Counting(Vec<u8>, usize);
        impl Write for Counting {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                self.1 += 1;
                Ok(())
            }
        }
        let mut s = TimelineStream::new(Counting(Vec::new(), 0)).unwrap();
        s.push(Duration::from_millis(500), 1, 1).unwrap();
        assert_eq!(s.out.get_ref().0.len(), TIMELINE_HEADER.len(), "buffered");
        s.push(Duration::from_millis(1000), 1, 1).unwrap();
        assert!(s.out.get_ref().0.len() > TIMELINE_HEADER.len(), "flushed");
    }
}
