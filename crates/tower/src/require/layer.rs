//! [`RequireAuthLayer`]: configuration of the require-auth middleware.

use std::sync::Arc;

use tower::Layer;

use super::service::RequireAuth;

/// Applies [`RequireAuth`]: only requests with an [`AuthContext`](crate::AuthContext), or to
/// a public path, reach the inner service. See the [module docs](crate::require).
#[derive(Debug, Clone)]
pub struct RequireAuthLayer {
    pub(crate) config: Arc<Config>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) login_path: String,
    pub(crate) public_paths: Vec<String>,
    pub(crate) public_prefixes: Vec<String>,
}

impl Default for RequireAuthLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequireAuthLayer {
    /// Everything but the login page (`/login`) needs a session.
    #[must_use]
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                login_path: "/login".to_owned(),
                public_paths: Vec::new(),
                public_prefixes: Vec::new(),
            }),
        }
    }

    /// The login page browsers are sent to (default `/login`); it is always public.
    #[must_use]
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config).login_path = path.into();
        self
    }

    /// Lets every path starting with `prefix` (such as `/static/` or `/auth/`) through
    /// without a session. Prefixes match as written: `/static/` does not match `/static-x`,
    /// `/static` does.
    #[must_use]
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config)
            .public_prefixes
            .push(prefix.into());
        self
    }

    /// Lets exactly `path` (such as `/` or `/signup`) through without a session.
    #[must_use]
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config)
            .public_paths
            .push(path.into());
        self
    }
}

impl<S> Layer<S> for RequireAuthLayer {
    type Service = RequireAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireAuth {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}
