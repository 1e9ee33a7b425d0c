//! What one line of the log holds: the mutations, and the serialisable forms of core's
//! records.
//!
//! Core's `Account`, `Session`, `Verification` and `AuthEvent` deliberately have no serde
//! derives (they hold secrets and should not end up in a JSON response by accident), so a
//! backend that writes its own format mirrors them here. Token hashes are written as hex;
//! the tokens themselves are never seen by storage.

use portcullis_core::chrono::{DateTime, Utc};
use portcullis_core::{
    Account, AccountId, AuthEvent, AuthEventKind, EventId, FailedLogins, PasswordHash,
    SecretString, Session, SessionId, TokenHash, User, UserId, Verification, VerificationId,
};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One mutation. A log line is a JSON array of them, applied all or nothing.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Entry {
    /// Insert or replace a user (matched by id).
    PutUser { user: User },
    /// Delete a user with their accounts and sessions; their events keep no user id.
    DeleteUser { id: UserId },
    /// Insert or replace an account, failed-login counter included.
    PutAccount { account: AccountRecord },
    /// Insert or replace a session.
    PutSession { session: SessionRecord },
    /// Delete sessions.
    DeleteSessions { ids: Vec<SessionId> },
    /// Insert a verification.
    PutVerification { verification: VerificationRecord },
    /// Delete verifications.
    DeleteVerifications { ids: Vec<VerificationId> },
    /// Append an audit event.
    AppendEvent { event: EventRecord },
}

/// A SHA-256 token hash, written as 64 lowercase hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct HashHex(pub(crate) [u8; 32]);

impl From<&TokenHash> for HashHex {
    fn from(hash: &TokenHash) -> Self {
        Self(*hash.as_bytes())
    }
}

impl Serialize for HashHex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&TokenHash::from_bytes(self.0).to_hex())
    }
}

impl<'de> Deserialize<'de> for HashHex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = String::deserialize(deserializer)?;
        TokenHash::from_hex(&hex)
            .map(|hash| Self(*hash.as_bytes()))
            .ok_or_else(|| D::Error::custom("expected 64 hex characters"))
    }
}

/// An event kind, written by its stable name (`"login_failed"`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind(pub(crate) AuthEventKind);

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map(Self).map_err(D::Error::custom)
    }
}

/// The failed-login window of a credential account.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct FailedRecord {
    count: u32,
    window_started_at: DateTime<Utc>,
}

impl From<FailedLogins> for FailedRecord {
    fn from(failed: FailedLogins) -> Self {
        Self {
            count: failed.count,
            window_started_at: failed.window_started_at,
        }
    }
}

impl From<FailedRecord> for FailedLogins {
    fn from(record: FailedRecord) -> Self {
        Self {
            count: record.count,
            window_started_at: record.window_started_at,
        }
    }
}

/// An account. The password hash and OAuth tokens are secrets that must be persisted: they
/// are written as they are, which is why the file is created readable by its owner only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccountRecord {
    pub(crate) id: AccountId,
    pub(crate) user_id: UserId,
    pub(crate) provider_id: String,
    pub(crate) account_id: String,
    pub(crate) password: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    id_token: Option<String>,
    access_token_expires_at: Option<DateTime<Utc>>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
    scope: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    /// Failed password attempts in the current window (credential accounts only).
    pub(crate) failed: Option<FailedRecord>,
}

fn expose(secret: Option<&SecretString>) -> Option<String> {
    secret.map(|secret| secret.expose().to_owned())
}

impl From<&Account> for AccountRecord {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id,
            user_id: account.user_id,
            provider_id: account.provider_id.clone(),
            account_id: account.account_id.clone(),
            password: account
                .password
                .as_ref()
                .map(|hash| hash.expose().to_owned()),
            access_token: expose(account.access_token.as_ref()),
            refresh_token: expose(account.refresh_token.as_ref()),
            id_token: expose(account.id_token.as_ref()),
            access_token_expires_at: account.access_token_expires_at,
            refresh_token_expires_at: account.refresh_token_expires_at,
            scope: account.scope.clone(),
            created_at: account.created_at,
            updated_at: account.updated_at,
            failed: None,
        }
    }
}

