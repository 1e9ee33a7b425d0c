//! [`RequireAuthLayer`]: refuses requests that [`AuthLayer`](crate::AuthLayer) did not
//! authenticate, in the way each kind of client understands.
//!
//! - API clients get `401` with the JSON error `not_authenticated`.
//! - Browser navigations (`Accept` includes `text/html`) get `303 See Other` to the login
//!   page, with `?next=` the page they asked for (percent-encoded, and only when
//!   [`safe_next`](crate::safe_next) accepts it).
//! - HTMX requests (`HX-Request: true`) get `401` with `HX-Redirect: <login URL>`, so HTMX
//!   navigates the whole page instead of swapping a login form into a fragment.
//!
//! Public paths (exact, or by prefix) pass without a session; the login page always does.
//! Place it *inside* (after) the `AuthLayer`:
//!
//! ```
//! # use portcullis_tower::{AuthLayer, RequireAuthLayer};
//! # fn layers<B, S, T>(auth: AuthLayer<B, S, T>) {
//! let stack = tower::ServiceBuilder::new()
//!     .layer(auth)
//!     .layer(
//!         RequireAuthLayer::new()
//!             .login_path("/signin")
//!             .public_prefix("/static/")
//!             .public_path("/")
//!             .public_path("/signup"),
//!     );
//! # let _ = stack;
//! # }
//! ```

mod future;
mod layer;
mod service;

#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::RequireAuthLayer;
#[doc(inline)]
pub use service::RequireAuth;
