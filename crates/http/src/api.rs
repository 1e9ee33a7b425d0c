//! The `/auth` HTTP API without a framework: [`AuthApi::handle`] takes a request the
//! adapter has read (method, path under the mount point, headers, buffered body, client,
//! and the [`AuthContext`] its auth middleware found) and returns the complete response.
//! Every adapter serves the same routes through it: `portcullis-axum`'s `router()`,
//! `portcullis-tower`'s `ApiService` (plain hyper), `portcullis-actix`'s `api_scope()`.
//! The routes are listed in `docs/http-api.md`.
//!
//! ```
//! use portcullis_core::ClientInfo;
//! use portcullis_core::http::{HeaderMap, Method, StatusCode};
//! use portcullis_http::{ApiConfig, ApiRequest, AuthApi};
//! use portcullis_manager::AuthManager;
//! use portcullis_password::{MultiHasher, PasswordStrategy};
//! use portcullis_testkit::MemoryBackend;
//! use portcullis_transport::BearerTransport;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
//!     .build()?;
//! let api = AuthApi::new(manager, BearerTransport::new(), ApiConfig::default());
//! let mut headers = HeaderMap::new();
//! headers.insert("content-type", "application/json".parse()?);
//! let body = br#"{"name":"Ada","email":"ada@example.com","password":"analytical engine"}"#;
//! let client = ClientInfo::default();
//! let response = api
//!     .handle(ApiRequest::new(&Method::POST, "/register", &headers, body, &client, None))
//!     .await;
//! assert_eq!(response.status(), StatusCode::CREATED);
//! assert!(response.body().contains(r#""email":"ada@example.com""#));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use portcullis_core::{
    AuthError, Backend, ClientInfo, CredentialStrategy, Password, PasswordCredentials, SessionId,
    Transport,
};
use portcullis_manager::{AuthManager, ProfileUpdate, Registered, Registration, SignedIn};
use serde::Serialize;

use crate::body::{
    ChangeEmailRequest, ChangePasswordRequest, DetailBody, EventBody, ForgotRequest, LoginRequest,
    RegisterRequest, ResetRequest, SessionBody, SignedInBody, TokenRequest, UpdateMeRequest,
    UserBody,
};
use crate::context::{AuthContext, ClientIpSource};
use crate::error::{error_response, json_response};
use crate::json::parse_json;

/// How many audit events `GET /events` returns.
const EVENTS_LIMIT: u64 = 50;

/// Settings of the HTTP API, whichever adapter serves it.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Where the routes are mounted. Default `/auth`.
    pub prefix: String,
    /// Return the session token in register / login / password-change bodies (for bearer
    /// clients). Default true; turn off when tokens should only travel in the `HttpOnly`
    /// cookie, so page scripts never see them.
    pub expose_token: bool,
    /// Largest request body accepted; bigger ones answer 413 before any parsing or hashing.
    /// Default 16 KiB: far more than any auth form needs.
    pub max_body_bytes: usize,
    /// Where client addresses (recorded on sessions and audit events) come from.
    pub client_ip: ClientIpSource,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            prefix: "/auth".to_owned(),
            expose_token: true,
            max_body_bytes: 16 * 1024,
            client_ip: ClientIpSource::default(),
        }
    }
}

/// One request to the API, as the adapter read it.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a> {
    method: &'a Method,
    path: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
    client: &'a ClientInfo,
    auth: Option<&'a AuthContext>,
}

