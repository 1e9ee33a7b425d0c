//! Portcullis for any [tower](https://docs.rs/tower) stack: [`AuthLayer`] reads the session
//! token from each request (bearer header or cookie), validates it with the
//! [`AuthManager`](portcullis_manager::AuthManager), and puts an [`AuthContext`] (user,
//! session, token source) into the request extensions; it also checks cookie-authenticated
//! unsafe requests for cross-site forgery, re-sends sliding session cookies, and refuses
//! with `503` when storage is down. [`RequireAuthLayer`] turns away requests without a
//! session (`401` JSON for APIs, a `303` to the login page for browsers, `HX-Redirect` for
//! HTMX), and [`RateLimitLayer`] limits credential endpoints per client address. No web
//! framework is involved: it works with plain hyper, and the axum adapter builds on it.
//!
//! Use this crate alone when your stack is tower without axum (plain hyper, tonic, another
//! tower-based framework); on axum, `portcullis-axum` adds extractors and the `/auth` router
//! on top of it.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use portcullis_core::http::{Request, Response, StatusCode};
//! use portcullis_manager::{AuthManager, Registered, Registration};
//! use portcullis_password::{MultiHasher, PasswordStrategy};
//! use portcullis_testkit::MemoryBackend;
//! use portcullis_tower::{AuthContext, AuthLayer, RequireAuthLayer};
//! use portcullis_transport::BearerTransport;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
//!     .build()?;
//! # let client = portcullis_core::ClientInfo::default();
//! # let Registered::SignedIn(ada) = manager
//! #     .register(Registration::new("Ada", "ada@example.com", "analytical engine"), &client)
//! #     .await? else { unreachable!() };
//!
//! let app = ServiceBuilder::new()
//!     .layer(AuthLayer::new(manager.clone(), BearerTransport::new()))
//!     .layer(RequireAuthLayer::new())
//!     .service_fn(|request: Request<Full<Bytes>>| async move {
//!         // RequireAuth let the request through, so AuthLayer authenticated it.
//!         let name = request.extensions().get::<AuthContext>().map(|auth| auth.user.name.clone());
//!         Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(format!("hello {}", name.unwrap_or_default()))))
//!     });
//!
//! let anonymous = Request::get("/").body(Full::default())?;
//! let response = app.clone().oneshot(anonymous).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//!
//! let signed_in = Request::get("/")
//!     .header("authorization", format!("Bearer {}", ada.token.expose()))
//!     .body(Full::default())?;
//! let response = app.oneshot(signed_in).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! # Body types
//!
//! The layers are generic over request and response bodies. Responses they make themselves
//! (JSON refusals, redirects) need `ResBody: From<String>` (axum's `Body`,
//! `http_body_util::Full<Bytes>`, `String`). [`AuthLayer`] may read a urlencoded form body
//! to find its `csrf_token` field, so it also needs `ReqBody: From<Bytes>`: axum's `Body`
//! and `Full<Bytes>` qualify; with plain hyper, wrap `Incoming` in [`RequestBody`] (see the
//! `tests/hyper_server.rs` test of this crate).
//!
//! # Client address
//!
//! [`ClientIpSource`] decides where the client IP comes from: by default the peer address,
//! which the server inserts into request extensions as a [`ClientAddr`] (or a bare
//! `SocketAddr`); behind a trusted reverse proxy, the header it sets. Forwarding headers are
//! never believed unless configured.
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | (none) | | everything is always built |

mod api;
pub mod auth;
mod body;
mod future;
pub mod rate_limit;
mod redirect;
pub mod require;

#[doc(inline)]
pub use api::{ApiService, api_service, nested_api_service};
#[doc(inline)]
pub use auth::{AuthLayer, AuthService};
#[doc(inline)]
pub use body::RequestBody;
#[doc(inline)]
pub use future::RefusableFuture;
#[doc(inline)]
pub use portcullis_http::{
    AuthContext, AuthLayerInstalled, ClientAddr, ClientIpSource, client_info,
    client_info_from_parts, error_body, error_response,
};
#[doc(inline)]
pub use rate_limit::{RateLimit, RateLimitLayer};
#[doc(inline)]
pub use redirect::{MAX_NEXT_LEN, safe_next};
#[doc(inline)]
pub use require::{RequireAuth, RequireAuthLayer};
