//! Hostile requests against every route of the demo server, over raw TCP (so that nothing
//! on the client side cleans them up): oversized bodies and headers, deep JSON, wrong types,
//! control characters and NUL in every string field, invalid UTF-8, SQL and HTML
//! metacharacters, emails at the length limits, look-alike emails, 10,000-character names.
//!
//! One table ([`cases`]) holds every request with the answer it must get. For each case:
//! never a 5xx; an error from the application is a 4xx with exactly `{"detail", "code"}` and
//! the expected code; every `/auth` answer carries `Cache-Control: no-store`; and
//! `GET /health` answers 200 afterwards (the server keeps serving).
//!
//! Answers without the JSON shape, each marked in the table:
//! - [`Expect::Hyper`]: requests hyper refuses while parsing, before any application code
//!   runs (a NUL or other control character in a header value, a space in a header name, a
//!   non-numeric or doubled `Content-Length`, a raw non-UTF-8 byte in the path, more than
//!   100 headers, more than ~400 KiB of headers). hyper answers a bare `400` or `431` with
//!   `content-length: 0` and closes the connection.
//! - [`Expect::Bare`]: a wrong method on the demo's own routes (`/health`, `/protected`,
//!   `/admin`): axum's `405` with `Allow` and an empty body. (The `/auth` API answers
//!   `405 method_not_allowed` and unknown `/auth/...` paths `404 not_found` in its shape.)
//! - [`Expect::Page`] and [`Expect::PlainText`]: the HTML forms answer people, with the form
//!   again (`422`, HTML); axum's form extractor refuses a body over 16 KiB (`413`) or a JSON
//!   body (`415`) with its own plain-text message.
//!
//! The server runs with `max_failed_logins` raised, so that the many wrong passwords in the
//! table do not lock the test account (lockout has its own tests in `http_api.rs` and
//! `races.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::time::Duration;

use portcullis_manager::AuthConfig;
use portcullis_password::MultiHasher;
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_sea_orm::testing;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "correct horse battery staple";
/// Over `RouterConfig::max_body_bytes` (16 KiB).
const OVER_BODY_LIMIT: usize = 17 * 1024;

// ----------------------------------------------------------------------------------------
// A raw HTTP/1.1 client.

/// What the server answered.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` on a new connection and reads the answer until the server closes it
/// (every request says `Connection: close`).
async fn send_raw(addr: &str, request: Vec<u8>) -> Raw {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Written concurrently with reading: the server may answer (413, 431) before it has
    // read everything.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut bytes)).await;
    assert!(read.is_ok(), "no complete answer within 30 s");
    drop(writing.await);
    parse_response(&bytes)
}