impl<'a> ApiRequest<'a> {
    /// `path` is relative to the mount point (`/login`, `/sessions/<id>`), without the query;
    /// `body` is the whole body, already limited to [`ApiConfig::max_body_bytes`] (an
    /// adapter answers [`AuthError::PayloadTooLarge`] itself when it is longer); `auth` is
    /// what the adapter's auth middleware ([`AuthGate`](crate::AuthGate)) found.
    #[must_use]
    pub fn new(
        method: &'a Method,
        path: &'a str,
        headers: &'a HeaderMap,
        body: &'a [u8],
        client: &'a ClientInfo,
        auth: Option<&'a AuthContext>,
    ) -> Self {
        Self {
            method,
            path,
            headers,
            body,
            client,
            auth,
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, AuthError> {
        parse_json(self.headers, self.body)
    }

    fn auth(&self) -> Result<&'a AuthContext, AuthError> {
        self.auth.ok_or(AuthError::NotAuthenticated)
    }
}

/// The routes of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Register,
    Login,
    Logout,
    Me,
    UpdateMe,
    Sessions,
    RevokeSession(&'a str),
    RevokeOthers,
    RequestVerification,
    Verify,
    ForgotPassword,
    ResetPassword,
    ChangePassword,
    ChangeEmail,
    Events,
}

/// Why a request matched no route.
enum NoRoute {
    NotFound,
    MethodNotAllowed(&'static str),
}

fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, NoRoute> {
    let post_only = |route| {
        if method == Method::POST {
            Ok(route)
        } else {
            Err(NoRoute::MethodNotAllowed("POST"))
        }
    };
    match path {
        "/register" => post_only(Route::Register),
        "/login" => post_only(Route::Login),
        "/logout" => post_only(Route::Logout),
        "/me" => match *method {
            Method::GET | Method::HEAD => Ok(Route::Me),
            Method::PATCH => Ok(Route::UpdateMe),
            _ => Err(NoRoute::MethodNotAllowed("GET,HEAD,PATCH")),
        },
        "/sessions" => match *method {
            Method::GET | Method::HEAD => Ok(Route::Sessions),
            _ => Err(NoRoute::MethodNotAllowed("GET,HEAD")),
        },
        "/sessions/revoke-others" => post_only(Route::RevokeOthers),
        "/verify/request" => post_only(Route::RequestVerification),
        "/verify" => post_only(Route::Verify),
        "/password/forgot" => post_only(Route::ForgotPassword),
        "/password/reset" => post_only(Route::ResetPassword),
        "/password/change" => post_only(Route::ChangePassword),
        "/email/change" => post_only(Route::ChangeEmail),
        "/events" => match *method {
            Method::GET | Method::HEAD => Ok(Route::Events),
            _ => Err(NoRoute::MethodNotAllowed("GET,HEAD")),
        },
        _ => match path.strip_prefix("/sessions/") {
            Some(id) if !id.is_empty() && !id.contains('/') => {
                if method == Method::DELETE {
                    Ok(Route::RevokeSession(id))
                } else {
                    Err(NoRoute::MethodNotAllowed("DELETE"))
                }
            }
            _ => Err(NoRoute::NotFound),
        },
    }
}

/// The HTTP API over a manager and a transport; see the [module docs](crate::api).
pub struct AuthApi<B, S, T> {
    manager: AuthManager<B, S>,
    transport: Arc<T>,
    config: Arc<ApiConfig>,
}

impl<B, S, T> Clone for AuthApi<B, S, T> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            transport: Arc::clone(&self.transport),
            config: Arc::clone(&self.config),
        }
    }
}

impl<B, S, T: fmt::Debug> fmt::Debug for AuthApi<B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthApi")
            .field("manager", &self.manager)
            .field("transport", &self.transport)
            .field("config", &self.config)
            .finish()
    }
}

impl<B, S, T> AuthApi<B, S, T> {
    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// The manager.
    #[must_use]
    pub fn manager(&self) -> &AuthManager<B, S> {
        &self.manager
    }

    /// The transport that writes and clears session cookies.
    #[must_use]
    pub fn transport(&self) -> &Arc<T> {
        &self.transport
    }
}

