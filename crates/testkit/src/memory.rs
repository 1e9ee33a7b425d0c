//! An in-memory backend: the reference implementation of core's store traits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use portcullis_core::{
    Account, AccountId, AccountStore, AuthEvent, CREDENTIAL_PROVIDER, ConflictKind, EventStore,
    FailedLogins, PasswordHash, Session, SessionId, SessionStore, StoreError, StoreResult,
    TokenHash, User, UserId, UserStore, Verification, VerificationId, VerificationStore,
    to_time_delta,
};

/// Keeps every record in process memory behind one mutex. Clones share the same data.
///
/// It passes the same conformance suite as the database backends, which makes it both a
/// worked example for backend authors and a fast backend for tests. Nothing survives a
/// restart, so it is not for production.
///
/// ```
/// use portcullis_core::{UserStore, User, SystemClock, Clock};
/// use portcullis_testkit::MemoryBackend;
///
/// # tokio_test_block_on(async {
/// let backend = MemoryBackend::new();
/// let user = User::new("Ada", "ada@example.com", SystemClock.now());
/// backend.create_user(&user).await?;
/// assert_eq!(backend.find_user_by_email("ada@example.com").await?, Some(user));
/// # Ok::<(), portcullis_core::StoreError>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, User>,
    accounts: HashMap<AccountId, StoredAccount>,
    sessions: HashMap<SessionId, Session>,
    verifications: HashMap<VerificationId, Verification>,
    events: Vec<AuthEvent>,
}

#[derive(Debug)]
struct StoredAccount {
    account: Account,
    failed: Option<FailedLogins>,
}

impl MemoryBackend {
    /// An empty backend.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread must not wedge every later call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn check_user_unique(&self, user: &User) -> StoreResult<()> {
        for other in self.users.values().filter(|other| other.id != user.id) {
            if other.email == user.email {
                return Err(StoreError::Conflict(ConflictKind::Email));
            }
            if user.username.is_some() && other.username == user.username {
                return Err(StoreError::Conflict(ConflictKind::Username));
            }
        }
        Ok(())
    }

    fn check_account_unique(&self, account: &Account) -> StoreResult<()> {
        let taken = self.accounts.values().any(|stored| {
            stored.account.id == account.id
                || (stored.account.provider_id == account.provider_id
                    && stored.account.account_id == account.account_id)
        });
        if taken {
            return Err(StoreError::Conflict(ConflictKind::Account));
        }
        Ok(())
    }

    fn credential_mut(&mut self, user_id: UserId) -> Option<&mut StoredAccount> {
        self.accounts.values_mut().find(|stored| {
            stored.account.user_id == user_id && stored.account.provider_id == CREDENTIAL_PROVIDER
        })
    }
}

#[async_trait]
impl UserStore for MemoryBackend {
    async fn create_user_with_credential(&self, user: &User, account: &Account) -> StoreResult<()> {
        let mut state = self.lock();
        if state.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(ConflictKind::Record));
        }
        state.check_user_unique(user)?;
        state.check_account_unique(account)?;
        state.users.insert(user.id, user.clone());
        state.accounts.insert(
            account.id,
            StoredAccount {
                account: account.clone(),
                failed: None,
            },
        );
        Ok(())
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let mut state = self.lock();
        if state.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(ConflictKind::Record));
        }
        state.check_user_unique(user)?;
        state.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.lock().users.get(&id).cloned())
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        Ok(self
            .lock()
            .users
            .values()
            .find(|user| user.email == email)
            .cloned())
    }

    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        Ok(self
            .lock()
            .users
            .values()
            .find(|user| user.username.as_deref() == Some(username))
            .cloned())
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let mut state = self.lock();
        if !state.users.contains_key(&user.id) {
            return Err(StoreError::NotFound);
        }
        state.check_user_unique(user)?;
        state.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
        let mut state = self.lock();
        if state.users.remove(&id).is_none() {
            return Ok(false);
        }
        state
            .accounts
            .retain(|_, stored| stored.account.user_id != id);
        state.sessions.retain(|_, session| session.user_id != id);
        for event in &mut state.events {
            if event.user_id == Some(id) {
                event.user_id = None;
            }
        }
        Ok(true)
    }
}

