//! The invariants of memwatch's byte parsers and of its JSON report, checked on any input.
//!
//! One function per fuzz target, named like it: `fuzz_targets/<name>.rs` calls it on what
//! libFuzzer generates, and the stable test `tests/integration/fuzz_corpus.rs` (which
//! includes this file by path) calls it on every file of `fuzz/corpus/<name>/`. A broken
//! invariant panics.
//!
//! Only `std`, `memwatch` and memwatch's own dependencies may be used here, so the main
//! crate's test compiles this file as it is.

use jiff::Timestamp;
use memwatch::model::io::{self as report_io, ReadError};
use memwatch::model::{Report, SCHEMA_VERSION, SCHEMA_VERSIONS_READ};
use memwatch::sys::linux::procfs::{self, Stat, Statm};
use memwatch::sys::macos::procargs::parse_procargs2;
use memwatch::sys::{MAX_COMMAND_BYTES, join_args};
use serde_json::Value;
use std::sync::OnceLock;

/// A check: panics when an invariant fails on these bytes.
pub type Check = fn(&[u8]);

/// Every check, by the name of its fuzz target and corpus directory.
pub const TARGETS: &[(&str, Check)] = &[
    ("parse_stat", parse_stat),
    ("parse_statm", parse_statm),
    ("proc_numbers", proc_numbers),
    ("cmdline", cmdline),
    ("procargs2", procargs2),
    ("report_read", report_read),
    ("report_write", report_write),
];

// ---------------------------------------------------------------------------------------
// Linux /proc files

/// `/proc/<pid>/stat`: [`procfs::parse_stat`] reads what an independent reading (with
/// std's integer parsing) reads; whatever `comm` holds, only the fields after its last `)`
/// count; the kernel's own rendering of the parsed fields reads back the same.
pub fn parse_stat(buf: &[u8]) {
    let parsed = procfs::parse_stat(buf);
    assert_eq!(
        parsed,
        reference_stat(buf),
        "parse_stat disagrees with the reference reading of {:?}",
        lossy(buf)
    );
    let Some(s) = parsed else {
        return;
    };
    let open = first(buf, b'(').expect("parsed without '('");
    let close = last(buf, b')').expect("parsed without ')'");
    let comm = &buf[open + 1..close];
    // comm may hold spaces, parentheses, newlines and field look-alikes: it never matters.
    for other in [&b""[..], b"x", b") R 1 2 3 (", b"((", b"))", b" \n "] {
        let mut line = buf[..=open].to_vec();
        line.extend_from_slice(other);
        line.extend_from_slice(&buf[close..]);
        assert_eq!(
            procfs::parse_stat(&line),
            Some(s),
            "comm {:?} changed the fields",
            lossy(other)
        );
    }
    assert_eq!(
        procfs::parse_stat(&render_stat(&s, comm)),
        Some(s),
        "the kernel's line for {s:?} reads differently"
    );
    assert!(
        !matches!(s.state, b' ' | b'\n' | b')'),
        "state {:?} is a separator",
        s.state
    );
}

/// proc_pid_stat(5) read field by field: fields are separated by spaces (a newline ends
/// the line), `comm` is field 2 between the first `(` and the last `)`.
fn reference_stat(buf: &[u8]) -> Option<Stat> {
    let open = first(buf, b'(')?;
    let close = last(buf, b')')?;
    if close < open {
        return None;
    }
    let pid = std_i32(buf[..open].trim_ascii())?;
    let after: Vec<&[u8]> = fields(&buf[close + 1..]).collect();
    // Field n (numbered from 1 as in the man page) is `after[n - 3]`.
    let field = |n: usize| after.get(n - 3).copied();
    let state = match field(3)? {
        [s] => *s,
        _ => return None,
    };
    Some(Stat {
        pid,
        state,
        ppid: std_i32(field(4)?)?,
        pgrp: std_i32(field(5)?)?,
        starttime: std_u64(field(22)?)?,
        exit_signal: std_i32(field(38)?)?,
    })
}

