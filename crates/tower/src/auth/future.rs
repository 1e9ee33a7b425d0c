//! The response future of [`AuthService`](super::AuthService).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Response future of [`AuthService`](super::AuthService).
///
/// Boxed: validating the token, possibly reading a form body, calling the inner service and
/// then adjusting the response is one `async` block.
pub struct ResponseFuture<ResBody, E> {
    inner: BoxFuture<Result<Response<ResBody>, E>>,
}

impl<ResBody, E> ResponseFuture<ResBody, E> {
    pub(crate) fn new(
        future: impl Future<Output = Result<Response<ResBody>, E>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl<ResBody, E> Future for ResponseFuture<ResBody, E> {
    type Output = Result<Response<ResBody>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<ResBody, E> fmt::Debug for ResponseFuture<ResBody, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
