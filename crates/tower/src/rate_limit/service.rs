//! [`RateLimit`]: the rate-limiting middleware itself.

use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use portcullis_core::AuthError;
use tower::Service;

use super::bucket::key_of;
use super::future::ResponseFuture;
use super::layer::RateLimitLayer;
use portcullis_http::error_response;

/// Limits requests to the configured credential routes per client address (see
/// [`RateLimitLayer`] and the [module docs](crate::rate_limit)). Response bodies must
/// implement `From<String>`.
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    pub(crate) inner: S,
    pub(crate) layer: RateLimitLayer,
}

impl<S> RateLimit<S> {
    /// Wraps `inner` with the defaults of [`RateLimitLayer::new`] (and its own table).
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            layer: RateLimitLayer::new(),
        }
    }

    /// The layer, to configure and apply with `tower::ServiceBuilder`.
    #[must_use]
    pub fn layer() -> RateLimitLayer {
        RateLimitLayer::new()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn check<B>(&self, request: &Request<B>) -> Result<(), AuthError> {
        let config = &self.layer.config;
        if !config.enabled {
            return Ok(());
        }
        let path = request.uri().path();
        let path = match path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        let limited = config.routes.iter().any(|(method, route)| {
            method == request.method() && route.trim_end_matches('/') == path
        });
        if !limited {
            return Ok(());
        }
        let Some(ip) = config
            .client_ip
            .client_ip(request.headers(), request.extensions())
        else {
            if !self.layer.warned_unknown_ip.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "rate limit: client address unknown, request not limited; insert a \
                     portcullis_tower::ClientAddr (or SocketAddr) into request extensions"
                );
            }
            return Ok(());
        };
        self.layer
            .buckets
            .take(key_of(ip), config.quota, Instant::now())
            .map_err(|retry_after| AuthError::RateLimited { retry_after })
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.check(&request) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(err) => ResponseFuture::refused(error_response(&err)),
        }
    }
}
