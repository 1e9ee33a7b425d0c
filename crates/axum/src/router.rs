//! The ready-made `/auth` HTTP API.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use portcullis_core::{
    AuthError, Backend, ClientInfo, CredentialStrategy, Password, PasswordCredentials, SessionId,
    Transport,
};
use portcullis_manager::{AuthManager, ProfileUpdate, Registered, Registration, SignedIn};
use portcullis_tower::{AuthLayer, ClientIpSource, client_info_from_parts};
use serde::Serialize;

use crate::body::{
    ChangeEmailRequest, ChangePasswordRequest, DetailBody, EventBody, ForgotRequest, LoginRequest,
    RegisterRequest, ResetRequest, SessionBody, SignedInBody, TokenRequest, UpdateMeRequest,
    UserBody,
};
use crate::error::ApiError;
use crate::extract::{Auth, CurrentUser, MaybeAuth};
use crate::json::ApiJson;

/// How many audit events `GET /events` returns.
const EVENTS_LIMIT: u64 = 50;

/// Settings of [`router`].
#[derive(Debug, Clone)]
pub struct RouterConfig {
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

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            prefix: "/auth".to_owned(),
            expose_token: true,
            max_body_bytes: 16 * 1024,
            client_ip: ClientIpSource::default(),
        }
    }
}

struct ApiState<B, S, T> {
    manager: AuthManager<B, S>,
    transport: Arc<T>,
    config: Arc<RouterConfig>,
}

impl<B, S, T> Clone for ApiState<B, S, T> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            transport: Arc::clone(&self.transport),
            config: Arc::clone(&self.config),
        }
    }
}

/// Builds the HTTP API (routes in `docs/http-api.md`), mounted under `config.prefix`, with
/// [`AuthLayer`] applied, a body limit, and `Cache-Control: no-store` on every response. An
/// unknown path under the prefix answers `404 not_found` and a wrong method
/// `405 method_not_allowed` (with `Allow`), in the same `{"detail", "code"}` shape as every
/// other error.
///
/// The same `transport` reads tokens and writes cookies: [`BearerTransport`] for API clients,
/// [`CookieTransport`] for browsers, [`CookieOrBearer`] for both.
///
/// [`BearerTransport`]: portcullis_transport::BearerTransport
/// [`CookieTransport`]: portcullis_transport::CookieTransport
/// [`CookieOrBearer`]: portcullis_transport::CookieOrBearer
pub fn router<B, S, T>(manager: AuthManager<B, S>, transport: T, config: RouterConfig) -> Router
where
    B: Backend,
    S: CredentialStrategy<B>,
    T: Transport + Clone,
{
    let layer =
        AuthLayer::new(manager.clone(), transport.clone()).client_ip(config.client_ip.clone());
    let prefix = config.prefix.clone();
    let body_limit = DefaultBodyLimit::max(config.max_body_bytes);
    let state = ApiState {
        manager,
        transport: Arc::new(transport),
        config: Arc::new(config),
    };
    let api = Router::new()
        .route("/register", post(register::<B, S, T>))
        .route("/login", post(login::<B, S, T>))
        .route("/logout", post(logout::<B, S, T>))
        .route("/me", get(me).patch(update_me::<B, S, T>))
        .route("/sessions", get(sessions::<B, S, T>))
        .route("/sessions/{id}", delete(revoke_session::<B, S, T>))
        .route("/sessions/revoke-others", post(revoke_others::<B, S, T>))
        .route("/verify/request", post(request_verification::<B, S, T>))
        .route("/verify", post(verify::<B, S, T>))
        .route("/password/forgot", post(forgot_password::<B, S, T>))
        .route("/password/reset", post(reset_password::<B, S, T>))
        .route("/password/change", post(change_password::<B, S, T>))
        .route("/email/change", post(change_email::<B, S, T>))
        .route("/events", get(events::<B, S, T>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(body_limit)
        .layer(layer)
        .layer(axum::middleware::map_response(no_store));
    // `nest` does not send `{prefix}/` to the nested router: answer it the same way.
    Router::new()
        .nest(&prefix, api)
        .route(&format!("{prefix}/"), any(not_found))
}

/// An unknown path under the prefix: `404 not_found` in the API's error shape (axum's own
/// answer has an empty body).
async fn not_found() -> ApiError {
    ApiError(AuthError::NotFound)
}

/// A known path with another method: `405 method_not_allowed` in the API's error shape; axum
/// adds the `Allow` header.
async fn method_not_allowed() -> Response {
    #[derive(Serialize)]
    struct ErrorBody {
        detail: &'static str,
        code: &'static str,
    }
    let body = ErrorBody {
        detail: "this route does not accept that method; see the Allow header",
        code: "method_not_allowed",
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The client's address and user agent, as the router's [`ClientIpSource`] says.
struct Client(ClientInfo);

impl<B, S, T> FromRequestParts<ApiState<B, S, T>> for Client
where
    B: Send + Sync,
    S: Send + Sync,
    T: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState<B, S, T>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_info_from_parts(parts, &state.config.client_ip)))
    }
}

