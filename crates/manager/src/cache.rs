//! The optional in-process session cache: token hash → (session, user), for a short time.
//!
//! Off by default. With it on, a request whose token was seen within the last `ttl` skips the
//! storage lookup. Revocations made through this process's manager (logout, revoke, password
//! change or reset, disable, delete, role or profile change) evict the affected entries at
//! once; a revocation made by another process (a second server, an admin script) is seen here
//! only when the entry expires, so `ttl` is the longest such a revoked session keeps working.

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
    entries: RwLock<HashMap<[u8; 32], Entry>>,
}

impl SessionCache {
    pub(crate) fn new(config: SessionCacheConfig) -> Self {
        Self {
            config,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached session and user for `token_hash`, if cached less than `ttl` ago.
    pub(crate) fn get(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Option<(Session, User)> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(token_hash.as_bytes())?;
        if now >= entry.cached_at + to_time_delta(self.config.ttl) {
            return None;
        }
        Some((entry.session.clone(), entry.user.clone()))
    }

    pub(crate) fn insert(
        &self,
        token_hash: &TokenHash,
        session: &Session,
        user: &User,
        now: DateTime<Utc>,
    ) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
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

    pub(crate) fn remove(&self, token_hash: &TokenHash) {
        self.write().remove(token_hash.as_bytes());
    }

    pub(crate) fn remove_session(&self, id: SessionId) {
        self.write().retain(|_, entry| entry.session.id != id);
    }

    /// Drops every session of `user_id` (password change, disable, role change, ...).
    pub(crate) fn remove_user(&self, user_id: UserId) {
        self.write().retain(|_, entry| entry.user.id != user_id);
    }

    /// Drops every session of `user_id` except `keep`.
    pub(crate) fn remove_user_except(&self, user_id: UserId, keep: SessionId) {
        self.write()
            .retain(|_, entry| entry.user.id != user_id || entry.session.id == keep);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
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
        cache.insert(&a1, &s1, &ada, now);
        cache.insert(&a2, &s2, &ada, now);
        cache.insert(&b1, &s3, &bob, now);
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
    fn a_full_cache_drops_expired_entries_and_never_grows_past_its_bound() {
        let cache = SessionCache::new(SessionCacheConfig {
            ttl: Duration::from_secs(5),
            max_entries: 2,
        });
        let now = Utc::now();
        let user = User::new("U", "u@example.com", now);
        for _ in 0..5 {
            let (hash, session) = session_for(&user, now);
            cache.insert(&hash, &session, &user, now);
        }
        assert_eq!(cache.len(), 2);
        let later = now + chrono::TimeDelta::seconds(6);
        let (hash, session) = session_for(&user, later);
        cache.insert(&hash, &session, &user, later);
        assert_eq!(cache.len(), 1, "expired entries were not dropped when full");
        assert!(cache.get(&hash, later).is_some());
    }
}
