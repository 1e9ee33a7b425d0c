//! The middleware and extractors in an in-process actix-web app: cookie sessions and their
//! CSRF rules, sliding and cleared cookies, 401 / 500 from the extractors, client addresses,
//! and 503 when storage is down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpMessage, HttpRequest, web};
use portcullis_actix::{
    ApiConfig, Auth, AuthMiddleware, ClientIpSource, CurrentUser, MaybeUser, api_scope,
};
use portcullis_core::{ClientInfo, TestClock, Token};
use portcullis_http::MAX_FORM_BYTES;
use portcullis_manager::{AuthConfig, AuthManager, Registered, Registration, SignedIn};
use portcullis_password::{Argon2Params, MultiHasher, PasswordStrategy};
use portcullis_testkit::MemoryBackend;
use portcullis_transport::{CookieOrBearer, CookieTransport, CsrfGuard, PLAIN_COOKIE_NAME};
use serde_json::Value;

type Manager = AuthManager<MemoryBackend, PasswordStrategy<MultiHasher>>;

const FORM: &str = "application/x-www-form-urlencoded";

fn strategy() -> PasswordStrategy<MultiHasher> {
    PasswordStrategy::new(MultiHasher::with_params(
        Argon2Params::new(1024, 1, 1, None).unwrap(),
    ))
}

fn manager_with(config: AuthConfig, clock: &TestClock) -> Manager {
    AuthManager::builder(MemoryBackend::new(), strategy())
        .config(config)
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn manager() -> Manager {
    manager_with(AuthConfig::default(), &TestClock::new())
}

/// Cookies over plain HTTP (no `Secure`, no `__Host-` prefix), bearer headers too.
fn transport() -> CookieOrBearer {
    CookieOrBearer::new(CookieTransport::new().secure(false))
}

async fn sign_in(manager: &Manager, email: &str) -> SignedIn {
    match manager
        .register(
            Registration::new("Ada", email, "analytical engine"),
            &ClientInfo::default(),
        )
        .await
        .unwrap()
    {
        Registered::SignedIn(signed_in) => *signed_in,
        Registered::CheckEmail => unreachable!("paranoid registration is off"),
    }
}

async fn me(CurrentUser(user): CurrentUser) -> String {
    user.email
}

async fn maybe(MaybeUser(user): MaybeUser) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |user| user.email)
}

async fn csrf(Auth(context): Auth) -> String {
    context.csrf_token()
}

/// Echoes the body it received, so tests see that the form read by the middleware arrives.
async fn note(CurrentUser(user): CurrentUser, body: String) -> String {
    format!("{}:{body}", user.email)
}

async fn client(request: HttpRequest) -> String {
    let extensions = request.extensions();
    let info = extensions.get::<ClientInfo>().unwrap();
    info.ip_address.clone().unwrap_or_default()
}

/// Our routes and the API, behind one app-wide middleware.
fn test_app(
    middleware: AuthMiddleware<MemoryBackend, PasswordStrategy<MultiHasher>, CookieOrBearer>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let manager = middleware.manager().clone();
    App::new()
        .wrap(middleware)
        .route("/me", web::get().to(me))
        .route("/maybe", web::get().to(maybe))
        .route("/csrf", web::get().to(csrf))
        .route("/note", web::post().to(note))
        .route("/client", web::get().to(client))
        .service(api_scope(manager, transport(), ApiConfig::default()))
}

struct Answer {
    status: StatusCode,
    set_cookie: Vec<String>,
    cache_control: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }
}

/// Sends a `TestRequest` to an `init_service` app and reads the whole answer.
macro_rules! call {
    ($app:expr, $request:expr $(,)?) => {
        answer(test::call_service($app, $request.to_request()).await)
    };
}

async fn answer<B: MessageBody>(response: ServiceResponse<B>) -> Answer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let status = response.status();
    let set_cookie = response
        .headers()
        .get_all("set-cookie")
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let cache_control = header("cache-control");
    let content_type = header("content-type");
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    Answer {
        status,
        set_cookie,
        cache_control,
        content_type,
        body,
    }
}

