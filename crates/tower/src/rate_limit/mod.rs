//! [`RateLimitLayer`]: per-client-IP rate limiting of credential endpoints (login,
//! registration, forgot-password).
//!
//! The manager already locks *accounts* after repeated failures; this limits how fast one
//! address can try credentials against *many* accounts (credential stuffing) and how fast it
//! can make the server hash passwords or send mail. Each client IP has a token bucket; a
//! request over the limit gets `429` with the JSON error `rate_limited` and `Retry-After`.
//!
//! ```
//! use std::time::Duration;
//! use portcullis_core::http::Method;
//! use portcullis_tower::{ClientIpSource, RateLimitLayer};
//!
//! let limit = RateLimitLayer::new()                       // POST /auth/login, /auth/register, /auth/password/forgot
//!     .route(Method::POST, "/login")                      // the app's HTML form
//!     .quota(5, Duration::from_secs(12))                  // burst 5, then one per 12 s
//!     .client_ip(ClientIpSource::trusted_header("x-forwarded-for"));
//! # let _ = limit;
//! let off = RateLimitLayer::disabled();                   // e.g. in tests
//! # let _ = off;
//! ```
//!
//! **Keys.** IPv4 addresses are limited one by one; IPv6 addresses by their `/64` prefix,
//! since one host usually controls a whole `/64` and could otherwise rotate through
//! addresses.
//!
//! **Unknown address.** A request whose client address cannot be determined (the server put
//! no [`ClientAddr`](crate::ClientAddr) or `SocketAddr` in the extensions) is **not limited**,
//! and the layer logs one warning: lumping every such request under one shared key would
//! let a single client lock everyone out of logging in. Per-account lockout still applies.
//!
//! **Memory.** At most [`max_clients`](RateLimitLayer::max_clients) buckets are kept (default
//! 10,000, under 1 MiB). When the table is full, buckets that have refilled completely (idle
//! clients, indistinguishable from new ones) are dropped first, then the least recently used.

mod bucket;
mod future;
mod layer;
mod service;

#[doc(inline)]
pub use future::ResponseFuture;
#[doc(inline)]
pub use layer::RateLimitLayer;
#[doc(inline)]
pub use service::RateLimit;
