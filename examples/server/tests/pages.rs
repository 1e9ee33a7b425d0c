//! The HTML pages over plain HTTP (no browser): security headers, escaping, CSRF on form
//! posts, safe `next` redirects, form errors, verification links that need a click, password
//! reset, rate limits on the HTML credential forms. The browser walk-through is in
//! `browser.rs`; the pages call the same manager methods as the JSON API, whose tests run on
//! every database, so these run on SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use portcullis_core::{EmailKind, UserStore};
use portcullis_manager::MemoryMailer;
use portcullis_sea_orm::testing;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use server::Manager;

const PASSWORD: &str = "correct horse battery staple";

struct TestServer {
    base: String,
    manager: Manager,
    mailer: MemoryMailer,
    /// Does not follow redirects, so tests see the 303s.
    http: Client,
}

async fn start(flags: &[&str]) -> TestServer {
    let started = support::start(testing::sqlite_file().await.unwrap(), flags).await;
    TestServer {
        base: started.base,
        manager: started.manager,
        mailer: started.mailer,
        http: Client::builder().redirect(Policy::none()).build().unwrap(),
    }
}

fn email() -> String {
    support::email("page")
}

/// `name=value` of the session cookie a response sets.
fn session_cookie(response: &Response) -> String {
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with("portcullis_session="),
        "{set_cookie}"
    );
    set_cookie.split(';').next().unwrap().to_owned()
}