/// The line the kernel prints (52 fields) for these values; unread fields are 0.
fn render_stat(s: &Stat, comm: &[u8]) -> Vec<u8> {
    let mut line = format!("{} (", s.pid).into_bytes();
    line.extend_from_slice(comm);
    line.extend_from_slice(b") ");
    line.push(s.state);
    line.extend_from_slice(
        format!(
            " {} {}{} {}{} {}{}\n",
            s.ppid,
            s.pgrp,
            " 0".repeat(16), // fields 6..=21
            s.starttime,
            " 0".repeat(15), // fields 23..=37
            s.exit_signal,
            " 0".repeat(14), // fields 39..=52
        )
        .as_bytes(),
    );
    line
}

/// `/proc/<pid>/statm`: the first four fields, read as std reads them; the kernel's line
/// for the parsed values, or the buffer with more fields after it, reads back the same.
///
/// `resident <= size` and `shared <= resident` hold for the kernel's figures but are not
/// the parser's to enforce (memwatch reports what the kernel says), so they are not checked.
pub fn parse_statm(buf: &[u8]) {
    let parsed = procfs::parse_statm(buf);
    assert_eq!(
        parsed,
        reference_statm(buf),
        "parse_statm disagrees with the reference reading of {:?}",
        lossy(buf)
    );
    let Some(m) = parsed else {
        return;
    };
    let line = format!("{} {} {} {} 0 7 0\n", m.size, m.resident, m.shared, m.text);
    assert_eq!(procfs::parse_statm(line.as_bytes()), Some(m), "{line:?}");
    let mut longer = buf.to_vec();
    longer.extend_from_slice(b" 9 9 9\n");
    assert_eq!(
        procfs::parse_statm(&longer),
        Some(m),
        "trailing fields mattered"
    );
    assert_eq!(m.is_empty(), m.size == 0 && m.resident == 0);
}

/// proc.rst's `statm`: `size resident shared text lib data dt`, separated by spaces.
fn reference_statm(buf: &[u8]) -> Option<Statm> {
    let mut f = fields(buf);
    Some(Statm {
        size: std_u64(f.next()?)?,
        resident: std_u64(f.next()?)?,
        shared: std_u64(f.next()?)?,
        text: std_u64(f.next()?)?,
    })
}

/// The integer parsers, `/proc/loadavg` and `task/<tid>/children`: [`procfs::parse_u64`]
/// and [`procfs::parse_int`] accept exactly what std accepts (except a leading `+`, which
/// the kernel never writes), on the whole input and on each field; the last pid of
/// `loadavg` is its last field; `children` yields every field that is an integer, in order;
/// `smaps_rollup`'s PSS as [`smaps_rollup_pss`] says.
pub fn proc_numbers(buf: &[u8]) {
    check_integers(buf);
    for f in fields(buf) {
        check_integers(f);
    }
    assert_eq!(
        procfs::parse_loadavg_last_pid(buf),
        fields(buf).last().and_then(std_i32),
        "loadavg {:?}",
        lossy(buf)
    );
    let children: Vec<i32> = procfs::children_pids(buf).collect();
    let expected: Vec<i32> = fields(buf).filter_map(std_i32).collect();
    assert_eq!(children, expected, "children {:?}", lossy(buf));
    smaps_rollup_pss(buf);
}

/// `/proc/<pid>/smaps_rollup`'s `Pss:` line: the value is that of the first `Pss:` line
/// (not `Pss_Anon:` and the like) whose number, blanks and an optional `kB` aside, std
/// reads; the same number in a real rollup's layout reads back.
fn smaps_rollup_pss(buf: &[u8]) {
    let got = procfs::parse_smaps_rollup_pss(buf);
    let expected = buf.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(b"Pss:")?.trim_ascii();
        std_u64(rest.strip_suffix(b"kB").unwrap_or(rest).trim_ascii())
    });
    assert_eq!(got, expected, "smaps_rollup {:?}", lossy(buf));
    if let Some(v) = got {
        let real = format!(
            "55d0c0a00000-7ffc1d3f2000 ---p 00000000 00:00 0                          [rollup]\n\
             Rss:               {v} kB\nPss_Dirty:          7 kB\nPss_Anon:           9 kB\n\
             Pss:               {v} kB\nPss_File:           3 kB\n"
        );
        assert_eq!(procfs::parse_smaps_rollup_pss(real.as_bytes()), Some(v));
    }
    // A line that only starts like `Pss:` is never read as one.
    let mut other = b"Pss_Anon:".to_vec();
    other.extend_from_slice(buf.strip_prefix(b"Pss:").unwrap_or(buf));
    if !other.contains(&b'\n') {
        assert_eq!(procfs::parse_smaps_rollup_pss(&other), None);
    }
}

