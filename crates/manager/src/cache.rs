//! The optional in-process session cache: token hash → (session, user), for a short time.
//!
//! Off by default. With it on, a request whose token was seen within the last `ttl` skips the
//! storage lookup. Revocations made through this process's manager (logout, revoke, password
//! change or reset, disable, delete, role or profile change) evict the affected entries at
//! once; a revocation made by another process (a second server, an admin script) is seen here
//! only when the entry expires, so `ttl` is the longest such a revoked session keeps working.
//!
//! Evicting is not enough on its own: a request that read the session from storage just before
//! a revocation deleted it could put it back into the cache just after the eviction, and the
//! revoked token would keep working for `ttl`. So every eviction happens after the storage
//! write and bumps a generation counter, and a session read from storage is cached only if no
//! eviction ran since the reader took the generation (before its read): a copy that may predate
//! a revocation is never cached.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use portcullis_core::{Session, SessionId, TokenHash, User, UserId, to_time_delta};

/// Settings of the session cache. See [`AuthConfig::session_cache`](crate::AuthConfig::session_cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCacheConfig {
    /// How long an entry is trusted. Also the longest a session revoked by another process
    /// keeps working in this one. Default 5 seconds.
    pub ttl: Duration,
    /// Most sessions kept. When full, expired entries are dropped; if it is still full, new
    /// sessions are not cached until room frees up. Default 10,000 (a few MiB).
    pub max_entries: usize,
}

impl Default for SessionCacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(5),
            max_entries: 10_000,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    session: Session,
    user: User,
    cached_at: DateTime<Utc>,
}

/// The cache itself. A read lock on the hot path; writes on misses and invalidations.
#[derive(Debug)]
pub(crate) struct SessionCache {
    config: SessionCacheConfig,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<[u8; 32], Entry>,
    /// Bumped by every eviction; see the module documentation.
    generation: u64,
}

/// What [`SessionCache::generation`] returns: pass it back to [`SessionCache::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

impl SessionCache {
    pub(crate) fn new(config: SessionCacheConfig) -> Self {
        Self {
            config,
            state: RwLock::new(State::default()),
        }
    }

