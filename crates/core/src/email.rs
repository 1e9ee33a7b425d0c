//! Normalising and validating the identifiers users sign in with.
//!
//! Email addresses are stored only in normalised form (NFKC, trimmed, lowercased), so
//! `Alice@Example.COM ` and `alice@example.com` are the same account, and a full-width
//! `ａｌｉｃｅ@example.com` cannot register a look-alike of an existing address.
//!
//! ```
//! use portcullis_core::email::{normalize_email, normalize_username};
//! assert_eq!(normalize_email("  Alice@Example.COM ")?, "alice@example.com");
//! assert!(normalize_email("not an email").is_err());
//! assert_eq!(normalize_username("Alice_01")?, "alice_01");
//! # Ok::<(), portcullis_core::AuthError>(())
//! ```

use unicode_normalization::UnicodeNormalization;

use crate::AuthError;

/// Longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest local part accepted (RFC 5321).
pub const MAX_LOCAL_PART_LEN: usize = 64;
/// Shortest username accepted.
pub const MIN_USERNAME_LEN: usize = 3;
/// Longest username accepted.
pub const MAX_USERNAME_LEN: usize = 32;

/// Validates an email address and returns its normalised form.
///
/// The check is deliberately simple (one `@`, a dotted domain, no spaces, quotes or control
/// characters); deliverability is proven by the verification mail, not by a regex.
///
/// # Errors
/// [`AuthError::InvalidEmail`] when the address is malformed or too long.
pub fn normalize_email(input: &str) -> Result<String, AuthError> {
    let email: String = input.trim().nfkc().flat_map(char::to_lowercase).collect();
    if email.len() > MAX_EMAIL_LEN {
        return Err(AuthError::InvalidEmail);
    }
    let (local, domain) = email.split_once('@').ok_or(AuthError::InvalidEmail)?;
    if local.is_empty() || local.len() > MAX_LOCAL_PART_LEN || !valid_local_part(local) {
        return Err(AuthError::InvalidEmail);
    }
    if !valid_domain(domain) {
        return Err(AuthError::InvalidEmail);
    }
    Ok(email)
}

fn valid_local_part(local: &str) -> bool {
    !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '@' | '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | '\\' | ']'
                )
        })
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Validates a username and returns its normalised (lowercase) form.
///
/// Usernames are ASCII letters, digits, `_`, `.` and `-`, 3 to 32 characters, starting with a
/// letter or digit. ASCII-only keeps look-alike characters out; no `@`, so a login identifier
/// containing `@` is always an email address.
///
/// # Errors
/// [`AuthError::InvalidInput`] naming the rule that failed.
pub fn normalize_username(input: &str) -> Result<String, AuthError> {
    let username = input.trim().to_ascii_lowercase();
    let invalid = |message: &str| AuthError::InvalidInput {
        field: "username",
        message: message.to_owned(),
    };
    if username.len() < MIN_USERNAME_LEN || username.len() > MAX_USERNAME_LEN {
        return Err(invalid("must be 3 to 32 characters"));
    }
    if !username
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(invalid(
            "may contain only letters, digits, '_', '.' and '-'",
        ));
    }
    if !username.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(invalid("must start with a letter or digit"));
    }
    Ok(username)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_nfkc_folded() {
        assert_eq!(
            normalize_email(" Bob@Example.Com\t").unwrap(),
            "bob@example.com"
        );
        // Full-width letters fold to ASCII, so a look-alike collides with the original.
        assert_eq!(
            normalize_email("ＢＯＢ@example.com").unwrap(),
            normalize_email("bob@example.com").unwrap()
        );
        assert_eq!(
            normalize_email("josé@exämple.de").unwrap(),
            "josé@exämple.de"
        );
    }

    #[test]
    fn normalisation_is_idempotent() {
        for input in ["A@B.co", " x.y+tag@Sub.Example.org ", "ＢＯＢ@example.com"] {
            let once = normalize_email(input).unwrap();
            assert_eq!(normalize_email(&once).unwrap(), once);
        }
    }

    #[test]
    fn malformed_emails_are_refused() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a@@example.com",
            "a b@example.com",
            "a@exa mple.com",
            ".a@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example..com",
            "a\0@example.com",
            "a\"b@example.com",
            "<a>@example.com",
            long_local.as_str(),
            long_total.as_str(),
        ] {
            assert!(
                matches!(normalize_email(bad), Err(AuthError::InvalidEmail)),
                "accepted {bad:?}"
            );
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(64))).is_ok());
    }

    #[test]
    fn usernames_follow_the_documented_rules() {
        assert_eq!(normalize_username(" Ann.Lee-2 ").unwrap(), "ann.lee-2");
        for bad in ["ab", "a@b", "_ann", "ann lee", "ånn", &"a".repeat(33)] {
            assert!(normalize_username(bad).is_err(), "accepted {bad:?}");
        }
        assert!(normalize_username(&"a".repeat(32)).is_ok());
    }
}