fn check_integers(t: &[u8]) {
    let u = procfs::parse_u64(t);
    assert_eq!(u, std_u64(t), "parse_u64({:?})", lossy(t));
    let i = procfs::parse_int(t);
    assert_eq!(i, std_i32(t), "parse_int({:?})", lossy(t));
    if let Some(u) = u {
        assert_eq!(procfs::parse_u64(u.to_string().as_bytes()), Some(u));
    }
    if let Some(i) = i {
        assert_eq!(procfs::parse_int(i.to_string().as_bytes()), Some(i));
    }
}

/// `/proc/<pid>/cmdline` and [`join_args`]: the arguments hold no NUL and, joined by NULs,
/// give back the buffer (less one final NUL); a cut buffer gives the same arguments, the
/// last one cut; the display string is valid UTF-8, at most [`MAX_COMMAND_BYTES`], and a
/// prefix of the whole lossy join, cut on a character boundary only when it had to be.
pub fn cmdline(buf: &[u8]) {
    let args: Vec<&[u8]> = procfs::cmdline_args(buf).collect();
    assert!(
        args.iter().all(|a| !a.contains(&0)),
        "an argument holds NUL"
    );
    let body = buf.strip_suffix(b"\0").unwrap_or(buf);
    if body.is_empty() {
        assert!(args.is_empty(), "arguments out of nothing: {args:?}");
    } else {
        assert_eq!(args.join(&0u8), body, "arguments are not the buffer");
    }
    for n in cuts(buf.len()) {
        let cut: Vec<&[u8]> = procfs::cmdline_args(&buf[..n]).collect();
        assert_prefix_list(&cut, &args, n);
    }
    check_join_args(&args);
}

fn check_join_args(args: &[&[u8]]) {
    let shown = join_args(args.iter().copied());
    let whole = args
        .iter()
        .map(|a| String::from_utf8_lossy(a))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        shown.len() <= MAX_COMMAND_BYTES,
        "join_args gave {} bytes",
        shown.len()
    );
    assert!(std::str::from_utf8(shown.as_bytes()).is_ok());
    assert!(whole.starts_with(&shown), "join_args is not a prefix");
    if whole.len() <= MAX_COMMAND_BYTES {
        assert_eq!(shown, whole, "join_args cut a short command");
    } else {
        // Cut on a character boundary: at most 3 bytes short of the cap.
        assert!(shown.len() + 4 > MAX_COMMAND_BYTES, "cut too short");
    }
}

// ---------------------------------------------------------------------------------------
// macOS KERN_PROCARGS2

/// `sysctl(KERN_PROCARGS2)`, two ways.
///
/// The bytes as a reply: `None` exactly when there is no `argc` or it is negative;
/// `exec_path` runs to the first NUL; the arguments start where the kernel's padding ends
/// (the first multiple of 8 bytes after the path's NUL, counted from the path's start), in
/// place, each a NUL-terminated string (empty ones included), at most `argc`, fewer only
/// when the buffer ran out; the same values laid out again parse the same; a cut buffer
/// gives the same values, the last cut.
///
/// The bytes as a process (see [`procargs2_layout`]): laid out as xnu lays out its
/// arguments area, whole or cut anywhere, its arguments parse back exactly, and no byte of
/// its environment ever appears in the parsed command.
pub fn procargs2(buf: &[u8]) {
    procargs2_reply(buf);
    procargs2_process(buf);
}

/// Where xnu puts `argv[0]` in the bytes after `argc`: the path, its NUL, then NUL padding
/// up to a multiple of the pointer size (8), counted from the path's first byte
/// (`exec_extract_strings`; the `executable_path=` key the sysctl strips is 16 bytes).
fn procargs2_first_argument(path_len: usize) -> usize {
    (path_len + 1).div_ceil(8) * 8
}

