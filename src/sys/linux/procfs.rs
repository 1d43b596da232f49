//! Pure parsers for the Linux `/proc` files memwatch reads: `stat`, `statm`, `cmdline`,
//! `loadavg`, `task/<tid>/children`, and (for Slurm's step daemons) `environ`.
//!
//! They take bytes and never touch the file system or allocate, so they are unit-tested,
//! benchmarked and fuzzed on any platform. Field meanings follow proc_pid_stat(5) and the
//! kernel's `Documentation/filesystems/proc.rst`.

/// The fields memwatch needs from `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Field 1.
    pub pid: i32,
    /// Field 3, the state letter (`R`, `S`, `Z`, ...).
    pub state: u8,
    /// Field 4: the parent's thread-group id.
    pub ppid: i32,
    /// Field 5: the process group.
    pub pgrp: i32,
    /// Field 22: start time in clock ticks since boot.
    pub starttime: u64,
    /// Field 38: the signal sent to the parent at exit; -1 for a thread that is not the
    /// leader of its thread group, which is how a thread id is told from a process id.
    pub exit_signal: i32,
}

impl Stat {
    /// True for a thread that is not its group's leader (not a process).
    pub fn is_thread(&self) -> bool {
        self.exit_signal == -1
    }

    /// True for a zombie (exited, not yet reaped) or a dead task.
    pub fn is_dead(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// Parse `/proc/<pid>/stat`.
///
/// `comm` (field 2) may hold spaces, parentheses and newlines, so the fields after it are
/// found from the **last** `)` in the buffer, never by splitting the whole line.
pub fn parse_stat(buf: &[u8]) -> Option<Stat> {
    let open = buf.iter().position(|&b| b == b'(')?;
    let close = buf.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let pid = parse_int(trim(&buf[..open]))?;
    // After ") " come fields 3, 4, ...: token k is field k + 3.
    let rest = buf.get(close + 1..)?;
    let mut tokens = rest
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|t| !t.is_empty());
    let state = tokens.next()?;
    if state.len() != 1 {
        return None;
    }
    let ppid = parse_int(tokens.next()?)?;
    let pgrp = parse_int(tokens.next()?)?;
    // Fields 6..=21 are 16 tokens we skip; field 22 is starttime.
    let starttime = parse_u64(tokens.nth(16)?)?;
    // Fields 23..=37 are 15 tokens we skip; field 38 is exit_signal.
    let exit_signal = parse_int(tokens.nth(15)?)?;
    Some(Stat {
        pid,
        state: state[0],
        ppid,
        pgrp,
        starttime,
        exit_signal,
    })
}

/// The fields memwatch needs from `/proc/<pid>/statm` (all in pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statm {
    /// Total program size.
    pub size: u64,
    /// Resident set size (equals `VmRSS` in `status`).
    pub resident: u64,
    /// Resident shared pages (file-backed and shmem).
    pub shared: u64,
    /// Text (code) pages; it changes when a process runs `exec`.
    pub text: u64,
}

impl Statm {
    /// The kernel prints all zeros for a task without memory: a zombie.
    pub fn is_empty(&self) -> bool {
        self.size == 0 && self.resident == 0
    }
}

/// Parse `/proc/<pid>/statm`: `size resident shared text lib data dt`.
///
/// The sampler's hot path (once per process and sample), so one pass over the bytes: each
/// field is a run of anything but spaces and newlines, as splitting would give, and must
/// be an unsigned decimal that fits in a `u64` ([`parse_u64`]'s rule).
pub fn parse_statm(buf: &[u8]) -> Option<Statm> {
    let is_sep = |b: u8| b == b' ' || b == b'\n';
    let mut bytes = buf.iter().copied();
    let mut fields = [0u64; 4];
    for field in &mut fields {
        let mut b = bytes.find(|&b| !is_sep(b))?;
        let mut v: u64 = 0;
        loop {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(d))?;
            match bytes.next() {
                Some(next) if !is_sep(next) => b = next,
                _ => break,
            }
        }
        *field = v;
    }
    let [size, resident, shared, text] = fields;
    Some(Statm {
        size,
        resident,
        shared,
        text,
    })
}

