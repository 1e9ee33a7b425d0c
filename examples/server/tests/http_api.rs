//! The demo server over real HTTP: every `/auth` route in bearer and cookie mode, the
//! protected and admin routes, malformed input, CSRF and rate limits. Runs on SQLite always,
//! PostgreSQL / MySQL when `PORTCULLIS_TEST_POSTGRES_URL` / `PORTCULLIS_TEST_MYSQL_URL` are set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use portcullis_core::{EmailKind, Password};
use portcullis_manager::MemoryMailer;
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_sea_orm::testing;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use server::Manager;

const PASSWORD: &str = "correct horse battery staple";

struct TestServer {
    base: String,
    manager: Manager,
    mailer: MemoryMailer,
    http: Client,
}

async fn start(backend: SeaOrmBackend, flags: &[&str]) -> TestServer {
    let started = support::start(backend, flags).await;
    TestServer {
        base: started.base,
        manager: started.manager,
        mailer: started.mailer,
        http: Client::new(),
    }
}

fn email() -> String {
    support::email("user")
}

impl TestServer {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Registers a new user; returns (email, token, body).
    async fn register(&self) -> (String, String, Value) {
        let address = email();
        let response = self
            .post(
                "/auth/register",
                json!({"name": "Ada", "email": address, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let token = body["session"]["token"].as_str().unwrap().to_owned();
        (address, token, body)
    }
}

async fn error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "expected {code}");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

fn is_rfc3339_utc(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.ends_with("+00:00") && chrono_like(s))
}

fn chrono_like(s: &str) -> bool {
    s.len() >= 25 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T'
}

async fn register_login_me_logout_with_bearer_tokens(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let (address, token, body) = s.register().await;
    let user = &body["user"];
    assert_eq!(user["email"], address);
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["role"], "user");
    assert!(is_rfc3339_utc(&user["created_at"]), "{user}");
    assert!(is_rfc3339_utc(&body["session"]["expires_at"]));
    assert!(user.get("password").is_none());

