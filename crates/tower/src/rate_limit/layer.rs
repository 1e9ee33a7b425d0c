//! [`RateLimitLayer`]: configuration and shared state of the rate limiter.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use http::Method;
use tower::Layer;

use super::bucket::{Buckets, Quota};
use super::service::RateLimit;
use portcullis_http::ClientIpSource;

/// Default burst: 10 attempts at once.
const DEFAULT_BURST: u32 = 10;
/// Default refill: one attempt every 6 seconds (10 per minute).
const DEFAULT_REFILL: Duration = Duration::from_secs(6);
/// Default most clients tracked at once.
const DEFAULT_MAX_CLIENTS: usize = 10_000;

/// Applies [`RateLimit`] to a service. See the [module docs](crate::rate_limit).
///
/// Clones share one table of buckets, so apply the same layer (or clones of it) wherever
/// the limit must be common.
///
/// **Default quota: a burst of 10, then 10 per minute per client address.** A person who
/// mistypes a password a few times, or a household behind one NAT address signing in
/// together, never sees it; a single address trying credentials against many accounts is
/// held to 14,400 attempts a day instead of thousands a second, and cannot make the server
/// hash more than one password every 6 seconds on its behalf. Per-account lockout (in the
/// manager) covers attacks spread over many addresses.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    pub(crate) config: Arc<Config>,
    pub(crate) buckets: Arc<Buckets>,
    pub(crate) warned_unknown_ip: Arc<AtomicBool>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) enabled: bool,
    pub(crate) routes: Vec<(Method, String)>,
    pub(crate) quota: Quota,
    pub(crate) client_ip: ClientIpSource,
    pub(crate) max_clients: usize,
}

impl Default for RateLimitLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimitLayer {
    /// Limits `POST /auth/login`, `POST /auth/register` and `POST /auth/password/forgot`
    /// (the HTTP API's credential endpoints) with the default quota. Add the application's
    /// own HTML form routes with [`route`](Self::route).
    #[must_use]
    pub fn new() -> Self {
        let routes = ["/auth/login", "/auth/register", "/auth/password/forgot"]
            .into_iter()
            .map(|path| (Method::POST, path.to_owned()))
            .collect();
        Self::with_config(Config {
            enabled: true,
            routes,
            quota: Quota {
                burst: DEFAULT_BURST,
                refill_every: DEFAULT_REFILL,
            },
            client_ip: ClientIpSource::default(),
            max_clients: DEFAULT_MAX_CLIENTS,
        })
    }

    /// A layer that limits nothing (for tests and development).
    #[must_use]
    pub fn disabled() -> Self {
        Self::new().enabled(false)
    }

    fn with_config(config: Config) -> Self {
        Self {
            buckets: Arc::new(Buckets::new(config.max_clients)),
            config: Arc::new(config),
            warned_unknown_ip: Arc::new(AtomicBool::new(false)),
        }
    }

    fn update(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let capacity = self.config.max_clients;
        change(Arc::make_mut(&mut self.config));
        if self.config.max_clients != capacity {
            self.buckets = Arc::new(Buckets::new(self.config.max_clients));
        }
        self
    }

    /// Switches limiting on or off.
    #[must_use]
    pub fn enabled(self, enabled: bool) -> Self {
        self.update(|config| config.enabled = enabled)
    }

    /// Also limits `method` requests to exactly `path` (a trailing `/` is ignored).
    #[must_use]
    pub fn route(self, method: Method, path: impl Into<String>) -> Self {
        let path = path.into();
        self.update(|config| config.routes.push((method, path)))
    }

    /// Forgets every route, including the defaults (then add your own with
    /// [`route`](Self::route)).
    #[must_use]
    pub fn clear_routes(self) -> Self {
        self.update(|config| config.routes.clear())
    }

    /// Each client may make `burst` requests at once, then one every `refill_every`.
    /// A zero `burst` is taken as 1.
    #[must_use]
    pub fn quota(self, burst: u32, refill_every: Duration) -> Self {
        self.update(|config| {
            config.quota = Quota {
                burst: burst.max(1),
                refill_every,
            };
        })
    }

    /// Most client addresses tracked at once (default 10,000); see the
    /// [module docs](crate::rate_limit) for what happens when the table is full.
    #[must_use]
    pub fn max_clients(self, max_clients: usize) -> Self {
        self.update(|config| config.max_clients = max_clients.max(1))
    }

    /// Where the client address comes from (behind a trusted proxy, its header).
    #[must_use]
    pub fn client_ip(self, client_ip: ClientIpSource) -> Self {
        self.update(|config| config.client_ip = client_ip)
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            layer: self.clone(),
        }
    }
}
