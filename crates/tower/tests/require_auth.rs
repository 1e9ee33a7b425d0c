//! RequireAuth: 401 JSON for APIs, 303 to login for browsers, HX-Redirect for HTMX.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use bytes::Bytes;
use http_body_util::Full;
use portcullis_core::http::{Request, StatusCode, header};
use portcullis_tower::{AuthLayer, RequireAuth, RequireAuthLayer};
use portcullis_transport::BearerTransport;
use support::{Body, Echo, body_json, manager, sign_in};
use tower::{Layer, ServiceBuilder, ServiceExt};

fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::<Bytes>::default()).unwrap()
}

#[tokio::test]
async fn api_clients_get_401_json() {
    let echo = Echo::default();
    let service = RequireAuthLayer::new().layer(echo.service());
    let response = service
        .oneshot(get("/api/things", &[("accept", "application/json")]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body = body_json(response).await;
    assert_eq!(body["code"], "not_authenticated");
    assert_eq!(body["detail"], "not authenticated");
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn browsers_are_sent_to_login_with_a_safe_next() {
    let service = RequireAuthLayer::new()
        .login_path("/signin")
        .layer(Echo::default().service());
    let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let response = service
        .clone()
        .oneshot(get("/reports/2024?sort=desc&x=a%20b", &[("accept", html)]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        "/signin?next=/reports/2024%3Fsort%3Ddesc%26x%3Da%2520b"
    );
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");

    // A path that safe_next refuses is dropped, not passed on.
    let response = service
        .oneshot(get("/a/../b", &[("accept", "text/html")]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/signin");
}

#[tokio::test]
async fn htmx_gets_401_with_hx_redirect_back_to_the_current_page() {
    let service = RequireAuthLayer::new().layer(Echo::default().service());
    let response = service
        .clone()
        .oneshot(get(
            "/fragments/cart",
            &[
                ("hx-request", "true"),
                ("hx-current-url", "https://shop.example.com/checkout?step=2"),
                ("accept", "text/html"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["hx-redirect"],
        "/login?next=/checkout%3Fstep%3D2"
    );
    assert_eq!(body_json(response).await["code"], "not_authenticated");

    let response = service
        .oneshot(get("/fragments/cart", &[("hx-request", "true")]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["hx-redirect"], "/login");
}

#[tokio::test]
async fn public_paths_and_the_login_page_pass() {
    let echo = Echo::default();
    let service = RequireAuthLayer::new()
        .public_prefix("/static/")
        .public_path("/")
        .layer(echo.service());
    for uri in [
        "/static/app.css",
        "/static/js/x.js",
        "/",
        "/login",
        "/login?next=/a",
    ] {
        let response = service.clone().oneshot(get(uri, &[])).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
    }
    for uri in ["/static", "/staticx/a", "/login/x", "/index"] {
        let response = service.clone().oneshot(get(uri, &[])).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri}");
    }
    assert_eq!(echo.calls(), 5);
}

#[tokio::test]
async fn authenticated_requests_pass_behind_auth_layer() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let echo = Echo::default();
    let service = ServiceBuilder::new()
        .layer(AuthLayer::new(manager, BearerTransport::new()))
        .layer(RequireAuthLayer::new())
        .service(echo.service());
    let authorization = format!("Bearer {}", ada.token.expose());
    let response = service
        .clone()
        .oneshot(get("/private", &[("authorization", &authorization)]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-auth"], "ada@example.com");
    let response = service.oneshot(get("/private", &[])).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(echo.calls(), 1);
}

#[test]
fn service_constructors() {
    let service = RequireAuth::new(Echo::default().service());
    let _ = service.get_ref();
    let _ = service.into_inner();
    let _layer = RequireAuth::<()>::layer().public_path("/x");
}
