//! [`ApiError`]: an [`AuthError`] as an axum response.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use portcullis_core::AuthError;

/// An [`AuthError`] that axum can return: JSON `{"detail": "...", "code": "..."}` with the
/// error's status, `Cache-Control: no-store`, and `Retry-After` for rate limits.
///
/// `AuthError` comes from `portcullis-core`, which knows no framework, so this wrapper carries
/// the `IntoResponse` impl; `?` converts with [`From`].
///
/// ```
/// use axum::response::IntoResponse;
/// use portcullis_axum::ApiError;
/// use portcullis_core::AuthError;
///
/// let response = ApiError::from(AuthError::EmailTaken).into_response();
/// assert_eq!(response.status(), 409);
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// ```
#[derive(Debug)]
pub struct ApiError(pub AuthError);

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        portcullis_tower::error_response::<Body>(&self.0)
    }
}
