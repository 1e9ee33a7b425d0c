//! [`FileBackend`]: core's five store traits over [`Log`] and [`State`].
//!
//! Every method takes the one lock. Reads answer from memory. Writes check the contract
//! against the current state, turn the change into log entries, commit them (write +
//! `fsync`, off the async executor), and only then apply them to memory. Holding the lock
//! from the check to the apply is what makes "check then write" atomic: a take, a
//! create-or-fail or a counter increment cannot interleave with another.

use std::cmp::Reverse;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::chrono::{DateTime, Utc};
use portcullis_core::{
    Account, AccountStore, AuthEvent, ConflictKind, EventStore, FailedLogins, PasswordHash,
    Session, SessionId, SessionStore, StoreError, StoreResult, TokenHash, User, UserId, UserStore,
    Verification, VerificationId, VerificationStore, async_trait, to_time_delta,
};
use tokio::sync::Mutex;

use crate::log::Log;
use crate::record::{
    AccountRecord, Entry, EventRecord, HashHex, SessionRecord, VerificationRecord,
};
use crate::state::State;

/// A Portcullis storage backend in one local file: an append-only JSON-lines log, replayed
/// into memory when opened. Clones share the same file and data.
///
/// One process at a time: the file is locked while a backend has it open (opening it again
/// fails with [`std::io::ErrorKind::WouldBlock`]). Every acknowledged write has been
/// `fsync`ed. The file holds password hashes and OAuth tokens (secrets that must be kept);
/// it is created with mode `0600`. Session and verification tokens are never seen by
/// storage: only their SHA-256, as hex.
#[derive(Clone)]
pub struct FileBackend {
    inner: Arc<Mutex<Inner>>,
    path: Arc<PathBuf>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    log: Log,
}

impl fmt::Debug for FileBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A write: the entries to commit (empty for none) and what the method returns.
type Plan<T> = StoreResult<(Vec<Entry>, T)>;

impl FileBackend {
    /// Opens the log at `path` (creating it), replays it into memory and rewrites it
    /// compacted.
    ///
    /// # Errors
    /// `Unavailable` when the file cannot be opened or is locked by another backend;
    /// `Backend` when its contents are not a log this version understands.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_owned();
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || Log::open(&path))
                .await
                .map_err(StoreError::backend)?
        };
        let (log, state) = opened.map_err(|error| match error.kind() {
            std::io::ErrorKind::InvalidData => StoreError::backend(error),
            _ => StoreError::unavailable(error),
        })?;
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner { state, log })),
            path: Arc::new(path),
        })
    }

    /// Where the log lives.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rewrites the log without superseded lines (also done when opening, and after writes
    /// once the log is more than twice the live data).
    ///
    /// # Errors
    /// `Unavailable` when the new file cannot be written; the old one is then left intact.
    pub async fn compact(&self) -> StoreResult<()> {
        let mut inner = Arc::clone(&self.inner).lock_owned().await;
        tokio::task::spawn_blocking(move || {
            let Inner { state, log } = &mut *inner;
            log.compact(state).map_err(StoreError::unavailable)
        })
        .await
        .map_err(StoreError::backend)?
    }

    async fn read<T>(&self, query: impl FnOnce(&State) -> T) -> StoreResult<T> {
        Ok(query(&self.inner.lock().await.state))
    }

    /// Runs `plan` against the current state and commits what it returns, under the lock.
    ///
    /// The file I/O runs on the blocking pool with the lock moved into it, so a caller that
    /// gives up waiting (a dropped future) cannot leave a half-done write behind.
    async fn write<T, F>(&self, plan: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&State) -> Plan<T> + Send + 'static,
    {
        let mut inner = Arc::clone(&self.inner).lock_owned().await;
        tokio::task::spawn_blocking(move || {
            let Inner { state, log } = &mut *inner;
            let (entries, output) = plan(state)?;
            if entries.is_empty() {
                return Ok(output);
            }
            log.append(&entries)?;
            for entry in entries {
                state.apply(entry);
            }
            if log.wants_compaction(state.len()) {
                // The log stays valid if this fails (temporary file + rename): retried
                // after a later write.
                let _ = log.compact(state);
            }
            Ok(output)
        })
        .await
        .map_err(StoreError::backend)?
    }

    /// Deletes the records `pick` chooses, in one committed line; returns how many.
    async fn delete_where<Id: Send + 'static>(
        &self,
        pick: impl FnOnce(&State) -> Vec<Id> + Send + 'static,
        entry: fn(Vec<Id>) -> Entry,
    ) -> StoreResult<u64> {
        self.write(move |state| {
            let ids = pick(state);
            let deleted = count(ids.len());
            let entries = if ids.is_empty() {
                Vec::new()
            } else {
                vec![entry(ids)]
            };
            Ok((entries, deleted))
        })
        .await
    }
}

