//! argon2id, the default password hash (feature `argon2`).
//!
//! ```
//! use portcullis_core::{Password, PasswordHasher};
//! use portcullis_password::Argon2Hasher;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), portcullis_core::AuthError> {
//! let hasher = Argon2Hasher::new(); // m=19456 KiB, t=2, p=1
//! let hash = hasher.hash(&Password::new("correct horse battery staple")).await?;
//! assert!(hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
//!
//! let outcome = hasher.verify(&Password::new("correct horse battery staple"), &hash).await?;
//! assert!(outcome.matched && !outcome.needs_rehash);
//! # Ok(())
//! # }
//! ```

use ::argon2::password_hash::Error as PhcError;
use ::argon2::password_hash::phc::{Output, ParamsString, Salt};
use ::argon2::{Algorithm, Argon2, Params, PasswordHash as PhcHash, Version};
use async_trait::async_trait;
use portcullis_core::{AuthError, Password, PasswordHash, PasswordHasher, VerifyOutcome};

use crate::memory::with_blocks;
use crate::policy::normalize_password;
use crate::pool::HashingPool;

/// Salt length in bytes: 128 bits, the length RFC 9106 recommends.
const SALT_LEN: usize = 16;

/// Stored hashes asking for more than this memory (KiB) are refused rather than verified,
/// unless the hasher's own parameters ask for more: a corrupt or planted `m=4294967295`
/// would otherwise allocate terabytes and abort the process. 256 MiB is 13× the default.
const MAX_VERIFY_M_COST: u32 = 256 * 1024;
/// Same for iterations: a planted `t=4294967295` would tie up a hashing permit for hours.
const MAX_VERIFY_T_COST: u32 = 64;
/// Same for lanes (each lane needs at least 8 KiB of memory and its own bookkeeping).
const MAX_VERIFY_P_COST: u32 = 64;

/// Hashes passwords with argon2id (version 19) and verifies argon2 PHC strings.
///
/// The default parameters are `m=19456` KiB (19 MiB), `t=2`, `p=1`: RustCrypto's
/// `Params::DEFAULT` and the first of OWASP's equivalent argon2id configurations (Password
/// Storage Cheat Sheet). They cost an attacker 19 MiB of memory per guess, which is what
/// makes GPU and ASIC cracking expensive, while one hash takes tens of milliseconds of one
/// core on a server. `p=1` because parallel lanes would run sequentially in this crate
/// anyway (the argon2 crate's `parallel` feature is off): concurrency comes from the
/// [`HashingPool`] running several hashes at once, not from lanes. Raise `m` (and then `t`)
/// if your servers have memory and time to spare; never go below the defaults.
///
/// Verification accepts `$argon2id$`, `$argon2i$` and `$argon2d$` hashes with any
/// parameters up to sanity limits (256 MiB, 64 iterations, 64 lanes, or the hasher's own
/// when higher; beyond them the stored hash is reported as malformed). A match reports
/// `needs_rehash` when the hash is not argon2id version 19 with exactly the current
/// parameters. bcrypt hashes are not verified here: use [`MultiHasher`](crate::MultiHasher).
///
/// Passwords are NFKC-normalised ([`normalize_password`]) before hashing and verifying.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
    pool: HashingPool,
}

impl Argon2Hasher {
    /// An argon2id hasher with the default parameters (m=19456 KiB, t=2, p=1) on the
    /// process-wide [`HashingPool::shared`] pool.
    #[must_use]
    pub fn new() -> Self {
        Self::with_params(Params::DEFAULT)
    }

    /// An argon2id hasher with `params` (build them with [`Argon2Params::new`]), on the
    /// shared pool.
    ///
    /// [`Argon2Params::new`]: crate::Argon2Params::new
    #[must_use]
    pub fn with_params(params: Params) -> Self {
        Self {
            params,
            pool: HashingPool::shared(),
        }
    }

    /// Runs the hashing on `pool` instead of the shared pool.
    #[must_use]
    pub fn with_pool(mut self, pool: HashingPool) -> Self {
        self.pool = pool;
        self
    }

    /// The parameters new hashes are made with.
    #[must_use]
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The pool the hashing runs on.
    #[must_use]
    pub fn pool(&self) -> &HashingPool {
        &self.pool
    }
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        let (params, password) = (self.params.clone(), password.clone());
        self.pool
            .run(move || hash_blocking(&params, &normalize_password(&password)))
            .await?
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<VerifyOutcome, AuthError> {
        if !is_argon2(hash.expose()) {
            return Err(AuthError::internal(
                "stored password hash is not an argon2 hash (MultiHasher verifies bcrypt too)",
            ));
        }
        let (params, password, hash) = (self.params.clone(), password.clone(), hash.clone());
        self.pool
            .run(move || verify_blocking(&params, &normalize_password(&password), hash.expose()))
            .await?
    }
}

/// Whether `encoded` claims to be an argon2 PHC string.
pub(crate) fn is_argon2(encoded: &str) -> bool {
    ["$argon2id$", "$argon2i$", "$argon2d$"]
        .iter()
        .any(|prefix| encoded.starts_with(prefix))
}