impl<B: Backend, S: CredentialStrategy<B>, T: Transport> ApiState<B, S, T> {
    /// `{user, session}` with the cookie set (cookie transports) and the token in the body
    /// (when `expose_token`).
    fn signed_in(&self, status: StatusCode, signed_in: &SignedIn) -> Response {
        let token = self
            .config
            .expose_token
            .then(|| signed_in.token.expose().to_owned());
        let body = SignedInBody::new(&signed_in.user, &signed_in.session, token);
        let mut response = (status, Json(body)).into_response();
        let lifetime = self.manager.remaining_lifetime(&signed_in.session);
        self.transport
            .write_token(response.headers_mut(), &signed_in.token, lifetime);
        response
    }
}

fn detail(status: StatusCode, detail: &'static str) -> Response {
    (status, Json(DetailBody { detail })).into_response()
}

async fn register<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    let registration = Registration {
        name: body.name,
        email: body.email,
        password: Password::new(body.password),
        username: body.username,
    };
    Ok(match state.manager.register(registration, &client).await? {
        Registered::SignedIn(signed_in) => state.signed_in(StatusCode::CREATED, &signed_in),
        Registered::CheckEmail => detail(StatusCode::ACCEPTED, "check your email to continue"),
    })
}

async fn login<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let credentials = PasswordCredentials::new(body.email, body.password);
    let signed_in = state.manager.login(&credentials, &client).await?;
    Ok(state.signed_in(StatusCode::OK, &signed_in))
}

async fn logout<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    MaybeAuth(auth): MaybeAuth,
) -> Result<Response, ApiError> {
    if let Some(auth) = auth {
        state.manager.logout(auth.token(), &client).await?;
    }
    let mut response = detail(StatusCode::OK, "logged out");
    state.transport.clear_token(response.headers_mut());
    Ok(response)
}

async fn me(CurrentUser(user): CurrentUser) -> Json<UserBody> {
    Json((&user).into())
}

async fn update_me<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> Result<Json<UserBody>, ApiError> {
    let update = ProfileUpdate {
        name: body.name,
        image: body.image,
    };
    let user = state.manager.update_profile(user.id, update).await?;
    Ok(Json((&user).into()))
}

async fn sessions<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Auth(auth): Auth,
) -> Result<Json<Vec<SessionBody>>, ApiError> {
    let sessions = state.manager.list_sessions(&auth.session).await?;
    Ok(Json(sessions.into_iter().map(SessionBody::from).collect()))
}

async fn revoke_session<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    CurrentUser(user): CurrentUser,
    // Taken as a `Result` so that a path axum cannot decode (invalid UTF-8 after
    // percent-decoding) gets the API's error shape too, not axum's plain-text rejection.
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id: SessionId = id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(|| {
            ApiError(AuthError::InvalidInput {
                field: "id",
                message: "must be a session id (UUID)".to_owned(),
            })
        })?;
    state.manager.revoke_session(&user, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_others<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    Auth(auth): Auth,
) -> Result<StatusCode, ApiError> {
    state
        .manager
        .revoke_other_sessions(&auth.user, &auth.session, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn request_verification<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    CurrentUser(user): CurrentUser,
) -> Result<Response, ApiError> {
    state
        .manager
        .request_email_verification(&user, &client)
        .await?;
    Ok(detail(StatusCode::ACCEPTED, "verification email sent"))
}

async fn verify<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<UserBody>, ApiError> {
    let user = state.manager.verify_email(&body.token, &client).await?;
    Ok(Json((&user).into()))
}

async fn forgot_password<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    ApiJson(body): ApiJson<ForgotRequest>,
) -> Response {
    state
        .manager
        .request_password_reset(&body.email, &client)
        .await;
    detail(
        StatusCode::ACCEPTED,
        "if an account uses this address, a reset link is on its way",
    )
}

async fn reset_password<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<Response, ApiError> {
    state
        .manager
        .reset_password(&body.token, &Password::new(body.password), &client)
        .await?;
    let mut response = detail(
        StatusCode::OK,
        "password reset; log in with the new password",
    );
    // Every session of the user just ended, this browser's included.
    state.transport.clear_token(response.headers_mut());
    Ok(response)
}

async fn change_password<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<Response, ApiError> {
    let signed_in = state
        .manager
        .change_password(
            &user,
            &Password::new(body.current_password),
            &Password::new(body.new_password),
            &client,
        )
        .await?;
    Ok(state.signed_in(StatusCode::OK, &signed_in))
}

async fn change_email<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    Client(client): Client,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ChangeEmailRequest>,
) -> Result<Response, ApiError> {
    state
        .manager
        .request_email_change(
            &user,
            &Password::new(body.password),
            &body.new_email,
            &client,
        )
        .await?;
    Ok(detail(
        StatusCode::ACCEPTED,
        "confirm the change with the link sent to the new address",
    ))
}

async fn events<B: Backend, S: CredentialStrategy<B>, T: Transport>(
    State(state): State<ApiState<B, S, T>>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<EventBody>>, ApiError> {
    let events = state.manager.list_events(user.id, EVENTS_LIMIT).await?;
    Ok(Json(events.into_iter().map(EventBody::from).collect()))
}
