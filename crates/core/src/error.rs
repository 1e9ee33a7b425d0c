//! Errors: [`AuthError`] for everything a caller of Portcullis sees, [`StoreError`] for storage.

use std::error::Error as StdError;
use std::time::Duration;

use http::StatusCode;

/// A boxed error cause, kept for logs and `source()` chains.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Which uniqueness rule a storage write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictKind {
    /// Another user has this (normalised) email address.
    Email,
    /// Another user has this username.
    Username,
    /// An account with this `(provider_id, account_id)` exists.
    Account,
    /// A record with this id or token hash exists (sessions and verifications are create-or-fail).
    Record,
}

/// What a storage backend reports when an operation fails.
///
/// "No such record" is not an error: lookups return `Ok(None)`. These variants are what a
/// backend must distinguish so the manager can answer with the right status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint was violated.
    #[error("conflict: {0:?} already exists")]
    Conflict(ConflictKind),
    /// The record to update does not exist.
    #[error("record not found")]
    NotFound,
    /// The database could not be reached (connection refused or dropped, pool timed out).
    /// Transient: the same request may succeed later.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else the backend failed at (a bug, a schema mismatch, corrupt data).
    #[error("storage error")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// A [`StoreError::Unavailable`] from any error.
    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Self::Unavailable(cause.into())
    }

    /// A [`StoreError::Backend`] from any error.
    pub fn backend(cause: impl Into<BoxError>) -> Self {
        Self::Backend(cause.into())
    }
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Every error Portcullis reports to its callers.
///
/// Each variant has a stable machine [`code`](AuthError::code) and an HTTP
/// [`status`](AuthError::status), so adapters map errors to responses without matching on text.
/// `Display` messages are safe to show to end users: they never contain secrets, and the
/// credential errors do not reveal whether an account exists.
///
/// ```
/// use portcullis_core::AuthError;
/// let err = AuthError::InvalidCredentials;
/// assert_eq!(err.code(), "invalid_credentials");
/// assert_eq!(err.status().as_u16(), 401);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Wrong email/username or password (deliberately the same for every reason).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The request carried no usable session token.
    #[error("not authenticated")]
    NotAuthenticated,
    /// The session token is unknown, revoked, or past its idle or absolute expiry.
    #[error("session expired or revoked")]
    SessionExpired,
    /// A verification or reset token is unknown, used, expired, or for another purpose.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The email address is already registered.
    #[error("email already registered")]
    EmailTaken,
    /// The username is already taken.
    #[error("username already taken")]
    UsernameTaken,
    /// The password does not meet the policy; the message says what to change.
    #[error("{0}")]
    WeakPassword(String),
    /// The email address is not syntactically valid.
    #[error("invalid email address")]
    InvalidEmail,
    /// A field failed validation; the message names the field and the rule.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The action needs a verified email address.
    #[error("email address not verified")]
    EmailNotVerified,
    /// Authenticated but not allowed (role too low, not the owner).
    #[error("forbidden")]
    Forbidden,
    /// A cookie-authenticated unsafe request failed the cross-site request forgery check.
    #[error("cross-site request refused")]
    CsrfFailed,
    /// The requested record does not exist (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// The request body is larger than the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request body is not in a format the endpoint accepts (e.g. not JSON).
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// Too many attempts; retry after the given delay.
    #[error("too many attempts, retry later")]
    RateLimited {
        /// How long the caller should wait.
        retry_after: Duration,
    },
    /// The server is shedding load (the password-hashing queue is full).
    #[error("server busy, retry later")]
    Overloaded,
    /// Storage could not be reached. The request was refused, never let through.
    #[error("storage unavailable")]
    StorageUnavailable(#[source] BoxError),
    /// The application is wired wrongly (for example an extractor used on a route without
    /// the auth layer). The message names the fix; it is a fixed developer message, never
    /// data from the request.
    #[error("server misconfigured: {0}")]
    Misconfigured(&'static str),
    /// An unexpected failure (a bug or misconfiguration). Details go to logs, not clients.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// What [`AuthError::retry_after`] answers for [`AuthError::Overloaded`].
const OVERLOADED_RETRY_AFTER: Duration = Duration::from_secs(1);

impl AuthError {
    /// An [`AuthError::Internal`] from any error or message.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    /// The stable machine-readable code, e.g. `"invalid_credentials"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::NotAuthenticated => "not_authenticated",
            Self::SessionExpired => "session_expired",
            Self::InvalidToken => "invalid_token",
            Self::EmailTaken => "email_taken",
            Self::UsernameTaken => "username_taken",
            Self::WeakPassword(_) => "weak_password",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidInput { .. } => "invalid_input",
            Self::EmailNotVerified => "email_not_verified",
            Self::Forbidden => "forbidden",
            Self::CsrfFailed => "csrf_failed",
            Self::NotFound => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::StorageUnavailable(_) => "storage_unavailable",
            Self::Misconfigured(_) => "misconfigured",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status an adapter should answer with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidCredentials | Self::NotAuthenticated | Self::SessionExpired => {
                StatusCode::UNAUTHORIZED
            }
            Self::InvalidToken | Self::WeakPassword(_) => StatusCode::BAD_REQUEST,
            Self::EmailTaken | Self::UsernameTaken => StatusCode::CONFLICT,
            Self::InvalidEmail | Self::InvalidInput { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::EmailNotVerified | Self::Forbidden | Self::CsrfFailed => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded | Self::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misconfigured(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// How long a client should wait before retrying (the `Retry-After` header): the lock
    /// or limit's remaining time for [`AuthError::RateLimited`]; one second for
    /// [`AuthError::Overloaded`], about the time the hashing queue takes to drain (a few
    /// dozen hashes of ~16 ms on each core), so well-behaved clients spread their retries
    /// instead of hammering a busy server.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Overloaded => Some(OVERLOADED_RETRY_AFTER),
            _ => None,
        }
    }
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(ConflictKind::Email) => Self::EmailTaken,
            StoreError::Conflict(ConflictKind::Username) => Self::UsernameTaken,
            StoreError::NotFound => Self::NotFound,
            StoreError::Unavailable(cause) => Self::StorageUnavailable(cause),
            other @ (StoreError::Conflict(_) | StoreError::Backend(_)) => {
                Self::Internal(Box::new(other))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<AuthError> {
        vec![
            AuthError::InvalidCredentials,
            AuthError::NotAuthenticated,
            AuthError::SessionExpired,
            AuthError::InvalidToken,
            AuthError::EmailTaken,
            AuthError::UsernameTaken,
            AuthError::WeakPassword("too short".into()),
            AuthError::InvalidEmail,
            AuthError::InvalidInput {
                field: "name",
                message: "too long".into(),
            },
            AuthError::EmailNotVerified,
            AuthError::Forbidden,
            AuthError::CsrfFailed,
            AuthError::NotFound,
            AuthError::PayloadTooLarge,
            AuthError::UnsupportedMediaType,
            AuthError::RateLimited {
                retry_after: Duration::from_secs(30),
            },
            AuthError::Overloaded,
            AuthError::StorageUnavailable("db down".into()),
            AuthError::Misconfigured("is AuthLayer installed?"),
            AuthError::internal("bug"),
        ]
    }

    #[test]
    fn codes_are_unique_snake_case_and_statuses_are_errors() {
        let errors = every_variant();
        let mut codes: Vec<_> = errors.iter().map(AuthError::code).collect();
        for e in &errors {
            assert!(
                e.code()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(e.status().is_client_error() || e.status().is_server_error());
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len(), "duplicate error codes");
    }

    #[test]
    fn store_errors_map_to_the_status_a_client_expects() {
        let taken: AuthError = StoreError::Conflict(ConflictKind::Email).into();
        assert_eq!(taken.status(), StatusCode::CONFLICT);
        let down: AuthError = StoreError::unavailable("connection refused").into();
        assert_eq!(down.code(), "storage_unavailable");
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        // The cause stays available to logs, but not in the client-facing message.
        assert_eq!(down.to_string(), "storage unavailable");
        assert!(std::error::Error::source(&down).is_some());
    }

    #[test]
    fn retry_after_is_reported_for_rate_limits_and_overload_only() {
        let limited = AuthError::RateLimited {
            retry_after: Duration::from_secs(90),
        };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(90)));
        assert_eq!(
            AuthError::Overloaded.retry_after(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(AuthError::InvalidCredentials.retry_after(), None);
        assert_eq!(
            AuthError::StorageUnavailable("down".into()).retry_after(),
            None
        );
    }
}
