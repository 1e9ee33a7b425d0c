//! [`ApiError`]: an [`AuthError`] as an actix-web error response.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use portcullis_core::AuthError;

use crate::convert;

/// An [`AuthError`] that actix-web can return: JSON `{"detail": "...", "code": "..."}` with
/// the error's status, `Cache-Control: no-store`, and `Retry-After` for rate limits and overload (the
/// response of [`portcullis_http::error_response`]).
///
/// `AuthError` comes from `portcullis-core`, which knows no framework, so this wrapper
/// carries the [`ResponseError`] impl; `?` converts with [`From`].
///
/// ```
/// use actix_web::ResponseError;
/// use portcullis_actix::ApiError;
/// use portcullis_core::AuthError;
///
/// let response = ApiError::from(AuthError::EmailTaken).error_response();
/// assert_eq!(response.status(), 409);
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
/// ```
#[derive(Debug)]
pub struct ApiError(pub AuthError);

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self(error)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        convert::response(portcullis_http::error_response(&self.0))
    }
}
