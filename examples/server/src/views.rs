//! The HTML of the pages: maud templates (every interpolated value is escaped by
//! construction) and the stylesheet. No JavaScript.

use maud::{DOCTYPE, Markup, html};
use portcullis_core::{AuthError, User};
use portcullis_manager::SessionInfo;
use portcullis_transport::CSRF_FORM_FIELD;

/// The stylesheet served at `/style.css` (pages allow no inline styles).
pub(crate) const STYLESHEET: &str = include_str!("style.css");

/// The signed-in person looking at a page, and the CSRF form token of their session for the
/// forms on it.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) csrf: String,
}

/// Error messages for one form: one for the whole form, and one per field.
#[derive(Debug, Default)]
pub(crate) struct FormErrors {
    form: Option<String>,
    fields: Vec<(&'static str, String)>,
}

impl FormErrors {
    /// A message about the whole form.
    pub(crate) fn form(message: impl Into<String>) -> Self {
        Self {
            form: Some(message.into()),
            fields: Vec::new(),
        }
    }

    /// A message under one field.
    pub(crate) fn field(name: &'static str, message: impl Into<String>) -> Self {
        Self {
            form: None,
            fields: vec![(name, message.into())],
        }
    }

    /// Plain words for an error of the manager, placed next to the field it is about.
    /// `password_field` names the form's (new) password input.
    pub(crate) fn from_error(error: &AuthError, password_field: &'static str) -> Self {
        match error {
            AuthError::EmailTaken => Self::field(
                "email",
                "An account with this email address already exists. Log in, or reset its password.",
            ),
            AuthError::InvalidEmail => {
                Self::field("email", "Enter an email address like name@example.com.")
            }
            AuthError::UsernameTaken => Self::form("This username is taken."),
            AuthError::WeakPassword(message) => Self::field(password_field, sentence(message)),
            AuthError::InvalidInput { field, message } => {
                let field = match *field {
                    "password" => password_field,
                    other => other,
                };
                Self::field(field, format!("{} {message}.", label_of(field)))
            }
            AuthError::InvalidCredentials => Self::form("Email or password is incorrect."),
            AuthError::RateLimited { retry_after } => {
                Self::form(too_many_attempts(retry_after.as_secs()))
            }
            AuthError::InvalidToken => {
                Self::form("This link is invalid, expired, or was already used. Ask for a new one.")
            }
            AuthError::EmailNotVerified => {
                Self::form("Confirm your email address first: use the link we sent you.")
            }
            AuthError::Overloaded | AuthError::StorageUnavailable(_) | AuthError::Internal(_) => {
                Self::form(server_trouble())
            }
            other => Self::form(sentence(&other.to_string())),
        }
    }

    fn on(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, message)| message.as_str())
    }

    /// Whether there is no message at all.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.form.is_none() && self.fields.is_empty()
    }
}

/// "Too many attempts, try again in N minutes." for a wait of `seconds`.
pub(crate) fn too_many_attempts(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60).max(1);
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("Too many attempts, try again in {minutes} {unit}.")
}

pub(crate) fn server_trouble() -> &'static str {
    "Something went wrong on our side. Please try again in a moment."
}

fn label_of(field: &str) -> &str {
    match field {
        "name" => "Name",
        "email" => "Email",
        "username" => "Username",
        "password" | "new_password" => "Password",
        "current_password" => "Current password",
        _ => "This field",
    }
}

