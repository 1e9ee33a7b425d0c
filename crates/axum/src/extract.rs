//! Extractors: who is making the request.
//!
//! They read the [`AuthContext`] that [`AuthLayer`](portcullis_tower::AuthLayer) puts in the
//! request extensions, so the layer must wrap the routes that use them:
//!
//! ```
//! use axum::{Router, routing::get};
//! use portcullis_axum::{CurrentUser, MaybeUser};
//!
//! async fn dashboard(CurrentUser(user): CurrentUser) -> String {
//!     format!("hello, {}", user.name)
//! }
//!
//! async fn home(MaybeUser(user): MaybeUser) -> String {
//!     match user {
//!         Some(user) => format!("welcome back, {}", user.name),
//!         None => "welcome, stranger".to_owned(),
//!     }
//! }
//!
//! let app: Router = Router::new()
//!     .route("/", get(home))
//!     .route("/dashboard", get(dashboard));
//! // ... .layer(AuthLayer::new(manager, transport)) around the routes above.
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portcullis_core::{AuthError, Session, User};
use portcullis_manager::RoleHierarchy;
use portcullis_tower::{AuthContext, AuthLayerInstalled};

use crate::error::ApiError;

/// Reads the context, telling a missing layer apart from a missing login.
fn context(parts: &Parts) -> Result<Option<&AuthContext>, ApiError> {
    if let Some(context) = parts.extensions.get::<AuthContext>() {
        return Ok(Some(context));
    }
    if parts.extensions.get::<AuthLayerInstalled>().is_none() {
        tracing::error!(
            path = %parts.uri.path(),
            "an auth extractor found no AuthLayer: is AuthLayer installed around this route?"
        );
        return Err(ApiError(AuthError::Misconfigured(
            "is AuthLayer installed? portcullis extractors need portcullis_tower::AuthLayer around the route",
        )));
    }
    Ok(None)
}

fn required(parts: &Parts) -> Result<&AuthContext, ApiError> {
    context(parts)?.ok_or(ApiError(AuthError::NotAuthenticated))
}

/// The signed-in user; 401 `not_authenticated` without a valid session.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(parts).map(|context| Self(context.user.clone()))
    }
}

/// The signed-in user, if any (never rejects, except when `AuthLayer` is missing).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        context(parts).map(|context| Self(context.map(|c| c.user.clone())))
    }
}

/// The signed-in user with a verified email address; 401 without a session, 403
/// `email_not_verified` otherwise.
#[derive(Debug, Clone)]
pub struct VerifiedUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for VerifiedUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = &required(parts)?.user;
        if !user.email_verified {
            return Err(ApiError(AuthError::EmailNotVerified));
        }
        Ok(Self(user.clone()))
    }
}

/// The current session (its id, expiry, client); 401 without one.
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(parts).map(|context| Self(context.session.clone()))
    }
}

/// The whole [`AuthContext`]: user, session, where the token came from, and the CSRF form
/// token for HTML forms; 401 without a session.
#[derive(Debug, Clone)]
pub struct Auth(pub AuthContext);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(parts).map(|context| Self(context.clone()))
    }
}

/// The [`AuthContext`] if the request is authenticated (never rejects, except when
/// `AuthLayer` is missing).
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<AuthContext>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        context(parts).map(|context| Self(context.cloned()))
    }
}

/// A role name for [`RequireRole`]. Implement it on a marker type per role you guard with:
///
/// ```
/// use axum::{Router, routing::get};
/// use portcullis_axum::{RequireRole, Role};
///
/// struct Admin;
/// impl Role for Admin {
///     const NAME: &'static str = "admin";
/// }
///
/// async fn admin_panel(RequireRole(user, ..): RequireRole<Admin>) -> String {
///     format!("admin {}", user.email)
/// }
/// let app: Router = Router::new().route("/admin", get(admin_panel));
/// ```
pub trait Role: Send + Sync + 'static {
    /// The role name in the manager's [`RoleHierarchy`].
    const NAME: &'static str;
}

/// The signed-in user, if their role ranks at least `R` in the manager's role hierarchy;
/// 401 without a session, 403 `forbidden` when the role is too low.
#[derive(Debug, Clone)]
pub struct RequireRole<R: Role>(pub User, pub PhantomData<R>);

impl<S: Send + Sync, R: Role> FromRequestParts<S> for RequireRole<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = &required(parts)?.user;
        let allowed = parts
            .extensions
            .get::<Arc<RoleHierarchy>>()
            .is_some_and(|roles| roles.at_least(&user.role, R::NAME));
        if !allowed {
            return Err(ApiError(AuthError::Forbidden));
        }
        Ok(Self(user.clone(), PhantomData))
    }
}

/// Whether `user` ranks at least `role` in `roles` (for checks inside a handler).
#[must_use]
pub fn has_min_role(roles: &RoleHierarchy, user: &User, role: &str) -> bool {
    roles.at_least(&user.role, role)
}
