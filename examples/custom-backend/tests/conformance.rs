//! The storage conformance suite of `portcullis-testkit`, against `FileBackend`: one test
//! per contract, each on a fresh file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;

use custom_backend::FileBackend;

/// A file of its own for each test, under cargo's scratch directory for integration tests.
fn temp_path() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("custom-backend-conformance");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}.jsonl", portcullis_core::uuid::Uuid::new_v4()))
}

portcullis_testkit::backend_conformance_tests!(file_backend, || async {
    Some(FileBackend::open(temp_path()).await.unwrap())
});