fn parse_response(bytes: &[u8]) -> Raw {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response: {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else if let Some((_, length)) = headers.iter().find(|(n, _)| n == "content-length") {
        rest[..length.parse::<usize>().unwrap().min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Raw {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

// ----------------------------------------------------------------------------------------
// The table.

/// Which credentials a case sends (filled in when it runs: the session may be replaced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Anonymous,
    /// `Authorization: Bearer <token>` of the test account.
    Bearer,
    /// The test account's session cookie, with no cross-site evidence either way.
    Cookie,
}

/// The answer a case must get.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// An error from the application: this status and `code`, body exactly `{"detail","code"}`.
    Error(u16, &'static str),
    /// A success: the hostile part of the request is harmless here (ignored, or stored
    /// verbatim as data).
    Success(u16),
    /// Refused by hyper while parsing, before the application: this status, empty body.
    Hyper(u16),
    /// axum's own answer outside the API (a wrong method on a demo route): this status,
    /// empty body.
    Bare(u16),
    /// An HTML form page (the pages answer people, not programs): this status, HTML body.
    Page(u16),
    /// Refused by axum's form extractor on an HTML route: this status, a plain-text body.
    PlainText(u16),
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    method: Vec<u8>,
    target: Vec<u8>,
    auth: Auth,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// `None`: no body and no `Content-Type`.
    body: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    /// Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`.
    chunked: bool,
    /// Send no `Content-Length` / `Transfer-Encoding` of our own (the case sets its own).
    raw_framing: bool,
    expect: Expect,
}

impl Case {
    fn new(
        name: impl Into<String>,
        method: &str,
        target: impl Into<Vec<u8>>,
        expect: Expect,
    ) -> Self {
        Self {
            name: name.into(),
            method: method.as_bytes().to_vec(),
            target: target.into(),
            auth: Auth::Anonymous,
            headers: Vec::new(),
            body: None,
            content_type: None,
            chunked: false,
            raw_framing: false,
            expect,
        }
    }

    fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    fn json(mut self, body: &Value) -> Self {
        self.body = Some(serde_json::to_vec(body).unwrap());
        self.content_type = Some(b"application/json".to_vec());
        self
    }

    /// A body that is meant to be JSON, given as raw bytes (malformed on purpose).
    fn json_bytes(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.content_type = Some(b"application/json".to_vec());
        self
    }

    fn body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.content_type = content_type.map(|c| c.as_bytes().to_vec());
        self
    }

    fn header(mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    fn raw_framing(mut self) -> Self {
        self.raw_framing = true;
        self
    }

    fn bytes(&self, token: &str) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.method);
        out.push(b' ');
        out.extend_from_slice(&self.target);
        out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        match self.auth {
            Auth::Anonymous => {}
            Auth::Bearer => {
                out.extend_from_slice(format!("Authorization: Bearer {token}\r\n").as_bytes())
            }
            Auth::Cookie => {
                out.extend_from_slice(format!("Cookie: portcullis_session={token}\r\n").as_bytes())
            }
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(content_type) = &self.content_type {
            out.extend_from_slice(b"Content-Type: ");
            out.extend_from_slice(content_type);
            out.extend_from_slice(b"\r\n");
        }
        let body = self.body.clone().unwrap_or_default();
        if self.raw_framing {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&body);
        } else if self.chunked {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for chunk in body.chunks(1000) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            if self.body.is_some() || self.method != b"GET" {
                out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&body);
        }
        out
    }
}

/// A route of the API, with a harmless request (the baseline) that the hostile variations
/// start from, and that request's answer.
struct Route {
    method: &'static str,
    path: &'static str,
    auth: Auth,
    /// `None`: the route reads no body.
    body: Option<Value>,
    baseline: Expect,
}

/// A well-formed token that was never issued.
const BOGUS_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn unknown_email() -> String {
    support::email("nobody")
}

fn routes() -> Vec<Route> {
    use Auth::{Anonymous, Bearer};
    use Expect::{Error, Success};
    vec![
        Route {
            method: "POST",
            path: "/auth/register",
            auth: Anonymous,
            body: Some(json!({"name": "Mallory", "email": "not-an-email", "password": PASSWORD})),
            baseline: Error(422, "invalid_email"),
        },
        Route {
            method: "POST",
            path: "/auth/login",
            auth: Anonymous,
            body: Some(json!({"email": unknown_email(), "password": "wrong password 1"})),
            baseline: Error(401, "invalid_credentials"),
        },
        Route {
            method: "POST",
            path: "/auth/logout",
            auth: Anonymous,
            body: None,
            baseline: Success(200),
        },
        Route {
            method: "GET",
            path: "/auth/me",
            auth: Bearer,
            body: None,
            baseline: Success(200),
        },
        Route {
            method: "PATCH",
            path: "/auth/me",
            auth: Bearer,
            body: Some(json!({"image": "javascript:alert(1)"})),
            baseline: Error(422, "invalid_input"),
        },
        Route {
            method: "GET",
            path: "/auth/sessions",
            auth: Bearer,
            body: None,
            baseline: Success(200),
        },
        Route {
            method: "DELETE",
            path: "/auth/sessions/not-a-uuid",
            auth: Bearer,
            body: None,
            baseline: Error(422, "invalid_input"),
        },
        Route {
            method: "POST",
            path: "/auth/sessions/revoke-others",
            auth: Bearer,
            body: None,
            baseline: Success(204),
        },
        Route {
            method: "POST",
            path: "/auth/verify/request",
            auth: Bearer,
            body: None,
            baseline: Success(202),
        },
        Route {
            method: "POST",
            path: "/auth/verify",
            auth: Anonymous,
            body: Some(json!({"token": BOGUS_TOKEN})),
            baseline: Error(400, "invalid_token"),
        },
        Route {
            method: "POST",
            path: "/auth/password/forgot",
            auth: Anonymous,
            body: Some(json!({"email": unknown_email()})),
            baseline: Success(202),
        },
        Route {
            method: "POST",
            path: "/auth/password/reset",
            auth: Anonymous,
            body: Some(json!({"token": BOGUS_TOKEN, "password": "a new passphrase 1"})),
            baseline: Error(400, "invalid_token"),
        },
        Route {
            method: "POST",
            path: "/auth/password/change",
            auth: Bearer,
            body: Some(
                json!({"current_password": "not the password", "new_password": "a new passphrase 2"}),
            ),
            baseline: Error(401, "invalid_credentials"),
        },
        Route {
            method: "POST",
            path: "/auth/email/change",
            auth: Bearer,
            body: Some(json!({"new_email": "not-an-email", "password": PASSWORD})),
            baseline: Error(422, "invalid_email"),
        },
        Route {
            method: "GET",
            path: "/auth/events",
            auth: Bearer,
            body: None,
            baseline: Success(200),
        },
        Route {
            method: "GET",
            path: "/health",
            auth: Anonymous,
            body: None,
            baseline: Success(200),
        },
        Route {
            method: "GET",
            path: "/protected",
            auth: Bearer,
            body: None,
            baseline: Success(200),
        },
        Route {
            method: "GET",
            path: "/admin",
            auth: Bearer,
            body: None,
            baseline: Error(403, "forbidden"),
        },
    ]
}

impl Route {
    fn case(&self, name: &str, expect: Expect) -> Case {
        let case = Case::new(
            format!("{} {}: {name}", self.method, self.path),
            self.method,
            self.path,
            expect,
        )
        .auth(self.auth);
        match &self.body {
            Some(body) => case.json(body),
            None => case,
        }
    }

    /// The baseline, unless the credentials were spoiled: then a route that needs them
    /// answers 401.
    fn without_credentials(&self) -> Expect {
        if self.auth == Auth::Anonymous {
            self.baseline.clone()
        } else {
            Expect::Error(401, "not_authenticated")
        }
    }
}

/// Strings that have broken parsers, databases and pages elsewhere.
fn hostile_strings() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", "ab\u{0}cd".to_owned()),
        ("only NUL", "\u{0}".to_owned()),
        ("escape sequence", "\u{1b}[31mred\u{1b}[0m".to_owned()),
        ("DEL", "ab\u{7f}cd".to_owned()),
        (
            "CR LF header injection",
            "x\r\nSet-Cookie: evil=1".to_owned(),
        ),
        ("SQL quote", "' OR '1'='1' --".to_owned()),
        (
            "SQL statement",
            "x'); DROP TABLE portcullis_user; --".to_owned(),
        ),
        ("HTML", "<script>alert(\"x\")</script>&amp;".to_owned()),
        ("10,000 characters", "n".repeat(10_000)),
        ("empty", String::new()),
        ("spaces", "   ".to_owned()),
        ("4-byte characters", "😀".repeat(20)),
    ]
}

/// Whether `password` passes the default policy (8 to 128 characters, no control characters;
/// none of these is a common password).
fn acceptable_password(password: &str) -> bool {
    (8..=128).contains(&password.chars().count()) && !password.chars().any(char::is_control)
}

/// Whether `name` is an acceptable display name (1 to 100 characters after trimming, no
/// control characters).
fn acceptable_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty() && name.chars().count() <= 100 && !name.chars().any(char::is_control)
}

