//! The mailer contract: how verification, reset and notice emails leave the system.

use async_trait::async_trait;

use crate::error::BoxError;
use crate::secret::SecretString;

/// Why an email is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailKind {
    /// "Confirm your address" with a verification link.
    VerifyEmail,
    /// "Reset your password" with a reset link.
    PasswordReset,
    /// "Someone tried to register with your address" (paranoid registration).
    AccountExists,
    /// "Your password was changed".
    PasswordChanged,
    /// "Your email address is being changed" (sent to the old address).
    EmailChanged,
}

/// One email. The link carries a token, so it is a secret and is redacted in `Debug`.
#[derive(Debug, Clone)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Why it is sent.
    pub kind: EmailKind,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (without the link).
    pub body: String,
    /// The action link (verification or reset), built from the configured public URL.
    pub link: Option<SecretString>,
}

/// Sends emails. Implement it over SMTP or an email API; tests capture messages instead.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Delivers `email`.
    ///
    /// # Errors
    /// Any delivery failure; the manager logs it (without the link) and carries on, since
    /// callers must not learn whether an address exists from a mail error.
    async fn send(&self, email: Email) -> Result<(), BoxError>;
}
