//! What the manager takes and returns.

use chrono::{DateTime, Utc};
use portcullis_core::{Password, Session, SessionId, Token, User};

/// A registration form.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Display name (1 to `max_name_length` characters, no control characters).
    pub name: String,
    /// Email address as typed; normalised before use.
    pub email: String,
    /// Password as typed; checked against the policy.
    pub password: Password,
    /// Optional username (3 to 32 of `a-z 0-9 _ . -`), an alternative login identifier.
    pub username: Option<String>,
}

impl Registration {
    /// A registration without username.
    pub fn new(
        name: impl Into<String>,
        email: impl Into<String>,
        password: impl Into<Password>,
    ) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
            password: password.into(),
            username: None,
        }
    }

    /// Adds a username.
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
}

/// A new session: what login, registration and password change hand back.
///
/// The token is the only copy there will ever be: give it to the client (response body or
/// cookie) and drop it. It prints as `[redacted]`.
#[derive(Debug, Clone)]
#[must_use]
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// The new session (its id is safe to show).
    pub session: Session,
    /// The session token for the client.
    pub token: Token,
}

/// The result of [`register`](crate::AuthManager::register).
#[derive(Debug, Clone)]
#[must_use]
pub enum Registered {
    /// The user was created and signed in.
    SignedIn(Box<SignedIn>),
    /// Paranoid registration: the answer is the same whether the email was new (a
    /// verification mail was sent) or taken (the owner was told by mail). No session.
    CheckEmail,
}

/// A request's session, validated.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The session, with its expiry as extended by this request.
    pub session: Session,
    /// The session's user.
    pub user: User,
    /// The sliding expiry moved and was written: a cookie transport should send the
    /// cookie again with the new lifetime.
    pub refreshed: bool,
}

/// One row of a user's session list. Never contains the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id (revoke by it).
    pub id: SessionId,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last request that refreshed the session.
    pub last_seen_at: DateTime<Utc>,
    /// Idle expiry.
    pub expires_at: DateTime<Utc>,
    /// Client address at login.
    pub ip_address: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// Fields a user may change on their profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New avatar URL; `Some(None)` removes it.
    pub image: Option<Option<String>>,
}

/// How many expired rows [`purge_expired`](crate::AuthManager::purge_expired) deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Sessions deleted.
    pub sessions: u64,
    /// Verification and reset tokens deleted.
    pub verifications: u64,
}
