//! Starts the demo server in-process for the integration tests, exactly as `main` builds it,
//! with a capturing mailer.

#![allow(dead_code, unreachable_pub)] // shared by several test binaries, each using a part

use std::net::SocketAddr;

use portcullis_manager::{AuthConfig, AuthManager, MemoryMailer};
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_sea_orm::SeaOrmBackend;
use server::{Manager, ServerConfig};

/// A running server.
pub struct Started {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The server's manager (to read state or create admins).
    pub manager: Manager,
    /// Every email the server sent.
    pub mailer: MemoryMailer,
}

/// Serves `server::app` over `backend` on a free port, with `--insecure-cookies` (plain
/// HTTP), `--rate-limit off` unless `flags` sets one, the rest of `flags`, and emailed links
/// pointing at this server.
pub async fn start(backend: SeaOrmBackend, flags: &[&str]) -> Started {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--insecure-cookies",
        "--public-url",
        &base,
    ];
    if !flags.contains(&"--rate-limit") {
        args.extend(["--rate-limit", "off"]);
    }
    args.extend_from_slice(flags);
    let config = ServerConfig::from_args(args.iter().map(|s| (*s).to_owned())).unwrap();
    let mailer = MemoryMailer::new();
    let manager = AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new()))
        .config(AuthConfig {
            public_url: base.clone(),
            ..AuthConfig::default()
        })
        .mailer(mailer.clone())
        .build()
        .unwrap();
    let app = server::app(manager.clone(), &config);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Started {
        base,
        manager,
        mailer,
    }
}

/// A unique email address starting with `prefix`.
pub fn email(prefix: &str) -> String {
    format!(
        "{prefix}-{}@example.com",
        &portcullis_core::UserId::new().to_string()[..8]
    )
}
