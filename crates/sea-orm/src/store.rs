//! The core store traits, implemented on [`SeaOrmBackend`].

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use portcullis_core::{
    Account, AccountStore, AuthEvent, CREDENTIAL_PROVIDER, EventStore, FailedLogins, PasswordHash,
    Session, SessionId, SessionStore, StoreError, StoreResult, TokenHash, User, UserId, UserStore,
    Verification, VerificationStore, to_time_delta,
};
use sea_orm::sea_query::{self, Expr, IntoCondition};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
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

/// Ids deleted per statement in a purge: keeps each statement's lock short and far below
/// every database's bind-parameter limit.
const PURGE_CHUNK: u64 = 500;

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

    /// Deletes up to `limit` rows of `E` matching `expired`, in chunks: select the ids, delete
    /// those ids (MySQL refuses `LIMIT` inside an `IN` subquery, so two statements).
    async fn purge<E, C>(&self, id_column: C, expired: Condition, limit: u64) -> StoreResult<u64>
    where
        E: EntityTrait,
        C: ColumnTrait,
    {
        let mut deleted = 0;
        while deleted < limit {
            let chunk = (limit - deleted).min(PURGE_CHUNK);
            let ids: Vec<Uuid> = E::find()
                .select_only()
                .column(id_column)
                .filter(expired.clone())
                .limit(chunk)
                .into_tuple()
                .all(self.db())
                .await
                .map_err(map_db_err)?;
            if ids.is_empty() {
                break;
            }
            let found = ids.len() as u64;
            let result = E::delete_many()
                .filter(id_column.is_in(ids))
                .exec(self.db())
                .await
                .map_err(map_db_err)?;
            deleted += result.rows_affected;
            if found < chunk {
                break;
            }
        }
        Ok(deleted)
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
        // The hot path: one indexed lookup joined to the user.
        let found = session::Entity::find()
            .filter(session::Column::TokenHash.eq(token_hash.to_hex()))
            .find_also_related(user::Entity)
            .one(self.db())
            .await
            .map_err(map_db_err)?;
        match found {
            Some((session, Some(user))) => Ok(Some((session_from(session)?, user_from(user)))),
            _ => Ok(None),
        }
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
        let expired = session::Column::ExpiresAt.lte(ts(now)).into_condition();
        self.purge::<session::Entity, _>(session::Column::Id, expired, limit)
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
        let expired = verification::Column::ExpiresAt
            .lte(ts(now))
            .into_condition();
        self.purge::<verification::Entity, _>(verification::Column::Id, expired, limit)
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