impl From<&AccountRecord> for Account {
    fn from(record: &AccountRecord) -> Self {
        Self {
            id: record.id,
            user_id: record.user_id,
            provider_id: record.provider_id.clone(),
            account_id: record.account_id.clone(),
            password: record.password.clone().map(PasswordHash::new),
            access_token: record.access_token.clone().map(SecretString::new),
            refresh_token: record.refresh_token.clone().map(SecretString::new),
            id_token: record.id_token.clone().map(SecretString::new),
            access_token_expires_at: record.access_token_expires_at,
            refresh_token_expires_at: record.refresh_token_expires_at,
            scope: record.scope.clone(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// A session: the token's hash, never the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub(crate) id: SessionId,
    pub(crate) token_hash: HashHex,
    pub(crate) user_id: UserId,
    pub(crate) expires_at: DateTime<Utc>,
    absolute_expires_at: DateTime<Utc>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_seen_at: DateTime<Utc>,
}

impl From<&Session> for SessionRecord {
    fn from(session: &Session) -> Self {
        Self {
            id: session.id,
            token_hash: HashHex::from(&session.token_hash),
            user_id: session.user_id,
            expires_at: session.expires_at,
            absolute_expires_at: session.absolute_expires_at,
            ip_address: session.ip_address.clone(),
            user_agent: session.user_agent.clone(),
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
        }
    }
}

impl From<&SessionRecord> for Session {
    fn from(record: &SessionRecord) -> Self {
        Self {
            id: record.id,
            token_hash: TokenHash::from_bytes(record.token_hash.0),
            user_id: record.user_id,
            expires_at: record.expires_at,
            absolute_expires_at: record.absolute_expires_at,
            ip_address: record.ip_address.clone(),
            user_agent: record.user_agent.clone(),
            created_at: record.created_at,
            last_seen_at: record.last_seen_at,
        }
    }
}

/// A single-use token's record: the hash of the value sent by mail, never the value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VerificationRecord {
    pub(crate) id: VerificationId,
    pub(crate) identifier: String,
    pub(crate) value_hash: HashHex,
    pub(crate) expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl From<&Verification> for VerificationRecord {
    fn from(verification: &Verification) -> Self {
        Self {
            id: verification.id,
            identifier: verification.identifier.clone(),
            value_hash: HashHex::from(&verification.value_hash),
            expires_at: verification.expires_at,
            created_at: verification.created_at,
        }
    }
}

impl From<&VerificationRecord> for Verification {
    fn from(record: &VerificationRecord) -> Self {
        Self {
            id: record.id,
            identifier: record.identifier.clone(),
            value_hash: TokenHash::from_bytes(record.value_hash.0),
            expires_at: record.expires_at,
            created_at: record.created_at,
        }
    }
}

/// An audit event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventRecord {
    pub(crate) id: EventId,
    pub(crate) user_id: Option<UserId>,
    kind: Kind,
    ip_address: Option<String>,
    user_agent: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

impl From<&AuthEvent> for EventRecord {
    fn from(event: &AuthEvent) -> Self {
        Self {
            id: event.id,
            user_id: event.user_id,
            kind: Kind(event.kind),
            ip_address: event.ip_address.clone(),
            user_agent: event.user_agent.clone(),
            created_at: event.created_at,
        }
    }
}

impl From<&EventRecord> for AuthEvent {
    fn from(record: &EventRecord) -> Self {
        Self {
            id: record.id,
            user_id: record.user_id,
            kind: record.kind.0,
            ip_address: record.ip_address.clone(),
            user_agent: record.user_agent.clone(),
            created_at: record.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use portcullis_core::{ClientInfo, Token};

    #[test]
    fn a_session_line_holds_the_hash_never_the_token() {
        let token = Token::generate().unwrap();
        let user = User::new("Ada", "ada@example.com", Utc::now());
        let session = Session {
            id: SessionId::new(),
            token_hash: token.hash(),
            user_id: user.id,
            expires_at: Utc::now(),
            absolute_expires_at: Utc::now(),
            ip_address: None,
            user_agent: None,
            created_at: Utc::now(),
            last_seen_at: Utc::now(),
        };
        let line = serde_json::to_string(&[Entry::PutSession {
            session: SessionRecord::from(&session),
        }])
        .unwrap();
        assert!(!line.contains(token.expose()), "{line}");
        assert!(line.contains(&token.hash().to_hex()), "{line}");
    }

    #[test]
    fn events_round_trip_by_their_stable_names() {
        for kind in AuthEventKind::ALL {
            let event = AuthEvent::new(kind, None, &ClientInfo::default(), Utc::now());
            let json = serde_json::to_string(&EventRecord::from(&event)).unwrap();
            assert!(json.contains(kind.as_str()));
            let back: EventRecord = serde_json::from_str(&json).unwrap();
            assert_eq!(AuthEvent::from(&back), event);
        }
    }

    #[test]
    fn malformed_hashes_are_refused() {
        assert!(serde_json::from_str::<HashHex>("\"abc\"").is_err());
    }
}
