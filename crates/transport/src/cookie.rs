//! The session token in a cookie: `__Host-portcullis`, `Secure`, `HttpOnly`, `SameSite=Lax`,
//! `Path=/`, no `Domain`.
//!
//! ```
//! use std::time::Duration;
//! use portcullis_core::{Token, Transport, http::{HeaderMap, header}};
//! use portcullis_transport::CookieTransport;
//!
//! let transport = CookieTransport::new();
//! let token = Token::generate()?;
//! let mut response = HeaderMap::new();
//! transport.write_token(&mut response, &token, Duration::from_secs(3600));
//! let set_cookie = response[header::SET_COOKIE].to_str().unwrap();
//! assert!(set_cookie.starts_with("__Host-portcullis="));
//! assert!(set_cookie.contains("; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"));
//! # Ok::<(), portcullis_core::AuthError>(())
//! ```

use std::fmt;
use std::time::Duration;

use portcullis_core::http::{HeaderMap, HeaderValue, header};
use portcullis_core::{Token, TokenSource, Transport};

/// Cookie name when the `__Host-` prefix applies (secure, `Path=/`, no `Domain`): browsers
/// then refuse the cookie from subdomains and plain HTTP, so it cannot be planted or tossed.
pub const HOST_COOKIE_NAME: &str = "__Host-portcullis";
/// Cookie name otherwise (plain-HTTP local development, a `Domain`, or a narrower path).
pub const PLAIN_COOKIE_NAME: &str = "portcullis_session";

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent only on same-site requests (breaks following links from other sites into a
    /// logged-in page).
    Strict,
    /// Sent on same-site requests and top-level navigations: the default, a good balance.
    #[default]
    Lax,
    /// Sent on every request (needed for cross-site embeds); requires `Secure`.
    None,
}

impl SameSite {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// The cookie name contains characters a cookie name may not.
#[derive(Debug, Clone)]
pub struct InvalidCookieName(String);

impl fmt::Display for InvalidCookieName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid cookie name {:?}: use letters, digits, '-' and '_'",
            self.0
        )
    }
}

impl std::error::Error for InvalidCookieName {}

/// Carries the session token in a cookie.
///
/// Defaults follow OWASP: `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`, and
/// the `__Host-` prefix. [`CookieTransport::secure`]`(false)` is the explicit switch for local
/// development over plain HTTP (it also drops the prefix, which browsers only accept on secure
/// cookies). Malformed, non-UTF-8 or ambiguous (two different values under our name) cookies
/// are "no credentials".
#[derive(Debug, Clone)]
pub struct CookieTransport {
    name: Option<String>,
    secure: bool,
    same_site: SameSite,
    path: String,
    domain: Option<String>,
}

impl Default for CookieTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl CookieTransport {
    /// The secure defaults.
    #[must_use]
    pub fn new() -> Self {
        Self {
            name: None,
            secure: true,
            same_site: SameSite::Lax,
            path: "/".to_owned(),
            domain: None,
        }
    }

    /// Whether the cookie is `Secure` (HTTPS only). Turn off only for local plain-HTTP
    /// development.
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The `SameSite` attribute.
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The `Path` attribute (default `/`). Anything but `/` drops the `__Host-` prefix.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The `Domain` attribute (default none: the cookie goes only to the host that set it,
    /// not its subdomains). Setting it drops the `__Host-` prefix.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Overrides the cookie name.
    ///
    /// # Errors
    /// When the name is empty or has characters other than ASCII letters, digits, `-`, `_`.
    pub fn name(mut self, name: impl Into<String>) -> Result<Self, InvalidCookieName> {
        let name = name.into();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(InvalidCookieName(name));
        }
        self.name = Some(name);
        Ok(self)
    }

    /// The cookie name in effect.
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        match &self.name {
            Some(name) => name,
            None if self.secure && self.path == "/" && self.domain.is_none() => HOST_COOKIE_NAME,
            None => PLAIN_COOKIE_NAME,
        }
    }

    /// The `Set-Cookie` value that stores `token` for `max_age`.
    #[must_use]
    pub fn set_cookie(&self, token: &Token, max_age: Duration) -> Option<HeaderValue> {
        self.header_value(token.expose(), max_age.as_secs())
    }

    /// The `Set-Cookie` value that makes the browser delete the cookie.
    #[must_use]
    pub fn removal_cookie(&self) -> Option<HeaderValue> {
        self.header_value("", 0)
    }

    fn header_value(&self, value: &str, max_age_secs: u64) -> Option<HeaderValue> {
        let mut cookie = format!(
            "{}={value}; Max-Age={max_age_secs}; Path={}",
            self.cookie_name(),
            self.path
        );
        if let Some(domain) = &self.domain {
            cookie.push_str("; Domain=");
            cookie.push_str(domain);
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie.push_str("; HttpOnly; SameSite=");
        cookie.push_str(self.same_site.as_str());
        // Only fails for a path or domain with control characters, which no browser would
        // accept either; such a transport never sets a cookie rather than panicking.
        HeaderValue::from_str(&cookie).ok()
    }

    /// The token in the request's cookies, if exactly one well-formed value is present.
    pub(crate) fn read_cookie(&self, headers: &HeaderMap) -> Option<Token> {
        let name = self.cookie_name();
        let mut found: Option<&str> = None;
        for header_value in headers.get_all(header::COOKIE) {
            let Ok(pairs) = header_value.to_str() else {
                continue;
            };
            for pair in pairs.split(';') {
                let Some((key, value)) = pair.trim_matches(' ').split_once('=') else {
                    continue;
                };
                if key != name {
                    continue;
                }
                match found {
                    Some(previous) if previous != value => return None,
                    _ => found = Some(value),
                }
            }
        }
        Token::parse(found?)
    }
}

