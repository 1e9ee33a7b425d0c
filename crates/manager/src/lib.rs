//! Portcullis manager: every auth flow a web application needs, over any storage backend and
//! password strategy.
//!
//! [`AuthManager`] orchestrates registration, login (with lockout), server-side sessions with
//! sliding and absolute expiry, listing and revoking sessions, email verification, password
//! reset and change, email change, roles, disabling and deleting users, an audit log, and
//! [`Hooks`]. It is generic over core's traits (`B: Backend`, `S: CredentialStrategy<B>`) and
//! knows no database, framework or hashing algorithm.
//!
//! # Example
//!
//! ```
//! use portcullis_core::{ClientInfo, EmailKind, Password, PasswordCredentials};
//! use portcullis_manager::{AuthConfig, AuthManager, MemoryMailer, Registered, Registration};
//! use portcullis_password::{MultiHasher, PasswordStrategy};
//! use portcullis_testkit::MemoryBackend;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), portcullis_core::AuthError> {
//! let mailer = MemoryMailer::new();
//! let manager = AuthManager::builder(MemoryBackend::new(), PasswordStrategy::new(MultiHasher::new()))
//!     .config(AuthConfig { public_url: "https://app.example.com".into(), ..AuthConfig::default() })
//!     .mailer(mailer.clone())
//!     .build()?;
//! let client = ClientInfo::default();
//!
//! let Registered::SignedIn(ada) = manager
//!     .register(Registration::new("Ada", "ada@example.com", "analytical engine"), &client)
//!     .await?
//! else { unreachable!() };
//!
//! // Forgot password: the same answer for every address; the mail goes out in the background.
//! manager.request_password_reset("ada@example.com", &client).await;
//! manager.wait_for_background_tasks().await;
//! let token = mailer.last_token("ada@example.com", EmailKind::PasswordReset).expect("mail sent");
//! manager.reset_password(&token, &Password::new("difference engine"), &client).await?;
//!
//! // The reset signed Ada out everywhere; the new password works.
//! assert!(manager.authenticate_token(&ada.token).await.is_err());
//! manager.login(&PasswordCredentials::new("ada@example.com", "difference engine"), &client).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! None.

mod account;
mod cache;
mod config;
mod hooks;
mod lockout;
mod login;
mod mailer;
mod manager;
mod roles;
mod sessions;
mod tokens;
mod types;

#[doc(inline)]
pub use cache::SessionCacheConfig;
#[doc(inline)]
pub use config::AuthConfig;
#[doc(inline)]
pub use hooks::{Hooks, NoHooks};
#[doc(inline)]
pub use mailer::{LogMailer, MemoryMailer};
#[doc(inline)]
pub use manager::{AuthManager, AuthManagerBuilder};
#[doc(inline)]
pub use roles::RoleHierarchy;
#[doc(inline)]
pub use tokens::{EMAIL_CHANGE, EMAIL_VERIFY, PASSWORD_RESET};
#[doc(inline)]
pub use types::{
    Authenticated, ProfileUpdate, PurgeReport, Registered, Registration, SessionInfo, SignedIn,
};
