//! The extractors on a router of their own: 401 without a session, 403 below a role or
//! without a verified address, and a missing `AuthLayer` reported as the fix it needs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use portcullis_axum::{CurrentUser, MaybeUser, RequireRole, Role, VerifiedUser};
use portcullis_core::ClientInfo;
use portcullis_manager::{AuthManager, Registered, Registration};
use portcullis_password::{Argon2Params, MultiHasher, PasswordStrategy};
use portcullis_testkit::MemoryBackend;
use portcullis_tower::AuthLayer;
use portcullis_transport::BearerTransport;
use tower::ServiceExt;

struct Editor;
impl Role for Editor {
    const NAME: &'static str = "editor";
}

async fn me(CurrentUser(user): CurrentUser) -> String {
    user.email
}
async fn maybe(MaybeUser(user): MaybeUser) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.email)
}
async fn verified(VerifiedUser(user): VerifiedUser) -> String {
    user.email
}
async fn editors(RequireRole(user, ..): RequireRole<Editor>) -> String {
    user.email
}

fn routes() -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .route("/verified", get(verified))
        .route("/editors", get(editors))
}

async fn call(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn extractors_answer_401_403_or_the_user() {
    let hasher = MultiHasher::with_params(Argon2Params::new(1024, 1, 1, None).unwrap());
    let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(hasher))
        .build()
        .unwrap();
    let Registered::SignedIn(signed_in) = manager
        .register(
            Registration::new("Ed", "ed@example.com", "extractor passphrase"),
            &ClientInfo::default(),
        )
        .await
        .unwrap()
    else {
        unreachable!()
    };
    let token = signed_in.token.expose().to_owned();
    let app = routes().layer(AuthLayer::new(manager.clone(), BearerTransport::new()));

    assert_eq!(call(&app, "/me", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&app, "/me", Some(&token)).await,
        (StatusCode::OK, "ed@example.com".to_owned())
    );
    assert_eq!(
        call(&app, "/maybe", None).await,
        (StatusCode::OK, "anonymous".to_owned())
    );
    assert_eq!(call(&app, "/maybe", Some(&token)).await.1, "ed@example.com");

    let (status, body) = call(&app, "/verified", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("email_not_verified"), "{body}");

    let (status, body) = call(&app, "/editors", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("\"forbidden\""), "{body}");
    manager
        .set_role(signed_in.user.id, "admin", &ClientInfo::default())
        .await
        .unwrap();
    // Admin ranks above editor.
    assert_eq!(call(&app, "/editors", Some(&token)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_missing_auth_layer_names_the_fix() {
    let app = routes();
    let (status, body) = call(&app, "/me", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("is AuthLayer installed?"), "{body}");
    assert!(body.contains("\"misconfigured\""), "{body}");
}
