//! Domain types: what the stores persist and the manager hands out.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, EventId, SessionId, UserId, VerificationId};
use crate::secret::{PasswordHash, SecretString};
use crate::token::TokenHash;

/// `provider_id` of the account that holds a user's password.
pub const CREDENTIAL_PROVIDER: &str = "credential";

/// The role a new user gets unless the application says otherwise.
pub const DEFAULT_ROLE: &str = "user";

/// A person who can sign in. Holds no password: that lives on the credential [`Account`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Normalised email address (see [`crate::email::normalize_email`]); unique.
    pub email: String,
    /// Whether the user proved they receive mail at `email`.
    pub email_verified: bool,
    /// Optional normalised username (see [`crate::email::normalize_username`]); unique when set.
    pub username: Option<String>,
    /// Optional avatar URL.
    pub image: Option<String>,
    /// Role name, ranked by the manager's role hierarchy.
    pub role: String,
    /// A disabled user cannot sign in and their sessions stop working.
    pub disabled: bool,
    /// When the user registered.
    pub created_at: DateTime<Utc>,
    /// Last change to any field above.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A new, unverified, enabled user with the default role.
    ///
    /// `email` must already be normalised; the manager does that when it validates input.
    pub fn new(name: impl Into<String>, email: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            id: UserId::new(),
            name: name.into(),
            email: email.into(),
            email_verified: false,
            username: None,
            image: None,
            role: DEFAULT_ROLE.to_owned(),
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }
}

/// One way a user signs in: the password (`provider_id = "credential"`) or an OAuth provider.
///
/// Contains secrets (password hash, OAuth tokens), so it has no `PartialEq`; its `Debug`
/// output redacts them.
#[derive(Debug, Clone)]
pub struct Account {
    /// Stable id.
    pub id: AccountId,
    /// Owner.
    pub user_id: UserId,
    /// `"credential"` for passwords, otherwise the OAuth provider (`"google"`, ...).
    pub provider_id: String,
    /// The user's id at the provider; for credentials, the user id itself.
    pub account_id: String,
    /// PHC or bcrypt hash; only for the credential account.
    pub password: Option<PasswordHash>,
    /// OAuth access token.
    pub access_token: Option<SecretString>,
    /// OAuth refresh token.
    pub refresh_token: Option<SecretString>,
    /// OIDC id token.
    pub id_token: Option<SecretString>,
    /// When the access token expires.
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token expires.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Granted OAuth scopes, space separated.
    pub scope: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed (password change, token refresh).
    pub updated_at: DateTime<Utc>,
}

