//! Single-use emailed tokens: email verification, password reset, email change.

use std::str::FromStr;

use portcullis_core::email::normalize_email;
use portcullis_core::{
    AuthError, AuthEventKind, Backend, ClientInfo, ConflictKind, CredentialStrategy, EmailKind,
    Password, PasswordCredentials, StoreError, StrategyOutcome, Token, User, UserId, Verification,
    VerificationId, to_time_delta,
};

use crate::manager::AuthManager;

/// Verification purpose: confirm the address a user registered with.
pub const EMAIL_VERIFY: &str = "email-verify";
/// Verification purpose: set a new password.
pub const PASSWORD_RESET: &str = "password-reset";
/// Verification purpose: move an account to a new address.
pub const EMAIL_CHANGE: &str = "email-change";

impl<B: Backend, S: CredentialStrategy<B>> AuthManager<B, S> {
    /// Creates a verification token for `purpose` and `subject`, replacing older ones for
    /// the same identifier, and returns it.
    async fn issue_token(
        &self,
        purpose: &str,
        subject: &str,
        lifetime: std::time::Duration,
    ) -> Result<Token, AuthError> {
        let backend = &self.inner.backend;
        let identifier = Verification::identifier(purpose, subject);
        backend.delete_verifications(&identifier).await?;
        let token = Token::generate()?;
        let now = self.now();
        backend
            .create_verification(&Verification {
                id: VerificationId::new(),
                identifier,
                value_hash: token.hash(),
                expires_at: now + to_time_delta(lifetime),
                created_at: now,
            })
            .await?;
        Ok(token)
    }

    /// Takes (consumes) a presented token for `purpose`. Malformed, unknown, used, expired
    /// and wrong-purpose tokens are all `invalid_token`.
    async fn redeem_token(
        &self,
        purpose: &str,
        presented: &str,
    ) -> Result<Verification, AuthError> {
        let token = Token::parse(presented.trim()).ok_or(AuthError::InvalidToken)?;
        self.inner
            .backend
            .take_verification(&token.hash(), purpose, self.now())
            .await?
            .ok_or(AuthError::InvalidToken)
    }

    pub(crate) async fn send_verification(&self, user: &User) -> Result<(), AuthError> {
        let subject = format!("{}:{}", user.id, user.email);
        let token = self
            .issue_token(
                EMAIL_VERIFY,
                &subject,
                self.inner.config.verification_lifetime,
            )
            .await?;
        let mut email = Self::email(
            &user.email,
            EmailKind::VerifyEmail,
            "Confirm your email address",
            format!(
                "Hello {},\n\nConfirm your email address by opening the link below. It works \
                 once and expires in {} hours.",
                user.name,
                self.inner.config.verification_lifetime.as_secs() / 3600
            ),
        );
        email.link = Some(self.link(&self.inner.config.verify_email_path, &token));
        self.send_mail(email).await;
        Ok(())
    }

