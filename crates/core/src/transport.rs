//! The transport contract: how a session token travels over HTTP.

use std::time::Duration;

use http::HeaderMap;

use crate::token::Token;

/// Where a token was found; cookie-borne tokens need CSRF checks, bearer tokens do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A session cookie.
    Cookie,
}

/// Reads the session token from a request and writes it to a response.
///
/// Malformed input (an empty bearer, duplicate headers, non-UTF-8 cookies, a token of the
/// wrong shape) is "no credentials" (`None`), never a panic. Tokens are never read from or
/// written to URLs.
pub trait Transport: Send + Sync + 'static {
    /// The token carried by a request, if it carries a well-formed one.
    fn read_token(&self, headers: &HeaderMap) -> Option<(Token, TokenSource)>;

    /// Adds what the client needs to keep `token` for `max_age` (a `Set-Cookie`). Bearer
    /// transports write nothing: the client reads the token from the response body.
    fn write_token(&self, headers: &mut HeaderMap, token: &Token, max_age: Duration);

    /// Adds what makes the client forget its token (an expired `Set-Cookie`).
    fn clear_token(&self, headers: &mut HeaderMap);
}
