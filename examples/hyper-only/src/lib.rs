//! Portcullis on plain hyper 1, no web framework: tower layers around `service_fn`s.
//!
//! - `/auth/*`: the whole HTTP API ([`portcullis_tower::api_service`], the same routes the
//!   axum and actix-web adapters serve);
//! - `/health`: public;
//! - `/protected`: behind [`RequireAuthLayer`], answers with the signed-in user.
//!
//! Tokens travel as `Authorization: Bearer`; swap in `CookieOrBearer` for browsers.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use portcullis_core::http::{HeaderValue, Request, Response, StatusCode, header};
use portcullis_core::{Backend, CredentialStrategy};
use portcullis_http::{ApiConfig, AuthContext};
use portcullis_manager::AuthManager;
use portcullis_tower::{AuthLayer, ClientAddr, RequestBody, RequireAuthLayer, api_service};
use portcullis_transport::BearerTransport;
use tokio::net::TcpListener;
use tower::util::BoxCloneService;
use tower::{ServiceBuilder, ServiceExt};

/// The request and response types of the app.
type Body = RequestBody<Incoming>;
/// A route's service, type-erased so the router can hold different stacks.
type Route = BoxCloneService<Request<Body>, Response<Full<Bytes>>, Infallible>;

/// The app: picks a route by path and hands the request to it.
pub fn app<B, S>(manager: AuthManager<B, S>) -> impl Fn(Request<Body>) -> RouteFuture + Clone
where
    B: Backend,
    S: CredentialStrategy<B>,
{
    let api = api_service(
        manager.clone(),
        BearerTransport::new(),
        ApiConfig::default(),
    );
    let api: Route = BoxCloneService::new(ServiceExt::<Request<Body>>::map_response(
        api,
        |response: Response<String>| response.map(Full::from),
    ));
    let pages: Route = BoxCloneService::new(
        ServiceBuilder::new()
            .layer(AuthLayer::new(manager, BearerTransport::new()))
            .layer(RequireAuthLayer::new().public_path("/health"))
            .service_fn(page),
    );
    move |request: Request<Body>| {
        let route = if request.uri().path().starts_with("/auth/") {
            api.clone()
        } else {
            pages.clone()
        };
        Box::pin(route.oneshot(request))
    }
}

/// What [`app`] returns for each request.
pub type RouteFuture = std::pin::Pin<
    Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static>,
>;

/// `/health` and `/protected` (RequireAuth already turned anonymous requests away from the
/// latter).
async fn page(request: Request<Body>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.uri().path() {
        "/health" => serde_json::json!({ "status": "ok" }),
        "/protected" => match request.extensions().get::<AuthContext>() {
            Some(auth) => serde_json::json!({ "hello": auth.user.name, "email": auth.user.email }),
            None => serde_json::json!({ "detail": "not authenticated" }),
        },
        _ => {
            let mut response =
                Response::new(Full::from(r#"{"detail":"not found","code":"not_found"}"#));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return Ok(response);
        }
    };
    let mut response = Response::new(Full::from(body.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Serves [`app`] on `listener` until the task is dropped: one hyper HTTP/1.1 connection
/// task per client, each request told its peer address (for sessions and audit events).
pub async fn serve<B, S>(listener: TcpListener, manager: AuthManager<B, S>)
where
    B: Backend,
    S: CredentialStrategy<B>,
{
    let app = app(manager);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, usually: wait a little instead of spinning.
                eprintln!("accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let app = app.clone();
        let service = tower::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(RequestBody::new);
            request.extensions_mut().insert(ClientAddr(peer));
            app(request)
        });
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(err) = connection.await {
                eprintln!("connection from {peer}: {err}");
            }
        });
    }
}

/// Where [`serve`] listens by default.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 3001);
