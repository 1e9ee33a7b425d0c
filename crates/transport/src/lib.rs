//! Portcullis transports: how the session token travels over HTTP.
//!
//! - [`BearerTransport`]: `Authorization: Bearer <token>`, for API clients.
//! - [`CookieTransport`]: a `__Host-portcullis` cookie (`Secure`, `HttpOnly`, `SameSite=Lax`,
//!   `Path=/`, no `Domain`), for browsers; pair it with [`CsrfGuard`].
//! - [`CookieOrBearer`]: either, in a configured order, for apps that serve both.
//!
//! All of them implement core's [`Transport`](portcullis_core::Transport): malformed input is
//! "no credentials", never a panic, and tokens never travel in URLs.
//!
//! Use this crate alone when you write an adapter for a framework Portcullis does not cover:
//! read the token with `read_token`, validate it with the manager's `authenticate_token`,
//! write or clear the cookie with `write_token` / `clear_token`. On tower or axum,
//! `portcullis-tower`'s `AuthLayer` does all of that.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use portcullis_core::{Token, TokenSource, Transport, http::{HeaderMap, HeaderValue, Method, header}};
//! use portcullis_transport::{CookieOrBearer, CookieTransport, CsrfGuard};
//!
//! let transport = CookieOrBearer::new(CookieTransport::new());
//! let csrf = CsrfGuard::new();
//!
//! // Login: the response sets the cookie.
//! let token = Token::generate()?;
//! let mut response = HeaderMap::new();
//! transport.write_token(&mut response, &token, Duration::from_secs(7 * 24 * 3600));
//!
//! // Next request: the browser sends it back; an unsafe method needs CSRF evidence.
//! let mut request = HeaderMap::new();
//! let cookie = response[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
//! request.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
//! request.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
//! let (read, source) = transport.read_token(&request).expect("cookie present");
//! assert_eq!(source, TokenSource::Cookie);
//! assert!(csrf.check(&Method::POST, &request, Some(source), Some(&read), None).is_ok());
//! # Ok::<(), portcullis_core::AuthError>(())
//! ```
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `bearer` | yes | [`BearerTransport`] |
//! | `cookie` | yes | [`CookieTransport`], [`CsrfGuard`]; with `bearer`, [`CookieOrBearer`] |

#[cfg(feature = "bearer")]
mod bearer;
#[cfg(all(feature = "bearer", feature = "cookie"))]
mod combined;
#[cfg(feature = "cookie")]
mod cookie;
#[cfg(feature = "cookie")]
mod csrf;

#[cfg(feature = "bearer")]
#[doc(inline)]
pub use bearer::BearerTransport;
#[cfg(all(feature = "bearer", feature = "cookie"))]
#[doc(inline)]
pub use combined::CookieOrBearer;
#[cfg(feature = "cookie")]
#[doc(inline)]
pub use cookie::{
    CookieTransport, HOST_COOKIE_NAME, InvalidCookieName, PLAIN_COOKIE_NAME, SameSite,
};
#[cfg(feature = "cookie")]
#[doc(inline)]
pub use csrf::{CSRF_FORM_FIELD, CSRF_HEADER, CsrfGuard, CsrfRejection};
