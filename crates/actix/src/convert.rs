//! The adapter's edge: actix-web 4 speaks `http` 0.2 (and its own `HeaderMap`), Portcullis
//! speaks `http` 1. Names, values and statuses are the same bytes on both sides; a value one
//! side would refuse is skipped rather than guessed at.

use std::net::SocketAddr;

use actix_web::HttpResponse;
use actix_web::http::header::{
    HeaderMap as ActixHeaders, HeaderName as ActixName, HeaderValue as ActixValue,
};
use actix_web::http::{Method as ActixMethod, StatusCode as ActixStatus};
use portcullis_core::http::{
    Extensions, HeaderMap, HeaderName, HeaderValue, Method, Response, header,
};
use portcullis_http::ClientAddr;

/// The request method in `http` 1 terms. Both crates accept the same method tokens, so this
/// cannot fail in practice; if it ever did, the method is treated as `POST`, which is unsafe
/// and so gets the full CSRF check.
pub(crate) fn method(method: &ActixMethod) -> Method {
    Method::from_bytes(method.as_str().as_bytes()).unwrap_or(Method::POST)
}

/// All of a request's or response's headers, in `http` 1 terms.
pub(crate) fn headers(actix: &ActixHeaders) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(actix.len());
    for (name, value) in actix.iter() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

/// `http` 1 extensions holding the connection's peer address, where
/// [`ClientIpSource`](portcullis_http::ClientIpSource) looks for it.
pub(crate) fn peer(addr: Option<SocketAddr>) -> Extensions {
    let mut extensions = Extensions::new();
    if let Some(addr) = addr {
        extensions.insert(ClientAddr(addr));
    }
    extensions
}

fn actix_header(name: &HeaderName, value: &HeaderValue) -> Option<(ActixName, ActixValue)> {
    let actix_name = ActixName::from_bytes(name.as_str().as_bytes()).ok()?;
    let mut actix_value = ActixValue::from_bytes(value.as_bytes()).ok()?;
    // Keep cookies out of `Debug` output (logs), as the tower adapter does.
    actix_value.set_sensitive(value.is_sensitive() || name == header::SET_COOKIE);
    Some((actix_name, actix_value))
}

/// A complete Portcullis response (a refusal, an API answer) as an actix response.
pub(crate) fn response(response: Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status =
        ActixStatus::from_u16(parts.status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut actix = HttpResponse::with_body(status, body);
    let actix_headers = actix.headers_mut();
    for (name, value) in &parts.headers {
        if let Some((name, value)) = actix_header(name, value) {
            actix_headers.append(name, value);
        }
    }
    actix.map_into_boxed_body()
}

/// Writes back into `actix` every header whose values differ between `before` (what the
/// response had) and `after` (what Portcullis made of it).
pub(crate) fn write_back(actix: &mut ActixHeaders, before: &HeaderMap, after: &HeaderMap) {
    for name in before.keys() {
        if !after.contains_key(name)
            && let Ok(name) = ActixName::from_bytes(name.as_str().as_bytes())
        {
            actix.remove(name);
        }
    }
    for name in after.keys() {
        if before.get_all(name) == after.get_all(name) {
            continue;
        }
        if let Ok(actix_name) = ActixName::from_bytes(name.as_str().as_bytes()) {
            actix.remove(actix_name);
        }
        for value in after.get_all(name) {
            if let Some((name, value)) = actix_header(name, value) {
                actix.append(name, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn headers_cross_the_edge_both_ways() {
        let mut actix = ActixHeaders::new();
        actix.append(
            ActixName::from_static("set-cookie"),
            ActixValue::from_static("a=1"),
        );
        actix.append(
            ActixName::from_static("set-cookie"),
            ActixValue::from_static("b=2"),
        );
        actix.insert(
            ActixName::from_static("x-other"),
            ActixValue::from_static("kept"),
        );
        let before = headers(&actix);
        assert_eq!(before.get_all(header::SET_COOKIE).iter().count(), 2);

        let mut after = before.clone();
        after.append(header::SET_COOKIE, HeaderValue::from_static("c=3"));
        after.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        write_back(&mut actix, &before, &after);
        let cookies: Vec<_> = actix.get_all("set-cookie").map(|v| v.as_bytes()).collect();
        assert_eq!(cookies, [&b"a=1"[..], b"b=2", b"c=3"]);
        assert!(actix.get("set-cookie").unwrap().is_sensitive());
        assert_eq!(actix.get("cache-control").unwrap(), "no-store");
        assert_eq!(actix.get("x-other").unwrap(), "kept");
    }

    #[test]
    fn methods_and_statuses_keep_their_meaning() {
        assert_eq!(method(&ActixMethod::PATCH), Method::PATCH);
        assert_eq!(
            method(&ActixMethod::from_bytes(b"PURGE").unwrap()).as_str(),
            "PURGE"
        );
        let mut refusal = Response::new("{}".to_owned());
        *refusal.status_mut() = portcullis_core::http::StatusCode::SERVICE_UNAVAILABLE;
        refusal
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        let actix = response(refusal);
        assert_eq!(actix.status(), ActixStatus::SERVICE_UNAVAILABLE);
        assert_eq!(actix.headers().get("retry-after").unwrap(), "2");
    }
}
