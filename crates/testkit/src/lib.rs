//! Portcullis test kit: conformance suites every backend runs, the HTTP route table every
//! adapter runs, and an in-memory reference backend.
//!
//! A framework adapter proves it serves the `/auth` API like the others by implementing
//! [`RouteTarget`] in a test and calling [`run_route_table`] (see [`routes`]).
//!
//! A storage backend proves it keeps core's contracts by running
//! [`backend_conformance_tests!`] in one of its test files: one `#[test]` per contract
//! (create-or-fail sessions, single-use verifications under a 20-way race, 100 concurrent
//! registrations of one email, an exact failed-login counter under 50 concurrent failures,
//! cascading deletes, batched purges, and more).
//!
//! Use it (as a dev-dependency) when you test a storage backend of your own;
//! `docs/writing-a-backend.md` explains each contract and `examples/custom-backend` runs the
//! suite against a file-based backend.
//!
//! # Example
//!
//! ```
//! use portcullis_testkit::MemoryBackend;
//!
//! // In a test file (`tests/conformance.rs`) of your backend crate:
//! portcullis_testkit::backend_conformance_tests!(memory, || async { Some(MemoryBackend::new()) });
//! # fn main() {}
//! ```
//!
//! The factory returns `None` to skip (for example when a database URL is not set); print
//! one line saying what was not run and how to run it. See
//! [`skip_unless_env`] for the usual way.
//!
//! # Feature flags
//!
//! None.

pub mod conformance;
mod down;
mod memory;
pub mod routes;

#[doc(inline)]
pub use down::DownBackend;
#[doc(inline)]
pub use memory::MemoryBackend;
#[doc(inline)]
pub use routes::{RouteTarget, run_route_table};

/// Generates one `#[test]` per backend contract in a module called `$module`.
///
/// `$factory` is a closure `|| async { Option<B> }` returning a backend with empty tables
/// (called once per test), or `None` to skip. Each test runs on a multi-threaded Tokio
/// runtime, so the concurrency contracts really race.
#[macro_export]
macro_rules! backend_conformance_tests {
    ($module:ident, $factory:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_cases!(tests($factory));
        }
    };
}

/// Reads the environment variable `var`. When it is unset or empty, prints once per test
/// process `skipped: <what> not run; set <var>=<example> to run it` and returns `None`.
///
/// ```no_run
/// let url = portcullis_testkit::skip_unless_env(
///     "PORTCULLIS_TEST_POSTGRES_URL",
///     "PostgreSQL conformance suite",
///     "postgres://postgres@127.0.0.1:5432/test",
/// );
/// let Some(url) = url else { return };
/// println!("connecting to {url}");
/// ```
#[must_use]
pub fn skip_unless_env(var: &str, what: &str, example: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            announce_skip(what, &format!("set {var}={example} to run it"));
            None
        }
    }
}

/// Prints `skipped: <what> not run; <how>` once per test process for each `what`.
///
/// Written to stderr directly rather than with `eprintln!`, which the test harness captures:
/// this line must be seen even when every test passes.
pub fn announce_skip(what: &str, how: &str) {
    use std::collections::HashSet;
    use std::io::Write as _;
    use std::sync::{Mutex, PoisonError};
    static ANNOUNCED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

    let mut announced = ANNOUNCED.lock().unwrap_or_else(PoisonError::into_inner);
    if announced
        .get_or_insert_with(HashSet::new)
        .insert(what.to_owned())
    {
        let _ = writeln!(std::io::stderr(), "skipped: {what} not run; {how}");
    }
}

#[doc(hidden)]
pub mod __private {
    use std::future::Future;

    /// Runs a test body on a fresh multi-threaded runtime.
    ///
    /// # Panics
    /// When the runtime cannot be built (test code only).
    #[allow(clippy::expect_used)]
    pub fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("building a Tokio runtime for a conformance test")
            .block_on(future)
    }
}
