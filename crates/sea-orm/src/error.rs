//! Maps SeaORM's `DbErr` onto core's [`StoreError`]. `DbErr` stays inside this crate: it is
//! kept only as the boxed `source` of an `Unavailable` or `Backend` error, for logs.

use portcullis_core::{ConflictKind, StoreError};
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
use sea_orm::RuntimeErr;
use sea_orm::{DbErr, SqlErr};

/// Classifies a database error for the manager.
///
/// - Unique violations become [`StoreError::Conflict`], the kind read from the violated
///   rule's name (see [`conflict_kind`]).
/// - Lost or unobtainable connections, SQLite's "database is locked" after the busy timeout,
///   and deadlock / serialisation failures become [`StoreError::Unavailable`]: transient, so
///   the caller answers 503 and the client may retry.
/// - Everything else is [`StoreError::Backend`].
pub(crate) fn map_db_err(err: DbErr) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => {
            return StoreError::Conflict(conflict_kind(&message));
        }
        // The only foreign keys point at the user: a record for a user that does not exist
        // (or was deleted meanwhile).
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => return StoreError::NotFound,
        _ => {}
    }
    if is_unavailable(&err) {
        return StoreError::Unavailable(Box::new(err));
    }
    StoreError::Backend(Box::new(err))
}

/// Derives the conflict kind from a unique-violation message:
/// - SQLite: `UNIQUE constraint failed: portcullis_user.email` (the columns),
/// - PostgreSQL: `duplicate key value violates unique constraint "uq_portcullis_user_email"`,
/// - MySQL: `Duplicate entry '<value>' for key 'portcullis_user.uq_portcullis_user_email'`.
///
/// The MySQL message quotes the offending value, which is user input (a username may well be
/// "email"), so only the part after the last `for key` is considered there.
pub(crate) fn conflict_kind(message: &str) -> ConflictKind {
    let rule = message
        .rsplit_once("for key ")
        .map_or(message, |(_, key)| key)
        .to_ascii_lowercase();
    if rule.contains("username") {
        ConflictKind::Username
    } else if rule.contains("email") {
        ConflictKind::Email
    } else if rule.contains("provider") {
        ConflictKind::Account
    } else {
        ConflictKind::Record
    }
}

/// Whether the operation may succeed when run again right away (a deadlock victim, a
/// serialisation failure). Only whole transactions are retried.
pub(crate) fn is_retryable(err: &DbErr) -> bool {
    sqlx_error(err).is_some_and(sqlx_detail::is_retryable)
}

fn is_unavailable(err: &DbErr) -> bool {
    if let Some(sqlx) = sqlx_error(err) {
        return sqlx_detail::is_unavailable(sqlx);
    }
    // Without a driver error inside, a connection error is SeaORM's "Disconnected".
    matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
}

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
fn sqlx_error(_err: &DbErr) -> Option<&std::convert::Infallible> {
    None
}

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sqlx_detail {
    use sea_orm::sqlx::Error;

    pub(super) fn is_unavailable(err: &Error) -> bool {
        match err {
            Error::Io(_)
            | Error::Tls(_)
            | Error::PoolTimedOut
            | Error::PoolClosed
            | Error::WorkerCrashed => true,
            Error::Database(db) => {
                if is_sqlite_transient(db.as_ref()) {
                    return true;
                }
                let code = db.code().unwrap_or_default();
                // SQLSTATE class 08: connection exception (PostgreSQL and MySQL, e.g. MySQL
                // 1040 "too many connections" is 08004); 57P0x: the PostgreSQL server is
                // shutting down or starting; 53300: too many connections.
                code.starts_with("08")
                    || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                    || is_retryable(err)
            }
            _ => false,
        }
    }

    pub(super) fn is_retryable(err: &Error) -> bool {
        match err {
            Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                // 40001 serialization failure (MySQL deadlock 1213 reports it too),
                // 40P01 PostgreSQL deadlock detected.
                !is_sqlite(db.as_ref()) && matches!(&*code, "40001" | "40P01")
            }
            _ => false,
        }
    }

    #[cfg(feature = "sqlite")]
    fn is_sqlite(db: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
        db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
            .is_some()
    }

    #[cfg(not(feature = "sqlite"))]
    fn is_sqlite(_db: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
        false
    }

    /// SQLITE_BUSY (5) and SQLITE_LOCKED (6), with any extended code: another connection
    /// held the lock past the busy timeout. SQLITE_CANTOPEN (14): the file is unreachable.
    fn is_sqlite_transient(db: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
        if !is_sqlite(db) {
            return false;
        }
        db.code()
            .and_then(|code| code.parse::<i64>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 14))
    }
}

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
mod sqlx_detail {
    use std::convert::Infallible;

    pub(super) fn is_unavailable(err: &Infallible) -> bool {
        match *err {}
    }

    pub(super) fn is_retryable(err: &Infallible) -> bool {
        match *err {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_kinds_come_from_the_rule_name() {
        for (message, kind) in [
            (
                "UNIQUE constraint failed: portcullis_user.email",
                ConflictKind::Email,
            ),
            (
                "UNIQUE constraint failed: portcullis_user.username",
                ConflictKind::Username,
            ),
            (
                "UNIQUE constraint failed: portcullis_account.provider_id, portcullis_account.account_id",
                ConflictKind::Account,
            ),
            (
                "UNIQUE constraint failed: portcullis_session.token_hash",
                ConflictKind::Record,
            ),
            (
                "UNIQUE constraint failed: portcullis_user.id",
                ConflictKind::Record,
            ),
            (
                r#"duplicate key value violates unique constraint "uq_portcullis_user_email""#,
                ConflictKind::Email,
            ),
            (
                r#"duplicate key value violates unique constraint "uq_portcullis_user_username""#,
                ConflictKind::Username,
            ),
            (
                r#"duplicate key value violates unique constraint "portcullis_user_pkey""#,
                ConflictKind::Record,
            ),
            (
                "Duplicate entry 'email' for key 'portcullis_user.uq_portcullis_user_username'",
                ConflictKind::Username,
            ),
            (
                "Duplicate entry 'username@x.org' for key 'uq_portcullis_user_email'",
                ConflictKind::Email,
            ),
            (
                "Duplicate entry 'credential-provider-email' for key 'PRIMARY'",
                ConflictKind::Record,
            ),
            (
                "Duplicate entry 'credential-x' for key 'uq_portcullis_account_provider_account'",
                ConflictKind::Account,
            ),
        ] {
            assert_eq!(conflict_kind(message), kind, "{message}");
        }
    }

    #[test]
    fn lost_connections_are_unavailable_and_the_rest_backend() {
        assert!(matches!(
            map_db_err(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            map_db_err(DbErr::Custom("bug".into())),
            StoreError::Backend(_)
        ));
    }
}