fn location(response: &Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

/// The value of the first hidden `csrf_token` field in a page.
fn csrf_token(page: &str) -> String {
    let start = page.find("name=\"csrf_token\" value=\"").unwrap() + 25;
    page[start..][..page[start..].find('"').unwrap()].to_owned()
}

impl TestServer {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A form POST as a browser on our own pages sends it (`Sec-Fetch-Site: same-origin`).
    fn form(&self, path: &str, fields: &[(&str, &str)]) -> RequestBuilder {
        self.http
            .post(self.url(path))
            .header("sec-fetch-site", "same-origin")
            .form(fields)
    }

    async fn page(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut request = self.http.get(self.url(path)).header("accept", "text/html");
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Registers through the HTML form; returns (email, session cookie).
    async fn register(&self, name: &str) -> (String, String) {
        let address = email();
        let response = self
            .form(
                "/register",
                &[("name", name), ("email", &address), ("password", PASSWORD)],
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/dashboard?notice=welcome");
        (address, session_cookie(&response))
    }

    /// Logs in through the JSON API (another device); returns its bearer token.
    async fn api_login(&self, address: &str) -> String {
        let body: Value = self
            .http
            .post(self.url("/auth/login"))
            .json(&json!({"email": address, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["session"]["token"].as_str().unwrap().to_owned()
    }

    async fn me_status(&self, token: &str) -> StatusCode {
        self.http
            .get(self.url("/auth/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }
}

fn assert_page_headers(response: &Response) {
    let headers = response.headers();
    let path = response.url().path();
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{path}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{path}: {csp}"
    );
    assert!(!csp.contains("unsafe"), "{path}: {csp}");
    assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(headers["cache-control"], "no-store", "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers_and_escape_user_data() {
    let s = start(&[]).await;
    for path in [
        "/",
        "/login",
        "/register",
        "/forgot-password",
        "/reset-password?token=abc",
        "/verify-email?token=abc",
    ] {
        let response = s.page(path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_page_headers(&response);
    }
    let css = s.page("/style.css", None).await;
    assert!(
        css.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    let (_, cookie) = s.register("<script>alert(1)</script>").await;
    for path in ["/", "/dashboard", "/sessions", "/password"] {
        let response = s.page(path, Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_page_headers(&response);
        let body = response.text().await.unwrap();
        assert!(!body.contains("<script>alert"), "{path}: unescaped name");
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
    // A refusal is a page too, with the same headers.
    let refused = s
        .http
        .post(s.url("/sessions/revoke-others"))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_page_headers(&refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_forms_need_the_csrf_token_or_same_origin() {
    let s = start(&[]).await;
    let (address, cookie) = s.register("Ada").await;
    let other = s.api_login(&address).await;
    let dashboard = s
        .page("/dashboard", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let token = csrf_token(&dashboard);

    // Cross-site (Fetch Metadata), a foreign Origin, no evidence at all, a wrong token: 403.
    let forged: [&[(&str, &str)]; 4] = [
        &[("sec-fetch-site", "cross-site")],
        &[("origin", "https://evil.example")],
        &[],
        &[],
    ];
    for (i, headers) in forged.iter().enumerate() {
        let mut request = s
            .http
            .post(s.url("/sessions/revoke-others"))
            .header(COOKIE, &cookie);
        for (name, value) in *headers {
            request = request.header(*name, *value);
        }
        let body = if i == 3 {
            "csrf_token=not-the-token"
        } else {
            ""
        };
        let response = request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "case {i}");
        assert!(response.text().await.unwrap().contains("Request refused"));
    }
    assert_eq!(
        s.me_status(&other).await,
        StatusCode::OK,
        "a forgery got through"
    );

    // The form token alone (no Fetch Metadata, no Origin: an older browser) is enough.
    let response = s
        .http
        .post(s.url("/sessions/revoke-others"))
        .header(COOKIE, &cookie)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sessions?notice=others-revoked");
    assert_eq!(s.me_status(&other).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.page("/dashboard", Some(&cookie)).await.status(),
        StatusCode::OK
    );

    // Before login there is no session to bind a token to: cross-site login posts are refused.
    let login_csrf = s
        .http
        .post(s.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("email", address.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login_csrf.status(), StatusCode::FORBIDDEN);
    assert!(!login_csrf.headers().contains_key(SET_COOKIE));

    // Logging out needs the token too, then clears the cookie and ends the session.
    let logout = s
        .http
        .post(s.url("/logout"))
        .header(COOKIE, &cookie)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(
        logout.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = s.page("/dashboard", Some(&cookie)).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/login?next=/dashboard");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_follows_only_safe_next_targets() {
    let s = start(&[]).await;
    let (address, _) = s.register("Ada").await;
    for (next, expected) in [
        ("https://evil.example", "/dashboard"),
        ("//evil.example", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
        ("/sessions?tab=1", "/sessions?tab=1"),
    ] {
        let response = s
            .form(
                "/login",
                &[("email", &address), ("password", PASSWORD), ("next", next)],
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&response), expected, "{next}");
        session_cookie(&response);
    }
    // The login page does not even carry an unsafe `next` in its form.
    let page = s.page("/login?next=https://evil.example", None).await;
    assert!(!page.text().await.unwrap().contains("evil.example"));
    let page = s.page("/login?next=/sessions", None).await;
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(r#"name="next" value="/sessions""#)
    );
    // Signed out, a protected page sends browsers to the login page and API clients a 401.
    let redirect = s.page("/sessions", None).await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&redirect), "/login?next=/sessions");
    let api = s.http.get(s.url("/dashboard")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_errors_name_the_field_and_keep_what_was_typed() {
    let s = start(&[]).await;
    let (address, _) = s.register("Ada").await;
    let cases = [
        (
            address.as_str(),
            "another passphrase 1",
            "email-error",
            "already exists",
        ),
        (
            "not-an-email",
            "another passphrase 1",
            "email-error",
            "name@example.com",
        ),
        ("grace@example.com", "tiny1", "password-error", "at least 8"),
    ];
    for (typed_email, typed_password, field, words) in cases {
        let response = s
            .form(
                "/register",
                &[
                    ("name", "Grace <Hopper>"),
                    ("email", typed_email),
                    ("password", typed_password),
                ],
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!response.headers().contains_key(SET_COOKIE));
        let body = response.text().await.unwrap();
        let error = &body[body.find(&format!("id=\"{field}\"")).unwrap()..];
        assert!(error[..200].contains(words), "{field}: {error}");
        assert!(
            body.contains(r#"value="Grace &lt;Hopper&gt;""#),
            "name not kept"
        );
        assert!(
            body.contains(&format!(r#"value="{typed_email}""#)),
            "email not kept"
        );
        assert!(!body.contains(typed_password), "the password was echoed");
    }

    let wrong = s
        .form(
            "/login",
            &[("email", &address), ("password", "a wrong password")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = wrong.text().await.unwrap();
    assert!(body.contains("Email or password is incorrect."));
    assert!(body.contains(&format!(r#"value="{address}""#)));
    assert!(!body.contains("a wrong password"));
    // Unknown accounts get the very same page.
    let unknown = s
        .form(
            "/login",
            &[
                ("email", "nobody@example.com"),
                ("password", "a wrong password"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown
            .text()
            .await
            .unwrap()
            .replace("nobody@example.com", ""),
        body.replace(&address, "")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_links_need_a_click_and_reset_links_work_once() {
    let s = start(&[]).await;
    let (address, cookie) = s.register("Ada").await;
    let token = csrf_token(
        &s.page("/dashboard", Some(&cookie))
            .await
            .text()
            .await
            .unwrap(),
    );
    let sent = s
        .form("/verify-email/send", &[("csrf_token", &token)])
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&sent), "/dashboard?notice=verification-sent");
    let verify = s
        .mailer
        .last_token(&address, EmailKind::VerifyEmail)
        .unwrap();
    // A link scanner opening the link twice consumes nothing.
    for _ in 0..2 {
        let page = s.page(&format!("/verify-email?token={verify}"), None).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains(&verify));
    }
    let user = |manager: Manager, address: String| async move {
        manager
            .backend()
            .find_user_by_email(&address)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(
        !user(s.manager.clone(), address.clone())
            .await
            .email_verified
    );
    let confirmed = s
        .form("/verify-email", &[("token", &verify)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&confirmed), "/verify-email/done");
    assert!(
        user(s.manager.clone(), address.clone())
            .await
            .email_verified
    );
    let again = s
        .form("/verify-email", &[("token", &verify)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("invalid, expired, or was already used")
    );

    // Forgot password: one answer for known and unknown addresses.
    let known = s
        .form("/forgot-password", &[("email", &address)])
        .send()
        .await
        .unwrap();
    let unknown = s
        .form("/forgot-password", &[("email", "nobody@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(known.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&known), location(&unknown));
    s.manager.wait_for_background_tasks().await;
    let reset = s
        .mailer
        .last_token(&address, EmailKind::PasswordReset)
        .unwrap();
    let page = s
        .page(&format!("/reset-password?token={reset}"), None)
        .await;
    assert_page_headers(&page);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!(r#"name="token" value="{reset}""#))
    );
    let weak = s
        .form(
            "/reset-password",
            &[("token", &reset), ("password", "short")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = s
        .form(
            "/reset-password",
            &[("token", &reset), ("password", "a new passphrase 2")],
        )
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&done), "/login?notice=password-reset");
    assert!(
        done.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        s.page("/dashboard", Some(&cookie)).await.status(),
        StatusCode::SEE_OTHER,
        "a reset must end the old sessions"
    );
    let reused = s
        .form(
            "/reset-password",
            &[("token", &reset), ("password", "a third passphrase 3")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_credential_forms_are_rate_limited() {
    let s = start(&["--rate-limit", "3"]).await;
    for _ in 0..3 {
        let response = s
            .form(
                "/login",
                &[("email", "x@example.com"), ("password", "whatever pass")],
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = s
        .form(
            "/register",
            &[
                ("name", "X"),
                ("email", "x@example.com"),
                ("password", PASSWORD),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    assert_page_headers(&limited);
    assert!(
        limited
            .text()
            .await
            .unwrap()
            .contains("Too many attempts, try again in 1 minute.")
    );
    // Pages that take no credentials are not limited.
    assert_eq!(s.page("/login", None).await.status(), StatusCode::OK);
}
