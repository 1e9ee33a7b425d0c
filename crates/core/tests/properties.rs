//! Property tests (proptest) for tokens and identifier normalisation: round trips hold and
//! parsers never panic, whatever the input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::HashMap;

use portcullis_core::email::{normalize_email, normalize_username};
use portcullis_core::token::TOKEN_LEN;
use portcullis_core::{Token, TokenHash};
use proptest::prelude::*;

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding, written here independently of the crate under test.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn sextet(c: u8) -> Option<u8> {
    BASE64URL
        .iter()
        .position(|&a| a == c)
        .and_then(|i| u8::try_from(i).ok())
}

/// 43 characters drawn mostly from the base64url alphabet, sometimes from its neighbours.
fn token_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            20 => prop::sample::select(BASE64URL.to_vec()).prop_map(char::from),
            1 => prop::sample::select(b"+/=%. ".to_vec()).prop_map(char::from),
            1 => any::<char>(),
        ],
        TOKEN_LEN - 2..=TOKEN_LEN + 2,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Pieces that make strings look like email addresses, with Unicode that NFKC, lowercasing
/// and trimming treat specially.
fn email_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z0-9]{1,6}",
        2 => prop::sample::select(vec![".", "-", "_", "+", "@", " ", "\t", "..", "\u{a0}"]).prop_map(str::to_owned),
        2 => prop::sample::select(vec![
            "ＡＢ", "ａｌｉｃｅ", "＠", "．", "İ", "ẞ", "ß", "\u{212a}", "\u{2126}", "ﬁ", "e\u{301}",
            "\u{301}", "é", "Σ", "ς", "ǅ", "ϴ", "ᾈ", "①", "㎏", "\u{200b}", "\u{fe0f}", "語",
        ])
        .prop_map(str::to_owned),
        1 => "\\PC{1,3}",
    ]
}

fn email_like() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(email_piece(), 1..6),
        prop::collection::vec(prop::collection::vec(email_piece(), 1..4), 1..4),
        prop::sample::select(vec!["", " ", "\t", "\u{3000}"]),
    )
        .prop_map(|(local, labels, pad)| {
            let labels: Vec<String> = labels.into_iter().map(|l| l.concat()).collect();
            format!("{pad}{}@{}{pad}", local.concat(), labels.join("."))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any 32 bytes, encoded as a client would receive them, parse back to a token whose hash
    /// is the SHA-256 of the encoding, and a store keyed by that hash finds it again.
    #[test]
    fn encoded_tokens_parse_hash_and_look_up(bytes in prop::array::uniform32(any::<u8>())) {
        let encoded = base64url(&bytes);
        prop_assert_eq!(encoded.len(), TOKEN_LEN);
        let token = Token::parse(&encoded).expect("a canonical encoding parses");
        prop_assert_eq!(token.expose(), encoded.as_str());
        prop_assert!(token.hash().ct_eq(&TokenHash::of(encoded.as_bytes())));

        let mut store = HashMap::new();
        store.insert(*token.hash().as_bytes(), "session");
        let presented = Token::parse(token.expose()).unwrap();
        prop_assert_eq!(store.get(presented.hash().as_bytes()), Some(&"session"));
        // The stored form is not a token.
        prop_assert!(Token::parse(&token.hash().to_hex()).is_none());
    }

    /// `Token::parse` never panics, and accepts exactly the 43-character base64url strings
    /// that encode 32 bytes canonically (the last character carries no stray bits).
    #[test]
    fn parse_accepts_only_canonical_base64url(s in prop_oneof![token_like(), ".*", "\\PC{40,46}"]) {
        let accepted = Token::parse(&s).is_some();
        let canonical = s.len() == TOKEN_LEN
            && s.bytes().all(|b| sextet(b).is_some())
            && s.bytes().last().and_then(sextet).is_some_and(|last| last & 0b11 == 0);
        prop_assert_eq!(accepted, canonical, "{:?}", s);
    }

    /// `TokenHash` survives its hex encoding, in either case; `from_hex` never panics and
    /// accepts only 64 hex digits.
    #[test]
    fn token_hash_hex_round_trip(bytes in prop::array::uniform32(any::<u8>()), junk in ".{0,70}") {
        let hash = TokenHash::from_bytes(bytes);
        let hex = hash.to_hex();
        prop_assert_eq!(hex.len(), 64);
        prop_assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        prop_assert_eq!(*TokenHash::from_hex(&hex).unwrap().as_bytes(), bytes);
        prop_assert_eq!(*TokenHash::from_hex(&hex.to_uppercase()).unwrap().as_bytes(), bytes);
        let parsed = TokenHash::from_hex(&junk);
        prop_assert_eq!(
            parsed.is_some(),
            junk.len() == 64 && junk.bytes().all(|b| b.is_ascii_hexdigit())
        );
    }

}

proptest! {
    // Normalisation is cheap: many more cases.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Whatever normalises is already normal: normalising twice equals normalising once.
    #[test]
    fn email_normalisation_is_idempotent(input in prop_oneof![3 => email_like(), 1 => ".*"]) {
        if let Ok(once) = normalize_email(&input) {
            let twice = normalize_email(&once).ok();
            prop_assert_eq!(twice.as_deref(), Some(once.as_str()), "{:?}", input);
            prop_assert!(once.len() <= 254);
            prop_assert_eq!(once.matches('@').count(), 1);
        }
    }

    /// Usernames: idempotent, and the result is 3 to 32 of `a-z 0-9 _ . -`.
    #[test]
    fn username_normalisation_is_idempotent(input in prop_oneof!["[ a-zA-Z0-9_.@-]{0,40}", ".*"]) {
        if let Ok(once) = normalize_username(&input) {
            let twice = normalize_username(&once).ok();
            prop_assert_eq!(twice.as_deref(), Some(once.as_str()));
            prop_assert!((3..=32).contains(&once.len()));
            prop_assert!(once.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)));
        }
    }
}

/// Fresh tokens: generate → expose → parse → hash equals the hash of the original.
#[test]
fn generated_tokens_round_trip() {
    let mut store = HashMap::new();
    for _ in 0..256 {
        let token = Token::generate().unwrap();
        let hash = token.hash();
        let parsed = Token::parse(token.expose()).expect("generated tokens parse");
        assert!(parsed.hash().ct_eq(&hash));
        assert!(
            store.insert(*hash.as_bytes(), ()).is_none(),
            "duplicate token"
        );
        // One changed character is another token (or none), never this one.
        let mut altered = token.expose().as_bytes().to_vec();
        altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        if let Some(other) = Token::parse(&altered) {
            assert!(!other.hash().ct_eq(&hash));
        }
    }
}