fn sessions(ids: Vec<SessionId>) -> Entry {
    Entry::DeleteSessions { ids }
}

fn verifications(ids: Vec<VerificationId>) -> Entry {
    Entry::DeleteVerifications { ids }
}

/// The records `keep` picks, ordered by `key`, at most `max`, as core's types.
fn sorted<'a, R, T, K>(
    records: impl Iterator<Item = &'a R>,
    keep: impl Fn(&R) -> bool,
    key: impl Fn(&R) -> K,
    max: usize,
) -> Vec<T>
where
    R: 'a,
    T: From<&'a R>,
    K: Ord,
{
    let mut picked: Vec<&R> = records.filter(|record| keep(record)).collect();
    picked.sort_by_key(|record| key(record));
    picked.into_iter().take(max).map(T::from).collect()
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn limit(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

#[async_trait]
impl UserStore for FileBackend {
    async fn create_user_with_credential(&self, user: &User, account: &Account) -> StoreResult<()> {
        let user = user.clone();
        let account = AccountRecord::from(account);
        self.write(move |state| {
            if state.users.contains_key(&user.id) {
                return Err(StoreError::Conflict(ConflictKind::Record));
            }
            state.check_user_unique(&user)?;
            state.check_account_unique(&account)?;
            // One line, so both records are committed or neither.
            Ok((
                vec![Entry::PutUser { user }, Entry::PutAccount { account }],
                (),
            ))
        })
        .await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let user = user.clone();
        self.write(move |state| {
            if state.users.contains_key(&user.id) {
                return Err(StoreError::Conflict(ConflictKind::Record));
            }
            state.check_user_unique(&user)?;
            Ok((vec![Entry::PutUser { user }], ()))
        })
        .await
    }

    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.read(|state| state.users.get(&id).cloned()).await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.read(|state| state.user_by_email(email).cloned()).await
    }

    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.read(|state| state.user_by_username(username).cloned())
            .await
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let user = user.clone();
        self.write(move |state| {
            if !state.users.contains_key(&user.id) {
                return Err(StoreError::NotFound);
            }
            state.check_user_unique(&user)?;
            Ok((vec![Entry::PutUser { user }], ()))
        })
        .await
    }

    async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
        self.write(move |state| {
            if !state.users.contains_key(&id) {
                return Ok((Vec::new(), false));
            }
            // Accounts and sessions go with the user; events lose their user id.
            Ok((vec![Entry::DeleteUser { id }], true))
        })
        .await
    }
}

