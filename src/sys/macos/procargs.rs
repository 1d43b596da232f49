//! Pure parser for the macOS `sysctl(KERN_PROCARGS2)` buffer, compiled everywhere so it is
//! unit-tested and fuzzed on Linux.
//!
//! Layout (xnu `bsd/kern/kern_sysctl.c`, `sysctl_procargsx`):
//! `[argc: i32, native endian] [exec_path] NUL [NUL padding...] [argv[0]] NUL ... [argv[argc-1]] NUL [env...]`.

/// The parts of a `KERN_PROCARGS2` buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct ProcArgs<'a> {
    /// The executable path the kernel recorded at exec.
    pub exec_path: &'a [u8],
    /// Exactly `argc` arguments when the buffer holds them all; fewer when it was cut.
    pub argv: Vec<&'a [u8]>,
}

/// Parse a `KERN_PROCARGS2` buffer. Returns `None` when it is too short to hold `argc`, or
/// when `argc` is negative. Empty arguments are kept (unlike parsers that skip runs of NULs);
/// a final argument without its NUL (a truncated buffer) is returned as far as it goes.
pub fn parse_procargs2(buf: &[u8]) -> Option<ProcArgs<'_>> {
    let argc_bytes: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let argc = i32::from_ne_bytes(argc_bytes);
    let argc = usize::try_from(argc).ok()?;
    let rest = &buf[4..];
    let path_end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let exec_path = &rest[..path_end];
    // Skip the NUL after the path and the padding NULs before argv[0].
    let mut pos = path_end;
    while pos < rest.len() && rest[pos] == 0 {
        pos += 1;
    }
    // Never trust argc for an allocation size: it is bounded by what the buffer can hold.
    let mut argv = Vec::with_capacity(argc.min(rest.len() - pos + 1).min(4096));
    while argv.len() < argc && pos < rest.len() {
        let len = rest[pos..].iter().position(|&b| b == 0);
        match len {
            Some(len) => {
                argv.push(&rest[pos..pos + len]);
                pos += len + 1;
            }
            None => {
                argv.push(&rest[pos..]);
                pos = rest.len();
            }
        }
    }
    Some(ProcArgs { exec_path, argv })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(argc: i32, body: &[u8]) -> Vec<u8> {
        let mut v = argc.to_ne_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn typical() {
        let b = buf(3, b"/bin/sh\0\0\0\0sh\0-c\0echo hi\0PATH=/bin\0HOME=/\0\0");
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.exec_path, b"/bin/sh");
        assert_eq!(p.argv, [&b"sh"[..], b"-c", b"echo hi"]);
    }

    #[test]
    fn empty_arguments_are_kept() {
        let b = buf(4, b"/x\0\0x\0\0\0y\0ENV=1\0");
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.argv, [&b"x"[..], b"", b"", b"y"]);
    }

    #[test]
    fn truncated_buffers() {
        let b = buf(3, b"/bin/sh\0\0sh\0-c\0ech");
        assert_eq!(
            parse_procargs2(&b).unwrap().argv,
            [&b"sh"[..], b"-c", b"ech"]
        );
        let b = buf(2, b"/bin/sh");
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.exec_path, b"/bin/sh");
        assert!(p.argv.is_empty());
        assert_eq!(parse_procargs2(&[1, 0]), None);
        assert_eq!(parse_procargs2(&[]), None);
    }

    #[test]
    fn hostile_argc() {
        assert_eq!(parse_procargs2(&buf(-1, b"/x\0a\0")), None);
        let b = buf(i32::MAX, b"/x\0a\0b\0");
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.argv, [&b"a"[..], b"b"]);
        let b = buf(0, b"/x\0a\0");
        let p = parse_procargs2(&b).unwrap();
        assert!(p.argv.is_empty());
    }
}
