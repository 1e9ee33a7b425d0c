//! The records in memory, with the indexes the hot paths need, and the one function that
//! changes them: [`State::apply`]. Replaying the log at startup and committing a new
//! mutation both go through it, so what is on disk and what is in memory cannot disagree.

use std::collections::HashMap;

use portcullis_core::{
    AccountId, CREDENTIAL_PROVIDER, ConflictKind, SessionId, StoreError, StoreResult, User, UserId,
    VerificationId,
};

use crate::record::{
    AccountRecord, Entry, EventRecord, HashHex, SessionRecord, VerificationRecord,
};

fn pick<'a, R: 'a, Id>(
    records: impl Iterator<Item = &'a R>,
    select: impl Fn(&R) -> bool,
    id: impl Fn(&R) -> Id,
    max: usize,
) -> Vec<Id> {
    records.filter(|r| select(r)).take(max).map(id).collect()
}

/// Every record, plus unique indexes (which is also how conflicts are detected).
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) users: HashMap<UserId, User>,
    user_by_email: HashMap<String, UserId>,
    user_by_username: HashMap<String, UserId>,
    pub(crate) accounts: HashMap<AccountId, AccountRecord>,
    account_by_provider: HashMap<(String, String), AccountId>,
    credential_by_user: HashMap<UserId, AccountId>,
    pub(crate) sessions: HashMap<SessionId, SessionRecord>,
    session_by_token: HashMap<HashHex, SessionId>,
    pub(crate) verifications: HashMap<VerificationId, VerificationRecord>,
    verification_by_value: HashMap<HashHex, VerificationId>,
    /// In append order.
    pub(crate) events: Vec<EventRecord>,
}

impl State {
    /// `Conflict(Email | Username)` when another user holds `user`'s email or username.
    pub(crate) fn check_user_unique(&self, user: &User) -> StoreResult<()> {
        let held_by_other = |owner: Option<&UserId>| owner.is_some_and(|id| *id != user.id);
        if held_by_other(self.user_by_email.get(&user.email)) {
            return Err(StoreError::Conflict(ConflictKind::Email));
        }
        if held_by_other(
            user.username
                .as_ref()
                .and_then(|name| self.user_by_username.get(name)),
        ) {
            return Err(StoreError::Conflict(ConflictKind::Username));
        }
        Ok(())
    }

    /// `Conflict(Account)` when the id or `(provider_id, account_id)` exists.
    pub(crate) fn check_account_unique(&self, account: &AccountRecord) -> StoreResult<()> {
        let key = (account.provider_id.clone(), account.account_id.clone());
        if self.accounts.contains_key(&account.id) || self.account_by_provider.contains_key(&key) {
            return Err(StoreError::Conflict(ConflictKind::Account));
        }
        Ok(())
    }

