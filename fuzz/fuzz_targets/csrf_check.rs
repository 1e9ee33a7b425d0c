//! `CsrfGuard::check` with an arbitrary method, Fetch Metadata, `Origin`, `Host`, form and
//! header tokens, token source and guard settings.
//!
//! Never panics, and the verdict follows the documented rules: safe methods and bearer
//! requests pass; the session's form token passes; otherwise `Sec-Fetch-Site` decides when
//! present (a cross-site request is refused), then `Origin`; with no evidence at all the
//! request is refused; and nothing passes without one of these pieces of evidence.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portcullis_core::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use portcullis_core::{Token, TokenSource};
use portcullis_transport::{CSRF_HEADER, CsrfGuard, CsrfRejection};

/// A fixed, well-formed session token (43 base64url characters).
const SESSION: &str = "c2Vzc2lvbi10b2tlbi1mb3ItZnV6emluZy0wMTIzNDU";

#[derive(Debug, Arbitrary)]
enum MethodChoice {
    Get,
    Head,
    Options,
    Trace,
    Post,
    Put,
    Patch,
    Delete,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum TokenChoice {
    Absent,
    /// The form token of the session.
    Correct,
    /// The session token itself (must not work as a form token).
    SessionToken,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Value {
    Known(u8),
    Raw(Vec<u8>),
}

const KNOWN: &[&str] = &[
    "same-origin",
    "same-site",
    "cross-site",
    "none",
    "https://app.example.com",
    "https://APP.example.com/",
    "http://app.example.com",
    "https://front.example.com",
    "https://app.example.com:8443",
    "app.example.com",
    "APP.EXAMPLE.COM",
    "app.example.com:8443",
    "null",
    "",
];

impl Value {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Known(i) => KNOWN[usize::from(*i) % KNOWN.len()].as_bytes().to_vec(),
            Self::Raw(bytes) => bytes.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: MethodChoice,
    /// `None`: no session token found (a login form); `Some(true)`: bearer; `Some(false)`: cookie.
    source: Option<bool>,
    with_session: bool,
    form_token: TokenChoice,
    header_token: TokenChoice,
    sec_fetch_site: Option<Value>,
    origin: Option<Value>,
    host: Option<Value>,
    /// More headers, appended after the ones above (duplicates included).
    extra: Vec<(u8, Value)>,
    allowed_origin: Option<Value>,
    allow_same_site: bool,
}

const NAMES: &[&str] = &["sec-fetch-site", "origin", "host", CSRF_HEADER, "cookie"];

fn insert(headers: &mut HeaderMap, name: &'static str, value: &[u8]) {
    if let Ok(value) = HeaderValue::from_bytes(value) {
        headers.append(HeaderName::from_static(name), value);
    }
}

fn token_text(choice: &TokenChoice, expected: &str) -> Option<String> {
    match choice {
        TokenChoice::Absent => None,
        TokenChoice::Correct => Some(expected.to_owned()),
        TokenChoice::SessionToken => Some(SESSION.to_owned()),
        TokenChoice::Other(s) => Some(s.clone()),
    }
}

fuzz_target!(|input: Input| {
    let session = Token::parse(SESSION).expect("the fixed session token is well-formed");
    let expected = CsrfGuard::token_for(&session);
    let method = match &input.method {
        MethodChoice::Get => Method::GET,
        MethodChoice::Head => Method::HEAD,
        MethodChoice::Options => Method::OPTIONS,
        MethodChoice::Trace => Method::TRACE,
        MethodChoice::Post => Method::POST,
        MethodChoice::Put => Method::PUT,
        MethodChoice::Patch => Method::PATCH,
        MethodChoice::Delete => Method::DELETE,
        MethodChoice::Other(name) => match Method::from_bytes(name.as_bytes()) {
            Ok(method) => method,
            Err(_) => return,
        },
    };
    let source = input.source.map(|bearer| {
        if bearer {
            TokenSource::Bearer
        } else {
            TokenSource::Cookie
        }
    });

    let mut headers = HeaderMap::new();
    if let Some(site) = &input.sec_fetch_site {
        insert(&mut headers, "sec-fetch-site", &site.bytes());
    }
    if let Some(origin) = &input.origin {
        insert(&mut headers, "origin", &origin.bytes());
    }
    if let Some(host) = &input.host {
        insert(&mut headers, "host", &host.bytes());
    }
    if let Some(token) = token_text(&input.header_token, &expected) {
        insert(&mut headers, CSRF_HEADER, token.as_bytes());
    }
    for (name, value) in input.extra.iter().take(8) {
        insert(
            &mut headers,
            NAMES[usize::from(*name) % NAMES.len()],
            &value.bytes(),
        );
    }

    let mut guard = CsrfGuard::new().allow_same_site(input.allow_same_site);
    let allowed = input
        .allowed_origin
        .as_ref()
        .map(|v| String::from_utf8_lossy(&v.bytes()).into_owned());
    if let Some(origin) = &allowed {
        guard = guard.allow_origin(origin.clone());
    }
    let session_token = input.with_session.then_some(&session);
    let form_token = token_text(&input.form_token, &expected);
    let verdict = guard.check(
        &method,
        &headers,
        source,
        session_token,
        form_token.as_deref(),
    );

    let safe = matches!(
        method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if safe || source == Some(TokenSource::Bearer) {
        assert_eq!(
            verdict,
            Ok(()),
            "safe methods and bearer requests always pass"
        );
        return;
    }

    // The evidence a request may carry.
    let submitted = form_token.clone().or_else(|| {
        headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let token_ok = input.with_session && submitted.as_deref() == Some(expected.as_str());
    let site = headers.get("sec-fetch-site").map(|v| v.as_bytes().to_vec());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());

    if token_ok {
        assert_eq!(verdict, Ok(()), "the session's form token must pass");
        return;
    }
    if input.with_session && form_token.as_deref() == Some(SESSION) {
        // The session token itself is never a valid form token: only the other evidence counts.
        assert_ne!(expected, SESSION);
    }
    match site.as_deref() {
        Some(b"same-origin" | b"none") => assert_eq!(verdict, Ok(())),
        Some(b"same-site") if input.allow_same_site => assert_eq!(verdict, Ok(())),
        Some(_) => assert_eq!(verdict, Err(CsrfRejection::CrossSite), "site {site:?}"),
        None => match origin {
            None => assert_eq!(verdict, Err(CsrfRejection::NoEvidence)),
            Some(origin) => {
                let origin = origin.trim_end_matches('/').to_ascii_lowercase();
                let allowed_match = allowed
                    .as_deref()
                    .is_some_and(|a| a.trim_end_matches('/').to_ascii_lowercase() == origin);
                let host_match = host.is_some_and(|host| {
                    let host = host.to_ascii_lowercase();
                    origin.strip_prefix("https://") == Some(host.as_str())
                        || origin.strip_prefix("http://") == Some(host.as_str())
                });
                if allowed_match || host_match {
                    assert_eq!(verdict, Ok(()), "origin {origin:?} host {host:?}");
                } else {
                    assert_eq!(
                        verdict,
                        Err(CsrfRejection::OriginNotAllowed),
                        "origin {origin:?} host {host:?} allowed {allowed:?}"
                    );
                }
            }
        },
    }
});
