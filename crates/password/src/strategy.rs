//! [`PasswordStrategy`]: email or username plus password, checked against a [`Backend`].
//!
#![cfg_attr(feature = "argon2", doc = "```")]
#![cfg_attr(not(feature = "argon2"), doc = "```ignore")]
//! use portcullis_core::{PasswordCredentials, Strategy, StrategyOutcome};
//! use portcullis_password::{MultiHasher, PasswordStrategy};
//! # use portcullis_core::{Account, Clock, Password, PasswordHasher, SystemClock, User, UserStore};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), portcullis_core::AuthError> {
//! # let backend = portcullis_testkit::MemoryBackend::new();
//! # let hasher = MultiHasher::new();
//! # let now = SystemClock.now();
//! # let user = User::new("Ada", "ada@example.com", now);
//! # let hash = hasher.hash(&Password::new("analytical engine")).await?;
//! # backend.create_user_with_credential(&user, &Account::credential(user.id, hash, now)).await?;
//!
//! let strategy = PasswordStrategy::new(MultiHasher::new());
//! let credentials = PasswordCredentials::new("Ada@Example.com", "analytical engine");
//! match strategy.authenticate(&backend, &credentials).await? {
//!     StrategyOutcome::Authenticated(user) => assert_eq!(user.email, "ada@example.com"),
//!     other => panic!("rejected: {other:?}"),
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use portcullis_core::email::{normalize_email, normalize_username};
use portcullis_core::{
    AuthError, Backend, Clock, CredentialStrategy, Password, PasswordCredentials, PasswordHash,
    PasswordHasher, Strategy, StrategyOutcome, SystemClock, User,
};
use tokio::sync::OnceCell;

use crate::policy::PasswordPolicy;

/// Proves a user's identity with a password.
///
/// [`authenticate`](Strategy::authenticate):
/// 1. normalises the identifier: with an `@` it is an email address
///    ([`normalize_email`]), otherwise a username ([`normalize_username`]); one that fails
///    normalisation is treated as an unknown user, not as an error;
/// 2. finds the user and their credential account;
/// 3. verifies the password with the hasher: against the stored hash, or, when there is no
///    user or no password on the account, against a dummy hash made once with the same
///    hasher. Either way exactly one hash verification runs, so response time does not
///    reveal which accounts exist;
/// 4. on a match whose hash is outdated (`needs_rehash`: bcrypt, weaker argon2 parameters),
///    hashes the password again and stores it with
///    [`update_password`](portcullis_core::AccountStore::update_password). A failed upgrade
///    is logged at `warn` (with the user id and the error, never the password or a hash)
///    and does not fail the login.
///
/// It returns [`StrategyOutcome::Authenticated`] on a match, otherwise
/// [`StrategyOutcome::Rejected`] with the user when the identifier named one (including a
/// user without a password, e.g. one who signs in with OAuth only).
///
/// It does only the proving: it does **not** check [`User::disabled`], failed-login
/// counters or lockout. Those belong to the manager, which must refuse a disabled user
/// even after `Authenticated` (and answer exactly as for a wrong password).
///
/// As a [`CredentialStrategy`] it also serves the manager's new passwords:
/// [`check_policy`](CredentialStrategy::check_policy) applies its [`PasswordPolicy`]
/// (the default one unless set with [`with_policy`](Self::with_policy)) and
/// [`hash_password`](CredentialStrategy::hash_password) hashes with its hasher.
pub struct PasswordStrategy<H> {
    hasher: H,
    policy: PasswordPolicy,
    clock: Arc<dyn Clock>,
    dummy_hash: OnceCell<PasswordHash>,
}

impl<H: PasswordHasher> PasswordStrategy<H> {
    /// A strategy verifying with `hasher` and timestamping upgrades with the system clock.
    pub fn new(hasher: H) -> Self {
        Self {
            hasher,
            policy: PasswordPolicy::default(),
            clock: Arc::new(SystemClock),
            dummy_hash: OnceCell::new(),
        }
    }

    /// Uses `clock` for the `now` passed to `update_password` on a rehash.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Uses `policy` for new passwords instead of [`PasswordPolicy::default`].
    #[must_use]
    pub fn with_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The hasher.
    pub fn hasher(&self) -> &H {
        &self.hasher
    }

