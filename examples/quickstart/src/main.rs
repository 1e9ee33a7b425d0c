//! Portcullis in one file: an SQLite database, a registration, a login, a validated session.
//!
//! Run it with `cargo run -p quickstart`. It creates `portcullis-quickstart.db` in the current
//! directory (or uses `DATABASE_URL`), registers `ada@example.com` on the first run (logs in
//! on later runs), validates the session token as every request would, lists the sessions and
//! prints the audit log.

#![allow(clippy::expect_used)] // an example: a broken invariant should stop it loudly

use std::error::Error;

use portcullis_core::{ClientInfo, PasswordCredentials};
use portcullis_manager::{AuthManager, Registered, Registration};
use portcullis_password::{MultiHasher, PasswordStrategy};
use portcullis_sea_orm::SeaOrmBackend;

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "analytical engine 1843";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://portcullis-quickstart.db?mode=rwc".to_owned());
    let backend = SeaOrmBackend::connect(&url).await?;
    backend.migrate().await?;
    println!("storage: {url} (migrated)");

    // argon2id (m=19456 KiB, t=2, p=1) on a bounded hashing pool, with the default policy.
    let manager =
        AuthManager::builder(backend, PasswordStrategy::new(MultiHasher::new())).build()?;
    let client = ClientInfo {
        ip_address: Some("127.0.0.1".into()),
        user_agent: Some("quickstart".into()),
    };

    let registration = Registration::new("Ada Lovelace", EMAIL, PASSWORD);
    let signed_in = match manager.register(registration, &client).await {
        Ok(Registered::SignedIn(signed_in)) => {
            println!(
                "registered {} (user id {})",
                signed_in.user.email, signed_in.user.id
            );
            *signed_in
        }
        Ok(Registered::CheckEmail) => return Err("paranoid registration is on".into()),
        Err(error) if error.code() == "email_taken" => {
            println!("{EMAIL} is already registered (an earlier run): logging in");
            manager
                .login(&PasswordCredentials::new(EMAIL, PASSWORD), &client)
                .await?
        }
        Err(error) => return Err(error.into()),
    };

    // A wrong password is refused with the same answer as an unknown email.
    let wrong = manager
        .login(
            &PasswordCredentials::new(EMAIL, "not the password"),
            &client,
        )
        .await
        .expect_err("a wrong password must not log in");
    println!("wrong password -> {} ({})", wrong.code(), wrong.status());

    // The client keeps the token; every request presents it and gets the session back.
    let auth = manager.authenticate_token(&signed_in.token).await?;
    println!(
        "token valid: user {} <{}>, session {} expires {}",
        auth.user.name, auth.user.email, auth.session.id, auth.session.expires_at
    );

    for session in manager.list_sessions(&auth.session).await? {
        let marker = if session.current { " (this one)" } else { "" };
        println!("session {} from {}{marker}", session.id, session.created_at);
    }
    for event in manager.list_events(auth.user.id, 5).await? {
        println!("audit: {} at {}", event.kind, event.created_at);
    }
    Ok(())
}
