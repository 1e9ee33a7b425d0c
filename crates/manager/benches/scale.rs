//! Scale: the session table at 1,000,000 rows.
//!
//! For each database (an SQLite file always; PostgreSQL and MySQL/MariaDB when
//! `PORTCULLIS_TEST_POSTGRES_URL` / `PORTCULLIS_TEST_MYSQL_URL` are set, each on a scratch
//! database of its own), this bench:
//!
//! 1. fills the session table with a small population (1,000 rows) and measures
//!    `AuthManager::authenticate_token` latency: a hit that does not write (the usual
//!    request) and an unknown token; and prints the query plan of the lookup;
//! 2. grows the same table to 1,000,000 rows (multi-row INSERTs in transactions; 100,000
//!    users; about half the sessions expired, interleaved with the valid ones) and measures
//!    the same latencies and plan again: the index keeps them flat;
//! 3. runs `AuthManager::purge_expired` over the ~500,000 expired rows and reports rows/s
//!    and the duration of every `delete_expired_sessions` batch (the batch size is set to the
//!    store's per-statement chunk, so each batch is one DELETE in its own transaction and the
//!    longest batch is the longest time the purge held its locks),
//!    while two probes send one request per millisecond: a reader (`authenticate_token`, no
//!    write) and a writer (`authenticate_token` with `touch_interval = 0`, so each call
//!    updates its row and must take the write lock). The probes also run for a few seconds
//!    before the purge, for comparison.
//!
//! The fill happens once per database, not per sample; the whole run takes a few minutes.
//!
//! `cargo bench -p portcullis-manager --bench scale`
//!
//! `PORTCULLIS_SCALE_ROWS` changes the large population (default 1,000,000), e.g. for a
//! quick check of the bench itself.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)] // benchmark code

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use portcullis_core::{
    Account, AccountStore, AuthEvent, EventStore, FailedLogins, PasswordHash, Session, SessionId,
    SessionStore, StoreResult, Token, TokenHash, User, UserId, UserStore, Verification,
    VerificationStore,
};
use portcullis_manager::{AuthConfig, AuthManager};
use portcullis_password::{Argon2Params, MultiHasher, PasswordStrategy};
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_sea_orm::entity::{session, user};
use portcullis_sea_orm::sea_orm::ActiveValue::Set;
use portcullis_sea_orm::sea_orm::prelude::Uuid;
use portcullis_sea_orm::sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use portcullis_sea_orm::testing;
use tokio::runtime::Runtime;

/// Rows in the "almost empty" table.
const SMALL: u64 = 1_000;
/// Sessions per user on average.
const SESSIONS_PER_USER: u64 = 10;
/// Rows per INSERT statement (9 columns: 9,000 bind parameters, under every database's limit).
const ROWS_PER_INSERT: usize = 1_000;
/// INSERT statements per transaction during the fill.
const INSERTS_PER_TRANSACTION: usize = 50;
/// Timed `authenticate_token` calls per measurement.
const CALLS: usize = 20_000;
/// Untimed calls before each measurement.
const WARM_UP: usize = 1_000;
/// How long the probes run before the purge, for comparison.
const QUIET: Duration = Duration::from_secs(3);

type Manager<B> = AuthManager<B, PasswordStrategy<MultiHasher>>;

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// xorshift64*: deterministic, fast, good enough to spread rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];

/// What the fill leaves behind for the measurements.
struct Population {
    users: Vec<Uuid>,
    rows: u64,
    expired: u64,
    /// Tokens of a sample of the valid sessions (about 1 in 100).
    hits: Vec<Token>,
    rng: Rng,
}

fn micros(at: DateTime<Utc>) -> chrono::DateTime<chrono::FixedOffset> {
    use chrono::SubsecRound;
    at.trunc_subsecs(6).fixed_offset()
}

