//! RateLimit: per-client-IP token buckets on credential routes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use portcullis_core::http::{Method, Request, StatusCode, header};
use portcullis_tower::{ClientAddr, ClientIpSource, RateLimit, RateLimitLayer};
use support::{Body, Echo, body_json};
use tower::{Layer, ServiceExt};

fn post(path: &str, peer: Option<&str>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::post(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Full::<Bytes>::default()).unwrap();
    if let Some(peer) = peer {
        request
            .extensions_mut()
            .insert(ClientAddr(peer.parse::<SocketAddr>().unwrap()));
    }
    request
}

#[tokio::test]
async fn the_request_after_the_burst_gets_429_with_retry_after() {
    let echo = Echo::default();
    let service = RateLimitLayer::new().layer(echo.service());
    for i in 0..10 {
        let response = service
            .clone()
            .oneshot(post("/auth/login", Some("192.0.2.1:1000"), &[]))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
    }
    let response = service
        .clone()
        .oneshot(post("/auth/login", Some("192.0.2.1:2000"), &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(body_json(response).await["code"], "rate_limited");
    assert_eq!(echo.calls(), 10);

    // Another address, other routes and other methods are unaffected.
    for request in [
        post("/auth/login", Some("192.0.2.2:1000"), &[]),
        post("/auth/logout", Some("192.0.2.1:1000"), &[]),
        Request::get("/auth/login")
            .extension(ClientAddr("192.0.2.1:1".parse().unwrap()))
            .body(Full::default())
            .unwrap(),
    ] {
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Same route with a trailing slash shares the bucket.
    let response = service
        .clone()
        .oneshot(post("/auth/login/", Some("192.0.2.1:1000"), &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // IPv6 neighbours in one /64 share a bucket.
    let v6 = RateLimitLayer::new()
        .quota(1, Duration::from_secs(60))
        .layer(Echo::default().service());
    let first = v6
        .clone()
        .oneshot(post("/auth/register", Some("[2001:db8::1]:1"), &[]))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let neighbour = v6
        .oneshot(post("/auth/register", Some("[2001:db8::2]:1"), &[]))
        .await
        .unwrap();
    assert_eq!(neighbour.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn tokens_come_back_over_time() {
    let service = RateLimitLayer::new()
        .quota(1, Duration::from_millis(50))
        .layer(Echo::default().service());
    let send = || {
        service
            .clone()
            .oneshot(post("/auth/password/forgot", Some("192.0.2.1:1"), &[]))
    };
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn disabled_never_limits() {
    for layer in [
        RateLimitLayer::disabled(),
        RateLimitLayer::new().enabled(false),
    ] {
        let service = layer.layer(Echo::default().service());
        for _ in 0..30 {
            let response = service
                .clone()
                .oneshot(post("/auth/login", Some("192.0.2.1:1"), &[]))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn forwarding_headers_count_only_when_trusted() {
    // Untrusted: rotating X-Forwarded-For does not escape the limit.
    let service = RateLimitLayer::new()
        .quota(2, Duration::from_secs(60))
        .layer(Echo::default().service());
    let mut statuses = Vec::new();
    for i in 0..3 {
        let spoofed = format!("203.0.113.{i}");
        let response = service
            .clone()
            .oneshot(post(
                "/auth/login",
                Some("192.0.2.1:1"),
                &[("x-forwarded-for", &spoofed)],
            ))
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS);

    // Trusted (behind a proxy): each client behind the proxy has its own bucket, and a
    // client-supplied entry to the left of the proxy's is ignored.
    let service = RateLimitLayer::new()
        .quota(2, Duration::from_secs(60))
        .client_ip(ClientIpSource::trusted_header("x-forwarded-for"))
        .layer(Echo::default().service());
    for i in 0..3 {
        let forwarded = format!("10.9.9.{i}, 203.0.113.7");
        let response = service
            .clone()
            .oneshot(post(
                "/auth/login",
                Some("10.0.0.1:1"),
                &[("x-forwarded-for", &forwarded)],
            ))
            .await
            .unwrap();
        let expected = if i < 2 {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status(), expected);
    }
    let other_client = service
        .clone()
        .oneshot(post(
            "/auth/login",
            Some("10.0.0.1:1"),
            &[("x-forwarded-for", "203.0.113.8")],
        ))
        .await
        .unwrap();
    assert_eq!(other_client.status(), StatusCode::OK);
}

#[tokio::test]
async fn configured_routes_and_unknown_addresses() {
    let service = RateLimitLayer::new()
        .clear_routes()
        .route(Method::POST, "/login")
        .quota(1, Duration::from_secs(60))
        .layer(Echo::default().service());
    let send = |path: &'static str, peer: Option<&'static str>| {
        service.clone().oneshot(post(path, peer, &[]))
    };
    assert_eq!(
        send("/login", Some("192.0.2.1:1")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        send("/login", Some("192.0.2.1:1")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The defaults were cleared.
    for _ in 0..3 {
        assert_eq!(
            send("/auth/login", Some("192.0.2.1:1"))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    // No address known: not limited (documented choice).
    for _ in 0..3 {
        assert_eq!(send("/login", None).await.unwrap().status(), StatusCode::OK);
    }
    // A bare SocketAddr extension works too.
    let mut request = post("/login", None, &[]);
    request
        .extensions_mut()
        .insert("192.0.2.1:9".parse::<SocketAddr>().unwrap());
    assert_eq!(
        service.clone().oneshot(request).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[test]
fn service_constructors() {
    let service = RateLimit::new(Echo::default().service());
    let _ = service.get_ref();
    let _ = service.into_inner();
    let _layer = RateLimit::<()>::layer().max_clients(10);
}
