//! The JSON error shape every Portcullis adapter answers with:
//! `{"detail": "<message>", "code": "<stable code>"}`.
//!
//! ```
//! use portcullis_core::AuthError;
//! use portcullis_http::{error_body, error_response};
//!
//! let response = error_response::<String>(&AuthError::NotAuthenticated);
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! assert_eq!(response.headers()["cache-control"], "no-store");
//! assert_eq!(
//!     error_body(&AuthError::NotAuthenticated),
//!     r#"{"detail":"not authenticated","code":"not_authenticated"}"#
//! );
//! ```

use http::{HeaderValue, Response, StatusCode, header};
use portcullis_core::AuthError;

/// The JSON body for `err`: `{"detail": "<Display>", "code": "<code()>"}`.
///
/// `AuthError`'s messages never contain secrets, and server-side failures (`5xx`) show only
/// their generic message ("storage unavailable", "internal error"): the cause stays in the
/// error's `source()` for logs.
#[must_use]
pub fn error_body(err: &AuthError) -> String {
    json_body(&err.to_string(), err.code())
}

/// A complete response for `err`: its [`status`](AuthError::status), the
/// [`error_body`], `Content-Type: application/json`, `Cache-Control: no-store`,
/// `Retry-After` (whole seconds, rounded up) when the error has one, and `Connection: close`
/// for `413` (the refused body was not read).
///
/// `B` is any body type that can be built from a `String` (`http_body_util::Full<Bytes>`,
/// axum's `Body`, `String`).
#[must_use]
pub fn error_response<B: From<String>>(err: &AuthError) -> Response<B> {
    let mut response = json_response(err.status(), &err.to_string(), err.code());
    if matches!(err, AuthError::PayloadTooLarge) {
        // The body was refused unread; what is left of it on the wire must not be taken for
        // the next request, and a client must not reuse the connection mid-upload.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(wait) = err.retry_after() {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    response
}

pub(crate) fn json_body(detail: &str, code: &str) -> String {
    // Built by hand to keep `detail` first; serde_json escapes the strings.
    let detail = serde_json::Value::from(detail);
    let code = serde_json::Value::from(code);
    format!(r#"{{"detail":{detail},"code":{code}}}"#)
}

/// A JSON error response `{"detail", "code"}` with `status`, for refusals that are not an
/// [`AuthError`] (an unknown route, a wrong method).
pub fn json_response<B: From<String>>(status: StatusCode, detail: &str, code: &str) -> Response<B> {
    let mut response = Response::new(B::from(json_body(detail, code)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_limits_carry_retry_after_in_whole_seconds() {
        let response = error_response::<String>(&AuthError::RateLimited {
            retry_after: Duration::from_millis(1500),
        });
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["code"], "rate_limited");
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let err = AuthError::StorageUnavailable("postgres://user:hunter2@db refused".into());
        let body = error_body(&err);
        assert!(!body.contains("hunter2"));
        assert_eq!(
            body,
            r#"{"detail":"storage unavailable","code":"storage_unavailable"}"#
        );
        assert_eq!(error_response::<String>(&err).status(), 503);
    }

    #[test]
    fn too_large_closes_the_connection_and_nothing_else_does() {
        let response = error_response::<String>(&AuthError::PayloadTooLarge);
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers()[header::CONNECTION], "close");
        let response = error_response::<String>(&AuthError::NotAuthenticated);
        assert!(response.headers().get(header::CONNECTION).is_none());
    }
}
