//! [`RequireAuth`]: the require-auth middleware itself.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use portcullis_core::AuthError;
use tower::Service;

use super::future::ResponseFuture;
use super::layer::{Config, RequireAuthLayer};
use crate::redirect::{encode_query_value, safe_next};
use portcullis_http::AuthContext;
use portcullis_http::error_response;

/// Refuses requests without an [`AuthContext`] (see [`RequireAuthLayer`] and the
/// [module docs](crate::require)). Response bodies must implement `From<String>`.
#[derive(Debug, Clone)]
pub struct RequireAuth<S> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config>,
}

impl<S> RequireAuth<S> {
    /// Wraps `inner` with the defaults of [`RequireAuthLayer::new`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            config: RequireAuthLayer::new().config,
        }
    }

    /// The layer, to configure and apply with `tower::ServiceBuilder`.
    #[must_use]
    pub fn layer() -> RequireAuthLayer {
        RequireAuthLayer::new()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if request.extensions().get::<AuthContext>().is_some() || self.config.is_public(path) {
            return ResponseFuture::inner(self.inner.call(request));
        }
        ResponseFuture::refused(self.config.refusal(&request))
    }
}

impl Config {
    fn is_public(&self, path: &str) -> bool {
        path == self.login_path
            || self.public_paths.iter().any(|public| public == path)
            || self
                .public_prefixes
                .iter()
                .any(|prefix| path.starts_with(prefix.as_str()))
    }

    fn refusal<ReqBody, ResBody: From<String>>(
        &self,
        request: &Request<ReqBody>,
    ) -> Response<ResBody> {
        let headers = request.headers();
        let mut response = error_response(&AuthError::NotAuthenticated);
        if is_htmx(headers) {
            // HTMX: the page the user is on, not the fragment endpoint, is where to come back to.
            let next = headers
                .get("hx-current-url")
                .and_then(|value| value.to_str().ok())
                .and_then(path_of_url);
            if let Ok(location) = HeaderValue::from_str(&self.login_url(next.as_deref())) {
                response.headers_mut().insert("hx-redirect", location);
            }
            return response;
        }
        if accepts_html(headers) {
            let next = request.uri().path_and_query().map(|pq| pq.as_str());
            if let Ok(location) = HeaderValue::from_str(&self.login_url(next)) {
                let mut redirect = Response::new(ResBody::from(String::new()));
                *redirect.status_mut() = StatusCode::SEE_OTHER;
                redirect.headers_mut().insert(header::LOCATION, location);
                redirect
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return redirect;
            }
        }
        response
    }

    /// The login URL with `?next=` when the target is a safe local path.
    fn login_url(&self, next: Option<&str>) -> String {
        match next.and_then(safe_next) {
            Some(next) if next != self.login_path => {
                let separator = if self.login_path.contains('?') {
                    '&'
                } else {
                    '?'
                };
                format!(
                    "{}{separator}next={}",
                    self.login_path,
                    encode_query_value(&next)
                )
            }
            _ => self.login_path.clone(),
        }
    }
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers
        .get("hx-request")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().any(|value| {
        value.to_str().is_ok_and(|accept| {
            accept.split(',').any(|item| {
                item.split(';')
                    .next()
                    .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/html"))
            })
        })
    })
}

/// The path and query of an absolute `http(s)` URL (`HX-Current-URL`).
fn path_of_url(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let start = rest.find(['/', '?', '#'])?;
    let tail = &rest[start..];
    let tail = tail.split('#').next().unwrap_or_default();
    if tail.starts_with('/') {
        Some(tail.to_owned())
    } else {
        Some(format!("/{tail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htmx_current_url_yields_its_path() {
        assert_eq!(
            path_of_url("https://app.example.com/a/b?x=1#f").as_deref(),
            Some("/a/b?x=1")
        );
        assert_eq!(
            path_of_url("https://app.example.com?x").as_deref(),
            Some("/?x")
        );
        assert_eq!(path_of_url("https://app.example.com"), None);
        assert_eq!(path_of_url("javascript:alert(1)"), None);
    }

    #[test]
    fn login_url_keeps_only_safe_targets() {
        let config = RequireAuthLayer::new().config;
        assert_eq!(config.login_url(Some("/a?b=1")), "/login?next=/a%3Fb%3D1");
        assert_eq!(config.login_url(Some("//evil")), "/login");
        assert_eq!(config.login_url(Some("/login")), "/login");
        assert_eq!(config.login_url(None), "/login");
    }
}