    pub(crate) fn account_by_provider(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> Option<&AccountRecord> {
        let key = (provider_id.to_owned(), account_id.to_owned());
        self.account_by_provider
            .get(&key)
            .and_then(|id| self.accounts.get(id))
    }

    pub(crate) fn credential(&self, user_id: UserId) -> Option<&AccountRecord> {
        self.credential_by_user
            .get(&user_id)
            .and_then(|id| self.accounts.get(id))
    }

    pub(crate) fn user_by_email(&self, email: &str) -> Option<&User> {
        self.user_by_email
            .get(email)
            .and_then(|id| self.users.get(id))
    }

    pub(crate) fn user_by_username(&self, username: &str) -> Option<&User> {
        self.user_by_username
            .get(username)
            .and_then(|id| self.users.get(id))
    }

    pub(crate) fn session_by_token(&self, hash: HashHex) -> Option<&SessionRecord> {
        self.session_by_token
            .get(&hash)
            .and_then(|id| self.sessions.get(id))
    }

    pub(crate) fn has_session_token(&self, hash: HashHex) -> bool {
        self.session_by_token.contains_key(&hash)
    }

    /// Up to `max` sessions `select` picks.
    pub(crate) fn session_ids(
        &self,
        select: impl Fn(&SessionRecord) -> bool,
        max: usize,
    ) -> Vec<SessionId> {
        pick(self.sessions.values(), select, |s| s.id, max)
    }

    /// Up to `max` verifications `select` picks.
    pub(crate) fn verification_ids(
        &self,
        select: impl Fn(&VerificationRecord) -> bool,
        max: usize,
    ) -> Vec<VerificationId> {
        pick(self.verifications.values(), select, |v| v.id, max)
    }

    pub(crate) fn verification_by_value(&self, hash: HashHex) -> Option<&VerificationRecord> {
        self.verification_by_value
            .get(&hash)
            .and_then(|id| self.verifications.get(id))
    }

    /// Applies one mutation. Never fails: every check happened before the entry was
    /// written, and replay applies entries in the order they were committed.
    pub(crate) fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::PutUser { user } => {
                if let Some(old) = self.users.remove(&user.id) {
                    self.user_by_email.remove(&old.email);
                    if let Some(name) = &old.username {
                        self.user_by_username.remove(name);
                    }
                }
                self.user_by_email.insert(user.email.clone(), user.id);
                if let Some(name) = &user.username {
                    self.user_by_username.insert(name.clone(), user.id);
                }
                self.users.insert(user.id, user);
            }
            Entry::DeleteUser { id } => self.delete_user(id),
            Entry::PutAccount { account } => {
                self.remove_account(account.id);
                self.account_by_provider.insert(
                    (account.provider_id.clone(), account.account_id.clone()),
                    account.id,
                );
                if account.provider_id == CREDENTIAL_PROVIDER {
                    self.credential_by_user.insert(account.user_id, account.id);
                }
                self.accounts.insert(account.id, account);
            }
            Entry::PutSession { session } => {
                self.remove_sessions(&[session.id]);
                self.session_by_token.insert(session.token_hash, session.id);
                self.sessions.insert(session.id, session);
            }
            Entry::DeleteSessions { ids } => self.remove_sessions(&ids),
            Entry::PutVerification { verification } => {
                self.remove_verifications(&[verification.id]);
                self.verification_by_value
                    .insert(verification.value_hash, verification.id);
                self.verifications.insert(verification.id, verification);
            }
            Entry::DeleteVerifications { ids } => self.remove_verifications(&ids),
            Entry::AppendEvent { event } => self.events.push(event),
        }
    }

    fn delete_user(&mut self, id: UserId) {
        let Some(user) = self.users.remove(&id) else {
            return;
        };
        self.user_by_email.remove(&user.email);
        if let Some(name) = &user.username {
            self.user_by_username.remove(name);
        }
        let accounts = self
            .accounts
            .values()
            .filter(|account| account.user_id == id);
        for account in accounts.map(|account| account.id).collect::<Vec<_>>() {
            self.remove_account(account);
        }
        self.remove_sessions(&self.session_ids(|session| session.user_id == id, usize::MAX));
        // The audit trail outlives the user, anonymised (SQL: ON DELETE SET NULL).
        for event in &mut self.events {
            if event.user_id == Some(id) {
                event.user_id = None;
            }
        }
    }

    fn remove_account(&mut self, id: AccountId) {
        if let Some(old) = self.accounts.remove(&id) {
            self.account_by_provider
                .remove(&(old.provider_id, old.account_id));
            if self.credential_by_user.get(&old.user_id) == Some(&id) {
                self.credential_by_user.remove(&old.user_id);
            }
        }
    }

    fn remove_sessions(&mut self, ids: &[SessionId]) {
        for id in ids {
            if let Some(old) = self.sessions.remove(id) {
                self.session_by_token.remove(&old.token_hash);
            }
        }
    }

    fn remove_verifications(&mut self, ids: &[VerificationId]) {
        for id in ids {
            if let Some(old) = self.verifications.remove(id) {
                self.verification_by_value.remove(&old.value_hash);
            }
        }
    }

    /// The entries that rebuild this state from nothing (what compaction writes).
    pub(crate) fn snapshot(&self) -> Vec<Entry> {
        let users = self
            .users
            .values()
            .map(|user| Entry::PutUser { user: user.clone() });
        let accounts = self.accounts.values().map(|account| Entry::PutAccount {
            account: account.clone(),
        });
        let sessions = self.sessions.values().map(|session| Entry::PutSession {
            session: session.clone(),
        });
        let verifications =
            self.verifications
                .values()
                .map(|verification| Entry::PutVerification {
                    verification: verification.clone(),
                });
        let events = self.events.iter().map(|event| Entry::AppendEvent {
            event: event.clone(),
        });
        users
            .chain(accounts)
            .chain(sessions)
            .chain(verifications)
            .chain(events)
            .collect()
    }

    /// How many records are live (compaction compares this with the log's length).
    pub(crate) fn len(&self) -> usize {
        self.users.len()
            + self.accounts.len()
            + self.sessions.len()
            + self.verifications.len()
            + self.events.len()
    }
}
