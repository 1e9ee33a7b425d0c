//! The server-rendered pages: register, log in, dashboard, sessions, password change, forgot
//! and reset password, email verification, log out.
//!
//! - Cookie sessions through the same [`AuthLayer`] as the JSON API. Signed-in forms carry
//!   the session's CSRF form token in a hidden `csrf_token` field; the layer also refuses
//!   cross-site POSTs to the forms used before login (Fetch Metadata / `Origin`).
//! - Protected pages sit behind [`RequireAuthLayer`]: a signed-out browser is sent to
//!   `/login?next=<page>`, and login follows `next` only when [`safe_next`] accepts it.
//! - Every successful POST answers `303 See Other` (Post/Redirect/Get); a failed one shows the
//!   form again with what was typed (never passwords) and the errors next to their fields.
//! - Every page carries a strict Content-Security-Policy (no scripts, styles only from
//!   `/style.css`), `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` (reset and
//!   verification links carry tokens) and `Cache-Control: no-store`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Extension, Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, map_response};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use portcullis_axum::{Auth, MaybeAuth};
use portcullis_core::email::normalize_email;
use portcullis_core::{AuthError, ClientInfo, Password, PasswordCredentials, SessionId, Transport};
use portcullis_manager::{Registered, Registration, SignedIn};
use portcullis_tower::{AuthContext, AuthLayer, ClientIpSource, RequireAuthLayer, safe_next};
use portcullis_transport::CookieOrBearer;
use serde::Deserialize;

use crate::Manager;
use crate::views::{self, FormErrors, RegisterValues, Viewer};

/// The HTML form routes that take credentials; the rate limit covers them.
pub(crate) const CREDENTIAL_FORMS: [&str; 3] = ["/login", "/register", "/forgot-password"];

/// Where a successful login goes when no (safe) `next` was given.
const AFTER_LOGIN: &str = "/dashboard";

/// Largest form body accepted (413 beyond): auth forms are tiny.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// Scripts: none. Styles: only the stylesheet route. Forms: only to this origin. Frames: none.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; style-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

#[derive(Clone)]
struct Pages {
    manager: Manager,
    transport: Arc<CookieOrBearer>,
    /// The public URL, for the curl examples on the home page.
    base: Arc<str>,
}

impl Pages {
    /// A 303 to `location` that also sets the new session's cookie.
    fn signed_in(&self, location: &str, signed_in: &SignedIn) -> Response {
        let mut response = Redirect::to(location).into_response();
        let lifetime = self.manager.remaining_lifetime(&signed_in.session);
        self.transport
            .write_token(response.headers_mut(), &signed_in.token, lifetime);
        response
    }

    /// A 303 to `location` that also clears the session cookie.
    fn signed_out(&self, location: &str) -> Response {
        let mut response = Redirect::to(location).into_response();
        self.transport.clear_token(response.headers_mut());
        response
    }
}

/// The page routes, with their own [`AuthLayer`] (cookie sessions, CSRF checks) and
/// security headers.
pub(crate) fn router(
    manager: Manager,
    transport: CookieOrBearer,
    client_ip: ClientIpSource,
    base: &str,
) -> Router {
    let auth = AuthLayer::new(manager.clone(), transport.clone()).client_ip(client_ip);
    let state = Pages {
        manager,
        transport: Arc::new(transport),
        base: base.trim_end_matches('/').into(),
    };
    let protected = Router::new()
        .route("/dashboard", get(dashboard))
        .route("/verify-email/send", post(send_verification))
        .route("/sessions", get(sessions))
        .route("/sessions/{id}/revoke", post(revoke_session))
        .route("/sessions/revoke-others", post(revoke_other_sessions))
        .route("/password", get(password_page).post(change_password))
        .route_layer(RequireAuthLayer::new().login_path("/login"));
    Router::new()
        .route("/", get(home))
        .route("/style.css", get(stylesheet))
        .route("/register", get(register_page).post(register))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/forgot-password", get(forgot_page).post(forgot_password))
        .route("/reset-password", get(reset_page).post(reset_password))
        .route("/verify-email", get(verify_page).post(verify_email))
        .route("/verify-email/done", get(email_verified))
        .merge(protected)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(auth)
        .layer(map_response(page_headers))
}

