//! Portcullis for actix-web 4: the auth middleware, extractors, JSON errors, and the
//! ready-made `/auth` HTTP API.
//!
//! - [`AuthMiddleware`]: reads the session token through a
//!   [`Transport`](portcullis_core::Transport), validates it with the
//!   [`AuthManager`](portcullis_manager::AuthManager), applies the CSRF rules to
//!   cookie-authenticated unsafe requests, refreshes sliding cookies, and answers `503` when
//!   storage is down.
//! - Extractors for your handlers: [`CurrentUser`] (`401` without a session), [`MaybeUser`],
//!   [`Auth`] (the whole [`AuthContext`], with the CSRF form token).
//! - [`api_scope`]: register, login, logout, profile, sessions, email verification, password
//!   reset and change, email change, audit events (`docs/http-api.md` lists every route).
//! - [`ApiError`]: any `AuthError` as `{"detail", "code"}` with its status.
//!
//! Every decision is made by `portcullis-http` ([`AuthGate`](portcullis_http::AuthGate),
//! [`AuthApi`](portcullis_http::AuthApi)), which the tower and axum adapters share: this
//! crate only translates between actix-web's types (`http` 0.2) and Portcullis' (`http` 1),
//! so the three behave alike and run the same route table in their tests.
//!
//! # Example
//!
//! ```
//! use actix_web::{App, test, web};
//! use portcullis_actix::{ApiConfig, AuthMiddleware, CurrentUser, api_scope};
//! use portcullis_manager::AuthManager;
//! use portcullis_password::{MultiHasher, PasswordStrategy};
//! use portcullis_testkit::MemoryBackend;
//! use portcullis_transport::BearerTransport;
//!
//! async fn protected(CurrentUser(user): CurrentUser) -> String {
//!     format!("hello, {}", user.name)
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
//!     .build()?;
//! let transport = BearerTransport::new();
//! let app = App::new()
//!     .wrap(AuthMiddleware::new(manager.clone(), transport))
//!     .route("/protected", web::get().to(protected))
//!     .service(api_scope(manager, transport, ApiConfig::default())); // POST /auth/login, ...
//! // In a server: HttpServer::new(move || App::new()...).bind(("127.0.0.1", 8080))?.run().await
//! let app = test::init_service(app).await;
//! let response = test::call_service(&app, test::TestRequest::get().uri("/protected").to_request()).await;
//! assert_eq!(response.status(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! None. actix-web is used without its default features (no compression, cookies, HTTP/2
//! or TLS in this crate's dependency tree); enable those on your own `actix-web` dependency.

mod api;
mod body;
mod convert;
mod error;
mod extract;
mod middleware;

#[doc(inline)]
pub use api::api_scope;
#[doc(inline)]
pub use error::ApiError;
#[doc(inline)]
pub use extract::{Auth, CurrentUser, MaybeUser};
#[doc(inline)]
pub use middleware::{AuthMiddleware, AuthMiddlewareService};
#[doc(inline)]
pub use portcullis_http::{ApiConfig, AuthContext, ClientIpSource};
