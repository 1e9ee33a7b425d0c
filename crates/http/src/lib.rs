//! Portcullis over HTTP, without a framework: the pieces every adapter shares, so that
//! `portcullis-tower` (and through it `portcullis-axum`) and `portcullis-actix` behave
//! alike and none of them copies another's logic.
//!
//! - [`AuthGate`]: the auth middleware's decisions (read the token, validate it, CSRF rules
//!   for unsafe requests, refresh or clear the cookie, refuse with `503` when storage is
//!   down);
//! - [`AuthApi`]: the `/auth` JSON API (register, login, sessions, verification, reset...),
//!   one [`handle`](AuthApi::handle) call per request;
//! - [`AuthContext`], [`ClientIpSource`], [`client_info_from`]: what a request carries into
//!   handlers;
//! - [`error_response`] / [`error_body`]: the `{"detail", "code"}` error shape;
//! - the request and response bodies of the API ([`LoginRequest`], [`UserBody`], ...).
//!
//! Use this crate directly when writing an adapter for a framework Portcullis does not
//! cover yet: `docs/writing-an-adapter.md` walks through the actix-web adapter built on it.
//! Everything here speaks the `http` crate's types (version 1); an adapter converts at its
//! edge.
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | (none) | | everything is always built |

pub mod api;
mod body;
mod context;
mod error;
pub mod gate;
mod json;

#[doc(inline)]
pub use api::{ApiConfig, ApiRequest, AuthApi};
#[doc(inline)]
pub use body::{
    ChangeEmailRequest, ChangePasswordRequest, DetailBody, EventBody, ForgotRequest, LoginRequest,
    NewSessionBody, RegisterRequest, ResetRequest, SessionBody, SignedInBody, TokenRequest,
    UpdateMeRequest, UserBody,
};
#[doc(inline)]
pub use context::{
    AuthContext, AuthLayerInstalled, ClientAddr, ClientIpSource, client_info, client_info_from,
    client_info_from_parts,
};
#[doc(inline)]
pub use error::{error_body, error_response, json_response};
#[doc(inline)]
pub use gate::{
    Admission, AuthGate, Finish, MAX_FORM_BYTES, Pass, PendingForm, form_field, is_unsafe,
    is_urlencoded_form, percent_decode,
};
#[doc(inline)]
pub use json::parse_json;
