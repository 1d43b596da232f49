//! The macOS backend (libproc). Placeholder until the macOS backend lands.
