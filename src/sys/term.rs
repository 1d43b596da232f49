//! The terminal, as the live status line needs it: is standard error a terminal, is
//! memwatch in its foreground, and how many rows does it have. Unix `isatty`, `tcgetpgrp`
//! and `TIOCGWINSZ`.

/// Whether standard error is a terminal.
pub fn stderr_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(libc::STDERR_FILENO) == 1 }
}

/// The terminal's size on standard error as (rows, columns), if it has one.
pub fn stderr_size() -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the valid struct it is given.
    let r = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Whether memwatch is in the foreground process group of the terminal on standard error:
/// only then may it draw there (started with `&`, or after Ctrl+Z and `bg`, the terminal
/// belongs to the shell).
pub fn stderr_in_foreground() -> bool {
    use std::os::fd::AsFd;
    let stderr = std::io::stderr();
    nix::unistd::tcgetpgrp(stderr.as_fd()).is_ok_and(|g| g == nix::unistd::getpgrp())
}
