//! Property tests (proptest) for password normalisation, the length policy and bcrypt's
//! 72-byte limit. Hashing is involved, so the hashers use the cheapest parameters and the
//! hashing properties run few cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use portcullis_core::{AuthError, Password, PasswordHasher};
use portcullis_password::{
    Argon2Params, BcryptHasher, MultiHasher, PasswordPolicy, is_common_password, normalize_password,
};
use proptest::prelude::*;
use tokio::runtime::{Builder, Runtime};
use unicode_normalization::UnicodeNormalization;

fn runtime() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

fn cheap_hasher() -> MultiHasher {
    MultiHasher::with_params(Argon2Params::new(8, 1, 1, None).unwrap())
}

/// Characters that are their own NFKC form whatever surrounds them (no combining marks, no
/// compatibility forms), so a string of them has exactly as many characters after
/// normalisation: ASCII printable, Latin-1 letters, CJK, emoji.
fn stable_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => prop::char::range(' ', '~'),
        1 => prop::sample::select("éßøñçÆÞ語日本中文🙂🔒αβγжщ".chars().collect::<Vec<_>>()),
    ]
}

fn stable_string(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(stable_char(), len).prop_map(|chars| chars.into_iter().collect())
}

/// Text with letters that have composed and decomposed forms.
fn accented() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => "[a-zA-Z0-9 ]{1,4}",
            2 => prop::sample::select(vec![
                "é", "e\u{301}", "ñ", "n\u{303}", "Å", "A\u{30a}", "\u{212b}", "ệ", "e\u{323}\u{302}",
                "한", "\u{1112}\u{1161}\u{11ab}", "ǖ", "ﬁ", "①", "ｆｕｌｌ",
            ])
            .prop_map(str::to_owned),
            1 => "\\PC{1,3}",
        ],
        1..8,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The NFC and NFD forms of the same text are the same password: a hash of either
    /// verifies the other.
    #[test]
    fn nfc_and_nfd_forms_verify_against_each_other(text in accented()) {
        let nfc: String = text.nfc().collect();
        let nfd: String = text.nfd().collect();
        let hasher = cheap_hasher();
        let rt = runtime();
        for (stored, typed) in [(&nfc, &nfd), (&nfd, &nfc)] {
            let hash = rt.block_on(hasher.hash(&Password::new(stored.as_str()))).unwrap();
            let outcome = rt.block_on(hasher.verify(&Password::new(typed.as_str()), &hash)).unwrap();
            prop_assert!(outcome.matched, "{:?} vs {:?}", stored, typed);
            prop_assert!(!outcome.needs_rehash);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Normalising is idempotent, and NFC / NFD inputs normalise alike.
    #[test]
    fn normalisation_is_idempotent_and_form_blind(text in prop_oneof![accented(), ".*"]) {
        let once = normalize_password(&Password::new(text.as_str()));
        let twice = normalize_password(&once);
        prop_assert_eq!(once.expose(), twice.expose());
        let nfd: String = text.nfd().collect();
        let from_nfd = normalize_password(&Password::new(nfd));
        prop_assert_eq!(from_nfd.expose(), once.expose());
    }

    /// Any password of 8 to 128 characters without control characters that is not on the
    /// common list passes the default policy.
    #[test]
    fn lengths_8_to_128_pass(password in stable_string(8..=128)) {
        let password = Password::new(password);
        prop_assume!(!is_common_password(&password));
        prop_assert!(PasswordPolicy::default().check(&password).is_ok());
    }

    /// 7 and 129 characters fail, with a message naming the limit.
    #[test]
    fn lengths_7_and_129_fail(short in stable_string(7..=7), long in stable_string(129..=129)) {
        for (password, limit) in [(short, "at least 8"), (long, "at most 128")] {
            match PasswordPolicy::default().check(&Password::new(password.as_str())) {
                Err(AuthError::WeakPassword(message)) => {
                    prop_assert!(message.contains(limit), "{}", message);
                }
                other => prop_assert!(false, "{:?} gave {:?}", password, other),
            }
        }
    }

    /// For any text, the verdict is what the rules say: lengths count characters of the NFKC
    /// form, control characters and common passwords are refused.
    #[test]
    fn the_policy_verdict_follows_its_rules(text in prop_oneof![
        accented(),
        stable_string(0..=140),
        "\\PC{0,140}",
        ".{0,20}",
    ]) {
        let password = Password::new(text.as_str());
        let normalized = normalize_password(&password);
        let length = normalized.expose().chars().count();
        let expected = (8..=128).contains(&length)
            && !normalized.expose().chars().any(char::is_control)
            && !is_common_password(&password);
        prop_assert_eq!(PasswordPolicy::default().check(&password).is_ok(), expected, "{:?}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// bcrypt: a password of 73 to 200 bytes (NFKC form) is refused by `hash`, and never
    /// matches the hash of its first 72 bytes, through `BcryptHasher` or `MultiHasher`.
    #[test]
    fn bcrypt_never_truncates(password in "[ -~]{73,200}") {
        let hasher = BcryptHasher::with_cost(4).unwrap();
        let rt = runtime();
        let full = Password::new(password.as_str());
        let refused = rt.block_on(hasher.hash(&full));
        prop_assert!(matches!(refused, Err(AuthError::WeakPassword(_))), "{:?}", refused);

        let prefix = Password::new(&password[..72]);
        let prefix_hash = rt.block_on(hasher.hash(&prefix)).unwrap();
        prop_assert!(!rt.block_on(hasher.verify(&full, &prefix_hash)).unwrap().matched);
        prop_assert!(!rt.block_on(cheap_hasher().verify(&full, &prefix_hash)).unwrap().matched);
        prop_assert!(rt.block_on(hasher.verify(&prefix, &prefix_hash)).unwrap().matched);
    }

    /// Multi-byte characters count in bytes: whatever normalises to more than 72 bytes is
    /// refused, up to 72 is hashed.
    #[test]
    fn bcrypt_limit_is_in_bytes_of_the_nfkc_form(text in stable_string(10..=60)) {
        let password = Password::new(text.as_str());
        let bytes = normalize_password(&password).expose().len();
        let result = runtime().block_on(BcryptHasher::with_cost(4).unwrap().hash(&password));
        if bytes > 72 {
            prop_assert!(matches!(result, Err(AuthError::WeakPassword(_))), "{} bytes", bytes);
        } else {
            prop_assert!(result.is_ok(), "{} bytes: {:?}", bytes, result);
        }
    }
}
