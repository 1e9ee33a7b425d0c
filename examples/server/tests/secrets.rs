//! No secret leaks: a scripted tour of every `/auth` route (and the failing variants) over real
//! HTTP with every log line captured at TRACE (all targets: the server, Portcullis, sqlx,
//! SeaORM, hyper), then a search of the logs, of every error body and of the whole database
//! for each secret used or received on the way:
//!
//! - passwords (right, wrong, weak, new, in malformed and oversized bodies),
//! - session tokens (from bodies and cookies), verification, reset and email-change tokens
//!   (from the emailed links), the CSRF form token, a made-up token that was never issued,
//! - the SHA-256 of every token, in hex (both cases) and base64url,
//! - the stored password hashes (whole, and their salt and hash parts).
//!
//! Logs and error bodies must hold none of them; response bodies never a password or a hash;
//! the database (SQLite: the raw file and its WAL too) no raw token and no password.
//! Runs on SQLite in a file, PostgreSQL and MySQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use portcullis_core::{EmailKind, Token};
use portcullis_manager::MemoryMailer;
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_sea_orm::sea_orm::{ConnectionTrait, Statement};
use portcullis_sea_orm::testing;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use server::Manager;

// ----------------------------------------------------------------------------------------
// Log capture: one subscriber for this test binary, every level, every target.

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let buffer = Arc::clone(LOGS.get_or_init(Arc::default));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&buffer)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.get().unwrap().lock().unwrap()).into_owned()
}

// ----------------------------------------------------------------------------------------
// The tour.

/// Every secret seen, by kind, and every response body.
#[derive(Default)]
struct Seen {
    passwords: Vec<String>,
    tokens: Vec<String>,
    /// Hashes of tokens and passwords: never in a log line or any response.
    hashes: Vec<String>,
    /// (request, status, body) of every response.
    responses: Vec<(String, StatusCode, String)>,
}

impl Seen {
    fn password(&mut self, password: &str) -> String {
        self.passwords.push(password.to_owned());
        password.to_owned()
    }

    fn token(&mut self, token: &str) -> String {
        self.tokens.push(token.to_owned());
        if let Some(parsed) = Token::parse(token) {
            let hash = parsed.hash();
            self.hashes.push(hash.to_hex());
            self.hashes.push(hash.to_hex().to_uppercase());
            self.hashes.push(hash.to_base64url());
        }
        token.to_owned()
    }
}

struct Tour {
    base: String,
    manager: Manager,
    mailer: MemoryMailer,
    http: Client,
    seen: Seen,
    /// Makes every secret of this tour unique in the logs of the whole binary.
    run: String,
}

impl Tour {
    fn secret(&self, label: &str) -> String {
        format!("{label} {}", self.run)
    }

    fn request(&self, method: &str, path: &str) -> RequestBuilder {
        self.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.base),
        )
    }

    /// Sends, records the body, returns (status, body as JSON or Null, Set-Cookie).
    async fn send(
        &mut self,
        label: &str,
        request: RequestBuilder,
    ) -> (StatusCode, Value, Option<String>) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let cookie = response
            .headers()
            .get(SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        self.seen
            .responses
            .push((label.to_owned(), status, text.clone()));
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            cookie,
        )
    }

    async fn json(
        &mut self,
        method: &str,
        path: &str,
        body: Value,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let (status, body, _) = self.send(&format!("{method} {path}"), request).await;
        (status, body)
    }

    async fn bare(&mut self, method: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let (status, body, _) = self.send(&format!("{method} {path}"), request).await;
        (status, body)
    }

    fn session_token(&mut self, body: &Value) -> String {
        let token = body["session"]["token"].as_str().unwrap().to_owned();
        self.seen.token(&token)
    }

    /// The token of the last email of `kind` to `to`.
    fn mailed(&mut self, to: &str, kind: EmailKind) -> String {
        let token = self.mailer.last_token(to, kind).unwrap();
        self.seen.token(&token)
    }
}

