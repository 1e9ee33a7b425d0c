//! The entities under short names: `User`, `UserModel`, `UserColumn`, and so on per table.

pub use super::account::{
    ActiveModel as AccountActiveModel, Column as AccountColumn, Entity as Account,
    Model as AccountModel,
};
pub use super::auth_event::{
    ActiveModel as AuthEventActiveModel, Column as AuthEventColumn, Entity as AuthEvent,
    Model as AuthEventModel,
};
pub use super::session::{
    ActiveModel as SessionActiveModel, Column as SessionColumn, Entity as Session,
    Model as SessionModel,
};
pub use super::user::{
    ActiveModel as UserActiveModel, Column as UserColumn, Entity as User, Model as UserModel,
};
pub use super::verification::{
    ActiveModel as VerificationActiveModel, Column as VerificationColumn, Entity as Verification,
    Model as VerificationModel,
};
