//! What a new password must satisfy, and the normalisation every password goes through.
//!
//! The rules follow NIST SP 800-63B and OWASP ASVS: a minimum and maximum length, a list of
//! the most common passwords refused, and no composition rules (no "one digit, one symbol":
//! they push people to `Password1!`). Any Unicode is allowed; passwords are compared in
//! NFKC form, so the same password typed on two keyboards (composed `é` or `e` + combining
//! accent, full-width or ASCII digits) is the same password.
//!
//! ```
//! use portcullis_core::{AuthError, Password};
//! use portcullis_password::PasswordPolicy;
//!
//! let policy = PasswordPolicy::default();
//! assert!(policy.check(&Password::new("correct horse battery staple")).is_ok());
//!
//! let Err(AuthError::WeakPassword(message)) = policy.check(&Password::new("short")) else {
//!     panic!("a 5-character password was accepted");
//! };
//! assert_eq!(message, "password must be at least 8 characters");
//! assert!(policy.check(&Password::new("Password123")).is_err()); // too common
//! ```

use std::collections::HashSet;
use std::sync::LazyLock;

use portcullis_core::{AuthError, Password};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The embedded list: see `data/README.md` for its source and licence.
const COMMON_PASSWORDS_TXT: &str = include_str!("../data/common-passwords.txt");

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS_TXT
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Returns the NFKC form of `password`: what is hashed and what is verified.
///
/// The hashers in this crate apply it themselves, before hashing and before verifying, so
/// a password set as `café` (precomposed `é`, NFC) verifies when typed as `cafe` + U+0301
/// (NFD). NFKC also folds compatibility forms such as full-width letters and ligatures.
/// Normalising twice changes nothing.
///
/// ```
/// use portcullis_core::Password;
/// use portcullis_password::normalize_password;
///
/// let nfd = Password::new("cafe\u{301}");
/// assert_eq!(normalize_password(&nfd).expose(), "caf\u{e9}");
/// ```
#[must_use]
pub fn normalize_password(password: &Password) -> Password {
    let plain = password.expose();
    if is_nfkc_quick(plain.chars()) == IsNormalized::Yes {
        return password.clone();
    }
    Password::new(plain.nfkc().collect::<String>())
}

/// Whether `password` is on the embedded list of common passwords (after NFKC, ignoring
/// case).
///
/// The list holds the 11,611 passwords of at least 8 characters among the 30,000 most
/// frequent in the breach corpora behind zxcvbn; shorter ones are refused by the length
/// rule already.
#[must_use]
pub fn is_common_password(password: &Password) -> bool {
    let lower = normalize_password(password).expose().to_lowercase();
    COMMON_PASSWORDS.contains(lower.as_str())
}

/// The rules a new password must meet (at registration, password change and reset).
///
/// Checking is separate from hashing: the manager checks a new password, then hashes it.
/// Logging in never checks the policy, so tightening it never locks anyone out.
///
/// Defaults, and why:
/// - **minimum 8 characters**: NIST SP 800-63B's floor for user-chosen passwords. Length
///   is what makes a password hard to guess; the common-password list catches the long
///   but predictable ones.
/// - **maximum 128 characters**: NIST requires allowing at least 64; 128 leaves room for
///   passphrases and password managers while bounding the work one login can cause.
///   Setting a maximum below 64 raises it to 64.
/// - **common passwords refused**, compared case-insensitively.
/// - **control characters refused** (U+0000-U+001F, U+007F-U+009F: NUL, tab, line breaks,
///   escape): they cannot be typed reliably on every device, usually come from a paste
///   gone wrong, and NUL is where C-based hash implementations (a future migration
///   target, or the system bcrypt hashes were imported from) silently stop reading.
///   Every other character, including spaces and emoji, is allowed.
///
/// Lengths are counted in Unicode scalar values (`char`s) of the NFKC form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: usize,
    max_length: usize,
    refuse_common: bool,
}

impl PasswordPolicy {
    /// Default minimum length in characters.
    pub const DEFAULT_MIN_LENGTH: usize = 8;
    /// Default maximum length in characters.
    pub const DEFAULT_MAX_LENGTH: usize = 128;
    /// The lowest maximum length accepted (NIST SP 800-63B: allow at least 64).
    pub const LOWEST_MAX_LENGTH: usize = 64;

    /// The default policy: 8 to 128 characters, common passwords refused.
    #[must_use]
    pub fn new() -> Self {
        Self {
            min_length: Self::DEFAULT_MIN_LENGTH,
            max_length: Self::DEFAULT_MAX_LENGTH,
            refuse_common: true,
        }
    }

    /// Sets the minimum length in characters (at least 1). Going below 8 is against NIST's
    /// advice and lets short common passwords through: the embedded list holds only
    /// passwords of 8 characters or more.
    #[must_use]
    pub fn with_min_length(mut self, min_length: usize) -> Self {
        self.min_length = min_length.max(1);
        self
    }

    /// Sets the maximum length in characters; values below
    /// [`LOWEST_MAX_LENGTH`](Self::LOWEST_MAX_LENGTH) are raised to it.
    #[must_use]
    pub fn with_max_length(mut self, max_length: usize) -> Self {
        self.max_length = max_length.max(Self::LOWEST_MAX_LENGTH);
        self
    }

    /// Turns the common-password check on (the default) or off.
    #[must_use]
    pub fn with_common_password_check(mut self, refuse_common: bool) -> Self {
        self.refuse_common = refuse_common;
        self
    }

    /// The minimum length in characters.
    #[must_use]
    pub fn min_length(&self) -> usize {
        self.min_length
    }