/// The same database through a connection that logs every SQL statement (sqlx, INFO), as an
/// application that builds its own connection might: Portcullis's own connection keeps them
/// off, and this makes sure the statements would carry no secret either.
async fn with_statement_logging(backend: SeaOrmBackend) -> SeaOrmBackend {
    use portcullis_sea_orm::sea_orm::{ConnectOptions, Database, DbBackend};
    let db = backend.connection();
    let kind = db.get_database_backend();
    let first = |sql: &str| {
        let sql = sql.to_owned();
        async move {
            db.query_one_raw(Statement::from_string(kind, sql))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let url = match kind {
        DbBackend::Sqlite => {
            let path: String = first("PRAGMA database_list")
                .await
                .try_get_by_index(2)
                .unwrap();
            format!("sqlite://{path}?mode=rwc")
        }
        DbBackend::Postgres => {
            let name: String = first("SELECT current_database()")
                .await
                .try_get_by_index(0)
                .unwrap();
            testing::with_database(
                &std::env::var("PORTCULLIS_TEST_POSTGRES_URL").unwrap(),
                &name,
            )
        }
        _ => {
            let name: String = first("SELECT DATABASE()")
                .await
                .try_get_by_index(0)
                .unwrap();
            testing::with_database(&std::env::var("PORTCULLIS_TEST_MYSQL_URL").unwrap(), &name)
        }
    };
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(true).max_connections(8);
    if kind == DbBackend::Sqlite {
        // As the library's own SQLite connection: WAL, foreign keys, a busy timeout.
        options.map_sqlx_sqlite_opts(|opts| {
            opts.foreign_keys(true)
                .busy_timeout(std::time::Duration::from_secs(5))
                .journal_mode(portcullis_sea_orm::sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
        });
    }
    let logged = SeaOrmBackend::new(Database::connect(options).await.unwrap());
    // Keep the original connection open until the end (the scratch database lives with it).
    std::mem::forget(backend);
    logged
}

async fn tour(backend: SeaOrmBackend) -> Tour {
    let started = support::start(with_statement_logging(backend).await, &[]).await;
    let mut t = Tour {
        base: started.base,
        manager: started.manager,
        mailer: started.mailer,
        http: Client::new(),
        seen: Seen::default(),
        run: portcullis_core::UserId::new().to_string().replace('-', ""),
    };
    let ok = StatusCode::OK;
    let address = support::email("secret");
    let p1 = t.secret("first passphrase");
    let p1 = t.seen.password(&p1);

    // Register, and the failing variants.
    let (status, body) = t
        .json(
            "POST",
            "/auth/register",
            json!({"name": "Tour", "email": address, "password": p1}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let t1 = t.session_token(&body);
    let weak = t.seen.password(&format!("w{}", &t.run[..6]));
    let (status, _) = t
        .json(
            "POST",
            "/auth/register",
            json!({"name": "Tour", "email": support::email("weak"), "password": weak}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let duplicate = t.secret("duplicate passphrase");
    let duplicate = t.seen.password(&duplicate);
    let (status, _) = t
        .json(
            "POST",
            "/auth/register",
            json!({"name": "Tour", "email": address, "password": duplicate}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Login: wrong password, unknown address, malformed and oversized bodies, success.
    let wrong = t.secret("wrong passphrase");
    let wrong = t.seen.password(&wrong);
    let (status, _) = t
        .json(
            "POST",
            "/auth/login",
            json!({"email": address, "password": wrong}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .json(
            "POST",
            "/auth/login",
            json!({"email": support::email("nobody"), "password": wrong}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let truncated = t.secret("truncated passphrase");
    let truncated = t.seen.password(&truncated);
    let request = t
        .request("POST", "/auth/login")
        .header(CONTENT_TYPE, "application/json")
        .body(format!(
            "{{\"email\": \"{address}\", \"password\": \"{truncated}\""
        ));
    let (status, _, _) = t.send("POST /auth/login (truncated)", request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let nested = t.secret("nested passphrase");
    let nested = t.seen.password(&nested);
    let (status, _) = t
        .json(
            "POST",
            "/auth/login",
            json!({"email": address, "password": {"value": nested}}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let oversized = t.secret("oversized passphrase");
    let oversized = t.seen.password(&oversized);
    let (status, _) = t
        .json(
            "POST",
            "/auth/login",
            json!({"email": address, "password": oversized, "pad": "p".repeat(20_000)}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = t
        .json(
            "POST",
            "/auth/login",
            json!({"email": address, "password": p1}),
            None,
        )
        .await;
    assert_eq!(status, ok);
    let t2 = t.session_token(&body);

    // Me, profile, sessions: with good, revoked and never-issued tokens.
    assert_eq!(t.bare("GET", "/auth/me", Some(&t2)).await.0, ok);
    let never_issued = Token::generate().unwrap();
    let never_issued = t.seen.token(never_issued.expose());
    assert_eq!(
        t.bare("GET", "/auth/me", Some(&never_issued)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = t
        .json("PATCH", "/auth/me", json!({"name": "Toured"}), Some(&t2))
        .await;
    assert_eq!(status, ok);
    let (status, sessions) = t.bare("GET", "/auth/sessions", Some(&t2)).await;
    assert_eq!(status, ok);
    let first_session = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        t.bare(
            "DELETE",
            &format!("/auth/sessions/{first_session}"),
            Some(&t2)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.bare(
            "DELETE",
            "/auth/sessions/00000000-0000-0000-0000-000000000000",
            Some(&t2)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.bare("GET", "/auth/me", Some(&t1)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Email verification: request, confirm, replay.
    assert_eq!(
        t.bare("POST", "/auth/verify/request", Some(&t2)).await.0,
        StatusCode::ACCEPTED
    );
    let verify = t.mailed(&address, EmailKind::VerifyEmail);
    assert_eq!(
        t.json("POST", "/auth/verify", json!({"token": verify}), None)
            .await
            .0,
        ok
    );
    assert_eq!(
        t.json("POST", "/auth/verify", json!({"token": verify}), None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        t.json("POST", "/auth/verify", json!({"token": never_issued}), None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    // Forgot and reset: a superseded link, a weak password, success, replay.
    assert_eq!(
        t.json(
            "POST",
            "/auth/password/forgot",
            json!({"email": address}),
            None
        )
        .await
        .0,
        StatusCode::ACCEPTED
    );
    t.manager.wait_for_background_tasks().await;
    let superseded = t.mailed(&address, EmailKind::PasswordReset);
    assert_eq!(
        t.json(
            "POST",
            "/auth/password/forgot",
            json!({"email": address}),
            None
        )
        .await
        .0,
        StatusCode::ACCEPTED
    );
    t.manager.wait_for_background_tasks().await;
    let reset = t.mailed(&address, EmailKind::PasswordReset);
    assert_ne!(reset, superseded);
    let p2 = t.secret("second passphrase");
    let p2 = t.seen.password(&p2);
    let (status, _) = t
        .json(
            "POST",
            "/auth/password/reset",
            json!({"token": superseded, "password": p2}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let tiny = t.seen.password(&format!("t{}", &t.run[..5]));
    let (status, _) = t
        .json(
            "POST",
            "/auth/password/reset",
            json!({"token": reset, "password": tiny}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = t
        .json(
            "POST",
            "/auth/password/reset",
            json!({"token": reset, "password": p2}),
            None,
        )
        .await;
    assert_eq!(status, ok);
    let (status, _) = t
        .json(
            "POST",
            "/auth/password/reset",
            json!({"token": reset, "password": p2}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.bare("GET", "/auth/me", Some(&t2)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = t
        .json(
            "POST",
            "/auth/login",
            json!({"email": address, "password": p2}),
            None,
        )
        .await;
    assert_eq!(status, ok);
    let t3 = t.session_token(&body);

    // Change password: wrong current, success (a fresh session).
    let wrong_current = t.secret("wrong current passphrase");
    let wrong_current = t.seen.password(&wrong_current);
    let p3 = t.secret("third passphrase");
    let p3 = t.seen.password(&p3);
    let (status, _) = t
        .json(
            "POST",
            "/auth/password/change",
            json!({"current_password": wrong_current, "new_password": p3}),
            Some(&t3),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = t
        .json(
            "POST",
            "/auth/password/change",
            json!({"current_password": p2, "new_password": p3}),
            Some(&t3),
        )
        .await;
    assert_eq!(status, ok);
    let t4 = t.session_token(&body);

    // Change email: wrong password, success, confirm.
    let new_address = support::email("moved");
    let wrong_email_password = t.secret("wrong email passphrase");
    let wrong_email_password = t.seen.password(&wrong_email_password);
    let (status, _) = t
        .json(
            "POST",
            "/auth/email/change",
            json!({"new_email": new_address, "password": wrong_email_password}),
            Some(&t4),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .json(
            "POST",
            "/auth/email/change",
            json!({"new_email": new_address, "password": p3}),
            Some(&t4),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let confirm = t.mailed(&new_address, EmailKind::VerifyEmail);
    let (status, body) = t
        .json("POST", "/auth/verify", json!({"token": confirm}), None)
        .await;
    assert_eq!(
        (status, body["email"].as_str()),
        (ok, Some(new_address.as_str()))
    );
    assert_eq!(t.bare("GET", "/auth/events", Some(&t4)).await.0, ok);

    // Cookie mode: the session cookie, the CSRF form token of a page, a refused cross-site
    // POST, an accepted one with the token.
    let request = t
        .request("POST", "/auth/login")
        .json(&json!({"email": new_address, "password": p3}));
    let (status, body, set_cookie) = t.send("POST /auth/login (cookie)", request).await;
    assert_eq!(status, ok);
    let t5 = t.session_token(&body);
    let cookie = set_cookie.unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(cookie, format!("portcullis_session={t5}"));
    let dashboard = t
        .request("GET", "/dashboard")
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = dashboard.find("name=\"csrf_token\" value=\"").unwrap() + 25;
    let csrf = dashboard[start..][..dashboard[start..].find('"').unwrap()].to_owned();
    let csrf = t.seen.token(&csrf);
    let request = t
        .request("POST", "/auth/sessions/revoke-others")
        .header(COOKIE, &cookie)
        .header("x-csrf-token", format!("{csrf}x"));
    assert_eq!(
        t.send("POST revoke-others (bad csrf)", request).await.0,
        StatusCode::FORBIDDEN
    );
    let request = t
        .request("POST", "/auth/sessions/revoke-others")
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf);
    assert_eq!(
        t.send("POST revoke-others (csrf)", request).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.bare("GET", "/auth/me", Some(&t4)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The HTML forms: refusals from axum's extractors (logged by axum at TRACE) for bodies
    // holding a password.
    let form_password = t.secret("form passphrase");
    let form_password = t.seen.password(&form_password);
    let request = t
        .request("POST", "/login")
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("email", new_address.as_str()),
            ("password", &form_password),
            ("pad", &"p".repeat(20_000)),
        ]);
    assert_eq!(
        t.send("POST /login (oversized form)", request).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let request = t
        .request("POST", "/register")
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"name": "Form", "email": support::email("form"), "password": form_password}));
    assert_eq!(
        t.send("POST /register (JSON)", request).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let request = t
        .request("POST", "/login")
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("email", new_address.as_str()),
            ("password", &form_password),
        ]);
    assert_eq!(
        t.send("POST /login (wrong password)", request).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Log out, twice.
    assert_eq!(t.bare("POST", "/auth/logout", Some(&t5)).await.0, ok);
    assert_eq!(t.bare("POST", "/auth/logout", Some(&t5)).await.0, ok);
    assert_eq!(
        t.bare("GET", "/auth/me", Some(&t5)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Every emailed token, also those not used above.
    for email in t.mailer.sent() {
        if let Some(link) = email.link {
            let token = link.expose().split("token=").nth(1).unwrap().to_owned();
            t.seen.token(&token);
        }
    }
    // The stored password hashes, whole and in parts.
    let db = t.manager.backend().connection();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT password FROM portcullis_account",
        ))
        .await
        .unwrap();
    for row in rows {
        let Some(hash) = row.try_get_by_index::<Option<String>>(0).unwrap() else {
            continue;
        };
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        for part in hash.split('$').skip(4) {
            t.seen.hashes.push(part.to_owned());
        }
        t.seen.hashes.push(hash);
    }
    t.manager.wait_for_background_tasks().await;
    t
}

async fn no_secret_reaches_the_logs_error_bodies_or_the_database(backend: SeaOrmBackend) {
    capture_logs();
    let t = tour(backend).await;
    let seen = &t.seen;
    assert!(
        seen.passwords.len() >= 12 && seen.tokens.len() >= 10,
        "the tour collected too little"
    );

    // The capture works and sees the layers that could leak: every SQL statement (sqlx),
    // axum's rejections (TRACE), the HTTP client's connection pool (TRACE).
    let logs = captured_logs();
    assert!(
        logs.contains("sqlx::query"),
        "sqlx statements are not captured"
    );
    assert!(
        logs.contains("portcullis_session"),
        "SQL text is not captured"
    );
    assert!(
        logs.contains("axum::rejection"),
        "axum's rejections are not captured"
    );
    assert!(logs.contains("TRACE"), "TRACE events are not captured");

    let all = seen
        .passwords
        .iter()
        .map(|s| ("password", s))
        .chain(seen.tokens.iter().map(|s| ("token", s)))
        .chain(seen.hashes.iter().map(|s| ("hash", s)));
    for (kind, secret) in all.clone() {
        assert!(!logs.contains(secret.as_str()), "a {kind} reached the logs");
    }
    for (request, status, body) in &seen.responses {
        if status.is_client_error() || status.is_server_error() {
            for (kind, secret) in all.clone() {
                assert!(
                    !body.contains(secret.as_str()),
                    "{request} ({status}): a {kind} in the error body"
                );
            }
        }
        for (kind, secret) in all.clone().filter(|(kind, _)| *kind != "token") {
            assert!(
                !body.contains(secret.as_str()),
                "{request} ({status}): a {kind} in the body"
            );
        }
    }
    assert!(
        seen.responses
            .iter()
            .filter(|(_, s, _)| s.is_client_error())
            .count()
            >= 20
    );

    // The database: no raw token, no password, in any column of any table (and, on
    // SQLite, anywhere in the file or its write-ahead log).
    let stored = support::database_contents(&t.manager).await;
    assert!(
        support::contains(&stored, &t.seen.hashes[t.seen.hashes.len() - 1]),
        "the password hash is not found: not reading the database?"
    );
    for (kind, secret) in seen
        .passwords
        .iter()
        .map(|s| ("password", s))
        .chain(seen.tokens.iter().map(|s| ("token", s)))
    {
        assert!(
            !support::contains(&stored, secret),
            "a raw {kind} is stored in the database"
        );
    }
    println!(
        "{} passwords, {} tokens, {} hashes; {} responses; {} bytes of logs; {} bytes of database",
        seen.passwords.len(),
        seen.tokens.len(),
        seen.hashes.len(),
        seen.responses.len(),
        logs.len(),
        stored.len()
    );
}

macro_rules! secret_tests {
    ($module:ident, $factory:expr) => {
        mod $module {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn no_secret_reaches_the_logs_error_bodies_or_the_database() {
                if let Some(backend) = ($factory)().await {
                    super::no_secret_reaches_the_logs_error_bodies_or_the_database(backend).await;
                }
            }
        }
    };
}

secret_tests!(sqlite_file, testing::sqlite_file);
secret_tests!(postgres, testing::postgres);
secret_tests!(mysql, testing::mysql);
