//! The core store traits, implemented on [`SeaOrmBackend`].

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use portcullis_core::{
    Account, AccountStore, AuthEvent, CREDENTIAL_PROVIDER, EventStore, FailedLogins, PasswordHash,
    Session, SessionId, SessionStore, StoreError, StoreResult, TokenHash, User, UserId, UserStore,
    Verification, VerificationStore, to_time_delta,
};
use sea_orm::sea_query::{self, Expr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QueryResult, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::backend::SeaOrmBackend;
use crate::convert::{
    account_active, account_from, event_active, event_from, session_active, session_from, ts,
    user_active, user_from, verification_active, verification_from,
};
use crate::entity::{account, auth_event, session, user, verification};
use crate::error::{is_retryable, map_db_err};

/// How often a transaction that lost a deadlock or serialisation check is run again.
const TRANSACTION_ATTEMPTS: u32 = 3;

/// Rows deleted per statement (one short transaction) by a purge on PostgreSQL and MySQL:
/// the manager's default `purge_batch_size`, so there one batch is one transaction. Measured
/// at 1,000,000 sessions (docs/benchmarks.md, "Scale"): about 6 ms per statement on
/// PostgreSQL. Well under every database's bind-parameter limit for MySQL's id list.
const PURGE_CHUNK: u64 = 1_000;

/// Rows deleted per statement on SQLite, whose single writer lock every other write waits
/// for. Expired rows lie scattered through the table and its four indexes, so each deleted
/// row dirties several pages: at 1,000,000 sessions a 1,000-row statement held the lock for
/// a median 115 ms (up to 380 ms), a 250-row one for 19 ms (p99 92 ms), at about the same
/// rows/s. A writer waits at most one statement, far inside the 5 s busy timeout.
const SQLITE_PURGE_CHUNK: u64 = 250;

/// The session with a token hash, joined to its user: the authenticated request's hot path.
///
/// Hand-written rather than built by SeaORM for every call:
/// - the SQL text is a constant per database, so sqlx prepares it once per connection and
///   then finds it in the connection's statement cache (keyed by SQL text);
/// - it has no `LIMIT ?` (the token hash is unique): SeaORM's `.one()` binds the limit as a
///   parameter, and SQLite (3.4x, as bundled) plans around bound `LIMIT` values, so such a
///   statement is re-parsed and re-planned on every execution despite the cache;
/// - the columns are read by position into the entity models, which then go through the
///   same conversions as every other query.
///
/// The column order is the order [`session_and_user`] reads.
macro_rules! session_by_token_hash_sql {
    ($placeholder:literal) => {
        concat!(
            "SELECT s.id, s.token_hash, s.user_id, s.expires_at, s.absolute_expires_at, ",
            "s.ip_address, s.user_agent, s.created_at, s.last_seen_at, ",
            "u.id, u.name, u.email, u.email_verified, u.username, u.image, u.role, ",
            "u.disabled, u.created_at, u.updated_at ",
            "FROM portcullis_session s JOIN portcullis_user u ON u.id = s.user_id ",
            "WHERE s.token_hash = ",
            $placeholder
        )
    };
}

/// [`session_by_token_hash_sql!`] with the database's placeholder.
pub(crate) fn session_by_token_hash_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => session_by_token_hash_sql!("$1"),
        _ => session_by_token_hash_sql!("?"),
    }
}

/// The plan of [`session_by_token_hash_sql`], one line per step (see
/// `testing::explain_session_lookup`).
#[cfg(any(test, feature = "testing"))]
pub(crate) async fn explain_session_lookup(
    db: &sea_orm::DatabaseConnection,
    token_hash: &TokenHash,
) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    let prefix = if backend == DbBackend::Sqlite {
        "EXPLAIN QUERY PLAN "
    } else {
        "EXPLAIN "
    };
    let sql = format!("{prefix}{}", session_by_token_hash_sql(backend));
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [token_hash.to_hex().into()],
        ))
        .await?;
    rows.iter()
        .map(|row| match backend {
            DbBackend::Sqlite => row.try_get::<String>("", "detail"),
            DbBackend::Postgres => row.try_get::<String>("", "QUERY PLAN"),
            _ => {
                // MySQL and MariaDB: one row per table; their column sets differ, so by name.
                let text = |column: &str| {
                    row.try_get::<Option<String>>("", column)
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| "NULL".to_owned())
                };
                let rows = row
                    .try_get::<Option<u64>>("", "rows")
                    .ok()
                    .flatten()
                    .map_or_else(|| "NULL".to_owned(), |n| n.to_string());
                Ok(format!(
                    "table={} type={} key={} rows={rows} extra={}",
                    text("table"),
                    text("type"),
                    text("key"),
                    text("Extra")
                ))
            }
        })
        .collect()
}

