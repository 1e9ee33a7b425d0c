//! What the auth layer tells the application about a request: [`AuthContext`] for an
//! authenticated one, [`ClientInfo`] (address and user agent) for every one.
//!
//! ```
//! use std::net::SocketAddr;
//! use portcullis_http::{ClientAddr, ClientIpSource, client_info};
//! use portcullis_core::http::Request;
//!
//! let mut request = Request::builder()
//!     .header("user-agent", "curl/8.5")
//!     .header("x-forwarded-for", "203.0.113.9")
//!     .body(())?;
//! // The server (or axum's `ConnectInfo`) inserts the peer address.
//! request.extensions_mut().insert(ClientAddr("198.51.100.7:50000".parse::<SocketAddr>()?));
//!
//! // By default forwarding headers are ignored: anyone can send them.
//! let direct = client_info(&request, &ClientIpSource::default());
//! assert_eq!(direct.ip_address.as_deref(), Some("198.51.100.7"));
//! // Behind a trusted proxy, its header is believed.
//! let proxied = client_info(&request, &ClientIpSource::trusted_header("x-forwarded-for"));
//! assert_eq!(proxied.ip_address.as_deref(), Some("203.0.113.9"));
//! assert_eq!(proxied.user_agent.as_deref(), Some("curl/8.5"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::{IpAddr, SocketAddr};

use http::request::Parts;
use http::{Extensions, HeaderMap, HeaderName, Request, header};
use portcullis_core::{ClientInfo, Session, Token, TokenSource, User};
use portcullis_transport::CsrfGuard;

/// Longest `User-Agent` kept, in bytes (the manager clips to the same length).
const MAX_USER_AGENT_LEN: usize = 512;
/// Longest forwarding header looked at; longer ones are junk or an attack.
const MAX_FORWARDED_LEN: usize = 4096;

/// The authenticated session of a request, inserted into its extensions by the adapter's
/// auth middleware (`portcullis_tower::AuthLayer`, `portcullis_actix::AuthMiddleware`) from
/// what the [`AuthGate`](crate::AuthGate) decided.
///
/// Absent means "not authenticated" (no token, an unknown or expired one, or a malformed
/// header). Handlers read it with `request.extensions().get::<AuthContext>()`; the axum
/// adapter wraps that in extractors.
#[derive(Clone, Debug)]
pub struct AuthContext {
    /// The signed-in user.
    pub user: User,
    /// The session, with its expiry as extended by this request.
    pub session: Session,
    /// Where the token came from (a cookie needs CSRF care, a bearer header does not).
    pub source: TokenSource,
    token: Token,
}

impl AuthContext {
    /// Bundles what the layer learned about an authenticated request.
    #[must_use]
    pub fn new(user: User, session: Session, source: TokenSource, token: Token) -> Self {
        Self {
            user,
            session,
            source,
            token,
        }
    }

    /// The CSRF form token for this session ([`CsrfGuard::token_for`]): put it in a hidden
    /// `csrf_token` form field or send it as `X-CSRF-Token`. Safe to embed in pages; it is
    /// not the session token.
    #[must_use]
    pub fn csrf_token(&self) -> String {
        CsrfGuard::token_for(&self.token)
    }

    /// The session token, for adapters that must act on it (logout). Never log it; it prints
    /// as `[redacted]`.
    #[must_use]
    pub fn token(&self) -> &Token {
        &self.token
    }
}

/// The peer address of a connection, inserted into request extensions by the server.
///
/// [`ClientIpSource`] also accepts a bare [`SocketAddr`] extension. Plain hyper servers
/// insert it themselves (`request.extensions_mut().insert(ClientAddr(peer))` in the
/// per-connection service); axum users get the address from `ConnectInfo<SocketAddr>` (serve
/// with `into_make_service_with_connect_info::<SocketAddr>()`) and insert a `ClientAddr` with
/// a `map_request` middleware placed before the auth layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

/// A marker the auth middleware puts in the extensions of every request it sees,
/// signed in or not, so extractors can tell "not signed in" (401) from "the layer is not
/// installed around this route" (a programming error, reported as such).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthLayerInstalled;

/// Where the client's IP address comes from.
///
/// The default trusts only the connection's peer address ([`ClientAddr`] or a
/// [`SocketAddr`] in the request extensions). Forwarding headers are ignored unless
/// configured with [`ClientIpSource::trusted_header`]: any client can send
/// `X-Forwarded-For`, so believing it without a proxy that sets it lets attackers pick their
/// own address (and escape per-IP rate limits).
#[derive(Clone, Debug, Default)]
pub struct ClientIpSource {
    header: Option<HeaderName>,
    hops: usize,
}

impl ClientIpSource {
    /// Only the connection's peer address (the default).
    #[must_use]
    pub fn peer() -> Self {
        Self::default()
    }

    /// Behind a trusted reverse proxy: take the client address from `header` (for example
    /// `x-forwarded-for` or `x-real-ip`), falling back to the peer address when the header is
    /// absent or unusable.
    ///
    /// The address used is the **rightmost** entry of the (comma-separated) header: the one
    /// the nearest proxy appended from what it saw on the wire. Entries to its left were sent
    /// by the client and can be anything, so taking the leftmost would let a client choose its
    /// own address. Behind a chain of proxies that each append, set
    /// [`proxies`](Self::proxies) to their number.
    ///
    /// An invalid header name is treated as absent: the peer address is used.
    #[must_use]
    pub fn trusted_header(header: &str) -> Self {
        Self {
            header: HeaderName::from_bytes(header.trim().as_bytes()).ok(),
            hops: 1,
        }
    }

