//! Cross-site request forgery protection for cookie-authenticated requests.
//!
//! A browser attaches the session cookie to requests that another site triggers, so an unsafe
//! request (POST, PUT, PATCH, DELETE) carried by a cookie must prove it comes from our own
//! pages. [`CsrfGuard::check`] accepts it when any of these holds, in order:
//!
//! 1. the method is safe (GET, HEAD, OPTIONS, TRACE), or the token came in an
//!    `Authorization: Bearer` header (browsers never add that on their own);
//! 2. it carries the form token for its session ([`CsrfGuard::token_for`]), in the
//!    `X-CSRF-Token` header or a form field the adapter passes in;
//! 3. Fetch Metadata says so: `Sec-Fetch-Site: same-origin` or `none` (typed in the address
//!    bar); `same-site` only when [`CsrfGuard::allow_same_site`] is on;
//! 4. without Fetch Metadata (older browsers), the `Origin` header is on the allow-list or
//!    names the request's own `Host`.
//!
//! Anything else is refused: cross-site requests, `Origin: null`, and unsafe requests with no
//! evidence at all.
//!
//! ```
//! use portcullis_core::{TokenSource, http::{HeaderMap, HeaderValue, Method}};
//! use portcullis_transport::CsrfGuard;
//!
//! let guard = CsrfGuard::new().allow_origin("https://app.example.com");
//! let mut headers = HeaderMap::new();
//! headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
//! let verdict = guard.check(&Method::POST, &headers, Some(TokenSource::Cookie), None, None);
//! assert!(verdict.is_err());
//! headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
//! assert!(guard.check(&Method::POST, &headers, Some(TokenSource::Cookie), None, None).is_ok());
//! ```

use portcullis_core::http::{HeaderMap, Method, header};
use portcullis_core::{AuthError, Token, TokenHash, TokenSource, constant_time_eq};

/// Request header that carries the form token for scripts (`fetch`, HTMX).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Conventional name of the hidden form field that carries the form token.
pub const CSRF_FORM_FIELD: &str = "csrf_token";

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// Fetch Metadata says the request came from another site.
    CrossSite,
    /// The `Origin` header names a site that is not allowed (or is `null`).
    OriginNotAllowed,
    /// No Fetch Metadata, no `Origin`, no valid form token: nothing shows where it came from.
    NoEvidence,
}

impl From<CsrfRejection> for AuthError {
    fn from(_: CsrfRejection) -> Self {
        Self::CsrfFailed
    }
}

/// Checks unsafe cookie-authenticated requests for cross-site forgery. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct CsrfGuard {
    allowed_origins: Vec<String>,
    allow_same_site: bool,
}

