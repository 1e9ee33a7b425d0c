//! JSON bodies of the HTTP API: what clients send and what they get back.

use chrono::{DateTime, SecondsFormat, Utc};
use portcullis_core::{AuthEvent, Session, User};
use portcullis_manager::SessionInfo;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// RFC 3339 with microseconds and an explicit `+00:00` offset (what Python's `isoformat`
/// produces, so clients written for aura-auth parse it unchanged).
fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, false))
}

/// A user as the API shows it. No password hash, no internal flags.
#[derive(Debug, Clone, Serialize)]
pub struct UserBody {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Normalised email address.
    pub email: String,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// Username, if the user has one.
    pub username: Option<String>,
    /// Avatar URL.
    pub image: Option<String>,
    /// Role name.
    pub role: String,
    /// Registration time.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Last profile change.
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserBody {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            name: user.name.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            username: user.username.clone(),
            image: user.image.clone(),
            role: user.role.clone(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A new session as register / login / password change return it.
#[derive(Debug, Clone, Serialize)]
pub struct NewSessionBody {
    /// Session id (safe to show, revoke by it).
    pub id: String,
    /// The bearer token; `null` when the router delivers tokens only in a cookie.
    pub token: Option<String>,
    /// Idle expiry.
    #[serde(serialize_with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// `{user, session}`.
#[derive(Debug, Clone, Serialize)]
pub struct SignedInBody {
    /// The user.
    pub user: UserBody,
    /// The new session.
    pub session: NewSessionBody,
}

impl SignedInBody {
    pub(crate) fn new(user: &User, session: &Session, token: Option<String>) -> Self {
        Self {
            user: user.into(),
            session: NewSessionBody {
                id: session.id.to_string(),
                token,
                expires_at: session.expires_at,
            },
        }
    }
}

/// One row of `GET /sessions`. Never a token.
#[derive(Debug, Clone, Serialize)]
pub struct SessionBody {
    /// Session id.
    pub id: String,
    /// Login time.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Last refresh.
    #[serde(serialize_with = "rfc3339")]
    pub last_seen_at: DateTime<Utc>,
    /// Idle expiry.
    #[serde(serialize_with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// Client address at login.
    pub ip_address: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

impl From<SessionInfo> for SessionBody {
    fn from(info: SessionInfo) -> Self {
        Self {
            id: info.id.to_string(),
            created_at: info.created_at,
            last_seen_at: info.last_seen_at,
            expires_at: info.expires_at,
            ip_address: info.ip_address,
            user_agent: info.user_agent,
            current: info.current,
        }
    }
}

/// One row of `GET /events`.
#[derive(Debug, Clone, Serialize)]
pub struct EventBody {
    /// Event id.
    pub id: String,
    /// What happened (`login_succeeded`, `password_reset`, ...).
    pub kind: &'static str,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<AuthEvent> for EventBody {
    fn from(event: AuthEvent) -> Self {
        Self {
            id: event.id.to_string(),
            kind: event.kind.as_str(),
            ip_address: event.ip_address,
            user_agent: event.user_agent,
            created_at: event.created_at,
        }
    }
}

/// `{"detail": "..."}` for successes without a resource.
#[derive(Debug, Clone, Serialize)]
pub struct DetailBody {
    /// Human-readable outcome.
    pub detail: &'static str,
}

/// `POST /register`.
#[derive(Debug, Deserialize)]
pub struct RegisterRequest {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Optional username.
    #[serde(default)]
    pub username: Option<String>,
}

/// `POST /login`: `email` may hold a username.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Email address or username.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `PATCH /me`: absent fields stay as they are; `"image": null` removes the image.
#[derive(Debug, Deserialize)]
pub struct UpdateMeRequest {
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// New avatar URL, or `null` to remove it.
    #[serde(default, deserialize_with = "present")]
    pub image: Option<Option<String>>,
}

/// Distinguishes `"field": null` (`Some(None)`) from an absent field (`None`, via `default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `POST /verify`.
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    /// The token from the emailed link.
    pub token: String,
}

/// `POST /password/forgot`.
#[derive(Debug, Deserialize)]
pub struct ForgotRequest {
    /// The address to send a reset link to (if it has an account).
    pub email: String,
}

/// `POST /password/reset`.
#[derive(Debug, Deserialize)]
pub struct ResetRequest {
    /// The token from the emailed link.
    pub token: String,
    /// The new password.
    pub password: String,
}

/// `POST /password/change`.
#[derive(Debug, Deserialize)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}

/// `POST /email/change`.
#[derive(Debug, Deserialize)]
pub struct ChangeEmailRequest {
    /// The new address (receives a confirmation link).
    pub new_email: String,
    /// The current password.
    pub password: String,
}
