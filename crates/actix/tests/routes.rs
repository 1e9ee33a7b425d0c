//! The shared route table (`portcullis_testkit::routes`) against `api_scope()`, served by a
//! real actix-web `HttpServer` on a loopback port and driven over TCP by a plain hyper
//! client: the same cases the tower / hyper and axum adapters run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::net::SocketAddr;

use actix_web::{App, HttpServer};
use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use portcullis_actix::{ApiConfig, api_scope};
use portcullis_core::EmailKind;
use portcullis_core::http::{HeaderValue, Request, Response, header};
use portcullis_manager::{AuthManager, MemoryMailer};
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_testkit::{MemoryBackend, RouteTarget, run_route_table};
use portcullis_transport::BearerTransport;

type Manager = AuthManager<MemoryBackend, PasswordStrategy<MultiHasher>>;

struct ActixServer {
    addr: SocketAddr,
    manager: Manager,
    mailer: MemoryMailer,
}

#[async_trait]
impl RouteTarget for ActixServer {
    async fn send(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let (mut parts, body) = request.into_parts();
        parts
            .headers
            .insert(header::HOST, HeaderValue::from_static("127.0.0.1"));
        let request = Request::from_parts(parts, Full::new(hyper::body::Bytes::from(body)));
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes().to_vec();
        Response::from_parts(parts, body)
    }

    async fn emailed_token(&self, to: &str, kind: EmailKind) -> Option<String> {
        self.manager.wait_for_background_tasks().await;
        self.mailer.last_token(to, kind)
    }
}

#[actix_web::test]
async fn the_actix_scope_passes_the_shared_route_table() {
    let mailer = MemoryMailer::new();
    let manager = AuthManager::builder(
        MemoryBackend::new(),
        PasswordStrategy::new(MultiHasher::new()),
    )
    .mailer(mailer.clone())
    .build()
    .unwrap();
    let app_manager = manager.clone();
    let server = HttpServer::new(move || {
        App::new().service(api_scope(
            app_manager.clone(),
            BearerTransport::new(),
            ApiConfig::default(),
        ))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let target = ActixServer {
        addr,
        manager,
        mailer,
    };
    let result = run_route_table(&target).await;
    handle.stop(true).await;
    let cases = result.unwrap_or_else(|err| panic!("{err}"));
    assert!(cases >= 50, "ran {cases} cases");
}
