//! Account management: password change, profile, roles, disabling, deletion, audit log.

use portcullis_core::{
    AuthError, AuthEvent, AuthEventKind, Backend, ClientInfo, CredentialStrategy, Password,
    Session, User, UserId, Verification,
};

use crate::manager::AuthManager;
use crate::tokens::{EMAIL_VERIFY, PASSWORD_RESET};
use crate::types::{ProfileUpdate, SignedIn};

/// Longest avatar URL accepted.
const MAX_IMAGE_URL_LEN: usize = 2048;

impl<B: Backend, S: CredentialStrategy<B>> AuthManager<B, S> {
    /// Changes the password of the signed-in `user`, given the current one.
    ///
    /// Every session of the user is revoked, the caller's included, and a fresh session is
    /// returned for the caller (a stolen token stops working at once). Outstanding reset
    /// links are invalidated and the user gets a notice by mail.
    ///
    /// # Errors
    /// `invalid_credentials` (wrong current password; counted like a failed login),
    /// `rate_limited`, `weak_password`, `overloaded`, `storage_unavailable`.
    pub async fn change_password(
        &self,
        user: &User,
        current_password: &Password,
        new_password: &Password,
        client: &ClientInfo,
    ) -> Result<SignedIn, AuthError> {
        let strategy = &self.inner.strategy;
        strategy.check_policy(new_password)?;
        self.confirm_password(user, current_password, client)
            .await?;
        let hash = strategy.hash_password(new_password).await?;
        let backend = &self.inner.backend;
        backend.update_password(user.id, &hash, self.now()).await?;
        backend.delete_user_sessions(user.id).await?;
        self.forget_user(user.id);
        backend
            .delete_verifications(&Verification::identifier(
                PASSWORD_RESET,
                &user.id.to_string(),
            ))
            .await?;
        self.audit(AuthEventKind::PasswordChanged, Some(user), client)
            .await;
        self.notify_password_changed(user).await;
        let (session, token) = self.start_session(user, client).await?;
        Ok(SignedIn {
            user: user.clone(),
            session,
            token,
        })
    }

    /// Updates the display name and avatar. Returns the stored user.
    ///
    /// # Errors
    /// `invalid_input` (empty, too long or control characters in the name; an image that is
    /// not an `https://` or `http://` URL), `not_found`, `storage_unavailable`.
    pub async fn update_profile(
        &self,
        user_id: UserId,
        update: ProfileUpdate,
    ) -> Result<User, AuthError> {
        let backend = &self.inner.backend;
        let mut user = backend
            .find_user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        if let Some(name) = &update.name {
            user.name = self.validate_name(name)?;
        }
        if let Some(image) = update.image {
            user.image = image.map(|url| validate_image(&url)).transpose()?;
        }
        user.updated_at = self.now();
        backend.update_user(&user).await?;
        self.forget_user(user.id);
        Ok(user)
    }

    /// Whether `user` has `role` or a higher one in the configured hierarchy.
    #[must_use]
    pub fn has_min_role(&self, user: &User, role: &str) -> bool {
        self.inner.config.roles.at_least(&user.role, role)
    }

    /// Gives `user_id` a role from the hierarchy. Returns the stored user.
    ///
    /// # Errors
    /// `invalid_input` (unknown role), `not_found`, `storage_unavailable`.
    pub async fn set_role(
        &self,
        user_id: UserId,
        role: &str,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        if !self.inner.config.roles.contains(role) {
            return Err(AuthError::InvalidInput {
                field: "role",
                message: format!(
                    "unknown role; expected one of {}",
                    self.inner.config.roles.roles().join(", ")
                ),
            });
        }
        let user = self
            .modify_user(user_id, |user| user.role = role.to_owned())
            .await?;
        self.audit(AuthEventKind::RoleChanged, Some(&user), client)
            .await;
        Ok(user)
    }

    /// Disables a user: they cannot log in, and every session of theirs ends now.
    ///
    /// # Errors
    /// `not_found`, `storage_unavailable`.
    pub async fn disable_user(
        &self,
        user_id: UserId,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let user = self
            .modify_user(user_id, |user| user.disabled = true)
            .await?;
        self.inner.backend.delete_user_sessions(user_id).await?;
        self.audit(AuthEventKind::UserDisabled, Some(&user), client)
            .await;
        Ok(user)
    }

    /// Enables a disabled user again.
    ///
    /// # Errors
    /// `not_found`, `storage_unavailable`.
    pub async fn enable_user(
        &self,
        user_id: UserId,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let user = self
            .modify_user(user_id, |user| user.disabled = false)
            .await?;
        self.audit(AuthEventKind::UserEnabled, Some(&user), client)
            .await;
        Ok(user)
    }

    /// Deletes a user with their accounts, sessions and pending tokens. The audit log keeps
    /// the events (without the user id).
    ///
    /// # Errors
    /// `not_found`, `storage_unavailable`.
    pub async fn delete_user(&self, user_id: UserId, client: &ClientInfo) -> Result<(), AuthError> {
        let backend = &self.inner.backend;
        let user = backend
            .find_user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.audit(AuthEventKind::UserDeleted, Some(&user), client)
            .await;
        let id = user.id.to_string();
        backend
            .delete_verifications(&Verification::identifier(PASSWORD_RESET, &id))
            .await?;
        backend
            .delete_verifications(&Verification::identifier(
                EMAIL_VERIFY,
                &format!("{id}:{}", user.email),
            ))
            .await?;
        let deleted = backend.delete_user(user_id).await?;
        self.forget_user(user_id);
        if !deleted {
            return Err(AuthError::NotFound);
        }
        Ok(())
    }

    /// The user with this id, if any.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn find_user(&self, user_id: UserId) -> Result<Option<User>, AuthError> {
        Ok(self.inner.backend.find_user_by_id(user_id).await?)
    }

    /// The user's most recent audit events, newest first.
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn list_events(
        &self,
        user_id: UserId,
        limit: u64,
    ) -> Result<Vec<AuthEvent>, AuthError> {
        Ok(self.inner.backend.list_events(user_id, limit).await?)
    }

    /// The session with `session`'s id still exists (it was not revoked meanwhile).
    ///
    /// # Errors
    /// `storage_unavailable`.
    pub async fn session_exists(&self, session: &Session) -> Result<bool, AuthError> {
        Ok(self.inner.backend.find_session(session.id).await?.is_some())
    }

    async fn modify_user(
        &self,
        user_id: UserId,
        change: impl FnOnce(&mut User),
    ) -> Result<User, AuthError> {
        let backend = &self.inner.backend;
        let mut user = backend
            .find_user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        change(&mut user);
        user.updated_at = self.now();
        backend.update_user(&user).await?;
        self.forget_user(user.id);
        Ok(user)
    }
}

fn validate_image(url: &str) -> Result<String, AuthError> {
    let url = url.trim();
    let invalid = |message: &str| AuthError::InvalidInput {
        field: "image",
        message: message.to_owned(),
    };
    if url.len() > MAX_IMAGE_URL_LEN {
        return Err(invalid("must be at most 2048 characters"));
    }
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid("must be an http(s) URL"));
    }
    Ok(url.to_owned())
}