/// `message` with a capital first letter and a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The page frame: header with navigation (and the logout button when signed in), an
/// optional notice, then `content`.
pub(crate) fn layout(
    title: &str,
    viewer: Option<&Viewer>,
    notice: Option<&str>,
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Portcullis demo" }
                link rel="stylesheet" href="/style.css";
            }
            body {
                header.top {
                    a.brand href="/" { "Portcullis demo" }
                    nav {
                        @if let Some(viewer) = viewer {
                            span.who { "Signed in as " strong { (viewer.name) } }
                            a href="/dashboard" { "Dashboard" }
                            a href="/sessions" { "Sessions" }
                            a href="/password" { "Password" }
                            form.inline method="post" action="/logout" {
                                (csrf_field(&viewer.csrf))
                                button.link type="submit" { "Log out" }
                            }
                        } @else {
                            a href="/login" { "Log in" }
                            a href="/register" { "Register" }
                        }
                    }
                }
                main {
                    @if let Some(notice) = notice {
                        p.notice role="status" { (notice) }
                    }
                    (content)
                }
            }
        }
    }
}

fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FORM_FIELD) value=(token); }
}

/// The CSRF field when someone is signed in (their session cookie will ride along with the
/// form, so the auth layer wants proof the form is ours).
fn maybe_csrf(viewer: Option<&Viewer>) -> Markup {
    html! {
        @if let Some(viewer) = viewer { (csrf_field(&viewer.csrf)) }
    }
}

fn form_alert(errors: &FormErrors) -> Markup {
    html! {
        @if let Some(message) = &errors.form {
            p.alert role="alert" { (message) }
        }
    }
}

/// One labelled input. Password inputs never get their value back.
struct Input<'a> {
    name: &'static str,
    label: &'a str,
    kind: &'a str,
    value: &'a str,
    autocomplete: &'a str,
    hint: Option<&'a str>,
}

impl Input<'_> {
    fn render(&self, errors: &FormErrors) -> Markup {
        let error = errors.on(self.name);
        let value = (self.kind != "password" && !self.value.is_empty()).then_some(self.value);
        let error_id = format!("{}-error", self.name);
        html! {
            div.field {
                label for=(self.name) { (self.label) }
                input id=(self.name) name=(self.name) type=(self.kind) value=[value]
                    autocomplete=(self.autocomplete) required
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| error_id.as_str())];
                @if let Some(hint) = self.hint {
                    small.hint { (hint) }
                }
                @if let Some(error) = error {
                    p.error id=(error_id) { (error) }
                }
            }
        }
    }
}

const PASSWORD_HINT: &str = "At least 8 characters. A few unrelated words make a good one.";

/// `/`: what the demo offers, and the JSON API with curl examples.
pub(crate) fn home(viewer: Option<&Viewer>, notice: Option<&str>, base: &str) -> Markup {
    let curl = format!(
        "curl -s -X POST {base}/auth/register -H 'content-type: application/json' \\\n  \
         -d '{{\"name\":\"Ada\",\"email\":\"ada@example.com\",\"password\":\"analytical engine 1843\"}}'\n\
         curl -s {base}/auth/me -H \"authorization: Bearer $TOKEN\"\n\
         curl -s {base}/protected -H \"authorization: Bearer $TOKEN\""
    );
    let content = html! {
        section.card {
            h1 { "Portcullis demo server" }
            @if let Some(viewer) = viewer {
                p { "You are signed in as " strong { (viewer.name) } " (" (viewer.email) ")." }
                p.actions {
                    a href="/dashboard" { "Your dashboard" }
                    a href="/sessions" { "Your sessions" }
                    a href="/password" { "Change password" }
                }
            } @else {
                p { "Sign-up, login, sessions, email verification and password reset, rendered on the server with cookie sessions." }
                p.actions {
                    a href="/register" { "Create an account" }
                    a href="/login" { "Log in" }
                    a href="/forgot-password" { "Forgot your password?" }
                }
            }
            p.muted { "Emails are printed to the server console with their links." }
        }
        section.card {
            h2 { "The JSON API" }
            p { "The JSON API lives under " code { "/auth" } " (bearer tokens or cookies). Try it:" }
            pre { (curl) }
            p {
                "Routes: " code { "POST /auth/register" } ", " code { "/auth/login" } ", "
                code { "/auth/logout" } ", " code { "GET|PATCH /auth/me" } ", "
                code { "GET /auth/sessions" } ", " code { "DELETE /auth/sessions/{id}" } ", "
                code { "POST /auth/sessions/revoke-others" } ", " code { "/auth/verify/request" } ", "
                code { "/auth/verify" } ", " code { "/auth/password/forgot" } ", "
                code { "/auth/password/reset" } ", " code { "/auth/password/change" } ", "
                code { "/auth/email/change" } ", " code { "GET /auth/events" } "; "
                code { "GET /health" } ", " code { "/protected" } " (signed in), "
                code { "/admin" } " (admins; create one with " code { "--create-admin EMAIL" } ")."
            }
        }
    };
    layout("Home", viewer, notice, content)
}

