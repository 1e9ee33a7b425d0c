//! `Authorization: Bearer <token>` (RFC 6750).
//!
//! ```
//! use portcullis_core::{Token, TokenSource, Transport, http::{HeaderMap, HeaderValue, header}};
//! use portcullis_transport::BearerTransport;
//!
//! let token = Token::generate()?;
//! let mut headers = HeaderMap::new();
//! headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {}", token.expose())).unwrap());
//! let (read, source) = BearerTransport::new().read_token(&headers).expect("a bearer token");
//! assert!(read.hash().ct_eq(&token.hash()));
//! assert_eq!(source, TokenSource::Bearer);
//! # Ok::<(), portcullis_core::AuthError>(())
//! ```

use std::time::Duration;

use portcullis_core::http::{HeaderMap, header};
use portcullis_core::{Token, TokenSource, Transport};

/// Longest `Authorization` value looked at; anything longer is junk, not a token.
const MAX_HEADER_LEN: usize = 256;

/// Reads the session token from `Authorization: Bearer <token>`.
///
/// The scheme is case-insensitive. An absent, empty, malformed, over-long or duplicated
/// header is "no credentials" (`None`); the token must have the exact shape Portcullis issues.
/// Writing is a no-op: API clients take the token from the login response body.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerTransport {
    _private: (),
}

impl BearerTransport {
    /// The bearer transport.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

/// Extracts the token from the request's single `Authorization` header, if it is a bearer one.
pub(crate) fn read_bearer(headers: &HeaderMap) -> Option<Token> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() || value.len() > MAX_HEADER_LEN {
        // Two Authorization headers are ambiguous: refuse rather than guess which one counts.
        return None;
    }
    let value = value.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Token::parse(credentials.trim_matches(' '))
}

impl Transport for BearerTransport {
    fn read_token(&self, headers: &HeaderMap) -> Option<(Token, TokenSource)> {
        read_bearer(headers).map(|token| (token, TokenSource::Bearer))
    }

    fn write_token(&self, _headers: &mut HeaderMap, _token: &Token, _max_age: Duration) {}

    fn clear_token(&self, _headers: &mut HeaderMap) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                header::AUTHORIZATION,
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn reads_a_well_formed_bearer_token_with_any_scheme_case() {
        let token = Token::generate().unwrap();
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let h = headers(&[format!("{scheme} {}", token.expose()).as_bytes()]);
            let (read, source) = BearerTransport::new().read_token(&h).unwrap();
            assert!(read.hash().ct_eq(&token.hash()), "{scheme}");
            assert_eq!(source, TokenSource::Bearer);
        }
    }

    #[test]
    fn malformed_headers_are_no_credentials() {
        let token = Token::generate().unwrap();
        let good = format!("Bearer {}", token.expose());
        let cases: Vec<Vec<u8>> = vec![
            b"Bearer".to_vec(),
            b"Bearer ".to_vec(),
            b"Bearer %".to_vec(),
            b"Bearer %%%%".to_vec(),
            format!("Basic {}", token.expose()).into_bytes(),
            format!("Bearer{}", token.expose()).into_bytes(),
            format!("Bearer {}=", token.expose()).into_bytes(),
            format!("Bearer {} extra", token.expose()).into_bytes(),
            format!("Bearer {}", "A".repeat(10_000)).into_bytes(),
            b"Bearer \xff\xfe".to_vec(),
            Vec::new(),
        ];
        for case in cases {
            assert!(
                BearerTransport::new()
                    .read_token(&headers(&[&case]))
                    .is_none(),
                "accepted {:?}",
                String::from_utf8_lossy(&case)
            );
        }
        // Two Authorization headers, even both valid, are refused.
        let twice = headers(&[good.as_bytes(), good.as_bytes()]);
        assert!(BearerTransport::new().read_token(&twice).is_none());
        assert!(
            BearerTransport::new()
                .read_token(&HeaderMap::new())
                .is_none()
        );
    }

    #[test]
    fn writing_adds_nothing() {
        let mut h = HeaderMap::new();
        let t = Token::generate().unwrap();
        BearerTransport::new().write_token(&mut h, &t, Duration::from_secs(60));
        BearerTransport::new().clear_token(&mut h);
        assert!(h.is_empty());
    }
}