/// Security headers on every page; refusals the auth layers answer in JSON (CSRF 403, 401,
/// 413, 503) become a page a person can read.
async fn page_headers(response: Response) -> Response {
    let mut response = if is_json_error(&response) {
        html_refusal(response)
    } else {
        response
    };
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// For the HTML credential forms only: the rate limiter's JSON `429` becomes a page (the
/// limiter sits outside every router, so the page layer never sees it).
pub(crate) async fn rate_limited_forms(request: Request, next: Next) -> Response {
    let is_form = CREDENTIAL_FORMS.contains(&request.uri().path());
    let response = next.run(request).await;
    if is_form && is_json_error(&response) {
        page_headers(response).await
    } else {
        response
    }
}

fn is_json_error(response: &Response) -> bool {
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    json && (response.status().is_client_error() || response.status().is_server_error())
}

/// The same status and headers (`Retry-After`, a cookie being cleared), with an HTML body.
fn html_refusal(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let (title, text) = match parts.status {
        StatusCode::FORBIDDEN => (
            "Request refused",
            "This form did not come from this site's own pages, so it was refused. \
             Go back, reload the page and try again."
                .to_owned(),
        ),
        StatusCode::UNAUTHORIZED => ("Please log in", "Log in to see this page.".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too much data",
            "That form was larger than this site accepts.".to_owned(),
        ),
        StatusCode::TOO_MANY_REQUESTS => {
            let seconds = parts
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse().ok())
                .unwrap_or(60);
            ("Slow down", views::too_many_attempts(seconds))
        }
        _ => ("Something went wrong", views::server_trouble().to_owned()),
    };
    let body = views::message(title, &text, None).into_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn html(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// A form shown again after `error`: 429 (with `Retry-After`) for rate limits, the error's
/// own status for server trouble, 422 for anything the person can fix.
fn form_failed(error: &AuthError, markup: Markup) -> Response {
    let status = match error.status() {
        status if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => status,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut response = html(status, markup);
    retry_after(response.headers_mut(), error);
    response
}

/// A page that only explains `error` (for actions without a form to show again).
fn error_page(error: &AuthError, viewer: Option<&Viewer>) -> Response {
    let (title, text) = match error {
        AuthError::NotFound => (
            "Not found",
            "That session no longer exists; it may have ended already.".to_owned(),
        ),
        AuthError::RateLimited { retry_after } => {
            ("Slow down", views::too_many_attempts(retry_after.as_secs()))
        }
        other if other.status().is_server_error() => {
            ("Something went wrong", views::server_trouble().to_owned())
        }
        other => ("That did not work", other.to_string()),
    };
    let mut response = html(error.status(), views::message(title, &text, viewer));
    retry_after(response.headers_mut(), error);
    response
}

fn retry_after(headers: &mut HeaderMap, error: &AuthError) {
    if let Some(wait) = error.retry_after() {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
    }
}

fn viewer(auth: &AuthContext) -> Viewer {
    Viewer {
        name: auth.user.name.clone(),
        email: auth.user.email.clone(),
        csrf: auth.csrf_token(),
    }
}

/// `?notice=` keys the pages redirect with, and what they say. Unknown keys show nothing,
/// so a link cannot put words on our pages.
fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "welcome" => "Welcome! Your account is ready.",
        "signed-out" => "You are signed out.",
        "verification-sent" => {
            "We sent a confirmation link to your email address (this demo prints it to the server console)."
        }
        "password-changed" => "Your password is changed, and your other devices are signed out.",
        "password-reset" => "Your password is set. Log in with the new one.",
        "session-revoked" => "That device is signed out.",
        "others-revoked" => "All your other devices are signed out.",
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    notice: Option<String>,
    next: Option<String>,
    token: Option<String>,
    sent: Option<String>,
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        views::STYLESHEET,
    )
        .into_response()
}

async fn home(
    State(state): State<Pages>,
    MaybeAuth(auth): MaybeAuth,
    Query(query): Query<PageQuery>,
) -> Markup {
    let viewer = auth.as_ref().map(viewer);
    views::home(
        viewer.as_ref(),
        notice(query.notice.as_deref()),
        &state.base,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RegisterForm {
    name: String,
    email: String,
    password: String,
}

async fn register_page(MaybeAuth(auth): MaybeAuth) -> Response {
    if auth.is_some() {
        return Redirect::to(AFTER_LOGIN).into_response();
    }
    html(
        StatusCode::OK,
        views::register(&RegisterValues::default(), &FormErrors::default()),
    )
}

async fn register(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    Form(form): Form<RegisterForm>,
) -> Response {
    let values = RegisterValues {
        name: form.name.clone(),
        email: form.email.clone(),
    };
    let registration = Registration {
        name: form.name,
        email: form.email,
        password: Password::new(form.password),
        username: None,
    };
    match state.manager.register(registration, &client).await {
        Ok(Registered::SignedIn(signed_in)) => {
            state.signed_in("/dashboard?notice=welcome", &signed_in)
        }
        Ok(Registered::CheckEmail) => html(
            StatusCode::OK,
            views::message(
                "Check your email",
                "We sent a message to the address you gave. Follow its link to continue.",
                None,
            ),
        ),
        Err(error) => form_failed(
            &error,
            views::register(&values, &FormErrors::from_error(&error, "password")),
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login_page(MaybeAuth(auth): MaybeAuth, Query(query): Query<PageQuery>) -> Response {
    let next = query.next.as_deref().and_then(safe_next);
    if auth.is_some() {
        return Redirect::to(next.as_deref().unwrap_or(AFTER_LOGIN)).into_response();
    }
    html(
        StatusCode::OK,
        views::login(
            "",
            next.as_deref(),
            &FormErrors::default(),
            notice(query.notice.as_deref()),
        ),
    )
}

async fn login(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = form.next.as_deref().and_then(safe_next);
    let credentials = PasswordCredentials::new(form.email.clone(), Password::new(form.password));
    match state.manager.login(&credentials, &client).await {
        Ok(signed_in) => state.signed_in(next.as_deref().unwrap_or(AFTER_LOGIN), &signed_in),
        Err(error) => form_failed(
            &error,
            views::login(
                &form.email,
                next.as_deref(),
                &FormErrors::from_error(&error, "password"),
                None,
            ),
        ),
    }
}

async fn logout(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    MaybeAuth(auth): MaybeAuth,
) -> Response {
    if let Some(auth) = &auth
        && let Err(error) = state.manager.logout(auth.token(), &client).await
    {
        return error_page(&error, Some(&viewer(auth)));
    }
    state.signed_out("/?notice=signed-out")
}

async fn dashboard(Auth(auth): Auth, Query(query): Query<PageQuery>) -> Markup {
    views::dashboard(&auth.user, &viewer(&auth), notice(query.notice.as_deref()))
}

async fn send_verification(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    Auth(auth): Auth,
) -> Response {
    match state
        .manager
        .request_email_verification(&auth.user, &client)
        .await
    {
        Ok(()) => Redirect::to("/dashboard?notice=verification-sent").into_response(),
        Err(error) => error_page(&error, Some(&viewer(&auth))),
    }
}

async fn sessions(
    State(state): State<Pages>,
    Auth(auth): Auth,
    Query(query): Query<PageQuery>,
) -> Response {
    let viewer = viewer(&auth);
    match state.manager.list_sessions(&auth.session).await {
        Ok(list) => html(
            StatusCode::OK,
            views::sessions(&list, &viewer, notice(query.notice.as_deref())),
        ),
        Err(error) => error_page(&error, Some(&viewer)),
    }
}

async fn revoke_session(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    Auth(auth): Auth,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<SessionId>() else {
        return error_page(&AuthError::NotFound, Some(&viewer(&auth)));
    };
    if id == auth.session.id {
        // Signing out this device from the list is logging out.
        if let Err(error) = state.manager.logout(auth.token(), &client).await {
            return error_page(&error, Some(&viewer(&auth)));
        }
        return state.signed_out("/?notice=signed-out");
    }
    match state.manager.revoke_session(&auth.user, id, &client).await {
        Ok(()) => Redirect::to("/sessions?notice=session-revoked").into_response(),
        Err(error) => error_page(&error, Some(&viewer(&auth))),
    }
}

async fn revoke_other_sessions(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    Auth(auth): Auth,
) -> Response {
    match state
        .manager
        .revoke_other_sessions(&auth.user, &auth.session, &client)
        .await
    {
        Ok(_) => Redirect::to("/sessions?notice=others-revoked").into_response(),
        Err(error) => error_page(&error, Some(&viewer(&auth))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChangePasswordForm {
    current_password: String,
    new_password: String,
}

async fn password_page(Auth(auth): Auth) -> Markup {
    views::change_password(&viewer(&auth), &FormErrors::default())
}

async fn change_password(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    Auth(auth): Auth,
    Form(form): Form<ChangePasswordForm>,
) -> Response {
    let result = state
        .manager
        .change_password(
            &auth.user,
            &Password::new(form.current_password),
            &Password::new(form.new_password),
            &client,
        )
        .await;
    match result {
        // Every session ended, this one too; the new one goes into the cookie.
        Ok(signed_in) => state.signed_in("/dashboard?notice=password-changed", &signed_in),
        Err(error) => {
            let errors = match error {
                AuthError::InvalidCredentials => {
                    FormErrors::field("current_password", "Your current password is not correct.")
                }
                ref other => FormErrors::from_error(other, "new_password"),
            };
            form_failed(&error, views::change_password(&viewer(&auth), &errors))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EmailForm {
    email: String,
}

async fn forgot_page(MaybeAuth(auth): MaybeAuth, Query(query): Query<PageQuery>) -> Markup {
    let viewer = auth.as_ref().map(viewer);
    views::forgot_password(
        viewer.as_ref(),
        "",
        &FormErrors::default(),
        query.sent.is_some(),
    )
}

async fn forgot_password(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    MaybeAuth(auth): MaybeAuth,
    Form(form): Form<EmailForm>,
) -> Response {
    // Only the syntax is checked here: the answer must not tell whether an account exists.
    if let Err(error) = normalize_email(&form.email) {
        let viewer = auth.as_ref().map(viewer);
        let errors = FormErrors::from_error(&error, "password");
        return form_failed(
            &error,
            views::forgot_password(viewer.as_ref(), &form.email, &errors, false),
        );
    }
    state
        .manager
        .request_password_reset(&form.email, &client)
        .await;
    Redirect::to("/forgot-password?sent=1").into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResetForm {
    token: String,
    password: String,
}

async fn reset_page(MaybeAuth(auth): MaybeAuth, Query(query): Query<PageQuery>) -> Markup {
    let viewer = auth.as_ref().map(viewer);
    let token = query.token.unwrap_or_default();
    views::reset_password(viewer.as_ref(), &token, &FormErrors::default())
}

async fn reset_password(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    MaybeAuth(auth): MaybeAuth,
    Form(form): Form<ResetForm>,
) -> Response {
    let password = Password::new(form.password);
    match state
        .manager
        .reset_password(&form.token, &password, &client)
        .await
    {
        // Every session of the user ended, this browser's included.
        Ok(_) => state.signed_out("/login?notice=password-reset"),
        Err(error) => {
            let viewer = auth.as_ref().map(viewer);
            let errors = FormErrors::from_error(&error, "password");
            form_failed(
                &error,
                views::reset_password(viewer.as_ref(), &form.token, &errors),
            )
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    token: String,
}

/// Shows a button only: verifying on GET would let link scanners in mail filters use the
/// single-use token before the person does.
async fn verify_page(MaybeAuth(auth): MaybeAuth, Query(query): Query<PageQuery>) -> Markup {
    let viewer = auth.as_ref().map(viewer);
    let token = query.token.unwrap_or_default();
    views::verify_email(viewer.as_ref(), &token, &FormErrors::default())
}

async fn verify_email(
    State(state): State<Pages>,
    Extension(client): Extension<ClientInfo>,
    MaybeAuth(auth): MaybeAuth,
    Form(form): Form<TokenForm>,
) -> Response {
    match state.manager.verify_email(&form.token, &client).await {
        Ok(_) => Redirect::to("/verify-email/done").into_response(),
        Err(error) => {
            let viewer = auth.as_ref().map(viewer);
            let errors = FormErrors::from_error(&error, "password");
            form_failed(
                &error,
                views::verify_email(viewer.as_ref(), &form.token, &errors),
            )
        }
    }
}

async fn email_verified(MaybeAuth(auth): MaybeAuth) -> Markup {
    let viewer = auth.as_ref().map(viewer);
    views::email_verified(viewer.as_ref())
}
