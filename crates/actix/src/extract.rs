//! Extractors: who is making the request.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use portcullis_core::{AuthError, User};
use portcullis_http::{AuthContext, AuthLayerInstalled};

use crate::error::ApiError;

/// The context if signed in, telling a missing middleware apart from a missing login.
fn context(request: &HttpRequest) -> Result<Option<AuthContext>, ApiError> {
    let extensions = request.extensions();
    if let Some(context) = extensions.get::<AuthContext>() {
        return Ok(Some(context.clone()));
    }
    if extensions.get::<AuthLayerInstalled>().is_none() {
        tracing::error!(
            path = %request.path(),
            "an auth extractor found no AuthMiddleware: is AuthMiddleware installed around this route?"
        );
        return Err(ApiError(AuthError::Misconfigured(
            "is AuthMiddleware installed? portcullis extractors need portcullis_actix::AuthMiddleware around the route",
        )));
    }
    Ok(None)
}

fn required(request: &HttpRequest) -> Result<AuthContext, ApiError> {
    context(request)?.ok_or(ApiError(AuthError::NotAuthenticated))
}

/// The signed-in user; `401 not_authenticated` without a valid session.
///
/// The extractors read the [`AuthContext`] that [`AuthMiddleware`](crate::AuthMiddleware)
/// puts in the request extensions, so the middleware must wrap the routes that use them (an
/// extractor without it answers `500 misconfigured`, naming the fix):
///
/// ```
/// use actix_web::{App, web};
/// use portcullis_actix::{CurrentUser, MaybeUser};
///
/// async fn dashboard(CurrentUser(user): CurrentUser) -> String {
///     format!("hello, {}", user.name)
/// }
///
/// async fn home(MaybeUser(user): MaybeUser) -> String {
///     match user {
///         Some(user) => format!("welcome back, {}", user.name),
///         None => "welcome, stranger".to_owned(),
///     }
/// }
///
/// let app = App::new()
///     .route("/", web::get().to(home))
///     .route("/dashboard", web::get().to(dashboard));
/// // ... .wrap(AuthMiddleware::new(manager, transport)) around the routes above.
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(required(request).map(|context| Self(context.user)))
    }
}

/// The signed-in user, if any (never rejects, except when the middleware is missing).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(context(request).map(|context| Self(context.map(|c| c.user))))
    }
}

/// The whole [`AuthContext`]: user, session, where the token came from, and the CSRF form
/// token for HTML forms ([`AuthContext::csrf_token`]); `401` without a session.
#[derive(Debug, Clone)]
pub struct Auth(pub AuthContext);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(required(request).map(Self))
    }
}