/// Adds users and sessions until the table holds `target` sessions; returns the time taken.
async fn grow(backend: &SeaOrmBackend, population: &mut Population, target: u64) -> Duration {
    let db = backend.connection();
    let now = Utc::now();
    let started = Instant::now();

    let want_users = (target / SESSIONS_PER_USER).max(1) as usize;
    while population.users.len() < want_users {
        let txn = db.begin().await.unwrap();
        for _ in 0..INSERTS_PER_TRANSACTION {
            let n = want_users - population.users.len();
            if n == 0 {
                break;
            }
            let mut models = Vec::with_capacity(ROWS_PER_INSERT);
            for _ in 0..n.min(ROWS_PER_INSERT) {
                let id = Uuid::new_v4();
                let created =
                    micros(now - TimeDelta::seconds(population.rng.below(365 * 86_400) as i64));
                models.push(user::ActiveModel {
                    id: Set(id),
                    name: Set(format!("User {}", population.users.len())),
                    email: Set(format!("user-{id}@example.com")),
                    email_verified: Set(true),
                    username: Set(None),
                    image: Set(None),
                    role: Set("user".to_owned()),
                    disabled: Set(false),
                    created_at: Set(created),
                    updated_at: Set(created),
                });
                population.users.push(id);
            }
            user::Entity::insert_many(models)
                .exec_without_returning(&txn)
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
    }

    let day = 86_400_i64;
    while population.rows < target {
        let txn = db.begin().await.unwrap();
        for _ in 0..INSERTS_PER_TRANSACTION {
            let n = target - population.rows;
            if n == 0 {
                break;
            }
            let mut models = Vec::with_capacity(ROWS_PER_INSERT);
            for _ in 0..n.min(ROWS_PER_INSERT as u64) {
                let rng = &mut population.rng;
                let token = Token::generate().unwrap();
                let expired = rng.chance(50);
                // Valid: seen within the last hour (so no sliding-expiry write is due), idle
                // expiry 7 days after that. Expired: idle expiry up to 30 days ago.
                let (last_seen, expires) = if expired {
                    let expires = now - TimeDelta::seconds(1 + rng.below(30 * day as u64) as i64);
                    (expires - TimeDelta::days(7), expires)
                } else {
                    let last_seen = now - TimeDelta::seconds(rng.below(3_600) as i64);
                    (last_seen, last_seen + TimeDelta::days(7))
                };
                let created = last_seen - TimeDelta::seconds(rng.below(7 * day as u64) as i64);
                let user = population.users[rng.below(population.users.len() as u64) as usize];
                let ip = format!("203.0.{}.{}", rng.below(256), rng.below(256));
                let agent = USER_AGENTS[rng.below(USER_AGENTS.len() as u64) as usize];
                models.push(session::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    token_hash: Set(token.hash().to_hex()),
                    user_id: Set(user),
                    expires_at: Set(micros(expires)),
                    absolute_expires_at: Set(micros(created + TimeDelta::days(30))),
                    ip_address: Set(Some(ip)),
                    user_agent: Set(Some(agent.to_owned())),
                    created_at: Set(micros(created)),
                    last_seen_at: Set(micros(last_seen)),
                });
                if expired {
                    population.expired += 1;
                } else if rng.chance(1) || population.hits.is_empty() {
                    population.hits.push(token);
                }
                population.rows += 1;
            }
            session::Entity::insert_many(models)
                .exec_without_returning(&txn)
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
    }
    started.elapsed()
}

// ---------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------

struct Stats {
    n: usize,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty());
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            n: samples.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: *samples.last().unwrap(),
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        write!(
            f,
            "median {:>8.1} µs | p90 {:>8.1} µs | p99 {:>8.1} µs | max {:>9.1} µs | n={}",
            us(self.p50),
            us(self.p90),
            us(self.p99),
            us(self.max),
            self.n
        )
    }
}

fn manager<B: portcullis_core::Backend>(backend: B, config: AuthConfig) -> Manager<B> {
    let hasher = MultiHasher::with_params(Argon2Params::new(1024, 1, 1, None).unwrap());
    AuthManager::builder(backend, PasswordStrategy::new(hasher))
        .config(config)
        .build()
        .unwrap()
}

