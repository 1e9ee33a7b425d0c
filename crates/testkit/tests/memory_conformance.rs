//! The in-memory reference backend passes the conformance suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use portcullis_testkit::MemoryBackend;

portcullis_testkit::backend_conformance_tests!(memory, || async { Some(MemoryBackend::new()) });

#[tokio::test(flavor = "multi_thread")]
async fn run_all_runs_every_contract() {
    portcullis_testkit::conformance::run_all(|| async { MemoryBackend::new() }).await;
}
