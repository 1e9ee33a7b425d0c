//! The response future of [`RequireAuth`](super::RequireAuth).

/// Response future of [`RequireAuth`](super::RequireAuth): the inner service's, or a ready refusal.
pub type ResponseFuture<F, B> = crate::future::RefusableFuture<F, B>;
