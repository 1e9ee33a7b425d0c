//! `BearerTransport::read_token` (and `CookieOrBearer`) on arbitrary `Authorization` headers.
//!
//! Input: header values separated by `\n` (so one input can carry several headers). Whatever
//! the bytes, reading never panics, and a token is returned only from a single header whose
//! value is `<bearer scheme> <the token>`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::http::{HeaderMap, HeaderValue, header};
use portcullis_core::{Token, TokenSource, Transport};
use portcullis_transport::{BearerTransport, CookieOrBearer, CookieTransport};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for value in data.split(|&b| b == b'\n').take(8) {
        // `http` refuses some bytes (CR, NUL...); such a header never reaches a transport.
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(header::AUTHORIZATION, value);
        }
    }
    let read = BearerTransport::new().read_token(&headers);
    if let Some((token, source)) = &read {
        assert_eq!(*source, TokenSource::Bearer);
        assert_eq!(
            headers.get_all(header::AUTHORIZATION).iter().count(),
            1,
            "a token was read from several Authorization headers"
        );
        let value = headers[header::AUTHORIZATION]
            .to_str()
            .expect("token headers are text");
        let (scheme, rest) = value.split_once(' ').expect("scheme and credentials");
        assert!(scheme.eq_ignore_ascii_case("bearer"), "scheme {scheme:?}");
        assert_eq!(rest.trim_matches(' '), token.expose());
        assert!(Token::parse(token.expose()).is_some());
    }
    // The combined transport, without a cookie, answers exactly like the bearer one.
    let combined = CookieOrBearer::new(CookieTransport::new()).read_token(&headers);
    assert_eq!(
        combined.map(|(t, s)| (t.hash().to_hex(), s)),
        read.map(|(t, s)| (t.hash().to_hex(), s))
    );
});