fn procargs2_reply(buf: &[u8]) {
    let parsed = parse_procargs2(buf);
    let argc = match buf.get(..4) {
        Some(b) => i32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        None => {
            assert_eq!(parsed, None, "parsed without argc");
            return;
        }
    };
    let Ok(argc) = usize::try_from(argc) else {
        assert_eq!(parsed, None, "parsed a negative argc");
        return;
    };
    let p = parsed.unwrap_or_else(|| panic!("refused a buffer with argc {argc}"));
    let rest = &buf[4..];
    assert!(!p.exec_path.contains(&0), "exec_path holds NUL");
    assert!(
        rest.starts_with(p.exec_path),
        "exec_path is not at the start"
    );
    assert!(
        rest.len() == p.exec_path.len() || rest[p.exec_path.len()] == 0,
        "exec_path stops before its NUL"
    );
    assert!(
        p.argv.len() <= argc,
        "{} arguments for argc {argc}",
        p.argv.len()
    );
    // Walk the layout: the padding, then each argument in place followed by its NUL.
    let mut pos = procargs2_first_argument(p.exec_path.len()).min(rest.len());
    for (i, a) in p.argv.iter().enumerate() {
        assert!(!a.contains(&0), "argument {i} holds NUL");
        assert!(
            std::ptr::eq(a.as_ptr(), rest[pos..].as_ptr()),
            "argument {i} is not where the layout puts it"
        );
        pos += a.len();
        if pos < rest.len() {
            assert_eq!(rest[pos], 0, "argument {i} stops before its NUL");
            pos += 1;
        } else {
            assert_eq!(i + 1, p.argv.len(), "arguments after the end");
        }
    }
    if p.argv.len() < argc {
        assert_eq!(
            pos,
            rest.len(),
            "fewer than argc arguments, buffer not used up"
        );
    }
    // Laid out again, as the kernel would, with argc = the arguments found.
    let again = procargs2_kernel_layout(p.exec_path, &p.argv, &[b"ENV=1"]).0;
    assert_eq!(
        parse_procargs2(&again).as_ref(),
        Some(&p),
        "re-laid-out buffer"
    );
    // Cut buffers.
    for n in cuts(buf.len()).filter(|&n| n >= 4) {
        let q = parse_procargs2(&buf[..n]).expect("argc is still there");
        assert!(p.exec_path.starts_with(q.exec_path), "cut exec_path at {n}");
        if q.exec_path.len() < p.exec_path.len() {
            assert!(q.argv.is_empty(), "arguments inside a cut exec_path at {n}");
        }
        assert_prefix_list(&q.argv, &p.argv, n);
    }
}

/// A process made of the fuzz input: its NUL-separated pieces are the executable path, then
/// `argc` arguments (`argc` is the first byte modulo 8, at most the pieces left; empty
/// pieces are empty arguments), then the environment.
fn procargs2_layout(buf: &[u8]) -> (&[u8], Vec<&[u8]>, Vec<&[u8]>) {
    let Some((&n, rest)) = buf.split_first() else {
        return (b"", Vec::new(), Vec::new());
    };
    let mut pieces = rest.split(|&b| b == 0);
    let path = pieces.next().unwrap_or_default();
    let pieces: Vec<&[u8]> = pieces.collect();
    let argc = usize::from(n % 8).min(pieces.len());
    let (argv, env) = pieces.split_at(argc);
    (path, argv.to_vec(), env.to_vec())
}

/// The `KERN_PROCARGS2` reply for a process, as xnu lays it out, and where its environment
/// starts in it.
fn procargs2_kernel_layout(path: &[u8], argv: &[&[u8]], env: &[&[u8]]) -> (Vec<u8>, usize) {
    let argc = i32::try_from(argv.len()).expect("few arguments");
    let mut out = argc.to_ne_bytes().to_vec();
    out.extend_from_slice(path);
    out.resize(4 + procargs2_first_argument(path.len()), 0);
    for a in argv {
        out.extend_from_slice(a);
        out.push(0);
    }
    let env_start = out.len();
    for e in env {
        out.extend_from_slice(e);
        out.push(0);
    }
    // The apple strings and the alignment that follow.
    out.extend_from_slice(b"executable_path=x\0\0\0\0\0\0\0");
    (out, env_start)
}

