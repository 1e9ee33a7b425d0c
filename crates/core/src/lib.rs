//! Portcullis contracts: the types and traits every other Portcullis crate builds on.
//!
//! This crate holds no database, no async runtime and no web framework. Storage backends
//! implement its store traits ([`UserStore`], [`AccountStore`], [`SessionStore`],
//! [`VerificationStore`], [`EventStore`]; together a [`Backend`]); password hashers implement
//! [`PasswordHasher`]; framework adapters use [`Transport`] and map [`AuthError`] to responses
//! with its stable [`code`](AuthError::code) and [`status`](AuthError::status).
//!
//! Depend on this crate alone when you write a storage backend, a password hasher or a
//! framework adapter (`docs/writing-a-backend.md` walks through a backend); applications
//! usually depend on the `portcullis` facade or on the layers they wire together.
//!
//! # Example
//!
//! Create the records a registration stores: a user, its credential account, a session
//! whose token only the client keeps.
//!
//! ```
//! use std::time::Duration;
//! use portcullis_core::{
//!     Account, Clock, PasswordHash, Session, SessionId, SystemClock, Token, User,
//!     email::normalize_email, to_time_delta,
//! };
//!
//! let now = SystemClock.now();
//! let user = User::new("Ada", normalize_email("Ada@Example.com")?, now);
//! let account = Account::credential(user.id, PasswordHash::new("$argon2id$..."), now);
//! let token = Token::generate()?;
//! let session = Session {
//!     id: SessionId::new(),
//!     token_hash: token.hash(), // storage never sees the token itself
//!     user_id: user.id,
//!     expires_at: now + to_time_delta(Duration::from_secs(7 * 24 * 3600)),
//!     absolute_expires_at: now + to_time_delta(Duration::from_secs(30 * 24 * 3600)),
//!     ip_address: None,
//!     user_agent: None,
//!     created_at: now,
//!     last_seen_at: now,
//! };
//! assert_eq!(user.email, "ada@example.com");
//! assert_eq!(account.provider_id, "credential");
//! assert!(!session.is_expired(now));
//! # Ok::<(), portcullis_core::AuthError>(())
//! ```
//!
//! # Feature flags
//!
//! None: the contracts are always complete.

mod clock;
pub mod email;
mod error;
mod hasher;
mod ids;
mod mailer;
mod model;
mod secret;
mod store;
mod strategy;
pub mod token;
mod transport;

#[doc(inline)]
pub use clock::{Clock, SystemClock, TestClock, to_time_delta};
#[doc(inline)]
pub use error::{AuthError, BoxError, ConflictKind, StoreError, StoreResult};
#[doc(inline)]
pub use hasher::{PasswordHasher, VerifyOutcome};
#[doc(inline)]
pub use ids::{AccountId, EventId, SessionId, UserId, VerificationId};
#[doc(inline)]
pub use mailer::{Email, EmailKind, Mailer};
#[doc(inline)]
pub use model::{
    Account, AuthEvent, AuthEventKind, CREDENTIAL_PROVIDER, ClientInfo, DEFAULT_ROLE, FailedLogins,
    Session, UnknownEventKind, User, Verification,
};
#[doc(inline)]
pub use secret::{Password, PasswordHash, SecretString};
#[doc(inline)]
pub use store::{AccountStore, Backend, EventStore, SessionStore, UserStore, VerificationStore};
#[doc(inline)]
pub use strategy::{CredentialStrategy, PasswordCredentials, Strategy, StrategyOutcome};
#[doc(inline)]
pub use token::{Token, TokenHash, constant_time_eq};
#[doc(inline)]
pub use transport::{TokenSource, Transport};

// Re-exported so that backends and adapters name the same versions core uses.
pub use async_trait::async_trait;
pub use chrono;
pub use http;
pub use uuid;
