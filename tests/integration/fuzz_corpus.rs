//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same invariant
//! checks the fuzz targets assert, so plain `cargo test` on stable covers every input
//! fuzzing kept, including the ones that once found a bug. Fuzzing itself: `fuzz/README.md`.

// The fuzz crate's checks, whose items are `pub` for its fuzz targets.
#[allow(unreachable_pub)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

#[test]
fn every_corpus_file_passes_its_target_checks() {
    let mut failures = Vec::new();
    for &(target, check) in checks::TARGETS {
        let dir = corpus_root().join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "corpus {} is empty", dir.display());
        for file in &files {
            let bytes = std::fs::read(file).expect("read corpus file");
            if catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err() {
                failures.push(file.display().to_string());
            }
        }
        eprintln!("{target}: {} corpus files replayed", files.len());
    }
    assert!(
        failures.is_empty(),
        "corpus files failing their checks (messages above):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_corpus_directory_belongs_to_a_target() {
    for entry in std::fs::read_dir(corpus_root()).expect("fuzz/corpus") {
        let name = entry.expect("corpus entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            checks::TARGETS.iter().any(|&(t, _)| t == name),
            "fuzz/corpus/{name} has no check in fuzz/src/checks.rs"
        );
    }
}
