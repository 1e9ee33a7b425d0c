//! [`SeaOrmBackend`]: the connection, its pool settings, and migrations.

use std::fmt;
use std::time::Duration;

use portcullis_core::{StoreError, StoreResult};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::error::map_db_err;
use crate::migration::Migrator;

/// How long a request waits for a pooled connection (and a new connection for its handshake)
/// before it fails as [`StoreError::Unavailable`](portcullis_core::StoreError::Unavailable):
/// long enough to ride out a burst, short enough that a dead database answers 503 quickly
/// instead of piling up requests.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long SQLite waits for another connection's write lock before reporting "database is
/// locked". Writes here are single small transactions, so 5 s means a stuck writer, not load.
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pool size for PostgreSQL and MySQL: a few connections per core is what a database serves
/// well; requests beyond it queue for [`ACQUIRE_TIMEOUT`].
pub(crate) const SERVER_MAX_CONNECTIONS: u32 = 16;

/// Pool size for an SQLite file: writers serialise on the file lock anyway, readers run in
/// parallel under WAL.
pub(crate) const SQLITE_FILE_MAX_CONNECTIONS: u32 = 8;

/// Pooled connections idle this long are pinged before use (a server, proxy or firewall may
/// have dropped them); hot connections go out without the extra round trip.
pub(crate) const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// The Portcullis storage backend on SeaORM: every core store over one connection pool.
///
/// Cloning is cheap (the pool is shared). Create one with [`connect`](Self::connect) or
/// wrap a pool you configured yourself with [`new`](Self::new), then call
/// [`migrate`](Self::migrate) once at start-up.
///
/// ```
/// # async fn run() -> Result<(), portcullis_core::StoreError> {
/// use portcullis_sea_orm::SeaOrmBackend;
///
/// let backend = SeaOrmBackend::connect("sqlite::memory:").await?;
/// backend.migrate().await?;
/// backend.migrate().await?; // already applied: nothing to do
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Clone)]
pub struct SeaOrmBackend {
    db: DatabaseConnection,
}

impl fmt::Debug for SeaOrmBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeaOrmBackend")
            .field("backend", &self.db.get_database_backend())
            .finish_non_exhaustive()
    }
}

impl SeaOrmBackend {
    /// Connects to the database at `url` with settings chosen for Portcullis:
    ///
    /// | URL | pool |
    /// |---|---|
    /// | `sqlite://path/to/file.db?mode=rwc` | up to 8 connections; WAL journal, `synchronous=NORMAL`, `busy_timeout` 5 s, foreign keys on |
    /// | `sqlite::memory:` | one connection kept open for the pool's lifetime (an in-memory database lives and dies with its connection, and is private to it) |
    /// | `postgres://user@host/db` | up to 16 connections |
    /// | `mysql://user@host/db` (MySQL or MariaDB) | up to 16 connections |
    ///
    /// Every pool waits at most 5 s for a connection, and pings connections idle for more
    /// than 30 s before handing them out. The scheme's driver must be enabled as a cargo
    /// feature (`sqlite`, `postgres`, `mysql`). For other settings build a
    /// [`DatabaseConnection`] yourself and use [`new`](Self::new).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](portcullis_core::StoreError::Unavailable) when the server
    /// cannot be reached; `Backend` for a malformed URL or a disabled driver.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = connect_options(url);
        let db = Database::connect(options).await.map_err(|err| match err {
            // SeaORM's own refusals quote the whole URL, password included: say less.
            DbErr::Conn(RuntimeErr::Internal(_)) => StoreError::backend(format!(
                "cannot connect: malformed or unsupported database URL (scheme {:?}; is the \
                 matching cargo feature of portcullis-sea-orm enabled?)",
                url_scheme(url)
            )),
            other => map_db_err(other),
        })?;
        Ok(Self { db })
    }

    /// Wraps an existing connection (pool).
    ///
    /// On SQLite, turn foreign keys on (sqlx does by default): deleting a user relies on
    /// them to delete the user's accounts and sessions.
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The underlying connection, for an application's own queries on the same pool (see
    /// [`entity`](crate::entity)).
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Consumes the backend, returning its connection.
    #[must_use]
    pub fn into_connection(self) -> DatabaseConnection {
        self.db
    }

    /// Applies pending migrations (see [`Migrator`]). Idempotent: with nothing pending it
    /// only reads the migration table. Run it once at start-up, before serving requests.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be reached; `Backend` when a migration fails.
    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.db, None).await.map_err(map_db_err)
    }

    /// Closes the pool; later operations fail with `Unavailable`.
    ///
    /// # Errors
    /// `Backend` when closing fails.
    pub async fn close(&self) -> StoreResult<()> {
        self.db.close_by_ref().await.map_err(map_db_err)
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at `BEGIN`
    /// (`BEGIN IMMEDIATE`), so it waits for other writers under the busy timeout instead of
    /// failing when a read lock cannot be upgraded.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
    }
}

/// The scheme of `url` when it looks like one (`postgres`, `sqlite`), for error messages
/// that must not quote the rest (it may hold a password).
fn url_scheme(url: &str) -> &str {
    match url.split_once(':') {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme.len() <= 16
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            scheme
        }
        _ => "?",
    }
}

fn is_sqlite_memory(url: &str) -> bool {
    url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory"))
}

fn connect_options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        // Statements are logged without their values, but at INFO: too loud for a hot path.
        .sqlx_logging(false);
    if is_sqlite_memory(url) {
        // One connection for the pool's whole life: closing it would drop the database.
        options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        configure_sqlite(&mut options, false);
    } else if url.starts_with("sqlite:") {
        options.max_connections(SQLITE_FILE_MAX_CONNECTIONS);
        configure_sqlite(&mut options, true);
    } else {
        options.max_connections(SERVER_MAX_CONNECTIONS);
    }
    options
}

#[cfg(feature = "sqlite")]
fn configure_sqlite(options: &mut ConnectOptions, file: bool) {
    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};

    options.map_sqlx_sqlite_opts(move |opts| {
        let opts = opts
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        if file {
            opts.journal_mode(SqliteJournalMode::Wal)
        } else {
            opts
        }
    });
}

#[cfg(not(feature = "sqlite"))]
fn configure_sqlite(_options: &mut ConnectOptions, _file: bool) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_sqlite_memory("sqlite::memory:"));
        assert!(is_sqlite_memory("sqlite://file:x?mode=memory&cache=shared"));
        assert!(!is_sqlite_memory("sqlite://data.db?mode=rwc"));
        assert!(!is_sqlite_memory("postgres://localhost/memory"));
    }

    #[test]
    fn only_the_scheme_of_a_bad_url_is_quoted() {
        assert_eq!(url_scheme("mysql://root:secret@host/db"), "mysql");
        assert_eq!(url_scheme("not a url: secret"), "?");
        assert_eq!(url_scheme("secret"), "?");
    }

    #[test]
    fn pools_are_bounded_and_time_out() {
        let memory = connect_options("sqlite::memory:");
        assert_eq!(memory.get_max_connections(), Some(1));
        assert_eq!(memory.get_idle_timeout(), Some(None));
        let pg = connect_options("postgres://localhost/db");
        assert_eq!(pg.get_max_connections(), Some(SERVER_MAX_CONNECTIONS));
        assert_eq!(pg.get_acquire_timeout(), Some(ACQUIRE_TIMEOUT));
    }
}
