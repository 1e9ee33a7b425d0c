//! bcrypt, for hashes imported from other systems (feature `bcrypt`).
//!
//! bcrypt reads at most 72 bytes of a password; most implementations silently ignore the
//! rest, so `<72 bytes>A` and `<72 bytes>B` would be the same password. Here a longer
//! password is never cut: hashing refuses it with [`AuthError::WeakPassword`], and
//! verifying it against a bcrypt hash is a mismatch.
//!
//! ```
//! use portcullis_core::{AuthError, Password, PasswordHasher};
//! use portcullis_password::BcryptHasher;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), AuthError> {
//! let hasher = BcryptHasher::with_cost(4)?; // the minimum cost, to keep the example fast
//! let hash = hasher.hash(&Password::new("correct horse battery staple")).await?;
//! assert!(hash.expose().starts_with("$2b$04$"));
//! assert!(hasher.verify(&Password::new("correct horse battery staple"), &hash).await?.matched);
//!
//! let too_long = Password::new("x".repeat(73));
//! assert!(matches!(hasher.hash(&too_long).await, Err(AuthError::WeakPassword(_))));
//! # Ok(())
//! # }
//! ```

use async_trait::async_trait;
use portcullis_core::{AuthError, Password, PasswordHash, PasswordHasher, VerifyOutcome};

use crate::policy::normalize_password;
use crate::pool::HashingPool;

/// The most bytes (of the NFKC form, UTF-8 encoded) bcrypt can take without truncating.
const MAX_PASSWORD_BYTES: usize = 72;

/// Lowest and highest cost bcrypt defines.
const MIN_COST: u32 = 4;
const MAX_COST: u32 = 31;

/// Stored hashes with a higher cost than this (or than the hasher's own, when higher) are
/// refused rather than verified: cost 31 is 2^19 times cost 12, hours of CPU per login,
/// and no real system stores such hashes.
const MAX_VERIFY_COST: u32 = 16;

/// The message for passwords bcrypt cannot represent.
fn too_long() -> AuthError {
    AuthError::WeakPassword(format!(
        "password must be at most {MAX_PASSWORD_BYTES} bytes for bcrypt; choose a shorter one"
    ))
}

/// Hashes passwords with bcrypt (`$2b$`) and verifies `$2a$`, `$2b$` and `$2y$` hashes.
///
/// Prefer [`Argon2Hasher`](crate::Argon2Hasher) (or [`MultiHasher`](crate::MultiHasher),
/// which verifies bcrypt and upgrades it): bcrypt uses 4 KiB of memory per guess, so it
/// resists GPU cracking far less than argon2id. Use this hasher when another system must
/// read the hashes.
///
/// The default cost is 12 (2^12 rounds): OWASP's minimum is 10, and 12 is the usual
/// production choice, taking a few hundred milliseconds per hash on a server core —
/// as slow as logins can afford. A match reports `needs_rehash` when the stored cost
/// differs from the hasher's. Verification refuses stored costs above 16 (or the hasher's
/// own, when higher) as malformed.
///
/// Passwords are NFKC-normalised ([`normalize_password`](crate::normalize_password)) and
/// must then be at most [`MAX_PASSWORD_BYTES`](Self::MAX_PASSWORD_BYTES) (72) bytes: longer
/// ones are refused when hashing and never match when verifying. `$2x$` hashes (made by a
/// buggy implementation) are refused.
#[derive(Debug, Clone)]
pub struct BcryptHasher {
    cost: u32,
    pool: HashingPool,
}

impl BcryptHasher {
    /// The default cost.
    pub const DEFAULT_COST: u32 = 12;

    /// The longest password bcrypt takes without truncating, in bytes of its UTF-8 NFKC
    /// form.
    pub const MAX_PASSWORD_BYTES: usize = MAX_PASSWORD_BYTES;

    /// A bcrypt hasher with cost 12 on the process-wide [`HashingPool::shared`] pool.
    #[must_use]
    pub fn new() -> Self {
        Self {
            cost: Self::DEFAULT_COST,
            pool: HashingPool::shared(),
        }
    }

    /// A bcrypt hasher with `cost` (4 to 31; each step doubles the work).
    ///
    /// # Errors
    /// [`AuthError::Internal`] when `cost` is outside 4..=31.
    pub fn with_cost(cost: u32) -> Result<Self, AuthError> {
        if !(MIN_COST..=MAX_COST).contains(&cost) {
            return Err(AuthError::internal(format!(
                "bcrypt cost must be between {MIN_COST} and {MAX_COST}, got {cost}"
            )));
        }
        Ok(Self {
            cost,
            pool: HashingPool::shared(),
        })
    }