#[async_trait]
impl AccountStore for FileBackend {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        let account = AccountRecord::from(account);
        self.write(move |state| {
            if !state.users.contains_key(&account.user_id) {
                return Err(StoreError::NotFound); // the SQL backends' foreign key
            }
            state.check_account_unique(&account)?;
            Ok((vec![Entry::PutAccount { account }], ()))
        })
        .await
    }

    async fn find_account(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<Account>> {
        self.read(|state| {
            state
                .account_by_provider(provider_id, account_id)
                .map(Account::from)
        })
        .await
    }

    async fn find_credential_account(&self, user_id: UserId) -> StoreResult<Option<Account>> {
        self.read(|state| state.credential(user_id).map(Account::from))
            .await
    }

    async fn list_accounts(&self, user_id: UserId) -> StoreResult<Vec<Account>> {
        let mine = move |account: &AccountRecord| account.user_id == user_id;
        // Oldest first.
        let order = |account: &AccountRecord| (account.created_at, account.id);
        self.read(|state| sorted(state.accounts.values(), mine, order, usize::MAX))
            .await
    }

    async fn update_password(
        &self,
        user_id: UserId,
        password: &PasswordHash,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let password = password.expose().to_owned();
        self.write(move |state| {
            let mut account = state
                .credential(user_id)
                .cloned()
                .ok_or(StoreError::NotFound)?;
            account.password = Some(password);
            account.updated_at = now;
            Ok((vec![Entry::PutAccount { account }], ()))
        })
        .await
    }

    async fn record_failed_login(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<FailedLogins> {
        self.write(move |state| {
            let mut account = state
                .credential(user_id)
                .cloned()
                .ok_or(StoreError::NotFound)?;
            // `checked_add`: chrono's `+` panics past year 262143, and a window that long
            // simply never ends.
            let in_window = |start: DateTime<Utc>| {
                start
                    .checked_add_signed(to_time_delta(window))
                    .is_none_or(|end| now < end)
            };
            let next = match account.failed.map(FailedLogins::from) {
                Some(current) if in_window(current.window_started_at) => FailedLogins {
                    count: current.count.saturating_add(1),
                    window_started_at: current.window_started_at,
                },
                _ => FailedLogins {
                    count: 1,
                    window_started_at: now,
                },
            };
            account.failed = Some(next.into());
            Ok((vec![Entry::PutAccount { account }], next))
        })
        .await
    }

    async fn failed_logins(&self, user_id: UserId) -> StoreResult<Option<FailedLogins>> {
        self.read(|state| {
            state
                .credential(user_id)
                .and_then(|account| account.failed)
                .map(FailedLogins::from)
        })
        .await
    }

    async fn reset_failed_logins(&self, user_id: UserId) -> StoreResult<()> {
        self.write(move |state| {
            let entries = match state.credential(user_id) {
                Some(account) if account.failed.is_some() => {
                    let mut account = account.clone();
                    account.failed = None;
                    vec![Entry::PutAccount { account }]
                }
                _ => Vec::new(), // nothing to clear: no write
            };
            Ok((entries, ()))
        })
        .await
    }
}

#[async_trait]
impl SessionStore for FileBackend {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let session = SessionRecord::from(session);
        self.write(move |state| {
            if state.sessions.contains_key(&session.id)
                || state.has_session_token(session.token_hash)
            {
                return Err(StoreError::Conflict(ConflictKind::Record));
            }
            if !state.users.contains_key(&session.user_id) {
                return Err(StoreError::NotFound);
            }
            Ok((vec![Entry::PutSession { session }], ()))
        })
        .await
    }

    async fn find_session_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<(Session, User)>> {
        let hash = HashHex::from(token_hash);
        self.read(|state| {
            let session = state.session_by_token(hash)?;
            let user = state.users.get(&session.user_id)?;
            Some((Session::from(session), user.clone()))
        })
        .await
    }

    async fn find_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        self.read(|state| state.sessions.get(&id).map(Session::from))
            .await
    }

    async fn list_sessions(&self, user_id: UserId) -> StoreResult<Vec<Session>> {
        let mine = move |session: &SessionRecord| session.user_id == user_id;
        // Newest first.
        let order = |session: &SessionRecord| Reverse((session.created_at, session.id));
        self.read(|state| sorted(state.sessions.values(), mine, order, usize::MAX))
            .await
    }

    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(move |state| {
            // A revoked session stays revoked: only an existing one is updated.
            let Some(session) = state.sessions.get(&id) else {
                return Ok((Vec::new(), false));
            };
            let mut session = session.clone();
            session.last_seen_at = last_seen_at;
            session.expires_at = expires_at;
            Ok((vec![Entry::PutSession { session }], true))
        })
        .await
    }

    async fn delete_session(&self, id: SessionId) -> StoreResult<bool> {
        let deleted = self
            .delete_where(move |state| state.session_ids(|s| s.id == id, 1), sessions)
            .await?;
        Ok(deleted > 0)
    }

    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64> {
        let select = move |s: &SessionRecord| s.user_id == user_id;
        self.delete_where(move |state| state.session_ids(select, usize::MAX), sessions)
            .await
    }

    async fn delete_other_sessions(&self, user_id: UserId, keep: SessionId) -> StoreResult<u64> {
        let select = move |s: &SessionRecord| s.user_id == user_id && s.id != keep;
        self.delete_where(move |state| state.session_ids(select, usize::MAX), sessions)
            .await
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>, max: u64) -> StoreResult<u64> {
        let select = move |s: &SessionRecord| s.expires_at <= now;
        self.delete_where(move |state| state.session_ids(select, limit(max)), sessions)
            .await
    }
}