/// The answer for `value` in one string field of one route (everything else in the body
/// valid or harmless).
fn string_field_case(path: &str, field: &str, label: &str, value: &str) -> Case {
    use Expect::{Error, Success};
    let invalid_input = Error(422, "invalid_input");
    let (method, auth, body, expect) = match (path, field) {
        ("/auth/register", "name") => (
            "POST",
            Auth::Anonymous,
            json!({"name": value, "email": support::email("reg"), "password": PASSWORD}),
            if acceptable_name(value) {
                Success(201)
            } else {
                invalid_input
            },
        ),
        ("/auth/register", "email") => (
            "POST",
            Auth::Anonymous,
            json!({"name": "Mallory", "email": value, "password": PASSWORD}),
            Error(422, "invalid_email"),
        ),
        ("/auth/register", "password") => (
            "POST",
            Auth::Anonymous,
            json!({"name": "Mallory", "email": support::email("reg"), "password": value}),
            // Any Unicode but control characters is allowed in a password (it is only ever
            // hashed): SQL and HTML are just characters.
            if acceptable_password(value) {
                Success(201)
            } else {
                Error(400, "weak_password")
            },
        ),
        ("/auth/register", "username") => (
            "POST",
            Auth::Anonymous,
            json!({"name": "Mallory", "email": support::email("reg"), "password": PASSWORD, "username": value}),
            // A blank username means none.
            if value.trim().is_empty() {
                Success(201)
            } else {
                invalid_input
            },
        ),
        ("/auth/login", "email") => (
            "POST",
            Auth::Anonymous,
            json!({"email": value, "password": PASSWORD}),
            Error(401, "invalid_credentials"),
        ),
        ("/auth/login", "password") => (
            "POST",
            Auth::Anonymous,
            json!({"email": "{victim}", "password": value}),
            Error(401, "invalid_credentials"),
        ),
        ("/auth/me", "name") => (
            "PATCH",
            Auth::Bearer,
            json!({"name": value}),
            if acceptable_name(value) {
                Success(200)
            } else {
                invalid_input
            },
        ),
        ("/auth/me", "image") => (
            "PATCH",
            Auth::Bearer,
            json!({"image": value}),
            invalid_input,
        ),
        ("/auth/verify", "token") => (
            "POST",
            Auth::Anonymous,
            json!({"token": value}),
            Error(400, "invalid_token"),
        ),
        ("/auth/password/forgot", "email") => (
            "POST",
            Auth::Anonymous,
            json!({"email": value}),
            Success(202),
        ),
        ("/auth/password/reset", "token") => (
            "POST",
            Auth::Anonymous,
            json!({"token": value, "password": "a new passphrase 3"}),
            Error(400, "invalid_token"),
        ),
        ("/auth/password/reset", "password") => (
            "POST",
            Auth::Anonymous,
            json!({"token": BOGUS_TOKEN, "password": value}),
            // The policy is checked before the token.
            if acceptable_password(value) {
                Error(400, "invalid_token")
            } else {
                Error(400, "weak_password")
            },
        ),
        ("/auth/password/change", "current_password") => (
            "POST",
            Auth::Bearer,
            json!({"current_password": value, "new_password": "a new passphrase 4"}),
            Error(401, "invalid_credentials"),
        ),
        ("/auth/password/change", "new_password") => (
            "POST",
            Auth::Bearer,
            // A wrong current password: nothing changes whatever the new one is.
            json!({"current_password": "not the password", "new_password": value}),
            if acceptable_password(value) {
                Error(401, "invalid_credentials")
            } else {
                Error(400, "weak_password")
            },
        ),
        ("/auth/email/change", "new_email") => (
            "POST",
            Auth::Bearer,
            json!({"new_email": value, "password": PASSWORD}),
            Error(422, "invalid_email"),
        ),
        ("/auth/email/change", "password") => (
            "POST",
            Auth::Bearer,
            json!({"new_email": support::email("new"), "password": value}),
            Error(401, "invalid_credentials"),
        ),
        other => panic!("no such field {other:?}"),
    };
    Case::new(
        format!("{method} {path}: {field} = {label}"),
        method,
        path,
        expect,
    )
    .auth(auth)
    .json(&body)
}

/// Every (route, string field) pair.
const STRING_FIELDS: &[(&str, &str)] = &[
    ("/auth/register", "name"),
    ("/auth/register", "email"),
    ("/auth/register", "password"),
    ("/auth/register", "username"),
    ("/auth/login", "email"),
    ("/auth/login", "password"),
    ("/auth/me", "name"),
    ("/auth/me", "image"),
    ("/auth/verify", "token"),
    ("/auth/password/forgot", "email"),
    ("/auth/password/reset", "token"),
    ("/auth/password/reset", "password"),
    ("/auth/password/change", "current_password"),
    ("/auth/password/change", "new_password"),
    ("/auth/email/change", "new_email"),
    ("/auth/email/change", "password"),
];

/// Whether the field may be absent or `null` (`PATCH /auth/me` fields, `username`).
fn optional(path: &str, field: &str) -> bool {
    matches!(
        (path, field),
        ("/auth/me", _) | ("/auth/register", "username")
    )
}

