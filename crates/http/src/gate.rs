//! [`AuthGate`]: what an adapter's auth middleware decides for each request, without a
//! framework. It reads the token through the [`Transport`], validates it with the
//! [`AuthManager`], applies the CSRF rules to unsafe requests, and says what to add to the
//! response (a refreshed sliding cookie, or the removal of a dead one).
//!
//! An adapter calls [`AuthGate::admit`] with the request's method and headers and acts on
//! the [`Admission`]:
//!
//! - [`Admission::Pass`]: insert [`Pass::context`] (when signed in) and the client info where
//!   handlers find them, run the handler, then [`Finish::apply`] [`Pass::finish`] to the response headers.
//! - [`Admission::NeedsFormToken`]: a cookie-authenticated form post whose headers do not
//!   prove it same-origin. Buffer the urlencoded body (at most [`MAX_FORM_BYTES`]), pass its
//!   `csrf_token` field ([`form_field`]) to [`AuthGate::confirm_form_token`], and rebuild the
//!   request with the buffered body.
//! - [`Admission::Refuse`]: answer with the response it holds (`403 csrf_failed`,
//!   `503 storage_unavailable`): never let a request through when storage is down.
//!
//! ```
//! use portcullis_core::http::{HeaderMap, Method};
//! use portcullis_http::{Admission, AuthGate};
//! use portcullis_manager::AuthManager;
//! use portcullis_password::{MultiHasher, PasswordStrategy};
//! use portcullis_testkit::MemoryBackend;
//! use portcullis_transport::BearerTransport;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
//!     .build()?;
//! let gate = AuthGate::new(manager, BearerTransport::new());
//! let mut headers = HeaderMap::new();
//! headers.insert("authorization", "Bearer not-a-session".parse()?);
//! match gate.admit(&Method::GET, &headers).await {
//!     // An unknown token: the request goes on, anonymously.
//!     Admission::Pass(pass) => assert!(pass.context.is_none()),
//!     _ => unreachable!(),
//! }
//! # Ok(())
//! # }
//! ```

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{Extensions, HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use portcullis_core::{
    AuthError, Backend, ClientInfo, CredentialStrategy, Token, TokenSource, Transport,
};
use portcullis_manager::{AuthManager, RoleHierarchy};
use portcullis_transport::{CsrfGuard, CsrfRejection};

use crate::context::{AuthContext, ClientIpSource, client_info_from};
use crate::error::error_response;

/// Largest urlencoded form body an adapter buffers to find its `csrf_token` field (64 KiB);
/// larger ones are refused with `413`. Login, registration and settings forms are tiny; file
/// uploads are `multipart/form-data` and carry the token in the `X-CSRF-Token` header or
/// rely on Fetch Metadata.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The framework-neutral auth middleware logic; see the [module docs](crate::gate).
pub struct AuthGate<B, S, T> {
    manager: AuthManager<B, S>,
    transport: Arc<T>,
    csrf: CsrfGuard,
    client_ip: ClientIpSource,
    roles: Arc<RoleHierarchy>,
}

/// What to do with a request; see [`AuthGate::admit`].
#[derive(Debug)]
pub enum Admission {
    /// Let the request through.
    Pass(Pass),
    /// Look for the session's form token in the urlencoded body, then call
    /// [`AuthGate::confirm_form_token`].
    NeedsFormToken(PendingForm),
    /// Answer with this response instead of calling the handler.
    Refuse(Response<String>),
}

/// A request allowed through, and what its response needs.
#[derive(Debug)]
pub struct Pass {
    /// The signed-in session, or `None` for an anonymous request.
    pub context: Option<AuthContext>,
    /// What the response still needs: [`Finish::apply`] it once the handler answered.
    pub finish: Finish,
}

/// Response headers a passed request still owes; see [`Finish::apply`].
#[derive(Debug, Default)]
pub struct Finish {
    /// Re-send the cookie with this lifetime (a cookie session whose expiry slid).
    refresh: Option<(Token, Duration)>,
    /// Make the browser forget a cookie that names no live session.
    clear_cookie: bool,
}

/// A cookie-authenticated unsafe request waiting for its form token.
#[derive(Debug)]
pub struct PendingForm {
    context: AuthContext,
    finish: Finish,
}

impl Finish {
    /// Adds the refreshed or cleared session cookie to a response's headers, unless the
    /// handler already set a cookie of the same name (a login issuing a new session, a logout
    /// clearing it: the handler knows better). A response that gains a cookie here is marked
    /// `Cache-Control: no-store` when it has no cache policy.
    pub fn apply<T: Transport + ?Sized>(&self, transport: &T, headers: &mut HeaderMap) {
        let mut ours = HeaderMap::new();
        if let Some((token, max_age)) = &self.refresh {
            transport.write_token(&mut ours, token, *max_age);
        } else if self.clear_cookie {
            transport.clear_token(&mut ours);
        }
        merge_set_cookies(headers, ours);
    }
}

impl<B, S, T> AuthGate<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    /// A gate reading tokens with `transport`, with the default CSRF guard
    /// ([`CsrfGuard::new`]) and client addresses from the peer only.
    #[must_use]
    pub fn new(manager: AuthManager<B, S>, transport: T) -> Self {
        Self::with_shared_transport(manager, Arc::new(transport))
    }

    /// [`new`](Self::new) with a transport the adapter also uses elsewhere.
    #[must_use]
    pub fn with_shared_transport(manager: AuthManager<B, S>, transport: Arc<T>) -> Self {
        let roles = Arc::new(manager.config().roles.clone());
        Self {
            manager,
            transport,
            csrf: CsrfGuard::new(),
            client_ip: ClientIpSource::default(),
            roles,
        }
    }

    /// Replaces the CSRF guard (trusted origins, same-site policy).
    #[must_use]
    pub fn csrf(mut self, csrf: CsrfGuard) -> Self {
        self.csrf = csrf;
        self
    }

    /// Where client addresses come from (the peer by default).
    #[must_use]
    pub fn client_ip(mut self, client_ip: ClientIpSource) -> Self {
        self.client_ip = client_ip;
        self
    }

    /// Decides what happens to a request with this method and these headers.
    ///
    /// A token that names no live session is not an error: the request goes on anonymously
    /// (and a dead cookie is cleared). A storage failure is: the request is refused with
    /// `503`, because letting it through anonymously would turn an outage into silently
    /// missing permissions.
    pub async fn admit(&self, method: &Method, headers: &HeaderMap) -> Admission {
        let mut clear_cookie = false;
        if let Some((token, source)) = self.transport.read_token(headers) {
            match self.manager.authenticate_token(&token).await {
                Ok(auth) => {
                    let refresh = (auth.refreshed && source == TokenSource::Cookie).then(|| {
                        (
                            token.clone(),
                            self.manager.remaining_lifetime(&auth.session),
                        )
                    });
                    let context = AuthContext::new(auth.user, auth.session, source, token);
                    let finish = Finish {
                        refresh,
                        clear_cookie: false,
                    };
                    return self.check_signed_in(method, headers, context, finish);
                }
                // Unknown, revoked or expired: carry on anonymously, and make the browser
                // forget the dead cookie.
                Err(err) if err.status() == StatusCode::UNAUTHORIZED => {
                    clear_cookie = source == TokenSource::Cookie;
                }
                Err(err) => {
                    log_failure(&err);
                    return Admission::Refuse(error_response(&err));
                }
            }
        }
        let finish = Finish {
            refresh: None,
            clear_cookie,
        };
        if is_unsafe(method) {
            // No session: a login or registration form, or an anonymous API call. Refuse what
            // a browser says is cross-site (login CSRF); let API clients that send no browser
            // headers at all through.
            let verdict = self.csrf.check(method, headers, None, None, None);
            if let Err(CsrfRejection::CrossSite | CsrfRejection::OriginNotAllowed) = verdict {
                let mut response = error_response(&AuthError::CsrfFailed);
                finish.apply(self.transport.as_ref(), response.headers_mut());
                return Admission::Refuse(response);
            }
        }
        Admission::Pass(Pass {
            context: None,
            finish,
        })
    }

    fn check_signed_in(
        &self,
        method: &Method,
        headers: &HeaderMap,
        context: AuthContext,
        finish: Finish,
    ) -> Admission {
        if context.source == TokenSource::Cookie && is_unsafe(method) {
            let verdict = self.csrf.check(
                method,
                headers,
                Some(context.source),
                Some(context.token()),
                None,
            );
            if verdict.is_err() {
                // Last chance: the session's form token in a urlencoded body.
                return if is_urlencoded_form(headers) {
                    Admission::NeedsFormToken(PendingForm { context, finish })
                } else {
                    Admission::Refuse(error_response(&AuthError::CsrfFailed))
                };
            }
        }
        Admission::Pass(Pass {
            context: Some(context),
            finish,
        })
    }

    /// The second step of a form post: `form_token` is the body's `csrf_token` field, if any.
    ///
    /// # Errors
    /// The `403 csrf_failed` response (boxed: refusals are rare and large) when the field is
    /// missing or wrong.
    pub fn confirm_form_token(
        &self,
        pending: PendingForm,
        method: &Method,
        headers: &HeaderMap,
        form_token: Option<&str>,
    ) -> Result<Pass, Box<Response<String>>> {
        let PendingForm { context, finish } = pending;
        let verdict = self.csrf.check(
            method,
            headers,
            Some(context.source),
            Some(context.token()),
            form_token,
        );
        match verdict {
            Ok(()) => Ok(Pass {
                context: Some(context),
                finish,
            }),
            Err(_) => Err(Box::new(error_response(&AuthError::CsrfFailed))),
        }
    }

    /// The client's address and user agent, as this gate's [`ClientIpSource`] says.
    #[must_use]
    pub fn client_info(&self, headers: &HeaderMap, extensions: &Extensions) -> ClientInfo {
        client_info_from(headers, extensions, &self.client_ip)
    }
}

