//! The `/auth` API of `portcullis-axum`, unchanged, on [`FileBackend`]: no database at all.
//!
//! `cargo run -p custom-backend` serves it on <http://127.0.0.1:3000> with the log in
//! `portcullis-custom-backend.jsonl` (or the file named by `PORTCULLIS_FILE`):
//!
//! ```sh
//! curl -s -X POST http://127.0.0.1:3000/auth/register -H 'content-type: application/json' \
//!   -d '{"name":"Ada","email":"ada@example.com","password":"analytical engine 1843"}'
//! curl -s http://127.0.0.1:3000/protected -H "authorization: Bearer $TOKEN"
//! ```

use std::error::Error;

use axum::Router;
use axum::routing::get;
use custom_backend::FileBackend;
use portcullis::axum::{CurrentUser, RouterConfig, router};
use portcullis::manager::AuthManager;
use portcullis::password::{MultiHasher, PasswordStrategy};
use portcullis::tower::AuthLayer;
use portcullis::transport::BearerTransport;

async fn protected(CurrentUser(user): CurrentUser) -> String {
    format!("hello, {}\n", user.name)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::var("PORTCULLIS_FILE")
        .unwrap_or_else(|_| "portcullis-custom-backend.jsonl".to_owned());
    let backend = FileBackend::open(&path).await?;
    let manager =
        AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new())).build()?;
    let transport = BearerTransport::new();
    let app = Router::new()
        .route("/protected", get(protected))
        .layer(AuthLayer::new(manager.clone(), transport))
        .merge(router(manager, transport, RouterConfig::default()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "Portcullis on a file backend: http://{}/auth/ (storage: {path})",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
