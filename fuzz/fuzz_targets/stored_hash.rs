//! `MultiHasher::verify` on arbitrary stored-hash strings: a malformed stored hash is an
//! error, never a panic (argon2 PHC strings, bcrypt, anything else).
//!
//! Input: one byte giving the password length `n` (mod 32), `n` bytes of password, the rest
//! the stored hash. Hashes that parse as argon2 or bcrypt with costs above a small budget but
//! within the crate's caps (256 MiB / 64 iterations / 64 lanes, bcrypt cost 16: seconds per
//! verification) are skipped, so the target never runs an expensive hash; hashes over the
//! caps are verified and must be refused.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis_core::{AuthError, Password, PasswordHash, PasswordHasher};
use portcullis_password::{Argon2Params, MultiHasher};
use tokio::runtime::{Builder, Runtime};

/// Largest argon2 work (memory KiB × iterations) verified here: about a millisecond.
const MAX_ARGON2_WORK: u64 = 2048;
/// Largest bcrypt cost verified here (cost 5: 32 rounds, about a millisecond).
const MAX_BCRYPT_COST: u32 = 5;
/// The crate's caps on stored parameters (`argon2.rs`, `bcrypt.rs`): above them a stored
/// hash is refused before any hashing, which this target checks too.
const CAP_ARGON2_M: u32 = 256 * 1024;
const CAP_ARGON2_T: u32 = 64;
const CAP_ARGON2_P: u32 = 64;
const CAP_BCRYPT_COST: u32 = 16;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
});

static HASHER: LazyLock<MultiHasher> = LazyLock::new(|| {
    MultiHasher::with_params(Argon2Params::new(8, 1, 1, None).expect("cheap argon2 params"))
});

enum Plan {
    /// Verify: the result must be `Ok` or an internal error.
    Verify,
    /// Valid, within the caps, but too slow to verify thousands of times a second.
    Skip,
    /// Over the caps: verifying must refuse it (at once, without hashing).
    MustRefuse,
}

/// Decided like `MultiHasher` does: by prefix, then with the same parsers.
fn plan(stored: &str) -> Plan {
    if stored.starts_with("$argon2")
        && let Ok(phc) = argon2::PasswordHash::new(stored)
        && let Ok(params) = argon2::Params::try_from(&phc)
    {
        if params.m_cost() > CAP_ARGON2_M
            || params.t_cost() > CAP_ARGON2_T
            || params.p_cost() > CAP_ARGON2_P
        {
            return Plan::MustRefuse;
        }
        if u64::from(params.m_cost()) * u64::from(params.t_cost()) > MAX_ARGON2_WORK {
            return Plan::Skip;
        }
    }
    if stored.starts_with("$2")
        && let Ok(parts) = stored.parse::<bcrypt::HashParts>()
    {
        let cost = parts.get_cost();
        if cost > CAP_BCRYPT_COST {
            return Plan::MustRefuse;
        }
        if cost > MAX_BCRYPT_COST {
            return Plan::Skip;
        }
    }
    Plan::Verify
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 32).min(rest.len());
    let (password, stored) = rest.split_at(n);
    let password = Password::new(String::from_utf8_lossy(password).into_owned());
    let stored = String::from_utf8_lossy(stored).into_owned();
    let plan = plan(&stored);
    if matches!(plan, Plan::Skip) {
        return;
    }
    let hash = PasswordHash::new(stored);
    let result = RUNTIME.block_on(HASHER.verify(&password, &hash));
    if matches!(plan, Plan::MustRefuse) {
        assert!(
            result.is_err(),
            "a hash over the caps was verified: {result:?}"
        );
    }
    match result {
        Ok(outcome) => assert!(!outcome.needs_rehash || outcome.matched),
        // A malformed hash is an internal error (the cause stays in `source()` for logs) and
        // its message never quotes the stored hash.
        Err(AuthError::Internal(source)) => {
            // Only hash-like text counts: a plain phrase may be part of the fixed message
            // itself (seed-regression-message-text).
            let message = source.to_string();
            let stored = hash.expose();
            let hash_like = stored.len() >= 16 && stored.contains('$');
            assert!(
                !hash_like || !message.contains(stored),
                "the error quotes the stored hash: {message}"
            );
        }
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
