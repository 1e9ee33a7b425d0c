//! `portcullis_account`: sign-in methods (the password, OAuth identities) and the
//! failed-login counter of the credential account.

use sea_orm::entity::prelude::{
    ActiveModelBehavior, DateTimeWithTimeZone, DeriveEntityModel, DerivePrimaryKey, DeriveRelation,
    EntityTrait, EnumIter, PrimaryKeyTrait, Related, RelationDef, RelationTrait, Uuid,
};

/// One account row. Unique on `(provider_id, account_id)`
/// (index `uq_portcullis_account_provider_account`).
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portcullis_account")]
pub struct Model {
    /// Stable id (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owner; deleting the user deletes the account.
    pub user_id: Uuid,
    /// `"credential"` or the OAuth provider.
    pub provider_id: String,
    /// The user's id at the provider (the user id for credentials).
    pub account_id: String,
    /// PHC or bcrypt password hash (credential accounts only). Secret.
    #[sea_orm(column_type = "Text")]
    pub password: Option<String>,
    /// OAuth access token. Secret.
    #[sea_orm(column_type = "Text")]
    pub access_token: Option<String>,
    /// OAuth refresh token. Secret.
    #[sea_orm(column_type = "Text")]
    pub refresh_token: Option<String>,
    /// OIDC id token. Secret.
    #[sea_orm(column_type = "Text")]
    pub id_token: Option<String>,
    /// When the access token expires.
    pub access_token_expires_at: Option<DateTimeWithTimeZone>,
    /// When the refresh token expires.
    pub refresh_token_expires_at: Option<DateTimeWithTimeZone>,
    /// Granted scopes, space separated.
    #[sea_orm(column_type = "Text")]
    pub scope: Option<String>,
    /// Failed password attempts in the current window.
    pub failed_login_count: i32,
    /// When the current failure window started; `None` when no failures are recorded.
    pub failed_login_window_start: Option<DateTimeWithTimeZone>,
    /// Created.
    pub created_at: DateTimeWithTimeZone,
    /// Last changed.
    pub updated_at: DateTimeWithTimeZone,
}

// Secrets never reach a log line: the hash and tokens print as `[redacted]`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn redact(secret: Option<&String>) -> Option<&'static str> {
            secret.map(|_| "[redacted]")
        }
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("provider_id", &self.provider_id)
            .field("account_id", &self.account_id)
            .field("password", &redact(self.password.as_ref()))
            .field("access_token", &redact(self.access_token.as_ref()))
            .field("refresh_token", &redact(self.refresh_token.as_ref()))
            .field("id_token", &redact(self.id_token.as_ref()))
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field("refresh_token_expires_at", &self.refresh_token_expires_at)
            .field("scope", &self.scope)
            .field("failed_login_count", &self.failed_login_count)
            .field("failed_login_window_start", &self.failed_login_window_start)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// The account's owner.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user this account signs in.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
