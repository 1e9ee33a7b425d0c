//! The `/auth` HTTP API in-process: `portcullis_axum::router` over the in-memory backend,
//! cheap argon2, and the cookie-or-bearer transport of the demo server.
//!
//! Input: the first byte picks the route (low 4 bits) and how the request is sent (bit 4:
//! no `Content-Type`; bit 5: authenticate with the session cookie plus `Sec-Fetch-Site:
//! same-origin` instead of a bearer token); the rest is the request body. Routes that need
//! a session get one, so their bodies are parsed too. Every request gets a fresh backend,
//! so runs are reproducible. The answer is never a 5xx, and every 4xx is the JSON error
//! shape `{"detail": "...", "code": "..."}`.
#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{Method, Request, header};
use http_body_util::BodyExt as _;
use libfuzzer_sys::fuzz_target;
use portcullis_axum::{RouterConfig, router};
use portcullis_core::ClientInfo;
use portcullis_manager::{AuthManager, Registered, Registration};
use portcullis_password::{Argon2Params, MultiHasher, PasswordStrategy};
use portcullis_testkit::MemoryBackend;
use portcullis_transport::{CookieOrBearer, CookieTransport};
use tokio::runtime::{Builder, Runtime};
use tower::ServiceExt as _;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
});

/// `(method, path, needs a session)`.
const ROUTES: &[(Method, &str, bool)] = &[
    (Method::POST, "/auth/register", false),
    (Method::POST, "/auth/login", false),
    (Method::POST, "/auth/verify", false),
    (Method::POST, "/auth/password/forgot", false),
    (Method::POST, "/auth/password/reset", false),
    (Method::PATCH, "/auth/me", true),
    (Method::POST, "/auth/password/change", true),
    (Method::POST, "/auth/email/change", true),
    (Method::POST, "/auth/logout", true),
    (Method::POST, "/auth/sessions/revoke-others", true),
    (Method::POST, "/auth/verify/request", true),
    (Method::POST, "/auth/register", true),
    (Method::POST, "/auth/login", true),
    (Method::GET, "/auth/me", true),
    (Method::GET, "/auth/sessions", true),
    (Method::GET, "/auth/events", true),
];

async fn run(selector: u8, body: Vec<u8>) {
    let (method, path, needs_session) = &ROUTES[usize::from(selector & 0x0f)];
    let no_content_type = selector & 0x10 != 0;
    let by_cookie = selector & 0x20 != 0;

    let params = Argon2Params::new(8, 1, 1, None).expect("cheap argon2 params");
    let manager = AuthManager::builder(
        MemoryBackend::new(),
        PasswordStrategy::new(MultiHasher::with_params(params)),
    )
    .build()
    .expect("default config");
    let transport = CookieOrBearer::new(CookieTransport::new());
    let cookie_name = transport.cookie().cookie_name().to_owned();
    let app = router(manager.clone(), transport, RouterConfig::default());

    let mut request = Request::builder().method(method.clone()).uri(*path);
    if !no_content_type {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    if *needs_session {
        let registered = manager
            .register(
                Registration::new("Ada", "ada@example.com", "analytical engine")
                    .with_username("ada"),
                &ClientInfo::default(),
            )
            .await
            .expect("registration of the fixture user");
        let Registered::SignedIn(signed_in) = registered else {
            panic!("paranoid registration is off");
        };
        let token = signed_in.token.expose();
        request = if by_cookie {
            request
                .header(header::COOKIE, format!("{cookie_name}={token}"))
                .header("sec-fetch-site", "same-origin")
        } else {
            request.header(header::AUTHORIZATION, format!("Bearer {token}"))
        };
    }
    let request = request.body(Body::from(body)).expect("a valid request");
    let response = app
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body streams")
        .to_bytes();
    manager.wait_for_background_tasks().await;

    assert!(
        !status.is_server_error(),
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    if status.is_client_error() {
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {status} with a non-JSON body ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        let object = json.as_object().expect("the error body is an object");
        assert!(
            object.len() == 2
                && object
                    .get("detail")
                    .is_some_and(serde_json::Value::is_string)
                && object.get("code").is_some_and(serde_json::Value::is_string),
            "{method} {path}: {status} {json}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    RUNTIME.block_on(run(selector, body.to_vec()));
});
