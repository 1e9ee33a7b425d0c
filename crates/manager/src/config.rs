//! [`AuthConfig`]: every knob of the manager, with the reason for each default.

use std::time::Duration;

use crate::cache::SessionCacheConfig;
use crate::roles::RoleHierarchy;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Manager configuration. Build it with `AuthConfig::default()` and change fields, or with
/// the struct update syntax:
///
/// ```
/// use std::time::Duration;
/// use portcullis_manager::AuthConfig;
///
/// let config = AuthConfig {
///     public_url: "https://app.example.com".into(),
///     session_idle_lifetime: Duration::from_secs(30 * 60), // ASVS level 2 and above
///     session_absolute_lifetime: Duration::from_secs(12 * 3600),
///     ..AuthConfig::default()
/// };
/// assert_eq!(config.effective_touch_interval(), Duration::from_secs(3 * 60));
/// ```
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Idle (sliding) session lifetime. Default 7 days: what users of "remember me" sites
    /// expect. ASVS 5.0 (V7.3) asks high-assurance apps for much less (for example 15 to 30
    /// minutes idle); set that for admin consoles and banking.
    pub session_idle_lifetime: Duration,
    /// Absolute session lifetime, counted from login, never extended. Default 30 days, so a
    /// stolen token stops working within a month whatever happens; ASVS suggests 12 hours
    /// or less for sensitive apps.
    pub session_absolute_lifetime: Duration,
    /// How much time must pass before a request writes the sliding expiry back to storage.
    /// `None` (default) means a tenth of the idle lifetime: most requests do no write, and
    /// the idle window is still honoured to within 10%.
    pub touch_interval: Option<Duration>,
    /// Failed password attempts within `lockout_window` that lock the account. Default 5
    /// (NIST SP 800-63B allows up to 100; 5 is the common, conservative choice).
    pub max_failed_logins: u32,
    /// The window in which failures are counted, and the first lock's length (measured from
    /// the first failure). Default 15 minutes (OWASP Authentication Cheat Sheet).
    pub lockout_window: Duration,
    /// Longest lock. Each failure after the account unlocks doubles the lock until the
    /// failures stop for a whole window; this caps it. Default 24 hours.
    pub max_lockout: Duration,
    /// Refuse logins (after a correct password) until the email address is verified.
    /// Default off: most apps let people in and nag; turn on when the address must be real.
    pub require_verified_email: bool,
    /// Answer registration of a taken email exactly like a new one (no session either way;
    /// the owner gets a notice by mail). Default off: the common 409 contract is friendlier
    /// and the email is revealed by the password-reset flow timing anyway on many apps; turn
    /// on when account existence itself is sensitive.
    pub paranoid_registration: bool,
    /// Public base URL of the application (`https://app.example.com`), used to build links
    /// in emails. Never taken from the request's `Host` header, which an attacker controls.
    pub public_url: String,
    /// Path of the page that confirms an email address; the link adds `?token=...`.
    pub verify_email_path: String,
    /// Path of the page that sets a new password; the link adds `?token=...`.
    pub reset_password_path: String,
    /// Lifetime of an email verification (and email change) token. Default 24 hours: long
    /// enough for a mail that arrives late, short enough to expire if forgotten.
    pub verification_lifetime: Duration,
    /// Lifetime of a password reset token. Default 1 hour (OWASP Forgot Password Cheat
    /// Sheet): a reset link sitting in a mailbox is a standing key to the account.
    pub reset_lifetime: Duration,
    /// Roles, highest first. Default `admin > editor > viewer > user`.
    pub roles: RoleHierarchy,
    /// Role given to new users. Default `user`, the lowest.
    pub default_role: String,
    /// Longest display name accepted, in characters. Default 100.
    pub max_name_length: usize,
    /// The in-process session cache. `None` (default): every request reads storage, so a
    /// revocation made by any process (another server, an admin script) takes effect at once.
    /// `Some(SessionCacheConfig::default())` trusts a validated session for 5 seconds: safe
    /// when a single process serves the app, or when a revocation elsewhere may take up to
    /// `ttl` to be noticed here. Revocations through this process's manager always evict at
    /// once.
    pub session_cache: Option<SessionCacheConfig>,
    /// Rows deleted per statement by [`purge_expired`](crate::AuthManager::purge_expired).
    /// Default 1000: large enough to be quick, small enough not to hold long locks.
    pub purge_batch_size: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_lifetime: 7 * DAY,
            session_absolute_lifetime: 30 * DAY,
            touch_interval: None,
            max_failed_logins: 5,
            lockout_window: 15 * MINUTE,
            max_lockout: DAY,
            require_verified_email: false,
            paranoid_registration: false,
            public_url: "http://localhost:3000".to_owned(),
            verify_email_path: "/verify-email".to_owned(),
            reset_password_path: "/reset-password".to_owned(),
            verification_lifetime: DAY,
            reset_lifetime: HOUR,
            roles: RoleHierarchy::default(),
            default_role: portcullis_core::DEFAULT_ROLE.to_owned(),
            max_name_length: 100,
            session_cache: None,
            purge_batch_size: 1000,
        }
    }
}

impl AuthConfig {
    /// The touch interval in effect: the configured one, or a tenth of the idle lifetime.
    #[must_use]
    pub fn effective_touch_interval(&self) -> Duration {
        self.touch_interval
            .unwrap_or(self.session_idle_lifetime / 10)
    }

    /// Lock length for an account with `count` failures (`count >= max_failed_logins`):
    /// `lockout_window`, doubled for each failure past the threshold, capped at `max_lockout`.
    #[must_use]
    pub fn lock_length(&self, count: u32) -> Duration {
        let doublings = count.saturating_sub(self.max_failed_logins).min(20);
        self.lockout_window
            .saturating_mul(1u32 << doublings)
            .min(self.max_lockout.max(self.lockout_window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = AuthConfig::default();
        assert_eq!(config.session_idle_lifetime, 7 * DAY);
        assert_eq!(config.session_absolute_lifetime, 30 * DAY);
        assert_eq!(config.effective_touch_interval(), 7 * DAY / 10);
        assert_eq!(config.max_failed_logins, 5);
        assert_eq!(config.lockout_window, 15 * MINUTE);
        assert_eq!(config.reset_lifetime, HOUR);
        assert_eq!(config.verification_lifetime, DAY);
        assert!(!config.paranoid_registration);
    }

    #[test]
    fn lock_length_doubles_and_is_capped() {
        let config = AuthConfig::default();
        assert_eq!(config.lock_length(5), 15 * MINUTE);
        assert_eq!(config.lock_length(6), 30 * MINUTE);
        assert_eq!(config.lock_length(7), HOUR);
        assert_eq!(config.lock_length(12), DAY);
        assert_eq!(config.lock_length(u32::MAX), DAY);
    }
}
