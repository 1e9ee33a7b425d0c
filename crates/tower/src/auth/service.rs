//! [`AuthService`]: the auth middleware itself, a tower wrapper around
//! [`AuthGate`](portcullis_http::AuthGate).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response, header};
use portcullis_core::{Backend, BoxError, CredentialStrategy, Transport};
use portcullis_http::{
    Admission, AuthContext, AuthGate, AuthLayerInstalled, MAX_FORM_BYTES, Pass, error_response,
    form_field,
};
use portcullis_manager::AuthManager;
use portcullis_transport::CSRF_FORM_FIELD;
use tower::Service;

use super::future::ResponseFuture;
use super::layer::AuthLayer;

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
    gate: Arc<AuthGate<B, S, T>>,
}

impl<Inner, B, S, T> AuthService<Inner, B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    /// Wraps `inner` with the default settings of [`AuthLayer::new`].
    pub fn new(inner: Inner, manager: AuthManager<B, S>, transport: T) -> Self {
        Self::from_gate(inner, AuthLayer::new(manager, transport).gate())
    }

    /// The layer, to configure and apply with `tower::ServiceBuilder`.
    pub fn layer(manager: AuthManager<B, S>, transport: T) -> AuthLayer<B, S, T> {
        AuthLayer::new(manager, transport)
    }
}

impl<Inner, B, S, T> AuthService<Inner, B, S, T> {
    pub(crate) fn from_gate(inner: Inner, gate: Arc<AuthGate<B, S, T>>) -> Self {
        Self { inner, gate }
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
            gate: Arc::clone(&self.gate),
        }
    }
}

impl<Inner: fmt::Debug, B, S, T: fmt::Debug> fmt::Debug for AuthService<Inner, B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("gate", &self.gate)
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
        ResponseFuture::new(handle(Arc::clone(&self.gate), inner, request))
    }
}

const SENSITIVE_REQUEST_HEADERS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
];

async fn handle<Inner, B, S, T, ReqBody, ResBody>(
    gate: Arc<AuthGate<B, S, T>>,
    mut inner: Inner,
    mut request: Request<ReqBody>,
) -> Result<Response<ResBody>, Inner::Error>
where
    Inner: Service<Request<ReqBody>, Response = Response<ResBody>>,
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
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
    let client = gate.client_info(request.headers(), request.extensions());
    request.extensions_mut().insert(client);

    let pass = match gate.admit(request.method(), request.headers()).await {
        Admission::Pass(pass) => pass,
        Admission::Refuse(response) => return Ok(response.map(ResBody::from)),
        Admission::NeedsFormToken(pending) => {
            let form_token;
            (request, form_token) = match buffer_form(request).await {
                Ok(buffered) => buffered,
                Err(refusal) => return Ok(refusal),
            };
            match gate.confirm_form_token(
                pending,
                request.method(),
                request.headers(),
                form_token.as_deref(),
            ) {
                Ok(pass) => pass,
                Err(response) => return Ok((*response).map(ResBody::from)),
            }
        }
    };
    let Pass { context, finish } = pass;
    if let Some(context) = context {
        let extensions = request.extensions_mut();
        extensions.insert(Arc::clone(gate.roles()));
        extensions.insert(context);
    }
    let mut response = inner.call(request).await?;
    finish.apply(gate.transport(), response.headers_mut());
    mark_sensitive(response.headers_mut(), &[header::SET_COOKIE]);
    Ok(response)
}

fn mark_sensitive(headers: &mut HeaderMap, names: &[HeaderName]) {
    for (name, value) in headers.iter_mut() {
        if names.contains(name) {
            value.set_sensitive(true);
        }
    }
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
    let bytes = crate::body::read_limited(&parts.headers, body, MAX_FORM_BYTES)
        .await
        .map_err(|err| error_response(&err))?;
    let form_token = form_field(&bytes, CSRF_FORM_FIELD);
    Ok((Request::from_parts(parts, ReqBody::from(bytes)), form_token))
}