fn cases() -> Vec<Case> {
    use Expect::{Error, Hyper, Success};
    let mut cases = Vec::new();
    let routes = routes();

    // Hostile strings in every string field.
    for (path, field) in STRING_FIELDS {
        for (label, value) in hostile_strings() {
            cases.push(string_field_case(path, field, label, &value));
        }
        // Email-shaped hostile values, for the fields that hold addresses.
        if field.contains("email") {
            for (label, local) in [
                ("NUL in an address", "ab\u{0}cd"),
                ("newline in an address", "ab\ncd"),
                ("quote and SQL in an address", "x' OR 1=1 --"),
                ("HTML in an address", "<script>"),
                ("zero-width space in an address", "ab\u{200b}cd"),
                ("right-to-left override in an address", "ab\u{202e}cd"),
                ("byte order mark in an address", "\u{feff}abcd"),
            ] {
                let address = format!("{local}@example.com");
                let mut case = string_field_case(path, field, label, &address);
                if *path == "/auth/login" {
                    case.expect = Error(401, "invalid_credentials");
                }
                cases.push(case);
            }
        }
        // Wrong JSON types.
        for (label, value) in [
            ("a number", json!(12_345_678)),
            ("a float", json!(1.5e300)),
            ("true", json!(true)),
            ("an array", json!(["a", "b"])),
            ("an object", json!({"$ne": null})),
            ("null", Value::Null),
        ] {
            let mut case = string_field_case(path, field, "placeholder", "placeholder@example.com");
            let mut body: Value = serde_json::from_slice(case.body.as_ref().unwrap()).unwrap();
            body[*field] = value.clone();
            case = case.json(&body);
            case.name = format!(
                "{} {path}: {field} is {label}",
                String::from_utf8_lossy(&case.method)
            );
            case.expect = if value.is_null() && optional(path, field) {
                if *path == "/auth/me" {
                    Success(200)
                } else {
                    Success(201)
                }
            } else {
                Error(422, "invalid_input")
            };
            cases.push(case);
        }
        // The field missing.
        let mut case = string_field_case(path, field, "placeholder", "placeholder@example.com");
        let mut body: Value = serde_json::from_slice(case.body.as_ref().unwrap()).unwrap();
        body.as_object_mut().unwrap().remove(*field);
        case = case.json(&body);
        case.name = format!(
            "{} {path}: {field} missing",
            String::from_utf8_lossy(&case.method)
        );
        case.expect = if optional(path, field) {
            if *path == "/auth/me" {
                Success(200)
            } else {
                Success(201)
            }
        } else {
            Error(422, "invalid_input")
        };
        cases.push(case);
    }

    // Malformed bodies, for every route that reads one.
    for route in routes.iter().filter(|r| r.body.is_some()) {
        let field = route
            .body
            .as_ref()
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let invalid = Error(422, "invalid_input");
        let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let body_cases: Vec<(&str, Case)> = vec![
            ("a body over the limit", {
                let mut body = route.body.clone().unwrap();
                body["padding"] = Value::String("p".repeat(OVER_BODY_LIMIT));
                route.case("", Error(413, "payload_too_large")).json(&body)
            }),
            ("a chunked body over the limit", {
                let mut body = route.body.clone().unwrap();
                body["padding"] = Value::String("p".repeat(OVER_BODY_LIMIT));
                route
                    .case("", Error(413, "payload_too_large"))
                    .json(&body)
                    .chunked()
            }),
            (
                "a chunked body within the limit",
                route.case("", route.baseline.clone()).chunked(),
            ),
            (
                "4,000 nested arrays",
                route.case("", invalid.clone()).json_bytes(deep(4000)),
            ),
            (
                "nested arrays in a field",
                route
                    .case("", invalid.clone())
                    .json_bytes(format!("{{\"{field}\": {}}}", deep(2000))),
            ),
            (
                "nested objects",
                route.case("", invalid.clone()).json_bytes(format!(
                    "{}1{}",
                    "{\"a\":".repeat(2000),
                    "}".repeat(2000)
                )),
            ),
            (
                "truncated JSON",
                route
                    .case("", invalid.clone())
                    .json_bytes(format!("{{\"{field}\": ")),
            ),
            (
                "an empty body",
                route.case("", invalid.clone()).json_bytes(""),
            ),
            ("an array", route.case("", invalid.clone()).json_bytes("[]")),
            ("null", route.case("", invalid.clone()).json_bytes("null")),
            (
                "a string",
                route.case("", invalid.clone()).json_bytes("\"x\""),
            ),
            (
                "invalid UTF-8",
                route.case("", invalid.clone()).json_bytes({
                    let mut bytes = format!("{{\"{field}\": \"").into_bytes();
                    bytes.extend_from_slice(b"\xff\xfe\xc3");
                    bytes.extend_from_slice(b"\"}");
                    bytes
                }),
            ),
            (
                "a lone surrogate escape",
                route
                    .case("", invalid.clone())
                    .json_bytes(format!("{{\"{field}\": \"\\ud800\"}}")),
            ),
            (
                "a raw NUL inside a string",
                route
                    .case("", invalid.clone())
                    .json_bytes(format!("{{\"{field}\": \"a\u{0}b\"}}")),
            ),
            (
                "a UTF-16 body",
                route.case("", invalid.clone()).json_bytes(
                    "{\"a\":1}"
                        .encode_utf16()
                        .flat_map(u16::to_le_bytes)
                        .collect::<Vec<u8>>(),
                ),
            ),
            (
                "a byte order mark",
                route.case("", invalid.clone()).json_bytes({
                    let mut bytes = b"\xef\xbb\xbf".to_vec();
                    bytes.extend(serde_json::to_vec(route.body.as_ref().unwrap()).unwrap());
                    bytes
                }),
            ),
            (
                "a duplicate key",
                route
                    .case("", invalid.clone())
                    .json_bytes(format!("{{\"{field}\": \"a\", \"{field}\": \"b\"}}")),
            ),
            (
                "a number too large",
                route
                    .case("", invalid.clone())
                    .json_bytes(format!("{{\"{field}\": 1e999}}")),
            ),
            (
                "a form body",
                route.case("", Error(415, "unsupported_media_type")).body(
                    Some("application/x-www-form-urlencoded"),
                    format!("{field}=x"),
                ),
            ),
            (
                "text/plain",
                route.case("", Error(415, "unsupported_media_type")).body(
                    Some("text/plain"),
                    serde_json::to_vec(route.body.as_ref().unwrap()).unwrap(),
                ),
            ),
            (
                "no content type",
                route.case("", Error(415, "unsupported_media_type")).body(
                    None,
                    serde_json::to_vec(route.body.as_ref().unwrap()).unwrap(),
                ),
            ),
            (
                "a content type with an invalid UTF-8 parameter",
                route
                    .case("", Error(415, "unsupported_media_type"))
                    .body(
                        None,
                        serde_json::to_vec(route.body.as_ref().unwrap()).unwrap(),
                    )
                    .header("Content-Type", b"application/json; charset=\xff".to_vec()),
            ),
        ];
        for (label, mut case) in body_cases {
            case.name = format!("{} {}: {label}", route.method, route.path);
            // Every field of `PATCH /auth/me` is optional and unknown fields are ignored, so
            // an unknown deeply nested field, or `[]` (serde's sequence form of a struct with
            // no elements), is an update that changes nothing.
            if route.path == "/auth/me" && (label == "nested objects" || label == "an array") {
                case.expect = Success(200);
            }
            cases.push(case);
        }
    }

    // Hostile headers and framing, on every route.
    let big = |n: usize| "h".repeat(n);
    for route in &routes {
        let mut many = route.case("120 headers", Hyper(431));
        for i in 0..120 {
            many = many.header(format!("X-Filler-{i}"), "x");
        }
        cases.push(many);
        cases.push(
            route
                .case("a 64 KiB header", route.baseline.clone())
                .header("X-Big", big(64 * 1024)),
        );
        cases.push(
            route
                .case("a 1 MiB header", Hyper(431))
                .header("X-Big", big(1024 * 1024)),
        );
        cases.push(
            route
                .case(
                    "a 10 KiB user agent with invalid UTF-8",
                    route.baseline.clone(),
                )
                .header("User-Agent", {
                    let mut ua = b"agent \xff\xfe ".to_vec();
                    ua.extend(big(10 * 1024).into_bytes());
                    ua
                }),
        );
        cases.push(
            route
                .case("a forged X-Forwarded-For", route.baseline.clone())
                .header("X-Forwarded-For", "' OR 1=1, <script>, 999.999.1.1"),
        );
        cases.push(
            route
                .case("a control character in a header value", Hyper(400))
                .header("X-Bad", b"a\x01b".to_vec()),
        );
        cases.push(
            route
                .case("a NUL in a header value", Hyper(400))
                .header("X-Bad", b"a\x00b".to_vec()),
        );
        cases.push(
            route
                .case("a space in a header name", Hyper(400))
                .header("X Bad", "x"),
        );
        cases.push(
            route
                .case("a non-numeric Content-Length", Hyper(400))
                .raw_framing()
                .header("Content-Length", "abc"),
        );
        cases.push(
            route
                .case("two different Content-Lengths", Hyper(400))
                .raw_framing()
                .header("Content-Length", "1")
                .header("Content-Length", "2"),
        );
        // Bearer requests are not checked for cross-site forgery; anonymous unsafe requests
        // that a browser marks cross-site are refused (a forged login or registration).
        let cross_site = if route.auth == Auth::Anonymous && route.method != "GET" {
            Error(403, "csrf_failed")
        } else {
            route.baseline.clone()
        };
        cases.push(
            route
                .case("cross-site evidence", cross_site)
                .header("Sec-Fetch-Site", "cross-site")
                .header("Origin", "https://evil.example"),
        );
        // Spoiled credentials: a route that needs them answers 401, one that does not
        // carries on anonymously.
        let spoiled: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            (
                "a 16 KiB bearer token",
                b"Authorization".to_vec(),
                format!("Bearer {}", "A".repeat(16 * 1024)).into_bytes(),
            ),
            (
                "a bearer token with invalid UTF-8",
                b"Authorization".to_vec(),
                b"Bearer \xff\xfe\xfd".to_vec(),
            ),
            (
                "a bearer token with SQL",
                b"Authorization".to_vec(),
                b"Bearer ' OR '1'='1".to_vec(),
            ),
            (
                "the stored hash (hex) as a token",
                b"Authorization".to_vec(),
                b"Bearer {hash}".to_vec(),
            ),
            (
                "the stored hash (base64url) as a token",
                b"Authorization".to_vec(),
                b"Bearer {hash64}".to_vec(),
            ),
            (
                "Basic credentials",
                b"Authorization".to_vec(),
                b"Basic YWRtaW46YWRtaW4=".to_vec(),
            ),
            (
                "a 10,000-character cookie",
                b"Cookie".to_vec(),
                format!("portcullis_session={}", "c".repeat(10_000)).into_bytes(),
            ),
            (
                "a cookie with invalid UTF-8",
                b"Cookie".to_vec(),
                b"portcullis_session=\xff\xfe".to_vec(),
            ),
            // Two different values under the session cookie's name (cookie tossing): neither
            // is used. (The same value twice is not ambiguous, and is accepted.)
            (
                "two session cookies",
                b"Cookie".to_vec(),
                format!("portcullis_session={{token}}; portcullis_session={BOGUS_TOKEN}")
                    .into_bytes(),
            ),
            (
                "two session cookies, the other order",
                b"Cookie".to_vec(),
                format!("portcullis_session={BOGUS_TOKEN}; portcullis_session={{token}}")
                    .into_bytes(),
            ),
        ];
        for (label, name, value) in spoiled {
            cases.push(
                route
                    .case(label, route.without_credentials())
                    .auth(Auth::Anonymous)
                    .header(name, value),
            );
        }
        // Tokens are never read from URLs.
        if route.auth == Auth::Bearer {
            for parameter in ["token", "access_token", "session"] {
                let mut case = route
                    .case(
                        &format!("the token in ?{parameter}="),
                        Error(401, "not_authenticated"),
                    )
                    .auth(Auth::Anonymous);
                case.target = format!("{}?{parameter}={{token}}", route.path).into_bytes();
                cases.push(case);
            }
        }
        // Cookie-authenticated unsafe requests from another site.
        if route.method != "GET" && route.auth == Auth::Bearer {
            cases.push(
                route
                    .case("cookie session, cross-site", Error(403, "csrf_failed"))
                    .auth(Auth::Cookie)
                    .header("Sec-Fetch-Site", "cross-site"),
            );
            cases.push(
                route
                    .case("cookie session, foreign Origin", Error(403, "csrf_failed"))
                    .auth(Auth::Cookie)
                    .header("Origin", "https://evil.example"),
            );
            cases.push(
                route
                    .case("cookie session, no evidence", Error(403, "csrf_failed"))
                    .auth(Auth::Cookie),
            );
            cases.push(
                route
                    .case(
                        "cookie session, wrong CSRF token",
                        Error(403, "csrf_failed"),
                    )
                    .auth(Auth::Cookie)
                    .header("X-CSRF-Token", "not-the-token"),
            );
        }
        // Other methods. The demo's own routes (`/health`, `/protected`, `/admin`) answer
        // with axum's bare 405 (with `Allow`); the API answers in its error shape.
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let allowed = route.method == method
                || (route.path == "/auth/me" && (method == "GET" || method == "PATCH"));
            if allowed {
                continue;
            }
            let expect = if route.path.starts_with("/auth/") {
                Error(405, "method_not_allowed")
            } else {
                Expect::Bare(405)
            };
            cases.push(
                Case::new(
                    format!("{method} {}: method not allowed", route.path),
                    method,
                    route.path,
                    expect,
                )
                .auth(route.auth),
            );
        }
    }

    // Session ids in the path.
    for (label, id) in [
        ("SQL", "'%20OR%201=1%20--".to_owned()),
        ("NUL", "%00".to_owned()),
        ("traversal", "..%2F..%2Fadmin".to_owned()),
        ("invalid UTF-8", "%FF%FE".to_owned()),
        ("10,000 characters", "9".repeat(10_000)),
        (
            "a UUID with a suffix",
            "00000000-0000-0000-0000-000000000000x".to_owned(),
        ),
    ] {
        cases.push(
            Case::new(
                format!("DELETE /auth/sessions/{{id}}: {label}"),
                "DELETE",
                format!("/auth/sessions/{id}"),
                Error(422, "invalid_input"),
            )
            .auth(Auth::Bearer),
        );
    }
    cases.push(
        Case::new(
            "DELETE /auth/sessions/{id}: a UUID that is no session",
            "DELETE",
            "/auth/sessions/00000000-0000-0000-0000-000000000000",
            Error(404, "not_found"),
        )
        .auth(Auth::Bearer),
    );
    cases.push(Case::new(
        "a raw non-UTF-8 byte in the path",
        "GET",
        b"/auth/me\xff".to_vec(),
        Hyper(400),
    ));

    // Unknown paths under the API prefix.
    for path in [
        "/auth",
        "/auth/",
        "/auth/nope",
        "/auth/me/extra",
        "/auth/../admin",
        "/auth/sessions/",
    ] {
        cases.push(
            Case::new(
                format!("GET {path}: unknown"),
                "GET",
                path,
                Error(404, "not_found"),
            )
            .auth(Auth::Bearer),
        );
    }

    // The HTML forms: people get pages, never a 5xx.
    for (path, form) in [
        (
            "/register",
            "name=%00&email=a%40example.com&password=correct+horse+battery+staple".to_owned(),
        ),
        (
            "/register",
            format!(
                "name={}&email=a%40example.com&password=x",
                "n".repeat(10_000)
            ),
        ),
        ("/login", "email=%27+OR+1%3D1+--&password=x".to_owned()),
        ("/forgot-password", "email=%3Cscript%3E".to_owned()),
        (
            "/reset-password",
            "token=%00&password=correct+horse+battery+staple".to_owned(),
        ),
        ("/verify-email", "token=%27+OR+1%3D1".to_owned()),
    ] {
        cases.push(
            Case::new(
                format!("POST {path}: hostile form"),
                "POST",
                path,
                Expect::Page(422),
            )
            .body(Some("application/x-www-form-urlencoded"), form)
            .header("Sec-Fetch-Site", "same-origin"),
        );
    }
    cases.push(
        Case::new(
            "POST /login: a form over the limit",
            "POST",
            "/login",
            Expect::PlainText(413),
        )
        .body(
            Some("application/x-www-form-urlencoded"),
            format!("email={}&password=x", "e".repeat(OVER_BODY_LIMIT)),
        )
        .header("Sec-Fetch-Site", "same-origin"),
    );
    cases.push(
        Case::new(
            "POST /login: invalid UTF-8 in a form",
            "POST",
            "/login",
            Expect::Page(422),
        )
        .body(
            Some("application/x-www-form-urlencoded"),
            "email=%FF%FE&password=x",
        )
        .header("Sec-Fetch-Site", "same-origin"),
    );
    cases.push(
        Case::new(
            "POST /login: a JSON body on a form route",
            "POST",
            "/login",
            Expect::PlainText(415),
        )
        .json(&json!({"email": "a@example.com", "password": "x"}))
        .header("Sec-Fetch-Site", "same-origin"),
    );
    cases
}

