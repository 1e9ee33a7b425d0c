//! Request bodies of the HTTP API: JSON only, with errors that name the problem (and the
//! field) without echoing what the client sent.
//!
//! ```
//! use portcullis_core::http::HeaderMap;
//! use portcullis_http::{LoginRequest, parse_json};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("content-type", "application/json".parse()?);
//! let login: LoginRequest = parse_json(&headers, br#"{"email":"ada@example.com","password":"x"}"#)?;
//! assert_eq!(login.email, "ada@example.com");
//!
//! let err = parse_json::<LoginRequest>(&headers, br#"{"email":"ada@example.com"}"#).unwrap_err();
//! assert_eq!(err.code(), "invalid_input");
//! assert_eq!(err.to_string(), "invalid body: missing field `password`");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use http::{HeaderMap, header};
use portcullis_core::AuthError;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// Parses a JSON request body.
///
/// # Errors
/// - [`AuthError::UnsupportedMediaType`] (`415`) unless `Content-Type` is `application/json`
///   or another `+json` type;
/// - [`AuthError::InvalidInput`] (`422`) for malformed JSON (nested deeper than 128 levels
///   included) and for missing or mistyped fields. Messages name a missing field but never
///   repeat the values sent.
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, AuthError> {
    if !is_json(headers) {
        return Err(AuthError::UnsupportedMediaType);
    }
    serde_json::from_slice(body).map_err(|err| AuthError::InvalidInput {
        field: "body",
        message: match err.classify() {
            Category::Data => data_error_message(&err.to_string()),
            Category::Syntax | Category::Eof => "malformed JSON".to_owned(),
            Category::Io => "unreadable request body".to_owned(),
        },
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = mime.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype
                .rsplit_once('+')
                .is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json")))
}

/// Keeps "missing field `x`" (useful, and only names our own field); replaces anything that
/// could quote the client's input.
fn data_error_message(text: &str) -> String {
    if let Some(rest) = text.split("missing field `").nth(1)
        && let Some(field) = rest.split('`').next()
    {
        return format!("missing field `{field}`");
    }
    "a field has the wrong type or an invalid value".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LoginRequest;
    use http::HeaderValue;

    fn json_headers(content_type: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers
    }

    #[test]
    fn messages_keep_field_names_and_drop_values() {
        assert_eq!(
            data_error_message("Failed to deserialize: missing field `password` at line 1"),
            "missing field `password`"
        );
        let message = data_error_message("invalid type: integer `12345678`, expected a string");
        assert!(!message.contains("12345678"));
    }

    #[test]
    fn only_json_content_types_are_read() {
        let body = br#"{"email":"a@example.com","password":"p"}"#;
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.api+json",
        ] {
            assert!(
                parse_json::<LoginRequest>(&json_headers(ok), body).is_ok(),
                "{ok}"
            );
        }
        for refused in ["text/plain", "application/x-www-form-urlencoded", "json"] {
            let err = parse_json::<LoginRequest>(&json_headers(refused), body).unwrap_err();
            assert_eq!(err.code(), "unsupported_media_type", "{refused}");
        }
        let err = parse_json::<LoginRequest>(&HeaderMap::new(), body).unwrap_err();
        assert_eq!(err.code(), "unsupported_media_type");
    }

    #[test]
    fn malformed_deep_and_mistyped_bodies_are_invalid_input() {
        let headers = json_headers("application/json");
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        // Nesting in a field we read is a wrong type at the first bracket; in a field we
        // ignore, serde_json skips it without recursion. Either way, no stack overflow.
        let deep = format!(r#"{{"email":{nested},"password":"p"}}"#);
        let ignored = format!(r#"{{"x":{nested},"email":"a","password":"p"}}"#);
        assert!(parse_json::<LoginRequest>(&headers, ignored.as_bytes()).is_ok());
        for (body, message) in [
            (&b"{"[..], "malformed JSON"),
            (br#"{"email":"a","password":"p"} x"#, "malformed JSON"),
            (
                deep.as_bytes(),
                "a field has the wrong type or an invalid value",
            ),
            (
                br#"{"email":12345678,"password":"p"}"#,
                "a field has the wrong type or an invalid value",
            ),
            (br#"{"password":"p"}"#, "missing field `email`"),
        ] {
            let err = parse_json::<LoginRequest>(&headers, body).unwrap_err();
            assert_eq!(err.code(), "invalid_input");
            assert_eq!(err.to_string(), format!("invalid body: {message}"));
        }
    }
}