    /// How many trusted proxies append to the header (default 1): the client address is that
    /// many entries from the right.
    #[must_use]
    pub fn proxies(mut self, count: usize) -> Self {
        self.hops = count.max(1);
        self
    }

    /// The client address of a request with these headers and extensions, if known.
    #[must_use]
    pub fn client_ip(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        if let Some(name) = &self.header
            && let Some(ip) = forwarded_ip(headers, name, self.hops)
        {
            return Some(ip);
        }
        peer_ip(extensions)
    }
}

fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ClientAddr>()
        .map(|addr| addr.0.ip())
        .or_else(|| extensions.get::<SocketAddr>().map(SocketAddr::ip))
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) become plain IPv4, so one client has one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn forwarded_ip(headers: &HeaderMap, name: &HeaderName, hops: usize) -> Option<IpAddr> {
    // Several header lines are one list, in order (RFC 9110 §5.3).
    let mut entries: Vec<&str> = Vec::new();
    let mut total = 0;
    for value in headers.get_all(name) {
        total += value.len();
        if total > MAX_FORWARDED_LEN {
            return None;
        }
        let value = value.to_str().ok()?;
        entries.extend(value.split(','));
    }
    let index = entries.len().checked_sub(hops)?;
    parse_ip(entries.get(index)?.trim()).map(canonical)
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
}

/// The [`ClientInfo`] (IP address and user agent) of a request, for the manager's sessions
/// and audit events.
#[must_use]
pub fn client_info<B>(request: &Request<B>, ip: &ClientIpSource) -> ClientInfo {
    client_info_from(request.headers(), request.extensions(), ip)
}

/// [`client_info`] for a request already split into parts (extractors see only these).
#[must_use]
pub fn client_info_from_parts(parts: &Parts, ip: &ClientIpSource) -> ClientInfo {
    client_info_from(&parts.headers, &parts.extensions, ip)
}

/// [`client_info`] from the headers and extensions of a request, for adapters that hold
/// them apart (or build the extensions themselves, holding a [`ClientAddr`]).
#[must_use]
pub fn client_info_from(
    headers: &HeaderMap,
    extensions: &Extensions,
    ip: &ClientIpSource,
) -> ClientInfo {
    let user_agent = headers.get(header::USER_AGENT).map(|value| {
        let bytes = value.as_bytes();
        let clipped = &bytes[..bytes.len().min(MAX_USER_AGENT_LEN)];
        // A cut inside a multi-byte character becomes U+FFFD, like any other invalid byte.
        String::from_utf8_lossy(clipped).into_owned()
    });
    ClientInfo {
        ip_address: ip
            .client_ip(headers, extensions)
            .map(|addr| addr.to_string()),
        user_agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request(forwarded: &[&str]) -> Request<()> {
        let mut request = Request::new(());
        for value in forwarded {
            request
                .headers_mut()
                .append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        request
            .extensions_mut()
            .insert(ClientAddr("10.0.0.1:4000".parse().unwrap()));
        request
    }

    fn ip(request: &Request<()>, source: &ClientIpSource) -> Option<String> {
        client_info(request, source).ip_address
    }

    #[test]
    fn forwarding_headers_are_ignored_unless_trusted() {
        let req = request(&["203.0.113.9"]);
        assert_eq!(
            ip(&req, &ClientIpSource::default()).as_deref(),
            Some("10.0.0.1")
        );
        let trusted = ClientIpSource::trusted_header("X-Forwarded-For");
        assert_eq!(ip(&req, &trusted).as_deref(), Some("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_entry_is_the_one_the_proxy_saw() {
        let trusted = ClientIpSource::trusted_header("x-forwarded-for");
        // The client sent "1.1.1.1"; the proxy appended the real address.
        let req = request(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(ip(&req, &trusted).as_deref(), Some("203.0.113.9"));
        let req = request(&["1.1.1.1", "203.0.113.9"]);
        assert_eq!(ip(&req, &trusted).as_deref(), Some("203.0.113.9"));
        // Two appending proxies.
        let req = request(&["1.1.1.1, 203.0.113.9, 10.0.0.2"]);
        assert_eq!(
            ip(&req, &trusted.clone().proxies(2)).as_deref(),
            Some("203.0.113.9")
        );
        // Ports and brackets are accepted; junk falls back to the peer.
        for (value, expected) in [
            ("203.0.113.9:1234", "203.0.113.9"),
            ("[2001:db8::1]:80", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("unknown", "10.0.0.1"),
            ("", "10.0.0.1"),
        ] {
            assert_eq!(
                ip(&request(&[value]), &trusted).as_deref(),
                Some(expected),
                "{value}"
            );
        }
        let huge = "1.1.1.1,".repeat(1000);
        assert_eq!(
            ip(&request(&[&huge]), &trusted).as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn socket_addr_extension_and_user_agent() {
        let mut req = Request::new(());
        assert_eq!(client_info(&req, &ClientIpSource::peer()).ip_address, None);
        req.extensions_mut()
            .insert("[::1]:80".parse::<SocketAddr>().unwrap());
        req.headers_mut().insert(
            header::USER_AGENT,
            HeaderValue::from_bytes(&[b'a'; 2000]).unwrap(),
        );
        let info = client_info(&req, &ClientIpSource::peer());
        assert_eq!(info.ip_address.as_deref(), Some("::1"));
        assert_eq!(info.user_agent.map(|ua| ua.len()), Some(512));
        let (parts, ()) = req.into_parts();
        assert_eq!(
            client_info_from_parts(&parts, &ClientIpSource::peer())
                .ip_address
                .as_deref(),
            Some("::1")
        );
    }
}
