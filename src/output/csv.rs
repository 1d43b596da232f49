//! CSV outputs (RFC 4180): the per-process peaks and the timeline of `--csv <dir>`, and the
//! streamed timeline of `--timeline <file>`.
//!
//! Fields are quoted only when they must be (a comma, a double quote, CR or LF), quotes
//! inside are doubled, lines end in CRLF as RFC 4180 says. Numbers are KiB and
//! milliseconds, like the JSON; a value memwatch does not know is an empty field.

use std::io::{self, Write};
use std::time::Duration;

use crate::model::Report;

/// Header of both timeline files.
pub(crate) const TIMELINE_HEADER: &str = "t_ms,total_rss_kib,processes\r\n";

/// Header of `process_peaks.csv`. Columns added later go after `command`, so a reader
/// that takes columns by position still finds the earlier ones.
pub(crate) const PEAKS_HEADER: &str = "pid,ppid,start_time,first_seen,last_seen,first_seen_ms,last_seen_ms,samples,max_rss_kib,kernel_max_rss_kib,root,command,max_private_rss_kib\r\n";

/// Write one field, quoted if it needs to be.
pub(crate) fn field(out: &mut dyn Write, s: &str) -> io::Result<()> {
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
pub(crate) fn write_peaks(report: &Report, out: &mut dyn Write) -> io::Result<()> {
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
        match p.max_private_rss_kib {
            Some(v) => write!(out, ",{v}\r\n")?,
            None => out.write_all(b",\r\n")?,
        }
    }
    out.flush()
}

/// `timeline.csv`: the report's (bounded, max-preserving) timeline.
pub(crate) fn write_timeline(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(TIMELINE_HEADER.as_bytes())?;
    for p in &report.timeline {
        timeline_row(out, p.t_ms, p.total_rss_kib, p.processes)?;
    }
    out.flush()
}

/// One timeline row. Formatting integers through `fmt` does not allocate, so streaming a
/// row per sample keeps the sampler allocation-free.
pub(crate) fn timeline_row(
    out: &mut dyn Write,
    t_ms: u64,
    kib: u64,
    processes: u32,
) -> io::Result<()> {
    write!(out, "{t_ms},{kib},{processes}\r\n")
}

/// Where the `--timeline` stream goes: a sink that can be cut back to a length, so a write
/// that fails half-way (a full disk, a file size limit) never leaves a partial row.
pub(crate) trait Sink: Write {
    /// Cut what was written back to its first `len` bytes.
    fn cut(&mut self, len: u64) -> io::Result<()>;
}

impl Sink for std::fs::File {
    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

impl Sink for Vec<u8> {
    fn cut(&mut self, len: u64) -> io::Result<()> {
        self.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(())
    }
}

/// The `--timeline` file: every sample appended as it is taken, written out at least every
/// [`TimelineStream::FLUSH_EVERY`] so a killed memwatch leaves its data behind. Rows are
/// written whole: when a write fails, the file is cut back to the last row written
/// completely, and the stream ends.
pub(crate) struct TimelineStream<W: Sink> {
    out: W,
    /// Rows not written out yet (never grows past its first capacity: written out before).
    buf: Vec<u8>,
    /// Bytes of the file, all whole rows, written successfully so far.
    committed: u64,
    last_flush: Duration,
}

impl<W: Sink> TimelineStream<W> {
    /// The longest a sample stays unwritten.
    pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);
    /// Bytes buffered at most.
    const BUFFER: usize = 16 * 1024;
    /// Room a row needs at most (three integers, two commas, CRLF).
    const MAX_ROW: usize = 20 + 1 + 20 + 1 + 10 + 2;

    /// Start the stream with its header (written at once, so an empty job still leaves a
    /// valid file).
    pub(crate) fn new(out: W) -> io::Result<Self> {
        let mut s = TimelineStream {
            out,
            buf: Vec::with_capacity(Self::BUFFER),
            committed: 0,
            last_flush: Duration::ZERO,
        };
        s.buf.extend_from_slice(TIMELINE_HEADER.as_bytes());
        s.write_out()?;
        Ok(s)
    }

