//! [`AuthService`]: the auth middleware itself.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use portcullis_core::{
    AuthError, Backend, BoxError, CredentialStrategy, Token, TokenSource, Transport,
};
use portcullis_manager::{AuthManager, Authenticated, RoleHierarchy};
use portcullis_transport::{CSRF_FORM_FIELD, CsrfGuard, CsrfRejection};
use tower::Service;

use super::MAX_FORM_BYTES;
use super::future::ResponseFuture;
use super::layer::AuthLayer;
use crate::context::{AuthContext, AuthLayerInstalled, ClientIpSource, client_info_from};
use crate::error::error_response;

/// The auth middleware; see [`AuthLayer`] and the [module docs](crate::auth).
///
/// # Body types
///
/// - Request bodies must be rebuildable from buffered bytes (`ReqBody: From<Bytes>`), for the
///   `csrf_token` form field: axum's `Body` and `http_body_util::Full<Bytes>` are; wrap
///   hyper's `Incoming` in [`RequestBody`](crate::RequestBody).
/// - Response bodies must be buildable from a `String` (`ResBody: From<String>`), for the
///   JSON refusals (`403 csrf_failed`, `503 storage_unavailable`, `413`): axum's `Body`,
///   `Full<Bytes>` and `String` are.
///
/// The inner service must be `Clone + Send + 'static` with a `Send` future (as axum's
/// `Router` and `tower::service_fn` closures are).
pub struct AuthService<Inner, B, S, T> {
    inner: Inner,
    shared: Arc<Shared<B, S, T>>,
}

pub(crate) struct Shared<B, S, T> {
    pub(crate) manager: AuthManager<B, S>,
    pub(crate) transport: Arc<T>,
    pub(crate) csrf: CsrfGuard,
    pub(crate) client_ip: ClientIpSource,
    /// The manager's role hierarchy, shared with role-checking extractors.
    pub(crate) roles: Arc<RoleHierarchy>,
}

impl<Inner, B, S, T> AuthService<Inner, B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    /// Wraps `inner` with the default settings of [`AuthLayer::new`].
    pub fn new(inner: Inner, manager: AuthManager<B, S>, transport: T) -> Self {
        Self::from_shared(inner, AuthLayer::new(manager, transport).shared())
    }

    /// The layer, to configure and apply with `tower::ServiceBuilder`.
    pub fn layer(manager: AuthManager<B, S>, transport: T) -> AuthLayer<B, S, T> {
        AuthLayer::new(manager, transport)
    }
}

impl<Inner, B, S, T> AuthService<Inner, B, S, T> {
    pub(crate) fn from_shared(inner: Inner, shared: Arc<Shared<B, S, T>>) -> Self {
        Self { inner, shared }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &Inner {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut Inner {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> Inner {
        self.inner
    }
}

impl<Inner: Clone, B, S, T> Clone for AuthService<Inner, B, S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<Inner: fmt::Debug, B, S, T: fmt::Debug> fmt::Debug for AuthService<Inner, B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("manager", &self.shared.manager)
            .field("transport", &self.shared.transport)
            .field("csrf", &self.shared.csrf)
            .field("client_ip", &self.shared.client_ip)
            .finish()
    }
}

impl<Inner, B, S, T, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<Inner, B, S, T>
where
    Inner: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    Inner::Future: Send + 'static,
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
    ReqBody: http_body::Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = Inner::Error;
    type Future = ResponseFuture<ResBody, Inner::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Call the instance that was polled ready; keep a fresh clone for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        ResponseFuture::new(shared.handle(inner, request))
    }
}

const SENSITIVE_REQUEST_HEADERS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
];

