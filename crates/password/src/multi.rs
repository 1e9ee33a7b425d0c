//! [`MultiHasher`]: argon2id for new hashes, every supported format for verification
//! (feature `argon2`; bcrypt hashes also need feature `bcrypt`).
//!
#![cfg_attr(feature = "bcrypt", doc = "```")]
#![cfg_attr(not(feature = "bcrypt"), doc = "```ignore")]
//! use portcullis_core::{Password, PasswordHash, PasswordHasher};
//! use portcullis_password::MultiHasher;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), portcullis_core::AuthError> {
//! let hasher = MultiHasher::new();
//! // A hash imported from a system that used bcrypt ("password", cost 4).
//! let legacy = PasswordHash::new("$2b$04$AeuhiX0xZ9Xh3VT004zj3ewELvSem5biy3gUKTCNa8KxIHfe.jTzS");
//! let outcome = hasher.verify(&Password::new("password"), &legacy).await?;
//! assert!(outcome.matched && outcome.needs_rehash); // store `hasher.hash(..)` now
//! # Ok(())
//! # }
//! ```

use ::argon2::Params;
use async_trait::async_trait;
use portcullis_core::{AuthError, Password, PasswordHash, PasswordHasher, VerifyOutcome};

use crate::argon2::{self as argon2id, Argon2Hasher};
use crate::pool::HashingPool;

/// The hasher to use when stored hashes may come from more than one algorithm: it hashes
/// new passwords with argon2id (like [`Argon2Hasher`], default parameters m=19456 KiB, t=2,
/// p=1) and verifies
///
/// - argon2 PHC strings (`$argon2id$`, `$argon2i$`, `$argon2d$`, any version and
///   parameters within sanity limits), and
/// - bcrypt hashes (`$2a$`, `$2b$`, `$2y$`), with feature `bcrypt`.
///
/// A match reports `needs_rehash` whenever the stored hash is not argon2id v19 with the
/// current parameters, so every bcrypt hash is upgraded on its owner's next login
/// ([`PasswordStrategy`](crate::PasswordStrategy) does that). A password longer than 72
/// bytes never matches a bcrypt hash (bcrypt would ignore the rest). Anything else stored
/// (an unknown prefix, a malformed hash, a bcrypt hash with feature `bcrypt` off) is an
/// [`AuthError::Internal`] error.
#[derive(Debug, Clone, Default)]
pub struct MultiHasher {
    argon2: Argon2Hasher,
}

impl MultiHasher {
    /// A hasher making argon2id hashes with the default parameters, on the process-wide
    /// [`HashingPool::shared`] pool.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A hasher making argon2id hashes with `params`; hashes with other parameters then
    /// need a rehash.
    #[must_use]
    pub fn with_params(params: Params) -> Self {
        Self {
            argon2: Argon2Hasher::with_params(params),
        }
    }

    /// Runs the hashing on `pool` instead of the shared pool.
    #[must_use]
    pub fn with_pool(self, pool: HashingPool) -> Self {
        Self {
            argon2: self.argon2.with_pool(pool),
        }
    }

    /// The argon2id parameters new hashes are made with.
    #[must_use]
    pub fn params(&self) -> &Params {
        self.argon2.params()
    }

    /// The pool the hashing runs on.
    #[must_use]
    pub fn pool(&self) -> &HashingPool {
        self.argon2.pool()
    }
}

