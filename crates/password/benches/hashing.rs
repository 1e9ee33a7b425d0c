//! Time per hash and per verification: argon2id at the default parameters (m=19456 KiB,
//! t=2, p=1) and bcrypt at cost 12. Run with `cargo bench -p portcullis-password --bench
//! hashing`; each group takes a few seconds.
//!
//! The numbers size the [`HashingPool`](portcullis_password::HashingPool): a login costs
//! one verification, so a server sustains about `permits / verify time` logins per second.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use portcullis_core::{Password, PasswordHasher};
use portcullis_password::{Argon2Hasher, BcryptHasher, HashingPool};

fn bench_hasher<H: PasswordHasher>(c: &mut Criterion, name: &str, hasher: &H) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let password = Password::new("correct horse battery staple");
    let hash = runtime.block_on(hasher.hash(&password)).unwrap();

    let mut group = c.benchmark_group(name);
    // Flat sampling: each sample runs the same number of iterations, which suits routines
    // of tens to hundreds of milliseconds (linear sampling would need 55 runs of each).
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("hash", |b| {
        b.iter(|| runtime.block_on(hasher.hash(&password)).unwrap());
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            let outcome = runtime.block_on(hasher.verify(&password, &hash)).unwrap();
            assert!(outcome.matched);
        });
    });
    group.finish();
}

fn hashing(c: &mut Criterion) {
    // One permit: measure one hash at a time, as one core of the pool runs it.
    let pool = HashingPool::new(1, 0);
    bench_hasher(
        c,
        "argon2id_m19456_t2_p1",
        &Argon2Hasher::new().with_pool(pool.clone()),
    );
    bench_hasher(c, "bcrypt_cost12", &BcryptHasher::new().with_pool(pool));
}

criterion_group!(benches, hashing);
criterion_main!(benches);
