//! [`AuthLayer`]: validates the session token of every request and tells the application who
//! is signed in.
//!
//! Per request:
//!
//! 1. The [`Transport`](portcullis_core::Transport) reads the token (bearer header or
//!    cookie). None, or a malformed one: the request goes on unauthenticated.
//! 2. [`AuthManager::authenticate_token`](portcullis_manager::AuthManager::authenticate_token)
//!    validates it. A valid session puts an [`AuthContext`](crate::AuthContext) into the
//!    request extensions; an unknown or expired one lets the request go on unauthenticated
//!    and clears the cookie; a storage failure answers `503` at once (fail closed: the
//!    request never reaches the application as if it were anonymous).
//! 3. Unsafe methods (POST, PUT, PATCH, DELETE) authenticated by a cookie must pass the
//!    [`CsrfGuard`](portcullis_transport::CsrfGuard): Fetch Metadata, `Origin`, or the
//!    session's form token in `X-CSRF-Token` or a `csrf_token` form field. Without a session,
//!    unsafe requests that a browser marks as cross-site are refused too (login CSRF), while
//!    API clients that send no browser headers at all pass.
//! 4. When the session's sliding expiry was extended, a cookie transport sends the cookie
//!    again with the new lifetime.
//!
//! Every request also gets a [`ClientInfo`](portcullis_core::ClientInfo) extension (address
//! and user agent, per the layer's [`ClientIpSource`](crate::ClientIpSource)) for login and
//! registration handlers.

mod future;
mod layer;
mod service;

#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::AuthLayer;
#[doc(inline)]
pub use service::AuthService;

#[doc(inline)]
pub use portcullis_http::MAX_FORM_BYTES;
