//! The terminal, as the live status line needs it: is standard error a terminal, is
//! memwatch in its foreground, and how many rows does it have.

use std::io::IsTerminal;

/// Whether standard error is a terminal.
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The terminal's size on standard error as (rows, columns), if it has one.
pub(crate) fn stderr_size() -> Option<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(std::io::stderr()).ok()?;
    (ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Whether memwatch is in the foreground process group of the terminal on standard error:
/// only then may it draw there (started with `&`, or after Ctrl+Z and `bg`, the terminal
/// belongs to the shell).
pub(crate) fn stderr_in_foreground() -> bool {
    use std::os::fd::AsFd;
    let stderr = std::io::stderr();
    nix::unistd::tcgetpgrp(stderr.as_fd()).is_ok_and(|g| g == nix::unistd::getpgrp())
}