    /// Runs the hashing on `pool` instead of the shared pool.
    #[must_use]
    pub fn with_pool(mut self, pool: HashingPool) -> Self {
        self.pool = pool;
        self
    }

    /// The cost new hashes are made with.
    #[must_use]
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// The pool the hashing runs on.
    #[must_use]
    pub fn pool(&self) -> &HashingPool {
        &self.pool
    }
}

impl Default for BcryptHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        let normalized = normalize_password(password);
        // Checked here too so that an over-long password is refused without queueing.
        if normalized.expose().len() > MAX_PASSWORD_BYTES {
            return Err(too_long());
        }
        let cost = self.cost;
        self.pool
            .run(move || hash_blocking(cost, &normalized))
            .await?
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<VerifyOutcome, AuthError> {
        if !is_bcrypt(hash.expose()) {
            return Err(AuthError::internal(
                "stored password hash is not a $2a$, $2b$ or $2y$ bcrypt hash",
            ));
        }
        let (cost, password, hash) = (self.cost, password.clone(), hash.clone());
        self.pool
            .run(move || verify_blocking(Some(cost), &normalize_password(&password), hash.expose()))
            .await?
    }
}

/// Whether `encoded` claims to be a bcrypt hash of a version we verify.
pub(crate) fn is_bcrypt(encoded: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| encoded.starts_with(prefix))
}

/// Hashes an already-normalised password. Blocking.
pub(crate) fn hash_blocking(cost: u32, password: &Password) -> Result<PasswordHash, AuthError> {
    let bytes = password.expose().as_bytes();
    if bytes.len() > MAX_PASSWORD_BYTES {
        return Err(too_long());
    }
    // At most 72 bytes, so the (truncating) `hash` uses every byte; `non_truncating_hash`
    // would refuse exactly 72 bytes, which bcrypt represents fine.
    ::bcrypt::hash(bytes, cost)
        .map(PasswordHash::new)
        .map_err(|err| AuthError::internal(format!("bcrypt hashing failed: {err}")))
}

/// Verifies an already-normalised password against a bcrypt hash. `current_cost` is the
/// cost a fresh hash would have, or `None` when bcrypt is not the current algorithm (every
/// match then needs a rehash). Blocking.
pub(crate) fn verify_blocking(
    current_cost: Option<u32>,
    password: &Password,
    encoded: &str,
) -> Result<VerifyOutcome, AuthError> {
    if !is_bcrypt(encoded) {
        return Err(AuthError::internal(
            "stored password hash is not a $2a$, $2b$ or $2y$ bcrypt hash",
        ));
    }
    let parts: ::bcrypt::HashParts = encoded.parse().map_err(|err| malformed(&err))?;
    let cost = parts.get_cost();
    if !(MIN_COST..=MAX_VERIFY_COST.max(current_cost.unwrap_or(0))).contains(&cost) {
        return Err(AuthError::internal(format!(
            "bcrypt password hash has cost {cost}, outside the range allowed"
        )));
    }
    let bytes = password.expose().as_bytes();
    if bytes.len() > MAX_PASSWORD_BYTES {
        // bcrypt would only see the first 72 bytes, so a "match" would accept a different
        // password: never a match. Spend the same time as a real check so that the answer
        // does not reveal that this account has a bcrypt hash.
        let _ = ::bcrypt::verify([0u8; MAX_PASSWORD_BYTES], encoded);
        return Ok(VerifyOutcome::MISMATCH);
    }
    let matched = ::bcrypt::verify(bytes, encoded).map_err(|err| malformed(&err))?;
    Ok(VerifyOutcome {
        matched,
        needs_rehash: matched && current_cost != Some(cost),
    })
}

/// The error for a stored hash that cannot be verified, without the hash itself.
fn malformed(err: &dyn std::fmt::Display) -> AuthError {
    AuthError::internal(format!("malformed bcrypt password hash: {err}"))
}

#[cfg(test)]
mod tests {
    use ::bcrypt::Version;

    use super::*;

    fn pw(s: impl Into<String>) -> Password {
        Password::new(s.into())
    }

    fn fast() -> BcryptHasher {
        BcryptHasher::with_cost(4).unwrap()
    }

    #[tokio::test]
    async fn round_trip_wrong_password_and_fresh_salt() {
        let hasher = fast();
        let a = hasher.hash(&pw("open sesame 42")).await.unwrap();
        let b = hasher.hash(&pw("open sesame 42")).await.unwrap();
        assert!(a.expose().starts_with("$2b$04$"));
        assert_ne!(a.expose(), b.expose());
        let outcome = hasher.verify(&pw("open sesame 42"), &a).await.unwrap();
        assert!(outcome.matched && !outcome.needs_rehash);
        assert_eq!(
            hasher.verify(&pw("open sesame 43"), &a).await.unwrap(),
            VerifyOutcome::MISMATCH
        );
    }

