//! The Linux backend: `/proc`.
//!
//! [`procfs`] holds the pure parsers of the `/proc` files memwatch reads; it is compiled on
//! every platform so tests, benches and fuzz targets reach it. The rest, the
//! [`Inspector`](super::Inspector) that reads `/proc`, is compiled on Linux only.

pub mod procfs;

#[cfg(target_os = "linux")]
mod inspector;
#[cfg(target_os = "linux")]
pub use inspector::{LinuxInspector, prepare_parent};
