//! Conversions between core's domain types and the entity models.
//!
//! Timestamps are truncated to whole microseconds on the way in: that is what PostgreSQL and
//! MySQL `DATETIME(6)` keep, so every database returns exactly what it was given (SQLite
//! would keep nanoseconds, MySQL would round them).
//!
//! They travel as `DateTime<FixedOffset>` (always at offset zero), not `DateTime<Utc>`: for
//! MySQL, sqlx sends a `DateTime<Utc>` parameter typed `TIMESTAMP`, which the server
//! range-checks as one and turns into NULL from 2038-01-19 03:14:08 on, while SeaORM sends
//! the fixed-offset form as a plain date-time string that `DATETIME(6)` takes up to year 9999.
//! PostgreSQL receives `timestamptz` either way, and SQLite the same RFC 3339 text.

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use portcullis_core::{
    Account, AccountId, AuthEvent, AuthEventKind, EventId, PasswordHash, SecretString, Session,
    SessionId, StoreError, TokenHash, User, UserId, Verification, VerificationId,
};
use sea_orm::ActiveValue::Set;

use crate::entity::{account, auth_event, session, user, verification};

/// A timestamp as stored and bound: whole microseconds, offset zero (see the module docs).
pub(crate) fn ts(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.trunc_subsecs(6).fixed_offset()
}

/// A stored timestamp back in UTC.
pub(crate) fn utc(at: DateTime<FixedOffset>) -> DateTime<Utc> {
    at.with_timezone(&Utc)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::backend(format!("corrupt row: {what}"))
}

pub(crate) fn user_active(user: &User) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(user.id.as_uuid()),
        name: Set(user.name.clone()),
        email: Set(user.email.clone()),
        email_verified: Set(user.email_verified),
        username: Set(user.username.clone()),
        image: Set(user.image.clone()),
        role: Set(user.role.clone()),
        disabled: Set(user.disabled),
        created_at: Set(ts(user.created_at)),
        updated_at: Set(ts(user.updated_at)),
    }
}

pub(crate) fn user_from(model: user::Model) -> User {
    User {
        id: UserId::from_uuid(model.id),
        name: model.name,
        email: model.email,
        email_verified: model.email_verified,
        username: model.username,
        image: model.image,
        role: model.role,
        disabled: model.disabled,
        created_at: utc(model.created_at),
        updated_at: utc(model.updated_at),
    }
}

pub(crate) fn account_active(account: &Account) -> account::ActiveModel {
    let secret = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose().to_owned());
    account::ActiveModel {
        id: Set(account.id.as_uuid()),
        user_id: Set(account.user_id.as_uuid()),
        provider_id: Set(account.provider_id.clone()),
        account_id: Set(account.account_id.clone()),
        password: Set(account.password.as_ref().map(|p| p.expose().to_owned())),
        access_token: Set(secret(&account.access_token)),
        refresh_token: Set(secret(&account.refresh_token)),
        id_token: Set(secret(&account.id_token)),
        access_token_expires_at: Set(account.access_token_expires_at.map(ts)),
        refresh_token_expires_at: Set(account.refresh_token_expires_at.map(ts)),
        scope: Set(account.scope.clone()),
        failed_login_count: Set(0),
        failed_login_window_start: Set(None),
        created_at: Set(ts(account.created_at)),
        updated_at: Set(ts(account.updated_at)),
    }
}

pub(crate) fn account_from(model: account::Model) -> Account {
    Account {
        id: AccountId::from_uuid(model.id),
        user_id: UserId::from_uuid(model.user_id),
        provider_id: model.provider_id,
        account_id: model.account_id,
        password: model.password.map(PasswordHash::new),
        access_token: model.access_token.map(SecretString::new),
        refresh_token: model.refresh_token.map(SecretString::new),
        id_token: model.id_token.map(SecretString::new),
        access_token_expires_at: model.access_token_expires_at.map(utc),
        refresh_token_expires_at: model.refresh_token_expires_at.map(utc),
        scope: model.scope,
        created_at: utc(model.created_at),
        updated_at: utc(model.updated_at),
    }
}

pub(crate) fn session_active(session: &Session) -> session::ActiveModel {
    session::ActiveModel {
        id: Set(session.id.as_uuid()),
        token_hash: Set(session.token_hash.to_hex()),
        user_id: Set(session.user_id.as_uuid()),
        expires_at: Set(ts(session.expires_at)),
        absolute_expires_at: Set(ts(session.absolute_expires_at)),
        ip_address: Set(session.ip_address.clone()),
        user_agent: Set(session.user_agent.clone()),
        created_at: Set(ts(session.created_at)),
        last_seen_at: Set(ts(session.last_seen_at)),
    }
}

pub(crate) fn session_from(model: session::Model) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId::from_uuid(model.id),
        token_hash: TokenHash::from_hex(&model.token_hash)
            .ok_or_else(|| corrupt("session token hash is not 64 hex digits"))?,
        user_id: UserId::from_uuid(model.user_id),
        expires_at: utc(model.expires_at),
        absolute_expires_at: utc(model.absolute_expires_at),
        ip_address: model.ip_address,
        user_agent: model.user_agent,
        created_at: utc(model.created_at),
        last_seen_at: utc(model.last_seen_at),
    })
}

pub(crate) fn verification_active(v: &Verification) -> verification::ActiveModel {
    verification::ActiveModel {
        id: Set(v.id.as_uuid()),
        identifier: Set(v.identifier.clone()),
        value_hash: Set(v.value_hash.to_hex()),
        expires_at: Set(ts(v.expires_at)),
        created_at: Set(ts(v.created_at)),
    }
}

pub(crate) fn verification_from(model: verification::Model) -> Result<Verification, StoreError> {
    Ok(Verification {
        id: VerificationId::from_uuid(model.id),
        identifier: model.identifier,
        value_hash: TokenHash::from_hex(&model.value_hash)
            .ok_or_else(|| corrupt("verification value hash is not 64 hex digits"))?,
        expires_at: utc(model.expires_at),
        created_at: utc(model.created_at),
    })
}

pub(crate) fn event_active(event: &AuthEvent) -> auth_event::ActiveModel {
    auth_event::ActiveModel {
        id: Set(event.id.as_uuid()),
        user_id: Set(event.user_id.map(|id| id.as_uuid())),
        kind: Set(event.kind.as_str().to_owned()),
        ip_address: Set(event.ip_address.clone()),
        user_agent: Set(event.user_agent.clone()),
        created_at: Set(ts(event.created_at)),
    }
}

pub(crate) fn event_from(model: auth_event::Model) -> Result<AuthEvent, StoreError> {
    Ok(AuthEvent {
        id: EventId::from_uuid(model.id),
        user_id: model.user_id.map(UserId::from_uuid),
        kind: model
            .kind
            .parse::<AuthEventKind>()
            .map_err(StoreError::backend)?,
        ip_address: model.ip_address,
        user_agent: model.user_agent,
        created_at: utc(model.created_at),
    })
}
