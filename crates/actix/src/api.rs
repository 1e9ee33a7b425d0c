//! [`api_scope`]: the `/auth` HTTP API ([`AuthApi`]) as an actix-web [`Scope`].

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, Scope, web};
use portcullis_core::{AuthError, Backend, ClientInfo, CredentialStrategy, Transport};
use portcullis_http::{
    ApiConfig, ApiRequest, AuthApi, AuthContext, AuthGate, client_info_from, error_response,
};
use portcullis_manager::AuthManager;

use crate::middleware::AuthMiddleware;
use crate::{body, convert};

/// The HTTP API (routes in `docs/http-api.md`) as a scope mounted at `config.prefix`, with
/// its own [`AuthMiddleware`] (sharing `transport` and `config.client_ip`), the body limit
/// of `config.max_body_bytes` (`413 payload_too_large` beyond), and
/// `Cache-Control: no-store` on every response. Register it with `App::service`:
///
/// ```
/// use actix_web::App;
/// use portcullis_actix::{ApiConfig, api_scope};
/// use portcullis_manager::AuthManager;
/// use portcullis_password::{MultiHasher, PasswordStrategy};
/// use portcullis_testkit::MemoryBackend;
/// use portcullis_transport::BearerTransport;
///
/// let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new())).build()?;
/// let app = App::new().service(api_scope(manager, BearerTransport::new(), ApiConfig::default()));
/// # let _ = app;
/// # Ok::<(), portcullis_core::AuthError>(())
/// ```
///
/// The routes are [`AuthApi`]'s, the same as `portcullis-axum`'s `router()` and
/// `portcullis-tower`'s `api_service()`. Since the scope brings its own middleware it works
/// alone; under an app-wide [`AuthMiddleware`] (for your own routes) that one's decision
/// stands and the scope's steps aside, so configure CSRF there.
///
/// The same `transport` reads tokens and writes cookies: `BearerTransport` for API clients,
/// `CookieTransport` for browsers, `CookieOrBearer` for both.
pub fn api_scope<B, S, T>(
    manager: AuthManager<B, S>,
    transport: T,
    config: ApiConfig,
) -> Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    let api = AuthApi::new(manager.clone(), transport, config);
    let middleware = AuthMiddleware::from_gate(
        AuthGate::with_shared_transport(manager, Arc::clone(api.transport()))
            .client_ip(api.config().client_ip.clone()),
    );
    web::scope(&api.config().prefix.clone())
        .default_service(web::to(
            move |request: HttpRequest, payload: web::Payload| {
                let api = api.clone();
                async move { serve(&api, &request, payload).await }
            },
        ))
        .wrap(middleware)
}

async fn serve<B, S, T>(
    api: &AuthApi<B, S, T>,
    request: &HttpRequest,
    payload: web::Payload,
) -> HttpResponse
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    let config = api.config();
    let prefix = config.prefix.trim_end_matches('/');
    let path = match request.path().strip_prefix(prefix) {
        Some(path) if path.is_empty() || path.starts_with('/') => path,
        _ => return convert::response(error_response(&AuthError::NotFound)),
    };
    let headers = convert::headers(request.headers());
    let (client, auth) = {
        let extensions = request.extensions();
        (
            extensions.get::<ClientInfo>().cloned(),
            extensions.get::<AuthContext>().cloned(),
        )
    };
    let client = client.unwrap_or_else(|| {
        client_info_from(
            &headers,
            &convert::peer(request.peer_addr()),
            &config.client_ip,
        )
    });
    let body = match body::read_limited(
        request.headers(),
        payload.into_inner(),
        config.max_body_bytes,
    )
    .await
    {
        Ok(body) => body,
        Err(err) => return convert::response(error_response(&err)),
    };
    let method = convert::method(request.method());
    let response = api
        .handle(ApiRequest::new(
            &method,
            path,
            &headers,
            &body,
            &client,
            auth.as_ref(),
        ))
        .await;
    convert::response(response)
}
