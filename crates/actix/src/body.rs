//! Reading a request payload into memory, within a limit, answering in Portcullis' terms
//! (actix-web's own limits answer in plain text).

use actix_web::body::{self, BodyLimitExceeded, BodyStream};
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::Bytes;
use portcullis_core::AuthError;

/// The whole payload, at most `limit` bytes: more (declared in `Content-Length` or sent) is
/// [`AuthError::PayloadTooLarge`] (`413`), without reading on; a broken stream is
/// [`AuthError::InvalidInput`].
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    payload: Payload,
    limit: usize,
) -> Result<Bytes, AuthError> {
    let too_long = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64);
    if too_long {
        return Err(AuthError::PayloadTooLarge);
    }
    match body::to_bytes_limited(BodyStream::new(payload), limit).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(AuthError::InvalidInput {
            field: "body",
            message: "could not read the request body".to_owned(),
        }),
        Err(BodyLimitExceeded { .. }) => Err(AuthError::PayloadTooLarge),
    }
}
