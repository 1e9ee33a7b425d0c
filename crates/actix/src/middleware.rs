//! [`AuthMiddleware`]: the auth middleware, an actix-web [`Transform`] around
//! [`AuthGate`](portcullis_http::AuthGate).

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use portcullis_core::http::Response;
use portcullis_core::{Backend, ClientInfo, CredentialStrategy, Transport};
use portcullis_http::{
    Admission, AuthContext, AuthGate, AuthLayerInstalled, ClientIpSource, MAX_FORM_BYTES, Pass,
    error_response, form_field,
};
use portcullis_manager::AuthManager;
use portcullis_transport::{CSRF_FORM_FIELD, CsrfGuard};

use crate::{body, convert};

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The auth middleware.
///
/// For every request it reads the session token through the [`Transport`], validates it
/// with the [`AuthManager`], applies the CSRF rules to cookie-authenticated unsafe requests
/// (Fetch Metadata / `Origin`, the `X-CSRF-Token` header, or a `csrf_token` form field,
/// buffered up to [`MAX_FORM_BYTES`] and handed on to the handler intact), and puts what it
/// found in the request extensions: an [`AuthContext`] when signed in (read it with the
/// [extractors](crate::CurrentUser)), the [`ClientInfo`] always. On the way out it
/// refreshes a sliding session cookie or clears a dead one. Storage failures answer
/// `503 storage_unavailable`: a request is never let through anonymously because the
/// database is down.
///
/// Install it with `App::wrap` (or `Scope::wrap`) around every route that uses the
/// extractors:
///
/// ```
/// use actix_web::App;
/// use portcullis_actix::{AuthMiddleware, ClientIpSource};
/// use portcullis_manager::AuthManager;
/// use portcullis_password::{MultiHasher, PasswordStrategy};
/// use portcullis_testkit::MemoryBackend;
/// use portcullis_transport::{CookieOrBearer, CookieTransport, CsrfGuard};
///
/// let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new())).build()?;
/// let middleware = AuthMiddleware::new(manager, CookieOrBearer::new(CookieTransport::new()))
///     .csrf(CsrfGuard::new().allow_origin("https://app.example.com"))
///     .client_ip(ClientIpSource::trusted_header("x-forwarded-for"));
/// let app = App::new().wrap(middleware);
/// # let _ = app;
/// # Ok::<(), portcullis_core::AuthError>(())
/// ```
///
/// Client addresses come from the connection's peer (`HttpRequest::peer_addr`) unless
/// [`client_ip`](Self::client_ip) names a header set by a trusted proxy; actix-web's own
/// `ConnectionInfo::realip_remote_addr` believes any client's `Forwarded` header, so it is
/// not used.
///
/// A request that already went through an `AuthMiddleware` (an app-wide one, around an
/// [`api_scope`](crate::api_scope) that brings its own) is not authenticated twice: the
/// outer middleware's decision stands.
pub struct AuthMiddleware<B, S, T> {
    gate: Arc<AuthGate<B, S, T>>,
}

impl<B, S, T> AuthMiddleware<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    /// Reads tokens with `transport` and validates them with `manager`; CSRF with
    /// [`CsrfGuard::new`]'s defaults; client addresses from the peer only.
    #[must_use]
    pub fn new(manager: AuthManager<B, S>, transport: T) -> Self {
        Self::from_gate(AuthGate::new(manager, transport))
    }

    /// The middleware over a configured [`AuthGate`] (shared with another adapter).
    #[must_use]
    pub fn from_gate(gate: AuthGate<B, S, T>) -> Self {
        Self {
            gate: Arc::new(gate),
        }
    }

    /// Replaces the CSRF guard (trusted origins, same-site policy).
    #[must_use]
    pub fn csrf(self, csrf: CsrfGuard) -> Self {
        Self::from_gate(Arc::unwrap_or_clone(self.gate).csrf(csrf))
    }

    /// Where client addresses (for sessions and audit events) come from.
    #[must_use]
    pub fn client_ip(self, client_ip: ClientIpSource) -> Self {
        Self::from_gate(Arc::unwrap_or_clone(self.gate).client_ip(client_ip))
    }
}

impl<B, S, T> AuthMiddleware<B, S, T> {
    /// The gate making the decisions.
    #[must_use]
    pub fn gate(&self) -> &AuthGate<B, S, T> {
        &self.gate
    }