impl Account {
    /// The credential (password) account of `user_id`.
    #[must_use]
    pub fn credential(user_id: UserId, password: PasswordHash, now: DateTime<Utc>) -> Self {
        Self {
            id: AccountId::new(),
            user_id,
            provider_id: CREDENTIAL_PROVIDER.to_owned(),
            account_id: user_id.to_string(),
            password: Some(password),
            access_token: None,
            refresh_token: None,
            id_token: None,
            access_token_expires_at: None,
            refresh_token_expires_at: None,
            scope: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Failed password attempts against one credential account within the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogins {
    /// Failures counted in the window, including the one just recorded.
    pub count: u32,
    /// When the first failure of the window happened; the window ends `window` later.
    pub window_started_at: DateTime<Utc>,
}

/// A server-side session. The client holds the token; this row holds only its hash.
#[derive(Debug, Clone)]
pub struct Session {
    /// Stable id: what APIs show and revoke by. Not a secret.
    pub id: SessionId,
    /// SHA-256 of the session token.
    pub token_hash: TokenHash,
    /// Owner.
    pub user_id: UserId,
    /// Idle expiry; slides forward on use but never past `absolute_expires_at`.
    pub expires_at: DateTime<Utc>,
    /// Hard cap, fixed at creation.
    pub absolute_expires_at: DateTime<Utc>,
    /// Client address at creation.
    pub ip_address: Option<String>,
    /// Client user agent at creation.
    pub user_agent: Option<String>,
    /// When the session was created (the login time).
    pub created_at: DateTime<Utc>,
    /// Last time the row was touched by a request.
    pub last_seen_at: DateTime<Utc>,
}

impl Session {
    /// Whether the session is no longer valid at `now` (idle or absolute expiry reached).
    #[must_use]
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at || now >= self.absolute_expires_at
    }
}

/// A single-use token for a purpose (email verification, password reset), stored hashed.
#[derive(Debug, Clone)]
pub struct Verification {
    /// Stable id.
    pub id: VerificationId,
    /// `"<purpose>:<subject>"`, e.g. `"password-reset:<user id>"`. See [`Verification::identifier`].
    pub identifier: String,
    /// SHA-256 of the token sent to the user.
    pub value_hash: TokenHash,
    /// From this instant on the token is refused.
    pub expires_at: DateTime<Utc>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl Verification {
    /// Builds the identifier for `purpose` and `subject`: `"{purpose}:{subject}"`.
    ///
    /// `purpose` must not contain `':'`; it is how a token is bound to one use.
    #[must_use]
    pub fn identifier(purpose: &str, subject: &str) -> String {
        format!("{purpose}:{subject}")
    }

    /// Whether this record was made for `purpose`.
    #[must_use]
    pub fn has_purpose(&self, purpose: &str) -> bool {
        self.identifier
            .strip_prefix(purpose)
            .is_some_and(|rest| rest.starts_with(':'))
    }

    /// The part of the identifier after the purpose (usually a user id).
    #[must_use]
    pub fn subject(&self) -> &str {
        self.identifier
            .split_once(':')
            .map_or("", |(_, subject)| subject)
    }
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthEventKind {
    /// A user registered.
    Register,
    /// A login succeeded.
    LoginSucceeded,
    /// A login failed (wrong password, unknown user, disabled, locked).
    LoginFailed,
    /// An account was locked after too many failures.
    LockedOut,
    /// A user logged out.
    Logout,
    /// A session was revoked (by its owner or an administrator).
    SessionRevoked,
    /// A password was changed by its owner.
    PasswordChanged,
    /// A password reset was requested.
    PasswordResetRequested,
    /// A password was reset with a token.
    PasswordReset,
    /// An email verification was requested.
    EmailVerificationRequested,
    /// An email address was verified.
    EmailVerified,
    /// An email address was changed.
    EmailChanged,
    /// A role was changed.
    RoleChanged,
    /// A user was disabled.
    UserDisabled,
    /// A user was enabled again.
    UserEnabled,
    /// A user was deleted.
    UserDeleted,
}

impl AuthEventKind {
    /// Every kind, for tests and schema checks.
    pub const ALL: [Self; 16] = [
        Self::Register,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LockedOut,
        Self::Logout,
        Self::SessionRevoked,
        Self::PasswordChanged,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::EmailVerificationRequested,
        Self::EmailVerified,
        Self::EmailChanged,
        Self::RoleChanged,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::UserDeleted,
    ];

    /// The stable storage name, e.g. `"login_failed"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LockedOut => "locked_out",
            Self::Logout => "logout",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailVerificationRequested => "email_verification_requested",
            Self::EmailVerified => "email_verified",
            Self::EmailChanged => "email_changed",
            Self::RoleChanged => "role_changed",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::UserDeleted => "user_deleted",
        }
    }
}

impl fmt::Display for AuthEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name was not one of [`AuthEventKind::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown auth event kind {0:?}")]
pub struct UnknownEventKind(pub String);

impl FromStr for AuthEventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

/// Where a request came from; recorded on sessions and audit events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client IP address as the adapter determined it.
    pub ip_address: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

/// One audit-log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent {
    /// Stable id.
    pub id: EventId,
    /// The user concerned, when known (a failed login for an unknown email has none).
    pub user_id: Option<UserId>,
    /// What happened.
    pub kind: AuthEventKind,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl AuthEvent {
    /// A new event for `user_id` with the request's client info.
    #[must_use]
    pub fn new(
        kind: AuthEventKind,
        user_id: Option<UserId>,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: EventId::new(),
            user_id,
            kind,
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
            created_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_through_their_names() {
        for kind in AuthEventKind::ALL {
            assert_eq!(kind.as_str().parse::<AuthEventKind>().unwrap(), kind);
        }
        assert!("no_such_kind".parse::<AuthEventKind>().is_err());
    }

    #[test]
    fn verification_purpose_is_matched_exactly() {
        let v = Verification {
            id: VerificationId::new(),
            identifier: Verification::identifier("password-reset", "u1"),
            value_hash: TokenHash::of(b"x"),
            expires_at: Utc::now(),
            created_at: Utc::now(),
        };
        assert!(v.has_purpose("password-reset"));
        assert!(!v.has_purpose("password"));
        assert!(!v.has_purpose("email-verify"));
        assert_eq!(v.subject(), "u1");
    }

    #[test]
    fn account_debug_redacts_the_password_hash() {
        let account = Account::credential(
            UserId::new(),
            PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
            Utc::now(),
        );
        let debug = format!("{account:?}");
        assert!(!debug.contains("argon2id"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn session_expires_at_idle_or_absolute_limit() {
        let now = Utc::now();
        let mut s = Session {
            id: SessionId::new(),
            token_hash: TokenHash::of(b"t"),
            user_id: UserId::new(),
            expires_at: now + chrono::TimeDelta::hours(1),
            absolute_expires_at: now + chrono::TimeDelta::hours(2),
            ip_address: None,
            user_agent: None,
            created_at: now,
            last_seen_at: now,
        };
        assert!(!s.is_expired(now));
        assert!(s.is_expired(now + chrono::TimeDelta::hours(1)));
        s.expires_at = now + chrono::TimeDelta::hours(3);
        assert!(s.is_expired(now + chrono::TimeDelta::hours(2)));
    }
}