    /// Append the sample taken at offset `t`. After an error the stream is over: the file
    /// holds every row written before it, whole.
    pub(crate) fn push(&mut self, t: Duration, kib: u64, processes: u32) -> io::Result<()> {
        if self.buf.len() + Self::MAX_ROW > self.buf.capacity() {
            self.write_out()?;
        }
        let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
        timeline_row(&mut self.buf, ms, kib, processes)?;
        if t.saturating_sub(self.last_flush) >= Self::FLUSH_EVERY {
            self.last_flush = t;
            self.write_out()?;
        }
        Ok(())
    }

    /// Write out everything buffered now (memwatch was interrupted: keep nothing back).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.write_out()
    }

    /// Write out everything buffered.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.write_out()
    }

    /// Write the buffered rows; on failure cut the file back to its last whole row.
    fn write_out(&mut self) -> io::Result<()> {
        let mut done = 0;
        let failed = loop {
            if done == self.buf.len() {
                break self.out.flush().err();
            }
            match self.out.write(&self.buf[done..]) {
                Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        // The rows that went out whole (the buffer holds whole rows only).
        let whole = match failed {
            None => done,
            Some(_) => self.buf[..done]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1),
        };
        self.committed += whole as u64;
        self.buf.clear();
        match failed {
            None => Ok(()),
            Some(e) => {
                // Best effort: the error that stopped the stream is the one worth telling.
                let _ = self.out.cut(self.committed);
                Err(e)
            }
        }
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
        let mut s = TimelineStream::new(Vec::new()).unwrap();
        s.push(Duration::from_millis(10), 100, 1).unwrap();
        assert_eq!(s.out.len(), TIMELINE_HEADER.len(), "buffered");
        s.push(Duration::from_millis(1010), 200, 2).unwrap();
        assert_eq!(
            String::from_utf8(s.out.clone()).unwrap(),
            "t_ms,total_rss_kib,processes\r\n10,100,1\r\n1010,200,2\r\n",
            "written out on the second boundary"
        );
        s.push(Duration::from_millis(1500), 300, 3).unwrap();
        s.finish().unwrap();
    }

    /// A sink that takes `room` bytes, then fails like a full disk, after writing part of
    /// what it was given.
    struct Full {
        data: Vec<u8>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let n = b.len().min(self.room - self.data.len());
            if n == 0 {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.data.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink for Full {
        fn cut(&mut self, len: u64) -> io::Result<()> {
            self.data.truncate(len as usize);
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_never_leaves_a_partial_row() {
        let mut s = TimelineStream::new(Full {
            data: Vec::new(),
            room: TIMELINE_HEADER.len() + 25,
        })
        .unwrap();
        let mut failed = false;
        for i in 0..10u64 {
            if s.push(Duration::from_secs(i + 1), 123_456 + i, 7).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "the sink is full: a push must fail");
        let text = String::from_utf8(s.out.data.clone()).unwrap();
        assert!(text.ends_with("\r\n"), "partial row left: {text:?}");
        assert_eq!(text, "t_ms,total_rss_kib,processes\r\n1000,123456,7\r\n");
    }

    #[test]
    fn a_write_cut_short_keeps_the_whole_rows_it_wrote() {
        // One write of many rows, of which the sink takes 100 bytes: the file keeps the
        // whole rows among them.
        let mut s = TimelineStream::new(Full {
            data: Vec::new(),
            room: TIMELINE_HEADER.len() + 100,
        })
        .unwrap();
        for i in 0..20u64 {
            s.push(Duration::from_millis(i), 123_456, 7).unwrap();
        }
        assert!(s.flush().is_err());
        let text = String::from_utf8(s.out.data.clone()).unwrap();
        let rows: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            rows.len(),
            1 + 8 + 1,
            "header, 8 whole rows of 12 bytes, end: {text:?}"
        );
        assert_eq!(rows[8], "7,123456,7");
        assert_eq!(rows[9], "");
    }

    #[test]
    fn steady_pushes_never_grow_the_buffer() {
        let mut s = TimelineStream::new(Vec::new()).unwrap();
        let cap = s.buf.capacity();
        for i in 0..100_000u64 {
            s.push(Duration::from_millis(i), u64::MAX, u32::MAX)
                .unwrap();
        }
        assert_eq!(s.buf.capacity(), cap);
    }
}
