//! `portcullis_verification`: single-use tokens (email verification, password reset),
//! stored hashed.

use sea_orm::entity::prelude::{
    ActiveModelBehavior, DateTimeWithTimeZone, DeriveEntityModel, DerivePrimaryKey, DeriveRelation,
    EntityTrait, EnumIter, PrimaryKeyTrait, Uuid,
};

/// One verification row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portcullis_verification")]
pub struct Model {
    /// Stable id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `"<purpose>:<subject>"` (indexed).
    pub identifier: String,
    /// Lowercase hex SHA-256 of the token; unique (index `uq_portcullis_verification_value_hash`).
    #[sea_orm(unique)]
    pub value_hash: String,
    /// After this instant the token is refused (indexed, for purges).
    pub expires_at: DateTimeWithTimeZone,
    /// Created.
    pub created_at: DateTimeWithTimeZone,
}

/// Verifications relate to no other table (the subject lives in the identifier).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