impl<B, S, T> AuthGate<B, S, T> {
    /// The manager.
    #[must_use]
    pub fn manager(&self) -> &AuthManager<B, S> {
        &self.manager
    }

    /// The transport.
    #[must_use]
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The manager's role hierarchy, for role-checking extractors.
    #[must_use]
    pub fn roles(&self) -> &Arc<RoleHierarchy> {
        &self.roles
    }

    /// Where client addresses come from.
    #[must_use]
    pub fn client_ip_source(&self) -> &ClientIpSource {
        &self.client_ip
    }
}

impl<B, S, T> Clone for AuthGate<B, S, T> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            transport: Arc::clone(&self.transport),
            csrf: self.csrf.clone(),
            client_ip: self.client_ip.clone(),
            roles: Arc::clone(&self.roles),
        }
    }
}

impl<B, S, T: fmt::Debug> fmt::Debug for AuthGate<B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthGate")
            .field("manager", &self.manager)
            .field("transport", &self.transport)
            .field("csrf", &self.csrf)
            .field("client_ip", &self.client_ip)
            .finish_non_exhaustive()
    }
}

/// True for methods that may change state (everything but `GET`, `HEAD`, `OPTIONS`, `TRACE`).
#[must_use]
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// True when the body is `application/x-www-form-urlencoded` (any case, any parameters).
#[must_use]
pub fn is_urlencoded_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn log_failure(err: &AuthError) {
    // The error and its causes name no token (tokens never enter errors), so they may be
    // logged; the client sees only the generic message.
    let cause = err.source().map(ToString::to_string);
    tracing::error!(code = err.code(), error = %err, cause = ?cause, "authentication refused: server-side failure");
}

