//! The password hasher contract.

use async_trait::async_trait;

use crate::AuthError;
use crate::secret::{Password, PasswordHash};

/// What [`PasswordHasher::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct VerifyOutcome {
    /// The password matched the hash.
    pub matched: bool,
    /// The hash uses an older algorithm or weaker parameters than the hasher's current
    /// ones: after a successful match, hash the password again and store the new hash.
    pub needs_rehash: bool,
}

impl VerifyOutcome {
    /// A mismatch.
    pub const MISMATCH: Self = Self {
        matched: false,
        needs_rehash: false,
    };
}

/// Hashes and verifies passwords.
///
/// Implementations do the expensive work off the async executor (on a bounded blocking
/// pool) and fail with [`AuthError::Overloaded`] instead of queueing without bound.
#[async_trait]
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes `password` with a fresh salt and the current algorithm and parameters.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`] when the algorithm cannot represent the password (bcrypt
    /// over 72 bytes), [`AuthError::Overloaded`] when the hashing queue is full.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError>;

    /// Checks `password` against a stored `hash`, in constant time with respect to the
    /// password. A malformed or unsupported stored hash is an error, never a panic.
    ///
    /// # Errors
    /// [`AuthError::Internal`] for a malformed stored hash, [`AuthError::Overloaded`] when
    /// the hashing queue is full.
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<VerifyOutcome, AuthError>;
}