#[async_trait]
impl PasswordHasher for MultiHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        self.argon2.hash(password).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<VerifyOutcome, AuthError> {
        let encoded = hash.expose();
        if argon2id::is_argon2(encoded) {
            return self.argon2.verify(password, hash).await;
        }
        #[cfg(feature = "bcrypt")]
        if crate::bcrypt::is_bcrypt(encoded) {
            let (password, hash) = (password.clone(), hash.clone());
            return self
                .pool()
                .run(move || {
                    crate::bcrypt::verify_blocking(
                        None,
                        &crate::policy::normalize_password(&password),
                        hash.expose(),
                    )
                })
                .await?;
        }
        #[cfg(not(feature = "bcrypt"))]
        if ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|prefix| encoded.starts_with(prefix))
        {
            return Err(AuthError::internal(
                "stored password hash is bcrypt, but portcullis-password's `bcrypt` feature is off",
            ));
        }
        Err(AuthError::internal(
            "stored password hash has an unsupported or malformed format",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: impl Into<String>) -> Password {
        Password::new(s.into())
    }

    fn weak_params() -> Params {
        Params::new(4096, 1, 1, None).unwrap()
    }

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies_its_own_hashes_as_current() {
        let hasher = MultiHasher::new();
        let hash = hasher.hash(&pw("tangerine vortex")).await.unwrap();
        assert!(hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let outcome = hasher.verify(&pw("tangerine vortex"), &hash).await.unwrap();
        assert_eq!(
            outcome,
            VerifyOutcome {
                matched: true,
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify(&pw("tangerine vortey"), &hash).await.unwrap(),
            VerifyOutcome::MISMATCH
        );
    }

    #[tokio::test]
    async fn weaker_argon2_parameters_need_a_rehash() {
        let weak = Argon2Hasher::with_params(weak_params())
            .hash(&pw("tangerine vortex"))
            .await
            .unwrap();
        let outcome = MultiHasher::new()
            .verify(&pw("tangerine vortex"), &weak)
            .await
            .unwrap();
        assert!(outcome.matched && outcome.needs_rehash);
    }

    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn bcrypt_hashes_verify_and_need_a_rehash() {
        use ::bcrypt::Version;
        let hasher = MultiHasher::new();
        let parts = ::bcrypt::hash_with_result("imported password", 4).unwrap();
        for version in [Version::TwoA, Version::TwoB, Version::TwoY] {
            let hash = PasswordHash::new(parts.format_for_version(version));
            let outcome = hasher
                .verify(&pw("imported password"), &hash)
                .await
                .unwrap();
            assert!(outcome.matched && outcome.needs_rehash, "{}", hash.expose());
            assert_eq!(
                hasher
                    .verify(&pw("imported passwort"), &hash)
                    .await
                    .unwrap(),
                VerifyOutcome::MISMATCH
            );
        }
        // Even at the cost a BcryptHasher would use today, bcrypt is not current here.
        let cost12 = PasswordHash::new(::bcrypt::hash("imported password", 12).unwrap());
        assert!(
            hasher
                .verify(&pw("imported password"), &cost12)
                .await
                .unwrap()
                .needs_rehash
        );
    }

    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn a_73_byte_password_does_not_match_the_bcrypt_hash_of_its_prefix() {
        let prefix = "k".repeat(72);
        let hash = PasswordHash::new(::bcrypt::hash(prefix.as_bytes(), 4).unwrap());
        let hasher = MultiHasher::new();
        assert_eq!(
            hasher
                .verify(&pw(format!("{prefix}!")), &hash)
                .await
                .unwrap(),
            VerifyOutcome::MISMATCH
        );
        assert!(hasher.verify(&pw(prefix), &hash).await.unwrap().matched);
    }

    #[tokio::test]
    async fn malformed_or_unknown_hashes_are_internal_errors() {
        let hasher = MultiHasher::new();
        for bad in [
            "",
            "$argon2id$garbage",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Z1Zq",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0",
            "$2b$99$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u",
            "$2b$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7J",
            "$2x$04$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            "$pbkdf2-sha256$29000$N2bMOQ$4NvoVBlq8qP1ibj6jLLFbQ",
            "plaintext-password",
            "random text with $ signs $$$",
        ] {
            let result = hasher
                .verify(&pw("password"), &PasswordHash::new(bad))
                .await;
            assert!(
                matches!(result, Err(AuthError::Internal(_))),
                "{bad:?} gave {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn nfc_and_nfd_forms_verify_against_each_other() {
        let hasher = MultiHasher::with_params(weak_params());
        let hash = hasher.hash(&pw("caf\u{e9}-cr\u{e8}me")).await.unwrap();
        let outcome = hasher
            .verify(&pw("cafe\u{301}-cre\u{300}me"), &hash)
            .await
            .unwrap();
        assert!(outcome.matched && !outcome.needs_rehash);
    }
}