fn procargs2_process(buf: &[u8]) {
    let (path, argv, env) = procargs2_layout(buf);
    let (reply, env_start) = procargs2_kernel_layout(path, &argv, &env);
    let env_area = reply[env_start..].as_ptr_range();
    for n in cuts(reply.len()).chain([reply.len()]).filter(|&n| n >= 4) {
        let q = parse_procargs2(&reply[..n]).expect("argc is still there");
        for (i, a) in q.argv.iter().enumerate() {
            let at = a.as_ptr_range();
            // An argument ends before the environment starts; an empty one is its NUL,
            // which is before it too.
            let holds_env = if a.is_empty() {
                at.start >= env_area.start
            } else {
                at.end > env_area.start
            };
            assert!(
                !holds_env,
                "cut at {n}: argument {i} holds environment bytes ({:?})",
                String::from_utf8_lossy(a)
            );
        }
        assert_prefix_list(&q.argv, &argv, n);
    }
    let p = parse_procargs2(&reply).expect("a kernel reply has argc");
    assert_eq!(p.exec_path, path, "the executable path");
    assert_eq!(p.argv, argv, "the arguments, empty ones included");
}

// ---------------------------------------------------------------------------------------
// The JSON report

/// [`report_io::read`] on any bytes: refusals are well-formed; whitespace around the document
/// changes nothing; a report that is read is written back, and that reads back equal.
pub fn report_read(buf: &[u8]) {
    match report_io::read(buf) {
        Ok(r) => {
            assert!(SCHEMA_VERSIONS_READ.contains(&r.schema_version));
            // Whitespace around a JSON document changes nothing.
            let mut padded = b" \n\t".to_vec();
            padded.extend_from_slice(buf);
            padded.extend_from_slice(b"\r\n ");
            assert_eq!(
                report_io::read(&padded).ok().as_ref(),
                Some(&r),
                "padding mattered"
            );
            round_trip(&r);
        }
        Err(ReadError::Version(v)) => {
            assert!(!SCHEMA_VERSIONS_READ.iter().any(|&r| u64::from(r) == v));
        }
        Err(ReadError::Invalid(why)) => assert!(!why.is_empty(), "a refusal without a reason"),
    }
}

/// A report made from a real one (`corpus/report_read/real_three_processes.json`) by
/// replacing its values with others of the same JSON kind taken from the input (any
/// strings, integers, finite floats, instants jiff can hold; lists grown or shrunk) is
/// written and read back equal. Working on the JSON tree, not on the struct, every field
/// the report has or will have is covered without naming it here; trees whose values no
/// longer fit their fields are not reports and are skipped.
pub fn report_write(buf: &[u8]) {
    static BASE: OnceLock<Value> = OnceLock::new();
    let mut tree = BASE
        .get_or_init(|| {
            let base = report_io::read(BASE_REPORT).unwrap_or_else(|e| {
                panic!("corpus/report_read/real_three_processes.json no longer reads ({e})")
            });
            serde_json::to_value(&base).expect("a report is a JSON tree")
        })
        .clone();
    vary(&mut tree, &mut Bytes(buf));
    // Other schema versions are refused by design.
    tree["schema_version"] = SCHEMA_VERSION.into();
    if let Ok(r) = serde_json::from_value::<Report>(tree) {
        round_trip(&r);
    }
}

/// The real report `report_write` starts from.
const BASE_REPORT: &[u8] = include_bytes!("../corpus/report_read/real_three_processes.json");

/// Replace some leaves of `v` by values of the same kind, grow or shrink some lists.
fn vary(v: &mut Value, b: &mut Bytes<'_>) {
    match v {
        Value::Object(fields) => {
            if fields.is_empty() && b.bool() {
                // A map (the launcher's identity): give it an entry.
                fields.insert(b.string(), Value::String(b.string()));
            }
            for (_, x) in fields.iter_mut() {
                vary(x, b);
            }
        }
        Value::Array(items) => {
            match b.u8() % 4 {
                0 => {}
                1 => {
                    items.pop();
                }
                2 => {
                    let more = items.first().cloned().unwrap_or_else(|| b.null_filler());
                    items.push(more);
                }
                _ => items.clear(),
            }
            for x in items.iter_mut() {
                vary(x, b);
            }
        }
        leaf => {
            if b.bool() {
                *leaf = b.leaf_like(leaf);
            }
        }
    }
}

fn round_trip(r: &Report) {
    let mut out = Vec::new();
    report_io::write(r, &mut out).expect("writing into memory never fails");
    assert!(out.ends_with(b"}\n"), "no final newline");
    let back = report_io::read(&out).unwrap_or_else(|e| {
        panic!(
            "memwatch cannot read the report it wrote: {e}\n{}",
            lossy(&out)
        )
    });
    assert_eq!(
        &back,
        r,
        "the report changed through write and read:\n{}",
        lossy(&out)
    );
}

