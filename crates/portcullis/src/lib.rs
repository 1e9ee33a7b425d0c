//! Portcullis in one dependency: registration, login, server-side sessions, email
//! verification, password reset, lockout and an audit log for Rust web services, with every
//! layer re-exported behind a cargo feature. An axum app with an `/auth` API and a protected
//! route, on an SQLite file:
//!
#![cfg_attr(all(feature = "axum", feature = "sqlite"), doc = "```no_run")]
#![cfg_attr(not(all(feature = "axum", feature = "sqlite")), doc = "```ignore")]
//! use axum::{Router, routing::get};
//! use portcullis::axum::{CurrentUser, RouterConfig, router};
//! use portcullis::manager::AuthManager;
//! use portcullis::password::{MultiHasher, PasswordStrategy};
//! use portcullis::sea_orm::SeaOrmBackend;
//! use portcullis::tower::AuthLayer;
//! use portcullis::transport::BearerTransport;
//!
//! async fn hello(CurrentUser(user): CurrentUser) -> String {
//!     format!("hello, {}", user.name) // 401 {"code": "not_authenticated"} without a session
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let backend = SeaOrmBackend::connect("sqlite://app.db?mode=rwc").await?;
//!     backend.migrate().await?; // creates the portcullis_* tables once
//!     let manager =
//!         AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new())).build()?;
//!     let transport = BearerTransport::new(); // `Authorization: Bearer <token>`
//!
//!     let app = Router::new()
//!         .route("/protected", get(hello))
//!         .layer(AuthLayer::new(manager.clone(), transport))
//!         // POST /auth/register, /auth/login, /auth/logout, GET /auth/me, /auth/sessions, ...
//!         .merge(router(manager, transport, RouterConfig::default()));
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! `POST /auth/register` with `{"name", "email", "password"}` answers `201` with the user
//! and a session token; send the token as `Authorization: Bearer <token>` to `/protected`.
//! `docs/http-api.md` in the repository lists every route. For browsers, use
//! [`transport::CookieOrBearer`] instead of the bearer transport.
//!
//! This crate adds no code of its own: each module below is one Portcullis crate, re-exported.
//! Depend on those crates directly when you want one layer alone (a backend author needs only
//! `portcullis-core`, a hyper or tonic user `portcullis-tower`).
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`core`] (and the crate root) | `portcullis-core` | [`User`], [`Session`], [`AuthError`], the store traits, [`Transport`], tokens |
//! | [`password`] | `portcullis-password` | argon2id [`MultiHasher`](password::MultiHasher), [`PasswordPolicy`](password::PasswordPolicy), [`PasswordStrategy`](password::PasswordStrategy) |
//! | [`manager`] | `portcullis-manager` | [`AuthManager`](manager::AuthManager): every auth flow |
//! | [`transport`] | `portcullis-transport` | bearer header, `__Host-` cookie, CSRF guard |
//! | `sea_orm` | `portcullis-sea-orm` | `SeaOrmBackend` on SQLite, PostgreSQL, MySQL |
//! | `tower` | `portcullis-tower` | `AuthLayer`, `RequireAuthLayer`, `RateLimitLayer` |
//! | `axum` | `portcullis-axum` | `CurrentUser` and the other extractors, the `/auth` router |
//!
//! # Trying it without a network
//!
//! The app is a tower service, so a test can call it directly. Same wiring, an in-memory
//! SQLite database:
//!
#![cfg_attr(all(feature = "axum", feature = "sqlite"), doc = "```")]
#![cfg_attr(not(all(feature = "axum", feature = "sqlite")), doc = "```ignore")]
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
//! use portcullis::axum::{CurrentUser, RouterConfig, router};
//! use portcullis::manager::AuthManager;
//! use portcullis::password::{MultiHasher, PasswordStrategy};
//! use portcullis::sea_orm::SeaOrmBackend;
//! use portcullis::tower::AuthLayer;
//! use portcullis::transport::BearerTransport;
//! use tower::ServiceExt; // oneshot
//!
//! # async fn hello(CurrentUser(user): CurrentUser) -> String { format!("hello, {}", user.name) }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let backend = SeaOrmBackend::connect("sqlite::memory:").await?;
//! backend.migrate().await?;
//! let manager = AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new())).build()?;
//! let transport = BearerTransport::new();
//! let app = Router::new()
//!     .route("/protected", get(hello))
//!     .layer(AuthLayer::new(manager.clone(), transport))
//!     .merge(router(manager, transport, RouterConfig::default()));
//!
//! let register = Request::post("/auth/register")
//!     .header("content-type", "application/json")
//!     .body(Body::from(r#"{"name":"Ada","email":"ada@example.com","password":"analytical engine 1843"}"#))?;
//! let response = app.clone().oneshot(register).await?;
//! assert_eq!(response.status(), StatusCode::CREATED);
//!
//! let anonymous = Request::get("/protected").body(Body::empty())?;
//! assert_eq!(app.oneshot(anonymous).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | (always) | | [`core`] (also at the crate root), [`password`] with argon2id, [`manager`], [`transport`] (bearer and cookie), [`adapter`] (what framework adapters share) |
//! | `sea-orm` | yes | `sea_orm`: [`SeaOrmBackend`](https://docs.rs/portcullis-sea-orm) and its migrations, without a database driver |
//! | `sqlite` | yes | `sea-orm` with the SQLite driver (bundled libsqlite3) |
//! | `postgres` | no | `sea-orm` with the PostgreSQL driver |
//! | `mysql` | no | `sea-orm` with the MySQL / MariaDB driver |
//! | `tower` | yes (by `axum`) | `tower`: `AuthLayer`, `RequireAuthLayer`, `RateLimitLayer` for any tower or hyper stack |
//! | `axum` | yes | `axum`: extractors, `ApiError`, the `/auth` router; implies `tower` |
//! | `actix` | no | `actix`: actix-web middleware, extractors and the `/auth` scope |
//! | `bcrypt` | no | `password::BcryptHasher`, and bcrypt verification in `MultiHasher` |
//! | `full` | no | all of the above |
//!
//! **Why this default.** The default is the smallest set with which the example at the top
//! compiles after `cargo add portcullis`: SQLite needs no server (it is the embedded default
//! of the architecture) and axum is the framework the project's demo and HTTP API are built
//! on. The PostgreSQL and MySQL drivers (each a sqlx driver with its TLS and protocol
//! code) and bcrypt (needed only to accept hashes imported from another system) stay off.
//! With another framework or your own backend, turn the default off:
//!
//! ```toml
//! # tower/hyper, PostgreSQL
//! portcullis = { version = "0.1", default-features = false, features = ["tower", "postgres"] }
//! # your own storage backend: contracts, passwords, manager, transports only
//! portcullis = { version = "0.1", default-features = false }
//! ```
//!
//! The manager and the password crate run on tokio (the hashing pool and background mail
//! tasks); the app brings its own runtime, as in the example.

