//! The facade's default wiring works end to end: register, log in, reach a protected route,
//! naming every type through `portcullis::…` only.

#![cfg(all(feature = "axum", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use http_body_util::BodyExt;
use portcullis::axum::{CurrentUser, RouterConfig, router};
use portcullis::manager::AuthManager;
use portcullis::password::{MultiHasher, PasswordStrategy};
use portcullis::sea_orm::SeaOrmBackend;
use portcullis::tower::AuthLayer;
use portcullis::transport::BearerTransport;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn whoami(CurrentUser(user): CurrentUser) -> Json<Value> {
    // Core types are at the facade's root.
    let user: portcullis::User = user;
    Json(json!({ "email": user.email }))
}

async fn app() -> Router {
    let backend = SeaOrmBackend::connect("sqlite::memory:").await.unwrap();
    backend.migrate().await.unwrap();
    let manager = AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new()))
        .build()
        .unwrap();
    let transport = BearerTransport::new();
    Router::new()
        .route("/whoami", get(whoami))
        .layer(AuthLayer::new(manager.clone(), transport))
        .merge(router(manager, transport, RouterConfig::default()))
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn register_login_and_reach_a_protected_route() {
    let app = app().await;
    let body =
        json!({"name": "Ada", "email": "ada@example.com", "password": "analytical engine 1843"});
    let register = Request::post("/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_eq!(call(&app, register).await.0, StatusCode::CREATED);

    let login = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"email": "ada@example.com", "password": "analytical engine 1843"}).to_string(),
        ))
        .unwrap();
    let (status, signed_in) = call(&app, login).await;
    assert_eq!(status, StatusCode::OK);
    let token = signed_in["session"]["token"].as_str().unwrap().to_owned();

    let anonymous = Request::get("/whoami").body(Body::empty()).unwrap();
    let (status, error) = call(&app, anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["code"], "not_authenticated");

    let signed_in = Request::get("/whoami")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, me) = call(&app, signed_in).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "ada@example.com");
}