/// Values taken from the front of a byte string; zeros once it is used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }

    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    fn u64(&mut self) -> u64 {
        // A tag byte picks small, edge or full-width values, so every kind comes up.
        match self.u8() % 4 {
            0 => u64::from(self.u8()),
            1 => [
                0,
                1,
                u64::from(u32::MAX),
                u64::MAX,
                i64::MAX as u64,
                1 << 53,
            ][usize::from(self.u8() % 6)],
            _ => {
                let mut b = [0u8; 8];
                let t = self.take(8);
                b[..t.len()].copy_from_slice(t);
                u64::from_le_bytes(b)
            }
        }
    }

    fn f64(&mut self) -> f64 {
        // JSON has no NaN or infinity (and a Duration's seconds are always finite).
        Some(f64::from_bits(self.u64()))
            .filter(|x| x.is_finite())
            .unwrap_or(0.0)
    }

    fn string(&mut self) -> String {
        let n = usize::from(self.u8() % 48);
        String::from_utf8_lossy(self.take(n)).into_owned()
    }

    fn timestamp(&mut self) -> Timestamp {
        let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        let span = (max - min) as u64 + 1;
        let second = min + (self.u64() % span) as i64;
        let nanosecond = (self.u64() % 1_000_000_000) as i32;
        Timestamp::new(second, nanosecond).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn integer(&mut self) -> Value {
        let u = self.u64();
        if self.bool() {
            // Negative: pids, exit codes, signals.
            Value::from((u as i64).wrapping_neg().min(-1))
        } else {
            Value::from(u)
        }
    }

    /// A value of the same JSON kind as `old` (strings that are instants stay instants).
    fn leaf_like(&mut self, old: &Value) -> Value {
        match old {
            Value::Bool(_) => Value::Bool(self.bool()),
            Value::Number(n) if n.is_f64() => Value::from(self.f64()),
            Value::Number(_) => self.integer(),
            Value::String(s) if s.parse::<Timestamp>().is_ok() => {
                Value::String(self.timestamp().to_string())
            }
            Value::String(_) => Value::String(self.string()),
            _ => self.null_filler(),
        }
    }

    /// For a `null` (an absent optional) or an empty list, whose kind is unknown: null, an
    /// integer, a string or an instant; a kind that does not fit is skipped later.
    fn null_filler(&mut self) -> Value {
        match self.u8() % 4 {
            0 => Value::Null,
            1 => self.integer(),
            2 => Value::String(self.string()),
            _ => Value::String(self.timestamp().to_string()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

/// The fields of a `/proc` line: separated by spaces, a newline ends the line.
fn fields(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|&b| b == b' ' || b == b'\n')
        .filter(|t| !t.is_empty())
}

/// std's reading of an unsigned decimal, without the `+` the kernel never writes.
fn std_u64(t: &[u8]) -> Option<u64> {
    if t.first() == Some(&b'+') {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

/// std's reading of a signed decimal, without a `+`.
fn std_i32(t: &[u8]) -> Option<i32> {
    if t.first() == Some(&b'+') {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

fn first(buf: &[u8], b: u8) -> Option<usize> {
    buf.iter().position(|&x| x == b)
}

fn last(buf: &[u8], b: u8) -> Option<usize> {
    buf.iter().rposition(|&x| x == b)
}

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// Lengths to cut a buffer at: all of them for small buffers, a spread for large ones.
fn cuts(len: usize) -> impl Iterator<Item = usize> {
    (0..len).filter(move |&n| len <= 512 || n <= 32 || n + 32 >= len || n % 127 == 0)
}

/// What a cut buffer gave (`cut`) against the whole (`whole`): the same list, except that
/// it may stop early and its last element may be cut short.
fn assert_prefix_list(cut: &[&[u8]], whole: &[&[u8]], n: usize) {
    assert!(cut.len() <= whole.len(), "cut at {n}: more elements");
    if let Some((last, init)) = cut.split_last() {
        assert_eq!(init, &whole[..init.len()], "cut at {n}: elements differ");
        assert!(
            whole[init.len()].starts_with(last),
            "cut at {n}: the last element is not a prefix"
        );
    }
}