// ----------------------------------------------------------------------------------------
// Running the table.

struct Target {
    addr: String,
    manager: server::Manager,
    victim: String,
    token: String,
}

impl Target {
    async fn start(backend: SeaOrmBackend) -> Self {
        let config = AuthConfig {
            max_failed_logins: 1_000_000,
            ..AuthConfig::default()
        };
        let started = support::start_with(backend, &[], MultiHasher::new(), config).await;
        let addr = started.base.trim_start_matches("http://").to_owned();
        let mut target = Self {
            addr,
            manager: started.manager,
            victim: support::email("victim"),
            token: String::new(),
        };
        let register = Case::new("register", "POST", "/auth/register", Expect::Success(201))
            .json(&json!({"name": "Victim", "email": target.victim, "password": PASSWORD}));
        let answer = send_raw(&target.addr, register.bytes("")).await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        target.token = token_of(&answer);
        target
    }

    /// Logs the test account in again if a case ended its session.
    async fn refresh_session(&mut self) {
        let me = Case::new("me", "GET", "/auth/me", Expect::Success(200)).auth(Auth::Bearer);
        if send_raw(&self.addr, me.bytes(&self.token)).await.status == 200 {
            return;
        }
        let login = Case::new("login", "POST", "/auth/login", Expect::Success(200))
            .json(&json!({"email": self.victim, "password": PASSWORD}));
        let answer = send_raw(&self.addr, login.bytes("")).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        self.token = token_of(&answer);
    }

