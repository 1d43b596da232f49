//! How the command ended, and the names of signals.

/// How the command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl Exit {
    /// The status a shell would show: the code, or 128 + the signal.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }

    /// "exited with status 3", "was killed by signal 15 (SIGTERM)".
    pub fn describe(self) -> String {
        match self {
            Exit::Code(c) => format!("exited with status {c}"),
            Exit::Signal(s) => match signal_name(s) {
                Some(name) => format!("was killed by signal {s} ({name})"),
                None => format!("was killed by signal {s}"),
            },
        }
    }
}

/// The conventional name of a signal number (the numbers shared by Linux and macOS).
pub fn signal_name(s: i32) -> Option<&'static str> {
    Some(match s {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_and_description() {
        assert_eq!(Exit::Code(3).status(), 3);
        assert_eq!(Exit::Signal(15).status(), 143);
        assert_eq!(
            Exit::Signal(15).describe(),
            "was killed by signal 15 (SIGTERM)"
        );
        assert_eq!(Exit::Signal(40).describe(), "was killed by signal 40");
        assert_eq!(Exit::Code(0).describe(), "exited with status 0");
    }
}
