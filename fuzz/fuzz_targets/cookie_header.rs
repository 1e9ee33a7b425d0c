//! `CookieTransport::read_token` (and `CookieOrBearer`) on arbitrary `Cookie` headers.
//!
//! Input: header values separated by `\n`. Reading never panics; a token is returned only
//! when some header holds `<name>=<token>` for the transport's cookie name, and no header
//! holds a different value under that name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::http::{HeaderMap, HeaderValue, header};
use portcullis_core::{Token, TokenSource, Transport};
use portcullis_transport::{CookieOrBearer, CookieTransport};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for value in data.split(|&b| b == b'\n').take(8) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(header::COOKIE, value);
        }
    }
    for transport in [CookieTransport::new(), CookieTransport::new().secure(false)] {
        let read = transport.read_token(&headers);
        if let Some((token, source)) = &read {
            assert_eq!(*source, TokenSource::Cookie);
            assert!(Token::parse(token.expose()).is_some());
            let pair = format!("{}={}", transport.cookie_name(), token.expose());
            let values: Vec<&str> = headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            assert!(
                values.iter().any(|v| v.contains(&pair)),
                "token not found as {pair:?} in {values:?}"
            );
            // No other value under our name: ambiguous cookies are refused.
            for value in &values {
                for piece in value.split(';') {
                    if let Some((name, v)) = piece.trim_matches(' ').split_once('=') {
                        assert!(
                            name != transport.cookie_name() || v == token.expose(),
                            "ambiguous cookie accepted: {values:?}"
                        );
                    }
                }
            }
        }
        // Without an Authorization header the combined transport reads the same cookie.
        let combined = CookieOrBearer::new(transport).read_token(&headers);
        assert_eq!(
            combined.map(|(t, s)| (t.hash().to_hex(), s)),
            read.map(|(t, s)| (t.hash().to_hex(), s))
        );
    }
});