    /// The case's bytes with `{token}`, `{hash}`, `{hash64}` and `{victim}` filled in.
    fn request(&self, case: &Case) -> Vec<u8> {
        let hash = portcullis_core::Token::parse(&self.token).unwrap().hash();
        let markers = [
            ("{token}", self.token.clone()),
            ("{hash}", hash.to_hex()),
            ("{hash64}", hash.to_base64url()),
            ("{victim}", self.victim.clone()),
        ];
        let fill = |bytes: &[u8]| {
            let mut out = Vec::with_capacity(bytes.len());
            let mut rest = bytes;
            while let Some(&first) = rest.first() {
                match markers.iter().find(|(m, _)| rest.starts_with(m.as_bytes())) {
                    Some((marker, value)) => {
                        out.extend_from_slice(value.as_bytes());
                        rest = &rest[marker.len()..];
                    }
                    None => {
                        out.push(first);
                        rest = &rest[1..];
                    }
                }
            }
            out
        };
        let mut case = case.clone();
        case.target = fill(&case.target);
        for (_, value) in &mut case.headers {
            *value = fill(value);
        }
        case.body = case.body.as_deref().map(fill);
        case.bytes(&self.token)
    }
}

fn token_of(answer: &Raw) -> String {
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    body["session"]["token"].as_str().unwrap().to_owned()
}

/// Why `answer` does not satisfy `expect`, if it does not.
fn mismatch(expect: &Expect, answer: &Raw) -> Option<String> {
    if answer.status >= 500 {
        return Some(format!(
            "a server error: {} {}",
            answer.status,
            answer.text()
        ));
    }
    let content_type = answer.header("content-type").unwrap_or("");
    let check_error = |status: u16, code: &str| -> Option<String> {
        if answer.status != status {
            return Some(format!(
                "status {} (expected {status} {code}): {}",
                answer.status,
                answer.text()
            ));
        }
        if !content_type.starts_with("application/json") {
            return Some(format!("content type {content_type:?}: {}", answer.text()));
        }
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&answer.body) else {
            return Some(format!("not a JSON object: {}", answer.text()));
        };
        let keys: Vec<&str> = body.keys().map(String::as_str).collect();
        if keys != ["code", "detail"] && keys != ["detail", "code"] {
            return Some(format!("keys {keys:?}"));
        }
        if body["detail"].as_str().is_none_or(str::is_empty) {
            return Some(format!("empty detail: {}", answer.text()));
        }
        if body["code"] != code {
            return Some(format!("code {} (expected {code})", body["code"]));
        }
        None
    };
    match expect {
        Expect::Error(status, code) => check_error(*status, code),
        Expect::Success(status) => (answer.status != *status).then(|| {
            format!(
                "status {} (expected {status}): {}",
                answer.status,
                answer.text()
            )
        }),
        Expect::Hyper(status) | Expect::Bare(status) => {
            (answer.status != *status || !answer.body.is_empty()).then(|| {
                format!(
                    "status {} (expected a bare {status}): {}",
                    answer.status,
                    answer.text()
                )
            })
        }
        Expect::Page(status) => {
            (answer.status != *status || !content_type.starts_with("text/html")).then(|| {
                format!(
                    "status {} {content_type:?} (expected an HTML {status}): {}",
                    answer.status,
                    answer.text()
                )
            })
        }
        Expect::PlainText(status) => {
            (answer.status != *status || !content_type.starts_with("text/plain")).then(|| {
                format!(
                    "status {} {content_type:?} (expected a plain-text {status}): {}",
                    answer.status,
                    answer.text()
                )
            })
        }
    }
}

