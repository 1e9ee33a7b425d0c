//! Storage contracts. A backend implements the five stores; [`Backend`] is all of them.
//!
//! Rules every implementation keeps (the conformance suite in `portcullis-testkit` checks each):
//! - "No such record" is `Ok(None)` (or `Ok(false)` / `Ok(0)` for deletes), never an error.
//! - A unique violation is [`StoreError::Conflict`] naming the rule, never a generic failure.
//! - A lost connection is [`StoreError::Unavailable`], so callers answer 503 and never let a
//!   request through.
//! - Sessions and verifications are created create-or-fail: never upserted.
//! - Multi-step operations that must be atomic say so on the method.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreResult;
use crate::ids::{SessionId, UserId};
use crate::model::{Account, AuthEvent, FailedLogins, Session, User, Verification};
use crate::secret::PasswordHash;
use crate::token::TokenHash;

/// Users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts `user` and its credential `account` in one transaction: both or neither.
    ///
    /// # Errors
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) with
    /// [`ConflictKind::Email`](crate::ConflictKind::Email) or `Username` when taken, also
    /// when two registrations race (exactly one wins).
    async fn create_user_with_credential(&self, user: &User, account: &Account) -> StoreResult<()>;

    /// Inserts a user without a credential (for example one who signs in with OAuth only).
    ///
    /// # Errors
    /// `Conflict` with `Email` / `Username` when taken, `Record` when the id exists.
    async fn create_user(&self, user: &User) -> StoreResult<()>;

    /// The user with this id.
    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;

    /// The user with this normalised email address (exact match on the stored form).
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;

    /// The user with this normalised username.
    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>>;

    /// Replaces every field of the stored user with `user`'s (matched by id).
    ///
    /// # Errors
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) when no such user;
    /// `Conflict` when the new email or username is taken.
    async fn update_user(&self, user: &User) -> StoreResult<()>;

    /// Deletes the user together with their accounts and sessions (audit events keep a
    /// `None` user id). Returns whether a user was deleted.
    async fn delete_user(&self, id: UserId) -> StoreResult<bool>;
}

/// Sign-in methods, including the password hash and the failed-login counter.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Inserts an account.
    ///
    /// # Errors
    /// `Conflict(ConflictKind::Account)` when `(provider_id, account_id)` exists; `NotFound`
    /// when the user does not exist.
    async fn create_account(&self, account: &Account) -> StoreResult<()>;

    /// The account with this provider and provider-side id.
    async fn find_account(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<Account>>;

    /// The user's credential (password) account.
    async fn find_credential_account(&self, user_id: UserId) -> StoreResult<Option<Account>>;

    /// Every account of the user, oldest first.
    async fn list_accounts(&self, user_id: UserId) -> StoreResult<Vec<Account>>;

    /// Replaces the password hash on the user's credential account.
    ///
    /// # Errors
    /// `NotFound` when the user has no credential account.
    async fn update_password(
        &self,
        user_id: UserId,
        password: &PasswordHash,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records one failed password attempt and returns the count in the current window,
    /// atomically: N concurrent calls yield the counts 1..=N exactly once each.
    ///
    /// A window starts at the first failure and lasts `window`; a failure after it ends
    /// starts a new window with a count of 1.
    ///
    /// # Errors
    /// `NotFound` when the user has no credential account.
    async fn record_failed_login(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<FailedLogins>;

    /// The current failure window, if any failures are recorded (it may have ended; the
    /// caller compares `window_started_at` with its own window).
    async fn failed_logins(&self, user_id: UserId) -> StoreResult<Option<FailedLogins>>;

    /// Clears the failure counter (after a successful login or a password reset).
    async fn reset_failed_logins(&self, user_id: UserId) -> StoreResult<()>;
}

/// Server-side sessions, looked up by the SHA-256 of their token.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a session; never overwrites one.
    ///
    /// # Errors
    /// `Conflict(ConflictKind::Record)` when the id or token hash exists; `NotFound` when the
    /// user does not exist.
    async fn create_session(&self, session: &Session) -> StoreResult<()>;

    /// The session with this token hash, with its user, in one lookup: the authenticated
    /// request's hot path. Expired rows are returned too; the caller checks expiry.
    async fn find_session_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<(Session, User)>>;

    /// The session with this id.
    async fn find_session(&self, id: SessionId) -> StoreResult<Option<Session>>;

    /// The user's sessions, newest first (expired ones included until purged).
    async fn list_sessions(&self, user_id: UserId) -> StoreResult<Vec<Session>>;

    /// Moves a session's `last_seen_at` and `expires_at` forward. Returns `false` when the
    /// session no longer exists (revoked concurrently): it is never re-created.
    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Deletes one session. Returns whether it existed.
    async fn delete_session(&self, id: SessionId) -> StoreResult<bool>;

    /// Deletes every session of the user. Returns how many.
    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64>;

    /// Deletes every session of the user except `keep`. Returns how many.
    async fn delete_other_sessions(&self, user_id: UserId, keep: SessionId) -> StoreResult<u64>;

    /// Deletes at most `limit` sessions whose `expires_at` is at or before `now` (one batch,
    /// so a purge never holds a long lock). Returns how many; call again until it returns
    /// less than `limit`.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>, limit: u64) -> StoreResult<u64>;
}

/// Single-use tokens for email verification, password reset and similar purposes.
#[async_trait]
pub trait VerificationStore: Send + Sync {
    /// Inserts a verification; never overwrites one.
    ///
    /// # Errors
    /// `Conflict(ConflictKind::Record)` when the id or value hash exists.
    async fn create_verification(&self, verification: &Verification) -> StoreResult<()>;

    /// Finds the verification with this value hash made for `purpose` (its identifier starts
    /// with `"{purpose}:"`) and deletes it, atomically: of N concurrent calls with the same
    /// hash at most one returns `Some`. An expired record is deleted and `None` returned;
    /// a record for another purpose is left alone and `None` returned.
    async fn take_verification(
        &self,
        value_hash: &TokenHash,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>>;

    /// Deletes every verification with this identifier (a newer request replaces older ones).
    /// Returns how many.
    async fn delete_verifications(&self, identifier: &str) -> StoreResult<u64>;

    /// Deletes at most `limit` verifications expired at `now`. Returns how many.
    async fn delete_expired_verifications(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<u64>;
}

/// The audit log.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends an event.
    async fn append_event(&self, event: &AuthEvent) -> StoreResult<()>;

    /// The user's most recent events, newest first, at most `limit`: ordered by
    /// `(created_at, id)` descending, so events with the same timestamp come latest-appended
    /// first ([`EventId`](crate::EventId)s are time-ordered).
    async fn list_events(&self, user_id: UserId, limit: u64) -> StoreResult<Vec<AuthEvent>>;
}

/// A complete storage backend: every store. Implemented automatically.
pub trait Backend:
    UserStore + AccountStore + SessionStore + VerificationStore + EventStore + 'static
{
}

impl<T> Backend for T where
    T: UserStore + AccountStore + SessionStore + VerificationStore + EventStore + 'static
{
}
