//! Races over real HTTP (reqwest against the demo server in-process), on SQLite in a file,
//! PostgreSQL and MySQL: concurrent registrations of one address or username, concurrent
//! wrong-password logins, concurrent redemptions of one reset / verification / email-change
//! token, two email changes to one address, and revocation racing authentication.
//!
//! The manager-level versions (`crates/manager/tests`, `crates/testkit` conformance) call the
//! library directly; these go through the whole stack (hyper, axum, extractors, the layers,
//! the pool) and count the rows left in the database afterwards.
//!
//! Every burst is released at once behind a `tokio::sync::Barrier`. The hashing pool's queue
//! is widened ([`roomy_hasher`]) so that every request of a burst reaches the database: with
//! the default queue (32 per core) a burst of 100 gets some fast `503 overloaded` answers,
//! which is the pool working as designed (`faults.rs` tests that), not the race under test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_core::{AccountStore, EmailKind, UserStore};
use portcullis_manager::{AuthConfig, MemoryMailer, SessionCacheConfig};
use portcullis_password::{HashingPool, MultiHasher};
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_sea_orm::testing;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use server::Manager;
use tokio::sync::Barrier;

const PASSWORD: &str = "correct horse battery staple";

/// The default hasher on a pool whose queue holds any burst these tests send.
fn roomy_hasher() -> MultiHasher {
    let permits = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    MultiHasher::new().with_pool(HashingPool::new(permits, 1024))
}

#[derive(Clone)]
struct Server {
    base: String,
    manager: Manager,
    mailer: MemoryMailer,
    http: Client,
}

async fn start(backend: SeaOrmBackend) -> Server {
    start_with(backend, AuthConfig::default()).await
}

async fn start_with(backend: SeaOrmBackend, config: AuthConfig) -> Server {
    let started = support::start_with(backend, &[], roomy_hasher(), config).await;
    Server {
        base: started.base,
        manager: started.manager,
        mailer: started.mailer,
        http: Client::new(),
    }
}

