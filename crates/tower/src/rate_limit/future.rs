//! The response future of [`RateLimit`](super::RateLimit).

/// Response future of [`RateLimit`](super::RateLimit): the inner service's, or a ready refusal.
pub type ResponseFuture<F, B> = crate::future::RefusableFuture<F, B>;