/// `authenticate_token` latency, one `block_on` per call (as in the `authenticate` bench):
/// hits cycle through the sampled valid sessions; unknown tokens are fresh random tokens.
fn latencies(rt: &Runtime, manager: &Manager<SeaOrmBackend>, hits: &[Token]) -> (Stats, Stats) {
    let strangers: Vec<Token> = (0..1_000).map(|_| Token::generate().unwrap()).collect();
    let mut hit = |i: usize| {
        let token = &hits[(i * 7_919) % hits.len()];
        let started = Instant::now();
        let authenticated = rt.block_on(manager.authenticate_token(token)).unwrap();
        assert!(!authenticated.refreshed, "a hit must not write");
        started.elapsed()
    };
    for i in 0..WARM_UP {
        hit(i);
    }
    let hit_stats = Stats::of((0..CALLS).map(&mut hit).collect());
    let mut miss = |i: usize| {
        let started = Instant::now();
        rt.block_on(manager.authenticate_token(&strangers[i % strangers.len()]))
            .unwrap_err();
        started.elapsed()
    };
    for i in 0..WARM_UP {
        miss(i);
    }
    let miss_stats = Stats::of((0..CALLS).map(&mut miss).collect());
    (hit_stats, miss_stats)
}

/// One request per millisecond until `stop`: the latency of each.
async fn probe(
    manager: Manager<SeaOrmBackend>,
    tokens: Arc<Vec<Token>>,
    stop: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut samples = Vec::new();
    let mut i = 0_usize;
    while !stop.load(Ordering::Relaxed) {
        let token = &tokens[(i * 7_919) % tokens.len()];
        let started = Instant::now();
        manager.authenticate_token(token).await.unwrap();
        samples.push(started.elapsed());
        i += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    samples
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

async fn session_count(backend: &SeaOrmBackend) -> u64 {
    session::Entity::find()
        .count(backend.connection())
        .await
        .unwrap()
}

async fn expired_count(backend: &SeaOrmBackend, now: DateTime<Utc>) -> u64 {
    session::Entity::find()
        .filter(session::Column::ExpiresAt.lte(micros(now)))
        .count(backend.connection())
        .await
        .unwrap()
}

/// `purge_batch` is the store's per-statement chunk on that database (250 on SQLite, 1,000
/// elsewhere; see `portcullis-sea-orm`'s purge), so each timed batch is exactly one DELETE
/// statement, one transaction: its duration is how long the purge held its locks.
fn run(rt: &Runtime, name: &str, backend: SeaOrmBackend, large: u64, purge_batch: u64) {
    println!("\n=== {name} ===");
    let mut population = Population {
        users: Vec::new(),
        rows: 0,
        expired: 0,
        hits: Vec::new(),
        rng: Rng(0x05EE_D0F5_CA1E),
    };
    let reader = manager(backend.clone(), AuthConfig::default());

    for target in [SMALL, large] {
        let took = rt.block_on(grow(&backend, &mut population, target));
        let rows = rt.block_on(session_count(&backend));
        assert_eq!(rows, target);
        println!(
            "\n-- {rows} sessions ({} expired, {} users); fill took {:.1} s ({:.0} rows/s); load {}",
            population.expired,
            population.users.len(),
            took.as_secs_f64(),
            target as f64 / took.as_secs_f64().max(1e-9),
            uptime()
        );
        println!("plan of the session lookup:");
        for line in rt.block_on(testing::explain_session_lookup(
            &backend,
            &population.hits[0].hash(),
        )) {
            println!("    {line}");
        }
        let (hit, miss) = latencies(rt, &reader, &population.hits);
        println!("authenticate_token, hit without write: {hit}");
        println!("authenticate_token, unknown token:     {miss}");
        println!("load {}", uptime());
    }

    // Purge, with a reader and a writer probe running alongside.
    let tokens = Arc::new(population.hits.clone());
    let writer = manager(
        backend.clone(),
        AuthConfig {
            touch_interval: Some(Duration::ZERO),
            ..AuthConfig::default()
        },
    );
    let batches = Arc::new(Mutex::new(Vec::new()));
    let purger = manager(
        Timed {
            inner: backend.clone(),
            batches: batches.clone(),
        },
        AuthConfig {
            purge_batch_size: purge_batch,
            ..AuthConfig::default()
        },
    );
    let probes = |stop: &Arc<AtomicBool>| {
        (
            rt.spawn(probe(reader.clone(), tokens.clone(), stop.clone())),
            rt.spawn(probe(writer.clone(), tokens.clone(), stop.clone())),
        )
    };

    let stop = Arc::new(AtomicBool::new(false));
    let (r, w) = probes(&stop);
    std::thread::sleep(QUIET);
    stop.store(true, Ordering::Relaxed);
    let quiet_reader = Stats::of(rt.block_on(r).unwrap());
    let quiet_writer = Stats::of(rt.block_on(w).unwrap());

    let stop = Arc::new(AtomicBool::new(false));
    let (r, w) = probes(&stop);
    let started = Instant::now();
    let report = rt.block_on(purger.purge_expired()).unwrap();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let busy_reader = Stats::of(rt.block_on(r).unwrap());
    let busy_writer = Stats::of(rt.block_on(w).unwrap());

    let batches = std::mem::take(&mut *batches.lock().unwrap());
    let deleted: u64 = batches.iter().map(|(n, _)| n).sum();
    assert_eq!(deleted, report.sessions);
    let batch_size = purge_batch;
    println!(
        "\n-- purge_expired: {} sessions in {:.2} s = {:.0} rows/s; {} batches of up to {batch_size} rows; load {}",
        report.sessions,
        took.as_secs_f64(),
        report.sessions as f64 / took.as_secs_f64(),
        batches.len(),
        uptime()
    );
    println!(
        "batch duration (delete_expired_sessions):  {}",
        Stats::of(batches.iter().map(|(_, d)| *d).collect())
    );
    println!("reader probe before the purge:  {quiet_reader}");
    println!("reader probe during the purge:  {busy_reader}");
    println!("writer probe before the purge:  {quiet_writer}");
    println!("writer probe during the purge:  {busy_writer}");
    let now = Utc::now();
    let left = rt.block_on(session_count(&backend));
    let expired_left = rt.block_on(expired_count(&backend, now - TimeDelta::seconds(1)));
    println!("left: {left} sessions, {expired_left} of them expired before the purge started");
    assert_eq!(expired_left, 0);
}

fn main() {
    let large: u64 = std::env::var("PORTCULLIS_SCALE_ROWS")
        .ok()
        .map(|v| v.parse().expect("PORTCULLIS_SCALE_ROWS must be a number"))
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "scale bench: {large} sessions; {} cores; load {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        uptime()
    );

    let backend = rt.block_on(testing::sqlite_file()).unwrap();
    run(
        &rt,
        "SQLite file (WAL, synchronous=NORMAL)",
        backend,
        large,
        250,
    );

    for (var, name) in [
        ("PORTCULLIS_TEST_POSTGRES_URL", "PostgreSQL"),
        ("PORTCULLIS_TEST_MYSQL_URL", "MySQL/MariaDB"),
    ] {
        if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
            println!("\n=== {name} ===\nnot run: {var} is not set");
            continue;
        }
        let backend = if name == "PostgreSQL" {
            rt.block_on(testing::postgres())
        } else {
            rt.block_on(testing::mysql())
        };
        run(&rt, name, backend.unwrap(), large, 1_000);
    }
}

