//! The ready-made `/auth` router of `portcullis-axum`, unchanged, on `FileBackend`:
//! register, log in, `GET /auth/me`, and the same again after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use custom_backend::FileBackend;
use http_body_util::BodyExt;
use portcullis::axum::{RouterConfig, router};
use portcullis::manager::AuthManager;
use portcullis::password::{MultiHasher, PasswordStrategy};
use portcullis::transport::BearerTransport;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn api(path: &PathBuf) -> Router {
    let backend = FileBackend::open(path).await.unwrap();
    let manager = AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new()))
        .build()
        .unwrap();
    router(manager, BearerTransport::new(), RouterConfig::default())
}

/// Sends one request; `body` as JSON when given, `token` as a bearer token when given.
async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    let response = app.clone().oneshot(request.unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn register_login_me_and_again_after_a_restart() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("custom-backend-http");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let ada =
        json!({"name": "Ada", "email": "ada@example.com", "password": "analytical engine 1843"});
    let credentials = json!({"email": "ada@example.com", "password": "analytical engine 1843"});

    let app = api(&path).await;
    let (status, registered) = send(&app, "POST", "/auth/register", Some(ada.clone()), None).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let (status, again) = send(&app, "POST", "/auth/register", Some(ada), None).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("email_taken"))
    );

    let (status, signed_in) =
        send(&app, "POST", "/auth/login", Some(credentials.clone()), None).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let token = signed_in["session"]["token"].as_str().unwrap().to_owned();
    let (status, me) = send(&app, "GET", "/auth/me", None, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ada@example.com");
    let (status, _) = send(&app, "GET", "/auth/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = json!({"email": "ada@example.com", "password": "not the password"});
    let (status, refused) = send(&app, "POST", "/auth/login", Some(wrong), None).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    drop(app); // the manager and its backend go with the router

    // A new process: the session token still works, and so does the password.
    let app = api(&path).await;
    let (status, me) = send(&app, "GET", "/auth/me", None, Some(&token)).await;
    assert_eq!((status, me["name"].as_str()), (StatusCode::OK, Some("Ada")));
    let (status, _) = send(&app, "POST", "/auth/login", Some(credentials), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, sessions) = send(&app, "GET", "/auth/sessions", None, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    assert_eq!(sessions.as_array().map(Vec::len), Some(3), "{sessions}");
}
