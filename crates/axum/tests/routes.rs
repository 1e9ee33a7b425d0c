//! The shared route table (`portcullis_testkit::routes`) against `router()`: the same cases
//! the tower / hyper and actix-web adapters run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use portcullis_axum::{RouterConfig, router};
use portcullis_core::EmailKind;
use portcullis_manager::{AuthManager, MemoryMailer};
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_testkit::{MemoryBackend, RouteTarget, run_route_table};
use portcullis_transport::BearerTransport;
use tower::ServiceExt;

type Manager = AuthManager<MemoryBackend, PasswordStrategy<MultiHasher>>;

struct AxumApp {
    app: Router,
    manager: Manager,
    mailer: MemoryMailer,
}

#[async_trait]
impl RouteTarget for AxumApp {
    async fn send(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let response = self
            .app
            .clone()
            .oneshot(request.map(Body::from))
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        Response::from_parts(parts, body.to_vec())
    }

    async fn emailed_token(&self, to: &str, kind: EmailKind) -> Option<String> {
        self.manager.wait_for_background_tasks().await;
        self.mailer.last_token(to, kind)
    }
}

#[tokio::test]
async fn the_axum_router_passes_the_shared_route_table() {
    let mailer = MemoryMailer::new();
    let manager = AuthManager::builder(
        MemoryBackend::new(),
        PasswordStrategy::new(MultiHasher::new()),
    )
    .mailer(mailer.clone())
    .build()
    .unwrap();
    let app = router(
        manager.clone(),
        BearerTransport::new(),
        RouterConfig::default(),
    );
    let target = AxumApp {
        app,
        manager,
        mailer,
    };
    let cases = run_route_table(&target)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(cases >= 50, "ran {cases} cases");
}