    let me = s.get("/auth/me", Some(&token)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.headers()["cache-control"], "no-store");
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], address);

    let login = s
        .post(
            "/auth/login",
            json!({"email": address.to_uppercase(), "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let login: Value = login.json().await.unwrap();
    let second = login["session"]["token"].as_str().unwrap();
    assert_ne!(second, token);

    let logout = s.post("/auth/logout", json!({}), Some(&token)).await;
    assert_eq!(logout.status(), StatusCode::OK);
    assert_eq!(
        logout.json::<Value>().await.unwrap(),
        json!({"detail": "logged out"})
    );
    error(
        s.get("/auth/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
    assert_eq!(
        s.get("/auth/me", Some(second)).await.status(),
        StatusCode::OK
    );
    // Logging out without any token still answers 200.
    assert_eq!(
        s.post("/auth/logout", json!({}), None).await.status(),
        StatusCode::OK
    );
}

async fn cookie_sessions_with_csrf_protection(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let address = email();
    let response = s
        .post(
            "/auth/register",
            json!({"name": "C", "email": address, "password": PASSWORD}),
            None,
        )
        .await;
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("portcullis_session="),
        "{set_cookie}"
    );
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/")
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let me = s
        .http
        .get(s.url("/auth/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // A cross-site POST carrying the cookie is refused; a same-origin one is not.
    let forged = s
        .http
        .post(s.url("/auth/sessions/revoke-others"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    error(forged, StatusCode::FORBIDDEN, "csrf_failed").await;
    let evil_origin = s
        .http
        .post(s.url("/auth/sessions/revoke-others"))
        .header(COOKIE, &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    error(evil_origin, StatusCode::FORBIDDEN, "csrf_failed").await;
    let same_origin = s
        .http
        .post(s.url("/auth/sessions/revoke-others"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::NO_CONTENT);

    let logout = s
        .http
        .post(s.url("/auth/logout"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let cleared = logout.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let me = s
        .http
        .get(s.url("/auth/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

async fn registration_and_login_errors_have_the_documented_shape(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let (address, _, _) = s.register().await;
    let taken = s
        .post(
            "/auth/register",
            json!({"name": "B", "email": address, "password": "short"}),
            None,
        )
        .await;
    error(taken, StatusCode::CONFLICT, "email_taken").await;
    let weak = s
        .post(
            "/auth/register",
            json!({"name": "B", "email": email(), "password": "short"}),
            None,
        )
        .await;
    let weak = error(weak, StatusCode::BAD_REQUEST, "weak_password").await;
    assert!(weak["detail"].as_str().unwrap().contains('8'), "{weak}");
    let bad_email = s
        .post(
            "/auth/register",
            json!({"name": "B", "email": "nope", "password": PASSWORD}),
            None,
        )
        .await;
    error(bad_email, StatusCode::UNPROCESSABLE_ENTITY, "invalid_email").await;
    let missing = s
        .post(
            "/auth/register",
            json!({"name": "B", "email": email()}),
            None,
        )
        .await;
    let missing = error(missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(missing["detail"].as_str().unwrap().contains("password"));
    let wrong_type = s
        .post(
            "/auth/login",
            json!({"email": "a@b.co", "password": 12_345_678}),
            None,
        )
        .await;
    let wrong_type = error(
        wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;
    assert!(
        !wrong_type.to_string().contains("12345678"),
        "the value was echoed: {wrong_type}"
    );

    let malformed = s
        .http
        .post(s.url("/auth/login"))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    error(malformed, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    let form = s
        .http
        .post(s.url("/auth/login"))
        .body("email=a&password=b")
        .send()
        .await
        .unwrap();
    error(
        form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = json!({"name": "x".repeat(100_000), "email": email(), "password": PASSWORD});
    error(
        s.post("/auth/register", huge, None).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    // One body for every login failure.
    let unknown = s
        .post(
            "/auth/login",
            json!({"email": "nobody@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    let unknown_status = unknown.status();
    let unknown_body = unknown.text().await.unwrap();
    let wrong = s
        .post(
            "/auth/login",
            json!({"email": address, "password": "wrong password!"}),
            None,
        )
        .await;
    assert_eq!(wrong.status(), unknown_status);
    assert_eq!(wrong.text().await.unwrap(), unknown_body);
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
}

async fn lockout_answers_429_with_retry_after(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let (address, _, _) = s.register().await;
    for _ in 0..5 {
        let r = s
            .post(
                "/auth/login",
                json!({"email": address, "password": "wrong password!"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = s
        .post(
            "/auth/login",
            json!({"email": address, "password": PASSWORD}),
            None,
        )
        .await;
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    error(locked, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn sessions_are_listed_and_revoked(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let (address, first, _) = s.register().await;
    let login: Value = s
        .post(
            "/auth/login",
            json!({"email": address, "password": PASSWORD}),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let second = login["session"]["token"].as_str().unwrap().to_owned();
    let listed = s.get("/auth/sessions", Some(&second)).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let text = listed.text().await.unwrap();
    assert!(
        !text.contains(&first) && !text.contains(&second),
        "tokens listed"
    );
    assert!(!text.contains("token"), "{text}");
    let sessions: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["id"], login["session"]["id"]);
    let older = sessions[1]["id"].as_str().unwrap().to_owned();

    let (_, stranger, _) = s.register().await;
    let foreign = s
        .http
        .delete(s.url(&format!("/auth/sessions/{older}")))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    error(foreign, StatusCode::NOT_FOUND, "not_found").await;
    let bad = s
        .http
        .delete(s.url("/auth/sessions/not-a-uuid"))
        .bearer_auth(&second)
        .send()
        .await
        .unwrap();
    error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    let revoked = s
        .http
        .delete(s.url(&format!("/auth/sessions/{older}")))
        .bearer_auth(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        s.get("/auth/me", Some(&first)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let third: Value = s
        .post(
            "/auth/login",
            json!({"email": address, "password": PASSWORD}),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let third = third["session"]["token"].as_str().unwrap().to_owned();
    let others = s
        .post("/auth/sessions/revoke-others", json!({}), Some(&second))
        .await;
    assert_eq!(others.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        s.get("/auth/me", Some(&third)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get("/auth/me", Some(&second)).await.status(),
        StatusCode::OK
    );
    error(
        s.get("/auth/sessions", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

async fn email_verification_and_password_flows(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let (address, token, _) = s.register().await;
    assert_eq!(
        s.post("/auth/verify/request", json!({}), Some(&token))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let verify_token = s
        .mailer
        .last_token(&address, EmailKind::VerifyEmail)
        .unwrap();
    let verified = s
        .post("/auth/verify", json!({"token": verify_token}), None)
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    assert_eq!(
        verified.json::<Value>().await.unwrap()["email_verified"],
        true
    );
    error(
        s.post("/auth/verify", json!({"token": verify_token}), None)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;

    // Forgot password: the same answer for a known and an unknown address.
    let known = s
        .post("/auth/password/forgot", json!({"email": address}), None)
        .await;
    let unknown = s
        .post(
            "/auth/password/forgot",
            json!({"email": "nobody@example.com"}),
            None,
        )
        .await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    s.manager.wait_for_background_tasks().await;
    let reset_token = s
        .mailer
        .last_token(&address, EmailKind::PasswordReset)
        .unwrap();
    let weak = s
        .post(
            "/auth/password/reset",
            json!({"token": reset_token, "password": "short"}),
            None,
        )
        .await;
    error(weak, StatusCode::BAD_REQUEST, "weak_password").await;
    let reset = s
        .post(
            "/auth/password/reset",
            json!({"token": reset_token, "password": "reset passphrase one"}),
            None,
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    error(
        s.post(
            "/auth/password/reset",
            json!({"token": reset_token, "password": "reset passphrase two"}),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
    assert_eq!(
        s.get("/auth/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED,
        "reset must end sessions"
    );
    let login = s
        .post(
            "/auth/login",
            json!({"email": address, "password": "reset passphrase one"}),
            None,
        )
        .await;
    let login: Value = login.json().await.unwrap();
    let token = login["session"]["token"].as_str().unwrap().to_owned();

    // Change password: the current one is required; other sessions end; a fresh one returns.
    let wrong = s
        .post(
            "/auth/password/change",
            json!({"current_password": "nope nope nope", "new_password": "changed passphrase"}),
            Some(&token),
        )
        .await;
    error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let changed = s
        .post("/auth/password/change", json!({"current_password": "reset passphrase one", "new_password": "changed passphrase"}), Some(&token))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    let fresh = changed["session"]["token"].as_str().unwrap();
    assert_eq!(
        s.get("/auth/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get("/auth/me", Some(fresh)).await.status(),
        StatusCode::OK
    );

    // Email change: password required, applied only after the new address confirms.
    let (other, _, _) = s.register().await;
    let taken = s
        .post(
            "/auth/email/change",
            json!({"new_email": other, "password": "changed passphrase"}),
            Some(fresh),
        )
        .await;
    error(taken, StatusCode::CONFLICT, "email_taken").await;
    let target = email();
    let requested = s
        .post(
            "/auth/email/change",
            json!({"new_email": target, "password": "changed passphrase"}),
            Some(fresh),
        )
        .await;
    assert_eq!(requested.status(), StatusCode::ACCEPTED);
    let confirm = s
        .mailer
        .last_token(&target, EmailKind::VerifyEmail)
        .unwrap();
    let moved = s
        .post("/auth/verify", json!({"token": confirm}), None)
        .await;
    assert_eq!(moved.json::<Value>().await.unwrap()["email"], target);

    let events: Vec<Value> = s
        .get("/auth/events", Some(fresh))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for expected in [
        "register",
        "email_verified",
        "password_reset",
        "password_changed",
        "email_changed",
    ] {
        assert!(kinds.contains(&expected), "{kinds:?}");
    }
}

async fn profile_updates(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let (_, token, _) = s.register().await;
    let patched = s
        .http
        .patch(s.url("/auth/me"))
        .bearer_auth(&token)
        .json(&json!({"name": "Grace", "image": "https://img.example.com/g.png"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], "Grace");
    let cleared: Value = s
        .http
        .patch(s.url("/auth/me"))
        .bearer_auth(&token)
        .json(&json!({"image": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["image"], Value::Null);
    assert_eq!(cleared["name"], "Grace");
    let bad = s
        .http
        .patch(s.url("/auth/me"))
        .bearer_auth(&token)
        .json(&json!({"image": "javascript:alert(1)"}))
        .send()
        .await
        .unwrap();
    error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    let anonymous = s
        .http
        .patch(s.url("/auth/me"))
        .json(&json!({"name": "X"}))
        .send()
        .await
        .unwrap();
    error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

async fn malformed_credentials_fail_closed(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    let (_, token, _) = s.register().await;
    let cases: Vec<Vec<(reqwest::header::HeaderName, HeaderValue)>> = vec![
        vec![(AUTHORIZATION, HeaderValue::from_static("Bearer %"))],
        vec![(AUTHORIZATION, HeaderValue::from_static("Bearer "))],
        vec![
            (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            ),
            (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            ),
        ],
        vec![(
            COOKIE,
            HeaderValue::from_bytes(b"portcullis_session=\xff\xfe").unwrap(),
        )],
        vec![(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", "A".repeat(8000))).unwrap(),
        )],
    ];
    for headers in cases {
        let mut request = s.http.get(s.url("/auth/me"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        error(response, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    }
    // The server keeps serving.
    assert_eq!(
        s.get("/auth/me", Some(&token)).await.status(),
        StatusCode::OK
    );
}

async fn health_protected_and_admin_routes(backend: SeaOrmBackend) {
    let s = start(backend, &[]).await;
    assert_eq!(s.get("/health", None).await.status(), StatusCode::OK);
    error(
        s.get("/protected", None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
    let (_, token, _) = s.register().await;
    let protected = s.get("/protected", Some(&token)).await;
    assert_eq!(protected.status(), StatusCode::OK);
    error(
        s.get("/admin", Some(&token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let admin_email = email();
    server::create_admin(
        &s.manager,
        &admin_email,
        &Password::new("admin passphrase 1"),
    )
    .await
    .unwrap();
    let login: Value = s
        .post(
            "/auth/login",
            json!({"email": admin_email, "password": "admin passphrase 1"}),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let admin = login["session"]["token"].as_str().unwrap();
    assert_eq!(s.get("/admin", Some(admin)).await.status(), StatusCode::OK);
}

async fn credential_endpoints_are_rate_limited_per_client(backend: SeaOrmBackend) {
    let s = start(backend, &["--rate-limit", "3"]).await;
    for _ in 0..3 {
        let r = s
            .post(
                "/auth/login",
                json!({"email": "x@example.com", "password": "whatever pass"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = s
        .post(
            "/auth/login",
            json!({"email": "x@example.com", "password": "whatever pass"}),
            None,
        )
        .await;
    assert!(limited.headers().contains_key("retry-after"));
    error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other routes are not limited.
    assert_eq!(s.get("/health", None).await.status(), StatusCode::OK);
}

macro_rules! http_tests {
    ($module:ident, $factory:expr) => {
        mod $module {
            use super::*;
            http_tests!(@cases $factory;
                register_login_me_logout_with_bearer_tokens,
                cookie_sessions_with_csrf_protection,
                registration_and_login_errors_have_the_documented_shape,
                lockout_answers_429_with_retry_after,
                sessions_are_listed_and_revoked,
                email_verification_and_password_flows,
                profile_updates,
                malformed_credentials_fail_closed,
                health_protected_and_admin_routes,
                credential_endpoints_are_rate_limited_per_client,
            );
        }
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(backend) = ($factory)().await {
                    super::$case(backend).await;
                }
            }
        )*
    };
}

http_tests!(sqlite_file, testing::sqlite_file);
http_tests!(postgres, testing::postgres);
http_tests!(mysql, testing::mysql);
