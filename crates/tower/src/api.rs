//! [`ApiService`]: the `/auth` HTTP API ([`AuthApi`]) as a tower service, for plain hyper
//! and any tower stack; [`api_service`] wraps it in the [`AuthLayer`](crate::AuthLayer) it
//! needs.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use portcullis_core::{AuthError, Backend, BoxError, ClientInfo, CredentialStrategy, Transport};
use portcullis_http::{
    ApiConfig, ApiRequest, AuthApi, AuthContext, AuthGate, client_info, error_response,
};
use portcullis_manager::AuthManager;
use tower::Service;

use crate::auth::AuthService;
use crate::auth::ResponseFuture;
use crate::body::read_limited;

/// The HTTP API as a tower service. It reads the [`AuthContext`] and [`ClientInfo`] that an
/// [`AuthLayer`](crate::AuthLayer) in front of it put into the request extensions (without that layer every
/// request is anonymous), buffers the body up to [`ApiConfig::max_body_bytes`], and answers
/// with [`AuthApi::handle`].
///
/// Paths are matched as they arrive: mount the service where the routes belong (axum's
/// `nest_service` strips the prefix), or call [`strip_prefix`](Self::strip_prefix) to serve
/// `config.prefix` from the root of a plain hyper server, as [`api_service`] does.
pub struct ApiService<B, S, T> {
    api: AuthApi<B, S, T>,
    strip_prefix: bool,
}

impl<B, S, T> ApiService<B, S, T> {
    /// Serves `api` with paths as they arrive.
    #[must_use]
    pub fn new(api: AuthApi<B, S, T>) -> Self {
        Self {
            api,
            strip_prefix: false,
        }
    }

    /// Serves only paths under the API's [`prefix`](ApiConfig::prefix), which it strips;
    /// others answer `404`.
    #[must_use]
    pub fn strip_prefix(mut self) -> Self {
        self.strip_prefix = true;
        self
    }
}

impl<B, S, T> Clone for ApiService<B, S, T> {
    fn clone(&self) -> Self {
        Self {
            api: self.api.clone(),
            strip_prefix: self.strip_prefix,
        }
    }
}

impl<B, S, T: fmt::Debug> fmt::Debug for ApiService<B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiService")
            .field("api", &self.api)
            .field("strip_prefix", &self.strip_prefix)
            .finish()
    }
}

/// The whole API for a plain tower / hyper server: [`ApiService`] behind an
/// [`AuthLayer`](crate::AuthLayer)
/// that shares its transport and client-address source, serving `config.prefix`.
///
/// ```
/// use portcullis_http::ApiConfig;
/// use portcullis_manager::AuthManager;
/// use portcullis_password::{MultiHasher, PasswordStrategy};
/// use portcullis_testkit::MemoryBackend;
/// use portcullis_transport::BearerTransport;
/// use portcullis_core::http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
///     .build()?;
/// let api = portcullis_tower::api_service(manager, BearerTransport::new(), ApiConfig::default());
/// let request = Request::get("/auth/me").body(http_body_util::Full::<bytes::Bytes>::default())?;
/// let response = api.oneshot(request).await?;
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// # Ok(())
/// # }
/// ```
pub fn api_service<B, S, T>(
    manager: AuthManager<B, S>,
    transport: T,
    config: ApiConfig,
) -> AuthService<ApiService<B, S, T>, B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    secured(manager, transport, config, true)
}

/// [`api_service`] for a router that strips the prefix itself (axum's `nest_service`): paths
/// arrive relative to the mount point.
pub fn nested_api_service<B, S, T>(
    manager: AuthManager<B, S>,
    transport: T,
    config: ApiConfig,
) -> AuthService<ApiService<B, S, T>, B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    secured(manager, transport, config, false)
}

fn secured<B, S, T>(
    manager: AuthManager<B, S>,
    transport: T,
    config: ApiConfig,
    strip_prefix: bool,
) -> AuthService<ApiService<B, S, T>, B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    let transport = Arc::new(transport);
    let gate = AuthGate::with_shared_transport(manager.clone(), Arc::clone(&transport))
        .client_ip(config.client_ip.clone());
    let api = ApiService {
        api: AuthApi::with_shared_transport(manager, transport, config),
        strip_prefix,
    };
    AuthService::from_gate(api, Arc::new(gate))
}

impl<B, S, T, ReqBody> Service<Request<ReqBody>> for ApiService<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
    ReqBody: http_body::Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = ResponseFuture<String, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let api = self.api.clone();
        let strip_prefix = self.strip_prefix;
        ResponseFuture::new(async move { Ok(serve(&api, strip_prefix, request).await) })
    }
}

async fn serve<B, S, T, ReqBody>(
    api: &AuthApi<B, S, T>,
    strip_prefix: bool,
    request: Request<ReqBody>,
) -> Response<String>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
    ReqBody: http_body::Body,
    ReqBody::Error: Into<BoxError>,
{
    let client = request
        .extensions()
        .get::<ClientInfo>()
        .cloned()
        .unwrap_or_else(|| client_info(&request, &api.config().client_ip));
    let (parts, body) = request.into_parts();
    let path = if strip_prefix {
        match parts.uri.path().strip_prefix(api.config().prefix.as_str()) {
            Some(path) if path.is_empty() || path.starts_with('/') => path,
            _ => return error_response(&AuthError::NotFound),
        }
    } else {
        parts.uri.path()
    };
    let body: Bytes = match read_limited(&parts.headers, body, api.config().max_body_bytes).await {
        Ok(body) => body,
        Err(err) => return error_response(&err),
    };
    let auth = parts.extensions.get::<AuthContext>();
    api.handle(ApiRequest::new(
        &parts.method,
        path,
        &parts.headers,
        &body,
        &client,
        auth,
    ))
    .await
}
