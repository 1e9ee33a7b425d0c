//! The Portcullis storage backend on [SeaORM](https://www.sea-ql.org/SeaORM/): users,
//! credentials, sessions, verification tokens and the audit log in SQLite (the embedded
//! default), PostgreSQL or MySQL/MariaDB. [`SeaOrmBackend`] implements every store trait of
//! `portcullis-core`, so it is a [`portcullis_core::Backend`] the manager can run on; the
//! schema ships as `sea-orm-migration` migrations that [`SeaOrmBackend::migrate`] applies.
//!
//! # Example
//!
//! ```
//! use portcullis_core::{SystemClock, Clock, User, UserStore};
//! use portcullis_sea_orm::SeaOrmBackend;
//!
//! # async fn run() -> Result<(), portcullis_core::StoreError> {
//! let backend = SeaOrmBackend::connect("sqlite::memory:").await?;
//! backend.migrate().await?;
//!
//! let user = User::new("Ada", "ada@example.com", SystemClock.now());
//! backend.create_user(&user).await?;
//!
//! let found = backend.find_user_by_email("ada@example.com").await?;
//! assert_eq!(found.map(|u| u.id), Some(user.id));
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
//! ```
//!
//! # Feature flags
//!
//! Each feature enables one sqlx driver in SeaORM; enable the ones your deployment uses.
//!
//! | feature | default | database | URL |
//! |---|---|---|---|
//! | `sqlite` | yes | SQLite (bundled libsqlite3) | `sqlite://path/to/file.db?mode=rwc`, `sqlite::memory:` |
//! | `postgres` | no | PostgreSQL | `postgres://user:password@host/db` |
//! | `mysql` | no | MySQL and MariaDB | `mysql://user:password@host/db` |
//!
//! `testing` (off by default) adds [`testing`]: fresh migrated backends for
//! test suites, with a scratch database per call on PostgreSQL and MySQL.
//!
//! # Schema
//!
//! Five tables, prefixed so they can share a database with an application's own:
//! `portcullis_user`, `portcullis_account`, `portcullis_session`, `portcullis_verification`,
//! `portcullis_auth_event` (see [`entity`]). Applied migrations are recorded in
//! `portcullis_migrations` (see [`Migrator`]). Tokens are stored only as the lowercase hex
//! SHA-256 of the token. Timestamps keep microseconds on every database.

mod backend;
mod convert;
pub mod entity;
mod error;
mod migration;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(inline)]
pub use backend::SeaOrmBackend;
#[doc(inline)]
pub use migration::Migrator;

/// The SeaORM version this crate is built on, for [`SeaOrmBackend::new`] and queries on
/// [`entity`].
pub use sea_orm;
/// The `sea-orm-migration` version [`Migrator`] implements `MigratorTrait` of.
pub use sea_orm_migration;
