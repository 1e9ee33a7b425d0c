//! Portcullis for axum: extractors, JSON errors, and the ready-made `/auth` HTTP API.
//!
//! - [`router`]: register, login, logout, profile, sessions, email verification, password
//!   reset and change, email change, audit events (`docs/http-api.md` lists every route). It
//!   mirrors aura-auth's API, so clients written for it work unchanged.
//! - Extractors for your own handlers: [`CurrentUser`] (401 without a session),
//!   [`MaybeUser`], [`VerifiedUser`] (403 `email_not_verified`), [`CurrentSession`], [`Auth`]
//!   (the whole context, with the CSRF form token), [`RequireRole`] (403 below a role).
//! - [`ApiError`]: any `AuthError` as `{"detail", "code"}` with its status.
//!
//! Authentication itself (reading the token, validating the session, CSRF checks, refreshing
//! the cookie) is done by `portcullis_tower::AuthLayer`, which works for any tower service.
//!
//! Use this crate when you build on axum and pick the other layers (backend, password
//! strategy) yourself; the `portcullis` facade re-exports it under its default `axum`
//! feature for a one-line dependency.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use portcullis_axum::{CurrentUser, RouterConfig, router};
//! use portcullis_manager::AuthManager;
//! use portcullis_password::{MultiHasher, PasswordStrategy};
//! use portcullis_testkit::MemoryBackend;
//! use portcullis_tower::AuthLayer;
//! use portcullis_transport::BearerTransport;
//!
//! async fn protected(CurrentUser(user): CurrentUser) -> String {
//!     format!("hello, {}", user.name)
//! }
//!
//! # fn main() -> Result<(), portcullis_core::AuthError> {
//! let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
//!     .build()?;
//! let transport = BearerTransport::new();
//! let app: Router = Router::new()
//!     .route("/protected", get(protected))
//!     .layer(AuthLayer::new(manager.clone(), transport))
//!     .merge(router(manager, transport, RouterConfig::default())); // POST /auth/login, ...
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! None.

mod error;
mod extract;
mod json;
mod router;

#[doc(inline)]
pub use error::ApiError;
#[doc(inline)]
pub use extract::{
    Auth, CurrentSession, CurrentUser, MaybeAuth, MaybeUser, RequireRole, Role, VerifiedUser,
    has_min_role,
};
#[doc(inline)]
pub use json::ApiJson;
#[doc(inline)]
pub use portcullis_http::{
    ChangeEmailRequest, ChangePasswordRequest, DetailBody, EventBody, ForgotRequest, LoginRequest,
    NewSessionBody, RegisterRequest, ResetRequest, SessionBody, SignedInBody, TokenRequest,
    UpdateMeRequest, UserBody,
};
#[doc(inline)]
pub use router::{RouterConfig, router};