/// Core's public items, listed once for the crate root and for [`core`]. An explicit list
/// rather than a glob: rustdoc inlines everything a glob brings, which would copy the whole
/// documentation of `chrono`, `http` and `uuid` into this crate's.
macro_rules! core_items {
    () => {
        #[doc(inline)]
        pub use portcullis_core::{
            Account, AccountId, AccountStore, AuthError, AuthEvent, AuthEventKind, Backend,
            BoxError, CREDENTIAL_PROVIDER, ClientInfo, Clock, ConflictKind, CredentialStrategy,
            DEFAULT_ROLE, Email, EmailKind, EventId, EventStore, FailedLogins, Mailer, Password,
            PasswordCredentials, PasswordHash, PasswordHasher, SecretString, Session, SessionId,
            SessionStore, StoreError, StoreResult, Strategy, StrategyOutcome, SystemClock,
            TestClock, Token, TokenHash, TokenSource, Transport, UnknownEventKind, User, UserId,
            UserStore, Verification, VerificationId, VerificationStore, VerifyOutcome,
            constant_time_eq, email, to_time_delta, token,
        };
        #[doc(no_inline)]
        pub use portcullis_core::{async_trait, chrono, http, uuid};
    };
}

core_items!();

/// The contracts every layer builds on: domain types, store traits, errors, tokens
/// (`portcullis-core`). The same items are at the root of this crate.
pub mod core {
    core_items!();
}

/// Password hashing (argon2id; bcrypt with the `bcrypt` feature), the password policy and
/// the password strategy (`portcullis-password`).
#[doc(inline)]
pub use portcullis_password as password;

/// [`AuthManager`](manager::AuthManager): registration, login, sessions, verification,
/// reset, lockout, audit, hooks (`portcullis-manager`).
#[doc(inline)]
pub use portcullis_manager as manager;

/// How the session token travels: bearer header, `__Host-` cookie, CSRF guard
/// (`portcullis-transport`).
#[doc(inline)]
pub use portcullis_transport as transport;

/// What every framework adapter shares (`portcullis-http`): the auth gate, the `/auth` API
/// without a framework, `AuthContext`, the error shape. For writing an adapter of your own
/// (`docs/writing-an-adapter.md`).
#[doc(inline)]
pub use portcullis_http as adapter;

/// Storage on SeaORM for SQLite, PostgreSQL and MySQL (`portcullis-sea-orm`; feature
/// `sea-orm`, with a driver from `sqlite`, `postgres`, `mysql`).
///
/// [`SeaOrmBackend::connect`](sea_orm::SeaOrmBackend::connect) takes a database URL
/// (`sqlite://app.db?mode=rwc`, `postgres://…`, `mysql://…`) and
/// [`migrate`](sea_orm::SeaOrmBackend::migrate) creates the `portcullis_*` tables.
#[cfg(feature = "sea-orm")]
pub mod sea_orm {
    #[doc(inline)]
    pub use portcullis_sea_orm::{Migrator, SeaOrmBackend};
    // Links, not copies: inlining would copy SeaORM's whole documentation (and the
    // entities' trait implementations) into this crate's.
    #[doc(no_inline)]
    pub use portcullis_sea_orm::{entity, sea_orm, sea_orm_migration};
}

/// `AuthLayer`, `RequireAuthLayer` and `RateLimitLayer` for any tower stack
/// (`portcullis-tower`; feature `tower`).
#[cfg(feature = "tower")]
#[doc(inline)]
pub use portcullis_tower as tower;

/// axum extractors, JSON errors and the ready-made `/auth` router (`portcullis-axum`;
/// feature `axum`).
#[cfg(feature = "axum")]
#[doc(inline)]
pub use portcullis_axum as axum;

/// actix-web middleware, extractors and the `/auth` API scope (`portcullis-actix`; feature
/// `actix`).
#[cfg(feature = "actix")]
#[doc(inline)]
pub use portcullis_actix as actix;
