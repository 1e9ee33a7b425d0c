//! Property tests (proptest) for `safe_next`: whatever it accepts, for arbitrary strings and
//! for strings built from pieces known to confuse URL parsers, is a local path that the
//! WHATWG URL parser (the `url` crate, as browsers) resolves on the current origin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use portcullis_tower::{MAX_NEXT_LEN, safe_next};
use proptest::prelude::*;
use url::Url;

/// Pieces of hostile and legitimate redirect targets.
const PIECES: &[&str] = &[
    "/",
    "//",
    "///",
    "\\",
    "\\\\",
    "/\\",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%252f",
    "%2e",
    "%2e%2e",
    ".",
    "..",
    "./",
    "../",
    "@",
    ":",
    "?",
    "#",
    "&",
    "=",
    "%",
    "%0",
    "%00",
    "%09",
    "%0a",
    "%0d",
    "%20",
    "javascript:",
    "JavaScript:",
    "data:",
    "http://",
    "https://",
    "http:",
    "https:",
    "//evil.example",
    "evil.example",
    "example.com",
    "user:pass@",
    " ",
    "\t",
    "\n",
    "\r",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{3000}",
    "\u{200b}",
    "\u{202e}",
    "\u{feff}",
    "\u{ff0f}",
    "\u{2215}",
    "\u{fe68}",
    "\u{ff3c}",
    "é",
    "語",
    "🙂",
    "a",
    "dashboard",
    "x=1",
    "~",
    "[::1]",
    "%ef%bc%8f",
];

fn nasty() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 1..8).prop_map(|pieces| pieces.concat())
}

/// One round of percent-decoding (invalid escapes kept as they are, invalid UTF-8 replaced).
fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(hi * 16 + lo).unwrap());
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `next` is a plain local path that stays on the origin of every base it is resolved
/// against.
fn assert_local(next: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        next.starts_with('/') && !next.starts_with("//"),
        "{:?}",
        next
    );
    prop_assert!(!next.contains('\\'), "{:?}", next);
    prop_assert!(!next.chars().any(char::is_control), "{:?}", next);
    for base in [
        "https://example.com/base",
        "https://example.com/base/",
        "https://example.com/a/b/c?q=1#frag",
    ] {
        let base = Url::parse(base).unwrap();
        let resolved = base.join(next);
        prop_assert!(
            resolved.is_ok(),
            "{:?} does not resolve: {:?}",
            next,
            resolved
        );
        let resolved = resolved.unwrap();
        prop_assert_eq!(
            resolved.origin().ascii_serialization(),
            "https://example.com",
            "{:?} resolved to {}",
            next,
            resolved
        );
        prop_assert!(resolved.username().is_empty() && resolved.password().is_none());
    }
    Ok(())
}

fn check(candidate: &str) -> Result<(), TestCaseError> {
    let Some(next) = safe_next(candidate) else {
        return Ok(());
    };
    prop_assert_eq!(
        next.as_str(),
        candidate,
        "safe_next returns its input or nothing"
    );
    prop_assert!(!next.is_empty() && next.len() <= MAX_NEXT_LEN);
    assert_local(&next)?;
    // A later hop that percent-decodes once more still sees a local path.
    assert_local(&percent_decode(&next).replace(' ', "%20"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_strings_never_leave_the_origin(candidate in ".*") {
        check(&candidate)?;
    }

    #[test]
    fn printable_strings_never_leave_the_origin(candidate in "/?[/\\\\%@:.a-z0-9?#]{0,24}") {
        check(&candidate)?;
    }

    #[test]
    fn nasty_pieces_never_leave_the_origin(candidate in nasty()) {
        check(&candidate)?;
    }

    /// The same pieces behind a leading `/`, which is where an attacker has to start.
    #[test]
    fn nasty_paths_never_leave_the_origin(candidate in nasty().prop_map(|s| format!("/{s}"))) {
        check(&candidate)?;
    }

    /// Plain local paths are accepted unchanged.
    #[test]
    fn plain_local_paths_are_accepted(path in "(/[a-zA-Z0-9_~-]{1,12}){1,5}(\\?[a-z]{1,5}=[a-z0-9]{1,5})?") {
        let accepted = safe_next(&path);
        prop_assert_eq!(accepted.as_deref(), Some(path.as_str()));
    }
}
