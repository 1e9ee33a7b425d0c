//! Registration and login.

use portcullis_core::email::{normalize_email, normalize_username};
use portcullis_core::{
    Account, AuthError, AuthEventKind, Backend, ClientInfo, ConflictKind, CredentialStrategy,
    EmailKind, PasswordCredentials, StoreError, StrategyOutcome, User,
};

use crate::lockout::{counting_window, locked_for, whole_seconds};
use crate::manager::AuthManager;
use crate::types::{Registered, Registration, SignedIn};

impl<B: Backend, S: CredentialStrategy<B>> AuthManager<B, S> {
    /// Registers a user with a password and signs them in.
    ///
    /// Validates and normalises the input, then checks in this order, so that the answer a
    /// client sees is the most useful one: the email is free (`email_taken`, 409, even when
    /// the password is also weak), the username is free (`username_taken`), the password
    /// meets the policy (`weak_password`, 400, saying what to change). The user and the
    /// credential account are created in one transaction; of concurrent registrations of
    /// one email exactly one succeeds.
    ///
    /// With [`paranoid_registration`](crate::AuthConfig::paranoid_registration), a taken
    /// email answers [`Registered::CheckEmail`] exactly like a new one (the owner is told by
    /// mail, a new user gets a verification mail) and nobody gets a session here.
    ///
    /// # Errors
    /// `invalid_email`, `invalid_input` (name, username), `email_taken`, `username_taken`,
    /// `weak_password`, `overloaded` (hashing queue full), `storage_unavailable`.
    pub async fn register(
        &self,
        registration: Registration,
        client: &ClientInfo,
    ) -> Result<Registered, AuthError> {
        let config = &self.inner.config;
        let name = self.validate_name(&registration.name)?;
        let email = normalize_email(&registration.email)?;
        let username = registration
            .username
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(normalize_username)
            .transpose()?;
        let backend = &self.inner.backend;
        let strategy = &self.inner.strategy;

        if let Some(existing) = backend.find_user_by_email(&email).await? {
            if config.paranoid_registration {
                // Spend the same hashing work a new registration would, then answer alike.
                let _ = strategy.hash_password(&registration.password).await;
                self.notify_existing_account(existing).await;
                return Ok(Registered::CheckEmail);
            }
            return Err(AuthError::EmailTaken);
        }
        if let Some(username) = &username
            && backend.find_user_by_username(username).await?.is_some()
        {
            return Err(AuthError::UsernameTaken);
        }
        strategy.check_policy(&registration.password)?;
        let hash = strategy.hash_password(&registration.password).await?;

        let now = self.now();
        let mut user = User::new(name, email, now);
        user.username = username;
        user.role.clone_from(&config.default_role);
        let account = Account::credential(user.id, hash, now);
        match backend.create_user_with_credential(&user, &account).await {
            Ok(()) => {}
            Err(StoreError::Conflict(ConflictKind::Email)) if config.paranoid_registration => {
                return Ok(Registered::CheckEmail);
            }
            Err(error) => return Err(error.into()),
        }
        self.audit(AuthEventKind::Register, Some(&user), client)
            .await;
        self.inner.hooks.after_register(&user).await;

        if config.paranoid_registration {
            self.send_verification(&user).await?;
            return Ok(Registered::CheckEmail);
        }
        let (session, token) = self.start_session(&user, client).await?;
        Ok(Registered::SignedIn(Box::new(SignedIn {
            user,
            session,
            token,
        })))
    }

    async fn notify_existing_account(&self, existing: User) {
        let manager = self.clone();
        self.in_background(async move {
            let body = format!(
                "Someone tried to create an account with this address ({}). It already has \
                 one: if that was you, log in or reset your password. Otherwise you can \
                 ignore this message.",
                existing.email
            );
            manager
                .send_mail(Self::email(
                    &existing.email,
                    EmailKind::AccountExists,
                    "You already have an account",
                    body,
                ))
                .await;
        })
        .await;
    }

