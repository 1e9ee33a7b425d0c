//! Fault injection against the demo server, in-process over real HTTP:
//!
//! - the PostgreSQL server stopped while the server runs under load, then started again:
//!   `503 storage_unavailable` JSON meanwhile (never 500, never a protected route let
//!   through), `/health` still answers, and the same server serves again afterwards with every
//!   user and session written before the outage. It stops the local PostgreSQL cluster, which
//!   breaks every other test using it, so it runs only with `PORTCULLIS_FAULT_INJECTION=1`
//!   (`.ci/run` runs it in a step of its own after the main test run);
//! - a connection pool held empty (every connection inside an unfinished transaction, as slow
//!   queries would): requests answer `503 storage_unavailable` once the pool's acquire timeout
//!   passes, and succeed once the connections are released (SQLite file, PostgreSQL);
//! - the password-hashing queue full: a login flood is answered `503 overloaded` at once
//!   instead of queueing without bound, while `/health` and authenticated requests keep
//!   answering.
//!
//! The time bounds asserted below are generous limits on waiting (an answer must come, and
//! not long after the configured timeout), not speed measurements.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_password::{HashingPool, MultiHasher};
use portcullis_sea_orm::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, Statement,
    TransactionTrait,
};
use portcullis_sea_orm::{SeaOrmBackend, testing};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio::sync::RwLock;

const PASSWORD: &str = "correct horse battery staple";

/// The PostgreSQL outage takes this for writing, every other test here for reading: the
/// outage runs alone in this process (its file-descriptor and thread counts are its own).
static EXCLUSIVE: RwLock<()> = RwLock::const_new(());

/// Writes a line the test harness does not capture: it shows in the log even when the test
/// passes (`.ci/run` looks for it).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A client that gives up after 30 s: a request left unanswered fails the test instead of
/// hanging it.
fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// What the server answered, or `status: None` when it did not answer at all.
#[derive(Debug, Clone)]
struct Answer {
    status: Option<StatusCode>,
    code: Option<String>,
    json: bool,
    no_store: bool,
    retry_after: Option<String>,
    body: Option<Value>,
}

impl Answer {
    fn is(&self, status: StatusCode, code: &str) -> bool {
        self.status == Some(status) && self.json && self.code.as_deref() == Some(code)
    }

    fn is_storage_unavailable(&self) -> bool {
        self.is(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable") && self.no_store
    }

    fn ok(&self) -> bool {
        self.status == Some(StatusCode::OK)
    }

    /// `200`, `503 storage_unavailable` or `no answer`, for the tallies.
    fn label(&self) -> String {
        match (self.status, &self.code) {
            (None, _) => "no answer".to_owned(),
            (Some(status), Some(code)) if !status.is_success() => {
                format!("{} {code}", status.as_u16())
            }
            (Some(status), _) => status.as_u16().to_string(),
        }
    }
}

async fn send(request: RequestBuilder) -> Answer {
    let Ok(response) = request.send().await else {
        return Answer {
            status: None,
            code: None,
            json: false,
            no_store: false,
            retry_after: None,
            body: None,
        };
    };
    let status = response.status();
    let headers = response.headers();
    let json = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v == "application/json");
    let no_store = headers.get(CACHE_CONTROL).is_some_and(|v| v == "no-store");
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Option<Value> = response.json().await.ok();
    let code = body
        .as_ref()
        .and_then(|b| b["code"].as_str())
        .map(str::to_owned);
    Answer {
        status: Some(status),
        code,
        json,
        no_store,
        retry_after,
        body,
    }
}

/// A registered user and the bearer tokens of their sessions.
#[derive(Debug, Clone)]
struct Account {
    email: String,
    tokens: Vec<String>,
}