/// `POST /note` with the session cookie, one more header, and `body`.
fn post_note(cookie: &(&'static str, String), header: (&str, &str), body: &str) -> TestRequest {
    TestRequest::post()
        .uri("/note")
        .insert_header(cookie.clone())
        .insert_header((header.0.to_owned(), header.1.to_owned()))
        .set_payload(body.to_owned())
}

fn session_cookie(token: &str) -> (&'static str, String) {
    ("cookie", format!("{PLAIN_COOKIE_NAME}={token}"))
}

#[actix_web::test]
async fn cookie_sessions_need_csrf_evidence_for_unsafe_requests() {
    let manager = manager();
    let app = test::init_service(test_app(AuthMiddleware::new(manager.clone(), transport()))).await;

    // Log in through the API: the session arrives as a cookie.
    let _ada = sign_in(&manager, "ada@example.com").await;
    let login = call!(
        &app,
        TestRequest::post()
            .uri("/auth/login")
            .insert_header(("content-type", "application/json"))
            .set_payload(r#"{"email":"ada@example.com","password":"analytical engine"}"#),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert_eq!(login.set_cookie.len(), 1);
    let set_cookie = &login.set_cookie[0];
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let token = set_cookie
        .strip_prefix(&format!("{PLAIN_COOKIE_NAME}="))
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    let cookie = session_cookie(&token);

    let me = call!(
        &app,
        TestRequest::get().uri("/me").insert_header(cookie.clone())
    )
    .await;
    assert_eq!(
        (me.status, me.body.as_str()),
        (StatusCode::OK, "ada@example.com")
    );
    let csrf_token = call!(
        &app,
        TestRequest::get()
            .uri("/csrf")
            .insert_header(cookie.clone())
    )
    .await
    .body;
    assert_eq!(
        csrf_token,
        CsrfGuard::token_for(&Token::parse(&token).unwrap())
    );

    // No Origin, no Sec-Fetch-Site, no token: refused before the handler.
    let refused = call!(
        &app,
        TestRequest::post()
            .uri("/note")
            .insert_header(cookie.clone())
            .set_payload("hello"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.content_type.as_deref(), Some("application/json"));
    assert_eq!(refused.cache_control.as_deref(), Some("no-store"));
    assert_eq!(refused.json()["code"], "csrf_failed");

    // The X-CSRF-Token header passes.
    let with_header = call!(
        &app,
        post_note(&cookie, ("x-csrf-token", &csrf_token), "hello")
    )
    .await;
    assert_eq!(with_header.status, StatusCode::OK);
    assert_eq!(with_header.body, "ada@example.com:hello");

    // So does the form field, and the handler still reads the whole form.
    let form = format!("title=hi+there&csrf_token={csrf_token}&n=1");
    let with_field = call!(&app, post_note(&cookie, ("content-type", FORM), &form)).await;
    assert_eq!(with_field.status, StatusCode::OK, "{}", with_field.body);
    assert_eq!(with_field.body, format!("ada@example.com:{form}"));

    // A wrong field, or none, is refused.
    for wrong in [
        format!(
            "csrf_token={}",
            CsrfGuard::token_for(&Token::generate().unwrap())
        ),
        format!("csrf_token={token}"),
        "title=no+token".to_owned(),
    ] {
        let answer = call!(&app, post_note(&cookie, ("content-type", FORM), &wrong)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{wrong}");
        assert_eq!(answer.json()["code"], "csrf_failed");
    }

    // A form too big to search is 413, as JSON.
    let huge = format!("csrf_token={csrf_token}&pad={}", "a".repeat(MAX_FORM_BYTES));
    let answer = call!(&app, post_note(&cookie, ("content-type", FORM), &huge)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["code"], "payload_too_large");

    // Fetch Metadata saying same-origin is evidence enough.
    let same_origin = call!(
        &app,
        post_note(&cookie, ("sec-fetch-site", "same-origin"), "x")
    )
    .await;
    assert_eq!(same_origin.status, StatusCode::OK);

    // The API's own unsafe routes are guarded the same way; logging out clears the cookie.
    let logout = call!(
        &app,
        TestRequest::post()
            .uri("/auth/logout")
            .insert_header(cookie.clone()),
    )
    .await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    let logout = call!(
        &app,
        TestRequest::post()
            .uri("/auth/logout")
            .insert_header(cookie.clone())
            .insert_header(("x-csrf-token", csrf_token)),
    )
    .await;
    assert_eq!(logout.status, StatusCode::OK);
    assert!(
        logout.set_cookie[0].contains("Max-Age=0"),
        "{:?}",
        logout.set_cookie
    );

    // The dead cookie is anonymous, and the middleware tells the browser to forget it.
    let after = call!(&app, TestRequest::get().uri("/maybe").insert_header(cookie)).await;
    assert_eq!(
        (after.status, after.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
    assert_eq!(after.set_cookie.len(), 1);
    assert!(after.set_cookie[0].starts_with(&format!("{PLAIN_COOKIE_NAME}=;")));
    assert!(after.set_cookie[0].contains("Max-Age=0"));
    assert_eq!(after.cache_control.as_deref(), Some("no-store"));

    // Login CSRF: an anonymous post a browser calls cross-site is refused.
    let cross_site_login = call!(
        &app,
        TestRequest::post()
            .uri("/auth/login")
            .insert_header(("content-type", "application/json"))
            .insert_header(("sec-fetch-site", "cross-site"))
            .set_payload(r#"{"email":"ada@example.com","password":"analytical engine"}"#),
    )
    .await;
    assert_eq!(cross_site_login.status, StatusCode::FORBIDDEN);
    assert_eq!(cross_site_login.json()["code"], "csrf_failed");
    assert!(cross_site_login.set_cookie.is_empty());
}

#[actix_web::test]
async fn current_user_is_401_json_when_anonymous_and_the_user_when_signed_in() {
    let manager = manager();
    let ada = sign_in(&manager, "ada@example.com").await;
    let app = test::init_service(test_app(AuthMiddleware::new(manager, transport()))).await;
    let bearer = ("authorization", format!("Bearer {}", ada.token.expose()));

    let anonymous = call!(&app, TestRequest::get().uri("/me")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.content_type.as_deref(), Some("application/json"));
    assert_eq!(anonymous.cache_control.as_deref(), Some("no-store"));
    assert_eq!(
        anonymous.body,
        r#"{"detail":"not authenticated","code":"not_authenticated"}"#
    );
    let forged = call!(
        &app,
        TestRequest::get()
            .uri("/me")
            .insert_header(("authorization", "Bearer forged-token-that-names-no-session")),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let signed_in = call!(
        &app,
        TestRequest::get().uri("/me").insert_header(bearer.clone())
    )
    .await;
    assert_eq!(
        (signed_in.status, signed_in.body.as_str()),
        (StatusCode::OK, "ada@example.com")
    );
    // Nothing slid (default touch interval): no cookie on a plain read.
    assert!(signed_in.set_cookie.is_empty());
    assert_eq!(
        call!(&app, TestRequest::get().uri("/maybe")).await.body,
        "anonymous"
    );
    assert_eq!(
        call!(
            &app,
            TestRequest::get()
                .uri("/maybe")
                .insert_header(bearer.clone())
        )
        .await
        .body,
        "ada@example.com"
    );
    // Bearer requests are not CSRF-checked, whatever the browser headers say.
    let post = call!(
        &app,
        TestRequest::post()
            .uri("/note")
            .insert_header(bearer)
            .insert_header(("sec-fetch-site", "cross-site"))
            .set_payload("x"),
    )
    .await;
    assert_eq!(post.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_missing_middleware_names_the_fix() {
    let app = test::init_service(App::new().route("/me", web::get().to(me))).await;
    let answer = call!(&app, TestRequest::get().uri("/me")).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.json()["code"], "misconfigured");
    assert!(
        answer.body.contains("is AuthMiddleware installed?"),
        "{}",
        answer.body
    );
}

#[actix_web::test]
async fn a_refreshed_cookie_session_sends_the_cookie_again() {
    let clock = TestClock::new();
    let config = AuthConfig {
        touch_interval: Some(Duration::ZERO),
        ..AuthConfig::default()
    };
    let manager = manager_with(config, &clock);
    let ada = sign_in(&manager, "ada@example.com").await;
    clock.advance(Duration::from_secs(60));
    let app = test::init_service(test_app(AuthMiddleware::new(manager.clone(), transport()))).await;

    let answer = call!(
        &app,
        TestRequest::get()
            .uri("/me")
            .insert_header(session_cookie(ada.token.expose())),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.set_cookie.len(), 1);
    let set_cookie = &answer.set_cookie[0];
    assert!(
        set_cookie.starts_with(&format!("{PLAIN_COOKIE_NAME}={};", ada.token.expose())),
        "{set_cookie}"
    );
    let idle = manager.config().session_idle_lifetime.as_secs();
    assert!(
        set_cookie.contains(&format!("Max-Age={idle};")),
        "{set_cookie}"
    );
    assert_eq!(answer.cache_control.as_deref(), Some("no-store"));
}

#[actix_web::test]
async fn client_addresses_come_from_the_peer_unless_a_proxy_is_trusted() {
    let manager = manager();
    let peer = "10.1.2.3:4000".parse().unwrap();
    let app = test::init_service(test_app(AuthMiddleware::new(manager.clone(), transport()))).await;
    let request = || {
        TestRequest::get()
            .uri("/client")
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "203.0.113.9"))
    };
    assert_eq!(call!(&app, request()).await.body, "10.1.2.3");

    let trusting = AuthMiddleware::new(manager.clone(), transport())
        .client_ip(ClientIpSource::trusted_header("x-forwarded-for"));
    let trusting = test::init_service(test_app(trusting)).await;
    assert_eq!(call!(&trusting, request()).await.body, "203.0.113.9");

    // The API records the address on the session it creates.
    let _ada = sign_in(&manager, "ada@example.com").await;
    let login = call!(
        &trusting,
        TestRequest::post()
            .uri("/auth/login")
            .peer_addr(peer)
            .insert_header(("content-type", "application/json"))
            .set_payload(r#"{"email":"ada@example.com","password":"analytical engine"}"#),
    )
    .await;
    let token = login.json()["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = call!(
        &trusting,
        TestRequest::get()
            .uri("/auth/sessions")
            .insert_header(("authorization", format!("Bearer {token}"))),
    )
    .await;
    let sessions = sessions.json();
    let current = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["current"] == true)
        .unwrap();
    assert_eq!(current["ip_address"], "10.1.2.3");
}

#[actix_web::test]
async fn storage_down_fails_closed_with_503() {
    let manager = AuthManager::builder(portcullis_testkit::DownBackend, strategy())
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .wrap(AuthMiddleware::new(manager, transport()))
            .route("/maybe", web::get().to(maybe)),
    )
    .await;
    let token = Token::generate().unwrap();
    for header in [
        ("authorization", format!("Bearer {}", token.expose())),
        session_cookie(token.expose()),
    ] {
        let answer = call!(&app, TestRequest::get().uri("/maybe").insert_header(header)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.cache_control.as_deref(), Some("no-store"));
        // The session may well be valid: never clear the cookie on an outage.
        assert!(answer.set_cookie.is_empty());
        assert_eq!(answer.json()["code"], "storage_unavailable");
    }
    // Without a token there is nothing to look up: anonymous requests still work.
    let answer = call!(&app, TestRequest::get().uri("/maybe")).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
}