/// Reads a row of [`session_by_token_hash_sql`] into the two entity models.
fn session_and_user(row: &QueryResult) -> Result<(session::Model, user::Model), DbErr> {
    let session = session::Model {
        id: row.try_get_by_index(0)?,
        token_hash: row.try_get_by_index(1)?,
        user_id: row.try_get_by_index(2)?,
        expires_at: row.try_get_by_index(3)?,
        absolute_expires_at: row.try_get_by_index(4)?,
        ip_address: row.try_get_by_index(5)?,
        user_agent: row.try_get_by_index(6)?,
        created_at: row.try_get_by_index(7)?,
        last_seen_at: row.try_get_by_index(8)?,
    };
    let user = user::Model {
        id: row.try_get_by_index(9)?,
        name: row.try_get_by_index(10)?,
        email: row.try_get_by_index(11)?,
        email_verified: row.try_get_by_index(12)?,
        username: row.try_get_by_index(13)?,
        image: row.try_get_by_index(14)?,
        role: row.try_get_by_index(15)?,
        disabled: row.try_get_by_index(16)?,
        created_at: row.try_get_by_index(17)?,
        updated_at: row.try_get_by_index(18)?,
    };
    Ok((session, user))
}

fn is_credential_of(user_id: UserId) -> Condition {
    Condition::all()
        .add(account::Column::UserId.eq(user_id.as_uuid()))
        .add(account::Column::ProviderId.eq(CREDENTIAL_PROVIDER))
}