/// The arguments in `/proc/<pid>/cmdline`: NUL-terminated strings. A trailing NUL ends the
/// last argument; a last argument without one (truncated buffer, or a process that rewrote
/// its arguments) is still returned. Empty arguments are kept.
pub fn cmdline_args(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = buf.strip_suffix(b"\0").unwrap_or(buf);
    let empty = body.is_empty();
    body.split(|&b| b == 0).filter(move |_| !empty)
}

/// The `Pss:` figure of `/proc/<pid>/smaps_rollup`, in KiB (the file says `kB`).
pub fn parse_smaps_rollup_pss(buf: &[u8]) -> Option<u64> {
    buf.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(b"Pss:")?;
        let rest = rest.trim_ascii();
        let digits = rest.strip_suffix(b"kB").unwrap_or(rest).trim_ascii();
        parse_u64(digits)
    })
}

/// The most recently allocated pid in the caller's pid namespace: the last field of
/// `/proc/loadavg` (`0.00 0.01 0.05 1/123 4567`).
pub fn parse_loadavg_last_pid(buf: &[u8]) -> Option<i32> {
    parse_loadavg(buf).map(|(last, _)| last)
}

/// What memwatch reads in `/proc/loadavg` (`0.00 0.01 0.05 1/123 4567`) at every sample, in
/// one pass from the end (a few bytes): the most recently allocated pid in the caller's pid
/// namespace (the last field), and the number of tasks on the machine (threads; after the
/// `/` of the field before), which rises with every task created, also one that takes the
/// last allocated pid again. `None` for the tasks when that field is not `<n>/<tasks>`.
pub fn parse_loadavg(buf: &[u8]) -> Option<(i32, Option<u64>)> {
    let sep = |b: &u8| *b == b' ' || *b == b'\n';
    let end = buf.iter().rposition(|b| !sep(b))? + 1;
    let start = buf[..end].iter().rposition(sep).map_or(0, |i| i + 1);
    let last = parse_int(&buf[start..end])?;
    let before = &buf[..start.saturating_sub(1)];
    let tasks = before
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .filter(|&i| before[i] == b'/')
        .and_then(|i| parse_u64(&before[i + 1..]));
    Some((last, tasks))
}

/// The command name (`comm`, field 2) of a `/proc/<pid>/stat` line: what is between the
/// first `(` and the last `)`.
pub fn stat_comm(buf: &[u8]) -> Option<&[u8]> {
    let open = buf.iter().position(|&b| b == b'(')?;
    let close = buf.iter().rposition(|&b| b == b')')?;
    buf.get(open + 1..close)
}

/// The value of variable `name` in a `/proc/<pid>/environ` (`NAME=value` strings, each
/// ended by a NUL); the first one wins, as for `getenv`.
pub fn environ_var<'a>(buf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    buf.split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
}

/// The step in the title a Slurm step daemon gives itself, its `/proc/<pid>/cmdline`
/// (`slurmstepd: [1234.0]`, padded with spaces or NULs): `1234.0`, `1234.batch`.
pub fn stepd_step(cmdline: &[u8]) -> Option<&[u8]> {
    let rest = cmdline.strip_prefix(b"slurmstepd:")?;
    let open = rest.iter().position(|&b| b == b'[')?;
    let close = open + rest[open..].iter().position(|&b| b == b']')?;
    let step = &rest[open + 1..close];
    (!step.is_empty()).then_some(step)
}

/// The pids in a `/proc/<pid>/task/<tid>/children` file (space-separated).
pub fn children_pids(buf: &[u8]) -> impl Iterator<Item = i32> + '_ {
    buf.split(|&b| b == b' ' || b == b'\n')
        .filter(|t| !t.is_empty())
        .filter_map(parse_int)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Parse an unsigned decimal integer, rejecting anything else (no sign, no overflow).
