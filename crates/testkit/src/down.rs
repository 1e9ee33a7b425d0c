//! [`DownBackend`]: a backend whose storage is always unreachable, for testing that an
//! adapter fails closed (`503 storage_unavailable`, never a request let through).

use std::time::Duration;

use portcullis_core::chrono::{DateTime, Utc};
use portcullis_core::{
    Account, AccountStore, AuthEvent, EventStore, FailedLogins, PasswordHash, Session, SessionId,
    SessionStore, StoreError, StoreResult, TokenHash, User, UserId, UserStore, Verification,
    VerificationStore, async_trait,
};

/// Every store method answers [`StoreError::Unavailable`], as a backend does while its
/// database is down.
///
/// ```
/// use portcullis_core::{StoreError, UserStore, UserId};
/// use portcullis_testkit::DownBackend;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = DownBackend.find_user_by_id(UserId::new()).await.unwrap_err();
/// assert!(matches!(err, StoreError::Unavailable(_)));
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DownBackend;

fn down<T>() -> StoreResult<T> {
    Err(StoreError::unavailable("down"))
}

#[async_trait]
impl UserStore for DownBackend {
    async fn create_user_with_credential(&self, _: &User, _: &Account) -> StoreResult<()> {
        down()
    }
    async fn create_user(&self, _: &User) -> StoreResult<()> {
        down()
    }
    async fn find_user_by_id(&self, _: UserId) -> StoreResult<Option<User>> {
        down()
    }
    async fn find_user_by_email(&self, _: &str) -> StoreResult<Option<User>> {
        down()
    }
    async fn find_user_by_username(&self, _: &str) -> StoreResult<Option<User>> {
        down()
    }
    async fn update_user(&self, _: &User) -> StoreResult<()> {
        down()
    }
    async fn delete_user(&self, _: UserId) -> StoreResult<bool> {
        down()
    }
}

#[async_trait]
impl AccountStore for DownBackend {
    async fn create_account(&self, _: &Account) -> StoreResult<()> {
        down()
    }
    async fn find_account(&self, _: &str, _: &str) -> StoreResult<Option<Account>> {
        down()
    }
    async fn find_credential_account(&self, _: UserId) -> StoreResult<Option<Account>> {
        down()
    }
    async fn list_accounts(&self, _: UserId) -> StoreResult<Vec<Account>> {
        down()
    }
    async fn update_password(
        &self,
        _: UserId,
        _: &PasswordHash,
        _: DateTime<Utc>,
    ) -> StoreResult<()> {
        down()
    }
    async fn record_failed_login(
        &self,
        _: UserId,
        _: DateTime<Utc>,
        _: Duration,
    ) -> StoreResult<FailedLogins> {
        down()
    }
    async fn failed_logins(&self, _: UserId) -> StoreResult<Option<FailedLogins>> {
        down()
    }
    async fn reset_failed_logins(&self, _: UserId) -> StoreResult<()> {
        down()
    }
}

#[async_trait]
impl SessionStore for DownBackend {
    async fn create_session(&self, _: &Session) -> StoreResult<()> {
        down()
    }
    async fn find_session_by_token_hash(
        &self,
        _: &TokenHash,
    ) -> StoreResult<Option<(Session, User)>> {
        down()
    }
    async fn find_session(&self, _: SessionId) -> StoreResult<Option<Session>> {
        down()
    }
    async fn list_sessions(&self, _: UserId) -> StoreResult<Vec<Session>> {
        down()
    }
    async fn touch_session(
        &self,
        _: SessionId,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> StoreResult<bool> {
        down()
    }
    async fn delete_session(&self, _: SessionId) -> StoreResult<bool> {
        down()
    }
    async fn delete_user_sessions(&self, _: UserId) -> StoreResult<u64> {
        down()
    }
    async fn delete_other_sessions(&self, _: UserId, _: SessionId) -> StoreResult<u64> {
        down()
    }
    async fn delete_expired_sessions(&self, _: DateTime<Utc>, _: u64) -> StoreResult<u64> {
        down()
    }
}

#[async_trait]
impl VerificationStore for DownBackend {
    async fn create_verification(&self, _: &Verification) -> StoreResult<()> {
        down()
    }
    async fn take_verification(
        &self,
        _: &TokenHash,
        _: &str,
        _: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        down()
    }
    async fn delete_verifications(&self, _: &str) -> StoreResult<u64> {
        down()
    }
    async fn delete_expired_verifications(&self, _: DateTime<Utc>, _: u64) -> StoreResult<u64> {
        down()
    }
}

#[async_trait]
impl EventStore for DownBackend {
    async fn append_event(&self, _: &AuthEvent) -> StoreResult<()> {
        down()
    }
    async fn list_events(&self, _: UserId, _: u64) -> StoreResult<Vec<AuthEvent>> {
        down()
    }
}
