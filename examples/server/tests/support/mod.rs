//! Starts the demo server in-process for the integration tests, exactly as `main` builds it,
//! with a capturing mailer.

#![allow(dead_code, unreachable_pub)] // shared by several test binaries, each using a part

use std::net::SocketAddr;

use portcullis_manager::{AuthConfig, AuthManager, MemoryMailer};
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_sea_orm::SeaOrmBackend;
use server::{Manager, ServerConfig};

/// A running server.
pub struct Started {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The server's manager (to read state or create admins).
    pub manager: Manager,
    /// Every email the server sent.
    pub mailer: MemoryMailer,
    /// The task serving HTTP (finished only if the server stopped).
    pub server: tokio::task::JoinHandle<()>,
}

/// Serves `server::app` over `backend` on a free port, with `--insecure-cookies` (plain
/// HTTP), `--rate-limit off` unless `flags` sets one, the rest of `flags`, and emailed links
/// pointing at this server.
pub async fn start(backend: SeaOrmBackend, flags: &[&str]) -> Started {
    start_with_hasher(backend, flags, MultiHasher::new()).await
}

/// [`start`] with the password hasher given (e.g. one on a small `HashingPool`).
pub async fn start_with_hasher(
    backend: SeaOrmBackend,
    flags: &[&str],
    hasher: MultiHasher,
) -> Started {
    start_with(backend, flags, hasher, AuthConfig::default()).await
}

/// [`start_with_hasher`] with the manager's settings given too (`public_url` is set to this
/// server; `session_cache` from `--session-cache` when `config` has none).
pub async fn start_with(
    backend: SeaOrmBackend,
    flags: &[&str],
    hasher: MultiHasher,
    config: AuthConfig,
) -> Started {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--insecure-cookies",
        "--public-url",
        &base,
    ];
    if !flags.contains(&"--rate-limit") {
        args.extend(["--rate-limit", "off"]);
    }
    args.extend_from_slice(flags);
    let server_config = ServerConfig::from_args(args.iter().map(|s| (*s).to_owned())).unwrap();
    let mailer = MemoryMailer::new();
    let session_cache = config.session_cache.or_else(|| {
        server_config
            .session_cache_ttl
            .map(|ttl| portcullis_manager::SessionCacheConfig {
                ttl,
                ..Default::default()
            })
    });
    let manager = AuthManager::builder(backend, PasswordStrategy::new(hasher))
        .config(AuthConfig {
            public_url: base.clone(),
            session_cache,
            ..config
        })
        .mailer(mailer.clone())
        .build()
        .unwrap();
    let app = server::app(manager.clone(), &server_config);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Started {
        base,
        manager,
        mailer,
        server,
    }
}

/// A unique email address starting with `prefix`.
pub fn email(prefix: &str) -> String {
    format!(
        "{prefix}-{}@example.com",
        &portcullis_core::UserId::new().to_string()[..8]
    )
}

/// The first column of the first row of `sql` (a `COUNT(*)`), on the server's database.
pub async fn count(manager: &Manager, sql: &str) -> i64 {
    use portcullis_sea_orm::sea_orm::{ConnectionTrait, Statement};
    let db = manager.backend().connection();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Everything the server's database holds, as bytes to search: every value of every column
/// of every table (PostgreSQL: as text; MySQL and SQLite: the bytes, through `HEX()`, so
/// binary columns come out whole); for SQLite also the raw database file and its write-ahead
/// log, free pages included.
pub async fn database_contents(manager: &Manager) -> Vec<u8> {
    use portcullis_sea_orm::sea_orm::{ConnectionTrait, DbBackend, Statement};
    let db = manager.backend().connection();
    let backend = db.get_database_backend();
    let query = |sql: String| async move {
        db.query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
    };
    let columns_sql = match backend {
        DbBackend::Postgres => "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) \
             FROM information_schema.columns WHERE table_schema = 'public'"
            .to_owned(),
        DbBackend::MySql => "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR) \
             FROM information_schema.columns WHERE table_schema = DATABASE()"
            .to_owned(),
        _ => "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
              WHERE m.type = 'table'"
            .to_owned(),
    };
    let mut out = Vec::new();
    let mut tables = std::collections::BTreeSet::new();
    for row in query(columns_sql).await {
        let table: String = row.try_get_by_index(0).unwrap();
        let column: String = row.try_get_by_index(1).unwrap();
        tables.insert(table.clone());
        let sql = match backend {
            DbBackend::MySql => format!("SELECT HEX(CAST(`{column}` AS BINARY)) FROM `{table}`"),
            DbBackend::Sqlite => format!("SELECT hex(\"{column}\") FROM \"{table}\""),
            _ => format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\""),
        };
        for value in query(sql).await {
            let Some(text) = value.try_get_by_index::<Option<String>>(0).unwrap() else {
                continue;
            };
            if backend != DbBackend::Postgres {
                out.extend(
                    (0..text.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()),
                );
            } else {
                out.extend_from_slice(text.as_bytes());
            }
            out.push(b'\n');
        }
    }
    assert!(
        tables.contains("portcullis_user") && tables.contains("portcullis_session"),
        "not reading the Portcullis tables: {tables:?}"
    );
    if backend == DbBackend::Sqlite {
        let row = db
            .query_one_raw(Statement::from_string(backend, "PRAGMA database_list"))
            .await
            .unwrap()
            .unwrap();
        let path: String = row.try_get_by_index(2).unwrap();
        out.extend(std::fs::read(&path).unwrap());
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            out.extend(wal);
        }
    }
    out
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
}
