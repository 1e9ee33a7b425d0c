//! Manager flows on the SeaORM backend: SQLite in memory and in a file always, PostgreSQL and
//! MySQL/MariaDB when `PORTCULLIS_TEST_POSTGRES_URL` / `PORTCULLIS_TEST_MYSQL_URL` are set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use portcullis_sea_orm::testing;

manager_tests!(sqlite_memory, testing::sqlite_memory);
manager_tests!(sqlite_file, testing::sqlite_file);
manager_tests!(postgres, testing::postgres);
manager_tests!(mysql, testing::mysql);