    #[tokio::test]
    async fn default_cost_is_12() {
        assert_eq!(BcryptHasher::new().cost(), 12);
        assert!(BcryptHasher::with_cost(3).is_err());
        assert!(BcryptHasher::with_cost(32).is_err());
    }

    #[tokio::test]
    async fn a_different_cost_needs_a_rehash() {
        let hash = fast().hash(&pw("open sesame 42")).await.unwrap();
        let stronger = BcryptHasher::with_cost(5).unwrap();
        let outcome = stronger.verify(&pw("open sesame 42"), &hash).await.unwrap();
        assert!(outcome.matched && outcome.needs_rehash);
    }

    #[tokio::test]
    async fn seventy_two_bytes_are_hashed_seventy_three_are_refused() {
        let hasher = fast();
        let max = "a".repeat(72);
        let hash = hasher.hash(&pw(max.as_str())).await.unwrap();
        assert!(
            hasher
                .verify(&pw(max.as_str()), &hash)
                .await
                .unwrap()
                .matched
        );
        // The 72nd byte counts.
        let other = format!("{}b", "a".repeat(71));
        assert!(!hasher.verify(&pw(other), &hash).await.unwrap().matched);

        match hasher.hash(&pw("a".repeat(73))).await {
            Err(AuthError::WeakPassword(message)) => {
                assert!(message.contains("at most 72 bytes"), "{message}");
            }
            other => panic!("73 bytes were hashed: {other:?}"),
        }
        // Bytes, not characters: 25 three-byte characters are 75 bytes.
        assert!(matches!(
            hasher.hash(&pw("語".repeat(25))).await,
            Err(AuthError::WeakPassword(_))
        ));
    }

    #[tokio::test]
    async fn seventy_three_bytes_never_match_the_hash_of_their_prefix() {
        let hasher = fast();
        let prefix = "p".repeat(72);
        // A legacy system that truncated would have stored this for any longer password.
        let hash = PasswordHash::new(::bcrypt::hash(prefix.as_bytes(), 4).unwrap());
        for longer in [
            format!("{prefix}X"),
            format!("{prefix}Y"),
            format!("{prefix}{prefix}"),
        ] {
            assert_eq!(
                hasher.verify(&pw(longer), &hash).await.unwrap(),
                VerifyOutcome::MISMATCH
            );
        }
        assert!(hasher.verify(&pw(prefix), &hash).await.unwrap().matched);
    }

    #[tokio::test]
    async fn two_a_and_two_y_hashes_verify() {
        let hasher = fast();
        let parts = ::bcrypt::hash_with_result("legacy php password", 4).unwrap();
        for version in [Version::TwoA, Version::TwoY, Version::TwoB] {
            let hash = PasswordHash::new(parts.format_for_version(version));
            let outcome = hasher
                .verify(&pw("legacy php password"), &hash)
                .await
                .unwrap();
            assert!(outcome.matched, "{}", hash.expose());
            assert!(!hasher.verify(&pw("wrong"), &hash).await.unwrap().matched);
        }
        // $2x$ is the output of a buggy implementation: refused, not guessed at.
        let two_x = PasswordHash::new(parts.format_for_version(Version::TwoX));
        assert!(matches!(
            hasher.verify(&pw("legacy php password"), &two_x).await,
            Err(AuthError::Internal(_))
        ));
    }

    #[test]
    fn malformed_hashes_are_errors_not_panics() {
        let good = ::bcrypt::hash("x", 4).unwrap();
        let cost_99 = format!("$2b$99${}", &good[7..]);
        let cost_31 = format!("$2b$31${}", &good[7..]);
        let cost_03 = format!("$2b$03${}", &good[7..]);
        let bad_base64 = format!("{}!!!!", &good[..56]);
        let non_ascii = format!("{}é", &good[..58]);
        for bad in [
            "",
            "$2b$",
            "$2b$12$",
            "$2b$xx$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u",
            &good[..59],
            &cost_99,
            &cost_31,
            &cost_03,
            &bad_base64,
            &non_ascii,
            "random text",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        ] {
            let result = verify_blocking(Some(12), &pw("x"), bad);
            assert!(
                matches!(result, Err(AuthError::Internal(_))),
                "{bad:?} gave {result:?}"
            );
        }
    }
}
