//! The authenticated-request hot path: `AuthManager::authenticate_token` on the in-memory
//! backend and on SQLite (in memory and in a file), with and without the sliding-expiry
//! write; plus token generation and hashing.
//!
//! `cargo bench -p portcullis-manager --bench authenticate`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // benchmark code

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_core::{Backend, ClientInfo, Token};
use portcullis_manager::{AuthConfig, AuthManager, Registered, Registration, SessionCacheConfig};
use portcullis_password::{Argon2Params, MultiHasher, PasswordStrategy};
use portcullis_testkit::MemoryBackend;
use tokio::runtime::Runtime;

#[derive(Clone, Copy)]
enum Mode {
    /// The default: no write (the touch interval has not passed), no cache.
    NoWrite,
    /// `touch_interval = 0`: every call writes the session row (the worst case).
    TouchWrite,
    /// The in-process session cache on: every call after the first is a cache hit.
    CacheHit,
}

/// A signed-in token on a fresh manager over `backend`, configured for `mode`.
fn signed_in<B: Backend>(
    rt: &Runtime,
    backend: B,
    mode: Mode,
) -> (AuthManager<B, PasswordStrategy<MultiHasher>>, Token) {
    let hasher = MultiHasher::with_params(Argon2Params::new(1024, 1, 1, None).unwrap());
    let config = AuthConfig {
        touch_interval: matches!(mode, Mode::TouchWrite).then_some(Duration::ZERO),
        session_cache: matches!(mode, Mode::CacheHit).then(SessionCacheConfig::default),
        ..AuthConfig::default()
    };
    let manager = AuthManager::builder(backend, PasswordStrategy::new(hasher))
        .config(config)
        .build()
        .unwrap();
    let registration = Registration::new("Bench", "bench@example.com", "benchmark passphrase");
    let Registered::SignedIn(signed_in) = rt
        .block_on(manager.register(registration, &ClientInfo::default()))
        .unwrap()
    else {
        unreachable!("paranoid registration is off")
    };
    (manager, signed_in.token)
}

fn bench_backend<B: Backend>(c: &mut Criterion, rt: &Runtime, name: &str, make: impl Fn() -> B) {
    let mut group = c.benchmark_group(format!("authenticate_token/{name}"));
    for (label, mode) in [
        ("no_write", Mode::NoWrite),
        ("touch_write", Mode::TouchWrite),
        ("cache_hit", Mode::CacheHit),
    ] {
        let (manager, token) = signed_in(rt, make(), mode);
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(manager.authenticate_token(&token)).unwrap());
        });
    }
    let (manager, _) = signed_in(rt, make(), Mode::NoWrite);
    let stranger = Token::generate().unwrap();
    group.bench_function("unknown_token", |b| {
        b.iter(|| {
            rt.block_on(manager.authenticate_token(&stranger))
                .unwrap_err()
        });
    });
    group.finish();
}

fn authenticate(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    bench_backend(c, &rt, "memory_backend", MemoryBackend::new);
    bench_backend(c, &rt, "sqlite_memory", || {
        rt.block_on(portcullis_sea_orm::testing::sqlite_memory())
            .unwrap()
    });
    bench_backend(c, &rt, "sqlite_file", || {
        rt.block_on(portcullis_sea_orm::testing::sqlite_file())
            .unwrap()
    });
}

fn tokens(c: &mut Criterion) {
    let mut group = c.benchmark_group("token");
    group.bench_function("generate", |b| b.iter(|| Token::generate().unwrap()));
    let token = Token::generate().unwrap();
    group.bench_function("sha256", |b| b.iter(|| token.hash()));
    group.bench_function("parse", |b| {
        b.iter(|| Token::parse(token.expose()).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = authenticate, tokens
}
criterion_main!(benches);
