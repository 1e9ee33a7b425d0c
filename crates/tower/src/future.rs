//! A response future that is either the inner service's or a ready refusal, shared by the
//! middlewares that may answer without calling the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

pin_project! {
    /// The inner service's response future, or a refusal that is ready at once (used by
    /// [`RequireAuth`](crate::RequireAuth) and [`RateLimit`](crate::RateLimit)).
    #[derive(Debug)]
    pub struct RefusableFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response<B>> },
    }
}

impl<F, B> RefusableFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn refused(response: Response<B>) -> Self {
        Self {
            kind: Kind::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for RefusableFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled after completion: a contract violation by the caller; stay pending
                // rather than panic.
                None => Poll::Pending,
            },
        }
    }
}
