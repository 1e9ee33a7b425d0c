//! [`AuthLayer`]: configuration of the auth middleware.

use std::fmt;
use std::sync::Arc;

use portcullis_core::{Backend, CredentialStrategy, Transport};
use portcullis_manager::AuthManager;
use portcullis_transport::CsrfGuard;
use tower::Layer;

use portcullis_http::{AuthGate, ClientIpSource};

use super::service::AuthService;

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
    gate: AuthGate<B, S, T>,
}

impl<B, S, T> AuthLayer<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    /// Reads tokens with `transport` and validates them with `manager`; CSRF with
    /// [`CsrfGuard::new`]'s defaults; client addresses from the peer only.
    #[must_use]
    pub fn new(manager: AuthManager<B, S>, transport: T) -> Self {
        Self {
            gate: AuthGate::new(manager, transport),
        }
    }

    /// The same layer over a configured [`AuthGate`] (shared with another adapter).
    #[must_use]
    pub fn from_gate(gate: AuthGate<B, S, T>) -> Self {
        Self { gate }
    }

    /// Replaces the CSRF guard (trusted origins, same-site policy).
    #[must_use]
    pub fn csrf(self, csrf: CsrfGuard) -> Self {
        Self {
            gate: self.gate.csrf(csrf),
        }
    }

    /// Where client addresses (for sessions and audit events) come from.
    #[must_use]
    pub fn client_ip(self, client_ip: ClientIpSource) -> Self {
        Self {
            gate: self.gate.client_ip(client_ip),
        }
    }
}

impl<B, S, T> AuthLayer<B, S, T> {
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

    pub(crate) fn gate(&self) -> Arc<AuthGate<B, S, T>> {
        Arc::new(self.gate.clone())
    }
}

impl<B, S, T> Clone for AuthLayer<B, S, T> {
    fn clone(&self) -> Self {
        Self {
            gate: self.gate.clone(),
        }
    }
}

impl<B, S, T: fmt::Debug> fmt::Debug for AuthLayer<B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("gate", &self.gate)
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
        AuthService::from_gate(inner, self.gate())
    }
}