/// Hashes an already-normalised password with argon2id v19 and `params`. Blocking.
pub(crate) fn hash_blocking(
    params: &Params,
    password: &Password,
) -> Result<PasswordHash, AuthError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)
        .map_err(|err| AuthError::internal(format!("OS random number generator failed: {err}")))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = compute(&argon2, password, &salt)
        .map_err(|err| AuthError::internal(format!("argon2 hashing failed: {err}")))?;
    let failed = |err: PhcError| AuthError::internal(format!("argon2 hashing failed: {err}"));
    let hash = PhcHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(failed)?,
        salt: Some(Salt::new(&salt).map_err(|err| failed(err.into()))?),
        hash: Some(output),
    };
    Ok(PasswordHash::new(hash.to_string()))
}

/// argon2 of `password` and `salt` with `argon2`'s settings, in reused working memory.
fn compute(argon2: &Argon2<'_>, password: &Password, salt: &[u8]) -> Result<Output, PhcError> {
    let params = argon2.params();
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password.expose().as_bytes(), salt, &mut out, blocks)
    })?;
    Ok(Output::new(&out)?)
}

/// Verifies an already-normalised password against an argon2 PHC string, reporting
/// `needs_rehash` against `current`. Blocking.
pub(crate) fn verify_blocking(
    current: &Params,
    password: &Password,
    encoded: &str,
) -> Result<VerifyOutcome, AuthError> {
    let parsed = PhcHash::new(encoded).map_err(|err| malformed(&err))?;
    let algorithm = Algorithm::new(parsed.algorithm.as_str()).map_err(|err| malformed(&err))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|err| malformed(&err))?
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(AuthError::internal(
            "malformed argon2 password hash: salt or output missing",
        ));
    };
    let params = Params::try_from(&parsed).map_err(|err| malformed(&err))?;
    if params.m_cost() > MAX_VERIFY_M_COST.max(current.m_cost())
        || params.t_cost() > MAX_VERIFY_T_COST.max(current.t_cost())
        || params.p_cost() > MAX_VERIFY_P_COST.max(current.p_cost())
    {
        return Err(AuthError::internal(
            "argon2 password hash asks for more memory or time than allowed",
        ));
    }
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = compute(&argon2, password, salt.as_ref()).map_err(|err| malformed(&err))?;
    // `Output`'s equality is constant-time.
    if computed == *expected {
        Ok(VerifyOutcome {
            matched: true,
            needs_rehash: algorithm != Algorithm::Argon2id
                || version != Version::V0x13
                || !same_params(&params, current),
        })
    } else {
        Ok(VerifyOutcome::MISMATCH)
    }
}

fn same_params(stored: &Params, current: &Params) -> bool {
    let output_len = |p: &Params| p.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    stored.m_cost() == current.m_cost()
        && stored.t_cost() == current.t_cost()
        && stored.p_cost() == current.p_cost()
        && output_len(stored) == output_len(current)
        && stored.keyid() == current.keyid()
        && stored.data() == current.data()
}