#[async_trait]
impl VerificationStore for FileBackend {
    async fn create_verification(&self, verification: &Verification) -> StoreResult<()> {
        let verification = VerificationRecord::from(verification);
        self.write(move |state| {
            if state.verifications.contains_key(&verification.id)
                || state
                    .verification_by_value(verification.value_hash)
                    .is_some()
            {
                return Err(StoreError::Conflict(ConflictKind::Record));
            }
            Ok((vec![Entry::PutVerification { verification }], ()))
        })
        .await
    }

    async fn take_verification(
        &self,
        value_hash: &TokenHash,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        let hash = HashHex::from(value_hash);
        let purpose = purpose.to_owned();
        self.write(move |state| {
            let Some(found) = state.verification_by_value(hash).map(Verification::from) else {
                return Ok((Vec::new(), None));
            };
            if !found.has_purpose(&purpose) {
                return Ok((Vec::new(), None)); // another purpose's token: left alone
            }
            // Found and deleted under one lock: of racing takes, exactly one gets here.
            let entries = vec![Entry::DeleteVerifications {
                ids: vec![found.id],
            }];
            let valid = (now < found.expires_at).then_some(found);
            Ok((entries, valid))
        })
        .await
    }

    async fn delete_verifications(&self, identifier: &str) -> StoreResult<u64> {
        let identifier = identifier.to_owned();
        let select = move |v: &VerificationRecord| v.identifier == identifier;
        self.delete_where(
            move |state| state.verification_ids(select, usize::MAX),
            verifications,
        )
        .await
    }

    async fn delete_expired_verifications(&self, now: DateTime<Utc>, max: u64) -> StoreResult<u64> {
        let select = move |v: &VerificationRecord| v.expires_at <= now;
        self.delete_where(
            move |state| state.verification_ids(select, limit(max)),
            verifications,
        )
        .await
    }
}

#[async_trait]
impl EventStore for FileBackend {
    async fn append_event(&self, event: &AuthEvent) -> StoreResult<()> {
        let event = EventRecord::from(event);
        self.write(move |_| Ok((vec![Entry::AppendEvent { event }], ())))
            .await
    }

    async fn list_events(&self, user_id: UserId, max: u64) -> StoreResult<Vec<AuthEvent>> {
        let mine = move |event: &EventRecord| event.user_id == Some(user_id);
        // (created_at, id) descending: ids are UUIDv7, so ties list latest first.
        let order = |event: &EventRecord| Reverse((event.created_at, event.id));
        self.read(|state| sorted(state.events.iter(), mine, order, limit(max)))
            .await
    }
}
