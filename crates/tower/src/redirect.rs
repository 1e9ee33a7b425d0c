//! [`safe_next`]: validating where to send the browser after login.
//!
//! ```
//! use portcullis_tower::safe_next;
//!
//! assert_eq!(safe_next("/dashboard?tab=1").as_deref(), Some("/dashboard?tab=1"));
//! for hostile in ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)"] {
//!     assert_eq!(safe_next(hostile), None);
//! }
//! let next = safe_next("//evil.example").unwrap_or_else(|| "/".to_owned());
//! assert_eq!(next, "/");
//! ```

/// Longest `next` accepted, in bytes.
pub const MAX_NEXT_LEN: usize = 2048;

/// Accepts `candidate` as a post-login redirect target only when it is a plain local
/// absolute path (`/dashboard?x=1#top`); anything else is `None`, so the caller falls back to
/// a default page.
///
/// Refused: empty or longer than [`MAX_NEXT_LEN`]; anything not starting with exactly one
/// `/` (`//evil`, `/\evil`, `\\evil`, `http://…`, `javascript:…`, relative paths); any
/// backslash, control character or whitespace anywhere (browsers turn `\` into `/` and strip
/// tabs and newlines, so `/\evil` and `/\t/evil` mean `//evil`); dot segments (`/../`,
/// which a later normalisation can turn into `//evil`); and all of these again after one
/// round of percent-decoding (`/%2F%2Fevil`, `/%5Cevil`), in case a later hop decodes it.
/// Whatever it returns, a browser resolves to a URL on the current origin.
#[must_use]
pub fn safe_next(candidate: &str) -> Option<String> {
    if candidate.is_empty() || candidate.len() > MAX_NEXT_LEN {
        return None;
    }
    let decoded = percent_decode_lossy(candidate);
    (is_local_path(candidate, false) && is_local_path(&decoded, true)).then(|| candidate.to_owned())
}

/// `decoded`: checking the percent-decoded form, where a space (`%20`) is legitimate.
fn is_local_path(path: &str, decoded: bool) -> bool {
    let mut chars = path.chars();
    if chars.next() != Some('/') || matches!(chars.next(), Some('/' | '\\')) {
        return false;
    }
    if path.chars().any(|c| {
        c == '\\'
            || c.is_control()
            || (c.is_whitespace() && !(decoded && c == ' '))
            || portcullis_core::email::is_invisible(c)
    }) {
        return false;
    }
    // Dot segments in the path part (before any query or fragment).
    let end = path.find(['?', '#']).unwrap_or(path.len());
    !path[..end]
        .split('/')
        .any(|segment| segment == "." || segment == "..")
}

fn percent_decode_lossy(input: &str) -> String {
    String::from_utf8_lossy(&portcullis_http::percent_decode(input.as_bytes())).into_owned()
}

/// Percent-encodes `value` for a query parameter: everything but `A-Z a-z 0-9 - . _ ~ /`.
pub(crate) fn encode_query_value(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_accepted() {
        for ok in [
            "/",
            "/dashboard",
            "/dashboard?x=1&y=%2F",
            "/a/b.c/d#frag",
            "/search?q=a..b",
            "/@user",
            "/caf%C3%A9",
            "/a%20b",
            "/?next=//evil",
        ] {
            assert_eq!(safe_next(ok).as_deref(), Some(ok), "{ok}");
        }
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode_query_value("/a b?x=1&y=é"),
            "/a%20b%3Fx%3D1%26y%3D%C3%A9"
        );
    }
}