/// Adds `ours` (`Set-Cookie` headers) to a response unless the response already sets a
/// cookie of the same name.
fn merge_set_cookies(response: &mut HeaderMap, ours: HeaderMap) {
    let mut added = false;
    for (name, value) in &ours {
        if name == header::SET_COOKIE {
            let ours = cookie_name(value.as_bytes());
            let already_set = response
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|existing| cookie_name(existing.as_bytes()) == ours);
            if already_set {
                continue;
            }
        }
        added = true;
        response.append(name.clone(), value.clone());
    }
    if added && !response.contains_key(header::CACHE_CONTROL) {
        // A response that sets a session cookie must never be stored by a shared cache.
        response.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

fn cookie_name(set_cookie: &[u8]) -> &[u8] {
    let end = set_cookie
        .iter()
        .position(|&b| b == b'=')
        .unwrap_or(set_cookie.len());
    set_cookie[..end].trim_ascii()
}

/// The first value of field `name` in an `application/x-www-form-urlencoded` body.
#[must_use]
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    let decode = |part: &[u8]| {
        // In forms `+` is a space; a literal plus arrives as `%2B`.
        let spaced: Vec<u8> = part
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_decode(&spaced)
    };
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &[][..]),
        };
        (decode(key) == name.as_bytes())
            .then(|| String::from_utf8(decode(value)).ok())
            .flatten()
    })
}

