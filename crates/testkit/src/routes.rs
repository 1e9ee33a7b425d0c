//! The shared HTTP route table: one list of requests and expected answers that every
//! adapter serving the `/auth` API (tower / hyper, axum, actix-web, yours) runs against
//! itself, so they cannot drift apart.
//!
//! An adapter's test implements [`RouteTarget`] (send a request to the app, read the last
//! emailed token) and calls [`run_route_table`]. The cases run in order as one user's story
//! (register, log in twice, read and edit the profile, list and revoke sessions, verify the
//! email, reset and change the password, change the email, read the audit log, log out),
//! with the failures a client meets on the way. Each case checks the status, the error
//! `code` or the body's shape, and that every answer is `Cache-Control: no-store`.
//!
//! The target must serve the API under `/auth` with a bearer transport (cookies would need
//! a cookie jar), token bodies on (`expose_token`), default limits, and no rate limit.

use async_trait::async_trait;
use http::{Method, Request, Response, StatusCode, header};
use serde_json::Value;

use portcullis_core::EmailKind;

/// An app serving the `/auth` API, as the route table drives it.
#[async_trait]
pub trait RouteTarget: Send + Sync {
    /// Sends one request (its path starts with `/auth`) and returns the whole response.
    async fn send(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>>;

    /// The token of the last email of `kind` sent to `to`, once mail sent in the background
    /// has gone out (`AuthManager::wait_for_background_tasks`, then
    /// `MemoryMailer::last_token`).
    async fn emailed_token(&self, to: &str, kind: EmailKind) -> Option<String>;
}

/// Which session a case's request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    /// No `Authorization` header.
    Anonymous,
    /// A bearer token that names no session.
    Forged,
    /// The main session (updated by every case that signs in with [`Save::Main`]).
    Main,
    /// The second session (from [`Save::Second`]).
    Second,
}

/// What to remember from a signed-in answer (`{user, session}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Save {
    /// Nothing.
    Nothing,
    /// Its token and session id become [`As::Main`].
    Main,
    /// Its token and session id become [`As::Second`].
    Second,
}

