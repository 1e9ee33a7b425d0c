//! Portcullis passwords: argon2id hashing by default, bcrypt for hashes imported from other
//! systems, transparent upgrade of outdated hashes on login, a NIST-style password policy
//! and the [`PasswordStrategy`] that turns an email or username plus password into a user.
//! All hashing runs off the async executor on a bounded [`HashingPool`], which answers
//! [`AuthError::Overloaded`](portcullis_core::AuthError::Overloaded) instead of queueing
//! without limit; passwords are NFKC-normalised before hashing and verifying, and a
//! password is never truncated.
//!
//! Use this crate alone when you only need password hashing and checking (a service with
//! its own user table, a tool that re-hashes imported passwords); with `AuthManager`, pass
//! `PasswordStrategy::new(MultiHasher::new())` to its builder.
//!
//! # Example
//!
//! Check a new password against the policy, hash it, and verify it later.
//!
#![cfg_attr(feature = "argon2", doc = "```")]
#![cfg_attr(not(feature = "argon2"), doc = "```ignore")]
//! use portcullis_core::{AuthError, Password, PasswordHasher};
//! use portcullis_password::{MultiHasher, PasswordPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), AuthError> {
//! let policy = PasswordPolicy::default(); // 8 to 128 characters, common passwords refused
//! let hasher = MultiHasher::new(); // argon2id, m=19456 KiB, t=2, p=1
//!
//! let password = Password::new("correct horse battery staple");
//! policy.check(&password)?;
//! let hash = hasher.hash(&password).await?; // "$argon2id$v=19$m=19456,t=2,p=1$..."
//!
//! let outcome = hasher.verify(&password, &hash).await?;
//! assert!(outcome.matched && !outcome.needs_rehash);
//! assert!(!hasher.verify(&Password::new("Tr0ub4dor&3"), &hash).await?.matched);
//!
//! assert!(matches!(
//!     policy.check(&Password::new("qwerty123")),
//!     Err(AuthError::WeakPassword(_)) // "this password is too common; choose another"
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! | Feature  | Default | Enables |
//! |----------|---------|---------|
//! | `argon2` | yes     | [`Argon2Hasher`] and [`MultiHasher`] (argon2id hashing; verifies argon2 and, with `bcrypt`, bcrypt hashes) |
//! | `bcrypt` | yes     | [`BcryptHasher`], and bcrypt verification in [`MultiHasher`] |
//!
//! [`PasswordPolicy`], [`PasswordStrategy`] and [`HashingPool`] are always available; the
//! strategy works with any [`PasswordHasher`](portcullis_core::PasswordHasher).

#[cfg(feature = "argon2")]
mod argon2;
#[cfg(feature = "bcrypt")]
mod bcrypt;
#[cfg(feature = "argon2")]
mod memory;
#[cfg(feature = "argon2")]
mod multi;
mod policy;
mod pool;
mod strategy;

#[cfg(feature = "argon2")]
#[doc(inline)]
pub use crate::argon2::Argon2Hasher;
#[cfg(feature = "bcrypt")]
#[doc(inline)]
pub use crate::bcrypt::BcryptHasher;
#[cfg(feature = "argon2")]
#[doc(inline)]
pub use crate::multi::MultiHasher;
#[doc(inline)]
pub use crate::policy::{PasswordPolicy, is_common_password, normalize_password};
#[doc(inline)]
pub use crate::pool::HashingPool;
#[doc(inline)]
pub use crate::strategy::PasswordStrategy;
/// argon2 parameters (memory in KiB, iterations, lanes), re-exported from the `argon2`
/// crate for [`Argon2Hasher::with_params`] and [`MultiHasher::with_params`].
#[cfg(feature = "argon2")]
pub use ::argon2::Params as Argon2Params;
/// Core's credentials type, re-exported for [`PasswordStrategy`]'s users.
#[doc(no_inline)]
pub use portcullis_core::PasswordCredentials;
