//! [`AuthManager`] and its builder; shared helpers of the flows in sibling modules.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use portcullis_core::{
    AuthError, AuthEvent, AuthEventKind, Backend, ClientInfo, Clock, CredentialStrategy, Email,
    EmailKind, Mailer, SecretString, Session, SessionId, SystemClock, Token, User, to_time_delta,
};
use tokio::sync::Notify;

use crate::cache::SessionCache;
use crate::config::AuthConfig;
use crate::hooks::{Hooks, NoHooks};
use crate::lockout::LocalFailures;
use crate::mailer::LogMailer;

/// Longest user agent kept on a session or event, in bytes; longer ones are cut (at a
/// character boundary) so that hostile headers cannot bloat rows.
const MAX_USER_AGENT_LEN: usize = 512;
/// Longest client address kept (an IPv6 address with zone fits easily).
const MAX_IP_LEN: usize = 64;

/// Orchestrates every auth flow over a storage [`Backend`] and a password
/// [`CredentialStrategy`].
///
/// Cheap to clone (an `Arc` inside); share one per application. Generic over core's traits
/// only: it never names a database or a hashing algorithm.
///
/// ```
/// use portcullis_core::{ClientInfo, PasswordCredentials};
/// use portcullis_manager::{AuthManager, Registered, Registration};
/// use portcullis_password::{MultiHasher, PasswordStrategy};
/// use portcullis_testkit::MemoryBackend;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), portcullis_core::AuthError> {
/// let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
///     .build()?;
/// let client = ClientInfo::default();
///
/// let Registered::SignedIn(signed_in) = manager
///     .register(Registration::new("Ada", "ada@example.com", "analytical engine"), &client)
///     .await?
/// else {
///     unreachable!("paranoid registration is off by default")
/// };
/// // Every request: validate the token the client sends back.
/// let auth = manager.authenticate_token(&signed_in.token).await?;
/// assert_eq!(auth.user.email, "ada@example.com");
///
/// let again = manager
///     .login(&PasswordCredentials::new("ADA@example.com", "analytical engine"), &client)
///     .await?;
/// assert_ne!(again.session.id, signed_in.session.id); // a new session every login
/// # Ok(())
/// # }
/// ```
pub struct AuthManager<B, S> {
    pub(crate) inner: Arc<Inner<B, S>>,
}

pub(crate) struct Inner<B, S> {
    pub(crate) backend: B,
    pub(crate) strategy: S,
    pub(crate) config: AuthConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) hooks: Arc<dyn Hooks>,
    pub(crate) unknown_failures: LocalFailures,
    pub(crate) background: Background,
    pub(crate) cache: Option<SessionCache>,
}

impl<B, S> Clone for AuthManager<B, S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<B, S> fmt::Debug for AuthManager<B, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthManager")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthManager`]. Everything but the backend and the strategy has a default.
#[must_use]
pub struct AuthManagerBuilder<B, S> {
    backend: B,
    strategy: S,
    config: AuthConfig,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    hooks: Arc<dyn Hooks>,
}

impl<B, S> fmt::Debug for AuthManagerBuilder<B, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthManagerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<B: Backend, S: CredentialStrategy<B>> AuthManager<B, S> {
    /// Starts a builder with the default [`AuthConfig`], the system clock, [`LogMailer`]
    /// and no hooks.
    pub fn builder(backend: B, strategy: S) -> AuthManagerBuilder<B, S> {
        AuthManagerBuilder {
            backend,
            strategy,
            config: AuthConfig::default(),
            clock: Arc::new(SystemClock),
            mailer: Arc::new(LogMailer::new()),
            hooks: Arc::new(NoHooks),
        }
    }

    /// The configuration in effect.
    #[must_use]
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The storage backend.
    #[must_use]
    pub fn backend(&self) -> &B {
        &self.inner.backend
    }

    /// The credential strategy.
    #[must_use]
    pub fn strategy(&self) -> &S {
        &self.inner.strategy
    }

