//! [`ApiJson`]: `axum::Json` whose rejections use the API's error shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use portcullis_core::AuthError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body. Malformed JSON, a missing field or a wrong type answer 422
/// `invalid_input` (naming the problem), a wrong content type 415, an oversized body 413:
/// always as `{"detail", "code"}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError(rejection_error(&rejection))),
        }
    }
}

fn rejection_error(rejection: &JsonRejection) -> AuthError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AuthError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AuthError::UnsupportedMediaType,
        _ => AuthError::InvalidInput {
            field: "body",
            message: match rejection {
                JsonRejection::JsonDataError(e) => data_error_message(&e.body_text()),
                JsonRejection::JsonSyntaxError(_) => "malformed JSON".to_owned(),
                _ => "unreadable request body".to_owned(),
            },
        },
    }
}

/// serde's messages quote the offending value ("invalid type: integer `12345`"), which may be
/// a password: keep only the field name of a missing field, never a value.
fn data_error_message(text: &str) -> String {
    if let Some(rest) = text.split("missing field `").nth(1)
        && let Some(field) = rest.split('`').next()
    {
        return format!("missing field `{field}`");
    }
    "a field has the wrong type or an invalid value".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_field_names_and_drop_values() {
        assert_eq!(
            data_error_message("Failed to deserialize: missing field `password` at line 1"),
            "missing field `password`"
        );
        let message = data_error_message("invalid type: integer `12345678`, expected a string");
        assert!(!message.contains("12345678"));
    }
}