impl<B, S, T> AuthApi<B, S, T>
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport,
{
    /// The API over `manager`; `transport` writes the session cookie on sign-in and clears it
    /// on logout ([`BearerTransport`] writes nothing).
    ///
    /// [`BearerTransport`]: portcullis_transport::BearerTransport
    #[must_use]
    pub fn new(manager: AuthManager<B, S>, transport: T, config: ApiConfig) -> Self {
        Self::with_shared_transport(manager, Arc::new(transport), config)
    }

    /// [`new`](Self::new) with a transport the adapter also uses elsewhere.
    #[must_use]
    pub fn with_shared_transport(
        manager: AuthManager<B, S>,
        transport: Arc<T>,
        config: ApiConfig,
    ) -> Self {
        Self {
            manager,
            transport,
            config: Arc::new(config),
        }
    }

    /// Answers one request. Every response is JSON with `Cache-Control: no-store`; errors
    /// have the shape `{"detail", "code"}` with the status of their code, an unknown path is
    /// `404 not_found` and a known path with the wrong method `405` with `Allow`.
    pub async fn handle(&self, request: ApiRequest<'_>) -> Response<String> {
        let mut response = if request.body.len() > self.config.max_body_bytes {
            error_response(&AuthError::PayloadTooLarge)
        } else {
            match route(request.method, request.path) {
                Ok(route) => self
                    .dispatch(route, &request)
                    .await
                    .unwrap_or_else(|err| error_response(&err)),
                Err(NoRoute::NotFound) => error_response(&AuthError::NotFound),
                Err(NoRoute::MethodNotAllowed(allow)) => {
                    let mut response = json_response(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method not allowed",
                        "method_not_allowed",
                    );
                    response
                        .headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static(allow));
                    response
                }
            }
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    async fn dispatch(
        &self,
        route: Route<'_>,
        request: &ApiRequest<'_>,
    ) -> Result<Response<String>, AuthError> {
        let client = request.client;
        let manager = &self.manager;
        match route {
            Route::Register => {
                let body: RegisterRequest = request.json()?;
                let registration = Registration {
                    name: body.name,
                    email: body.email,
                    password: Password::new(body.password),
                    username: body.username,
                };
                Ok(match manager.register(registration, client).await? {
                    Registered::SignedIn(signed_in) => {
                        self.signed_in(StatusCode::CREATED, &signed_in)
                    }
                    Registered::CheckEmail => {
                        detail(StatusCode::ACCEPTED, "check your email to continue")
                    }
                })
            }
            Route::Login => {
                let body: LoginRequest = request.json()?;
                let credentials = PasswordCredentials::new(body.email, body.password);
                let signed_in = manager.login(&credentials, client).await?;
                Ok(self.signed_in(StatusCode::OK, &signed_in))
            }
            Route::Logout => {
                if let Some(auth) = request.auth {
                    manager.logout(auth.token(), client).await?;
                }
                let mut response = detail(StatusCode::OK, "logged out");
                self.transport.clear_token(response.headers_mut());
                Ok(response)
            }
            Route::Me => Ok(json(StatusCode::OK, &UserBody::from(&request.auth()?.user))),
            Route::UpdateMe => {
                let user = &request.auth()?.user;
                let body: UpdateMeRequest = request.json()?;
                let update = ProfileUpdate {
                    name: body.name,
                    image: body.image,
                };
                let user = manager.update_profile(user.id, update).await?;
                Ok(json(StatusCode::OK, &UserBody::from(&user)))
            }
            Route::Sessions => {
                let sessions = manager.list_sessions(&request.auth()?.session).await?;
                let sessions: Vec<SessionBody> =
                    sessions.into_iter().map(SessionBody::from).collect();
                Ok(json(StatusCode::OK, &sessions))
            }
            Route::RevokeSession(id) => {
                let user = &request.auth()?.user;
                let id: SessionId = id.parse().map_err(|_| AuthError::InvalidInput {
                    field: "id",
                    message: "must be a session id (UUID)".to_owned(),
                })?;
                manager.revoke_session(user, id, client).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            Route::RevokeOthers => {
                let auth = request.auth()?;
                manager
                    .revoke_other_sessions(&auth.user, &auth.session, client)
                    .await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            Route::RequestVerification => {
                let user = &request.auth()?.user;
                manager.request_email_verification(user, client).await?;
                Ok(detail(StatusCode::ACCEPTED, "verification email sent"))
            }
            Route::Verify => {
                let body: TokenRequest = request.json()?;
                let user = manager.verify_email(&body.token, client).await?;
                Ok(json(StatusCode::OK, &UserBody::from(&user)))
            }
            Route::ForgotPassword => {
                let body: ForgotRequest = request.json()?;
                manager.request_password_reset(&body.email, client).await;
                Ok(detail(
                    StatusCode::ACCEPTED,
                    "if an account uses this address, a reset link is on its way",
                ))
            }
            Route::ResetPassword => {
                let body: ResetRequest = request.json()?;
                manager
                    .reset_password(&body.token, &Password::new(body.password), client)
                    .await?;
                let mut response = detail(
                    StatusCode::OK,
                    "password reset; log in with the new password",
                );
                // Every session of the user just ended, this browser's included.
                self.transport.clear_token(response.headers_mut());
                Ok(response)
            }
            Route::ChangePassword => {
                let user = &request.auth()?.user;
                let body: ChangePasswordRequest = request.json()?;
                let signed_in = manager
                    .change_password(
                        user,
                        &Password::new(body.current_password),
                        &Password::new(body.new_password),
                        client,
                    )
                    .await?;
                Ok(self.signed_in(StatusCode::OK, &signed_in))
            }
            Route::ChangeEmail => {
                let user = &request.auth()?.user;
                let body: ChangeEmailRequest = request.json()?;
                manager
                    .request_email_change(
                        user,
                        &Password::new(body.password),
                        &body.new_email,
                        client,
                    )
                    .await?;
                Ok(detail(
                    StatusCode::ACCEPTED,
                    "confirm the change with the link sent to the new address",
                ))
            }
            Route::Events => {
                let user = &request.auth()?.user;
                let events = manager.list_events(user.id, EVENTS_LIMIT).await?;
                let events: Vec<EventBody> = events.into_iter().map(EventBody::from).collect();
                Ok(json(StatusCode::OK, &events))
            }
        }
    }

    /// `{user, session}` with the cookie set (cookie transports) and the token in the body
    /// (when `expose_token`).
    fn signed_in(&self, status: StatusCode, signed_in: &SignedIn) -> Response<String> {
        let token = self
            .config
            .expose_token
            .then(|| signed_in.token.expose().to_owned());
        let body = SignedInBody::new(&signed_in.user, &signed_in.session, token);
        let mut response = json(status, &body);
        let lifetime = self.manager.remaining_lifetime(&signed_in.session);
        self.transport
            .write_token(response.headers_mut(), &signed_in.token, lifetime);
        response
    }
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<String> {
    match serde_json::to_string(body) {
        Ok(text) => {
            let mut response = Response::new(text);
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        // Our bodies are plain structs of strings and numbers; serde_json cannot fail on
        // them, but if it ever did the client gets a 500, not a panic.
        Err(err) => error_response(&AuthError::Internal(Box::new(err))),
    }
}

fn detail(status: StatusCode, detail: &'static str) -> Response<String> {
    json(status, &DetailBody { detail })
}

fn empty(status: StatusCode) -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_methods_and_paths() {
        assert!(matches!(route(&Method::POST, "/login"), Ok(Route::Login)));
        // Paths are exact: a trailing slash is another path.
        assert!(matches!(
            route(&Method::POST, "/login/"),
            Err(NoRoute::NotFound)
        ));
        assert!(matches!(
            route(&Method::GET, "/sessions/"),
            Err(NoRoute::NotFound)
        ));
        assert!(matches!(
            route(&Method::GET, "/login"),
            Err(NoRoute::MethodNotAllowed("POST"))
        ));
        assert!(matches!(route(&Method::PATCH, "/me"), Ok(Route::UpdateMe)));
        assert!(matches!(
            route(&Method::DELETE, "/sessions/abc"),
            Ok(Route::RevokeSession("abc"))
        ));
        assert!(matches!(
            route(&Method::POST, "/sessions/revoke-others"),
            Ok(Route::RevokeOthers)
        ));
        assert!(matches!(
            route(&Method::DELETE, "/sessions/a/b"),
            Err(NoRoute::NotFound)
        ));
        assert!(matches!(route(&Method::GET, "/"), Err(NoRoute::NotFound)));
        assert!(matches!(route(&Method::GET, ""), Err(NoRoute::NotFound)));
        assert!(matches!(
            route(&Method::GET, "/nope"),
            Err(NoRoute::NotFound)
        ));
    }
}