// ---------------------------------------------------------------------------------------
// A backend that times each purge batch
// ---------------------------------------------------------------------------------------

/// Delegates everything to `inner`, recording `(rows, duration)` of each
/// `delete_expired_sessions` call: one purge batch.
#[derive(Clone)]
struct Timed {
    inner: SeaOrmBackend,
    batches: Arc<Mutex<Vec<(u64, Duration)>>>,
}

#[async_trait]
impl SessionStore for Timed {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.inner.create_session(session).await
    }
    async fn find_session_by_token_hash(
        &self,
        token_hash: &TokenHash,
    ) -> StoreResult<Option<(Session, User)>> {
        self.inner.find_session_by_token_hash(token_hash).await
    }
    async fn find_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        self.inner.find_session(id).await
    }
    async fn list_sessions(&self, user_id: UserId) -> StoreResult<Vec<Session>> {
        self.inner.list_sessions(user_id).await
    }
    async fn touch_session(
        &self,
        id: SessionId,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.inner.touch_session(id, last_seen_at, expires_at).await
    }
    async fn delete_session(&self, id: SessionId) -> StoreResult<bool> {
        self.inner.delete_session(id).await
    }
    async fn delete_user_sessions(&self, user_id: UserId) -> StoreResult<u64> {
        self.inner.delete_user_sessions(user_id).await
    }
    async fn delete_other_sessions(&self, user_id: UserId, keep: SessionId) -> StoreResult<u64> {
        self.inner.delete_other_sessions(user_id, keep).await
    }
    async fn delete_expired_sessions(&self, now: DateTime<Utc>, limit: u64) -> StoreResult<u64> {
        let started = Instant::now();
        let deleted = self.inner.delete_expired_sessions(now, limit).await?;
        let took = started.elapsed();
        self.batches.lock().unwrap().push((deleted, took));
        Ok(deleted)
    }
}