impl SeaOrmBackend {
    async fn try_create_user_with_credential(
        &self,
        user: &User,
        account: &Account,
    ) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        user::Entity::insert(user_active(user))
            .exec_without_returning(&txn)
            .await?;
        account::Entity::insert(account_active(account))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await
    }

    async fn try_record_failed_login(
        &self,
        user_id: UserId,
        now: DateTime<FixedOffset>,
        cutoff: DateTime<FixedOffset>,
    ) -> Result<Option<(i32, Option<DateTime<Utc>>)>, DbErr> {
        // One UPDATE decides and increments; its row lock (the write lock on SQLite, taken at
        // BEGIN IMMEDIATE) is held until commit, so the read-back sees exactly this update.
        // The window is over when it started at or before `now - window`.
        let window_over = Condition::any()
            .add(account::Column::FailedLoginWindowStart.is_null())
            .add(account::Column::FailedLoginWindowStart.lte(cutoff));
        // MySQL evaluates SET assignments left to right with already-updated values: the
        // count goes first, so both conditions read the old window start.
        let count = Expr::case(window_over.clone(), Expr::val(1_i32)).finally(
            sea_query::ExprTrait::add(Expr::col(account::Column::FailedLoginCount), 1_i32),
        );
        let start = Expr::case(window_over, Expr::val(now))
            .finally(Expr::col(account::Column::FailedLoginWindowStart));

        let txn = self.begin_write().await?;
        let updated = account::Entity::update_many()
            .col_expr(account::Column::FailedLoginCount, count.into())
            .col_expr(account::Column::FailedLoginWindowStart, start.into())
            .filter(is_credential_of(user_id))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(None);
        }
        let row: Option<(i32, Option<DateTime<Utc>>)> = account::Entity::find()
            .select_only()
            .column(account::Column::FailedLoginCount)
            .column(account::Column::FailedLoginWindowStart)
            .filter(is_credential_of(user_id))
            .into_tuple()
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Deletes up to `limit` rows of `E` whose `expires_at` is at or before `now`, in chunks
    /// of at most [`PURGE_CHUNK`] rows ([`SQLITE_PURGE_CHUNK`] on SQLite), each its own short
    /// transaction (autocommit), so no
    /// lock is held for long whatever `limit` is. Rows are found through the `expires_at`
    /// index.
    ///
    /// - SQLite: one statement per chunk, `DELETE ... WHERE rowid IN (SELECT rowid ... LIMIT n)`
    ///   (the subquery reads only the index). The write lock lasts one statement.
    /// - PostgreSQL: one statement per chunk; `FOR UPDATE SKIP LOCKED` lets two purges (two
    ///   processes) share the work instead of queueing on each other's rows.
    /// - MySQL refuses `LIMIT` inside an `IN` subquery, and a ranged `DELETE ... LIMIT` would
    ///   take InnoDB gap locks on the `expires_at` range: select the ids first (through the
    ///   `expires_at` index, forced: with half the table expired the optimiser may prefer a
    ///   table scan, which rereads the already purged part of the table on every chunk), then
    ///   delete them by primary key (row locks only).
    async fn purge<E: EntityTrait>(
        &self,
        table: &'static str,
        now: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<u64> {
        let db = self.db();
        let backend = db.get_database_backend();
        let now = ts(now);
        let max_chunk = if backend == DbBackend::Sqlite {
            SQLITE_PURGE_CHUNK
        } else {
            PURGE_CHUNK
        };
        let mut deleted = 0;
        while deleted < limit {
            let chunk = (limit - deleted).min(max_chunk);
            // `chunk` is an integer we computed: safe to write into the SQL. A literal rather
            // than a bound LIMIT keeps the text (and so sqlx's prepared statement) the same
            // for every full chunk, and SQLite re-plans statements with a bound LIMIT on
            // every execution.
            let (found, removed) = match backend {
                DbBackend::Sqlite => {
                    let sql = format!(
                        "DELETE FROM {table} WHERE rowid IN \
                         (SELECT rowid FROM {table} WHERE expires_at <= ? LIMIT {chunk})"
                    );
                    let removed = db
                        .execute_raw(Statement::from_sql_and_values(backend, sql, [now.into()]))
                        .await
                        .map_err(map_db_err)?
                        .rows_affected();
                    (removed, removed)
                }
                DbBackend::Postgres => {
                    let sql = format!(
                        "DELETE FROM {table} WHERE id IN \
                         (SELECT id FROM {table} WHERE expires_at <= $1 LIMIT {chunk} \
                         FOR UPDATE SKIP LOCKED)"
                    );
                    let removed = db
                        .execute_raw(Statement::from_sql_and_values(backend, sql, [now.into()]))
                        .await
                        .map_err(map_db_err)?
                        .rows_affected();
                    (removed, removed)
                }
                _ => self.purge_by_id::<E>(table, now, chunk).await?,
            };
            deleted += removed;
            if found < chunk {
                break;
            }
        }
        Ok(deleted)
    }

    /// One purge chunk in two statements (MySQL): the ids of up to `chunk` expired rows, then
    /// a delete of those ids. Returns how many were found and how many of them were still
    /// there to delete (another purge may have taken some in between).
    async fn purge_by_id<E: EntityTrait>(
        &self,
        table: &'static str,
        now: DateTime<FixedOffset>,
        chunk: u64,
    ) -> StoreResult<(u64, u64)> {
        let db = self.db();
        let backend = db.get_database_backend();
        let sql = format!(
            "SELECT id FROM {table} FORCE INDEX (ix_{table}_expires_at) \
             WHERE expires_at <= ? ORDER BY expires_at LIMIT {chunk}"
        );
        let ids: Vec<Uuid> = db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, [now.into()]))
            .await
            .map_err(map_db_err)?
            .iter()
            .map(|row| row.try_get_by_index::<Uuid>(0))
            .collect::<Result<_, _>>()
            .map_err(map_db_err)?;
        if ids.is_empty() {
            return Ok((0, 0));
        }
        let found = ids.len() as u64;
        let id_column = Expr::col(sea_query::Alias::new("id"));
        let result = E::delete_many()
            .filter(sea_query::ExprTrait::is_in(id_column, ids))
            .exec(db)
            .await
            .map_err(map_db_err)?;
        Ok((found, result.rows_affected))
    }
}

