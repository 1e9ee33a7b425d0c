//! Typed identifiers, so a session id can never be passed where a user id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        typed_id!($(#[$meta])* $name, new_v4, "A new random (v4) id.");
    };
    ($(#[$meta:meta])* $name:ident, $constructor:ident, $new_doc:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            #[doc = $new_doc]
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::$constructor())
            }

            /// Wraps an existing UUID (for example one read from storage).
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

typed_id!(
    /// Identifies a [`User`](crate::User).
    UserId
);
typed_id!(
    /// Identifies a [`Session`](crate::Session). Safe to show and to revoke by; it is not the token.
    SessionId
);
typed_id!(
    /// Identifies an [`Account`](crate::Account) (one sign-in method of a user).
    AccountId
);
typed_id!(
    /// Identifies a [`Verification`](crate::Verification) record.
    VerificationId
);
typed_id!(
    /// Identifies an [`AuthEvent`](crate::AuthEvent) audit row.
    ///
    /// Time-ordered (UUIDv7, monotonic within a process), so ordering by
    /// `(created_at, id)` lists events appended in the same microsecond in append order.
    EventId,
    now_v7,
    "A new time-ordered (v7) id: later calls in this process give greater ids."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_increase_in_creation_order() {
        let ids: Vec<EventId> = (0..1000).map(|_| EventId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ids_round_trip_through_strings_and_json() {
        let id = UserId::new();
        let parsed: UserId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert!("not-a-uuid".parse::<SessionId>().is_err());
    }
}
