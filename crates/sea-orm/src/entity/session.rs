//! `portcullis_session`: server-side sessions, looked up by the SHA-256 of their token.

use sea_orm::entity::prelude::{
    ActiveModelBehavior, DateTimeWithTimeZone, DeriveEntityModel, DerivePrimaryKey, DeriveRelation,
    EntityTrait, EnumIter, PrimaryKeyTrait, Related, RelationDef, RelationTrait, Uuid,
};

/// One session row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portcullis_session")]
pub struct Model {
    /// Stable id, safe to show and revoke by.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lowercase hex SHA-256 of the token (64 characters); unique
    /// (index `uq_portcullis_session_token_hash`). The token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Owner; deleting the user deletes the session.
    pub user_id: Uuid,
    /// Idle expiry (indexed, for purges).
    pub expires_at: DateTimeWithTimeZone,
    /// Absolute expiry.
    pub absolute_expires_at: DateTimeWithTimeZone,
    /// Client address at creation.
    pub ip_address: Option<String>,
    /// Client user agent at creation.
    #[sea_orm(column_type = "Text")]
    pub user_agent: Option<String>,
    /// Login time.
    pub created_at: DateTimeWithTimeZone,
    /// Last time a request touched the row.
    pub last_seen_at: DateTimeWithTimeZone,
}

/// The session's owner.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The signed-in user.
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
