//! Fresh, migrated backends for tests (feature `testing`): SQLite in memory and in a temp
//! file, and a scratch PostgreSQL / MySQL database per call when the server URL is set.
//!
//! Every Portcullis test suite that needs a real database takes it from here, and so can
//! yours:
//!
//! ```no_run
//! # async fn demo() {
//! // None (after printing one `skipped:` line) when PORTCULLIS_TEST_POSTGRES_URL is unset.
//! if let Some(backend) = portcullis_sea_orm::testing::postgres().await {
//!     // ... a migrated backend on a database of its own ...
//! #   drop(backend);
//! }
//! # }
//! ```
//!
//! Scratch databases and files are named `portcullis_t_<pid>_<random>`; each process drops
//! the ones whose process is gone on its first call (a test cannot drop its own: the suite
//! holds the backend until the test returns). `.ci/run` drops `portcullis_t_%` as well.
//!
//! These functions panic when the database cannot be set up: they are for tests.

#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::SeaOrmBackend;

/// Prefix of every scratch database and file.
pub const SCRATCH_PREFIX: &str = "portcullis_t_";

fn scratch_name() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{SCRATCH_PREFIX}{}_{}", std::process::id(), &random[..12])
}

/// Whether a scratch name belongs to a process that no longer runs.
fn is_stale(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(SCRATCH_PREFIX) else {
        return false;
    };
    let Some((pid, _)) = rest.split_once('_') else {
        return false;
    };
    match pid.parse::<u32>() {
        Ok(pid) => pid != std::process::id() && !PathBuf::from(format!("/proc/{pid}")).exists(),
        Err(_) => false,
    }
}

/// A fresh SQLite database in memory (one connection; it lives as long as the backend).
pub async fn sqlite_memory() -> Option<SeaOrmBackend> {
    let backend = SeaOrmBackend::connect("sqlite::memory:")
        .await
        .expect("connect to sqlite::memory:");
    backend.migrate().await.expect("migrate");
    Some(backend)
}

static SQLITE_SWEPT: AtomicBool = AtomicBool::new(false);

/// A fresh SQLite file in the temp directory.
pub async fn sqlite_file() -> Option<SeaOrmBackend> {
    let dir = std::env::temp_dir();
    if !SQLITE_SWEPT.swap(true, Ordering::SeqCst)
        && let Ok(entries) = std::fs::read_dir(&dir)
    {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_stale(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let path = dir.join(format!("{}.db", scratch_name()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let backend = SeaOrmBackend::connect(&url)
        .await
        .expect("connect to an SQLite file");
    backend.migrate().await.expect("migrate");
    Some(backend)
}

/// The plan the database chooses for the lookup behind
/// [`find_session_by_token_hash`](portcullis_core::SessionStore::find_session_by_token_hash)
/// (the authenticated request's hot path), one line per step: `EXPLAIN QUERY PLAN` on
/// SQLite, `EXPLAIN` on PostgreSQL and MySQL (there summarised as `table`, `type`, `key`,
/// `rows`). Benchmarks and tests use it to check that the lookup stays on the token-hash
/// index (`uq_portcullis_session_token_hash`) however large the table grows.
///
/// MySQL plans a unique-key lookup by reading the row while planning: give the hash of an
/// existing session there, or the plan says only "Impossible WHERE".
pub async fn explain_session_lookup(
    backend: &SeaOrmBackend,
    token_hash: &portcullis_core::TokenHash,
) -> Vec<String> {
    crate::store::explain_session_lookup(backend.connection(), token_hash)
        .await
        .expect("explain the session lookup")
}

/// `url` with its database (path) replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn scratch_database(
    url: &str,
    list_sql: &str,
    drop_sql: fn(&str) -> String,
) -> SeaOrmBackend {
    use sea_orm::{ConnectionTrait, Database, Statement};

    static SWEPT: AtomicBool = AtomicBool::new(false);
    let admin = Database::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    if !SWEPT.swap(true, Ordering::SeqCst) {
        let rows = admin
            .query_all_raw(Statement::from_string(
                admin.get_database_backend(),
                list_sql,
            ))
            .await
            .expect("list scratch databases");
        for row in rows {
            let name: String = row.try_get_by_index(0).expect("database name");
            if is_stale(&name) {
                let _ = admin.execute_unprepared(&drop_sql(&name)).await;
            }
        }
    }
    let name = scratch_name();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a scratch database");
    admin.close().await.expect("close the admin connection");
    let backend = SeaOrmBackend::connect(&with_database(url, &name))
        .await
        .expect("connect to the scratch database");
    backend.migrate().await.expect("migrate");
    backend
}

/// A fresh PostgreSQL database, or `None` (with one line saying so) without a server URL.
#[cfg(feature = "postgres")]
pub async fn postgres() -> Option<SeaOrmBackend> {
    let url = portcullis_testkit::skip_unless_env(
        "PORTCULLIS_TEST_POSTGRES_URL",
        "PostgreSQL tests",
        "postgres://postgres@127.0.0.1:5432/test",
    )?;
    Some(
        scratch_database(
            &url,
            "SELECT datname FROM pg_database WHERE datname LIKE 'portcullis\\_t\\_%'",
            |name| format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await,
    )
}

/// A fresh MySQL/MariaDB database, or `None` (with one line saying so) without a server URL.
#[cfg(feature = "mysql")]
pub async fn mysql() -> Option<SeaOrmBackend> {
    let url = portcullis_testkit::skip_unless_env(
        "PORTCULLIS_TEST_MYSQL_URL",
        "MySQL tests",
        "mysql://root@127.0.0.1:3306/test",
    )?;
    Some(
        scratch_database(
            &url,
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'portcullis\\_t\\_%'",
            |name| format!("DROP DATABASE IF EXISTS {name}"),
        )
        .await,
    )
}

/// Without the `postgres` feature: says so once and returns `None`.
#[cfg(not(feature = "postgres"))]
pub async fn postgres() -> Option<SeaOrmBackend> {
    portcullis_testkit::announce_skip(
        "PostgreSQL tests",
        "enable the `postgres` feature of portcullis-sea-orm to run them",
    );
    None
}

/// Without the `mysql` feature: says so once and returns `None`.
#[cfg(not(feature = "mysql"))]
pub async fn mysql() -> Option<SeaOrmBackend> {
    portcullis_testkit::announce_skip(
        "MySQL tests",
        "enable the `mysql` feature of portcullis-sea-orm to run them",
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/test?ssl-mode=disabled", "x"),
            "mysql://root@127.0.0.1:3306/x?ssl-mode=disabled"
        );
        assert_eq!(
            with_database("postgres://localhost", "x"),
            "postgres://localhost/x"
        );
    }
}