    /// Sends `user` a link that verifies their current email address (24 hours by default,
    /// single use). A newer request replaces older links.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn request_email_verification(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.send_verification(user).await?;
        self.audit(
            AuthEventKind::EmailVerificationRequested,
            Some(user),
            client,
        )
        .await;
        Ok(())
    }

    /// Marks the email address verified, given the token from the link. Returns the user.
    ///
    /// The token is bound to the address it was sent to: after an email change it no longer
    /// verifies anything. Links from [`request_email_change`](Self::request_email_change)
    /// point to the same page, so this also completes an email change
    /// ([`confirm_email_change`](Self::confirm_email_change)).
    ///
    /// # Errors
    /// `invalid_token` (400), `email_taken` (an email change whose address was claimed
    /// meanwhile), `storage_unavailable`.
    pub async fn verify_email(&self, token: &str, client: &ClientInfo) -> Result<User, AuthError> {
        let verification = match self.redeem_token(EMAIL_VERIFY, token).await {
            Ok(verification) => verification,
            // A wrong-purpose take consumes nothing, so trying the other purpose is safe.
            Err(AuthError::InvalidToken) => return self.confirm_email_change(token, client).await,
            Err(error) => return Err(error),
        };
        let (user_id, email) = split_subject(&verification)?;
        let backend = &self.inner.backend;
        let mut user = backend
            .find_user_by_id(user_id)
            .await?
            .filter(|user| user.email == email)
            .ok_or(AuthError::InvalidToken)?;
        if !user.email_verified {
            user.email_verified = true;
            user.updated_at = self.now();
            backend.update_user(&user).await?;
            self.forget_user(user.id);
        }
        self.audit(AuthEventKind::EmailVerified, Some(&user), client)
            .await;
        self.inner.hooks.after_email_verified(&user).await;
        Ok(user)
    }

    /// Starts a password reset. Returns at once with the same answer for known and unknown
    /// addresses (and malformed ones): the lookup and the mail happen in the background,
    /// so neither the answer nor its timing reveals whether an account exists.
    ///
    /// A newer request replaces older links; links expire after
    /// [`reset_lifetime`](crate::AuthConfig::reset_lifetime) (1 hour by default). Disabled
    /// users get no link.
    pub async fn request_password_reset(&self, email: &str, client: &ClientInfo) {
        let Ok(email) = normalize_email(email) else {
            return;
        };
        let manager = self.clone();
        let client = client.clone();
        self.in_background(async move {
            if let Err(error) = manager.send_reset(&email, &client).await {
                tracing::warn!(error = %error, "password reset request failed");
            }
        })
        .await;
    }

    async fn send_reset(&self, email: &str, client: &ClientInfo) -> Result<(), AuthError> {
        let Some(user) = self.inner.backend.find_user_by_email(email).await? else {
            return Ok(());
        };
        if user.disabled {
            return Ok(());
        }
        let token = self
            .issue_token(
                PASSWORD_RESET,
                &user.id.to_string(),
                self.inner.config.reset_lifetime,
            )
            .await?;
        let minutes = self.inner.config.reset_lifetime.as_secs() / 60;
        let mut mail = Self::email(
            &user.email,
            EmailKind::PasswordReset,
            "Reset your password",
            format!(
                "Hello {},\n\nSomeone (hopefully you) asked to reset your password. Open the \
                 link below to choose a new one; it works once and expires in {minutes} \
                 minutes. If it was not you, ignore this message: your password is unchanged.",
                user.name
            ),
        );
        mail.link = Some(self.link(&self.inner.config.reset_password_path, &token));
        self.send_mail(mail).await;
        self.audit(AuthEventKind::PasswordResetRequested, Some(&user), client)
            .await;
        self.inner.hooks.after_password_reset_requested(&user).await;
        Ok(())
    }

    /// Sets a new password with the token from a reset link.
    ///
    /// The policy is checked before the token is consumed (a rejected password leaves the
    /// link usable). The token is single use, also under concurrent redemption. On success
    /// every session of the user is revoked, the failed-login counter is cleared (a locked
    /// account can always reset), the address counts as verified (the link proved it), and
    /// a notice goes to the user. No session is created: the user logs in with the new
    /// password.
    ///
    /// # Errors
    /// `weak_password`, `invalid_token`, `overloaded`, `storage_unavailable`.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &Password,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let strategy = &self.inner.strategy;
        strategy.check_policy(new_password)?;
        let verification = self.redeem_token(PASSWORD_RESET, token).await?;
        let user_id =
            UserId::from_str(verification.subject()).map_err(|_| AuthError::InvalidToken)?;
        let backend = &self.inner.backend;
        let mut user = backend
            .find_user_by_id(user_id)
            .await?
            .filter(|user| !user.disabled)
            .ok_or(AuthError::InvalidToken)?;
        let hash = strategy.hash_password(new_password).await?;
        let now = self.now();
        backend.update_password(user.id, &hash, now).await?;
        backend.delete_user_sessions(user.id).await?;
        self.forget_user(user.id);
        backend.reset_failed_logins(user.id).await?;
        if !user.email_verified {
            user.email_verified = true;
            user.updated_at = now;
            backend.update_user(&user).await?;
        }
        self.audit(AuthEventKind::PasswordReset, Some(&user), client)
            .await;
        self.notify_password_changed(&user).await;
        Ok(user)
    }

    pub(crate) async fn notify_password_changed(&self, user: &User) {
        let body = format!(
            "Hello {},\n\nThe password of your account was just changed, and every device \
             was signed out. If this was not you, reset your password now.",
            user.name
        );
        self.send_mail(Self::email(
            &user.email,
            EmailKind::PasswordChanged,
            "Your password was changed",
            body,
        ))
        .await;
    }

    /// Starts moving `user` to a new email address. Requires the current password. The new
    /// address is stored only once the link sent to it is opened
    /// ([`confirm_email_change`](Self::confirm_email_change)); the old address is told.
    ///
    /// # Errors
    /// `invalid_credentials` (wrong password, counted like a failed login), `rate_limited`,
    /// `invalid_email`, `email_taken`, `storage_unavailable`.
    pub async fn request_email_change(
        &self,
        user: &User,
        current_password: &Password,
        new_email: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let new_email = normalize_email(new_email)?;
        self.confirm_password(user, current_password, client)
            .await?;
        if new_email == user.email {
            return Ok(());
        }
        if self
            .inner
            .backend
            .find_user_by_email(&new_email)
            .await?
            .is_some()
        {
            return Err(AuthError::EmailTaken);
        }
        let token = self
            .issue_token(
                EMAIL_CHANGE,
                &format!("{}:{new_email}", user.id),
                self.inner.config.verification_lifetime,
            )
            .await?;
        let mut confirm = Self::email(
            &new_email,
            EmailKind::VerifyEmail,
            "Confirm your new email address",
            format!(
                "Hello {},\n\nOpen the link below to use this address for your account.",
                user.name
            ),
        );
        confirm.link = Some(self.link(&self.inner.config.verify_email_path, &token));
        self.send_mail(confirm).await;
        let notice = Self::email(
            &user.email,
            EmailKind::EmailChanged,
            "Your email address is being changed",
            format!(
                "Hello {},\n\nSomeone signed in to your account asked to move it to {new_email}. \
                 If this was not you, change your password now.",
                user.name
            ),
        );
        self.send_mail(notice).await;
        Ok(())
    }

    /// Completes an email change with the token sent to the new address. Returns the user.
    ///
    /// # Errors
    /// `invalid_token`, `email_taken` (claimed by someone else meanwhile),
    /// `storage_unavailable`.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let verification = self.redeem_token(EMAIL_CHANGE, token).await?;
        let (user_id, new_email) = split_subject(&verification)?;
        let backend = &self.inner.backend;
        let mut user = backend
            .find_user_by_id(user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        user.email = new_email.to_owned();
        user.email_verified = true;
        user.updated_at = self.now();
        match backend.update_user(&user).await {
            Ok(()) => self.forget_user(user.id),
            Err(StoreError::Conflict(ConflictKind::Email)) => return Err(AuthError::EmailTaken),
            Err(error) => return Err(error.into()),
        }
        self.audit(AuthEventKind::EmailChanged, Some(&user), client)
            .await;
        Ok(user)
    }

    /// Checks `password` against `user`'s credential; a wrong one counts as a failed login.
    pub(crate) async fn confirm_password(
        &self,
        user: &User,
        password: &Password,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let credentials = PasswordCredentials {
            identifier: user.email.clone(),
            password: password.clone(),
        };
        let outcome = self
            .inner
            .strategy
            .authenticate(&self.inner.backend, &credentials)
            .await?;
        match outcome {
            StrategyOutcome::Authenticated(found) if found.id == user.id => Ok(()),
            _ => Err(self
                .record_failure(Some(user), &credentials, client)
                .await?),
        }
    }
}

/// Splits a `"<user id>:<email>"` subject.
fn split_subject(verification: &Verification) -> Result<(UserId, &str), AuthError> {
    let (id, email) = verification
        .subject()
        .split_once(':')
        .ok_or(AuthError::InvalidToken)?;
    let id = UserId::from_str(id).map_err(|_| AuthError::InvalidToken)?;
    Ok((id, email))
}
