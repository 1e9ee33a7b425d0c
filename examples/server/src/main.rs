//! The Portcullis demo server. `cargo run -p server -- --insecure-cookies`, then open
//! <http://127.0.0.1:3000>. `--help` lists every flag.

use std::io::BufRead;
use std::process::ExitCode;

use portcullis_core::Password;
use server::{ServerConfig, connect, create_admin, manager, run};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match ServerConfig::from_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    server::init_logging(&config.log_level);
    match start(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn start(config: ServerConfig) -> Result<(), Box<dyn std::error::Error>> {
    let backend = connect(&config.database_url).await?;
    let manager = manager(backend, &config)?;
    if let Some(email) = &config.create_admin {
        let password = match std::env::var("PORTCULLIS_ADMIN_PASSWORD") {
            Ok(password) if !password.is_empty() => password,
            _ => {
                eprintln!("password for {email} (one line on stdin):");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            }
        };
        let user = create_admin(&manager, email, &Password::new(password)).await?;
        println!("{} is an admin (user id {})", user.email, user.id);
        return Ok(());
    }
    run(manager, &config).await
}
