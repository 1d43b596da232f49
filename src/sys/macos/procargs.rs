//! Pure parser for the macOS `sysctl(KERN_PROCARGS2)` buffer, compiled everywhere so it is
//! unit-tested and fuzzed on Linux.
//!
//! Layout (xnu `bsd/kern/kern_exec.c`, `exec_save_path` and `exec_extract_strings`; returned
//! by `sysctl_procargsx` in `bsd/kern/kern_sysctl.c`):
//! `[argc: i32, native endian] [exec_path] NUL [NUL padding] [argv[0]] NUL ... [argv[argc-1]] NUL [env...]`.
//!
//! The kernel stores `executable_path=` and the path, NUL-terminated, at the start of the
//! strings area, then pads with NULs until the area's length is a multiple of the pointer
//! size, 8 bytes. The sysctl strips the 16-byte `executable_path=` (a multiple of 8), so
//! `argv[0]` starts at the first multiple of 8 bytes after the path's NUL, counted from the
//! path's first byte. Skipping every NUL after the path instead would also swallow empty
//! arguments, and the last argument taken would then be the first environment variable.

/// The pointer size of the processes `KERN_PROCARGS2` describes (64-bit: the only kind
/// macOS has run since 10.15): the alignment of the padding after the executable path.
const PADDING_ALIGN: usize = 8;

/// The parts of a `KERN_PROCARGS2` buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct ProcArgs<'a> {
    /// The executable path the kernel recorded at exec.
    pub exec_path: &'a [u8],
    /// Exactly `argc` arguments when the buffer holds them all; fewer when it was cut.
    pub argv: Vec<&'a [u8]>,
}

/// Where `argv[0]` starts in the bytes after `argc`, for a path of `path_len` bytes: its NUL
/// and the padding skipped (see the module's documentation).
fn first_argument_offset(path_len: usize) -> usize {
    (path_len + 1).next_multiple_of(PADDING_ALIGN)
}

/// Parse a `KERN_PROCARGS2` buffer. Returns `None` when it is too short to hold `argc`, or
/// when `argc` is negative. Empty arguments are kept, `argv[0]` included (only the padding
/// after the path is skipped, never an argument); a final argument without its NUL (a
/// truncated buffer) is returned as far as it goes.
pub fn parse_procargs2(buf: &[u8]) -> Option<ProcArgs<'_>> {
    let argc_bytes: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let argc = i32::from_ne_bytes(argc_bytes);
    let argc = usize::try_from(argc).ok()?;
    let rest = &buf[4..];
    let path_end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let exec_path = &rest[..path_end];
    let mut pos = first_argument_offset(path_end).min(rest.len());
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

    /// A buffer laid out as xnu lays it out: argc, the path and its NUL padded to 8 bytes,
    /// the arguments and the environment NUL-terminated, then zeros.
    fn kernel(path: &[u8], argv: &[&[u8]], env: &[&[u8]]) -> Vec<u8> {
        let mut body = path.to_vec();
        body.push(0);
        while body.len() % 8 != 0 {
            body.push(0);
        }
        for s in argv.iter().chain(env) {
            body.extend_from_slice(s);
            body.push(0);
        }
        body.extend_from_slice(&[0; 8]);
        buf(i32::try_from(argv.len()).unwrap(), &body)
    }

    #[test]
    fn typical() {
        // "/bin/sh" and its NUL fill 8 bytes: no padding.
        let b = kernel(
            b"/bin/sh",
            &[b"sh", b"-c", b"echo hi"],
            &[b"PATH=/bin", b"HOME=/"],
        );
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.exec_path, b"/bin/sh");
        assert_eq!(p.argv, [&b"sh"[..], b"-c", b"echo hi"]);
        // 16 bytes and a NUL: seven bytes of padding.
        let b = kernel(b"/usr/bin/python3", &[b"python3", b"x.py"], &[b"A=1"]);
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.exec_path, b"/usr/bin/python3");
        assert_eq!(p.argv, [&b"python3"[..], b"x.py"]);
    }

    #[test]
    fn padding_is_the_kernels_alignment() {
        assert_eq!(first_argument_offset(0), 8);
        assert_eq!(first_argument_offset(6), 8);
        assert_eq!(first_argument_offset(7), 8);
        assert_eq!(first_argument_offset(8), 16);
        assert_eq!(first_argument_offset(15), 16);
        assert_eq!(first_argument_offset(16), 24);
    }

    #[test]
    fn an_empty_first_argument_is_no_padding() {
        // execve("/tmp/x", ["", "x"], ["SECRET_TOKEN=abc"]): skipping every NUL after the
        // path used to take "x SECRET_TOKEN=abc" as the arguments.
        let b = kernel(b"/tmp/x", &[b"", b"x"], &[b"SECRET_TOKEN=abc"]);
        assert_eq!(parse_procargs2(&b).unwrap().argv, [&b""[..], b"x"]);
        // The path's NUL right at the alignment, then empty arguments only.
        let b = kernel(b"/bin/ls", &[b"", b""], &[b"TOKEN=1"]);
        assert_eq!(parse_procargs2(&b).unwrap().argv, [&b""[..], b""]);
        let b = kernel(b"/usr/bin/env", &[b"", b"", b"z"], &[b"TOKEN=1"]);
        assert_eq!(parse_procargs2(&b).unwrap().argv, [&b""[..], b"", b"z"]);
    }

    #[test]
    fn empty_arguments_are_kept() {
        let b = kernel(b"/x", &[b"x", b"", b"", b"y"], &[b"ENV=1"]);
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.argv, [&b"x"[..], b"", b"", b"y"]);
    }

    #[test]
    fn truncated_buffers() {
        let b = buf(3, b"/bin/sh\0sh\0-c\0ech");
        assert_eq!(
            parse_procargs2(&b).unwrap().argv,
            [&b"sh"[..], b"-c", b"ech"]
        );
        let b = buf(2, b"/bin/sh");
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.exec_path, b"/bin/sh");
        assert!(p.argv.is_empty());
        // Cut inside the padding.
        let b = buf(2, b"/x\0\0\0");
        assert!(parse_procargs2(&b).unwrap().argv.is_empty());
        assert_eq!(parse_procargs2(&[1, 0]), None);
        assert_eq!(parse_procargs2(&[]), None);
    }

    #[test]
    fn hostile_argc() {
        assert_eq!(parse_procargs2(&buf(-1, b"/x\0\0\0\0\0\0a\0")), None);
        let b = buf(i32::MAX, b"/x\0\0\0\0\0\0a\0b\0");
        let p = parse_procargs2(&b).unwrap();
        assert_eq!(p.argv, [&b"a"[..], b"b"]);
        let b = buf(0, b"/x\0\0\0\0\0\0a\0");
        let p = parse_procargs2(&b).unwrap();
        assert!(p.argv.is_empty());
    }
}