    /// The policy new passwords are checked against.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// Makes the dummy hash now instead of on the first login for an unknown identifier
    /// (which would otherwise take one hash longer than every later one). Call it at
    /// start-up; calling it again does nothing.
    ///
    /// # Errors
    /// What the hasher's [`hash`](PasswordHasher::hash) returns.
    pub async fn prepare(&self) -> Result<(), AuthError> {
        self.dummy_hash().await.map(|_| ())
    }

    async fn dummy_hash(&self) -> Result<&PasswordHash, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async {
                // The dummy's password is irrelevant: whatever the outcome, an unknown
                // identifier is rejected.
                self.hasher
                    .hash(&Password::new(
                        "portcullis dummy password for unknown users",
                    ))
                    .await
            })
            .await
    }

    async fn find_user<B: Backend + ?Sized>(
        backend: &B,
        identifier: &str,
    ) -> Result<Option<User>, AuthError> {
        // Decided on the normalised form, as registration does: an address typed with a
        // full-width `＠` (or any other compatibility form) is the address it folds to.
        let user = match normalize_email(identifier) {
            Ok(email) => backend.find_user_by_email(&email).await?,
            // Usernames have no `@`: an identifier with one that is no address is nobody.
            Err(_) if identifier.contains('@') => None,
            Err(_) => match normalize_username(identifier) {
                Ok(username) => backend.find_user_by_username(&username).await?,
                Err(_) => None,
            },
        };
        Ok(user)
    }

    async fn upgrade_hash<B: Backend + ?Sized>(
        &self,
        backend: &B,
        user: &User,
        password: &Password,
    ) {
        let result = match self.hasher.hash(password).await {
            Ok(hash) => backend
                .update_password(user.id, &hash, self.clock.now())
                .await
                .map_err(AuthError::from),
            Err(err) => Err(err),
        };
        if let Err(err) = result {
            tracing::warn!(
                user_id = %user.id,
                error = %err,
                error_code = err.code(),
                "could not upgrade an outdated password hash; keeping the old one"
            );
        }
    }
}

#[async_trait]
impl<B, H> Strategy<B> for PasswordStrategy<H>
where
    B: Backend + ?Sized,
    H: PasswordHasher,
{
    type Credentials = PasswordCredentials;

    async fn authenticate(
        &self,
        backend: &B,
        credentials: &PasswordCredentials,
    ) -> Result<StrategyOutcome, AuthError> {
        let user = Self::find_user(backend, &credentials.identifier).await?;
        let stored = match &user {
            Some(user) => backend
                .find_credential_account(user.id)
                .await?
                .and_then(|account| account.password),
            None => None,
        };
        let (user, stored) = match (user, stored) {
            (Some(user), Some(stored)) => (user, stored),
            (user, _) => {
                // Same work as a real check; the outcome is ignored on purpose.
                let dummy = self.dummy_hash().await?;
                let _ = self.hasher.verify(&credentials.password, dummy).await?;
                return Ok(StrategyOutcome::Rejected { user });
            }
        };
        let outcome = self.hasher.verify(&credentials.password, &stored).await?;
        if !outcome.matched {
            return Ok(StrategyOutcome::Rejected { user: Some(user) });
        }
        if outcome.needs_rehash {
            self.upgrade_hash(backend, &user, &credentials.password)
                .await;
        }
        Ok(StrategyOutcome::Authenticated(user))
    }
}

#[async_trait]
impl<B, H> CredentialStrategy<B> for PasswordStrategy<H>
where
    B: Backend + ?Sized,
    H: PasswordHasher,
{
    fn check_policy(&self, password: &Password) -> Result<(), AuthError> {
        self.policy.check(password)
    }

    async fn hash_password(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        self.hasher.hash(password).await
    }
}

impl<H: Clone> Clone for PasswordStrategy<H> {
    fn clone(&self) -> Self {
        Self {
            hasher: self.hasher.clone(),
            policy: self.policy.clone(),
            clock: Arc::clone(&self.clock),
            dummy_hash: self.dummy_hash.clone(),
        }
    }
}

impl<H: fmt::Debug> fmt::Debug for PasswordStrategy<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordStrategy")
            .field("hasher", &self.hasher)
            .field("policy", &self.policy)
            .field("clock", &self.clock)
            .field("dummy_hash_ready", &self.dummy_hash.initialized())
            .finish()
    }
}
