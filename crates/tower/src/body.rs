//! [`RequestBody`]: a streaming request body that can also be rebuilt from buffered bytes.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use portcullis_core::BoxError;

pin_project! {
    /// A request body that is either the original stream or bytes the auth layer buffered.
    ///
    /// [`AuthLayer`](crate::AuthLayer) reads `application/x-www-form-urlencoded` bodies of
    /// cookie-authenticated unsafe requests to find their `csrf_token` field, then hands the
    /// inner service a body rebuilt from those bytes; so the request body type must implement
    /// `From<Bytes>`. axum's `Body` and `http_body_util::Full<Bytes>` do; hyper's `Incoming`
    /// does not, so plain hyper servers wrap it in this type first:
    ///
    /// ```
    /// use portcullis_tower::RequestBody;
    /// use tower::ServiceBuilder;
    /// # fn wrap<B>(request: portcullis_core::http::Request<B>) -> portcullis_core::http::Request<RequestBody<B>> {
    /// // In a hyper server: ServiceBuilder::new().map_request(|req: Request<Incoming>| req.map(RequestBody::new))
    /// request.map(RequestBody::new)
    /// # }
    /// ```
    ///
    /// Other bodies stream through untouched.
    pub struct RequestBody<B> {
        #[pin]
        inner: Either<B, Full<Bytes>>,
    }
}

impl<B> RequestBody<B> {
    /// Wraps a streaming body.
    pub fn new(body: B) -> Self {
        Self {
            inner: Either::Left(body),
        }
    }
}

impl<B> From<Bytes> for RequestBody<B> {
    fn from(bytes: Bytes) -> Self {
        Self {
            inner: Either::Right(Full::new(bytes)),
        }
    }
}

impl<B> Default for RequestBody<B> {
    fn default() -> Self {
        Self::from(Bytes::new())
    }
}

impl<B> fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Either::Left(_) => "streaming",
            Either::Right(_) => "buffered",
        };
        f.debug_struct("RequestBody").field("kind", &kind).finish()
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads a whole body of at most `limit` bytes: a declared `Content-Length` above it, or more
/// bytes than it, is [`AuthError::PayloadTooLarge`] (`413`) without reading further; a body
/// that cannot be read is [`AuthError::InvalidInput`].
pub(crate) async fn read_limited<B>(
    headers: &http::HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, portcullis_core::AuthError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    use portcullis_core::AuthError;

    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(AuthError::PayloadTooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(AuthError::PayloadTooLarge),
        Err(_) => Err(AuthError::InvalidInput {
            field: "body",
            message: "could not read the request body".to_owned(),
        }),
    }
}
