//! The portcullis-testkit backend conformance suite on every database this crate supports.
//!
//! SQLite runs with the `sqlite` feature (the default), in memory and in a temp file. PostgreSQL and MySQL/MariaDB run when
//! the crate's `postgres` / `mysql` feature is on and `PORTCULLIS_TEST_POSTGRES_URL` /
//! `PORTCULLIS_TEST_MYSQL_URL` point at a server (each test gets a fresh database there).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_sea_orm::testing as common;

#[cfg(feature = "sqlite")]
portcullis_testkit::backend_conformance_tests!(sqlite_memory, || async {
    common::sqlite_memory().await
});

#[cfg(feature = "sqlite")]
portcullis_testkit::backend_conformance_tests!(sqlite_file, || async {
    common::sqlite_file().await
});

#[cfg(feature = "postgres")]
portcullis_testkit::backend_conformance_tests!(postgres, || async { common::postgres().await });

#[cfg(feature = "mysql")]
portcullis_testkit::backend_conformance_tests!(mysql, || async { common::mysql().await });
