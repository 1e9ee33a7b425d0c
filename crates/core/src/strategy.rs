//! The strategy contract: turning credentials into a user.

use async_trait::async_trait;

use crate::AuthError;
use crate::model::User;
use crate::store::Backend;

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