/// What the registration form had in it (never the password).
#[derive(Debug, Default)]
pub(crate) struct RegisterValues {
    pub(crate) name: String,
    pub(crate) email: String,
}

pub(crate) fn register(values: &RegisterValues, errors: &FormErrors) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { "Create an account" }
            (form_alert(errors))
            form method="post" action="/register" novalidate {
                (Input { name: "name", label: "Name", kind: "text", value: &values.name,
                    autocomplete: "name", hint: None }.render(errors))
                (Input { name: "email", label: "Email", kind: "email", value: &values.email,
                    autocomplete: "email", hint: None }.render(errors))
                (Input { name: "password", label: "Password", kind: "password", value: "",
                    autocomplete: "new-password", hint: Some(PASSWORD_HINT) }.render(errors))
                div.actions {
                    button type="submit" { "Create account" }
                    a href="/login" { "I already have an account" }
                }
            }
        }
    };
    layout("Register", None, None, content)
}

pub(crate) fn login(
    email: &str,
    next: Option<&str>,
    errors: &FormErrors,
    notice: Option<&str>,
) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { "Log in" }
            (form_alert(errors))
            form method="post" action="/login" novalidate {
                @if let Some(next) = next {
                    input type="hidden" name="next" value=(next);
                }
                (Input { name: "email", label: "Email or username", kind: "text", value: email,
                    autocomplete: "username", hint: None }.render(errors))
                (Input { name: "password", label: "Password", kind: "password", value: "",
                    autocomplete: "current-password", hint: None }.render(errors))
                div.actions {
                    button type="submit" { "Log in" }
                    a href="/forgot-password" { "Forgot your password?" }
                }
            }
            p.muted { "New here? " a href="/register" { "Create an account" } "." }
        }
    };
    layout("Log in", None, notice, content)
}

pub(crate) fn dashboard(user: &User, viewer: &Viewer, notice: Option<&str>) -> Markup {
    let content = html! {
        section.card {
            h1 { "Hello, " (user.name) }
            dl.facts {
                dt { "Email" }
                dd {
                    (user.email) " "
                    @if user.email_verified {
                        span.badge.good { "verified" }
                    } @else {
                        span.badge.warn { "not verified" }
                    }
                }
                @if let Some(username) = &user.username {
                    dt { "Username" } dd { (username) }
                }
                dt { "Role" } dd { (user.role) }
                dt { "Member since" } dd { (user.created_at.format("%Y-%m-%d %H:%M UTC")) }
            }
            @if !user.email_verified {
                form method="post" action="/verify-email/send" {
                    (csrf_field(&viewer.csrf))
                    p.actions {
                        button.secondary type="submit" { "Send verification email" }
                        span.muted { "We will send a confirmation link to " (user.email) "." }
                    }
                }
            }
        }
        section.card {
            h2 { "Your account" }
            ul {
                li { a href="/sessions" { "Sessions and devices" } }
                li { a href="/password" { "Change password" } }
            }
        }
    };
    layout("Dashboard", Some(viewer), notice, content)
}