/// What a successful answer's body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An error: `{"detail": "...", "code": <this>}`.
    Error(&'static str),
    /// `{user, session: {id, token, expires_at}}`.
    SignedIn,
    /// A user: `{id, name, email, email_verified, ...}`.
    User,
    /// A list of sessions with exactly this many entries, one of them `current`.
    Sessions(usize),
    /// A non-empty list of audit events `{id, kind, created_at, ...}`.
    Events,
    /// `{"detail": "..."}` with no code.
    Detail,
    /// No body at all (`204`).
    Empty,
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct RouteCase {
    /// What the case shows, for failure messages.
    pub name: &'static str,
    /// The request method.
    pub method: Method,
    /// The path, with placeholders (see [`route_table`]).
    pub path: &'static str,
    /// Whose token it carries.
    pub auth: As,
    /// `Content-Type` (`None`: no header; the body is then sent as is).
    pub content_type: Option<&'static str>,
    /// The body, with placeholders.
    pub body: &'static str,
    /// The expected status.
    pub status: u16,
    /// The expected body.
    pub shape: Shape,
    /// What to remember from a signed-in answer.
    pub save: Save,
}

const JSON: Option<&str> = Some("application/json");

const fn case(
    name: &'static str,
    method: Method,
    path: &'static str,
    auth: As,
    body: &'static str,
    status: u16,
    shape: Shape,
) -> RouteCase {
    RouteCase {
        name,
        method,
        path,
        auth,
        content_type: JSON,
        body,
        status,
        shape,
        save: Save::Nothing,
    }
}

const fn saving(mut case: RouteCase, save: Save) -> RouteCase {
    case.save = save;
    case
}

const fn content_type(mut case: RouteCase, content_type: Option<&'static str>) -> RouteCase {
    case.content_type = content_type;
    case
}

/// The cases, in the order they run. Placeholders in paths and bodies: `{email}` and
/// `{new_email}` (fresh addresses per run), `{password}`, `{new_password}`,
/// `{newer_password}`, `{second_session}` (the id of [`As::Second`]'s session),
/// `{verify_token}` and `{reset_token}` (the last emailed ones), `{big}` (a string longer
/// than the default 16 KiB body limit).
#[must_use]
pub fn route_table() -> Vec<RouteCase> {
    use As::{Anonymous, Forged, Main, Second};
    use Shape::{Detail, Empty, Error, Events, Sessions, SignedIn, User};
    let register = r#"{"name":"Ada","email":"{email}","password":"{password}"}"#;
    vec![
        saving(
            case(
                "register",
                Method::POST,
                "/auth/register",
                Anonymous,
                register,
                201,
                SignedIn,
            ),
            Save::Main,
        ),
        case(
            "register the same address again",
            Method::POST,
            "/auth/register",
            Anonymous,
            register,
            409,
            Error("email_taken"),
        ),
        case(
            "register with a common password",
            Method::POST,
            "/auth/register",
            Anonymous,
            r#"{"name":"Bob","email":"x{email}","password":"password123"}"#,
            400,
            Error("weak_password"),
        ),
        case(
            "register with a bad address",
            Method::POST,
            "/auth/register",
            Anonymous,
            r#"{"name":"Bob","email":"not-an-address","password":"{password}"}"#,
            422,
            Error("invalid_email"),
        ),
        case(
            "register without a password",
            Method::POST,
            "/auth/register",
            Anonymous,
            r#"{"name":"Bob","email":"y{email}"}"#,
            422,
            Error("invalid_input"),
        ),
        case(
            "register with malformed JSON",
            Method::POST,
            "/auth/register",
            Anonymous,
            r#"{"name":"#,
            422,
            Error("invalid_input"),
        ),
        case(
            "register with a number for a name",
            Method::POST,
            "/auth/register",
            Anonymous,
            r#"{"name":7,"email":"z{email}","password":"{password}"}"#,
            422,
            Error("invalid_input"),
        ),
        content_type(
            case(
                "register as a form",
                Method::POST,
                "/auth/register",
                Anonymous,
                "name=Bob",
                415,
                Error("unsupported_media_type"),
            ),
            Some("application/x-www-form-urlencoded"),
        ),
        case(
            "register with an oversized body",
            Method::POST,
            "/auth/register",
            Anonymous,
            r#"{"name":"{big}"}"#,
            413,
            Error("payload_too_large"),
        ),
        case(
            "log in with a wrong password",
            Method::POST,
            "/auth/login",
            Anonymous,
            r#"{"email":"{email}","password":"wrong password"}"#,
            401,
            Error("invalid_credentials"),
        ),
        case(
            "log in as nobody",
            Method::POST,
            "/auth/login",
            Anonymous,
            r#"{"email":"nobody-{email}","password":"{password}"}"#,
            401,
            Error("invalid_credentials"),
        ),
        saving(
            case(
                "log in (a second session)",
                Method::POST,
                "/auth/login",
                Anonymous,
                r#"{"email":"{email}","password":"{password}"}"#,
                200,
                SignedIn,
            ),
            Save::Second,
        ),
        case(
            "me without a token",
            Method::GET,
            "/auth/me",
            Anonymous,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "me with a forged token",
            Method::GET,
            "/auth/me",
            Forged,
            "",
            401,
            Error("not_authenticated"),
        ),
        case("me", Method::GET, "/auth/me", Main, "", 200, User),
        case(
            "rename",
            Method::PATCH,
            "/auth/me",
            Main,
            r#"{"name":"Ada Lovelace"}"#,
            200,
            User,
        ),
        case(
            "rename without a token",
            Method::PATCH,
            "/auth/me",
            Anonymous,
            r#"{"name":"Eve"}"#,
            401,
            Error("not_authenticated"),
        ),
        case(
            "list sessions without a token",
            Method::GET,
            "/auth/sessions",
            Anonymous,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "list sessions",
            Method::GET,
            "/auth/sessions",
            Main,
            "",
            200,
            Sessions(2),
        ),
        case(
            "revoke a session by a non-id",
            Method::DELETE,
            "/auth/sessions/not-a-uuid",
            Main,
            "",
            422,
            Error("invalid_input"),
        ),
        case(
            "revoke a session that does not exist",
            Method::DELETE,
            "/auth/sessions/0190f3a4-0000-7000-8000-000000000000",
            Main,
            "",
            404,
            Error("not_found"),
        ),
        case(
            "revoke the second session",
            Method::DELETE,
            "/auth/sessions/{second_session}",
            Main,
            "",
            204,
            Empty,
        ),
        case(
            "the revoked session is gone",
            Method::GET,
            "/auth/me",
            Second,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "one session left",
            Method::GET,
            "/auth/sessions",
            Main,
            "",
            200,
            Sessions(1),
        ),
        case(
            "ask for a verification email without a token",
            Method::POST,
            "/auth/verify/request",
            Anonymous,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "ask for a verification email",
            Method::POST,
            "/auth/verify/request",
            Main,
            "",
            202,
            Detail,
        ),
        case(
            "verify with a forged token",
            Method::POST,
            "/auth/verify",
            Anonymous,
            r#"{"token":"forged"}"#,
            400,
            Error("invalid_token"),
        ),
        case(
            "verify",
            Method::POST,
            "/auth/verify",
            Anonymous,
            r#"{"token":"{verify_token}"}"#,
            200,
            User,
        ),
        case(
            "a verification link works once",
            Method::POST,
            "/auth/verify",
            Anonymous,
            r#"{"token":"{verify_token}"}"#,
            400,
            Error("invalid_token"),
        ),
        case(
            "forgot password, unknown address",
            Method::POST,
            "/auth/password/forgot",
            Anonymous,
            r#"{"email":"nobody-{email}"}"#,
            202,
            Detail,
        ),
        case(
            "forgot password",
            Method::POST,
            "/auth/password/forgot",
            Anonymous,
            r#"{"email":"{email}"}"#,
            202,
            Detail,
        ),
        case(
            "forgot password without an address",
            Method::POST,
            "/auth/password/forgot",
            Anonymous,
            "{}",
            422,
            Error("invalid_input"),
        ),
        case(
            "reset with a forged token",
            Method::POST,
            "/auth/password/reset",
            Anonymous,
            r#"{"token":"forged","password":"{new_password}"}"#,
            400,
            Error("invalid_token"),
        ),
        case(
            "reset to a common password",
            Method::POST,
            "/auth/password/reset",
            Anonymous,
            r#"{"token":"{reset_token}","password":"password123"}"#,
            400,
            Error("weak_password"),
        ),
        case(
            "reset",
            Method::POST,
            "/auth/password/reset",
            Anonymous,
            r#"{"token":"{reset_token}","password":"{new_password}"}"#,
            200,
            Detail,
        ),
        case(
            "a reset signs out everywhere",
            Method::GET,
            "/auth/me",
            Main,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "the old password no longer works",
            Method::POST,
            "/auth/login",
            Anonymous,
            r#"{"email":"{email}","password":"{password}"}"#,
            401,
            Error("invalid_credentials"),
        ),
        saving(
            case(
                "log in with the new password",
                Method::POST,
                "/auth/login",
                Anonymous,
                r#"{"email":"{email}","password":"{new_password}"}"#,
                200,
                SignedIn,
            ),
            Save::Main,
        ),
        case(
            "change password without the current one",
            Method::POST,
            "/auth/password/change",
            Main,
            r#"{"current_password":"wrong password","new_password":"{newer_password}"}"#,
            401,
            Error("invalid_credentials"),
        ),
        saving(
            case(
                "change password",
                Method::POST,
                "/auth/password/change",
                Main,
                r#"{"current_password":"{new_password}","new_password":"{newer_password}"}"#,
                200,
                SignedIn,
            ),
            Save::Main,
        ),
        case(
            "change email with a wrong password",
            Method::POST,
            "/auth/email/change",
            Main,
            r#"{"password":"wrong password","new_email":"{new_email}"}"#,
            401,
            Error("invalid_credentials"),
        ),
        case(
            "change email",
            Method::POST,
            "/auth/email/change",
            Main,
            r#"{"password":"{newer_password}","new_email":"{new_email}"}"#,
            202,
            Detail,
        ),
        case(
            "audit events",
            Method::GET,
            "/auth/events",
            Main,
            "",
            200,
            Events,
        ),
        case(
            "audit events without a token",
            Method::GET,
            "/auth/events",
            Anonymous,
            "",
            401,
            Error("not_authenticated"),
        ),
        saving(
            case(
                "log in again",
                Method::POST,
                "/auth/login",
                Anonymous,
                r#"{"email":"{email}","password":"{newer_password}"}"#,
                200,
                SignedIn,
            ),
            Save::Second,
        ),
        case(
            "revoke the other sessions with a forged token",
            Method::POST,
            "/auth/sessions/revoke-others",
            Forged,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "revoke the other sessions",
            Method::POST,
            "/auth/sessions/revoke-others",
            Main,
            "",
            204,
            Empty,
        ),
        case(
            "the other session is gone",
            Method::GET,
            "/auth/me",
            Second,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "log out",
            Method::POST,
            "/auth/logout",
            Main,
            "",
            200,
            Detail,
        ),
        case(
            "logged out",
            Method::GET,
            "/auth/me",
            Main,
            "",
            401,
            Error("not_authenticated"),
        ),
        case(
            "log out without a session",
            Method::POST,
            "/auth/logout",
            Anonymous,
            "",
            200,
            Detail,
        ),
        case(
            "log out with a forged token",
            Method::POST,
            "/auth/logout",
            Forged,
            "",
            200,
            Detail,
        ),
        case(
            "an unknown route",
            Method::GET,
            "/auth/nope",
            Anonymous,
            "",
            404,
            Error("not_found"),
        ),
        case(
            "a route with the wrong method",
            Method::GET,
            "/auth/login",
            Anonymous,
            "",
            405,
            Error("method_not_allowed"),
        ),
    ]
}

/// What the runner remembers between cases.
#[derive(Default)]
struct State {
    email: String,
    new_email: String,
    main: Option<(String, String)>,
    second: Option<(String, String)>,
}

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase";
const NEWER_PASSWORD: &str = "and a newer one still";

/// Runs every case of [`route_table`] against `target`, in order.
///
/// # Errors
/// The first case whose answer differs from the table, with the request, the expectation
/// and the answer (status and body).
pub async fn run_route_table(target: &dyn RouteTarget) -> Result<usize, String> {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut state = State {
        email: format!("ada-{}@example.com", &tag[..12]),
        new_email: format!("ada-new-{}@example.com", &tag[..12]),
        ..State::default()
    };
    let table = route_table();
    for case in &table {
        run_case(target, case, &mut state).await?;
    }
    Ok(table.len())
}

async fn run_case(
    target: &dyn RouteTarget,
    case: &RouteCase,
    state: &mut State,
) -> Result<(), String> {
    let path = fill(target, case.path, state).await?;
    let body = fill(target, case.body, state).await?;
    let mut builder = Request::builder().method(case.method.clone()).uri(&path);
    if let Some(content_type) = case.content_type.filter(|_| !body.is_empty()) {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    let token = match case.auth {
        As::Anonymous => None,
        As::Forged => Some("forged-token-that-names-no-session".to_owned()),
        As::Main => state.main.as_ref().map(|(token, _)| token.clone()),
        As::Second => state.second.as_ref().map(|(token, _)| token.clone()),
    };
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = builder
        .body(body.into_bytes())
        .map_err(|err| format!("{}: bad request in the table: {err}", case.name))?;
    let response = target.send(request).await;
    let status = response.status();
    let text = String::from_utf8_lossy(response.body()).into_owned();
    let fail = |what: String| {
        format!(
            "route table case {:?} ({} {path}): {what}; answer {status}: {text}",
            case.name, case.method
        )
    };
    if status != StatusCode::from_u16(case.status).unwrap_or(StatusCode::IM_A_TEAPOT) {
        return Err(fail(format!("expected status {}", case.status)));
    }
    if response
        .headers()
        .get(header::CACHE_CONTROL)
        .is_none_or(|value| value != "no-store")
    {
        return Err(fail("expected Cache-Control: no-store".to_owned()));
    }
    if case.shape == Shape::Empty {
        return if text.is_empty() {
            Ok(())
        } else {
            Err(fail("expected no body".to_owned()))
        };
    }
    let json: Value =
        serde_json::from_str(&text).map_err(|_| fail("expected a JSON body".to_owned()))?;
    check_shape(case.shape, &json).map_err(fail)?;
    let saved = match case.save {
        Save::Nothing => return Ok(()),
        Save::Main => &mut state.main,
        Save::Second => &mut state.second,
    };
    let token = json["session"]["token"].as_str();
    let id = json["session"]["id"].as_str();
    *saved = token.zip(id).map(|(t, i)| (t.to_owned(), i.to_owned()));
    Ok(())
}

fn check_shape(shape: Shape, json: &Value) -> Result<(), String> {
    let is_user = |user: &Value| {
        ["id", "name", "email", "role", "created_at"]
            .iter()
            .all(|key| user[key].is_string())
            && user["email_verified"].is_boolean()
    };
    let ok = match shape {
        Shape::Error(code) => {
            json["code"] == code
                && json["detail"].as_str().is_some_and(|d| !d.is_empty())
                && json.as_object().is_some_and(|o| o.len() == 2)
        }
        Shape::SignedIn => {
            is_user(&json["user"])
                && json["session"]["id"].is_string()
                && json["session"]["token"]
                    .as_str()
                    .is_some_and(|t| t.len() >= 43)
                && json["session"]["expires_at"].is_string()
        }
        Shape::User => is_user(json),
        Shape::Sessions(count) => json.as_array().is_some_and(|sessions| {
            sessions.len() == count
                && sessions.iter().filter(|s| s["current"] == true).count() == 1
                && sessions.iter().all(|s| s["id"].is_string())
        }),
        Shape::Events => json.as_array().is_some_and(|events| {
            !events.is_empty()
                && events
                    .iter()
                    .all(|e| e["kind"].is_string() && e["created_at"].is_string())
        }),
        Shape::Detail => {
            json["detail"].as_str().is_some_and(|d| !d.is_empty()) && json.get("code").is_none()
        }
        Shape::Empty => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected a body shaped {shape:?}"))
    }
}

async fn fill(target: &dyn RouteTarget, template: &str, state: &State) -> Result<String, String> {
    let mut text = template
        .replace("{email}", &state.email)
        .replace("{new_email}", &state.new_email)
        .replace("{password}", PASSWORD)
        .replace("{new_password}", NEW_PASSWORD)
        .replace("{newer_password}", NEWER_PASSWORD);
    if text.contains("{second_session}") {
        let id = state
            .second
            .as_ref()
            .map(|(_, id)| id.as_str())
            .ok_or("no second session yet")?;
        text = text.replace("{second_session}", id);
    }
    if text.contains("{big}") {
        text = text.replace("{big}", &"x".repeat(20 * 1024));
    }
    for (placeholder, kind) in [
        ("{verify_token}", EmailKind::VerifyEmail),
        ("{reset_token}", EmailKind::PasswordReset),
    ] {
        if text.contains(placeholder) {
            let token = target
                .emailed_token(&state.email, kind)
                .await
                .ok_or_else(|| format!("no {kind:?} email to {}", state.email))?;
            text = text.replace(placeholder, &token);
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_route() {
        let table = route_table();
        for (method, prefix) in [
            (Method::POST, "/auth/register"),
            (Method::POST, "/auth/login"),
            (Method::POST, "/auth/logout"),
            (Method::GET, "/auth/me"),
            (Method::PATCH, "/auth/me"),
            (Method::GET, "/auth/sessions"),
            (Method::DELETE, "/auth/sessions/"),
            (Method::POST, "/auth/sessions/revoke-others"),
            (Method::POST, "/auth/verify/request"),
            (Method::POST, "/auth/verify"),
            (Method::POST, "/auth/password/forgot"),
            (Method::POST, "/auth/password/reset"),
            (Method::POST, "/auth/password/change"),
            (Method::POST, "/auth/email/change"),
            (Method::GET, "/auth/events"),
        ] {
            let hits: Vec<_> = table
                .iter()
                .filter(|c| c.method == method && c.path.starts_with(prefix))
                .collect();
            // Logging out cannot fail: without a live session it is already done.
            let must_fail = prefix != "/auth/logout";
            assert!(
                hits.iter().any(|c| c.status < 300)
                    && (!must_fail || hits.iter().any(|c| c.status >= 400)),
                "{method} {prefix} needs a success and a failure case"
            );
        }
    }

    #[test]
    fn error_shapes_are_checked_exactly() {
        let good = serde_json::json!({"detail": "not authenticated", "code": "not_authenticated"});
        assert!(check_shape(Shape::Error("not_authenticated"), &good).is_ok());
        assert!(check_shape(Shape::Error("forbidden"), &good).is_err());
        let extra = serde_json::json!({"detail": "x", "code": "forbidden", "token": "leak"});
        assert!(check_shape(Shape::Error("forbidden"), &extra).is_err());
        assert!(check_shape(Shape::Detail, &good).is_err());
    }
}