/// Decodes `%XX` escapes (any case); a `%` not followed by two hex digits stays as it is.
/// The result may not be UTF-8: callers decide what that means.
///
/// ```
/// assert_eq!(portcullis_http::percent_decode(b"a%2Fb%zz"), b"a/b%zz");
/// ```
#[must_use]
pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%'
            && i + 2 < input.len()
            && let (Some(hi), Some(lo)) = (hex(input[i + 1]), hex(input[i + 2]))
        {
            out.push((hi << 4) | lo);
            i += 3;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_found_and_decoded() {
        assert_eq!(
            form_field(b"a=1&csrf_token=abc-_DEF&b=2", "csrf_token").as_deref(),
            Some("abc-_DEF")
        );
        assert_eq!(
            form_field(b"csrf%5Ftoken=a%2Bb+c", "csrf_token").as_deref(),
            Some("a+b c")
        );
        assert_eq!(form_field(b"csrf_token", "csrf_token").as_deref(), Some(""));
        assert_eq!(form_field(b"x=%", "x").as_deref(), Some("%"));
        assert_eq!(form_field(b"x=%4", "x").as_deref(), Some("%4"));
        assert_eq!(form_field(b"x=%zz", "x").as_deref(), Some("%zz"));
        assert_eq!(form_field(b"x=%ff", "x"), None);
        assert_eq!(form_field(b"", "csrf_token"), None);
    }

    #[test]
    fn urlencoded_detection_ignores_case_and_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        );
        assert!(is_urlencoded_form(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_urlencoded_form(&headers));
    }

    #[test]
    fn our_cookie_does_not_override_the_handlers() {
        let mut response = HeaderMap::new();
        response.append(
            header::SET_COOKIE,
            HeaderValue::from_static("__Host-portcullis=new; Path=/"),
        );
        let mut ours = HeaderMap::new();
        ours.append(
            header::SET_COOKIE,
            HeaderValue::from_static("__Host-portcullis=; Max-Age=0"),
        );
        merge_set_cookies(&mut response, ours.clone());
        assert_eq!(response.get_all(header::SET_COOKIE).iter().count(), 1);
        let mut other = HeaderMap::new();
        other.append(header::SET_COOKIE, HeaderValue::from_static("flash=hi"));
        merge_set_cookies(&mut other, ours);
        assert_eq!(other.get_all(header::SET_COOKIE).iter().count(), 2);
        assert_eq!(other[header::CACHE_CONTROL], "no-store");
    }
}
