//! `portcullis_auth_event`: the audit log.

use sea_orm::entity::prelude::{
    ActiveModelBehavior, DateTimeWithTimeZone, DeriveEntityModel, DerivePrimaryKey, DeriveRelation,
    EntityTrait, EnumIter, PrimaryKeyTrait, Related, RelationDef, RelationTrait, Uuid,
};

/// One audit event row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portcullis_auth_event")]
pub struct Model {
    /// Stable id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user concerned; set to `NULL` when the user is deleted.
    pub user_id: Option<Uuid>,
    /// [`AuthEventKind::as_str`](portcullis_core::AuthEventKind::as_str), e.g. `"login_failed"`.
    pub kind: String,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    #[sea_orm(column_type = "Text")]
    pub user_agent: Option<String>,
    /// When it happened.
    pub created_at: DateTimeWithTimeZone,
}

/// The user an event is about.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user concerned, if any.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
