//! The axum-login peer of `benches/http/run.sh`: a minimal server written the way axum-login's
//! own SQLite example is (axum-login + tower-sessions with its SQLite store, `password-auth`
//! argon2id at its default parameters, m=19456 KiB t=2 p=1, verified on `spawn_blocking`),
//! with the routes the benchmark drives:
//!
//! - `GET /health`: `{"status":"ok"}`, no session.
//! - `POST /register` `{email, password}`: creates a user (201), or 409 if the email exists.
//! - `POST /login` `{email, password}`: 200 with the user and the session cookie, or 401.
//! - `POST /logout`: ends the session (deleted from the store), 204.
//! - `GET /protected`: `login_required!`, the user as JSON; 401 without a valid session.
//!
//! `axum-login-peer [--addr 127.0.0.1:3100] [--database-url sqlite://peer.db]`

use std::str::FromStr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_login::tower_sessions::cookie::time::Duration;
use axum_login::tower_sessions::{Expiry, SessionManagerLayer};
use axum_login::{
    AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId, login_required,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use tower_sessions_sqlx_store::SqliteStore;

#[derive(Clone, Serialize, sqlx::FromRow)]
struct User {
    id: i64,
    email: String,
    #[serde(skip)]
    password: String,
}

// Never print the password hash.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    // A password change invalidates the user's sessions, as in axum-login's examples.
    fn session_auth_hash(&self) -> &[u8] {
        self.password.as_bytes()
    }
}

#[derive(Clone, Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

#[derive(Debug, Clone)]
struct Backend {
    db: SqlitePool,
}

#[derive(Debug)]
enum BackendError {
    Sqlx(sqlx::Error),
    Join(tokio::task::JoinError),
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlx(error) => write!(f, "database: {error}"),
            Self::Join(error) => write!(f, "hashing task: {error}"),
        }
    }
}

impl std::error::Error for BackendError {}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, BackendError> {
        let user: Option<User> =
            sqlx::query_as("SELECT id, email, password FROM users WHERE email = ?")
                .bind(&creds.email)
                .fetch_optional(&self.db)
                .await
                .map_err(BackendError::Sqlx)?;
        // Hash off the async runtime, as axum-login's examples do.
        tokio::task::spawn_blocking(move || {
            Ok(user.filter(|user| {
                password_auth::verify_password(creds.password, &user.password).is_ok()
            }))
        })
        .await
        .map_err(BackendError::Join)?
    }

    async fn get_user(&self, user_id: &UserId<Self>) -> Result<Option<User>, BackendError> {
        sqlx::query_as("SELECT id, email, password FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&self.db)
            .await
            .map_err(BackendError::Sqlx)
    }
}

type Session = AuthSession<Backend>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = "127.0.0.1:3100".to_owned();
    let mut database_url = "sqlite://axum-login-peer.db".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            "--database-url" => database_url = args.next().ok_or("--database-url needs a value")?,
            other => {
                return Err(format!("unknown flag {other:?}; use --addr, --database-url").into());
            }
        }
    }

    let options = SqliteConnectOptions::from_str(&database_url)?.create_if_missing(true);
    let db = SqlitePool::connect_with(options).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            email TEXT NOT NULL UNIQUE,
            password TEXT NOT NULL
        )",
    )
    .execute(&db)
    .await?;

    let store = SqliteStore::new(db.clone());
    store.migrate().await?;
    let sessions = SessionManagerLayer::new(store)
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(Duration::days(1)));
    let auth = AuthManagerLayerBuilder::new(Backend { db: db.clone() }, sessions).build();

    let app = Router::new()
        .route("/protected", get(protected))
        .route_layer(login_required!(Backend))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/register", post(register))
        .with_state(db)
        .layer(auth)
        .route("/health", get(health));

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "axum-login peer listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn register(
    axum::extract::State(db): axum::extract::State<SqlitePool>,
    Json(creds): Json<Credentials>,
) -> Response {
    let hash =
        match tokio::task::spawn_blocking(move || password_auth::generate_hash(creds.password))
            .await
        {
            Ok(hash) => hash,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    match sqlx::query("INSERT INTO users (email, password) VALUES (?, ?)")
        .bind(&creds.email)
        .bind(hash)
        .execute(&db)
        .await
    {
        Ok(done) => (
            StatusCode::CREATED,
            Json(json!({"id": done.last_insert_rowid(), "email": creds.email})),
        )
            .into_response(),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            StatusCode::CONFLICT.into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn login(mut session: Session, Json(creds): Json<Credentials>) -> Response {
    let user = match session.authenticate(creds).await {
        Ok(Some(user)) => user,
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if session.login(&user).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Json(json!({"user": user})).into_response()
}

async fn logout(mut session: Session) -> StatusCode {
    match session.logout().await {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn protected(session: Session) -> Response {
    match session.user {
        Some(user) => {
            Json(json!({"detail": format!("hello, {}", user.email), "user": user})).into_response()
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