#[async_trait]
impl UserStore for Timed {
    async fn create_user_with_credential(&self, user: &User, account: &Account) -> StoreResult<()> {
        self.inner.create_user_with_credential(user, account).await
    }
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.inner.create_user(user).await
    }
    async fn find_user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.inner.find_user_by_id(id).await
    }
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.inner.find_user_by_email(email).await
    }
    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.inner.find_user_by_username(username).await
    }
    async fn update_user(&self, user: &User) -> StoreResult<()> {
        self.inner.update_user(user).await
    }
    async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
        self.inner.delete_user(id).await
    }
}

#[async_trait]
impl AccountStore for Timed {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        self.inner.create_account(account).await
    }
    async fn find_account(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<Account>> {
        self.inner.find_account(provider_id, account_id).await
    }
    async fn find_credential_account(&self, user_id: UserId) -> StoreResult<Option<Account>> {
        self.inner.find_credential_account(user_id).await
    }
    async fn list_accounts(&self, user_id: UserId) -> StoreResult<Vec<Account>> {
        self.inner.list_accounts(user_id).await
    }
    async fn update_password(
        &self,
        user_id: UserId,
        password: &PasswordHash,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.update_password(user_id, password, now).await
    }
    async fn record_failed_login(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<FailedLogins> {
        self.inner.record_failed_login(user_id, now, window).await
    }
    async fn failed_logins(&self, user_id: UserId) -> StoreResult<Option<FailedLogins>> {
        self.inner.failed_logins(user_id).await
    }
    async fn reset_failed_logins(&self, user_id: UserId) -> StoreResult<()> {
        self.inner.reset_failed_logins(user_id).await
    }
}

#[async_trait]
impl VerificationStore for Timed {
    async fn create_verification(&self, verification: &Verification) -> StoreResult<()> {
        self.inner.create_verification(verification).await
    }
    async fn take_verification(
        &self,
        value_hash: &TokenHash,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        self.inner.take_verification(value_hash, purpose, now).await
    }
    async fn delete_verifications(&self, identifier: &str) -> StoreResult<u64> {
        self.inner.delete_verifications(identifier).await
    }
    async fn delete_expired_verifications(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<u64> {
        self.inner.delete_expired_verifications(now, limit).await
    }
}

#[async_trait]
impl EventStore for Timed {
    async fn append_event(&self, event: &AuthEvent) -> StoreResult<()> {
        self.inner.append_event(event).await
    }
    async fn list_events(&self, user_id: UserId, limit: u64) -> StoreResult<Vec<AuthEvent>> {
        self.inner.list_events(user_id, limit).await
    }
}
