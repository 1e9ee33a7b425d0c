//! [`AuthLayer`]: configuration of the auth middleware.

use std::fmt;
use std::sync::Arc;

use portcullis_core::{Backend, CredentialStrategy, Transport};
use portcullis_manager::AuthManager;
use portcullis_transport::CsrfGuard;
use tower::Layer;

use super::service::{AuthService, Shared};
use crate::context::ClientIpSource;

/// Applies [`AuthService`] to a service: validates session tokens, checks CSRF on
/// cookie-authenticated unsafe requests, refreshes sliding cookies. See the
/// [module docs](crate::auth).
///
/// ```
/// use portcullis_password::{MultiHasher, PasswordStrategy};
/// use portcullis_testkit::MemoryBackend;
/// use portcullis_manager::AuthManager;
/// use portcullis_transport::{CookieOrBearer, CookieTransport, CsrfGuard};
/// use portcullis_tower::{AuthLayer, ClientIpSource};
///
/// let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new())).build()?;
/// let layer = AuthLayer::new(manager, CookieOrBearer::new(CookieTransport::new()))
///     .csrf(CsrfGuard::new().allow_origin("https://app.example.com"))
///     .client_ip(ClientIpSource::trusted_header("x-forwarded-for"));
/// # let _ = layer;
/// # Ok::<(), portcullis_core::AuthError>(())
/// ```
pub struct AuthLayer<B, S, T> {
    manager: AuthManager<B, S>,
    transport: Arc<T>,
    csrf: CsrfGuard,
    client_ip: ClientIpSource,
}

impl<B, S, T> AuthLayer<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    /// Validates tokens read by `transport` with `manager`, with the default
    /// [`CsrfGuard::new`] (same origin only) and the peer address as client IP.
    #[must_use]
    pub fn new(manager: AuthManager<B, S>, transport: T) -> Self {
        Self {
            manager,
            transport: Arc::new(transport),
            csrf: CsrfGuard::new(),
            client_ip: ClientIpSource::default(),
        }
    }

    /// The CSRF guard for cookie-authenticated unsafe requests (allowed origins,
    /// `same-site`).
    #[must_use]
    pub fn csrf(mut self, csrf: CsrfGuard) -> Self {
        self.csrf = csrf;
        self
    }

    /// Where the client address in the [`ClientInfo`](portcullis_core::ClientInfo)
    /// extension comes from.
    #[must_use]
    pub fn client_ip(mut self, client_ip: ClientIpSource) -> Self {
        self.client_ip = client_ip;
        self
    }

    /// The manager that validates tokens.
    #[must_use]
    pub fn manager(&self) -> &AuthManager<B, S> {
        &self.manager
    }

    /// The transport that reads and writes tokens.
    #[must_use]
    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub(crate) fn shared(&self) -> Arc<Shared<B, S, T>> {
        Arc::new(Shared {
            manager: self.manager.clone(),
            transport: Arc::clone(&self.transport),
            csrf: self.csrf.clone(),
            client_ip: self.client_ip.clone(),
            roles: Arc::new(self.manager.config().roles.clone()),
        })
    }
}

impl<B, S, T> Clone for AuthLayer<B, S, T> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            transport: Arc::clone(&self.transport),
            csrf: self.csrf.clone(),
            client_ip: self.client_ip.clone(),
        }
    }
}

impl<B, S, T: fmt::Debug> fmt::Debug for AuthLayer<B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("manager", &self.manager)
            .field("transport", &self.transport)
            .field("csrf", &self.csrf)
            .field("client_ip", &self.client_ip)
            .finish()
    }
}

impl<Inner, B, S, T> Layer<Inner> for AuthLayer<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    type Service = AuthService<Inner, B, S, T>;

    fn layer(&self, inner: Inner) -> Self::Service {
        AuthService::from_shared(inner, self.shared())
    }
}
