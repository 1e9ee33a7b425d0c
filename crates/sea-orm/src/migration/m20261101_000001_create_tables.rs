//! The initial schema: users, accounts, sessions, verifications and the audit log.
//!
//! Column types are chosen per database where the portable choice is wrong:
//! - Timestamps are `timestamptz` on PostgreSQL (microseconds), `DATETIME(6)` on MySQL
//!   (microseconds, years 1000-9999; sea-query's portable `timestamp with time zone` becomes
//!   MySQL `TIMESTAMP`, which ends in 2038 and keeps whole seconds), and RFC 3339 text on
//!   SQLite (written by sqlx in one format, so text order is time order).
//! - MySQL tables use `utf8mb4_bin`: the default collations compare case- and
//!   accent-insensitively, which would make `jose@example.com` find `josé@example.com`.
//!   Emails are normalised by core before they reach storage, so exact comparison is right.
//!
//! Unique indexes are named after what they protect (`..._email`, `..._username`,
//! `..._provider_account`): the error mapping derives the conflict kind from the name.

use sea_orm::{DbBackend, DeriveIden, DeriveMigrationName};
use sea_orm_migration::sea_query::{
    Alias, ColumnDef, ForeignKey, ForeignKeyAction, Index, IndexCreateStatement, IntoIden, Table,
    TableCreateStatement,
};
use sea_orm_migration::{DbErr, MigrationTrait, SchemaManager, async_trait};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PortcullisUser {
    Table,
    Id,
    Name,
    Email,
    EmailVerified,
    Username,
    Image,
    Role,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortcullisAccount {
    Table,
    Id,
    UserId,
    ProviderId,
    AccountId,
    Password,
    AccessToken,
    RefreshToken,
    IdToken,
    AccessTokenExpiresAt,
    RefreshTokenExpiresAt,
    Scope,
    FailedLoginCount,
    FailedLoginWindowStart,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortcullisSession {
    Table,
    Id,
    TokenHash,
    UserId,
    ExpiresAt,
    AbsoluteExpiresAt,
    IpAddress,
    UserAgent,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum PortcullisVerification {
    Table,
    Id,
    Identifier,
    ValueHash,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PortcullisAuthEvent {
    Table,
    Id,
    UserId,
    Kind,
    IpAddress,
    UserAgent,
    CreatedAt,
}

/// Short strings that are compared or indexed (emails, usernames, provider ids).
const SHORT: u32 = 255;
/// Lowercase hex SHA-256.
const HASH_HEX: u32 = 64;

/// Builds column definitions for one database.
#[derive(Clone, Copy)]
struct Cols(DbBackend);

impl Cols {
    fn uuid_pk<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.uuid().not_null().primary_key();
        def
    }

    fn uuid<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.uuid().not_null();
        def
    }

    fn uuid_null<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.uuid().null();
        def
    }

    fn string<T: IntoIden>(self, name: T, len: u32) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.string_len(len).not_null();
        def
    }

    fn string_null<T: IntoIden>(self, name: T, len: u32) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.string_len(len).null();
        def
    }

    fn text<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.text().not_null();
        def
    }

    fn text_null<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.text().null();
        def
    }

    fn boolean<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        def.boolean().not_null();
        def
    }

    fn timestamp_type(self, def: &mut ColumnDef) {
        match self.0 {
            DbBackend::MySql => {
                def.custom(Alias::new("DATETIME(6)"));
            }
            // PostgreSQL: timestamptz (microseconds). SQLite: the affinity is irrelevant;
            // sqlx writes RFC 3339 text.
            _ => {
                def.timestamp_with_time_zone();
            }
        }
    }

    fn timestamp<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        self.timestamp_type(&mut def);
        def.not_null();
        def
    }

    fn timestamp_null<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut def = ColumnDef::new(name);
        self.timestamp_type(&mut def);
        def.null();
        def
    }

    /// Table options: binary collation on MySQL (see the module docs).
    fn table(self, stmt: &mut TableCreateStatement) -> TableCreateStatement {
        if self.0 == DbBackend::MySql {
            stmt.engine("InnoDB")
                .character_set("utf8mb4")
                .collate("utf8mb4_bin");
        }
        stmt.take()
    }
}

