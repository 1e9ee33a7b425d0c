//! `cargo run -p hyper-only`: the plain-hyper example on an SQLite file, port 3001.

use hyper_only::{DEFAULT_ADDR, serve};
use portcullis_manager::AuthManager;
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_sea_orm::SeaOrmBackend;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let backend = SeaOrmBackend::connect("sqlite://portcullis-hyper.db?mode=rwc").await?;
    backend.migrate().await?;
    let manager =
        AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new())).build()?;
    let listener = tokio::net::TcpListener::bind(DEFAULT_ADDR).await?;
    println!("listening on http://{DEFAULT_ADDR}");
    println!(
        "try: curl -s -X POST http://{DEFAULT_ADDR}/auth/register -H 'content-type: application/json' \\\n  -d '{{\"name\":\"Ada\",\"email\":\"ada@example.com\",\"password\":\"analytical engine\"}}'"
    );
    serve(listener, manager).await;
    Ok(())
}