impl<B, S, T> Shared<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    async fn handle<Inner, ReqBody, ResBody>(
        self: Arc<Self>,
        mut inner: Inner,
        mut request: Request<ReqBody>,
    ) -> Result<Response<ResBody>, Inner::Error>
    where
        Inner: Service<Request<ReqBody>, Response = Response<ResBody>>,
        ReqBody: http_body::Body + From<Bytes>,
        ReqBody::Error: Into<BoxError>,
        ResBody: From<String>,
    {
        if request.extensions().get::<AuthContext>().is_some() {
            // An outer AuthLayer already authenticated this request (an app that wraps
            // everything, around a router that brings its own layer): do not validate twice.
            return inner.call(request).await;
        }
        request.extensions_mut().insert(AuthLayerInstalled);
        mark_sensitive(request.headers_mut(), &SENSITIVE_REQUEST_HEADERS);
        let client = client_info_from(request.headers(), request.extensions(), &self.client_ip);
        request.extensions_mut().insert(client);

        let mut clear_cookie = false;
        let mut session = None;
        if let Some((token, source)) = self.transport.read_token(request.headers()) {
            match self.manager.authenticate_token(&token).await {
                Ok(auth) => session = Some((auth, token, source)),
                // Unknown, revoked or expired: carry on anonymously, and make the browser
                // forget the dead cookie.
                Err(err) if err.status() == StatusCode::UNAUTHORIZED => {
                    clear_cookie = source == TokenSource::Cookie;
                }
                // Storage down or a bug: refuse. Letting the request through as anonymous
                // would turn an outage into silently missing permissions (or worse).
                Err(err) => {
                    log_failure(&err);
                    return Ok(error_response(&err));
                }
            }
        }

        match session {
            Some((auth, token, source)) => {
                self.authenticated(inner, request, auth, token, source)
                    .await
            }
            None => {
                if is_unsafe(request.method()) {
                    // No session: this is a login or registration form, or an anonymous API
                    // call. Refuse what a browser says is cross-site (login CSRF); let API
                    // clients that send no browser headers at all through.
                    let verdict =
                        self.csrf
                            .check(request.method(), request.headers(), None, None, None);
                    if let Err(CsrfRejection::CrossSite | CsrfRejection::OriginNotAllowed) = verdict
                    {
                        let mut response = csrf_refused();
                        if clear_cookie {
                            self.clear_cookie(response.headers_mut());
                        }
                        return Ok(response);
                    }
                }
                let mut response = inner.call(request).await?;
                if clear_cookie {
                    self.clear_cookie(response.headers_mut());
                }
                mark_sensitive(response.headers_mut(), &[header::SET_COOKIE]);
                Ok(response)
            }
        }
    }

    async fn authenticated<Inner, ReqBody, ResBody>(
        &self,
        mut inner: Inner,
        mut request: Request<ReqBody>,
        auth: Authenticated,
        token: Token,
        source: TokenSource,
    ) -> Result<Response<ResBody>, Inner::Error>
    where
        Inner: Service<Request<ReqBody>, Response = Response<ResBody>>,
        ReqBody: http_body::Body + From<Bytes>,
        ReqBody::Error: Into<BoxError>,
        ResBody: From<String>,
    {
        if source == TokenSource::Cookie && is_unsafe(request.method()) {
            let verdict = self.csrf.check(
                request.method(),
                request.headers(),
                Some(source),
                Some(&token),
                None,
            );
            if verdict.is_err() {
                // Last chance: the session's form token in a urlencoded body.
                if !is_urlencoded_form(request.headers()) {
                    return Ok(csrf_refused());
                }
                let form_token;
                (request, form_token) = match buffer_form(request).await {
                    Ok(buffered) => buffered,
                    Err(refusal) => return Ok(refusal),
                };
                let verdict = self.csrf.check(
                    request.method(),
                    request.headers(),
                    Some(source),
                    Some(&token),
                    form_token.as_deref(),
                );
                if verdict.is_err() {
                    return Ok(csrf_refused());
                }
            }
        }

        let refresh = (auth.refreshed && source == TokenSource::Cookie)
            .then(|| self.manager.remaining_lifetime(&auth.session));
        let refresh_token = refresh.map(|max_age| (token.clone(), max_age));
        let extensions = request.extensions_mut();
        extensions.insert(Arc::clone(&self.roles));
        extensions.insert(AuthContext::new(auth.user, auth.session, source, token));
        let mut response = inner.call(request).await?;
        if let Some((token, max_age)) = refresh_token {
            let mut cookies = HeaderMap::new();
            self.transport.write_token(&mut cookies, &token, max_age);
            merge_set_cookies(response.headers_mut(), cookies);
        }
        mark_sensitive(response.headers_mut(), &[header::SET_COOKIE]);
        Ok(response)
    }

    fn clear_cookie(&self, headers: &mut HeaderMap) {
        let mut cookies = HeaderMap::new();
        self.transport.clear_token(&mut cookies);
        merge_set_cookies(headers, cookies);
    }
}

/// Adds our `Set-Cookie` headers to a response unless the application already set a cookie
/// of the same name (a login handler issuing a new session, a logout handler clearing it):
/// the handler knows better, and a second header for the same cookie would override it.
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

fn mark_sensitive(headers: &mut HeaderMap, names: &[HeaderName]) {
    for (name, value) in headers.iter_mut() {
        if names.contains(name) {
            value.set_sensitive(true);
        }
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn is_urlencoded_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn csrf_refused<ResBody: From<String>>() -> Response<ResBody> {
    error_response(&AuthError::CsrfFailed)
}

fn log_failure(err: &AuthError) {
    // The error and its causes name no token (tokens never enter errors), so they may be
    // logged; the client sees only the generic message.
    let cause = err.source().map(ToString::to_string);
    tracing::error!(code = err.code(), error = %err, cause = ?cause, "authentication refused: server-side failure");
}

/// Reads a urlencoded body (at most [`MAX_FORM_BYTES`]) and returns the request rebuilt with
/// it, plus its `csrf_token` field.
async fn buffer_form<ReqBody, ResBody>(
    request: Request<ReqBody>,
) -> Result<(Request<ReqBody>, Option<String>), Response<ResBody>>
where
    ReqBody: http_body::Body + From<Bytes>,
    ReqBody::Error: Into<BoxError>,
    ResBody: From<String>,
{
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_FORM_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = match Limited::new(body, MAX_FORM_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<LengthLimitError>() => return Err(too_large()),
        Err(_) => {
            return Err(error_response(&AuthError::InvalidInput {
                field: "body",
                message: "could not read the request body".to_owned(),
            }));
        }
    };
    let form_token = form_field(&bytes, CSRF_FORM_FIELD);
    Ok((Request::from_parts(parts, ReqBody::from(bytes)), form_token))
}

fn too_large<ResBody: From<String>>() -> Response<ResBody> {
    error_response(&AuthError::PayloadTooLarge)
}

/// The first value of field `name` in an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &[][..]),
        };
        (percent_decode(key) == name.as_bytes())
            .then(|| String::from_utf8(percent_decode(value)).ok())
            .flatten()
    })
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi << 4) | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
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
