//! Mailers: [`LogMailer`] (the default) and [`MemoryMailer`] (tests).

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use portcullis_core::{BoxError, Email, EmailKind, Mailer};

/// Writes each email to the log (`tracing`, target `portcullis::mail`, level info) instead of
/// sending it. The default, so that nothing is sent until you plug in a real mailer.
///
/// The link carries a single-use token, so it is logged with the token replaced by
/// `[redacted]`. For local development, [`LogMailer::show_links`] logs the whole link so you
/// can click it; never turn that on where logs are shipped or kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer {
    show_links: bool,
}

impl LogMailer {
    /// Logs emails with their links redacted.
    #[must_use]
    pub const fn new() -> Self {
        Self { show_links: false }
    }

    /// Logs full links, tokens included. Local development only.
    #[must_use]
    pub const fn show_links(mut self, show: bool) -> Self {
        self.show_links = show;
        self
    }
}

/// The link with its `token` query value replaced by `[redacted]`.
pub(crate) fn redact_link(link: &str) -> String {
    match link.split_once("token=") {
        Some((before, after)) => {
            let rest = after.find('&').map_or("", |i| &after[i..]);
            format!("{before}token=[redacted]{rest}")
        }
        None => link.to_owned(),
    }
}

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: Email) -> Result<(), BoxError> {
        let link = email.link.as_ref().map(|link| {
            if self.show_links {
                link.expose().to_owned()
            } else {
                redact_link(link.expose())
            }
        });
        tracing::info!(
            target: "portcullis::mail",
            to = %email.to,
            kind = ?email.kind,
            subject = %email.subject,
            link = link.as_deref().unwrap_or("-"),
            "email (not sent: LogMailer)\n{}",
            email.body
        );
        Ok(())
    }
}

/// Keeps every email in memory, for tests. Clones share the same outbox.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    outbox: Arc<Mutex<Vec<Email>>>,
}

impl MemoryMailer {
    /// An empty outbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every email sent so far, oldest first.
    #[must_use]
    pub fn sent(&self) -> Vec<Email> {
        self.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The most recent email of `kind` sent to `to`.
    #[must_use]
    pub fn last(&self, to: &str, kind: EmailKind) -> Option<Email> {
        self.sent()
            .into_iter()
            .rev()
            .find(|email| email.to == to && email.kind == kind)
    }

    /// The token in the link of the most recent email of `kind` sent to `to`.
    #[must_use]
    pub fn last_token(&self, to: &str, kind: EmailKind) -> Option<String> {
        let email = self.last(to, kind)?;
        let link = email.link?;
        let (_, after) = link.expose().split_once("token=")?;
        Some(after.split('&').next().unwrap_or_default().to_owned())
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: Email) -> Result<(), BoxError> {
        self.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(email);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_redacted_by_default() {
        assert_eq!(
            redact_link("https://app.example.com/reset-password?token=abcDEF_123"),
            "https://app.example.com/reset-password?token=[redacted]"
        );
        assert_eq!(
            redact_link("https://a.example/x?token=abc&next=/home"),
            "https://a.example/x?token=[redacted]&next=/home"
        );
        assert_eq!(redact_link("https://a.example/"), "https://a.example/");
    }
}