/// Leading zeros are allowed, however many (overflow is caught by the arithmetic, not by
/// the length).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parse a signed decimal `i32`.
pub fn parse_int(s: &[u8]) -> Option<i32> {
    match s.split_first()? {
        (b'-', digits) => i32::try_from(-i64::try_from(parse_u64(digits)?).ok()?).ok(),
        _ => i32::try_from(parse_u64(s)?).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real line from this kernel (6.18), with comm "sleep".
    const STAT: &[u8] = b"4321 (sleep) S 4300 4300 1032 34816 4300 4194304 93 0 0 0 0 0 0 0 20 0 1 0 1010678 5664768 245 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn stat_fields() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(
            s,
            Stat {
                pid: 4321,
                state: b'S',
                ppid: 4300,
                pgrp: 4300,
                starttime: 1010678,
                exit_signal: 17
            }
        );
        assert!(!s.is_thread());
        assert!(!s.is_dead());
    }

    fn with_comm(comm: &str) -> Vec<u8> {
        let line = String::from_utf8(STAT.to_vec()).unwrap();
        line.replace("(sleep)", &format!("({comm})")).into_bytes()
    }

    #[test]
    fn stat_comm_with_spaces_and_parens() {
        for comm in [
            "a b",
            "x) 1 2 (y) z",
            "((",
            "))",
            ") S 1 2 3",
            "",
            "a\nb) c",
            "Plex New Transc",
        ] {
            let s = parse_stat(&with_comm(comm)).unwrap_or_else(|| panic!("comm {comm:?}"));
            assert_eq!(
                (s.pid, s.ppid, s.starttime, s.exit_signal),
                (4321, 4300, 1010678, 17),
                "comm {comm:?}"
            );
        }
    }

    #[test]
    fn stat_of_a_thread_and_a_zombie() {
        let t = String::from_utf8(STAT.to_vec())
            .unwrap()
            .replace(" 17 1 0 0", " -1 1 0 0");
        assert!(parse_stat(t.as_bytes()).unwrap().is_thread());
        let z = String::from_utf8(STAT.to_vec())
            .unwrap()
            .replace(") S ", ") Z ");
        assert!(parse_stat(z.as_bytes()).unwrap().is_dead());
    }

    #[test]
    fn stat_rejects_garbage() {
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"12 (x)"), None);
        assert_eq!(parse_stat(b"12 x) S 1 1"), None);
        assert_eq!(parse_stat(b")("), None);
        assert_eq!(parse_stat(&STAT[..60]), None);
        assert_eq!(
            parse_stat(b"12 (x) SS 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 5"),
            None
        );
    }

    #[test]
    fn statm_fields() {
        let m = parse_statm(b"2838 245 215 5 0 84 0\n").unwrap();
        assert_eq!(
            m,
            Statm {
                size: 2838,
                resident: 245,
                shared: 215,
                text: 5
            }
        );
        assert!(!m.is_empty());
        assert!(parse_statm(b"0 0 0 0 0 0 0\n").unwrap().is_empty());
        assert_eq!(parse_statm(b"1 2 3"), None);
        assert_eq!(parse_statm(b"1 -2 3 4"), None);
        assert_eq!(parse_statm(b""), None);
    }

    #[test]
    fn statm_edges() {
        let max = u64::MAX;
        let m = parse_statm(format!("{max} 1 2 3\n").as_bytes()).unwrap();
        assert_eq!(m.size, max);
        assert_eq!(
            parse_statm(b"18446744073709551616 1 2 3\n"),
            None,
            "overflow"
        );
        let zeros = format!("{}7 1 2 3", "0".repeat(100));
        assert_eq!(parse_statm(zeros.as_bytes()).unwrap().size, 7);
        assert_eq!(parse_statm(b"\n  1\n\n2 3  4").unwrap().text, 4);
        assert_eq!(parse_statm(b"1 2 3 4x 5"), None);
        assert_eq!(parse_statm(b"1 2 3 4\0"), None);
        assert_eq!(parse_statm(b"1 2 3 4 garbage").unwrap().text, 4);
        assert_eq!(parse_statm(b"1\t2 3 4 5"), None, "a tab is not a separator");
    }

    /// The one-pass statm parser reads what splitting at spaces and newlines reads.
    mod statm_by_splitting {
        use super::*;
        use proptest::prelude::*;

        fn by_splitting(buf: &[u8]) -> Option<Statm> {
            let mut tokens = buf
                .split(|&b| b == b' ' || b == b'\n')
                .filter(|t| !t.is_empty());
            Some(Statm {
                size: parse_u64(tokens.next()?)?,
                resident: parse_u64(tokens.next()?)?,
                shared: parse_u64(tokens.next()?)?,
                text: parse_u64(tokens.next()?)?,
            })
        }

        fn byte() -> impl Strategy<Value = u8> {
            prop_oneof![
                8 => b'0'..=b'9',
                3 => Just(b' '),
                1 => Just(b'\n'),
                1 => any::<u8>(),
            ]
        }

        proptest! {
            #[test]
            fn agree(buf in proptest::collection::vec(byte(), 0..96)) {
                prop_assert_eq!(parse_statm(&buf), by_splitting(&buf));
            }
        }
    }

    #[test]
    fn cmdline_splitting() {
        let v: Vec<&[u8]> = cmdline_args(b"sh\0-c\0echo hi\0").collect();
        assert_eq!(v, [&b"sh"[..], b"-c", b"echo hi"]);
        let v: Vec<&[u8]> = cmdline_args(b"a\0\0b\0").collect();
        assert_eq!(v, [&b"a"[..], b"", b"b"]);
        let v: Vec<&[u8]> = cmdline_args(b"rewritten title").collect();
        assert_eq!(v, [&b"rewritten title"[..]]);
        assert_eq!(cmdline_args(b"").count(), 0);
        assert_eq!(cmdline_args(b"\0").count(), 0);
    }

    #[test]
    fn loadavg_last_pid() {
        assert_eq!(
            parse_loadavg_last_pid(b"0.08 0.02 0.01 3/81 2146\n"),
            Some(2146)
        );
        assert_eq!(parse_loadavg_last_pid(b"garbage"), None);
        assert_eq!(parse_loadavg_last_pid(b""), None);
    }

    #[test]
    fn loadavg_last_pid_and_tasks() {
        assert_eq!(
            parse_loadavg(b"0.08 0.02 0.01 3/81 2146\n"),
            Some((2146, Some(81)))
        );
        assert_eq!(
            parse_loadavg(b"0.08 0.02 0.01 3/81 2146"),
            Some((2146, Some(81)))
        );
        assert_eq!(
            parse_loadavg(b"0.08 0.02 0.01 3/ 2146\n"),
            Some((2146, None))
        );
        assert_eq!(
            parse_loadavg(b"0.08 0.02 0.01 381 2146\n"),
            Some((2146, None))
        );
        assert_eq!(parse_loadavg(b"3/81  2146\n"), Some((2146, None)));
        assert_eq!(parse_loadavg(b"2146\n"), Some((2146, None)));
        assert_eq!(parse_loadavg(b"0.08 3/81 x2146\n"), None);
        assert_eq!(parse_loadavg(b"garbage"), None);
        assert_eq!(parse_loadavg(b" \n"), None);
        assert_eq!(parse_loadavg(b""), None);
    }

    #[test]
    fn children_list() {
        let v: Vec<i32> = children_pids(b"12 345 6 ").collect();
        assert_eq!(v, [12, 345, 6]);
        assert_eq!(children_pids(b"").count(), 0);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_int(b"-1"), Some(-1));
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b"2147483648"), None);
        assert_eq!(parse_int(b"-2147483648"), Some(i32::MIN));
        assert_eq!(parse_u64(b"+1"), None);
    }

    // Found by fuzzing (proc_numbers): a zero-padded number longer than 20 digits was
    // refused although it fits.
    #[test]
    fn integers_with_many_leading_zeros() {
        assert_eq!(parse_u64(b"009223372036854775807"), Some(i64::MAX as u64));
        assert_eq!(
            parse_u64(b"0000000000000000000000018446744073709551615"),
            Some(u64::MAX)
        );
        assert_eq!(
            parse_u64(b"00000000000000000000018446744073709551616"),
            None
        );
        assert_eq!(
            parse_int(b"-0000000000000000000002147483648"),
            Some(i32::MIN)
        );
    }

    #[test]
    fn smaps_rollup_pss() {
        let rollup =
            b"55d0c0a4b000-7ffd4e1f5000 ---p 00000000 00:00 0                          [rollup]\n\
Rss:              123004 kB\n\
Pss:               41213 kB\n\
Pss_Dirty:         40000 kB\n\
Pss_Anon:          40100 kB\n";
        assert_eq!(parse_smaps_rollup_pss(rollup), Some(41_213));
        assert_eq!(parse_smaps_rollup_pss(b"Rss: 5 kB\n"), None);
        assert_eq!(parse_smaps_rollup_pss(b"Pss:  x kB\n"), None);
        assert_eq!(parse_smaps_rollup_pss(b""), None);
    }

    #[test]
    fn a_stat_line_can_be_longer_than_a_statm_buffer_and_is_only_parsed_whole() {
        // Fields 4 to 37 at their widest (20-digit values): the exit_signal (field 38),
        // which tells a thread from a process, then sits past byte 256, so a reader of
        // `stat` needs a larger buffer than statm's.
        let mut line = b"4321 (python3-worker) S 4300 4300 1032 34816 4300".to_vec();
        for field in 9..=37 {
            let v = if field == 22 { 1_010_678 } else { u64::MAX };
            line.extend_from_slice(format!(" {v}").as_bytes());
        }
        line.extend_from_slice(b" 17 1 0 0 0\n");
        assert!(line.len() > 256, "{}", line.len());
        let whole = parse_stat(&line).expect("a whole line parses");
        assert_eq!((whole.exit_signal, whole.starttime), (17, 1_010_678));
        // Cut short, it is no reading, or a wrong one: the reader must hold it all.
        assert_ne!(parse_stat(&line[..256]), Some(whole));
    }

    #[test]
    fn comm_environ_and_the_step_of_a_step_daemon() {
        assert_eq!(stat_comm(b"12 (a (b) c) S 1 1"), Some(&b"a (b) c"[..]));
        assert_eq!(stat_comm(b"12 slurmstepd S"), None);
        let env = b"PATH=/bin\0SLURM_JOB_ID=42\0MEMWATCH_RUN=1.2\0SLURM_JOB_ID=43\0EMPTY=\0";
        assert_eq!(environ_var(env, "SLURM_JOB_ID"), Some(&b"42"[..]));
        assert_eq!(environ_var(env, "MEMWATCH_RUN"), Some(&b"1.2"[..]));
        assert_eq!(environ_var(env, "EMPTY"), Some(&b""[..]));
        assert_eq!(
            environ_var(env, "SLURM_JOB"),
            None,
            "a prefix is not a name"
        );
        assert_eq!(environ_var(b"", "PATH"), None);
        assert_eq!(
            stepd_step(b"slurmstepd: [1234.0]      \0\0"),
            Some(&b"1234.0"[..])
        );
        assert_eq!(
            stepd_step(b"slurmstepd: [77.batch]"),
            Some(&b"77.batch"[..])
        );
        assert_eq!(stepd_step(b"slurmstepd\0"), None, "not titled yet");
        assert_eq!(stepd_step(b"slurmstepd: []"), None);
        assert_eq!(stepd_step(b"sh\0-c\0[1.0]"), None);
    }
}