#[async_trait]
impl AccountStore for MemoryBackend {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        let mut state = self.lock();
        if !state.users.contains_key(&account.user_id) {
            // Mirrors the foreign key of the SQL backends.
            return Err(StoreError::NotFound);
        }
        state.check_account_unique(account)?;
        state.accounts.insert(
            account.id,
            StoredAccount {
                account: account.clone(),
                failed: None,
            },
        );
        Ok(())
    }

    async fn find_account(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<Account>> {
        Ok(self
            .lock()
            .accounts
            .values()
            .find(|stored| {
                stored.account.provider_id == provider_id && stored.account.account_id == account_id
            })
            .map(|stored| stored.account.clone()))
    }

    async fn find_credential_account(&self, user_id: UserId) -> StoreResult<Option<Account>> {
        Ok(self
            .lock()
            .credential_mut(user_id)
            .map(|stored| stored.account.clone()))
    }

    async fn list_accounts(&self, user_id: UserId) -> StoreResult<Vec<Account>> {
        let mut accounts: Vec<Account> = self
            .lock()
            .accounts
            .values()
            .filter(|stored| stored.account.user_id == user_id)
            .map(|stored| stored.account.clone())
            .collect();
        accounts.sort_by_key(|account| account.created_at);
        Ok(accounts)
    }

    async fn update_password(
        &self,
        user_id: UserId,
        password: &PasswordHash,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut state = self.lock();
        let stored = state.credential_mut(user_id).ok_or(StoreError::NotFound)?;
        stored.account.password = Some(password.clone());
        stored.account.updated_at = now;
        Ok(())
    }

    async fn record_failed_login(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<FailedLogins> {
        let mut state = self.lock();
        let stored = state.credential_mut(user_id).ok_or(StoreError::NotFound)?;
        let next = match stored.failed {
            // Checked: a window so large that its end overflows never ends.
            Some(current)
                if current
                    .window_started_at
                    .checked_add_signed(to_time_delta(window))
                    .is_none_or(|end| now < end) =>
            {
                FailedLogins {
                    count: current.count.saturating_add(1),
                    window_started_at: current.window_started_at,
                }
            }
            _ => FailedLogins {
                count: 1,
                window_started_at: now,
            },
        };
        stored.failed = Some(next);
        Ok(next)
    }

    async fn failed_logins(&self, user_id: UserId) -> StoreResult<Option<FailedLogins>> {
        Ok(self
            .lock()
            .credential_mut(user_id)
            .and_then(|stored| stored.failed))
    }

    async fn reset_failed_logins(&self, user_id: UserId) -> StoreResult<()> {
        if let Some(stored) = self.lock().credential_mut(user_id) {
            stored.failed = None;
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemoryBackend {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let mut state = self.lock();
        let taken = state.sessions.values().any(|existing| {
            existing.id == session.id || existing.token_hash.ct_eq(&session.token_hash)
        });
        if taken {
            return Err(StoreError::Conflict(ConflictKind::Record));
        }
        if !state.users.contains_key(&session.user_id) {
            return Err(StoreError::NotFound);
        }
        state.sessions.insert(session.id, session.clone());
        Ok(())
    }

    async fn find_session_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<(Session, User)>> {
        let state = self.lock();
        let Some(session) = state
            .sessions
            .values()
            .find(|session| session.token_hash.ct_eq(token_hash))
        else {
            return Ok(None);
        };
        Ok(state
            .users
            .get(&session.user_id)
            .map(|user| (session.clone(), user.clone())))
    }

    async fn find_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        Ok(self.lock().sessions.get(&id).cloned())
    }

    async fn list_sessions(&self, user_id: UserId) -> StoreResult<Vec<Session>> {
        let mut sessions: Vec<Session> = self
            .lock()
            .sessions
            .values()
            .filter(|session| session.user_id == user_id)
            .cloned()
            .collect();
        sessions.sort_by_key(|session| std::cmp::Reverse(session.created_at));
        Ok(sessions)
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(match self.lock().sessions.get_mut(&id) {
            Some(session) => {
                session.last_seen_at = last_seen_at;
                session.expires_at = expires_at;
                true
            }
            None => false,
        })
    }

    async fn delete_session(&self, id: SessionId) -> StoreResult<bool> {
        Ok(self.lock().sessions.remove(&id).is_some())
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64> {
        let mut state = self.lock();
        let before = state.sessions.len();
        state
            .sessions
            .retain(|_, session| session.user_id != user_id);
        Ok(count(before - state.sessions.len()))
    }

    async fn delete_other_sessions(&self, user_id: UserId, keep: SessionId) -> StoreResult<u64> {
        let mut state = self.lock();
        let before = state.sessions.len();
        state
            .sessions
            .retain(|id, session| session.user_id != user_id || *id == keep);
        Ok(count(before - state.sessions.len()))
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>, limit: u64) -> StoreResult<u64> {
        let mut state = self.lock();
        let expired: Vec<SessionId> = state
            .sessions
            .values()
            .filter(|session| session.expires_at <= now)
            .map(|session| session.id)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        for id in &expired {
            state.sessions.remove(id);
        }
        Ok(count(expired.len()))
    }
}

#[async_trait]
impl VerificationStore for MemoryBackend {
    async fn create_verification(&self, verification: &Verification) -> StoreResult<()> {
        let mut state = self.lock();
        let taken = state.verifications.values().any(|existing| {
            existing.id == verification.id || existing.value_hash.ct_eq(&verification.value_hash)
        });
        if taken {
            return Err(StoreError::Conflict(ConflictKind::Record));
        }
        state
            .verifications
            .insert(verification.id, verification.clone());
        Ok(())
    }

    async fn take_verification(
        &self,
        value_hash: &TokenHash,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        let mut state = self.lock();
        let Some(id) = state
            .verifications
            .values()
            .find(|v| v.value_hash.ct_eq(value_hash) && v.has_purpose(purpose))
            .map(|v| v.id)
        else {
            return Ok(None);
        };
        Ok(state
            .verifications
            .remove(&id)
            .filter(|v| now < v.expires_at))
    }

    async fn delete_verifications(&self, identifier: &str) -> StoreResult<u64> {
        let mut state = self.lock();
        let before = state.verifications.len();
        state
            .verifications
            .retain(|_, v| v.identifier != identifier);
        Ok(count(before - state.verifications.len()))
    }

    async fn delete_expired_verifications(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<u64> {
        let mut state = self.lock();
        let expired: Vec<VerificationId> = state
            .verifications
            .values()
            .filter(|v| v.expires_at <= now)
            .map(|v| v.id)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        for id in &expired {
            state.verifications.remove(id);
        }
        Ok(count(expired.len()))
    }
}

#[async_trait]
impl EventStore for MemoryBackend {
    async fn append_event(&self, event: &AuthEvent) -> StoreResult<()> {
        self.lock().events.push(event.clone());
        Ok(())
    }

    async fn list_events(&self, user_id: UserId, limit: u64) -> StoreResult<Vec<AuthEvent>> {
        let state = self.lock();
        let mut events: Vec<AuthEvent> = state
            .events
            .iter()
            .rev()
            .filter(|event| event.user_id == Some(user_id))
            .cloned()
            .collect();
        events.sort_by_key(|event| std::cmp::Reverse((event.created_at, event.id)));
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