/// The error for a stored hash that cannot be verified. It names what is wrong but never
/// includes the hash itself.
fn malformed(err: &dyn std::fmt::Display) -> AuthError {
    AuthError::internal(format!("malformed argon2 password hash: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weak_params() -> Params {
        Params::new(4096, 1, 1, None).unwrap()
    }

    fn pw(s: &str) -> Password {
        Password::new(s)
    }

    #[tokio::test]
    async fn round_trip_and_wrong_password() {
        let hasher = Argon2Hasher::new();
        let hash = hasher.hash(&pw("hunter2 but longer")).await.unwrap();
        assert!(hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

        let right = hasher
            .verify(&pw("hunter2 but longer"), &hash)
            .await
            .unwrap();
        assert_eq!(
            right,
            VerifyOutcome {
                matched: true,
                needs_rehash: false
            }
        );
        let wrong = hasher
            .verify(&pw("hunter2 but longeR"), &hash)
            .await
            .unwrap();
        assert_eq!(wrong, VerifyOutcome::MISMATCH);
    }

    #[tokio::test]
    async fn every_hash_has_a_fresh_salt() {
        let hasher = Argon2Hasher::with_params(weak_params());
        let a = hasher.hash(&pw("same password")).await.unwrap();
        let b = hasher.hash(&pw("same password")).await.unwrap();
        assert_ne!(a.expose(), b.expose());
        let salt = |h: &PasswordHash| h.expose().split('$').nth(4).unwrap().to_owned();
        assert_ne!(salt(&a), salt(&b));
        assert!(
            hasher
                .verify(&pw("same password"), &a)
                .await
                .unwrap()
                .matched
        );
        assert!(
            hasher
                .verify(&pw("same password"), &b)
                .await
                .unwrap()
                .matched
        );
    }

    #[tokio::test]
    async fn weaker_or_other_parameters_need_a_rehash() {
        let old = Argon2Hasher::with_params(weak_params());
        let hash = old.hash(&pw("upgrade me please")).await.unwrap();
        assert!(hash.expose().contains("m=4096,t=1,p=1"));

        let current = Argon2Hasher::new();
        let outcome = current
            .verify(&pw("upgrade me please"), &hash)
            .await
            .unwrap();
        assert!(outcome.matched && outcome.needs_rehash);
        // A mismatch never asks for a rehash.
        let outcome = current
            .verify(&pw("not the password"), &hash)
            .await
            .unwrap();
        assert_eq!(outcome, VerifyOutcome::MISMATCH);
        // The weak hasher itself considers its own hashes current.
        let outcome = old.verify(&pw("upgrade me please"), &hash).await.unwrap();
        assert!(outcome.matched && !outcome.needs_rehash);
    }

    #[test]
    fn our_hashes_and_the_reference_implementations_agree() {
        use ::argon2::password_hash::PasswordVerifier as _;
        // Hashes made in reused working memory verify with the argon2 crate's own
        // (allocating) verifier, and vice versa, whatever buffer the previous hash left.
        let params = weak_params();
        for password in ["first password", "second password", "third password"] {
            let ours = hash_blocking(&params, &pw(password)).unwrap();
            let parsed = PhcHash::new(ours.expose()).unwrap();
            assert!(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            );
            assert!(
                Argon2::default()
                    .verify_password(b"not the password", &parsed)
                    .is_err()
            );
            let default = hash_blocking(&Params::default(), &pw(password)).unwrap();
            let outcome = verify_blocking(&Params::default(), &pw(password), default.expose());
            assert!(outcome.unwrap().matched);
        }
    }

    #[tokio::test]
    async fn argon2i_and_version_16_hashes_verify_and_need_a_rehash() {
        use ::argon2::password_hash::PasswordHasher as _;
        let params = weak_params();
        for (algorithm, version) in [
            (Algorithm::Argon2i, Version::V0x13),
            (Algorithm::Argon2id, Version::V0x10),
        ] {
            let hash = Argon2::new(algorithm, version, params.clone())
                .hash_password_with_salt(b"legacy password", b"saltsaltsalt")
                .unwrap()
                .to_string();
            let outcome = verify_blocking(&params, &pw("legacy password"), &hash).unwrap();
            assert!(outcome.matched && outcome.needs_rehash, "{hash}");
            let outcome = verify_blocking(&params, &pw("other password"), &hash).unwrap();
            assert!(!outcome.matched);
        }
    }

    #[tokio::test]
    async fn nfc_and_nfd_forms_verify_against_each_other() {
        let hasher = Argon2Hasher::with_params(weak_params());
        let nfc = hasher.hash(&pw("caf\u{e9} au lait")).await.unwrap();
        let nfd = hasher.hash(&pw("cafe\u{301} au lait")).await.unwrap();
        for hash in [&nfc, &nfd] {
            for typed in ["caf\u{e9} au lait", "cafe\u{301} au lait"] {
                assert!(hasher.verify(&pw(typed), hash).await.unwrap().matched);
            }
        }
    }

    #[test]
    fn malformed_hashes_are_errors_not_panics() {
        let current = Params::DEFAULT;
        let huge_m = "$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0$\
                      Z1ZqnxmKEvMdBmYUtbUzONnGBvoIwkYDmfKTnYKAbSs";
        for bad in [
            "",
            "$argon2id$garbage",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$trunc",
            "$argon2id$v=99$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Z1ZqnxmKEvMdBmYUtbUzONnGBvoIwkYDmfKTnYKAbSs",
            "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHRzYWx0$Z1ZqnxmKEvMdBmYUtbUzONnGBvoIwkYDmfKTnYKAbSs",
            "$argon2id$v=19$m=19456,t=2,p=1,x=5$c2FsdHNhbHRzYWx0$Z1ZqnxmKEvMdBmYUtbUzONnGBvoIwkYDmfKTnYKAbSs",
            "$argon2xx$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Z1ZqnxmKEvMdBmYUtbUzONnGBvoIwkYDmfKTnYKAbSs",
            huge_m,
            "$argon2id$v=19$m=19456,t=4294967295,p=1$c2FsdHNhbHRzYWx0$Z1ZqnxmKEvMdBmYUtbUzONnGBvoIwkYDmfKTnYKAbSs",
            "random text",
            "$argon2id$€€€$",
        ] {
            let result = verify_blocking(&current, &pw("password"), bad);
            assert!(
                matches!(result, Err(AuthError::Internal(_))),
                "{bad:?} gave {result:?}"
            );
            // The error message never contains the stored hash.
            if let Err(err) = result {
                let source = std::error::Error::source(&err).unwrap().to_string();
                assert!(bad.len() < 8 || !source.contains(bad), "{source}");
            }
        }
    }

    #[tokio::test]
    async fn non_argon2_hashes_are_refused_before_hashing() {
        let hasher = Argon2Hasher::new();
        let bcrypt =
            PasswordHash::new("$2b$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u");
        assert!(matches!(
            hasher.verify(&pw("x"), &bcrypt).await,
            Err(AuthError::Internal(_))
        ));
    }
}