    /// Waits until background work (password-reset and notice mails) has finished. Useful
    /// in tests and at shutdown.
    pub async fn wait_for_background_tasks(&self) {
        self.inner.background.idle().await;
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Evicts every cached session of `user_id` (their sessions or the user changed). Call it
    /// after the storage write, never before (see `cache.rs`).
    pub(crate) fn forget_user(&self, user_id: portcullis_core::UserId) {
        if let Some(cache) = &self.inner.cache {
            cache.remove_user(user_id);
        }
    }

    /// Creates a brand-new session for `user` (never reuses a token: no fixation).
    pub(crate) async fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<(Session, Token), AuthError> {
        let config = &self.inner.config;
        let now = self.now();
        let token = Token::generate()?;
        let absolute_expires_at = now + to_time_delta(config.session_absolute_lifetime);
        let session = Session {
            id: SessionId::new(),
            token_hash: token.hash(),
            user_id: user.id,
            expires_at: (now + to_time_delta(config.session_idle_lifetime))
                .min(absolute_expires_at),
            absolute_expires_at,
            ip_address: client.ip_address.as_deref().map(|ip| clip(ip, MAX_IP_LEN)),
            user_agent: client
                .user_agent
                .as_deref()
                .map(|ua| clip(ua, MAX_USER_AGENT_LEN)),
            created_at: now,
            last_seen_at: now,
        };
        self.inner.backend.create_session(&session).await?;
        Ok((session, token))
    }

    /// Appends an audit event. A failure is logged, not returned: the action it records
    /// has already happened, and failing the request now would only hide that.
    pub(crate) async fn audit(
        &self,
        kind: AuthEventKind,
        user: Option<&User>,
        client: &ClientInfo,
    ) {
        let client = ClientInfo {
            ip_address: client.ip_address.as_deref().map(|ip| clip(ip, MAX_IP_LEN)),
            user_agent: client
                .user_agent
                .as_deref()
                .map(|ua| clip(ua, MAX_USER_AGENT_LEN)),
        };
        let event = AuthEvent::new(kind, user.map(|u| u.id), &client, self.now());
        if let Err(error) = self.inner.backend.append_event(&event).await {
            tracing::warn!(kind = %kind, error = %error, "audit event not stored");
        }
    }

    /// Builds `{public_url}{path}?token=...` from configuration, never from request headers.
    pub(crate) fn link(&self, path: &str, token: &Token) -> SecretString {
        let base = self.inner.config.public_url.trim_end_matches('/');
        SecretString::new(format!("{base}{path}?token={}", token.expose()))
    }

    /// Sends an email, logging (never returning) a failure: callers must not learn from a
    /// mail error whether an address exists.
    pub(crate) async fn send_mail(&self, email: Email) {
        let kind = email.kind;
        if let Err(error) = self.inner.mailer.send(email).await {
            tracing::warn!(kind = ?kind, error = %error, "email not sent");
        }
    }

    /// Runs `work` in the background (off the caller's path), or inline when there is no
    /// Tokio runtime to spawn on.
    pub(crate) async fn in_background<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let guard = self.inner.background.start();
                handle.spawn(async move {
                    work.await;
                    drop(guard);
                });
            }
            Err(_) => work.await,
        }
    }

    pub(crate) fn email(to: &str, kind: EmailKind, subject: &str, body: String) -> Email {
        Email {
            to: to.to_owned(),
            kind,
            subject: subject.to_owned(),
            body,
            link: None,
        }
    }
}

impl<B: Backend, S: CredentialStrategy<B>> AuthManagerBuilder<B, S> {
    /// Replaces the configuration.
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.config = config;
        self
    }

    /// Uses `clock` for every timestamp and expiry check (a `TestClock` in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sends verification, reset and notice emails through `mailer`.
    pub fn mailer(mut self, mailer: impl Mailer) -> Self {
        self.mailer = Arc::new(mailer);
        self
    }

    /// Runs `hooks` after auth events.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// Checks the configuration and builds the manager.
    ///
    /// # Errors
    /// [`AuthError::InvalidInput`] (field `config`) when a setting is unusable: a zero
    /// lifetime, an absolute lifetime shorter than the idle one, a `public_url` that is not
    /// `http(s)://`, a default role outside the hierarchy, a zero failure threshold.
    pub fn build(self) -> Result<AuthManager<B, S>, AuthError> {
        validate(&self.config)?;
        let cache = self.config.session_cache.map(SessionCache::new);
        Ok(AuthManager {
            inner: Arc::new(Inner {
                backend: self.backend,
                strategy: self.strategy,
                config: self.config,
                clock: self.clock,
                mailer: self.mailer,
                hooks: self.hooks,
                unknown_failures: LocalFailures::default(),
                background: Background::default(),
                cache,
            }),
        })
    }
}