    /// Take this before reading a session from storage, and give it to [`insert`](Self::insert).
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.read().generation)
    }

    /// The cached session and user for `token_hash`, if cached less than `ttl` ago.
    pub(crate) fn get(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Option<(Session, User)> {
        let state = self.read();
        let entry = state.entries.get(token_hash.as_bytes())?;
        if now >= entry.cached_at + to_time_delta(self.config.ttl) {
            return None;
        }
        Some((entry.session.clone(), entry.user.clone()))
    }

    /// Caches `session` and `user`, unless an eviction ran since `seen` was taken (the copy
    /// may then predate a revocation).
    pub(crate) fn insert(
        &self,
        token_hash: &TokenHash,
        session: &Session,
        user: &User,
        now: DateTime<Utc>,
        seen: Generation,
    ) {
        let mut state = self.write();
        if state.generation != seen.0 {
            return;
        }
        let entries = &mut state.entries;
        if entries.len() >= self.config.max_entries && !entries.contains_key(token_hash.as_bytes())
        {
            let ttl = to_time_delta(self.config.ttl);
            entries.retain(|_, entry| now < entry.cached_at + ttl);
            if entries.len() >= self.config.max_entries {
                return;
            }
        }
        entries.insert(
            *token_hash.as_bytes(),
            Entry {
                session: session.clone(),
                user: user.clone(),
                cached_at: now,
            },
        );
    }

    /// Call after the storage write that revoked the session.
    pub(crate) fn remove(&self, token_hash: &TokenHash) {
        self.evict(|hash, _| hash == token_hash.as_bytes());
    }

    /// Call after the storage write that revoked the session.
    pub(crate) fn remove_session(&self, id: SessionId) {
        self.evict(|_, entry| entry.session.id == id);
    }

    /// Drops every session of `user_id` (password change, disable, role change, ...). Call
    /// after the storage write.
    pub(crate) fn remove_user(&self, user_id: UserId) {
        self.evict(|_, entry| entry.user.id == user_id);
    }

    /// Drops every session of `user_id` except `keep`. Call after the storage write.
    pub(crate) fn remove_user_except(&self, user_id: UserId, keep: SessionId) {
        self.evict(|_, entry| entry.user.id == user_id && entry.session.id != keep);
    }

    fn evict(&self, doomed: impl Fn(&[u8; 32], &Entry) -> bool) {
        let mut state = self.write();
        state.generation = state.generation.wrapping_add(1);
        state.entries.retain(|hash, entry| !doomed(hash, entry));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.read().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::Token;

    fn session_for(user: &User, now: DateTime<Utc>) -> (TokenHash, Session) {
        let token = Token::generate().unwrap();
        let session = Session {
            id: SessionId::new(),
            token_hash: token.hash(),
            user_id: user.id,
            expires_at: now + chrono::TimeDelta::hours(1),
            absolute_expires_at: now + chrono::TimeDelta::hours(2),
            ip_address: None,
            user_agent: None,
            created_at: now,
            last_seen_at: now,
        };
        (token.hash(), session)
    }

    #[test]
    fn entries_expire_after_the_ttl_and_invalidate_by_user() {
        let cache = SessionCache::new(SessionCacheConfig::default());
        let now = Utc::now();
        let ada = User::new("Ada", "ada@example.com", now);
        let bob = User::new("Bob", "bob@example.com", now);
        let (a1, s1) = session_for(&ada, now);
        let (a2, s2) = session_for(&ada, now);
        let (b1, s3) = session_for(&bob, now);
        cache.insert(&a1, &s1, &ada, now, cache.generation());
        cache.insert(&a2, &s2, &ada, now, cache.generation());
        cache.insert(&b1, &s3, &bob, now, cache.generation());
        assert!(
            cache
                .get(&a1, now + chrono::TimeDelta::seconds(4))
                .is_some()
        );
        assert!(
            cache
                .get(&a1, now + chrono::TimeDelta::seconds(5))
                .is_none(),
            "ttl not honoured"
        );

        cache.remove_user_except(ada.id, s2.id);
        assert!(cache.get(&a1, now).is_none());
        assert!(cache.get(&a2, now).is_some());
        cache.remove_user(ada.id);
        assert!(cache.get(&a2, now).is_none());
        assert!(
            cache.get(&b1, now).is_some(),
            "another user's entry was evicted"
        );
        cache.remove_session(s3.id);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_copy_read_before_an_eviction_is_not_cached() {
        let cache = SessionCache::new(SessionCacheConfig::default());
        let now = Utc::now();
        let ada = User::new("Ada", "ada@example.com", now);
        let (hash, session) = session_for(&ada, now);
        // A request takes the generation and reads the session from storage; meanwhile a
        // revocation deletes it and evicts; then the request tries to cache its copy.
        let seen = cache.generation();
        cache.remove_session(session.id);
        cache.insert(&hash, &session, &ada, now, seen);
        assert!(
            cache.get(&hash, now).is_none(),
            "a revoked session was cached"
        );
        // A copy read after the eviction is cached.
        cache.insert(&hash, &session, &ada, now, cache.generation());
        assert!(cache.get(&hash, now).is_some());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_and_never_grows_past_its_bound() {
        let cache = SessionCache::new(SessionCacheConfig {
            ttl: Duration::from_secs(5),
            max_entries: 2,
        });
        let now = Utc::now();
        let user = User::new("U", "u@example.com", now);
        for _ in 0..5 {
            let (hash, session) = session_for(&user, now);
            cache.insert(&hash, &session, &user, now, cache.generation());
        }
        assert_eq!(cache.len(), 2);
        let later = now + chrono::TimeDelta::seconds(6);
        let (hash, session) = session_for(&user, later);
        cache.insert(&hash, &session, &user, later, cache.generation());
        assert_eq!(cache.len(), 1, "expired entries were not dropped when full");
        assert!(cache.get(&hash, later).is_some());
    }
}