/// Status, `code` (errors) and body of a response.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// `201`, `409 email_taken`, ...: what the tallies count.
    fn label(&self) -> String {
        match self.code() {
            "" => self.status.as_u16().to_string(),
            code => format!("{} {code}", self.status.as_u16()),
        }
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, method: &str, path: &str, body: Value, token: Option<&str>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, self.url(path));
        if !body.is_null() {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer { status, body }
    }

    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Answer {
        self.send("POST", path, body, token).await
    }

    /// Registers `address`; returns the session token.
    async fn register(&self, address: &str) -> String {
        let answer = self
            .post(
                "/auth/register",
                json!({"name": "Racer", "email": address, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["session"]["token"].as_str().unwrap().to_owned()
    }

    /// Logs in; returns (token, session id).
    async fn login(&self, address: &str, password: &str) -> (String, String) {
        let answer = self
            .post(
                "/auth/login",
                json!({"email": address, "password": password}),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let session = &answer.body["session"];
        (
            session["token"].as_str().unwrap().to_owned(),
            session["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn count(&self, sql: &str) -> i64 {
        support::count(&self.manager, sql).await
    }

    /// Sends `requests` all at once (each task waits on one barrier) and returns the answers
    /// in request order.
    async fn burst(
        &self,
        requests: Vec<(&'static str, String, Value, Option<String>)>,
    ) -> Vec<Answer> {
        let barrier = Arc::new(Barrier::new(requests.len()));
        let mut tasks = Vec::new();
        for (method, path, body, token) in requests {
            let barrier = Arc::clone(&barrier);
            let server = self.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                server.send(method, &path, body, token.as_deref()).await
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }
}

fn tally(answers: &[Answer]) -> BTreeMap<String, usize> {
    let mut tally = BTreeMap::new();
    for answer in answers {
        *tally.entry(answer.label()).or_insert(0) += 1;
    }
    tally
}

/// `address` in full-width forms (NFKC folds them back): `ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ`.
fn full_width(address: &str) -> String {
    address
        .chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            other => other,
        })
        .collect()
}

/// 100 concurrent registrations of one address, written four ways that normalise alike
/// (as typed, upper case, full width, padded with spaces): one 201, 99 × 409, one row.
async fn concurrent_registrations_of_one_email_create_one_user(backend: SeaOrmBackend) {
    let s = start(backend).await;
    let address = support::email("race");
    let requests = (0..100)
        .map(|i| {
            let email = match i % 4 {
                0 => address.clone(),
                1 => address.to_uppercase(),
                2 => full_width(&address),
                _ => format!("  {address} "),
            };
            let body = json!({"name": format!("Racer {i}"), "email": email, "password": PASSWORD});
            ("POST", "/auth/register".to_owned(), body, None)
        })
        .collect();
    let answers = s.burst(requests).await;
    let counts = tally(&answers);
    assert_eq!(counts.get("201"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("409 email_taken"), Some(&99), "{counts:?}");
    let winner = answers
        .iter()
        .find(|a| a.status == StatusCode::CREATED)
        .unwrap();
    assert_eq!(winner.body["user"]["email"], address.as_str());

    assert_eq!(s.count("SELECT COUNT(*) FROM portcullis_user").await, 1);
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM portcullis_user WHERE email = '{address}'"
        ))
        .await,
        1
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM portcullis_account").await, 1);
    assert_eq!(s.count("SELECT COUNT(*) FROM portcullis_session").await, 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_auth_event WHERE kind = 'register'")
            .await,
        1
    );
    // The winner's password is the one stored.
    s.login(&address, PASSWORD).await;
}

/// 50 concurrent registrations with different addresses and one username: one 201, 49 × 409.
async fn concurrent_registrations_of_one_username_create_one_user(backend: SeaOrmBackend) {
    let s = start(backend).await;
    let requests = (0..50)
        .map(|i| {
            let body = json!({
                "name": "Racer",
                "email": support::email(&format!("name{i}")),
                "password": PASSWORD,
                "username": if i % 2 == 0 { "the_racer" } else { "The_Racer" },
            });
            ("POST", "/auth/register".to_owned(), body, None)
        })
        .collect();
    let counts = tally(&s.burst(requests).await);
    assert_eq!(counts.get("201"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("409 username_taken"), Some(&49), "{counts:?}");
    assert_eq!(s.count("SELECT COUNT(*) FROM portcullis_user").await, 1);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_user WHERE username = 'the_racer'")
            .await,
        1
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM portcullis_account").await, 1);
}

fn wrong_logins(address: &str, n: usize) -> Vec<(&'static str, String, Value, Option<String>)> {
    (0..n)
        .map(|i| {
            let body = json!({"email": address, "password": format!("wrong password {i}")});
            ("POST", "/auth/login".to_owned(), body, None)
        })
        .collect()
}

/// 50 concurrent wrong passwords with the default threshold (5): exactly 5 × 401 and 45 × 429,
/// one `locked_out` event, 50
/// `login_failed` events; then even the right password is refused until the lock ends.
async fn concurrent_wrong_logins_lock_exactly_at_the_threshold(backend: SeaOrmBackend) {
    let s = start(backend).await;
    let address = support::email("lock");
    s.register(&address).await;
    let answers = s.burst(wrong_logins(&address, 50)).await;
    let counts = tally(&answers);
    assert_eq!(
        counts.get("401 invalid_credentials"),
        Some(&5),
        "{counts:?}"
    );
    assert_eq!(counts.get("429 rate_limited"), Some(&45), "{counts:?}");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_auth_event WHERE kind = 'login_failed'")
            .await,
        50
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_auth_event WHERE kind = 'locked_out'")
            .await,
        1,
        "the threshold was crossed more than once: the counter is not atomic"
    );
    // Failures counted in storage: at least the threshold, never more than were sent (those
    // that found the account already locked are refused without counting).
    let user = s
        .manager
        .backend()
        .find_user_by_email(&address)
        .await
        .unwrap()
        .unwrap();
    let failed = s
        .manager
        .backend()
        .failed_logins(user.id)
        .await
        .unwrap()
        .unwrap();
    assert!((5..=50).contains(&failed.count), "{}", failed.count);
    let locked = s
        .post(
            "/auth/login",
            json!({"email": address, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(locked.label(), "429 rate_limited");
}

/// With a threshold above the burst, 50 concurrent wrong passwords are all answered 401 and
/// the stored counter is exactly 50: no increment is lost.
async fn concurrent_wrong_logins_are_all_counted(backend: SeaOrmBackend) {
    let s = start_with(
        backend,
        AuthConfig {
            max_failed_logins: 1000,
            ..AuthConfig::default()
        },
    )
    .await;
    let address = support::email("count");
    s.register(&address).await;
    let counts = tally(&s.burst(wrong_logins(&address, 50)).await);
    assert_eq!(
        counts.get("401 invalid_credentials"),
        Some(&50),
        "{counts:?}"
    );
    let backend = s.manager.backend();
    let user = backend.find_user_by_email(&address).await.unwrap().unwrap();
    let failed = backend.failed_logins(user.id).await.unwrap().unwrap();
    assert_eq!(failed.count, 50, "lost updates in the failure counter");
    // A success clears it.
    s.login(&address, PASSWORD).await;
    assert!(backend.failed_logins(user.id).await.unwrap().is_none());
}

/// One reset token redeemed 20 times at once (each with its own new password): one 200, 19 ×
/// 400 `invalid_token`; the winner's password is the one that logs in; no reset row is left.
async fn concurrent_reset_redemptions_have_one_winner(backend: SeaOrmBackend) {
    let s = start(backend).await;
    let address = support::email("reset");
    let token = s.register(&address).await;
    let forgot = s
        .post("/auth/password/forgot", json!({"email": address}), None)
        .await;
    assert_eq!(forgot.status, StatusCode::ACCEPTED);
    s.manager.wait_for_background_tasks().await;
    let reset = s
        .mailer
        .last_token(&address, EmailKind::PasswordReset)
        .unwrap();
    let requests = (0..20)
        .map(|i| {
            let body = json!({"token": reset, "password": format!("racing passphrase {i}")});
            ("POST", "/auth/password/reset".to_owned(), body, None)
        })
        .collect();
    let answers = s.burst(requests).await;
    let counts = tally(&answers);
    assert_eq!(counts.get("200"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("400 invalid_token"), Some(&19), "{counts:?}");
    let winner = answers
        .iter()
        .position(|a| a.status == StatusCode::OK)
        .unwrap();
    let loser = (winner + 1) % 20;
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_auth_event WHERE kind = 'password_reset'")
            .await,
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_verification")
            .await,
        0
    );
    assert_eq!(
        s.send("GET", "/auth/me", Value::Null, Some(&token))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "a reset ends every session"
    );
    s.login(&address, &format!("racing passphrase {winner}"))
        .await;
    let lost = s
        .post(
            "/auth/login",
            json!({"email": address, "password": format!("racing passphrase {loser}")}),
            None,
        )
        .await;
    assert_eq!(lost.label(), "401 invalid_credentials");
}

/// One verification token redeemed 20 times at once: one 200, 19 × 400, one
/// `email_verified` event, no verification row left.
async fn concurrent_verifications_have_one_winner(backend: SeaOrmBackend) {
    let s = start(backend).await;
    let address = support::email("verify");
    let token = s.register(&address).await;
    let requested = s
        .post("/auth/verify/request", Value::Null, Some(&token))
        .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED);
    let verify = s
        .mailer
        .last_token(&address, EmailKind::VerifyEmail)
        .unwrap();
    let requests = (0..20)
        .map(|_| {
            let body = json!({"token": verify});
            ("POST", "/auth/verify".to_owned(), body, None)
        })
        .collect();
    let answers = s.burst(requests).await;
    let counts = tally(&answers);
    assert_eq!(counts.get("200"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("400 invalid_token"), Some(&19), "{counts:?}");
    let winner = answers.iter().find(|a| a.status == StatusCode::OK).unwrap();
    assert_eq!(winner.body["email_verified"], true);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_auth_event WHERE kind = 'email_verified'")
            .await,
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_verification")
            .await,
        0
    );
}

/// One email-change link opened 20 times at once: one 200, 19 × 400, one `email_changed`
/// event. Then two users race to confirm changes to the same new address: one 200, one
/// 409 `email_taken`, and one row holds the address.
async fn concurrent_email_change_confirmations_have_one_winner(backend: SeaOrmBackend) {
    let s = start(backend).await;
    let first = support::email("move");
    let first_token = s.register(&first).await;
    let target = support::email("target");
    let change = s
        .post(
            "/auth/email/change",
            json!({"new_email": target, "password": PASSWORD}),
            Some(&first_token),
        )
        .await;
    assert_eq!(change.status, StatusCode::ACCEPTED, "{}", change.body);
    let confirm = s
        .mailer
        .last_token(&target, EmailKind::VerifyEmail)
        .unwrap();
    let requests = (0..20)
        .map(|_| {
            (
                "POST",
                "/auth/verify".to_owned(),
                json!({"token": confirm}),
                None,
            )
        })
        .collect();
    let answers = s.burst(requests).await;
    let counts = tally(&answers);
    assert_eq!(counts.get("200"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("400 invalid_token"), Some(&19), "{counts:?}");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM portcullis_auth_event WHERE kind = 'email_changed'")
            .await,
        1
    );

    // Two accounts, one new address, both links opened at the same moment.
    let shared = support::email("shared");
    let mut links = Vec::new();
    for prefix in ["left", "right"] {
        let address = support::email(prefix);
        let token = s.register(&address).await;
        let change = s
            .post(
                "/auth/email/change",
                json!({"new_email": shared, "password": PASSWORD}),
                Some(&token),
            )
            .await;
        assert_eq!(change.status, StatusCode::ACCEPTED, "{}", change.body);
        links.push(
            s.mailer
                .last_token(&shared, EmailKind::VerifyEmail)
                .unwrap(),
        );
    }
    let requests = links
        .iter()
        .map(|token| {
            (
                "POST",
                "/auth/verify".to_owned(),
                json!({"token": token}),
                None,
            )
        })
        .collect();
    let counts = tally(&s.burst(requests).await);
    assert_eq!(counts.get("200"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("409 email_taken"), Some(&1), "{counts:?}");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM portcullis_user WHERE email = '{shared}'"
        ))
        .await,
        1
    );
}

/// How a round ends session A while A is in use.
#[derive(Debug, Clone, Copy)]
enum Revoker {
    /// `DELETE /auth/sessions/{A}` from session B.
    DeleteFromAnotherSession,
    /// `POST /auth/sessions/revoke-others` from session B.
    RevokeOthers,
    /// `POST /auth/password/change` from session B (ends every other session).
    PasswordChange,
    /// `POST /auth/logout` with A itself.
    Logout,
}

/// Requests each worker must start after the revocation returned before the round ends.
const AFTER_REVOCATION: usize = 20;
const WORKERS: usize = 8;

/// Eight workers call `GET /auth/me` and `GET /protected` with session A in a loop while
/// another request revokes A. Each request's start is recorded; every request that started
/// after the revoking response arrived must be 401. Requests that started earlier may
/// succeed (they were in flight).
async fn revocation_beats_concurrent_authentication(backend: SeaOrmBackend) {
    revocation_race(backend, AuthConfig::default()).await;
}

/// The same with the in-process session cache on: a revocation through this server evicts
/// the cached session before it returns.
async fn revocation_beats_concurrent_authentication_with_the_session_cache(backend: SeaOrmBackend) {
    let config = AuthConfig {
        session_cache: Some(SessionCacheConfig::default()),
        ..AuthConfig::default()
    };
    revocation_race(backend, config).await;
}

async fn revocation_race(backend: SeaOrmBackend, config: AuthConfig) {
    let s = Arc::new(start_with(backend, config).await);
    let address = support::email("revoke");
    s.register(&address).await;
    let mut password = PASSWORD.to_owned();
    for (round, revoker) in [
        Revoker::DeleteFromAnotherSession,
        Revoker::RevokeOthers,
        Revoker::PasswordChange,
        Revoker::Logout,
    ]
    .into_iter()
    .enumerate()
    {
        let (a_token, a_id) = s.login(&address, &password).await;
        let (b_token, _) = s.login(&address, &password).await;
        let revoked_at: Arc<Mutex<Option<Instant>>> = Arc::default();
        let successes = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for worker in 0..WORKERS {
            let s = Arc::clone(&s);
            let token = a_token.clone();
            let revoked_at = Arc::clone(&revoked_at);
            let successes = Arc::clone(&successes);
            workers.push(tokio::spawn(async move {
                let path = if worker % 2 == 0 {
                    "/auth/me"
                } else {
                    "/protected"
                };
                let mut records: Vec<(Instant, StatusCode)> = Vec::new();
                loop {
                    let started = Instant::now();
                    let status = s.send("GET", path, Value::Null, Some(&token)).await.status;
                    assert!(
                        status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
                        "{path}: {status}"
                    );
                    if status == StatusCode::OK {
                        successes.fetch_add(1, Ordering::SeqCst);
                    }
                    records.push((started, status));
                    let revoked = *revoked_at.lock().unwrap();
                    if let Some(at) = revoked
                        && records.iter().filter(|(t, _)| *t > at).count() >= AFTER_REVOCATION
                    {
                        return records;
                    }
                    assert!(records.len() < 100_000, "the revocation never happened");
                }
            }));
        }
        // Let the workers get going, then revoke.
        let deadline = Instant::now() + Duration::from_secs(60);
        while successes.load(Ordering::SeqCst) < 4 * WORKERS {
            assert!(Instant::now() < deadline, "no request succeeded");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let answer = match revoker {
            Revoker::DeleteFromAnotherSession => {
                s.send(
                    "DELETE",
                    &format!("/auth/sessions/{a_id}"),
                    Value::Null,
                    Some(&b_token),
                )
                .await
            }
            Revoker::RevokeOthers => {
                s.post("/auth/sessions/revoke-others", Value::Null, Some(&b_token))
                    .await
            }
            Revoker::PasswordChange => {
                let new_password = format!("changed passphrase {round}");
                let answer = s
                    .post(
                        "/auth/password/change",
                        json!({"current_password": password, "new_password": new_password}),
                        Some(&b_token),
                    )
                    .await;
                password = new_password;
                answer
            }
            Revoker::Logout => s.post("/auth/logout", Value::Null, Some(&a_token)).await,
        };
        let at = Instant::now();
        assert!(
            answer.status.is_success(),
            "{revoker:?}: {}",
            answer.label()
        );
        *revoked_at.lock().unwrap() = Some(at);

        let mut before_ok = 0;
        let mut after = 0;
        for worker in workers {
            for (started, status) in worker.await.unwrap() {
                if started > at {
                    after += 1;
                    assert_eq!(
                        status,
                        StatusCode::UNAUTHORIZED,
                        "{revoker:?}: a request started after the revocation returned succeeded"
                    );
                } else if status == StatusCode::OK {
                    before_ok += 1;
                }
            }
        }
        assert!(after >= WORKERS * AFTER_REVOCATION);
        assert!(before_ok >= 4 * WORKERS, "{revoker:?}: {before_ok}");
        println!(
            "{revoker:?}: {before_ok} successes before, {after} requests after the revocation (all 401)"
        );
    }
}

macro_rules! race_tests {
    ($module:ident, $factory:expr) => {
        mod $module {
            use super::*;
            race_tests!(@cases $factory;
                concurrent_registrations_of_one_email_create_one_user,
                concurrent_registrations_of_one_username_create_one_user,
                concurrent_wrong_logins_lock_exactly_at_the_threshold,
                concurrent_wrong_logins_are_all_counted,
                concurrent_reset_redemptions_have_one_winner,
                concurrent_verifications_have_one_winner,
                concurrent_email_change_confirmations_have_one_winner,
                revocation_beats_concurrent_authentication,
                revocation_beats_concurrent_authentication_with_the_session_cache,
            );
        }
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(backend) = ($factory)().await {
                    super::$case(backend).await;
                }
            }
        )*
    };
}

race_tests!(sqlite_file, testing::sqlite_file);
race_tests!(postgres, testing::postgres);
race_tests!(mysql, testing::mysql);
