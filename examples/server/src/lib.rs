//! The Portcullis demo server as a library, so tests start exactly what `main` starts.
//!
//! - `/auth/*`: the JSON API (`portcullis_axum::router`), bearer or cookie.
//! - HTML pages rendered on the server with cookie sessions: `/` (home), `/register`,
//!   `/login`, `/logout`, `/dashboard`, `/sessions`, `/password`, `/forgot-password`,
//!   `/reset-password`, `/verify-email` (see `pages.rs`).
//! - `GET /health`: no auth. `GET /protected`: any signed-in user. `GET /admin`: admins only.

mod config;
mod pages;
mod views;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use portcullis_axum::{CurrentUser, RequireRole, Role, RouterConfig, UserBody, router};
use portcullis_core::email::normalize_email;
use portcullis_core::{AuthError, ClientInfo, Password, User, UserStore};
use portcullis_manager::{
    AuthConfig, AuthManager, LogMailer, Registered, Registration, SessionCacheConfig,
};
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_tower::{AuthLayer, ClientAddr, ClientIpSource, RateLimitLayer};
use portcullis_transport::{CookieOrBearer, CookieTransport};
use serde_json::json;

pub use config::{HELP, ServerConfig};

/// The manager type the demo uses.
pub type Manager = AuthManager<SeaOrmBackend, PasswordStrategy<MultiHasher>>;

/// Logs to stderr at `level` (`info` by default).
pub fn init_logging(level: &str) {
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .try_init();
}

/// Connects to the database and applies migrations.
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn connect(database_url: &str) -> Result<SeaOrmBackend, AuthError> {
    let backend = SeaOrmBackend::connect(database_url).await?;
    backend.migrate().await?;
    Ok(backend)
}

/// The manager: argon2id, default policy, emails printed to the log with their links (this is
/// a demo: a newcomer clicks through verification and reset from the console), and the session
/// cache when `--session-cache` asks for one.
///
/// # Errors
/// When the configuration is invalid.
pub fn manager(backend: SeaOrmBackend, config: &ServerConfig) -> Result<Manager, AuthError> {
    AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new()))
        .config(AuthConfig {
            public_url: config.public_url.clone(),
            session_cache: config.session_cache_ttl.map(|ttl| SessionCacheConfig {
                ttl,
                ..SessionCacheConfig::default()
            }),
            ..AuthConfig::default()
        })
        .mailer(LogMailer::new().show_links(true))
        .build()
}

/// Creates `email` as an admin (or promotes the existing account).
///
/// # Errors
/// Invalid email, weak password, storage errors.
pub async fn create_admin(
    manager: &Manager,
    email: &str,
    password: &Password,
) -> Result<User, AuthError> {
    let client = ClientInfo::default();
    let normalized = normalize_email(email)?;
    let user = match manager.backend().find_user_by_email(&normalized).await? {
        Some(user) => user,
        None => {
            let registration = Registration {
                name: "Administrator".to_owned(),
                email: normalized,
                password: password.clone(),
                username: None,
            };
            match manager.register(registration, &client).await? {
                Registered::SignedIn(signed_in) => signed_in.user,
                Registered::CheckEmail => return Err(AuthError::internal("paranoid registration")),
            }
        }
    };
    manager.set_role(user.id, "admin", &client).await
}

struct Admin;

impl Role for Admin {
    const NAME: &'static str = "admin";
}

/// The whole application.
pub fn app(manager: Manager, config: &ServerConfig) -> Router {
    let transport = CookieOrBearer::new(CookieTransport::new().secure(!config.insecure_cookies));
    let client_ip = match &config.trusted_proxy_header {
        Some(header) => ClientIpSource::trusted_header(header),
        None => ClientIpSource::default(),
    };
    let api = router(
        manager.clone(),
        transport.clone(),
        RouterConfig {
            client_ip: client_ip.clone(),
            ..RouterConfig::default()
        },
    );
    let html_pages = pages::router(
        manager.clone(),
        transport.clone(),
        client_ip.clone(),
        &config.public_url,
    );
    let demo = Router::new()
        .route("/protected", get(protected))
        .route("/admin", get(admin))
        .layer(AuthLayer::new(manager, transport).client_ip(client_ip.clone()));
    let rate_limit = match config.rate_limit_per_minute {
        // A burst of `per_minute`, refilled evenly over the minute.
        Some(per_minute) => RateLimitLayer::new()
            .quota(per_minute, Duration::from_secs(60) / per_minute.max(1))
            .client_ip(client_ip),
        None => RateLimitLayer::disabled(),
    };
    // The HTML forms that take credentials share the API's per-client budget.
    let rate_limit = pages::CREDENTIAL_FORMS
        .into_iter()
        .fold(rate_limit, |layer, path| layer.route(Method::POST, path));
    Router::new()
        .route("/health", get(health))
        .merge(demo)
        .merge(html_pages)
        .merge(api)
        .layer(rate_limit)
        .layer(from_fn(pages::rate_limited_forms))
        .layer(from_fn(client_addr))
}

/// Makes the TCP peer address visible to `ClientIpSource` (framework-neutral) as `ClientAddr`.
async fn client_addr(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(addr)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    {
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /protected`: serialised straight from a struct (no intermediate JSON map), since it
/// is the route the load benchmark measures authenticated requests with.
#[derive(serde::Serialize)]
struct Greeting {
    detail: String,
    user: UserBody,
}

async fn protected(CurrentUser(user): CurrentUser) -> Json<Greeting> {
    Json(Greeting {
        detail: format!("hello, {}", user.name),
        user: UserBody::from(&user),
    })
}

async fn admin(RequireRole(user, ..): RequireRole<Admin>) -> Json<serde_json::Value> {
    Json(json!({"detail": format!("hello, admin {}", user.name)}))
}

/// Serves `app` on `config.addr` until Ctrl-C.
///
/// # Errors
/// When the address cannot be bound.
pub async fn run(
    manager: Manager,
    config: &ServerConfig,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let purge = manager.clone();
    tokio::spawn(async move {
        loop {
            if let Err(error) = purge.purge_expired().await {
                tracing::warn!(%error, "purging expired sessions failed");
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    let app = app(manager, config);
    println!("Portcullis demo listening on http://{addr}");
    println!(
        "  pages:      http://{addr}/  (register, log in, dashboard, sessions, password reset)"
    );
    println!(
        "  JSON API:   http://{addr}/auth/  (register, login, me, sessions, ... see docs/http-api.md)"
    );
    println!(
        "  health:     http://{addr}/health   protected: http://{addr}/protected   admin: http://{addr}/admin"
    );
    println!("  storage:    {}", redact_url(&config.database_url));
    if let Some(ttl) = config.session_cache_ttl {
        println!(
            "  sessions:   cached for {} s (--session-cache)",
            ttl.as_secs()
        );
    }
    if config.insecure_cookies {
        println!("  cookies:    insecure (plain HTTP, localhost only)");
    }
    println!("  emails are printed to this console, links included (demo only)");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// A database URL without its password, for printing.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(
            super::redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            super::redact_url("sqlite://demo.db?mode=rwc"),
            "sqlite://demo.db?mode=rwc"
        );
    }
}
