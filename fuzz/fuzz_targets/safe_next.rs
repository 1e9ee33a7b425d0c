//! `portcullis_tower::safe_next` on arbitrary strings: whatever it accepts is a plain local
//! path that a browser (here: the WHATWG `url` crate) resolves on the current origin, before
//! and after one round of percent-decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_tower::{MAX_NEXT_LEN, safe_next};
use url::Url;

fn check_local(next: &str) {
    assert!(next.starts_with('/'), "{next:?}");
    assert!(!next.starts_with("//"), "{next:?}");
    assert!(!next.contains('\\'), "{next:?}");
    assert!(!next.chars().any(char::is_control), "{next:?}");
    assert!(!next.chars().any(char::is_whitespace), "{next:?}");
    for base in [
        "https://example.com/",
        "https://example.com/base/deep?q=1#f",
    ] {
        let base = Url::parse(base).expect("valid base");
        let resolved = base
            .join(next)
            .unwrap_or_else(|e| panic!("{next:?} does not resolve: {e}"));
        assert_eq!(
            resolved.origin(),
            base.origin(),
            "{next:?} resolved to {resolved}"
        );
        assert_eq!(resolved.host_str(), Some("example.com"), "{next:?}");
        assert!(resolved.username().is_empty() && resolved.password().is_none());
    }
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (
                (bytes[i + 1] as char).to_digit(16),
                (bytes[i + 2] as char).to_digit(16),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fuzz_target!(|data: &[u8]| {
    let candidate = String::from_utf8_lossy(data);
    let Some(next) = safe_next(&candidate) else {
        return;
    };
    assert_eq!(
        next, candidate,
        "safe_next returns its input unchanged or nothing"
    );
    assert!(!next.is_empty() && next.len() <= MAX_NEXT_LEN);
    check_local(&next);
    // A later hop that decodes once more must still see a local path (spaces are fine there).
    let decoded = percent_decode(&next).replace(' ', "%20");
    check_local(&decoded);
});
