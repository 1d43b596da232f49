//! Rendering reports: the human summary and JSON, each writing into any `io::Write`
//! so tests render into a `Vec<u8>`; and the atomic report file.

pub mod csv;
pub mod file;
pub mod human;
pub mod json;
pub mod status;