pub(crate) fn sessions(list: &[SessionInfo], viewer: &Viewer, notice: Option<&str>) -> Markup {
    let content = html! {
        section.card {
            h1 { "Sessions" }
            p.muted { "Every device signed in to your account, newest first." }
            ul.sessions {
                @for session in list {
                    li.session {
                        div {
                            strong { (session.user_agent.as_deref().map_or("Unknown device", short_agent)) }
                            @if session.current { " " span.badge.good.this-device { "this device" } }
                            dl.facts {
                                dt { "Signed in" } dd { (session.created_at.format("%Y-%m-%d %H:%M:%S UTC")) }
                                dt { "Last seen" } dd { (session.last_seen_at.format("%Y-%m-%d %H:%M:%S UTC")) }
                                dt { "IP address" } dd { (session.ip_address.as_deref().unwrap_or("unknown")) }
                                dt { "User agent" } dd.agent { (session.user_agent.as_deref().unwrap_or("unknown")) }
                            }
                        }
                        @if session.current {
                            form.inline method="post" action="/logout" {
                                (csrf_field(&viewer.csrf))
                                button.danger type="submit" { "Sign out" }
                            }
                        } @else {
                            form.inline method="post" action={ "/sessions/" (session.id) "/revoke" } {
                                (csrf_field(&viewer.csrf))
                                button.danger type="submit" { "Sign out this device" }
                            }
                        }
                    }
                }
            }
            @if list.len() > 1 {
                form method="post" action="/sessions/revoke-others" {
                    (csrf_field(&viewer.csrf))
                    p.actions { button.secondary type="submit" { "Sign out everywhere else" } }
                }
            }
        }
    };
    layout("Sessions", Some(viewer), notice, content)
}

/// A browser name for a user agent string, for the session list's headline.
fn short_agent(agent: &str) -> &'static str {
    let agent = agent.to_ascii_lowercase();
    if agent.contains("headlesschrome") {
        "Headless Chrome"
    } else if agent.contains("edg/") {
        "Edge"
    } else if agent.contains("chrome/") || agent.contains("chromium/") {
        "Chrome"
    } else if agent.contains("firefox/") {
        "Firefox"
    } else if agent.contains("safari/") {
        "Safari"
    } else if agent.contains("curl/") {
        "curl"
    } else if agent.contains("reqwest") {
        "reqwest"
    } else {
        "Other client"
    }
}

pub(crate) fn change_password(viewer: &Viewer, errors: &FormErrors) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { "Change password" }
            p.muted { "Your other devices will be signed out." }
            (form_alert(errors))
            form method="post" action="/password" novalidate {
                (csrf_field(&viewer.csrf))
                (Input { name: "current_password", label: "Current password", kind: "password",
                    value: "", autocomplete: "current-password", hint: None }.render(errors))
                (Input { name: "new_password", label: "New password", kind: "password",
                    value: "", autocomplete: "new-password", hint: Some(PASSWORD_HINT) }.render(errors))
                div.actions { button type="submit" { "Change password" } }
            }
        }
    };
    layout("Change password", Some(viewer), None, content)
}

pub(crate) fn forgot_password(
    viewer: Option<&Viewer>,
    email: &str,
    errors: &FormErrors,
    sent: bool,
) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { "Forgot your password?" }
            @if sent {
                p.notice role="status" {
                    "If an account exists for that address, a link to reset its password is on its way. "
                    "It works once, within an hour."
                }
                p { a href="/login" { "Back to log in" } }
            } @else {
                p.muted { "Enter your email address and we will send you a link to set a new password." }
                (form_alert(errors))
                form method="post" action="/forgot-password" novalidate {
                    (maybe_csrf(viewer))
                    (Input { name: "email", label: "Email", kind: "email", value: email,
                        autocomplete: "email", hint: None }.render(errors))
                    div.actions { button type="submit" { "Send reset link" } }
                }
            }
        }
    };
    layout("Forgot password", viewer, None, content)
}

