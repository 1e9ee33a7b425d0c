//! Schema migrations (`sea-orm-migration`), run by [`SeaOrmBackend::migrate`](crate::SeaOrmBackend::migrate).
//!
//! Applied migrations are recorded in their own table, `portcullis_migrations`, so an
//! application that keeps its own SeaORM migrations in the same database (in the default
//! `seaql_migrations` table) never sees ours as unknown, and the reverse.

use sea_orm_migration::sea_query::{Alias, DynIden, IntoIden};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20261101_000001_create_tables;

/// Every Portcullis migration, oldest first.
///
/// [`SeaOrmBackend::migrate`](crate::SeaOrmBackend::migrate) applies the pending ones; the
/// [`MigratorTrait`] methods (`status`, `down`, ...) are there for operators.
///
/// ```
/// use portcullis_sea_orm::Migrator;
/// use portcullis_sea_orm::sea_orm_migration::MigratorTrait;
///
/// assert!(!Migrator::migrations().is_empty());
/// assert_eq!(Migrator::migration_table_name().to_string(), "portcullis_migrations");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261101_000001_create_tables::Migration)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("portcullis_migrations").into_iden()
    }
}