impl Transport for CookieTransport {
    fn read_token(&self, headers: &HeaderMap) -> Option<(Token, TokenSource)> {
        self.read_cookie(headers)
            .map(|token| (token, TokenSource::Cookie))
    }

    fn write_token(&self, headers: &mut HeaderMap, token: &Token, max_age: Duration) {
        if let Some(value) = self.set_cookie(token, max_age) {
            headers.append(header::SET_COOKIE, value);
        }
    }

    fn clear_token(&self, headers: &mut HeaderMap) {
        if let Some(value) = self.removal_cookie() {
            headers.append(header::SET_COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(cookies: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(header::COOKIE, HeaderValue::from_bytes(cookie).unwrap());
        }
        headers
    }

    #[test]
    fn secure_defaults_use_the_host_prefix() {
        let transport = CookieTransport::new();
        let token = Token::generate().unwrap();
        let value = transport
            .set_cookie(&token, Duration::from_secs(600))
            .unwrap();
        assert_eq!(
            value.to_str().unwrap(),
            format!(
                "__Host-portcullis={}; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Lax",
                token.expose()
            )
        );
        assert!(!value.to_str().unwrap().contains("Domain"));
    }

    #[test]
    fn insecure_mode_drops_secure_and_the_prefix() {
        let transport = CookieTransport::new().secure(false);
        assert_eq!(transport.cookie_name(), PLAIN_COOKIE_NAME);
        let value = transport.removal_cookie().unwrap();
        assert_eq!(
            value.to_str().unwrap(),
            "portcullis_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        );
        let scoped = CookieTransport::new().domain("example.com");
        assert_eq!(scoped.cookie_name(), PLAIN_COOKIE_NAME);
        let set = scoped.removal_cookie().unwrap();
        assert!(
            set.to_str()
                .unwrap()
                .contains("; Domain=example.com; Secure;")
        );
    }

    #[test]
    fn reads_its_cookie_among_others() {
        let transport = CookieTransport::new();
        let token = Token::generate().unwrap();
        let headers = request_with(&[
            b"theme=dark",
            format!("a=1; __Host-portcullis={}; b=2", token.expose()).as_bytes(),
        ]);
        let (read, source) = transport.read_token(&headers).unwrap();
        assert!(read.hash().ct_eq(&token.hash()));
        assert_eq!(source, TokenSource::Cookie);
        // The same value twice is not ambiguous.
        let twice = format!(
            "__Host-portcullis={0}; __Host-portcullis={0}",
            token.expose()
        );
        assert!(
            transport
                .read_token(&request_with(&[twice.as_bytes()]))
                .is_some()
        );
    }

    #[test]
    fn malformed_or_ambiguous_cookies_are_no_credentials() {
        let transport = CookieTransport::new();
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        let cases: Vec<Vec<u8>> = vec![
            b"__Host-portcullis=".to_vec(),
            b"__Host-portcullis=%".to_vec(),
            b"__Host-portcullis".to_vec(),
            format!("portcullis_session={}", a.expose()).into_bytes(),
            format!("__host-portcullis={}", a.expose()).into_bytes(),
            format!("__Host-portcullis=\"{}\"", a.expose()).into_bytes(),
            format!(
                "__Host-portcullis={}; __Host-portcullis={}",
                a.expose(),
                b.expose()
            )
            .into_bytes(),
            [b"__Host-portcullis=".as_slice(), b"\xff\xfe"].concat(),
            format!("__Host-portcullis={}", "A".repeat(5000)).into_bytes(),
        ];
        for case in cases {
            assert!(
                transport.read_token(&request_with(&[&case])).is_none(),
                "accepted {:?}",
                String::from_utf8_lossy(&case)
            );
        }
        // Two Cookie headers carrying different values are ambiguous too.
        let split = request_with(&[
            format!("__Host-portcullis={}", a.expose()).as_bytes(),
            format!("__Host-portcullis={}", b.expose()).as_bytes(),
        ]);
        assert!(transport.read_token(&split).is_none());
        // A non-UTF-8 header does not hide a good one next to it.
        let mixed = request_with(&[
            b"junk=\xff",
            format!("__Host-portcullis={}", a.expose()).as_bytes(),
        ]);
        assert!(transport.read_token(&mixed).is_some());
    }

    #[test]
    fn custom_names_are_validated() {
        assert!(CookieTransport::new().name("sid").is_ok());
        for bad in ["", "a b", "a;b", "a=b", "é"] {
            assert!(CookieTransport::new().name(bad).is_err(), "{bad:?}");
        }
    }
}
