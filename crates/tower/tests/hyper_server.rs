//! Framework-neutral: AuthLayer + RequireAuthLayer on a plain hyper 1 server over real TCP,
//! no axum anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use portcullis_core::http::{Request, Response, StatusCode, header};
use portcullis_core::{ClientInfo, Token};
use portcullis_tower::{AuthContext, AuthLayer, ClientAddr, RequestBody, RequireAuthLayer};
use portcullis_transport::{CookieOrBearer, CookieTransport, CsrfGuard};
use support::{Manager, manager, sign_in};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceBuilder;

/// Starts the server; returns its address.
async fn serve(manager: Manager) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = ServiceBuilder::new()
        .layer(AuthLayer::new(
            manager,
            CookieOrBearer::new(CookieTransport::new()),
        ))
        .layer(RequireAuthLayer::new().public_path("/health"))
        .service_fn(|request: Request<RequestBody<Incoming>>| async move {
            let (parts, body) = request.into_parts();
            let who = parts
                .extensions
                .get::<AuthContext>()
                .map_or_else(|| "anonymous".to_owned(), |auth| auth.user.email.clone());
            let ip = parts
                .extensions
                .get::<ClientInfo>()
                .and_then(|info| info.ip_address.clone())
                .unwrap_or_default();
            let body = body.collect().await.unwrap().to_bytes();
            let text = format!("{who} {ip} {}", String::from_utf8_lossy(&body));
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(text)))
        });
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept().await.unwrap();
            // Per connection: tell the layers who the peer is, and make the body rebuildable.
            let service = ServiceBuilder::new()
                .map_request(move |request: Request<Incoming>| {
                    let mut request = request.map(RequestBody::new);
                    request.extensions_mut().insert(ClientAddr(peer));
                    request
                })
                .service(app.clone());
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)),
            );
        }
    });
    addr
}

/// One request over a fresh HTTP/1.1 connection.
async fn send(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn get(path: &str) -> portcullis_core::http::request::Builder {
    Request::get(path).header(header::HOST, "127.0.0.1")
}

#[tokio::test]
async fn a_protected_path_needs_a_valid_token_over_real_tcp() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let addr = serve(manager).await;

    let (status, headers, body) = send(addr, get("/private").body(Full::default()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains(&("content-type".to_owned(), "application/json".to_owned())));
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], "not_authenticated");

    let (status, _, body) = send(
        addr,
        get("/private")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", ada.token.expose()),
            )
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ada@example.com 127.0.0.1 ");

    let (status, _, _) = send(
        addr,
        get("/private")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", Token::generate().unwrap().expose()),
            )
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, body) = send(addr, get("/health").body(Full::default()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "anonymous 127.0.0.1 ");
}

#[tokio::test]
async fn a_cookie_form_post_with_its_csrf_field_streams_through_hyper() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let addr = serve(manager).await;
    let form = format!("csrf_token={}&note=hi", CsrfGuard::token_for(&ada.token));
    let post = |body: String| {
        Request::post("/notes")
            .header(header::HOST, "127.0.0.1")
            .header(
                header::COOKIE,
                format!("__Host-portcullis={}", ada.token.expose()),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::from(body))
            .unwrap()
    };
    let (status, _, body) = send(addr, post(form.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("ada@example.com 127.0.0.1 {form}"));

    let (status, _, body) = send(addr, post("note=forged".to_owned())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("csrf_failed"));
}
