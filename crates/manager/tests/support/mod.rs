//! Shared fixtures for the manager tests: a manager over any backend with a test clock, a
//! capturing mailer, a hasher that counts its calls, and a log capture.
// Test support: items are `pub` for the flow modules and not all are used by every binary.
#![allow(dead_code, unreachable_pub)]

pub mod flows;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use portcullis_core::{
    AuthError, Backend, ClientInfo, Password, PasswordHash, PasswordHasher, TestClock,
    VerifyOutcome, async_trait,
};
use portcullis_manager::{
    AuthConfig, AuthManager, MemoryMailer, Registered, Registration, SignedIn,
};
use portcullis_password::{Argon2Params, MultiHasher, PasswordStrategy};

/// Counts hash and verify calls of the hasher it wraps.
#[derive(Debug, Clone)]
pub struct CountingHasher {
    inner: MultiHasher,
    pub hashes: Arc<AtomicUsize>,
    pub verifies: Arc<AtomicUsize>,
}

impl CountingHasher {
    /// Cheap argon2id parameters: these tests are about flows, not hashing cost.
    pub fn fast() -> Self {
        let params = Argon2Params::new(1024, 1, 1, None).expect("valid argon2 params");
        Self {
            inner: MultiHasher::with_params(params),
            hashes: Arc::default(),
            verifies: Arc::default(),
        }
    }

    pub fn verify_count(&self) -> usize {
        self.verifies.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PasswordHasher for CountingHasher {
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

pub type Manager<B> = AuthManager<B, PasswordStrategy<CountingHasher>>;

pub struct Harness<B: Backend> {
    pub manager: Manager<B>,
    pub clock: TestClock,
    pub mailer: MemoryMailer,
    pub hasher: CountingHasher,
    pub client: ClientInfo,
}

/// Makes every manager built by this test process use the session cache (for the
/// `flows_cached` suite: the whole flow suite must hold with the cache on).
pub fn enable_session_cache() {
    SESSION_CACHE.store(true, std::sync::atomic::Ordering::SeqCst);
}

static SESSION_CACHE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn config() -> AuthConfig {
    AuthConfig {
        public_url: "https://app.example.com".into(),
        session_cache: SESSION_CACHE
            .load(std::sync::atomic::Ordering::SeqCst)
            .then(portcullis_manager::SessionCacheConfig::default),
        ..AuthConfig::default()
    }
}

pub fn harness<B: Backend>(backend: B) -> Harness<B> {
    harness_with(backend, config())
}

pub fn harness_with<B: Backend>(backend: B, config: AuthConfig) -> Harness<B> {
    capture_logs();
    let clock = TestClock::new();
    let mailer = MemoryMailer::new();
    let hasher = CountingHasher::fast();
    let strategy = PasswordStrategy::new(hasher.clone()).with_clock(clock.clone());
    let manager = AuthManager::builder(backend, strategy)
        .config(config)
        .clock(clock.clone())
        .mailer(mailer.clone())
        .build()
        .expect("valid config");
    Harness {
        manager,
        clock,
        mailer,
        hasher,
        client: ClientInfo {
            ip_address: Some("192.0.2.10".into()),
            user_agent: Some("flows-test/1.0".into()),
        },
    }
}

/// A unique email address.
pub fn email() -> String {
    format!("user-{}@example.com", &uuid_like()[..12])
}

fn uuid_like() -> String {
    portcullis_core::UserId::new().to_string().replace('-', "")
}

pub const PASSWORD: &str = "correct horse battery staple";

impl<B: Backend> Harness<B> {
    pub async fn register(&self, email: &str) -> SignedIn {
        match self
            .manager
            .register(
                Registration::new("Test User", email, PASSWORD),
                &self.client,
            )
            .await
            .expect("registration succeeds")
        {
            Registered::SignedIn(signed_in) => *signed_in,
            Registered::CheckEmail => panic!("paranoid registration is off"),
        }
    }
}

/// Every log line written by any test in this process (tracing, all levels).
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.get_or_init(Default::default).lock().unwrap()).into_owned()
}

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

/// Installs (once per process) a subscriber that records every log line at TRACE level.
pub fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let buffer = Arc::clone(LOGS.get_or_init(Default::default));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&buffer)))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}
