//! The macOS backend: libproc and `sysctl`.
//!
//! [`procargs`] (the `KERN_PROCARGS2` parser) and [`darwin`] (every decision of the backend
//! that needs no macOS) are pure and compiled on every platform, so they are unit-tested and
//! fuzzed on Linux. The FFI that feeds them is compiled on macOS only.

pub mod darwin;
pub mod procargs;

#[cfg(target_os = "macos")]
mod backend;
#[cfg(target_os = "macos")]
pub use backend::{MacInspector, peek_exited_child, prepare_parent, raised_by_terminal};
