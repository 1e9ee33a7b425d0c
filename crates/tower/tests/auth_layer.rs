//! AuthLayer over a `service_fn` that echoes what the layer told it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use portcullis_core::http::{HeaderValue, Method, Request, StatusCode, header};
use portcullis_core::{TestClock, Token};
use portcullis_manager::{AuthConfig, AuthManager};
use portcullis_tower::{AuthLayer, ClientAddr, ClientIpSource, auth::MAX_FORM_BYTES};
use portcullis_transport::{CookieOrBearer, CookieTransport, CsrfGuard};
use support::{Body, Echo, body_json, body_text, manager, manager_with, sign_in};
use tower::{Layer, ServiceExt};

const COOKIE: &str = "__Host-portcullis";

fn transport() -> CookieOrBearer {
    CookieOrBearer::new(CookieTransport::new())
}

fn request(method: Method, headers: &[(&str, &[u8])], body: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri("/things?x=1")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    request
}

fn bearer(token: &Token) -> Vec<u8> {
    format!("Bearer {}", token.expose()).into_bytes()
}

fn cookie(token: &Token) -> Vec<u8> {
    format!("{COOKIE}={}", token.expose()).into_bytes()
}

fn header_str<'a>(response: &'a portcullis_core::http::Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_valid_bearer_or_cookie_token_authenticates() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let echo = Echo::default();
    let service = AuthLayer::new(manager, transport()).layer(echo.service());

    let response = service
        .clone()
        .oneshot(request(
            Method::GET,
            &[("authorization", &bearer(&ada.token))],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_str(&response, "x-auth"), "ada@example.com");
    assert_eq!(header_str(&response, "x-source"), "bearer");

    let response = service
        .oneshot(request(Method::GET, &[("cookie", &cookie(&ada.token))], ""))
        .await
        .unwrap();
    assert_eq!(header_str(&response, "x-auth"), "ada@example.com");
    assert_eq!(header_str(&response, "x-source"), "cookie");
    // Nothing was refreshed (default touch interval): no Set-Cookie.
    assert!(response.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_context_exposes_the_csrf_token_and_client_info() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let service = AuthLayer::new(manager, transport())
        .client_ip(ClientIpSource::trusted_header("x-forwarded-for"))
        .layer(tower::service_fn(|request: Request<Body>| async move {
            let auth = request
                .extensions()
                .get::<portcullis_tower::AuthContext>()
                .unwrap();
            let info = request
                .extensions()
                .get::<portcullis_core::ClientInfo>()
                .unwrap();
            assert_eq!(auth.csrf_token(), CsrfGuard::token_for(auth.token()));
            assert_eq!(info.ip_address.as_deref(), Some("203.0.113.9"));
            assert_eq!(info.user_agent.as_deref(), Some("test/1"));
            // The secret headers are marked sensitive for logging layers.
            assert!(request.headers()[header::AUTHORIZATION].is_sensitive());
            Ok::<_, std::convert::Infallible>(portcullis_core::http::Response::new(
                Full::<Bytes>::default(),
            ))
        }));
    let mut req = request(
        Method::GET,
        &[
            ("authorization", &bearer(&ada.token)),
            ("x-forwarded-for", b"198.51.100.1, 203.0.113.9"),
            ("user-agent", b"test/1"),
        ],
        "",
    );
    req.extensions_mut()
        .insert(ClientAddr("10.0.0.1:1234".parse().unwrap()));
    assert_eq!(service.oneshot(req).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_credentials_are_anonymous_never_an_error() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let echo = Echo::default();
    let service = AuthLayer::new(manager, transport()).layer(echo.service());
    let valid = bearer(&ada.token);
    let cases: Vec<Vec<(&str, Vec<u8>)>> = vec![
        vec![("authorization", b"Bearer %".to_vec())],
        vec![("authorization", b"Bearer ".to_vec())],
        vec![("authorization", b"Bearer".to_vec())],
        vec![
            ("authorization", valid.clone()),
            ("authorization", valid.clone()),
        ],
        vec![(
            "authorization",
            format!("Bearer {}", "A".repeat(20_000)).into_bytes(),
        )],
        vec![("authorization", b"Bearer \xff\xfe".to_vec())],
        vec![("cookie", b"__Host-portcullis=\xff\xfe\xfd".to_vec())],
        vec![("cookie", b"__Host-portcullis=".to_vec())],
        vec![(
            "cookie",
            format!("{COOKIE}={}", "x".repeat(43)).into_bytes(),
        )],
        // A well-formed token that no session has.
        vec![("authorization", bearer(&Token::generate().unwrap()))],
    ];
    for headers in cases {
        let refs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let response = service
            .clone()
            .oneshot(request(Method::GET, &refs, ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{headers:?}");
        assert_eq!(header_str(&response, "x-auth"), "anonymous", "{headers:?}");
    }
    assert_eq!(echo.calls(), 10);
}

#[tokio::test]
async fn an_expired_session_is_anonymous_and_its_cookie_is_cleared() {
    let (manager, clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    clock.advance(manager.config().session_idle_lifetime + Duration::from_secs(1));
    let echo = Echo::default();
    let service = AuthLayer::new(manager, transport()).layer(echo.service());

    let response = service
        .clone()
        .oneshot(request(Method::GET, &[("cookie", &cookie(&ada.token))], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_str(&response, "x-auth"), "anonymous");
    let set_cookie = header_str(&response, "set-cookie");
    assert!(
        set_cookie.starts_with(&format!("{COOKIE}=;")),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("Max-Age=0"), "{set_cookie}");
    assert!(response.headers()[header::SET_COOKIE].is_sensitive());
    assert_eq!(header_str(&response, "cache-control"), "no-store");

    // A bearer client is not sent cookies.
    let response = service
        .oneshot(request(
            Method::GET,
            &[("authorization", &bearer(&ada.token))],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(header_str(&response, "x-auth"), "anonymous");
    assert!(response.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_refreshed_session_sends_the_cookie_again() {
    let clock = TestClock::new();
    let config = AuthConfig {
        touch_interval: Some(Duration::ZERO),
        ..AuthConfig::default()
    };
    let manager = manager_with(config, &clock);
    let ada = sign_in(&manager, "ada@example.com").await;
    clock.advance(Duration::from_secs(60));
    let service = AuthLayer::new(manager.clone(), transport()).layer(Echo::default().service());

    let response = service
        .clone()
        .oneshot(request(Method::GET, &[("cookie", &cookie(&ada.token))], ""))
        .await
        .unwrap();
    assert_eq!(header_str(&response, "x-auth"), "ada@example.com");
    let set_cookie = header_str(&response, "set-cookie");
    assert!(
        set_cookie.starts_with(&format!("{COOKIE}={};", ada.token.expose())),
        "{set_cookie}"
    );
    let idle = manager.config().session_idle_lifetime.as_secs();
    assert!(
        set_cookie.contains(&format!("Max-Age={idle};")),
        "{set_cookie}"
    );

    // Bearer sessions are refreshed server-side only.
    let response = service
        .oneshot(request(
            Method::GET,
            &[("authorization", &bearer(&ada.token))],
            "",
        ))
        .await
        .unwrap();
    assert!(response.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_handler_cookie_wins_over_the_refresh() {
    let clock = TestClock::new();
    let config = AuthConfig {
        touch_interval: Some(Duration::ZERO),
        ..AuthConfig::default()
    };
    let manager = manager_with(config, &clock);
    let ada = sign_in(&manager, "ada@example.com").await;
    // A logout handler clears the cookie; the layer must not set it again.
    let service = AuthLayer::new(manager, transport()).layer(tower::service_fn(
        |_request: Request<Body>| async move {
            let mut response = portcullis_core::http::Response::new(Full::<Bytes>::default());
            CookieTransport::new().clear_token_into(response.headers_mut());
            Ok::<_, std::convert::Infallible>(response)
        },
    ));
    let response = service
        .oneshot(request(Method::GET, &[("cookie", &cookie(&ada.token))], ""))
        .await
        .unwrap();
    let cookies: Vec<_> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .collect();
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].to_str().unwrap().contains("Max-Age=0"));
}

/// `Transport::clear_token` under a name that reads well in the test above.
trait ClearInto {
    fn clear_token_into(&self, headers: &mut portcullis_core::http::HeaderMap);
}

impl ClearInto for CookieTransport {
    fn clear_token_into(&self, headers: &mut portcullis_core::http::HeaderMap) {
        portcullis_core::Transport::clear_token(self, headers);
    }
}

#[tokio::test]
async fn cookie_posts_need_csrf_evidence() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let echo = Echo::default();
    let service = AuthLayer::new(manager, transport()).layer(echo.service());
    let session = cookie(&ada.token);
    let csrf = CsrfGuard::token_for(&ada.token);
    let form = "application/x-www-form-urlencoded".as_bytes();

    let cross = service
        .clone()
        .oneshot(request(
            Method::POST,
            &[("cookie", &session), ("sec-fetch-site", b"cross-site")],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(cross.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(cross.headers()[header::CACHE_CONTROL], "no-store");
    let body = body_json(cross).await;
    assert_eq!(body["code"], "csrf_failed");
    assert_eq!(body["detail"], "cross-site request refused");
    assert_eq!(echo.calls(), 0);

    let no_evidence = service
        .clone()
        .oneshot(request(Method::DELETE, &[("cookie", &session)], ""))
        .await
        .unwrap();
    assert_eq!(no_evidence.status(), StatusCode::FORBIDDEN);

    let same_origin = service
        .clone()
        .oneshot(request(
            Method::POST,
            &[("cookie", &session), ("sec-fetch-site", b"same-origin")],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::OK);
    assert_eq!(header_str(&same_origin, "x-auth"), "ada@example.com");

    let header_token = service
        .clone()
        .oneshot(request(
            Method::PUT,
            &[("cookie", &session), ("x-csrf-token", csrf.as_bytes())],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(header_token.status(), StatusCode::OK);

    // The form field, without Fetch Metadata or Origin: accepted, and the handler still
    // receives the whole body.
    let form_body = format!("title=hello+world&csrf_token={csrf}&n=1");
    let response = service
        .clone()
        .oneshot(request(
            Method::POST,
            &[("cookie", &session), ("content-type", form)],
            &form_body,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_str(&response, "x-auth"), "ada@example.com");
    assert_eq!(body_text(response).await, form_body);

    // The field even rescues a request Fetch Metadata calls cross-site (a form is proof).
    let other = Token::generate().unwrap();
    for wrong in [
        format!("csrf_token={}", CsrfGuard::token_for(&other)),
        format!("csrf_token={}", ada.token.expose()),
        "csrf_token=".to_owned(),
        "title=no+token".to_owned(),
    ] {
        let response = service
            .clone()
            .oneshot(request(
                Method::POST,
                &[("cookie", &session), ("content-type", form)],
                &wrong,
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{wrong}");
        assert_eq!(body_json(response).await["code"], "csrf_failed");
    }
    assert_eq!(echo.calls(), 3);
}

#[tokio::test]
async fn huge_form_bodies_are_refused_with_413() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let echo = Echo::default();
    let service = AuthLayer::new(manager, transport()).layer(echo.service());
    let body = format!(
        "csrf_token={}&pad={}",
        CsrfGuard::token_for(&ada.token),
        "a".repeat(MAX_FORM_BYTES)
    );
    let response = service
        .clone()
        .oneshot(request(
            Method::POST,
            &[
                ("cookie", &cookie(&ada.token)),
                ("content-type", b"application/x-www-form-urlencoded"),
            ],
            &body,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(response).await["code"], "payload_too_large");
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn bearer_posts_are_not_csrf_checked() {
    let (manager, _clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let service = AuthLayer::new(manager, transport()).layer(Echo::default().service());
    let response = service
        .oneshot(request(
            Method::POST,
            &[
                ("authorization", &bearer(&ada.token)),
                ("sec-fetch-site", b"cross-site"),
            ],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_str(&response, "x-source"), "bearer");
}

#[tokio::test]
async fn anonymous_posts_are_refused_only_when_a_browser_says_cross_site() {
    let (manager, _clock) = manager();
    let echo = Echo::default();
    let service = AuthLayer::new(manager, transport()).layer(echo.service());
    for (headers, expected) in [
        (
            vec![("sec-fetch-site", &b"cross-site"[..])],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![("sec-fetch-site", b"same-site")],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![
                ("origin", b"https://evil.example"),
                ("host", b"app.example.com"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (vec![("origin", b"null")], StatusCode::FORBIDDEN),
        // curl posting JSON to /auth/login: no browser headers at all.
        (vec![("content-type", b"application/json")], StatusCode::OK),
        (vec![("sec-fetch-site", b"same-origin")], StatusCode::OK),
        (
            vec![
                ("origin", b"https://app.example.com"),
                ("host", b"app.example.com"),
            ],
            StatusCode::OK,
        ),
    ] {
        let response = service
            .clone()
            .oneshot(request(Method::POST, &headers, "{}"))
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{headers:?}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(body_json(response).await["code"], "csrf_failed");
        }
    }
    assert_eq!(echo.calls(), 3);
}

#[tokio::test]
async fn an_expired_cookie_on_a_cross_site_post_is_refused_and_cleared() {
    let (manager, clock) = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    clock.advance(manager.config().session_absolute_lifetime);
    let service = AuthLayer::new(manager, transport()).layer(Echo::default().service());
    let response = service
        .oneshot(request(
            Method::POST,
            &[
                ("cookie", &cookie(&ada.token)),
                ("sec-fetch-site", b"cross-site"),
            ],
            "",
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(header_str(&response, "set-cookie").contains("Max-Age=0"));
}

#[tokio::test]
async fn storage_down_fails_closed_with_503() {
    let manager = AuthManager::builder(portcullis_testkit::DownBackend, support::strategy())
        .build()
        .unwrap();
    let echo = Echo::default();
    let service = AuthLayer::new(manager, transport()).layer(echo.service());
    let token = Token::generate().unwrap();
    for headers in [
        vec![("authorization", bearer(&token))],
        vec![("cookie", cookie(&token))],
    ] {
        let refs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let response = service
            .clone()
            .oneshot(request(Method::GET, &refs, ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        // The session may well be valid: never clear the cookie on an outage.
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        let body = body_json(response).await;
        assert_eq!(body["code"], "storage_unavailable");
        assert_eq!(body["detail"], "storage unavailable");
    }
    assert_eq!(echo.calls(), 0, "the inner service must never run");

    // Without a token there is nothing to look up: anonymous requests still work.
    let response = service
        .oneshot(request(Method::GET, &[], ""))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(echo.calls(), 1);
}

#[tokio::test]
async fn services_are_built_with_new_and_unwrapped() {
    let (manager, _clock) = manager();
    let service =
        portcullis_tower::AuthService::new(Echo::default().service(), manager, transport());
    let _inner = service.get_ref();
    assert!(format!("{service:?}").contains("AuthService"));
    let _inner = service.into_inner();
}
