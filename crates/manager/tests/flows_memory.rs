//! Manager flows on the in-memory reference backend.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use portcullis_testkit::MemoryBackend;

manager_tests!(memory, || async { Some(MemoryBackend::new()) });
