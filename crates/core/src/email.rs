//! Normalising and validating the identifiers users sign in with.
//!
//! Email addresses are stored only in normalised form (NFKC, trimmed, lowercased), so
//! `Alice@Example.COM ` and `alice@example.com` are the same account, and a full-width
//! `ａｌｉｃｅ@example.com` cannot register a look-alike of an existing address. Invisible
//! characters (zero-width spaces and joiners, bidirectional controls, the byte order mark,
//! variation selectors: see [`is_invisible`]) are refused, since NFKC keeps them and
//! `ali\u{200B}ce@example.com` would otherwise be a second account that looks exactly like
//! the first.
//!
//! Letters of other scripts that look like Latin ones (Cyrillic `а`, Greek `ο`) are different
//! characters, and NFKC keeps them apart: `аlice@example.com` with a Cyrillic `а` is a
//! different address from `alice@example.com`, as it is for mail servers. Applications that
//! show addresses to other people should display them with that in mind.
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
/// The check is deliberately simple (one `@`, a dotted domain, no spaces, quotes, control or
/// invisible characters); deliverability is proven by the verification mail, not by a regex.
///
/// # Errors
/// [`AuthError::InvalidEmail`] when the address is malformed or too long.
pub fn normalize_email(input: &str) -> Result<String, AuthError> {
    // NFKC again after lowercasing: lowercasing can leave combining marks out of canonical
    // order (`İ` lowercases to `i` + U+0307, which must then sort after a mark of a lower
    // class), and only a normal form makes normalising twice equal normalising once.
    let email: String = input
        .trim()
        .nfkc()
        .flat_map(char::to_lowercase)
        .nfkc()
        .collect();
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
                && !is_invisible(c)
                && !matches!(
                    c,
                    '@' | '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | '\\' | ']'
                )
        })
}

/// Characters that render as nothing (or only change how their neighbours render), so that an
/// address containing them looks exactly like one without: Unicode format characters
/// (general category Cf: soft hyphen, zero-width space / joiners, bidirectional controls,
/// word joiner, invisible operators, the byte order mark, tags, ...), variation selectors,
/// the combining grapheme joiner, Mongolian free variation selectors and the Hangul fillers.
///
/// ```
/// use portcullis_core::email::is_invisible;
/// assert!(is_invisible('\u{200B}')); // zero-width space
/// assert!(!is_invisible('a'));
/// ```
#[must_use]
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
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
    fn lowercasing_that_breaks_canonical_order_is_renormalised() {
        // Found by the idempotence property test: `İ` lowercases to `i` + U+0307 (combining
        // class 230), which then stood before U+09BC (class 7).
        let once = normalize_email("İ\u{9bc}@a.a").unwrap();
        assert_eq!(once, "i\u{9bc}\u{307}@a.a");
        assert_eq!(normalize_email(&once).unwrap(), once);
    }

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
            "ali\u{200B}ce@example.com",
            "ali\u{200D}ce@example.com",
            "\u{FEFF}alice@example.com",
            "ali\u{202E}ecilA@example.com",
            "alice\u{FE0F}@example.com",
            "ali\u{00AD}ce@example.com",
            "\u{3164}alice@example.com",
            "alice@exa\u{200B}mple.com",
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
    fn other_scripts_are_other_addresses() {
        // A Cyrillic `а` (U+0430) is not a Latin `a`, and NFKC does not fold it: a different
        // address, as for mail servers.
        let cyrillic = normalize_email("\u{0430}lice@example.com").unwrap();
        assert_ne!(cyrillic, normalize_email("alice@example.com").unwrap());
        assert_eq!(cyrillic, "\u{0430}lice@example.com");
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
