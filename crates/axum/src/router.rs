//! The ready-made `/auth` HTTP API.

use axum::Router;
use portcullis_core::{Backend, CredentialStrategy, Transport};
use portcullis_manager::AuthManager;

/// Settings of [`router`]: the framework-neutral [`ApiConfig`](portcullis_http::ApiConfig)
/// (prefix, whether bodies carry the token, body limit, client addresses).
pub type RouterConfig = portcullis_http::ApiConfig;

/// Builds the HTTP API (routes in `docs/http-api.md`), mounted under `config.prefix`, with
/// [`AuthLayer`](portcullis_tower::AuthLayer) applied, a body limit, and
/// `Cache-Control: no-store` on every response.
///
/// The same `transport` reads tokens and writes cookies: [`BearerTransport`] for API clients,
/// [`CookieTransport`] for browsers, [`CookieOrBearer`] for both. The routes themselves are
/// [`portcullis_http::AuthApi`], which the tower and actix-web adapters serve too.
///
/// [`BearerTransport`]: portcullis_transport::BearerTransport
/// [`CookieTransport`]: portcullis_transport::CookieTransport
/// [`CookieOrBearer`]: portcullis_transport::CookieOrBearer
pub fn router<B, S, T>(manager: AuthManager<B, S>, transport: T, config: RouterConfig) -> Router
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    let prefix = config.prefix.clone();
    let service = portcullis_tower::nested_api_service(manager, transport, config);
    Router::new().nest_service(&prefix, service)
}