pub(crate) fn reset_password(viewer: Option<&Viewer>, token: &str, errors: &FormErrors) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { "Set a new password" }
            (form_alert(errors))
            @if token.is_empty() {
                p { "This link is incomplete. " a href="/forgot-password" { "Ask for a new one" } "." }
            } @else {
                form method="post" action="/reset-password" novalidate {
                    (maybe_csrf(viewer))
                    input type="hidden" name="token" value=(token);
                    (Input { name: "password", label: "New password", kind: "password", value: "",
                        autocomplete: "new-password", hint: Some(PASSWORD_HINT) }.render(errors))
                    div.actions {
                        button type="submit" { "Set password" }
                        a href="/forgot-password" { "Ask for a new link" }
                    }
                }
            }
        }
    };
    layout("Reset password", viewer, None, content)
}

pub(crate) fn verify_email(viewer: Option<&Viewer>, token: &str, errors: &FormErrors) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { "Confirm your email address" }
            (form_alert(errors))
            @if token.is_empty() {
                p { "This link is incomplete. Open the link from the email again." }
            } @else {
                p { "Press the button to confirm that this email address is yours." }
                form method="post" action="/verify-email" {
                    (maybe_csrf(viewer))
                    input type="hidden" name="token" value=(token);
                    div.actions { button type="submit" { "Confirm email address" } }
                }
            }
        }
    };
    layout("Confirm email", viewer, None, content)
}

pub(crate) fn email_verified(viewer: Option<&Viewer>) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { "Email address confirmed" }
            p.notice role="status" { "Thank you: your email address is confirmed." }
            @if viewer.is_some() {
                p { a href="/dashboard" { "Go to your dashboard" } }
            } @else {
                p { a href="/login" { "Log in" } }
            }
        }
    };
    layout("Email confirmed", viewer, None, content)
}

/// A page that only says something: errors, refusals, "check your email".
pub(crate) fn message(title: &str, text: &str, viewer: Option<&Viewer>) -> Markup {
    let content = html! {
        section.card.narrow {
            h1 { (title) }
            p { (text) }
            p.actions {
                a href="/" { "Home" }
                @if viewer.is_some() {
                    a href="/dashboard" { "Dashboard" }
                } @else {
                    a href="/login" { "Log in" }
                }
            }
        }
    };
    layout(title, viewer, None, content)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn errors_land_on_their_field_in_plain_words() {
        let taken = FormErrors::from_error(&AuthError::EmailTaken, "password");
        assert!(taken.on("email").is_some() && taken.form.is_none());
        let weak = FormErrors::from_error(
            &AuthError::WeakPassword("password must be at least 8 characters".into()),
            "new_password",
        );
        assert_eq!(
            weak.on("new_password"),
            Some("Password must be at least 8 characters.")
        );
        let name = FormErrors::from_error(
            &AuthError::InvalidInput {
                field: "name",
                message: "must not be empty".into(),
            },
            "password",
        );
        assert_eq!(name.on("name"), Some("Name must not be empty."));
        let wrong = FormErrors::from_error(&AuthError::InvalidCredentials, "password");
        assert_eq!(
            wrong.form.as_deref(),
            Some("Email or password is incorrect.")
        );
        let limited = FormErrors::from_error(
            &AuthError::RateLimited {
                retry_after: Duration::from_secs(61),
            },
            "password",
        );
        assert_eq!(
            limited.form.as_deref(),
            Some("Too many attempts, try again in 2 minutes.")
        );
        assert_eq!(
            too_many_attempts(5),
            "Too many attempts, try again in 1 minute."
        );
        let down = FormErrors::from_error(&AuthError::StorageUnavailable("x".into()), "password");
        assert_eq!(down.form.as_deref(), Some(server_trouble()));
        assert!(FormErrors::default().is_empty());
    }

    #[test]
    fn user_data_is_escaped() {
        let viewer = Viewer {
            name: "<script>alert(1)</script>".into(),
            email: "a@b.co".into(),
            csrf: "\"><x".into(),
        };
        let page = home(Some(&viewer), None, "http://127.0.0.1:3000").into_string();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("\"><x"));
    }
}
