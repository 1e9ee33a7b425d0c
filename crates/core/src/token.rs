//! Opaque tokens: 256 bits from the OS RNG, base64url without padding, stored only as SHA-256.
//!
//! ```
//! use portcullis_core::token::{Token, TokenHash};
//!
//! let token = Token::generate()?;
//! assert_eq!(token.expose().len(), 43);
//! // Storage keeps only the hash; the client keeps the token.
//! let stored: TokenHash = token.hash();
//! // A token read back from a request is parsed (malformed input is refused) and hashed again.
//! let presented = Token::parse(token.expose()).expect("well-formed");
//! assert!(presented.hash().ct_eq(&stored));
//! // The stored hash itself is not a valid token.
//! assert!(Token::parse(&stored.to_hex()).is_none());
//! # Ok::<(), portcullis_core::AuthError>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AuthError;

/// Number of random bytes in a token (256 bits).
pub const TOKEN_BYTES: usize = 32;
/// Length of an encoded token: 32 bytes in base64url without padding.
pub const TOKEN_LEN: usize = 43;

/// An opaque bearer secret: a session token, or an email-verification / password-reset token.
///
/// Prints as `[redacted]`; compare tokens only through their [`TokenHash`].
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A fresh token from the operating system's random number generator.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when the OS RNG is unavailable (we never fall back to a weaker source).
    pub fn generate() -> Result<Self, AuthError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| AuthError::internal(format!("OS random number generator failed: {e}")))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Parses a token presented by a client. Anything that is not exactly 43 base64url
    /// characters (no padding, no other alphabet) is refused, so junk never reaches storage.
    #[must_use]
    pub fn parse(presented: &str) -> Option<Self> {
        if presented.len() != TOKEN_LEN {
            return None;
        }
        let mut bytes = [0u8; TOKEN_BYTES + 2];
        match URL_SAFE_NO_PAD.decode_slice(presented, &mut bytes) {
            Ok(TOKEN_BYTES) => Some(Self(presented.to_owned())),
            _ => None,
        }
    }

    /// The encoded token, to hand to the client (response body, cookie, mail link). Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token: the only form that is stored.
    #[must_use]
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// SHA-256 of a [`Token`]. This is what storage keeps and looks up by.
///
/// Compared in constant time ([`TokenHash::ct_eq`]); no `PartialEq`, and `Debug` is redacted.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes arbitrary bytes (the encoded token).
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Wraps raw digest bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex (64 characters), the storage encoding used by the SeaORM backend.
    #[must_use]
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }

    /// Base64url without padding (43 characters), for values derived from a token that are
    /// handed to clients (such as a CSRF form token).
    #[must_use]
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses the lowercase or uppercase hex form written by [`TokenHash::to_hex`].
    #[must_use]
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0])?;
            let lo = hex_value(pair[1])?;
            out[i] = (hi << 4) | lo;
        }
        Some(Self(out))
    }

    /// Constant-time equality.
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash([redacted])")
    }
}

/// Compares two secrets in constant time (for CSRF values, codes and the like).
///
/// The length is not secret: inputs of different lengths compare unequal at once.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tokens_are_43_base64url_chars_and_unique() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let t = Token::generate().unwrap();
            assert_eq!(t.expose().len(), TOKEN_LEN);
            assert!(
                t.expose()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(seen.insert(t.expose().to_owned()), "duplicate token");
        }
    }

    #[test]
    fn parse_refuses_malformed_tokens() {
        let good = Token::generate().unwrap();
        assert!(Token::parse(good.expose()).is_some());
        for bad in [
            "",
            "%",
            "short",
            &format!("{}=", good.expose()),
            &format!("{}A", good.expose()),
            &good.expose()[..42],
            &"+".repeat(43),
            &"/".repeat(43),
            &"é".repeat(22),
            &"A".repeat(10_000),
        ] {
            assert!(Token::parse(bad).is_none(), "accepted {bad:?}");
        }
    }

    #[test]
    fn hash_is_sha256_of_the_encoded_token() {
        // Known SHA-256 test vector: sha256("abc").
        assert_eq!(
            TokenHash::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = Token::generate().unwrap();
        assert!(t.hash().ct_eq(&TokenHash::of(t.expose().as_bytes())));
    }

    #[test]
    fn hex_round_trip_and_rejects_junk() {
        let h = Token::generate().unwrap().hash();
        assert!(TokenHash::from_hex(&h.to_hex()).unwrap().ct_eq(&h));
        assert!(
            TokenHash::from_hex(&h.to_hex().to_uppercase())
                .unwrap()
                .ct_eq(&h)
        );
        assert!(TokenHash::from_hex("zz").is_none());
        assert!(TokenHash::from_hex(&"g".repeat(64)).is_none());
    }

    #[test]
    fn debug_output_is_redacted() {
        let t = Token::generate().unwrap();
        let debug = format!("{t:?} {:?}", t.hash());
        assert!(!debug.contains(t.expose()));
        assert!(!debug.contains(&t.hash().to_hex()));
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
