//! [`ApiJson`]: a JSON body extractor whose rejections use the API's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use portcullis_core::AuthError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body. Malformed JSON, a missing field or a wrong type answer 422
/// `invalid_input` (naming the problem), a wrong content type 415, an oversized body 413:
/// always as `{"detail", "code"}`. The parsing is [`portcullis_http::parse_json`], the same
/// the `/auth` routes use; the size limit is axum's `DefaultBodyLimit`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            ApiError(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AuthError::PayloadTooLarge
            } else {
                AuthError::InvalidInput {
                    field: "body",
                    message: "unreadable request body".to_owned(),
                }
            })
        })?;
        Ok(Self(portcullis_http::parse_json(&headers, &bytes)?))
    }
}
