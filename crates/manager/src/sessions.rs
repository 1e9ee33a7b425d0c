//! Session validation (the hot path), listing, revocation and purging.

use std::time::Duration;

use portcullis_core::{
    AuthError, AuthEventKind, Backend, ClientInfo, CredentialStrategy, Session, SessionId, Token,
    User, UserId, to_time_delta,
};

use crate::cache::SessionCache;
use crate::manager::AuthManager;
use crate::types::{Authenticated, PurgeReport, SessionInfo};

impl<B: Backend, S: CredentialStrategy<B>> AuthManager<B, S> {
    /// Validates a session token: the hot path of every authenticated request.
    ///
    /// Hashes the token, looks the session and its user up in one query, checks idle and
    /// absolute expiry and that the user is not disabled. Sliding expiry moves `expires_at`
    /// forward (never past the absolute cap), but the row is written only when
    /// [`touch_interval`](crate::AuthConfig::effective_touch_interval) has passed since the last
    /// write, so most requests do no write at all.
    ///
    /// # Errors
    /// `session_expired` (401) for an unknown, revoked or expired token or a disabled user;
    /// `storage_unavailable` (503) when storage is down: the request is refused, never let
    /// through.
    pub async fn authenticate_token(&self, token: &Token) -> Result<Authenticated, AuthError> {
        let backend = &self.inner.backend;
        let cache = self.inner.cache.as_ref();
        let token_hash = token.hash();
        let now = self.now();
        // Taken before any read, so a copy that a concurrent revocation may have deleted is
        // never cached (see `cache.rs`).
        let generation = cache.map(SessionCache::generation);
        let cached = cache.and_then(|cache| cache.get(&token_hash, now));
        let from_cache = cached.is_some();
        let (mut session, user) = match cached {
            Some(hit) => hit,
            None => backend
                .find_session_by_token_hash(&token_hash)
                .await?
                .ok_or(AuthError::SessionExpired)?,
        };
        if session.is_expired(now) || user.disabled {
            // Expired rows are removed as they are found; the periodic purge gets the rest.
            let deleted = backend.delete_session(session.id).await;
            if let Some(cache) = cache {
                cache.remove(&token_hash);
            }
            deleted?;
            return Err(AuthError::SessionExpired);
        }
        let config = &self.inner.config;
        let since_write = (now - session.last_seen_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let mut refreshed = false;
        if since_write >= config.effective_touch_interval() {
            let expires_at = (now + to_time_delta(config.session_idle_lifetime))
                .min(session.absolute_expires_at);
            if !backend.touch_session(session.id, now, expires_at).await? {
                // Revoked between the lookup and the touch (perhaps by another process).
                if let Some(cache) = cache {
                    cache.remove(&token_hash);
                }
                return Err(AuthError::SessionExpired);
            }
            session.last_seen_at = now;
            session.expires_at = expires_at;
            refreshed = true;
        }
        if let Some(cache) = cache
            && let Some(generation) = generation
            && (refreshed || !from_cache)
        {
            cache.insert(&token_hash, &session, &user, now, generation);
        }
        Ok(Authenticated {
            session,
            user,
            refreshed,
        })
    }

    /// How long a cookie for `session` should live from now (for `Max-Age`).
    #[must_use]
    pub fn remaining_lifetime(&self, session: &Session) -> Duration {
        (session.expires_at - self.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// Ends the session the token belongs to. Succeeds (and does nothing) when the token
    /// matches no session, so logging out twice is harmless.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn logout(&self, token: &Token, client: &ClientInfo) -> Result<(), AuthError> {
        let backend = &self.inner.backend;
        let token_hash = token.hash();
        let found = backend.find_session_by_token_hash(&token_hash).await?;
        let deleted = match &found {
            Some((session, _)) => backend.delete_session(session.id).await?,
            None => false,
        };
        // After the storage write (see `cache.rs`).
        if let Some(cache) = &self.inner.cache {
            cache.remove(&token_hash);
        }
        if let Some((session, user)) = found
            && deleted
        {
            self.audit(AuthEventKind::Logout, Some(&user), client).await;
            self.inner.hooks.after_logout(user.id, session.id).await;
        }
        Ok(())
    }

    /// The user's live sessions, newest first, marking `current`. Never includes tokens.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn list_sessions(&self, current: &Session) -> Result<Vec<SessionInfo>, AuthError> {
        let now = self.now();
        Ok(self
            .inner
            .backend
            .list_sessions(current.user_id)
            .await?
            .into_iter()
            .filter(|session| !session.is_expired(now))
            .map(|session| SessionInfo {
                current: session.id == current.id,
                id: session.id,
                created_at: session.created_at,
                last_seen_at: session.last_seen_at,
                expires_at: session.expires_at,
                ip_address: session.ip_address,
                user_agent: session.user_agent,
            })
            .collect())
    }

    /// Revokes one of `user`'s sessions by id. Another user's session id answers
    /// `not_found`, exactly like an unknown one.
    ///
    /// # Errors
    /// `not_found`, `storage_unavailable`.
    pub async fn revoke_session(
        &self,
        user: &User,
        session_id: SessionId,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let backend = &self.inner.backend;
        match backend.find_session(session_id).await? {
            Some(session) if session.user_id == user.id => {
                let deleted = backend.delete_session(session_id).await?;
                if let Some(cache) = &self.inner.cache {
                    cache.remove_session(session_id);
                }
                if deleted {
                    self.audit(AuthEventKind::SessionRevoked, Some(user), client)
                        .await;
                }
                Ok(())
            }
            _ => Err(AuthError::NotFound),
        }
    }

    /// Revokes every session of the user except `current`. Returns how many.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn revoke_other_sessions(
        &self,
        user: &User,
        current: &Session,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        let removed = self
            .inner
            .backend
            .delete_other_sessions(user.id, current.id)
            .await?;
        if let Some(cache) = &self.inner.cache {
            cache.remove_user_except(user.id, current.id);
        }
        if removed > 0 {
            self.audit(AuthEventKind::SessionRevoked, Some(user), client)
                .await;
        }
        Ok(removed)
    }

    /// Revokes every session of the user, the current one included. Returns how many.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn revoke_all_sessions(
        &self,
        user_id: UserId,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        let removed = self.inner.backend.delete_user_sessions(user_id).await?;
        self.forget_user(user_id);
        if removed > 0 {
            let user = self.inner.backend.find_user_by_id(user_id).await?;
            self.audit(AuthEventKind::SessionRevoked, user.as_ref(), client)
                .await;
        }
        Ok(removed)
    }

    /// Deletes expired sessions and verification tokens in batches of
    /// [`purge_batch_size`](crate::AuthConfig::purge_batch_size). Run it periodically (for
    /// example hourly); expired rows are refused anyway, this only reclaims space.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn purge_expired(&self) -> Result<PurgeReport, AuthError> {
        let backend = &self.inner.backend;
        let batch = self.inner.config.purge_batch_size;
        let now = self.now();
        let mut report = PurgeReport::default();
        loop {
            let removed = backend.delete_expired_sessions(now, batch).await?;
            report.sessions += removed;
            if removed < batch {
                break;
            }
        }
        loop {
            let removed = backend.delete_expired_verifications(now, batch).await?;
            report.verifications += removed;
            if removed < batch {
                break;
            }
        }
        Ok(report)
    }
}
