//! The invariants the fuzz targets check, in [`checks`], shared with the stable corpus
//! replay in the main crate (`tests/integration/fuzz_corpus.rs` includes `checks.rs` by
//! path).

pub mod checks;