impl CsrfGuard {
    /// A guard that allows same-origin requests only.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also allows requests whose `Origin` is `origin` (scheme, host and port, e.g.
    /// `https://app.example.com`), for a front end served from another origin.
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        self.allowed_origins
            .push(origin.trim_end_matches('/').to_ascii_lowercase());
        self
    }

    /// Also allows `Sec-Fetch-Site: same-site` (a sibling subdomain). Off by default: a
    /// compromised or user-content subdomain could otherwise forge requests.
    #[must_use]
    pub fn allow_same_site(mut self, allow: bool) -> Self {
        self.allow_same_site = allow;
        self
    }

    /// The form token for a session: put it in a hidden `csrf_token` field or the
    /// `X-CSRF-Token` header. It is derived from the session token (so it needs no storage,
    /// changes at every login, and cannot be computed without the `HttpOnly` cookie), and is
    /// not the session token itself.
    #[must_use]
    pub fn token_for(session_token: &Token) -> String {
        let mut input = Vec::with_capacity(64);
        input.extend_from_slice(b"portcullis-csrf:");
        input.extend_from_slice(session_token.expose().as_bytes());
        TokenHash::of(&input).to_base64url()
    }

    /// Decides whether the request may proceed.
    ///
    /// `source` is where the session token was found (`None` before login: login and
    /// registration forms are checked too). `session_token` is that token, for validating a
    /// form token; `form_token` is a token the adapter read from the request body.
    ///
    /// # Errors
    /// A [`CsrfRejection`] saying why; it converts into [`AuthError::CsrfFailed`] (403).
    pub fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        source: Option<TokenSource>,
        session_token: Option<&Token>,
        form_token: Option<&str>,
    ) -> Result<(), CsrfRejection> {
        if is_safe(method) || source == Some(TokenSource::Bearer) {
            return Ok(());
        }
        if let Some(session_token) = session_token {
            let expected = Self::token_for(session_token);
            let submitted = form_token.or_else(|| {
                headers
                    .get(CSRF_HEADER)
                    .and_then(|value| value.to_str().ok())
            });
            if submitted.is_some_and(|submitted| {
                constant_time_eq(submitted.as_bytes(), expected.as_bytes())
            }) {
                return Ok(());
            }
        }
        if let Some(site) = headers.get("sec-fetch-site") {
            return match site.as_bytes() {
                b"same-origin" | b"none" => Ok(()),
                b"same-site" if self.allow_same_site => Ok(()),
                _ => Err(CsrfRejection::CrossSite),
            };
        }
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
            return Err(CsrfRejection::NoEvidence);
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.allowed_origins.contains(&origin) {
            return Ok(());
        }
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        match (origin_host, host) {
            (Some(origin_host), Some(host)) if origin_host == host => Ok(()),
            _ => Err(CsrfRejection::OriginNotAllowed),
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const COOKIE: Option<TokenSource> = Some(TokenSource::Cookie);

    #[test]
    fn safe_methods_and_bearer_requests_pass_without_evidence() {
        let guard = CsrfGuard::new();
        let cross = headers(&[("sec-fetch-site", "cross-site")]);
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(guard.check(&method, &cross, COOKIE, None, None).is_ok());
        }
        assert!(
            guard
                .check(&Method::POST, &cross, Some(TokenSource::Bearer), None, None)
                .is_ok()
        );
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let guard = CsrfGuard::new();
        for (site, ok) in [
            ("same-origin", true),
            ("none", true),
            ("same-site", false),
            ("cross-site", false),
            ("bogus", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
                assert_eq!(
                    guard.check(&method, &h, COOKIE, None, None).is_ok(),
                    ok,
                    "{site} {method}"
                );
                // Login and registration forms (no session yet) are checked the same way.
                assert_eq!(
                    guard.check(&method, &h, None, None, None).is_ok(),
                    ok,
                    "{site} {method}"
                );
            }
        }
        let h = headers(&[("sec-fetch-site", "same-site")]);
        assert!(
            CsrfGuard::new()
                .allow_same_site(true)
                .check(&Method::POST, &h, COOKIE, None, None)
                .is_ok()
        );
        // Fetch Metadata wins over a matching Origin: a cross-site request stays refused.
        let h = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://app.example.com"),
            ("host", "app.example.com"),
        ]);
        assert_eq!(
            guard.check(&Method::POST, &h, COOKIE, None, None),
            Err(CsrfRejection::CrossSite)
        );
    }

    #[test]
    fn origin_is_checked_without_fetch_metadata() {
        let guard = CsrfGuard::new().allow_origin("https://Front.example.com/");
        let same_host = headers(&[
            ("origin", "https://api.example.com"),
            ("host", "api.example.com"),
        ]);
        assert!(
            guard
                .check(&Method::POST, &same_host, COOKIE, None, None)
                .is_ok()
        );
        let allowed = headers(&[
            ("origin", "https://front.example.com"),
            ("host", "api.example.com"),
        ]);
        assert!(
            guard
                .check(&Method::POST, &allowed, COOKIE, None, None)
                .is_ok()
        );
        for (origin, host) in [
            ("https://evil.example", "api.example.com"),
            ("null", "api.example.com"),
            ("https://api.example.com.evil.example", "api.example.com"),
            ("https://api.example.com", "api.example.com:8443"),
        ] {
            let mut h = HeaderMap::new();
            h.insert("origin", HeaderValue::from_str(origin).unwrap());
            h.insert("host", HeaderValue::from_str(host).unwrap());
            assert_eq!(
                guard.check(&Method::POST, &h, COOKIE, None, None),
                Err(CsrfRejection::OriginNotAllowed),
                "{origin} -> {host}"
            );
        }
        assert_eq!(
            guard.check(&Method::POST, &HeaderMap::new(), COOKIE, None, None),
            Err(CsrfRejection::NoEvidence)
        );
    }

    #[test]
    fn the_form_token_for_the_session_is_accepted_and_no_other() {
        let guard = CsrfGuard::new();
        let session = Token::generate().unwrap();
        let other = Token::generate().unwrap();
        let token = CsrfGuard::token_for(&session);
        assert_eq!(token.len(), 43);
        assert_ne!(
            token,
            session.expose(),
            "the form token must not be the session token"
        );
        let empty = HeaderMap::new();
        assert!(
            guard
                .check(&Method::POST, &empty, COOKIE, Some(&session), Some(&token))
                .is_ok()
        );
        let mut h = HeaderMap::new();
        h.insert(CSRF_HEADER, HeaderValue::from_str(&token).unwrap());
        assert!(
            guard
                .check(&Method::DELETE, &h, COOKIE, Some(&session), None)
                .is_ok()
        );
        // A token for another session, or the session token itself, is not accepted.
        let foreign = CsrfGuard::token_for(&other);
        assert!(
            guard
                .check(
                    &Method::POST,
                    &empty,
                    COOKIE,
                    Some(&session),
                    Some(&foreign)
                )
                .is_err()
        );
        assert!(
            guard
                .check(
                    &Method::POST,
                    &empty,
                    COOKIE,
                    Some(&session),
                    Some(session.expose())
                )
                .is_err()
        );
    }
}