    /// Logs in with an email address or username and a password, and starts a new session.
    ///
    /// Exactly one password-hash verification runs whether or not the account exists. Unknown
    /// identifier, wrong password and disabled user all answer `invalid_credentials`; once
    /// `max_failed_logins` failures fall within `lockout_window`, further attempts answer
    /// `rate_limited` with a retry-after (for unknown identifiers too, so a lock does not
    /// reveal that an account exists) until the lock ends. A successful login clears the
    /// counter and always issues a brand-new session.
    ///
    /// # Errors
    /// `invalid_credentials`, `rate_limited`, `email_not_verified` (after a correct password,
    /// when required), `overloaded`, `storage_unavailable`.
    pub async fn login(
        &self,
        credentials: &PasswordCredentials,
        client: &ClientInfo,
    ) -> Result<SignedIn, AuthError> {
        let backend = &self.inner.backend;
        let outcome = self
            .inner
            .strategy
            .authenticate(backend, credentials)
            .await?;
        match outcome {
            StrategyOutcome::Authenticated(user) => {
                let failed = backend.failed_logins(user.id).await?;
                if let Some(left) = locked_for(&self.inner.config, failed, self.now()) {
                    self.refuse(Some(&user), client).await;
                    return Err(AuthError::RateLimited {
                        retry_after: whole_seconds(left),
                    });
                }
                if user.disabled {
                    self.refuse(Some(&user), client).await;
                    return Err(AuthError::InvalidCredentials);
                }
                if self.inner.config.require_verified_email && !user.email_verified {
                    return Err(AuthError::EmailNotVerified);
                }
                if failed.is_some() {
                    backend.reset_failed_logins(user.id).await?;
                }
                let (session, token) = self.start_session(&user, client).await?;
                self.audit(AuthEventKind::LoginSucceeded, Some(&user), client)
                    .await;
                self.inner.hooks.after_login(&user, &session, client).await;
                Ok(SignedIn {
                    user,
                    session,
                    token,
                })
            }
            StrategyOutcome::Rejected { user } => {
                let error = self
                    .record_failure(user.as_ref(), credentials, client)
                    .await?;
                Err(error)
            }
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Counts a wrong password and decides the answer: `invalid_credentials` up to the
    /// threshold, `rate_limited` while locked.
    pub(crate) async fn record_failure(
        &self,
        user: Option<&User>,
        credentials: &PasswordCredentials,
        client: &ClientInfo,
    ) -> Result<AuthError, AuthError> {
        let config = &self.inner.config;
        let now = self.now();
        let backend = &self.inner.backend;
        let current = match user {
            Some(user) => backend
                .failed_logins(user.id)
                .await?
                .or_else(|| self.inner.unknown_failures.current(&credentials.identifier)),
            None => self.inner.unknown_failures.current(&credentials.identifier),
        };
        if let Some(left) = locked_for(config, current, now) {
            self.refuse(user, client).await;
            return Ok(AuthError::RateLimited {
                retry_after: whole_seconds(left),
            });
        }
        let window = counting_window(config, current.map_or(0, |f| f.count));
        let recorded = match user {
            Some(user) => match backend.record_failed_login(user.id, now, window).await {
                Ok(failed) => failed,
                // A user without a password (OAuth only) is counted like an unknown one.
                Err(StoreError::NotFound) => {
                    self.inner
                        .unknown_failures
                        .record(&credentials.identifier, now, window, config)
                }
                Err(error) => return Err(error.into()),
            },
            None => {
                self.inner
                    .unknown_failures
                    .record(&credentials.identifier, now, window, config)
            }
        };
        self.refuse(user, client).await;
        if recorded.count == config.max_failed_logins {
            self.audit(AuthEventKind::LockedOut, user, client).await;
        }
        if recorded.count > config.max_failed_logins
            && let Some(left) = locked_for(config, Some(recorded), now)
        {
            return Ok(AuthError::RateLimited {
                retry_after: whole_seconds(left),
            });
        }
        Ok(AuthError::InvalidCredentials)
    }

    async fn refuse(&self, user: Option<&User>, client: &ClientInfo) {
        self.audit(AuthEventKind::LoginFailed, user, client).await;
        self.inner.hooks.after_failed_login(user, client).await;
    }

    pub(crate) fn validate_name(&self, name: &str) -> Result<String, AuthError> {
        let name = name.trim();
        let invalid = |message: String| AuthError::InvalidInput {
            field: "name",
            message,
        };
        if name.is_empty() {
            return Err(invalid("must not be empty".to_owned()));
        }
        let max = self.inner.config.max_name_length;
        if name.chars().count() > max {
            return Err(invalid(format!("must be at most {max} characters")));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters".to_owned()));
        }
        Ok(name.to_owned())
    }
}
