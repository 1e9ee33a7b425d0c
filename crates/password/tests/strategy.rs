//! `PasswordStrategy` against the in-memory reference backend.
#![cfg(feature = "argon2")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use portcullis_core::{
    Account, AccountStore, AuthError, Clock, Password, PasswordHash, PasswordHasher, Strategy,
    StrategyOutcome, TestClock, User, UserStore, VerifyOutcome,
};
use portcullis_password::{
    Argon2Params, HashingPool, MultiHasher, PasswordCredentials, PasswordStrategy,
};
use portcullis_testkit::MemoryBackend;

/// Wraps a hasher and counts the calls, so tests can assert "exactly one verification".
#[derive(Debug, Clone)]
struct Counting<H> {
    inner: H,
    hashes: Arc<AtomicUsize>,
    verifies: Arc<AtomicUsize>,
}

impl<H> Counting<H> {
    fn new(inner: H) -> Self {
        Self {
            inner,
            hashes: Arc::default(),
            verifies: Arc::default(),
        }
    }

    fn verifies(&self) -> usize {
        self.verifies.load(Ordering::SeqCst)
    }

    fn hashes(&self) -> usize {
        self.hashes.load(Ordering::SeqCst)
    }

    fn reset(&self) {
        self.hashes.store(0, Ordering::SeqCst);
        self.verifies.store(0, Ordering::SeqCst);
    }
}

#[async_trait]
impl<H: PasswordHasher> PasswordHasher for Counting<H> {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        self.hashes.fetch_add(1, Ordering::SeqCst);
        self.inner.hash(password).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<VerifyOutcome, AuthError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, hash).await
    }
}

/// Small argon2 parameters keep the tests fast; the algorithm and code paths are the same.
fn fast_hasher() -> MultiHasher {
    MultiHasher::with_params(Argon2Params::new(1024, 1, 1, None).unwrap())
        .with_pool(HashingPool::new(2, 64))
}

const PASSWORD: &str = "analytical engine 1843";

struct Fixture {
    backend: MemoryBackend,
    hasher: Counting<MultiHasher>,
    strategy: PasswordStrategy<Counting<MultiHasher>>,
    user: User,
}

/// A backend with one user, `ada@example.com` / `ada`, whose credential holds `hash`
/// (by default an argon2id hash of [`PASSWORD`] with the strategy's parameters).
async fn fixture_with_hash(hash: Option<PasswordHash>) -> Fixture {
    let backend = MemoryBackend::new();
    let hasher = Counting::new(fast_hasher());
    let clock = TestClock::new();
    let hash = match hash {
        Some(hash) => hash,
        None => hasher.inner.hash(&Password::new(PASSWORD)).await.unwrap(),
    };
    let mut user = User::new("Ada", "ada@example.com", clock.now());
    user.username = Some("ada".to_owned());
    backend
        .create_user_with_credential(&user, &Account::credential(user.id, hash, clock.now()))
        .await
        .unwrap();
    let strategy = PasswordStrategy::new(hasher.clone()).with_clock(clock);
    Fixture {
        backend,
        hasher,
        strategy,
        user,
    }
}

async fn fixture() -> Fixture {
    fixture_with_hash(None).await
}

async fn login(f: &Fixture, identifier: &str, password: &str) -> StrategyOutcome {
    f.strategy
        .authenticate(&f.backend, &PasswordCredentials::new(identifier, password))
        .await
        .unwrap()
}

