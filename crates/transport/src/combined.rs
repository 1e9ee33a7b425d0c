//! Cookie or bearer, for apps that serve browsers and API clients at once.
//!
//! ```
//! use portcullis_core::TokenSource;
//! use portcullis_transport::{CookieTransport, CookieOrBearer};
//!
//! // Prefer the Authorization header when a request carries both.
//! let transport = CookieOrBearer::new(CookieTransport::new()).prefer(TokenSource::Bearer);
//! # let _ = transport;
//! ```

use std::time::Duration;

use portcullis_core::http::HeaderMap;
use portcullis_core::{Token, TokenSource, Transport};

use crate::bearer::read_bearer;
use crate::cookie::CookieTransport;

/// Accepts the token from a cookie or an `Authorization: Bearer` header, trying them in a
/// configured order (bearer first by default: a header is sent on purpose, a cookie by
/// ambient authority). Writes and clears the cookie.
#[derive(Debug, Clone)]
pub struct CookieOrBearer {
    cookie: CookieTransport,
    prefer: TokenSource,
}

impl CookieOrBearer {
    /// Both transports, bearer first.
    #[must_use]
    pub fn new(cookie: CookieTransport) -> Self {
        Self {
            cookie,
            prefer: TokenSource::Bearer,
        }
    }

    /// Which source to try first when a request carries both.
    #[must_use]
    pub fn prefer(mut self, source: TokenSource) -> Self {
        self.prefer = source;
        self
    }

    /// The cookie transport inside.
    #[must_use]
    pub fn cookie(&self) -> &CookieTransport {
        &self.cookie
    }
}

impl Transport for CookieOrBearer {
    fn read_token(&self, headers: &HeaderMap) -> Option<(Token, TokenSource)> {
        let bearer = || read_bearer(headers).map(|t| (t, TokenSource::Bearer));
        let cookie = || {
            self.cookie
                .read_cookie(headers)
                .map(|t| (t, TokenSource::Cookie))
        };
        match self.prefer {
            TokenSource::Cookie => cookie().or_else(bearer),
            _ => bearer().or_else(cookie),
        }
    }

    fn write_token(&self, headers: &mut HeaderMap, token: &Token, max_age: Duration) {
        self.cookie.write_token(headers, token, max_age);
    }

    fn clear_token(&self, headers: &mut HeaderMap) {
        self.cookie.clear_token(headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::http::{HeaderValue, header};

    #[test]
    fn reads_either_source_in_the_configured_order() {
        let cookie_token = Token::generate().unwrap();
        let bearer_token = Token::generate().unwrap();
        let mut both = HeaderMap::new();
        both.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("__Host-portcullis={}", cookie_token.expose())).unwrap(),
        );
        both.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", bearer_token.expose())).unwrap(),
        );
        let transport = CookieOrBearer::new(CookieTransport::new());
        let (token, source) = transport.read_token(&both).unwrap();
        assert_eq!(source, TokenSource::Bearer);
        assert!(token.hash().ct_eq(&bearer_token.hash()));

        let cookie_first = transport.clone().prefer(TokenSource::Cookie);
        let (token, source) = cookie_first.read_token(&both).unwrap();
        assert_eq!(source, TokenSource::Cookie);
        assert!(token.hash().ct_eq(&cookie_token.hash()));

        let mut only_cookie = both.clone();
        only_cookie.remove(header::AUTHORIZATION);
        assert_eq!(
            transport.read_token(&only_cookie).unwrap().1,
            TokenSource::Cookie
        );
        assert!(transport.read_token(&HeaderMap::new()).is_none());
    }

    #[test]
    fn writes_the_cookie() {
        let mut headers = HeaderMap::new();
        let transport = CookieOrBearer::new(CookieTransport::new());
        transport.write_token(
            &mut headers,
            &Token::generate().unwrap(),
            Duration::from_secs(5),
        );
        transport.clear_token(&mut headers);
        assert_eq!(headers.get_all(header::SET_COOKIE).iter().count(), 2);
    }
}