/// Every case of [`cases`]: the expected answer, then `/health`.
async fn hostile_requests_get_4xx_json_and_the_server_keeps_serving(backend: SeaOrmBackend) {
    let mut target = Target::start(backend).await;
    let cases = cases();
    let mut failures = Vec::new();
    let health = Case::new("health", "GET", "/health", Expect::Success(200));
    for case in &cases {
        target.refresh_session().await;
        let answer = send_raw(&target.addr, target.request(case)).await;
        if let Some(problem) = mismatch(&case.expect, &answer) {
            failures.push(format!("{}: {problem}", case.name));
        }
        // Every answer of the API, errors included, is marked uncacheable.
        if case.target.starts_with(b"/auth")
            && !matches!(case.expect, Expect::Hyper(_))
            && answer.header("cache-control") != Some("no-store")
        {
            failures.push(format!("{}: no Cache-Control: no-store", case.name));
        }
        let alive = send_raw(&target.addr, health.bytes("")).await;
        assert_eq!(
            alive.status, 200,
            "the server stopped serving after {}",
            case.name
        );
    }
    println!("{} hostile requests", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .map(|f| f.chars().take(400).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let _ = &target.manager;
}

// ----------------------------------------------------------------------------------------
// Stored data: verbatim in JSON, escaped in pages; emails at the limits; look-alike emails.

/// A reqwest client against the server (redirects not followed).
struct Api {
    base: String,
    manager: server::Manager,
    http: reqwest::Client,
}

impl Api {
    async fn start(backend: SeaOrmBackend) -> Self {
        let started = support::start(backend, &[]).await;
        Self {
            base: started.base,
            manager: started.manager,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn register(&self, name: &str, email: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/auth/register", self.base))
            .json(&json!({"name": name, "email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn login(&self, email: &str, user_agent: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/auth/login", self.base))
            .header("user-agent", user_agent)
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn me_text(&self, token: &str) -> String {
        self.http
            .get(format!("{}/auth/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str, token: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("portcullis_session={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }
}

/// What maud writes for `text` in HTML content.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Names, emails and user agents with SQL and HTML metacharacters are stored and returned
/// byte for byte by the JSON API, and escaped on the HTML pages; the tables are intact.
async fn metacharacters_are_stored_verbatim_and_escaped_in_pages(backend: SeaOrmBackend) {
    let api = Api::start(backend).await;
    let name = "Robert'); DROP TABLE portcullis_user;-- <script>alert(\"x\")</script> & \\ %_";
    let email = format!("o'brien%_+{}", support::email("tag"));
    let (status, body) = api.register(name, &email).await;
    assert_eq!(status, 201, "{body}");
    let token = body["session"]["token"].as_str().unwrap().to_owned();
    let me: Value = serde_json::from_str(&api.me_text(&token).await).unwrap();
    assert_eq!(me["name"].as_str().unwrap().as_bytes(), name.as_bytes());
    assert_eq!(me["email"].as_str().unwrap().as_bytes(), email.as_bytes());

    // The quote and the LIKE wildcards are data, not syntax: the address logs in, and a
    // pattern that would match it with LIKE does not.
    let user_agent = "<img src=x onerror=alert(1)> '; DELETE FROM portcullis_session; --";
    let (status, login) = api.login(&email, user_agent).await;
    assert_eq!(status, 200, "{login}");
    let token = login["session"]["token"].as_str().unwrap().to_owned();
    let wildcard = email.replace("o'brien%_", "o'brien%%");
    assert_eq!(api.login(&wildcard, "x").await.0, 401);
    assert_eq!(api.login("%@example.com", "x").await.0, 401);

    // A second name through PATCH, verbatim too.
    let patched = "<b>bold</b> \"quoted\" 'single' `tick` ${jndi:ldap://x}";
    let response = api
        .http
        .patch(format!("{}/auth/me", api.base))
        .bearer_auth(&token)
        .json(&json!({"name": patched}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let me: Value = serde_json::from_str(&api.me_text(&token).await).unwrap();
    assert_eq!(me["name"].as_str().unwrap().as_bytes(), patched.as_bytes());

    // Escaped in the pages: the dashboard shows the name and the email, the sessions page
    // the user agent.
    let dashboard = api.page("/dashboard", &token).await;
    assert!(
        dashboard.contains(&html_escaped(patched)),
        "name not shown escaped"
    );
    assert!(!dashboard.contains("<b>bold</b>"), "unescaped name");
    assert!(dashboard.contains(&html_escaped(&email)), "email not shown");
    let sessions = api.page("/sessions", &token).await;
    assert!(
        sessions.contains(&html_escaped(user_agent)),
        "user agent not shown escaped"
    );
    assert!(!sessions.contains("<img src=x"), "unescaped user agent");

    // Nothing was dropped or deleted.
    assert_eq!(
        support::count(&api.manager, "SELECT COUNT(*) FROM portcullis_user").await,
        1
    );
    assert_eq!(
        support::count(&api.manager, "SELECT COUNT(*) FROM portcullis_session").await,
        2
    );
}

/// RFC 5321 limits: a 64-byte local part and a 254-byte address are accepted (ASCII and
/// two-byte characters alike), one byte more is refused; a 63-character domain label is
/// accepted, 64 are refused; 100-character names (4-byte characters included) are accepted,
/// 101 and 10,000 refused (422), and a body over 16 KiB before any parsing (413).
async fn emails_and_names_at_the_length_limits(backend: SeaOrmBackend) {
    let api = Api::start(backend).await;
    let unique = || portcullis_core::UserId::new().to_string().replace('-', "");
    let domain = "example.com";
    let cases: Vec<(String, String, u16)> = vec![
        (
            "local part of 64 bytes".into(),
            format!("{}@{domain}", pad(&unique(), 64, 'l')),
            201,
        ),
        (
            "local part of 65 bytes".into(),
            format!("{}@{domain}", pad(&unique(), 65, 'l')),
            422,
        ),
        (
            "local part of 32 two-byte characters".into(),
            format!("{}@{domain}", "é".repeat(31) + &unique()[..2]),
            201,
        ),
        (
            "local part of 33 two-byte characters".into(),
            format!("{}@{domain}", "é".repeat(32) + &unique()[..2]),
            422,
        ),
        (
            "address of 254 bytes".into(),
            address_of(254, &unique()),
            201,
        ),
        (
            "address of 255 bytes".into(),
            address_of(255, &unique()),
            422,
        ),
        (
            "domain label of 63 characters".into(),
            format!("{}@{}.com", &unique()[..8], "d".repeat(63)),
            201,
        ),
        (
            "domain label of 64 characters".into(),
            format!("{}@{}.com", &unique()[..8], "d".repeat(64)),
            422,
        ),
    ];
    for (label, address, expected) in cases {
        let (status, body) = api.register("Limit", &address).await;
        assert_eq!(
            status,
            expected,
            "{label} ({} bytes): {body}",
            address.len()
        );
        if status == 201 {
            assert_eq!(body["user"]["email"], address.as_str(), "{label}");
            assert_eq!(api.login(&address, "limits").await.0, 200, "{label}");
        } else {
            assert_eq!(body["code"], "invalid_email", "{label}");
        }
    }
    for (label, name, expected) in [
        ("100 characters", "n".repeat(100), 201),
        ("100 four-byte characters", "😀".repeat(100), 201),
        ("101 characters", "n".repeat(101), 422),
        ("10,000 characters", "n".repeat(10_000), 422),
        ("3,000 four-byte characters", "😀".repeat(3_000), 422),
        (
            "5,000 four-byte characters (20 KB, over the body limit)",
            "😀".repeat(5_000),
            413,
        ),
    ] {
        let (status, body) = api.register(&name, &support::email("name")).await;
        assert_eq!(status, expected, "{label}: {body}");
        if status == 201 {
            assert_eq!(body["user"]["name"], name.as_str(), "{label}");
        }
    }
}

/// `prefix` padded with `fill` to `len` bytes.
fn pad(prefix: &str, len: usize, fill: char) -> String {
    let mut out = prefix.to_owned();
    while out.len() < len {
        out.push(fill);
    }
    out.truncate(len);
    out
}

/// An address of exactly `len` bytes: a 64-byte local part and a domain of 63-character
/// labels.
fn address_of(len: usize, unique: &str) -> String {
    let local = pad(unique, 64, 'l');
    let mut domain = String::new();
    let room = len - local.len() - 1 - ".com".len();
    while domain.len() < room {
        if !domain.is_empty() {
            domain.push('.');
        }
        let label = (room - domain.len()).min(63);
        domain.push_str(&"d".repeat(label));
    }
    let address = format!("{local}@{domain}.com");
    assert_eq!(address.len(), len);
    address
}

/// `c` as a mathematical bold letter or digit (NFKC folds it back).
fn bold(c: char) -> char {
    match c {
        'a'..='z' => char::from_u32(0x1D41A + (c as u32 - 'a' as u32)).unwrap(),
        '0'..='9' => char::from_u32(0x1D7CE + (c as u32 - '0' as u32)).unwrap(),
        other => other,
    }
}

/// Compatibility forms and case variants of a registered address are that address (409, and
/// they log in to it); invisible characters are refused (422); letters of another script are
/// another address by design (201: NFKC does not fold Cyrillic `а` into Latin `a`, and mail
/// servers treat them as different).
async fn look_alike_emails_are_the_same_account_or_refused(backend: SeaOrmBackend) {
    let api = Api::start(backend).await;
    let address = support::email("kate");
    let (status, body) = api.register("Kate", &address).await;
    assert_eq!(status, 201, "{body}");
    let (local, domain) = address.split_once('@').unwrap();
    let full_width: String = address
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    let same = [
        ("upper case", address.to_uppercase()),
        ("full width", full_width),
        ("full-width at sign", format!("{local}\u{FF20}{domain}")),
        (
            "full-width full stop",
            address.replace(".com", "\u{FF0E}com"),
        ),
        (
            "mathematical bold local part",
            format!("{}@{domain}", local.chars().map(bold).collect::<String>()),
        ),
        ("Kelvin sign for k", address.replacen('k', "\u{212A}", 1)),
        (
            "circled letters",
            address.replacen("kate", "\u{24DA}\u{24D0}\u{24E3}\u{24D4}", 1),
        ),
        ("surrounding spaces", format!(" \u{3000}{address}\u{00A0} ")),
    ];
    for (label, variant) in &same {
        assert_ne!(variant, &address);
        let (status, body) = api.register("Mallory", variant).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("email_taken")),
            "{label}: {variant}"
        );
        assert_eq!(
            api.login(variant, "look-alike").await.0,
            200,
            "{label} does not log in to the account"
        );
    }
    let invisible = [
        (
            "zero-width space",
            address.replacen("kate", "ka\u{200B}te", 1),
        ),
        (
            "zero-width joiner",
            address.replacen("kate", "ka\u{200D}te", 1),
        ),
        ("byte order mark", format!("\u{FEFF}{address}")),
        (
            "right-to-left override",
            address.replacen("kate", "\u{202E}etak", 1),
        ),
        (
            "variation selector",
            address.replacen("kate", "kate\u{FE0F}", 1),
        ),
        ("soft hyphen", address.replacen("kate", "ka\u{00AD}te", 1)),
        ("Hangul filler", format!("\u{3164}{address}")),
    ];
    for (label, variant) in &invisible {
        let (status, body) = api.register("Mallory", variant).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalid_email")),
            "{label}"
        );
    }
    // Another script: a different address, accepted as such.
    let cyrillic = address.replacen('a', "\u{0430}", 1);
    let (status, body) = api.register("Other", &cyrillic).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email"], cyrillic.as_str());
    assert_eq!(
        support::count(&api.manager, "SELECT COUNT(*) FROM portcullis_user").await,
        2
    );
}

macro_rules! abuse_tests {
    ($module:ident, $factory:expr) => {
        mod $module {
            use super::*;
            abuse_tests!(@cases $factory;
                hostile_requests_get_4xx_json_and_the_server_keeps_serving,
                metacharacters_are_stored_verbatim_and_escaped_in_pages,
                emails_and_names_at_the_length_limits,
                look_alike_emails_are_the_same_account_or_refused,
            );
        }
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(backend) = ($factory)().await {
                    super::$case(backend).await;
                }
            }
        )*
    };
}

abuse_tests!(sqlite_file, testing::sqlite_file);
abuse_tests!(postgres, testing::postgres);
abuse_tests!(mysql, testing::mysql);
