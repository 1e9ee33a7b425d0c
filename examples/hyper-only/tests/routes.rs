//! The plain-hyper example over real TCP: the shared route table
//! (`portcullis_testkit::routes`, the same cases the axum and actix-web adapters run), and
//! the protected route.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::net::SocketAddr;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use portcullis_core::EmailKind;
use portcullis_core::http::{Request, Response, StatusCode, header};
use portcullis_manager::{AuthManager, MemoryMailer};
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_testkit::{MemoryBackend, RouteTarget, run_route_table};
use tokio::net::{TcpListener, TcpStream};

type Manager = AuthManager<MemoryBackend, PasswordStrategy<MultiHasher>>;

struct HyperServer {
    addr: SocketAddr,
    manager: Manager,
    mailer: MemoryMailer,
}

async fn start() -> HyperServer {
    let mailer = MemoryMailer::new();
    let manager = AuthManager::builder(
        MemoryBackend::new(),
        PasswordStrategy::new(MultiHasher::new()),
    )
    .mailer(mailer.clone())
    .build()
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(hyper_only::serve(listener, manager.clone()));
    HyperServer {
        addr,
        manager,
        mailer,
    }
}

#[async_trait]
impl RouteTarget for HyperServer {
    async fn send(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut request = request.map(|body| Full::new(Bytes::from(body)));
        request
            .headers_mut()
            .insert(header::HOST, self.addr.to_string().parse().unwrap());
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Response::from_parts(parts, body.to_vec())
    }

    async fn emailed_token(&self, to: &str, kind: EmailKind) -> Option<String> {
        self.manager.wait_for_background_tasks().await;
        self.mailer.last_token(to, kind)
    }
}

#[tokio::test]
async fn plain_hyper_passes_the_shared_route_table() {
    let server = start().await;
    let cases = run_route_table(&server)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(cases >= 50, "ran {cases} cases");
}

#[tokio::test]
async fn the_protected_route_needs_a_session() {
    let server = start().await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Vec::new()).unwrap()
    };
    let health = server.send(get("/health", None)).await;
    assert_eq!(health.status(), StatusCode::OK);
    let anonymous = server.send(get("/protected", None)).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = serde_json::from_slice(anonymous.body()).unwrap();
    assert_eq!(body["code"], "not_authenticated");

    let register = Request::post("/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(
            br#"{"name":"Ada","email":"ada@example.com","password":"analytical engine"}"#.to_vec(),
        )
        .unwrap();
    let registered = server.send(register).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let body: serde_json::Value = serde_json::from_slice(registered.body()).unwrap();
    let token = body["session"]["token"].as_str().unwrap();

    let signed_in = server.send(get("/protected", Some(token))).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(signed_in.body()).unwrap();
    assert_eq!(body["hello"], "Ada");
    // The session records the TCP peer as its client address.
    let sessions = server.send(get("/auth/sessions", Some(token))).await;
    let body: serde_json::Value = serde_json::from_slice(sessions.body()).unwrap();
    assert_eq!(body[0]["ip_address"], "127.0.0.1");
}