fn index(name: &str) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name);
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let c = Cols(manager.get_database_backend());

        manager
            .create_table(
                c.table(
                    Table::create()
                        .table(PortcullisUser::Table)
                        .col(c.uuid_pk(PortcullisUser::Id))
                        .col(c.text(PortcullisUser::Name))
                        .col(c.string(PortcullisUser::Email, SHORT))
                        .col(c.boolean(PortcullisUser::EmailVerified))
                        .col(c.string_null(PortcullisUser::Username, SHORT))
                        .col(c.text_null(PortcullisUser::Image))
                        .col(c.string(PortcullisUser::Role, SHORT))
                        .col(c.boolean(PortcullisUser::Disabled))
                        .col(c.timestamp(PortcullisUser::CreatedAt))
                        .col(c.timestamp(PortcullisUser::UpdatedAt)),
                ),
            )
            .await?;
        manager
            .create_index(
                index("uq_portcullis_user_email")
                    .table(PortcullisUser::Table)
                    .col(PortcullisUser::Email)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("uq_portcullis_user_username")
                    .table(PortcullisUser::Table)
                    .col(PortcullisUser::Username)
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                c.table(
                    Table::create()
                        .table(PortcullisAccount::Table)
                        .col(c.uuid_pk(PortcullisAccount::Id))
                        .col(c.uuid(PortcullisAccount::UserId))
                        .col(c.string(PortcullisAccount::ProviderId, SHORT))
                        .col(c.string(PortcullisAccount::AccountId, SHORT))
                        .col(c.text_null(PortcullisAccount::Password))
                        .col(c.text_null(PortcullisAccount::AccessToken))
                        .col(c.text_null(PortcullisAccount::RefreshToken))
                        .col(c.text_null(PortcullisAccount::IdToken))
                        .col(c.timestamp_null(PortcullisAccount::AccessTokenExpiresAt))
                        .col(c.timestamp_null(PortcullisAccount::RefreshTokenExpiresAt))
                        .col(c.text_null(PortcullisAccount::Scope))
                        .col(
                            ColumnDef::new(PortcullisAccount::FailedLoginCount)
                                .integer()
                                .not_null()
                                .default(0),
                        )
                        .col(c.timestamp_null(PortcullisAccount::FailedLoginWindowStart))
                        .col(c.timestamp(PortcullisAccount::CreatedAt))
                        .col(c.timestamp(PortcullisAccount::UpdatedAt))
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_portcullis_account_user")
                                .from(PortcullisAccount::Table, PortcullisAccount::UserId)
                                .to(PortcullisUser::Table, PortcullisUser::Id)
                                .on_delete(ForeignKeyAction::Cascade)
                                .on_update(ForeignKeyAction::Cascade),
                        ),
                ),
            )
            .await?;
        manager
            .create_index(
                index("uq_portcullis_account_provider_account")
                    .table(PortcullisAccount::Table)
                    .col(PortcullisAccount::ProviderId)
                    .col(PortcullisAccount::AccountId)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("ix_portcullis_account_user_id")
                    .table(PortcullisAccount::Table)
                    .col(PortcullisAccount::UserId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                c.table(
                    Table::create()
                        .table(PortcullisSession::Table)
                        .col(c.uuid_pk(PortcullisSession::Id))
                        .col(c.string(PortcullisSession::TokenHash, HASH_HEX))
                        .col(c.uuid(PortcullisSession::UserId))
                        .col(c.timestamp(PortcullisSession::ExpiresAt))
                        .col(c.timestamp(PortcullisSession::AbsoluteExpiresAt))
                        .col(c.string_null(PortcullisSession::IpAddress, SHORT))
                        .col(c.text_null(PortcullisSession::UserAgent))
                        .col(c.timestamp(PortcullisSession::CreatedAt))
                        .col(c.timestamp(PortcullisSession::LastSeenAt))
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_portcullis_session_user")
                                .from(PortcullisSession::Table, PortcullisSession::UserId)
                                .to(PortcullisUser::Table, PortcullisUser::Id)
                                .on_delete(ForeignKeyAction::Cascade)
                                .on_update(ForeignKeyAction::Cascade),
                        ),
                ),
            )
            .await?;
        manager
            .create_index(
                index("uq_portcullis_session_token_hash")
                    .table(PortcullisSession::Table)
                    .col(PortcullisSession::TokenHash)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("ix_portcullis_session_user_id")
                    .table(PortcullisSession::Table)
                    .col(PortcullisSession::UserId)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("ix_portcullis_session_expires_at")
                    .table(PortcullisSession::Table)
                    .col(PortcullisSession::ExpiresAt)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                c.table(
                    Table::create()
                        .table(PortcullisVerification::Table)
                        .col(c.uuid_pk(PortcullisVerification::Id))
                        .col(c.string(PortcullisVerification::Identifier, SHORT))
                        .col(c.string(PortcullisVerification::ValueHash, HASH_HEX))
                        .col(c.timestamp(PortcullisVerification::ExpiresAt))
                        .col(c.timestamp(PortcullisVerification::CreatedAt)),
                ),
            )
            .await?;
        manager
            .create_index(
                index("uq_portcullis_verification_value_hash")
                    .table(PortcullisVerification::Table)
                    .col(PortcullisVerification::ValueHash)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("ix_portcullis_verification_identifier")
                    .table(PortcullisVerification::Table)
                    .col(PortcullisVerification::Identifier)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("ix_portcullis_verification_expires_at")
                    .table(PortcullisVerification::Table)
                    .col(PortcullisVerification::ExpiresAt)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                c.table(
                    Table::create()
                        .table(PortcullisAuthEvent::Table)
                        .col(c.uuid_pk(PortcullisAuthEvent::Id))
                        .col(c.uuid_null(PortcullisAuthEvent::UserId))
                        .col(c.string(PortcullisAuthEvent::Kind, SHORT))
                        .col(c.string_null(PortcullisAuthEvent::IpAddress, SHORT))
                        .col(c.text_null(PortcullisAuthEvent::UserAgent))
                        .col(c.timestamp(PortcullisAuthEvent::CreatedAt))
                        .foreign_key(
                            ForeignKey::create()
                                .name("fk_portcullis_auth_event_user")
                                .from(PortcullisAuthEvent::Table, PortcullisAuthEvent::UserId)
                                .to(PortcullisUser::Table, PortcullisUser::Id)
                                .on_delete(ForeignKeyAction::SetNull)
                                .on_update(ForeignKeyAction::Cascade),
                        ),
                ),
            )
            .await?;
        manager
            .create_index(
                index("ix_portcullis_auth_event_user_created")
                    .table(PortcullisAuthEvent::Table)
                    .col(PortcullisAuthEvent::UserId)
                    .col(PortcullisAuthEvent::CreatedAt)
                    .take(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Alias::new("portcullis_auth_event"),
            Alias::new("portcullis_verification"),
            Alias::new("portcullis_session"),
            Alias::new("portcullis_account"),
            Alias::new("portcullis_user"),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