async fn register(http: &Client, base: &str) -> Account {
    let email = support::email("fault");
    let answer = send(
        http.post(format!("{base}/auth/register"))
            .json(&json!({"name": "Ada", "email": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(answer.status, Some(StatusCode::CREATED), "{answer:?}");
    let token = answer.body.unwrap()["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    Account {
        email,
        tokens: vec![token],
    }
}

fn login(http: &Client, base: &str, email: &str) -> RequestBuilder {
    http.post(format!("{base}/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
}

fn me(http: &Client, base: &str, token: &str) -> RequestBuilder {
    http.get(format!("{base}/auth/me")).bearer_auth(token)
}

fn protected(http: &Client, base: &str, token: &str) -> RequestBuilder {
    http.get(format!("{base}/protected")).bearer_auth(token)
}

fn health(http: &Client, base: &str) -> RequestBuilder {
    http.get(format!("{base}/health"))
}

// ---------------------------------------------------------------------------------------
// 1. PostgreSQL stopped and started again under load.
// ---------------------------------------------------------------------------------------

/// The local PostgreSQL cluster serving the test URL, driven with `pg_ctlcluster`.
struct Cluster {
    version: String,
    name: String,
    port: u16,
}

impl Cluster {
    /// The cluster `pg_lsclusters` lists on the port of `url`, which must name this machine.
    fn serving(url: &str) -> Self {
        let authority = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split(['/', '?'])
            .next()
            .unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "5432"));
        assert!(
            matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
            "the outage test stops PostgreSQL with pg_ctlcluster: {host:?} is not this machine"
        );
        let port: u16 = port
            .parse()
            .expect("the port of PORTCULLIS_TEST_POSTGRES_URL");
        let listing = Command::new("pg_lsclusters")
            .arg("--no-header")
            .output()
            .expect("pg_lsclusters (postgresql-common) lists the local clusters");
        let listing = String::from_utf8_lossy(&listing.stdout);
        let cluster = listing
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields.len() >= 3 && fields[2] == port.to_string())
            .unwrap_or_else(|| panic!("no local cluster on port {port}:\n{listing}"));
        Self {
            version: cluster[0].to_owned(),
            name: cluster[1].to_owned(),
            port,
        }
    }

    fn ctl(&self, action: &str) {
        let mut command = Command::new("pg_ctlcluster");
        command
            .arg("--skip-systemctl-redirect")
            .args([&self.version, &self.name, action]);
        if action == "stop" {
            command.args(["-m", "fast"]);
        }
        let status = command.status().expect("run pg_ctlcluster");
        assert!(status.success(), "pg_ctlcluster {action}: {status}");
    }

    fn is_ready(&self) -> bool {
        Command::new("pg_isready")
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Starts the cluster and waits (up to a minute) until it accepts connections.
    fn start_and_wait(&self) -> bool {
        let _ = Command::new("pg_ctlcluster")
            .arg("--skip-systemctl-redirect")
            .args([&self.version, &self.name, "start"])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.is_ready() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

/// PostgreSQL stopped until [`end`](Self::end), or until dropped: a failing (panicking) test
/// starts it again too.
struct Outage<'a> {
    cluster: &'a Cluster,
    stopped: bool,
}

impl<'a> Outage<'a> {
    fn begin(cluster: &'a Cluster) -> Self {
        let outage = Self {
            cluster,
            stopped: true,
        };
        cluster.ctl("stop");
        assert!(!cluster.is_ready(), "PostgreSQL still answers after stop");
        outage
    }

    /// Starts PostgreSQL and waits until it accepts connections.
    fn end(&mut self) {
        self.stopped = false;
        assert!(
            self.cluster.start_and_wait(),
            "PostgreSQL did not come back within a minute"
        );
    }
}

impl Drop for Outage<'_> {
    fn drop(&mut self) {
        if self.stopped {
            self.stopped = false;
            let back = self.cluster.start_and_wait();
            say(&format!(
                "fault injection: PostgreSQL restarted after a failure (ready: {back})"
            ));
        }
    }
}

/// Which part of the run a request was sent and answered in.
const BEFORE: u8 = 0;
const STOPPING: u8 = 1;
const DOWN: u8 = 2;
const RESTARTING: u8 = 3;
const AFTER: u8 = 4;
/// Sent in one phase, answered in another.
const STRADDLING: u8 = 5;
const PHASES: [&str; 6] = [
    "before",
    "stopping",
    "down",
    "restarting",
    "after",
    "straddling",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    Protected,
    Me,
    Login,
    Health,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Self::Protected => "GET /protected",
            Self::Me => "GET /auth/me",
            Self::Login => "POST /auth/login",
            Self::Health => "GET /health",
        }
    }
}

struct Record {
    route: Route,
    phase: u8,
    answer: Answer,
}

struct Load {
    http: Client,
    base: String,
    accounts: Vec<Account>,
    phase: AtomicU8,
    stop: AtomicBool,
    records: Mutex<Vec<Record>>,
}

impl Load {
    /// One client's loop: `route` again and again until told to stop.
    async fn run(self: Arc<Self>, route: Route, worker: usize) {
        let pause = match route {
            // Each login costs a password hash: keep the CPU for the other requests.
            Route::Login => Duration::from_millis(150),
            _ => Duration::from_millis(20),
        };
        let mut turn = worker;
        while !self.stop.load(Ordering::SeqCst) {
            self.once(&self.http, route, turn).await;
            turn += 1;
            tokio::time::sleep(pause).await;
        }
    }

    /// One request to `route` (as the `turn`-th account) with `http`, its answer recorded
    /// with the phase it was sent and answered in.
    async fn once(&self, http: &Client, route: Route, turn: usize) {
        let account = &self.accounts[turn % self.accounts.len()];
        let token = &account.tokens[0];
        let request = match route {
            Route::Protected => protected(http, &self.base, token),
            Route::Me => me(http, &self.base, token),
            Route::Login => login(http, &self.base, &account.email),
            Route::Health => health(http, &self.base),
        };
        let sent = self.phase.load(Ordering::SeqCst);
        let answer = send(request).await;
        let answered = self.phase.load(Ordering::SeqCst);
        let phase = if sent == answered { sent } else { STRADDLING };
        self.records.lock().unwrap().push(Record {
            route,
            phase,
            answer,
        });
    }

    fn count(&self, route: Route, phase: u8, what: impl Fn(&Answer) -> bool) -> usize {
        self.records
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.route == route && r.phase == phase && what(&r.answer))
            .count()
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Polls `condition` every 100 ms until it holds; false after `limit`.
async fn within(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    condition()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_and_the_same_server_recovers() {
    if std::env::var("PORTCULLIS_FAULT_INJECTION").as_deref() != Ok("1") {
        say(
            "not run: the PostgreSQL outage test; set PORTCULLIS_FAULT_INJECTION=1 (it stops \
             the local PostgreSQL)",
        );
        return;
    }
    let _alone = EXCLUSIVE.write().await;
    let url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .expect("PORTCULLIS_FAULT_INJECTION=1 needs PORTCULLIS_TEST_POSTGRES_URL");
    let cluster = Cluster::serving(&url);
    assert!(
        cluster.is_ready(),
        "PostgreSQL is not running before the test"
    );

    let backend = testing::postgres().await.unwrap();
    let started = support::start(backend, &[]).await;
    let (http, base) = (client(), started.base.clone());

    // Users and sessions written before the outage: each user has a registration session
    // and a login session.
    let mut accounts = Vec::new();
    for _ in 0..4 {
        let mut account = register(&http, &base).await;
        let answer = send(login(&http, &base, &account.email)).await;
        assert!(answer.ok(), "{answer:?}");
        let token = answer.body.unwrap()["session"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        account.tokens.push(token);
        accounts.push(account);
    }

    let load = Arc::new(Load {
        http: http.clone(),
        base: base.clone(),
        accounts: accounts.clone(),
        phase: AtomicU8::new(BEFORE),
        stop: AtomicBool::new(false),
        records: Mutex::new(Vec::new()),
    });
    let mut clients = Vec::new();
    for (route, count) in [
        (Route::Protected, 3),
        (Route::Me, 3),
        (Route::Login, 2),
        (Route::Health, 1),
    ] {
        for worker in 0..count {
            clients.push(tokio::spawn(Arc::clone(&load).run(route, worker)));
        }
    }

    // Warm up (connections opened on both sides, the blocking pool's threads started), then
    // take the process's file descriptors and threads as the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (fds_before, threads_before) = (open_fds(), threads());

    // Stop PostgreSQL. Keep it down only until every route has been answered at least once
    // by a request sent and answered while it was down (each waits for the pool's acquire
    // timeout, 5 s), then start it again.
    let stopped_at = Instant::now();
    load.phase.store(STOPPING, Ordering::SeqCst);
    let mut outage = tokio::task::block_in_place(|| Outage::begin(&cluster));
    let stop_took = stopped_at.elapsed();
    load.phase.store(DOWN, Ordering::SeqCst);
    // The clients above are still waiting on requests sent while it was stopping: send a few
    // requests per route now, so the outage lasts only as long as one request waits. (On
    // a client of their own, closed before the descriptors are counted again.)
    let probe_http = client();
    let probes: Vec<_> = [Route::Protected, Route::Me, Route::Login]
        .into_iter()
        .flat_map(|route| (0..3).map(move |turn| (route, turn)))
        .map(|(route, turn)| {
            let (load, http) = (Arc::clone(&load), probe_http.clone());
            tokio::spawn(async move { load.once(&http, route, turn).await })
        })
        .collect();
    let seen_all = within(Duration::from_secs(30), || {
        [Route::Protected, Route::Me, Route::Login, Route::Health]
            .into_iter()
            .all(|route| load.count(route, DOWN, |_| true) > 0)
    })
    .await;
    load.phase.store(RESTARTING, Ordering::SeqCst);
    let restart_at = Instant::now();
    tokio::task::block_in_place(|| outage.end());
    let down_for = restart_at - stopped_at;
    let ready_after = restart_at.elapsed();
    assert!(
        seen_all,
        "some route was never answered while PostgreSQL was down"
    );

    // The same server serves again once its pool reconnects: an old session authenticates.
    let ready_at = Instant::now();
    let mut recovered = None;
    while ready_at.elapsed() < Duration::from_secs(60) {
        if send(me(&http, &base, &accounts[0].tokens[1])).await.ok() {
            recovered = Some(ready_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = recovered.expect("no request succeeded within 60 s of PostgreSQL's return");
    for probe in probes {
        probe.await.unwrap();
    }
    drop(probe_http);
    load.phase.store(AFTER, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (fds_after, threads_after) = (open_fds(), threads());
    load.stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }

    // Tally and check every answer.
    let records = std::mem::take(&mut *load.records.lock().unwrap());
    let mut tally: BTreeMap<(Route, u8, String), usize> = BTreeMap::new();
    for record in &records {
        *tally
            .entry((record.route, record.phase, record.answer.label()))
            .or_default() += 1;
    }
    say(&format!(
        "fault injection ran: PostgreSQL {} stopped in {:.1} s, down {:.1} s in all, ready \
         {:.1} s after start, first request served {:.2} s after that; {} requests",
        cluster.version,
        stop_took.as_secs_f64(),
        down_for.as_secs_f64(),
        ready_after.as_secs_f64(),
        recovered.as_secs_f64(),
        records.len()
    ));
    for ((route, phase, label), count) in &tally {
        say(&format!(
            "fault injection:   {:<17} {:<10} {label}: {count}",
            route.path(),
            PHASES[usize::from(*phase)]
        ));
    }
    say(&format!(
        "fault injection:   open fds {fds_before} -> {fds_after}, threads {threads_before} -> \
         {threads_after}"
    ));
    for record in &records {
        let answer = &record.answer;
        let context = format!(
            "{} ({}): {answer:?}",
            record.route.path(),
            PHASES[usize::from(record.phase)]
        );
        if record.route == Route::Health {
            assert!(answer.ok(), "/health must not depend on storage: {context}");
            continue;
        }
        match record.phase {
            // PostgreSQL up: served.
            BEFORE | AFTER => assert!(answer.ok(), "{context}"),
            // PostgreSQL down: refused with 503, never let through, never 500.
            DOWN => assert!(answer.is_storage_unavailable(), "{context}"),
            // While stopping or starting: either, but nothing else (no 500, no 401).
            _ => assert!(answer.ok() || answer.is_storage_unavailable(), "{context}"),
        }
    }

    // Nothing written before the outage was lost: every user logs in, every session
    // authenticates as its user.
    for account in &accounts {
        let answer = send(login(&http, &base, &account.email)).await;
        assert!(answer.ok(), "{}: {answer:?}", account.email);
        for token in &account.tokens {
            let answer = send(me(&http, &base, token)).await;
            assert!(answer.ok(), "{answer:?}");
            assert_eq!(answer.body.unwrap()["email"], account.email.as_str());
            assert!(send(protected(&http, &base, token)).await.ok());
        }
    }
    assert!(send(health(&http, &base)).await.ok());
    assert!(
        !started.server.is_finished(),
        "the server task ended during the outage"
    );
    // No leak: under the same load as before the outage, after dozens of failed requests,
    // descriptors and threads are where they were (the slack covers connections the pools
    // opened or closed meanwhile).
    assert!(
        fds_after <= fds_before + 24,
        "open file descriptors grew from {fds_before} to {fds_after}"
    );
    assert!(
        threads_after <= threads_before + 8,
        "threads grew from {threads_before} to {threads_after}"
    );
}

// ---------------------------------------------------------------------------------------
// 2. A connection pool with every connection held.
// ---------------------------------------------------------------------------------------

/// The pool built for these tests: two connections, and a request waits at most this long
/// for one.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
const POOL_SIZE: u32 = 2;

fn small_pool(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(POOL_SIZE)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false);
    options
}

async fn held_pool_answers_503_then_recovers(db: DatabaseConnection) {
    let backend = SeaOrmBackend::new(db.clone());
    backend.migrate().await.unwrap();
    let started = support::start(backend, &[]).await;
    let (http, base) = (client(), started.base.clone());
    let account = register(&http, &base).await;
    let token = account.tokens[0].clone();

    // Every pooled connection inside a transaction that does not finish, as slow queries
    // holding them would.
    let mut held: Vec<DatabaseTransaction> = Vec::new();
    for _ in 0..POOL_SIZE {
        held.push(db.begin().await.unwrap());
    }

    let timed = |request: RequestBuilder| async move {
        let sent = Instant::now();
        let answer = send(request).await;
        (answer, sent.elapsed())
    };
    let (a, b, c, d, e) = tokio::join!(
        timed(me(&http, &base, &token)),
        timed(protected(&http, &base, &token)),
        timed(login(&http, &base, &account.email)),
        timed(
            http.post(format!("{base}/auth/register"))
                .json(&json!({"name": "B", "email": support::email("held"), "password": PASSWORD}))
        ),
        timed(health(&http, &base)),
    );
    let bound = ACQUIRE_TIMEOUT + Duration::from_secs(5);
    for (path, (answer, took)) in [
        ("GET /auth/me", a),
        ("GET /protected", b),
        ("POST /auth/login", c),
        ("POST /auth/register", d),
    ] {
        assert!(answer.is_storage_unavailable(), "{path}: {answer:?}");
        assert!(
            took <= bound,
            "{path} waited {took:?}, beyond the {ACQUIRE_TIMEOUT:?} acquire timeout + 5 s"
        );
        say(&format!(
            "fault injection: pool held ({}): {path} -> {} after {:.2} s",
            db.get_database_backend().as_str(),
            answer.label(),
            took.as_secs_f64()
        ));
    }
    assert!(e.0.ok(), "/health: {:?}", e.0);

    // Released: the same server serves again.
    for transaction in held {
        transaction.rollback().await.unwrap();
    }
    let answer = send(me(&http, &base, &token)).await;
    assert!(answer.ok(), "{answer:?}");
    assert_eq!(answer.body.unwrap()["email"], account.email.as_str());
    assert!(send(protected(&http, &base, &token)).await.ok());
    assert!(send(login(&http, &base, &account.email)).await.ok());
    register(&http, &base).await;
    assert!(!started.server.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_pool_held_answers_503_within_the_acquire_timeout() {
    let _shared = EXCLUSIVE.read().await;
    let path = std::env::temp_dir().join(format!(
        "{}{}_faults_{}.db",
        testing::SCRATCH_PREFIX,
        std::process::id(),
        portcullis_core::UserId::new()
    ));
    let db = Database::connect(small_pool(&format!("sqlite://{}?mode=rwc", path.display())))
        .await
        .unwrap();
    held_pool_answers_503_then_recovers(db.clone()).await;
    db.close().await.unwrap();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pool_held_answers_503_within_the_acquire_timeout() {
    let _shared = EXCLUSIVE.read().await;
    // A scratch database of its own (created and migrated by `testing`), reopened through a
    // pool of two connections.
    let Some(scratch) = testing::postgres().await else {
        return;
    };
    let row = scratch
        .connection()
        .query_one_raw(Statement::from_string(
            scratch.connection().get_database_backend(),
            "SELECT current_database()",
        ))
        .await
        .unwrap()
        .unwrap();
    let name: String = row.try_get_by_index(0).unwrap();
    scratch.close().await.unwrap();
    let url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL").unwrap();
    let db = Database::connect(small_pool(&testing::with_database(&url, &name)))
        .await
        .unwrap();
    held_pool_answers_503_then_recovers(db.clone()).await;
    db.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// 3. The password-hashing queue full.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_beyond_the_hashing_queue_answers_503_overloaded() {
    const QUEUE: usize = 2;
    const FLOOD: usize = 24;
    let _shared = EXCLUSIVE.read().await;
    let pool = HashingPool::new(1, QUEUE);
    let started = support::start_with_hasher(
        testing::sqlite_file().await.unwrap(),
        &[],
        MultiHasher::new().with_pool(pool.clone()),
    )
    .await;
    let (http, base) = (client(), started.base.clone());
    let account = register(&http, &base).await;
    let token = account.tokens[0].clone();

    // A hash that does not finish holds the only permit, as a slow one would.
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let blocker = tokio::spawn({
        let pool = pool.clone();
        async move { pool.run(move || hold.recv()).await }
    });
    assert!(within(Duration::from_secs(10), || pool.available_permits() == 0).await);

    let logins: Vec<_> = (0..FLOOD)
        .map(|_| {
            let request = login(&http, &base, &account.email);
            tokio::spawn(send(request))
        })
        .collect();
    // Everyone beyond the queue is answered while the permit is still held: nobody waits
    // for a hash that cannot start.
    let answered_early = within(Duration::from_secs(30), || {
        logins.iter().filter(|l| l.is_finished()).count() >= FLOOD - QUEUE
    })
    .await;
    assert!(
        answered_early,
        "only {} of {FLOOD} logins answered while the hashing pool was busy ({} waiting)",
        logins.iter().filter(|l| l.is_finished()).count(),
        pool.waiting()
    );
    assert_eq!(pool.waiting(), QUEUE);
    // Meanwhile requests that hash nothing are served.
    assert!(send(health(&http, &base)).await.ok());
    let answer = send(me(&http, &base, &token)).await;
    assert!(answer.ok(), "{answer:?}");
    assert!(send(protected(&http, &base, &token)).await.ok());

    release.send(()).unwrap();
    blocker.await.unwrap().unwrap().unwrap();
    let mut held_tally: BTreeMap<String, usize> = BTreeMap::new();
    for login in logins {
        let answer = login.await.unwrap();
        assert!(
            answer.ok() || answer.is(StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            "{answer:?}"
        );
        if !answer.ok() {
            assert!(answer.no_store, "{answer:?}");
        }
        *held_tally.entry(answer.label()).or_default() += 1;
    }
    // The queued ones were served once the permit came back; the rest were refused.
    assert_eq!(held_tally.get("200"), Some(&QUEUE), "{held_tally:?}");
    assert_eq!(
        held_tally.get("503 overloaded"),
        Some(&(FLOOD - QUEUE)),
        "{held_tally:?}"
    );

    // A real flood, nothing held: every login is answered, served or refused as overloaded,
    // and the server keeps answering other requests while it lasts.
    let flood_started = Instant::now();
    let logins: Vec<_> = (0..FLOOD * 2)
        .map(|_| tokio::spawn(send(login(&http, &base, &account.email))))
        .collect();
    let (health_answer, me_answer) =
        tokio::join!(send(health(&http, &base)), send(me(&http, &base, &token)));
    let mut flood_tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut retry_after = None;
    for login in logins {
        let answer = login.await.unwrap();
        assert!(
            answer.ok() || answer.is(StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            "{answer:?}"
        );
        if !answer.ok() {
            // Clients are told when to come back, rather than left to retry at once.
            assert_eq!(answer.retry_after.as_deref(), Some("1"), "{answer:?}");
            retry_after = retry_after.or(answer.retry_after.clone());
        }
        *flood_tally.entry(answer.label()).or_default() += 1;
    }
    let flood_took = flood_started.elapsed();
    assert!(health_answer.ok(), "{health_answer:?}");
    assert!(me_answer.ok(), "{me_answer:?}");
    // Bounded: at most QUEUE + 1 hashes run per login admitted; 60 s is far beyond that.
    assert!(flood_took < Duration::from_secs(60), "{flood_took:?}");
    assert_eq!(pool.waiting(), 0);
    assert!(within(Duration::from_secs(10), || pool.available_permits() == 1).await);
    say(&format!(
        "fault injection: hashing pool 1 permit + {QUEUE} queued: {FLOOD} logins with the \
         permit held -> {held_tally:?}; {} logins unheld -> {flood_tally:?} in {:.2} s \
         (Retry-After on 503: {retry_after:?})",
        FLOOD * 2,
        flood_took.as_secs_f64()
    ));
    assert!(!started.server.is_finished());
}
