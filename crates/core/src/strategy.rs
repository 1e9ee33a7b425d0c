//! The strategy contract: turning credentials into a user.

use async_trait::async_trait;

use crate::AuthError;
use crate::model::User;
use crate::secret::{Password, PasswordHash};
use crate::store::Backend;

/// What a user types to log in with a password.
#[derive(Debug, Clone)]
pub struct PasswordCredentials {
    /// An email address (anything containing `@`) or a username, as typed: strategies
    /// normalise it.
    pub identifier: String,
    /// The password, as typed.
    pub password: Password,
}

impl PasswordCredentials {
    /// Credentials from an identifier and a password.
    pub fn new(identifier: impl Into<String>, password: impl Into<Password>) -> Self {
        Self {
            identifier: identifier.into(),
            password: password.into(),
        }
    }
}

/// What a [`Strategy`] concluded about a set of credentials.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StrategyOutcome {
    /// The credentials prove the identity of this user.
    Authenticated(User),
    /// The credentials are wrong. `user` is set when the identifier matched a user (so the
    /// caller can count the failure against that account); callers must answer exactly as
    /// they would for an unknown identifier.
    Rejected {
        /// The user the identifier named, if any.
        user: Option<User>,
    },
}

/// Turns credentials (a password, an OAuth callback, a one-time code) into a user.
///
/// A strategy does only the proving; sessions, lockout and audit belong to the manager.
#[async_trait]
pub trait Strategy<B: Backend + ?Sized>: Send + Sync {
    /// What the client presents.
    type Credentials: Send + Sync;

    /// Checks the credentials against `backend`.
    ///
    /// # Errors
    /// Infrastructure failures only ([`AuthError::StorageUnavailable`],
    /// [`AuthError::Overloaded`], ...); wrong credentials are [`StrategyOutcome::Rejected`].
    async fn authenticate(
        &self,
        backend: &B,
        credentials: &Self::Credentials,
    ) -> Result<StrategyOutcome, AuthError>;
}

/// A [`Strategy`] for email-or-username plus password that also owns what the manager needs
/// for new passwords: the policy and the hashing.
///
/// `portcullis-password`'s `PasswordStrategy` implements it (argon2id, bcrypt upgrade,
/// NFKC normalisation, common-password list). The manager is generic over this trait, so it
/// never names a hashing algorithm.
#[async_trait]
pub trait CredentialStrategy<B: Backend + ?Sized>:
    Strategy<B, Credentials = PasswordCredentials> + 'static
{
    /// Checks a new password (registration, reset, change) against the policy.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`] with a message saying what to change.
    fn check_policy(&self, password: &Password) -> Result<(), AuthError>;

    /// Hashes a new password for storage (call [`check_policy`](Self::check_policy) first).
    ///
    /// # Errors
    /// [`AuthError::Overloaded`] when the hashing queue is full, or what the hasher reports.
    async fn hash_password(&self, password: &Password) -> Result<PasswordHash, AuthError>;
}