    /// The manager.
    #[must_use]
    pub fn manager(&self) -> &AuthManager<B, S> {
        self.gate.manager()
    }

    /// The transport.
    #[must_use]
    pub fn transport(&self) -> &T {
        self.gate.transport()
    }
}

impl<B, S, T> Clone for AuthMiddleware<B, S, T> {
    fn clone(&self) -> Self {
        Self {
            gate: Arc::clone(&self.gate),
        }
    }
}

impl<B, S, T: fmt::Debug> fmt::Debug for AuthMiddleware<B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("gate", &self.gate)
            .finish()
    }
}

impl<Svc, Bd, B, S, T> Transform<Svc, ServiceRequest> for AuthMiddleware<B, S, T>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<Bd>, Error = Error> + 'static,
    Bd: MessageBody + 'static,
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    type Response = ServiceResponse<EitherBody<Bd>>;
    type Error = Error;
    type Transform = AuthMiddlewareService<Svc, B, S, T>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(AuthMiddlewareService {
            service: Rc::new(service),
            gate: Arc::clone(&self.gate),
        }))
    }
}

/// The service [`AuthMiddleware`] wraps around the app's; built by actix-web.
///
/// Refusals (`403 csrf_failed`, `413`, `503 storage_unavailable`) are the right-hand side of
/// the [`EitherBody`]; the app's responses pass through on the left.
pub struct AuthMiddlewareService<Svc, B, S, T> {
    service: Rc<Svc>,
    gate: Arc<AuthGate<B, S, T>>,
}

impl<Svc: fmt::Debug, B, S, T: fmt::Debug> fmt::Debug for AuthMiddlewareService<Svc, B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddlewareService")
            .field("service", &self.service)
            .field("gate", &self.gate)
            .finish()
    }
}

impl<Svc, Bd, B, S, T> Service<ServiceRequest> for AuthMiddlewareService<Svc, B, S, T>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<Bd>, Error = Error> + 'static,
    Bd: MessageBody + 'static,
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    type Response = ServiceResponse<EitherBody<Bd>>;
    type Error = Error;
    type Future = LocalBoxFuture<Result<Self::Response, Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        Box::pin(handle(
            Rc::clone(&self.service),
            Arc::clone(&self.gate),
            request,
        ))
    }
}

async fn handle<Svc, Bd, B, S, T>(
    service: Rc<Svc>,
    gate: Arc<AuthGate<B, S, T>>,
    mut request: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<Bd>>, Error>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<Bd>, Error = Error>,
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    if request.extensions().contains::<AuthLayerInstalled>() {
        // An outer AuthMiddleware already decided about this request.
        return Ok(service.call(request).await?.map_into_left_body());
    }
    let method = convert::method(request.method());
    let headers = convert::headers(request.headers());
    let client: ClientInfo = gate.client_info(&headers, &convert::peer(request.peer_addr()));
    {
        let mut extensions = request.extensions_mut();
        extensions.insert(AuthLayerInstalled);
        extensions.insert(client);
    }

    let pass = match gate.admit(&method, &headers).await {
        Admission::Pass(pass) => pass,
        Admission::Refuse(response) => return Ok(refuse(request, response)),
        Admission::NeedsFormToken(pending) => {
            let payload = request.parts_mut().1.take();
            let form = match body::read_limited(request.headers(), payload, MAX_FORM_BYTES).await {
                Ok(form) => form,
                Err(err) => return Ok(refuse(request, error_response(&err))),
            };
            let form_token = form_field(&form, CSRF_FORM_FIELD);
            // The handler reads the body as if nothing happened.
            request.set_payload(Payload::from(form));
            match gate.confirm_form_token(pending, &method, &headers, form_token.as_deref()) {
                Ok(pass) => pass,
                Err(response) => return Ok(refuse(request, *response)),
            }
        }
    };
    let Pass { context, finish } = pass;
    if let Some(context) = context {
        request.extensions_mut().insert::<AuthContext>(context);
    }
    let mut response = service.call(request).await?;
    let before = convert::headers(response.headers());
    let mut after = before.clone();
    finish.apply(gate.transport(), &mut after);
    convert::write_back(response.headers_mut(), &before, &after);
    Ok(response.map_into_left_body())
}

fn refuse<Bd>(
    request: ServiceRequest,
    response: Response<String>,
) -> ServiceResponse<EitherBody<Bd>> {
    request
        .into_response(convert::response(response))
        .map_into_right_body()
}
