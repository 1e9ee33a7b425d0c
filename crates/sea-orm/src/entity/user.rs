//! `portcullis_user`: people who can sign in. No password here (see [`super::account`]).

use sea_orm::entity::prelude::{
    ActiveModelBehavior, DateTimeWithTimeZone, DeriveEntityModel, DerivePrimaryKey, DeriveRelation,
    EntityTrait, EnumIter, PrimaryKeyTrait, Related, RelationDef, RelationTrait, Uuid,
};

/// One user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portcullis_user")]
pub struct Model {
    /// Stable id (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display name.
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// Normalised email address; unique (index `uq_portcullis_user_email`).
    #[sea_orm(unique)]
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Normalised username; unique when set (index `uq_portcullis_user_username`).
    #[sea_orm(unique)]
    pub username: Option<String>,
    /// Avatar URL.
    #[sea_orm(column_type = "Text")]
    pub image: Option<String>,
    /// Role name.
    pub role: String,
    /// A disabled user cannot sign in.
    pub disabled: bool,
    /// Registration time.
    pub created_at: DateTimeWithTimeZone,
    /// Last change.
    pub updated_at: DateTimeWithTimeZone,
}

/// Tables that point at a user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user's sign-in methods.
    #[sea_orm(has_many = "super::account::Entity")]
    Account,
    /// The user's sessions.
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
    /// Audit events about the user.
    #[sea_orm(has_many = "super::auth_event::Entity")]
    AuthEvent,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl Related<super::auth_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthEvent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