async fn stored_hash(f: &Fixture) -> String {
    f.backend
        .find_credential_account(f.user.id)
        .await
        .unwrap()
        .unwrap()
        .password
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn the_right_password_authenticates_with_one_verification() {
    let f = fixture().await;
    for identifier in ["ada@example.com", "  Ada@Example.COM ", "ada", "ADA"] {
        f.hasher.reset();
        match login(&f, identifier, PASSWORD).await {
            StrategyOutcome::Authenticated(user) => assert_eq!(user.id, f.user.id),
            other => panic!("{identifier}: {other:?}"),
        }
        assert_eq!(f.hasher.verifies(), 1, "{identifier}");
        assert_eq!(f.hasher.hashes(), 0, "a current hash is not rehashed");
    }
}

#[tokio::test]
async fn a_wrong_password_is_rejected_naming_the_user() {
    let f = fixture().await;
    match login(&f, "ada@example.com", "analytical engine 1844").await {
        StrategyOutcome::Rejected { user: Some(user) } => assert_eq!(user.id, f.user.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.hasher.verifies(), 1);
}

#[tokio::test]
async fn an_unknown_identifier_is_rejected_after_exactly_one_verification() {
    let f = fixture().await;
    for identifier in [
        "nobody@example.com",
        "nobody",
        "not an email@",
        "x",
        "@",
        "",
    ] {
        f.hasher.reset();
        match login(&f, identifier, PASSWORD).await {
            StrategyOutcome::Rejected { user: None } => {}
            other => panic!("{identifier:?}: {other:?}"),
        }
        assert_eq!(f.hasher.verifies(), 1, "{identifier:?}");
    }
}

#[tokio::test]
async fn the_dummy_hash_is_made_once_with_the_current_hasher() {
    let f = fixture().await;
    f.strategy.prepare().await.unwrap();
    assert_eq!(f.hasher.hashes(), 1);
    for _ in 0..3 {
        login(&f, "nobody@example.com", PASSWORD).await;
    }
    f.strategy.prepare().await.unwrap();
    assert_eq!(f.hasher.hashes(), 1, "the dummy hash is cached");
    assert_eq!(f.hasher.verifies(), 3);
}

#[tokio::test]
async fn the_dummy_password_does_not_log_anyone_in() {
    let f = fixture().await;
    let outcome = login(
        &f,
        "nobody@example.com",
        "portcullis dummy password for unknown users",
    )
    .await;
    assert!(matches!(outcome, StrategyOutcome::Rejected { user: None }));
}

#[tokio::test]
async fn a_user_without_a_password_is_rejected_after_one_verification() {
    let backend = MemoryBackend::new();
    let hasher = Counting::new(fast_hasher());
    let strategy = PasswordStrategy::new(hasher.clone());
    let user = User::new("OAuth Only", "oauth@example.com", TestClock::new().now());
    backend.create_user(&user).await.unwrap();

    let outcome = strategy
        .authenticate(
            &backend,
            &PasswordCredentials::new("oauth@example.com", PASSWORD),
        )
        .await
        .unwrap();
    match outcome {
        StrategyOutcome::Rejected { user: Some(found) } => assert_eq!(found.id, user.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(hasher.verifies(), 1);
}

#[tokio::test]
async fn nfd_typed_password_matches_an_nfc_registration() {
    let f = fixture_with_hash(Some(
        fast_hasher()
            .hash(&Password::new("caf\u{e9} cr\u{e8}me"))
            .await
            .unwrap(),
    ))
    .await;
    assert!(matches!(
        login(&f, "ada", "cafe\u{301} cre\u{300}me").await,
        StrategyOutcome::Authenticated(_)
    ));
}

#[tokio::test]
async fn weaker_argon2_hashes_are_upgraded_on_login() {
    let weak = MultiHasher::with_params(Argon2Params::new(512, 1, 1, None).unwrap())
        .hash(&Password::new(PASSWORD))
        .await
        .unwrap();
    let f = fixture_with_hash(Some(weak)).await;
    assert!(stored_hash(&f).await.contains("m=512,"));
    assert!(matches!(
        login(&f, "ada", PASSWORD).await,
        StrategyOutcome::Authenticated(_)
    ));
    assert!(
        stored_hash(&f)
            .await
            .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
    );
    assert_eq!(f.hasher.hashes(), 1);
}

#[cfg(feature = "bcrypt")]
#[tokio::test]
async fn a_bcrypt_user_logs_in_and_ends_with_an_argon2id_hash() {
    use portcullis_password::BcryptHasher;

    let legacy = BcryptHasher::with_cost(4)
        .unwrap()
        .hash(&Password::new(PASSWORD))
        .await
        .unwrap();
    let f = fixture_with_hash(Some(legacy)).await;
    assert!(stored_hash(&f).await.starts_with("$2b$04$"));

    assert!(matches!(
        login(&f, "ada@example.com", "wrong password").await,
        StrategyOutcome::Rejected { user: Some(_) }
    ));
    assert!(
        stored_hash(&f).await.starts_with("$2b$"),
        "no upgrade on failure"
    );

    f.hasher.reset();
    assert!(matches!(
        login(&f, "ada@example.com", PASSWORD).await,
        StrategyOutcome::Authenticated(_)
    ));
    assert_eq!((f.hasher.verifies(), f.hasher.hashes()), (1, 1));
    let upgraded = stored_hash(&f).await;
    assert!(upgraded.starts_with("$argon2id$v=19$"), "{upgraded}");

    // The next login verifies the new hash and needs no further upgrade.
    f.hasher.reset();
    assert!(matches!(
        login(&f, "ada", PASSWORD).await,
        StrategyOutcome::Authenticated(_)
    ));
    assert_eq!((f.hasher.verifies(), f.hasher.hashes()), (1, 0));
    assert_eq!(stored_hash(&f).await, upgraded);
}

/// Says every match needs a rehash, then fails to hash.
#[derive(Debug)]
struct FailingUpgrade(MultiHasher);

#[async_trait]
impl PasswordHasher for FailingUpgrade {
    async fn hash(&self, _password: &Password) -> Result<PasswordHash, AuthError> {
        Err(AuthError::Overloaded)
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<VerifyOutcome, AuthError> {
        let outcome = self.0.verify(password, hash).await?;
        Ok(VerifyOutcome {
            needs_rehash: outcome.matched,
            ..outcome
        })
    }
}

#[tokio::test]
async fn a_failed_upgrade_does_not_fail_the_login() {
    let f = fixture().await;
    let before = stored_hash(&f).await;
    let strategy = PasswordStrategy::new(FailingUpgrade(fast_hasher()));
    let outcome = strategy
        .authenticate(&f.backend, &PasswordCredentials::new("ada", PASSWORD))
        .await
        .unwrap();
    assert!(matches!(outcome, StrategyOutcome::Authenticated(_)));
    assert_eq!(stored_hash(&f).await, before);
}

#[tokio::test]
async fn disabled_users_are_left_to_the_manager() {
    let f = fixture().await;
    let mut user = f.user.clone();
    user.disabled = true;
    f.backend.update_user(&user).await.unwrap();
    // The strategy only proves the password; the manager refuses disabled users.
    match login(&f, "ada", PASSWORD).await {
        StrategyOutcome::Authenticated(user) => assert!(user.disabled),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_full_hashing_queue_is_an_overloaded_error_not_a_rejection() {
    let f = fixture().await;
    let pool = HashingPool::new(1, 0);
    let strategy = PasswordStrategy::new(fast_hasher().with_pool(pool.clone()));
    // Occupy the only permit with a job that waits for us.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let busy = tokio::spawn({
        let pool = pool.clone();
        async move { pool.run(move || wait.recv()).await }
    });
    while pool.available_permits() > 0 {
        tokio::task::yield_now().await;
    }
    let result = strategy
        .authenticate(&f.backend, &PasswordCredentials::new("ada", PASSWORD))
        .await;
    assert!(matches!(result, Err(AuthError::Overloaded)), "{result:?}");
    release.send(()).unwrap();
    busy.await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn as_a_credential_strategy_it_checks_the_policy_and_hashes_new_passwords() {
    use portcullis_core::CredentialStrategy;
    use portcullis_password::PasswordPolicy;

    let hasher = Counting::new(fast_hasher());
    let strategy = PasswordStrategy::new(hasher.clone());
    let check = |s: &PasswordStrategy<_>, p: &str| {
        CredentialStrategy::<MemoryBackend>::check_policy(s, &Password::new(p))
    };
    assert!(check(&strategy, "tangerine vortex").is_ok());
    assert!(matches!(
        check(&strategy, "qwerty123"),
        Err(AuthError::WeakPassword(_))
    ));
    assert!(matches!(
        check(&strategy, "short"),
        Err(AuthError::WeakPassword(_))
    ));

    let strict = strategy.with_policy(PasswordPolicy::new().with_min_length(20));
    assert_eq!(strict.policy().min_length(), 20);
    assert!(check(&strict, "tangerine vortex").is_err());

    let hash =
        CredentialStrategy::<MemoryBackend>::hash_password(&strict, &Password::new(PASSWORD))
            .await
            .unwrap();
    assert!(hash.expose().starts_with("$argon2id$"));
    assert_eq!(hasher.hashes(), 1);
}