    /// The maximum length in characters.
    #[must_use]
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Whether common passwords are refused.
    #[must_use]
    pub fn refuses_common_passwords(&self) -> bool {
        self.refuse_common
    }

    /// Checks a new password against the policy.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`] with a message saying what to change, for example
    /// `"password must be at least 8 characters"` or
    /// `"this password is too common; choose another"`. The message never repeats the
    /// password.
    pub fn check(&self, password: &Password) -> Result<(), AuthError> {
        let normalized = normalize_password(password);
        let plain = normalized.expose();
        if plain.chars().any(char::is_control) {
            return Err(weak(
                "password must not contain control characters such as tabs or line breaks",
            ));
        }
        let length = plain.chars().count();
        if length < self.min_length {
            return Err(weak(format!(
                "password must be at least {} characters",
                self.min_length
            )));
        }
        if length > self.max_length {
            return Err(weak(format!(
                "password must be at most {} characters",
                self.max_length
            )));
        }
        if self.refuse_common && COMMON_PASSWORDS.contains(plain.to_lowercase().as_str()) {
            return Err(weak("this password is too common; choose another"));
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::new()
    }
}

fn weak(message: impl Into<String>) -> AuthError {
    AuthError::WeakPassword(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), AuthError>) -> String {
        match result {
            Err(AuthError::WeakPassword(message)) => message,
            other => panic!("expected WeakPassword, got {other:?}"),
        }
    }

    #[test]
    fn length_boundaries_are_8_and_128_characters() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            message(policy.check(&Password::new("x7#kq2!"))),
            "password must be at least 8 characters"
        );
        assert!(policy.check(&Password::new("x7#kq2!m")).is_ok());
        let long = "x7#kq2!m".repeat(16);
        assert!(policy.check(&Password::new(long.as_str())).is_ok());
        assert_eq!(
            message(policy.check(&Password::new(format!("{long}z")))),
            "password must be at most 128 characters"
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = PasswordPolicy::default();
        // 8 characters, 24 bytes, and 7 characters.
        assert!(policy.check(&Password::new("語".repeat(8))).is_ok());
        assert!(policy.check(&Password::new("語".repeat(7))).is_err());
        // 128 three-byte characters are allowed, 129 are not.
        assert!(policy.check(&Password::new("語".repeat(128))).is_ok());
        assert!(policy.check(&Password::new("語".repeat(129))).is_err());
    }

    #[test]
    fn length_is_counted_after_nfkc() {
        let policy = PasswordPolicy::default();
        // Eight code points in NFD ("e" + U+0301 among them) are 7 characters once composed.
        let nfd = "cafe\u{301}xyz";
        assert_eq!(nfd.chars().count(), 8);
        assert!(policy.check(&Password::new(nfd)).is_err());
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        let policy = PasswordPolicy::default();
        for common in [
            "password123",
            "qwerty123",
            "PASSWORD123",
            "QwErTy123",
            "iloveyou",
        ] {
            assert_eq!(
                message(policy.check(&Password::new(common))),
                "this password is too common; choose another",
                "{common}"
            );
            assert!(is_common_password(&Password::new(common)));
        }
        // Full-width letters fold to ASCII first.
        assert!(
            policy
                .check(&Password::new("ｐａｓｓｗｏｒｄ１２３"))
                .is_err()
        );
        assert!(
            policy
                .check(&Password::new("tangerine vortex galaxy"))
                .is_ok()
        );
        let lenient = PasswordPolicy::new().with_common_password_check(false);
        assert!(lenient.check(&Password::new("password123")).is_ok());
    }

    #[test]
    fn the_embedded_list_is_large_and_clean() {
        assert!(
            COMMON_PASSWORDS.len() > 10_000,
            "{}",
            COMMON_PASSWORDS.len()
        );
        for entry in COMMON_PASSWORDS.iter() {
            assert_eq!(*entry, entry.to_lowercase());
            assert!(entry.chars().count() >= 8, "{entry}");
        }
    }

    #[test]
    fn control_characters_are_refused_but_spaces_and_emoji_are_not() {
        let policy = PasswordPolicy::default();
        for bad in [
            "abc\0defghij",
            "abcdefgh\n",
            "abc\tdefghij",
            "abc\u{7f}defgh",
        ] {
            assert!(
                message(policy.check(&Password::new(bad))).contains("control characters"),
                "{bad:?}"
            );
        }
        assert!(policy.check(&Password::new("  spaced out  ")).is_ok());
        assert!(policy.check(&Password::new("🦀 crabs rule 🦀")).is_ok());
    }

    #[test]
    fn settings_are_clamped_to_safe_values() {
        let policy = PasswordPolicy::new().with_min_length(0).with_max_length(10);
        assert_eq!(policy.min_length(), 1);
        assert_eq!(policy.max_length(), 64);
        assert!(policy.check(&Password::new("")).is_err());
        let strict = PasswordPolicy::new().with_min_length(12);
        assert_eq!(
            message(strict.check(&Password::new("eleven chr!"))),
            "password must be at least 12 characters"
        );
    }

    #[test]
    fn normalisation_composes_and_is_idempotent() {
        let nfc = Password::new("caf\u{e9}");
        let nfd = Password::new("cafe\u{301}");
        assert_eq!(normalize_password(&nfd).expose(), nfc.expose());
        assert_eq!(normalize_password(&nfc).expose(), nfc.expose());
        let once = normalize_password(&Password::new("ﬁ①Ａ"));
        assert_eq!(once.expose(), "fi1A");
        assert_eq!(normalize_password(&once).expose(), once.expose());
    }
}
