//! safe_next: hostile redirect targets fall back to the default; whatever it accepts stays
//! on the current origin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use portcullis_tower::safe_next;
use url::Url;

const HOSTILE: &[&str] = &[
    "",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "http://evil.example/path",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "dashboard",
    "./dashboard",
    "../dashboard",
    "@evil.example",
    "https://app.example@evil.example",
    "//app.example@evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "/\u{0}/evil.example",
    "/\u{7f}",
    "/a\\b",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%5Cevil.example",
    "/%5c%5cevil.example",
    "/%09/evil.example",
    "/../evil.example",
    "/a/../../evil.example",
    "/./x",
    "/%2e%2e/evil.example",
    "/\u{200B}/evil.example",
    "/\u{202E}lmth.exe",
    " /dashboard",
    "/dashboard\n",
];

#[test]
fn hostile_targets_are_refused() {
    for hostile in HOSTILE {
        assert_eq!(safe_next(hostile), None, "accepted {hostile:?}");
    }
    let long = format!("/{}", "a".repeat(2048));
    assert_eq!(safe_next(&long), None);
    assert!(safe_next(&long[..2048]).is_some());
}

#[test]
fn local_paths_are_kept_as_given() {
    for ok in [
        "/",
        "/dashboard",
        "/dashboard?x=1",
        "/a/b#c",
        "/a%20b",
        "/?next=//x",
    ] {
        assert_eq!(safe_next(ok).as_deref(), Some(ok));
    }
}

/// Property: for many generated candidates, anything accepted resolves (per the WHATWG URL
/// parser browsers use) to the same origin, and stays there when resolved again after one
/// percent-decoding.
#[test]
fn whatever_is_accepted_stays_on_origin() {
    let base = Url::parse("https://app.example/current/page?q=1").unwrap();
    let alphabet: &[&str] = &[
        "/",
        "\\",
        ".",
        "..",
        "@",
        ":",
        "?",
        "#",
        "%2F",
        "%5C",
        "%2e",
        "%09",
        "%00",
        "\t",
        "\n",
        " ",
        "evil.example",
        "a",
        "javascript:",
        "http:",
        "//",
        "%",
        "~",
        "\u{200B}",
        "%252F",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next_random = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut accepted = 0;
    for _ in 0..200_000 {
        let len = 1 + (next_random() % 6) as usize;
        let candidate: String = (0..len)
            .map(|_| alphabet[(next_random() % alphabet.len() as u64) as usize])
            .collect();
        if let Some(next) = safe_next(&candidate) {
            accepted += 1;
            let resolved = base.join(&next).unwrap();
            assert_eq!(
                resolved.origin(),
                base.origin(),
                "{candidate:?} left the origin"
            );
            let path = format!(
                "{}{}",
                resolved.path(),
                resolved
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default()
            );
            let again = base.join(&path).unwrap();
            assert_eq!(again.origin(), base.origin(), "{candidate:?} -> {path:?}");
            let decoded = percent_decode(&path);
            if let Ok(decoded_url) = base.join(&decoded) {
                assert_eq!(
                    decoded_url.origin(),
                    base.origin(),
                    "{candidate:?} decodes to {decoded:?}"
                );
            }
        }
    }
    assert!(
        accepted > 1000,
        "the generator should hit valid paths too ({accepted})"
    );
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&input[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