#[async_trait]
impl UserStore for SeaOrmBackend {
    async fn create_user_with_credential(&self, user: &User, account: &Account) -> StoreResult<()> {
        let mut attempt = 1;
        loop {
            match self.try_create_user_with_credential(user, account).await {
                Err(err) if attempt < TRANSACTION_ATTEMPTS && is_retryable(&err) => {
                    tracing::debug!(attempt, error = %err, "registration transaction retried");
                    attempt += 1;
                }
                result => return result.map_err(map_db_err),
            }
        }
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        user::Entity::insert(user_active(user))
            .exec_without_returning(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let found = user::Entity::find_by_id(id.as_uuid())
            .one(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(found.map(user_from))
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let found = user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .one(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(found.map(user_from))
    }

    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let found = user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(found.map(user_from))
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let mut active = user_active(user);
        // The id selects the row; every other column is replaced.
        active.id = sea_orm::ActiveValue::NotSet;
        let result = user::Entity::update_many()
            .set(active)
            .filter(user::Column::Id.eq(user.id.as_uuid()))
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
        // Accounts and sessions go with the user (ON DELETE CASCADE); audit events keep
        // their rows with a NULL user id (ON DELETE SET NULL).
        let result = user::Entity::delete_by_id(id.as_uuid())
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected > 0)
    }
}

#[async_trait]
impl AccountStore for SeaOrmBackend {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        account::Entity::insert(account_active(account))
            .exec_without_returning(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn find_account(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<Account>> {
        let found = account::Entity::find()
            .filter(account::Column::ProviderId.eq(provider_id))
            .filter(account::Column::AccountId.eq(account_id))
            .one(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(found.map(account_from))
    }

    async fn find_credential_account(&self, user_id: UserId) -> StoreResult<Option<Account>> {
        let found = account::Entity::find()
            .filter(is_credential_of(user_id))
            .one(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(found.map(account_from))
    }

    async fn list_accounts(&self, user_id: UserId) -> StoreResult<Vec<Account>> {
        let found = account::Entity::find()
            .filter(account::Column::UserId.eq(user_id.as_uuid()))
            .order_by_asc(account::Column::CreatedAt)
            .order_by_asc(account::Column::Id)
            .all(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(found.into_iter().map(account_from).collect())
    }

    async fn update_password(
        &self,
        user_id: UserId,
        password: &PasswordHash,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let result = account::Entity::update_many()
            .col_expr(account::Column::Password, Expr::val(password.expose()))
            .col_expr(account::Column::UpdatedAt, Expr::val(ts(now)))
            .filter(is_credential_of(user_id))
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn record_failed_login(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<FailedLogins> {
        // A window longer than the calendar reaches back never ends; the epoch is as far back
        // as every database stores comfortably.
        let cutoff = now
            .checked_sub_signed(to_time_delta(window))
            .map_or(DateTime::UNIX_EPOCH, |cutoff| {
                cutoff.max(DateTime::UNIX_EPOCH)
            });
        let (now, cutoff) = (ts(now), ts(cutoff));
        let mut attempt = 1;
        let row = loop {
            match self.try_record_failed_login(user_id, now, cutoff).await {
                Err(err) if attempt < TRANSACTION_ATTEMPTS && is_retryable(&err) => {
                    tracing::debug!(attempt, error = %err, "failed-login transaction retried");
                    attempt += 1;
                }
                result => break result.map_err(map_db_err)?,
            }
        };
        match row {
            None => Err(StoreError::NotFound),
            Some((count, Some(window_started_at))) => Ok(FailedLogins {
                count: u32::try_from(count).map_err(StoreError::backend)?,
                window_started_at,
            }),
            Some((_, None)) => Err(StoreError::backend(
                "failed-login window start is NULL right after recording a failure",
            )),
        }
    }

    async fn failed_logins(&self, user_id: UserId) -> StoreResult<Option<FailedLogins>> {
        let row: Option<(i32, Option<DateTime<Utc>>)> = account::Entity::find()
            .select_only()
            .column(account::Column::FailedLoginCount)
            .column(account::Column::FailedLoginWindowStart)
            .filter(is_credential_of(user_id))
            .into_tuple()
            .one(self.db())
            .await
            .map_err(map_db_err)?;
        match row {
            Some((count, Some(window_started_at))) if count > 0 => Ok(Some(FailedLogins {
                count: u32::try_from(count).map_err(StoreError::backend)?,
                window_started_at,
            })),
            _ => Ok(None),
        }
    }

    async fn reset_failed_logins(&self, user_id: UserId) -> StoreResult<()> {
        account::Entity::update_many()
            .col_expr(account::Column::FailedLoginCount, Expr::val(0_i32))
            .col_expr(
                account::Column::FailedLoginWindowStart,
                Expr::val(Option::<DateTime<FixedOffset>>::None),
            )
            .filter(is_credential_of(user_id))
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for SeaOrmBackend {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        session::Entity::insert(session_active(session))
            .exec_without_returning(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn find_session_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<(Session, User)>> {
        // The hot path: one lookup on the unique token-hash index, joined to the user by
        // primary key. See `session_by_token_hash_sql` for why it is hand-written.
        let db = self.db();
        let backend = db.get_database_backend();
        let statement = Statement::from_sql_and_values(
            backend,
            session_by_token_hash_sql(backend),
            [token_hash.to_hex().into()],
        );
        let Some(row) = db.query_one_raw(statement).await.map_err(map_db_err)? else {
            return Ok(None);
        };
        let (session, user) = session_and_user(&row).map_err(map_db_err)?;
        Ok(Some((session_from(session)?, user_from(user))))
    }

    async fn find_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        session::Entity::find_by_id(id.as_uuid())
            .one(self.db())
            .await
            .map_err(map_db_err)?
            .map(session_from)
            .transpose()
    }

    async fn list_sessions(&self, user_id: UserId) -> StoreResult<Vec<Session>> {
        session::Entity::find()
            .filter(session::Column::UserId.eq(user_id.as_uuid()))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(self.db())
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(session_from)
            .collect()
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // An UPDATE, never an upsert: a revoked session stays revoked.
        let result = session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::val(ts(last_seen_at)))
            .col_expr(session::Column::ExpiresAt, Expr::val(ts(expires_at)))
            .filter(session::Column::Id.eq(id.as_uuid()))
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_session(&self, id: SessionId) -> StoreResult<bool> {
        let result = session::Entity::delete_by_id(id.as_uuid())
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64> {
        let result = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id.as_uuid()))
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected)
    }

    async fn delete_other_sessions(&self, user_id: UserId, keep: SessionId) -> StoreResult<u64> {
        let result = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user_id.as_uuid()))
            .filter(session::Column::Id.ne(keep.as_uuid()))
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected)
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>, limit: u64) -> StoreResult<u64> {
        self.purge::<session::Entity>("portcullis_session", now, limit)
            .await
    }
}

#[async_trait]
impl VerificationStore for SeaOrmBackend {
    async fn create_verification(&self, verification: &Verification) -> StoreResult<()> {
        verification::Entity::insert(verification_active(verification))
            .exec_without_returning(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn take_verification(
        &self,
        value_hash: &TokenHash,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        let Some(found) = verification::Entity::find()
            .filter(verification::Column::ValueHash.eq(value_hash.to_hex()))
            .one(self.db())
            .await
            .map_err(map_db_err)?
        else {
            return Ok(None);
        };
        let found = verification_from(found)?;
        if !found.has_purpose(purpose) {
            // Another purpose's token: not ours to consume.
            return Ok(None);
        }
        // Whoever deletes the row owns the token: of concurrent takers exactly one sees a
        // deleted row.
        let deleted = verification::Entity::delete_by_id(found.id.as_uuid())
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        if deleted.rows_affected != 1 || found.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(found))
    }

    async fn delete_verifications(&self, identifier: &str) -> StoreResult<u64> {
        let result = verification::Entity::delete_many()
            .filter(verification::Column::Identifier.eq(identifier))
            .exec(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected)
    }

    async fn delete_expired_verifications(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<u64> {
        self.purge::<verification::Entity>("portcullis_verification", now, limit)
            .await
    }
}

#[async_trait]
impl EventStore for SeaOrmBackend {
    async fn append_event(&self, event: &AuthEvent) -> StoreResult<()> {
        auth_event::Entity::insert(event_active(event))
            .exec_without_returning(self.db())
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn list_events(&self, user_id: UserId, limit: u64) -> StoreResult<Vec<AuthEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        auth_event::Entity::find()
            .filter(auth_event::Column::UserId.eq(user_id.as_uuid()))
            .order_by_desc(auth_event::Column::CreatedAt)
            .order_by_desc(auth_event::Column::Id)
            .limit(limit.min(i64::MAX as u64))
            .all(self.db())
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(event_from)
            .collect()
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    #[test]
    fn the_session_lookup_searches_the_token_hash_index() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let plan = runtime.block_on(async {
            let backend = SeaOrmBackend::connect("sqlite::memory:").await.unwrap();
            backend.migrate().await.unwrap();
            let hash = TokenHash::of(b"not a session");
            explain_session_lookup(backend.db(), &hash).await.unwrap()
        });
        // The session by its unique token-hash index, then its user by primary key: no scan.
        assert_eq!(plan.len(), 2, "{plan:?}");
        assert!(
            plan[0].starts_with("SEARCH s USING INDEX uq_portcullis_session_token_hash"),
            "{plan:?}"
        );
        assert!(plan[1].starts_with("SEARCH u USING INDEX"), "{plan:?}");
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN")),
            "{plan:?}"
        );
    }
}
