//! SeaORM entities for Portcullis' tables, one module per table.
//!
//! The backend reads and writes these; they are public so an application that already uses
//! SeaORM can query the same tables (an admin screen listing users, a report over the audit
//! log) without a second schema definition. Treat the columns as the schema of record: they
//! change only with a new migration.
//!
//! Table names carry a `portcullis_` prefix, so the tables sit next to an application's own
//! in one database (and `user`, a reserved word in PostgreSQL, is never a bare identifier).
//!
//! ```
//! use portcullis_sea_orm::entity::prelude::{User, UserColumn};
//! use portcullis_sea_orm::sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait};
//!
//! let query = User::find().filter(UserColumn::Email.eq("ada@example.com"));
//! let sql = query.build(DbBackend::Postgres).to_string();
//! assert!(sql.contains(r#"FROM "portcullis_user""#), "{sql}");
//! ```

pub mod account;
pub mod auth_event;
pub mod prelude;
pub mod session;
pub mod user;
pub mod verification;