fn validate(config: &AuthConfig) -> Result<(), AuthError> {
    let invalid = |message: &str| AuthError::InvalidInput {
        field: "config",
        message: message.to_owned(),
    };
    // Far beyond any sensible setting, and far from chrono's limits: `now + lifetime` can
    // then never overflow (which would panic).
    const CENTURY: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
    let durations = [
        config.session_idle_lifetime,
        config.session_absolute_lifetime,
        config.touch_interval.unwrap_or_default(),
        config.lockout_window,
        config.max_lockout,
        config.verification_lifetime,
        config.reset_lifetime,
        config
            .session_cache
            .map(|cache| cache.ttl)
            .unwrap_or_default(),
    ];
    if durations.iter().any(|duration| *duration > CENTURY) {
        return Err(invalid("durations must be at most 100 years"));
    }
    if config.session_idle_lifetime.is_zero() || config.session_absolute_lifetime.is_zero() {
        return Err(invalid("session lifetimes must be positive"));
    }
    if config.session_absolute_lifetime < config.session_idle_lifetime {
        return Err(invalid(
            "session_absolute_lifetime must be at least session_idle_lifetime",
        ));
    }
    if config.max_failed_logins == 0 || config.lockout_window.is_zero() {
        return Err(invalid(
            "max_failed_logins and lockout_window must be positive",
        ));
    }
    if config.reset_lifetime.is_zero() || config.verification_lifetime.is_zero() {
        return Err(invalid("token lifetimes must be positive"));
    }
    let url = config.public_url.as_str();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(['?', '#']) {
        return Err(invalid(
            "public_url must be an http(s) base URL without query or fragment",
        ));
    }
    for path in [&config.verify_email_path, &config.reset_password_path] {
        if !path.starts_with('/') || path.contains(['?', '#']) {
            return Err(invalid("link paths must start with '/' and have no query"));
        }
    }
    if !config.roles.contains(&config.default_role) {
        return Err(invalid("default_role must be one of roles"));
    }
    if config
        .session_cache
        .is_some_and(|cache| cache.ttl.is_zero() || cache.max_entries == 0)
    {
        return Err(invalid(
            "session_cache needs a positive ttl and max_entries",
        ));
    }
    if config.purge_batch_size == 0 {
        return Err(invalid("purge_batch_size must be positive"));
    }
    Ok(())
}

/// Cuts `value` to at most `max` bytes at a character boundary.
pub(crate) fn clip(value: &str, max: usize) -> String {
    if value.len() <= max {
        return value.to_owned();
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

/// Counts background tasks so that callers can wait for them.
#[derive(Debug, Default)]
pub(crate) struct Background {
    running: Arc<AtomicUsize>,
    idle: Arc<Notify>,
}

/// Decrements the running count when dropped (also when the task panics).
pub(crate) struct BackgroundGuard {
    running: Arc<AtomicUsize>,
    idle: Arc<Notify>,
}

impl Drop for BackgroundGuard {
    fn drop(&mut self) {
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl Background {
    fn start(&self) -> BackgroundGuard {
        self.running.fetch_add(1, Ordering::AcqRel);
        BackgroundGuard {
            running: Arc::clone(&self.running),
            idle: Arc::clone(&self.idle),
        }
    }

    async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.running.load(Ordering::Acquire) == 0 {
                return;
            }
            // A `Notified` receives `notify_waiters` from the moment it is created, so a task
            // finishing between the check above and this await is not missed.
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn clip_respects_character_boundaries() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc");
        assert_eq!(clip("ééé", 3), "é");
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let bad = [
            AuthConfig {
                session_idle_lifetime: Duration::ZERO,
                ..AuthConfig::default()
            },
            AuthConfig {
                session_absolute_lifetime: Duration::from_secs(60),
                ..AuthConfig::default()
            },
            AuthConfig {
                public_url: "app.example.com".into(),
                ..AuthConfig::default()
            },
            AuthConfig {
                reset_password_path: "reset?x=1".into(),
                ..AuthConfig::default()
            },
            AuthConfig {
                default_role: "superuser".into(),
                ..AuthConfig::default()
            },
            AuthConfig {
                max_failed_logins: 0,
                ..AuthConfig::default()
            },
            AuthConfig {
                session_absolute_lifetime: Duration::MAX,
                ..AuthConfig::default()
            },
            AuthConfig {
                max_lockout: Duration::MAX,
                ..AuthConfig::default()
            },
        ];
        for config in bad {
            assert!(validate(&config).is_err(), "{config:?}");
        }
        assert!(validate(&AuthConfig::default()).is_ok());
    }
}
