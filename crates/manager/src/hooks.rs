//! [`Hooks`]: application code that runs after auth events (welcome mails, analytics,
//! provisioning).

use async_trait::async_trait;
use portcullis_core::{ClientInfo, Session, SessionId, User, UserId};

/// Callbacks the manager runs after each event. Every method has a no-op default, so an
/// implementation overrides only what it needs.
///
/// Hooks run after the event is stored, on the caller's task; keep them quick (spawn slow
/// work). They receive no secrets: no passwords, no tokens.
///
/// ```
/// use portcullis_core::{User, async_trait};
/// use portcullis_manager::Hooks;
///
/// #[derive(Debug)]
/// struct Welcome;
///
/// #[async_trait]
/// impl Hooks for Welcome {
///     async fn after_register(&self, user: &User) {
///         println!("welcome, {}", user.name);
///     }
/// }
/// ```
#[async_trait]
pub trait Hooks: Send + Sync + std::fmt::Debug + 'static {
    /// A user registered (and, unless paranoid registration is on, got a session).
    async fn after_register(&self, _user: &User) {}

    /// A user logged in.
    async fn after_login(&self, _user: &User, _session: &Session, _client: &ClientInfo) {}

    /// A login failed. `user` is set when the identifier named an existing user.
    async fn after_failed_login(&self, _user: Option<&User>, _client: &ClientInfo) {}

    /// A password reset was requested for an existing user (runs in the background).
    async fn after_password_reset_requested(&self, _user: &User) {}

    /// A user verified their email address.
    async fn after_email_verified(&self, _user: &User) {}

    /// A session was ended by logout.
    async fn after_logout(&self, _user_id: UserId, _session_id: SessionId) {}
}

/// Hooks that do nothing (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
