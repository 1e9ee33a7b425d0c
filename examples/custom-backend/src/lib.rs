//! A complete Portcullis storage backend without SeaORM: [`FileBackend`] keeps every record
//! in one local file, an append-only log of JSON lines replayed into memory when opened.
//!
//! It is the worked example of `docs/writing-a-backend.md`: it implements the five store
//! traits of `portcullis-core` (and so is a [`Backend`](portcullis_core::Backend)), passes
//! the conformance suite of `portcullis-testkit` (`tests/conformance.rs`), survives a
//! restart (`tests/restart.rs`), and runs the ready-made `/auth` router unchanged
//! (`tests/http.rs`, and `cargo run -p custom-backend` for a server).
//!
//! # Design
//!
//! - **Memory is the index, the file is the truth.** Records live in hash maps with unique
//!   indexes on email, username, `(provider_id, account_id)`, the credential account of a
//!   user, session token hash and verification value hash. Reads never touch the disk.
//! - **One line per mutation, `fsync`ed before it is acknowledged.** A line is a JSON array
//!   of entries (`put_user`, `put_account`, `delete_sessions`, ...) applied all or nothing,
//!   so a registration (user + credential account) is one line. Replay and live writes
//!   apply entries through the same function.
//! - **One lock.** Every method takes one `tokio::sync::Mutex`; a write checks the contract
//!   (uniqueness, existence), commits, then applies, without releasing it. That is what
//!   makes take-once verifications, create-or-fail sessions and the failed-login counter
//!   atomic. Writes run on the blocking pool (file I/O and `fsync` must not stall the async
//!   executor), with the lock moved into them.
//! - **Compaction** rewrites the file as the live records (temporary file, `fsync`, rename)
//!   on every open and when the log grows past twice the live data.
//!
//! It suits one process with a modest number of users (everything is in memory; writes are
//! serialised and each costs an `fsync`). Several processes need a shared database:
//! use `portcullis-sea-orm` with PostgreSQL or MySQL.
//!
//! # Example
//!
//! ```
//! use custom_backend::FileBackend;
//! use portcullis_core::{Clock, SystemClock, User, UserStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), portcullis_core::StoreError> {
//! # let dir = std::env::temp_dir().join(format!("custom-backend-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).map_err(portcullis_core::StoreError::backend)?;
//! # let path = dir.join("auth.jsonl");
//! # let _ = std::fs::remove_file(&path);
//! let backend = FileBackend::open(&path).await?;
//! let user = User::new("Ada", "ada@example.com", SystemClock.now());
//! backend.create_user(&user).await?;
//! drop(backend); // the file is locked while open
//!
//! let reopened = FileBackend::open(&path).await?;
//! assert_eq!(reopened.find_user_by_email("ada@example.com").await?, Some(user));
//! # Ok(())
//! # }
//! ```
//!
//! # Secrets in the file
//!
//! Session and verification tokens never reach storage: the file holds their SHA-256 as
//! hex. Password hashes and OAuth tokens are secrets that must be persisted, so they are in
//! the file as they are; it is created with mode `0600` (owner only). Keep it out of
//! backups you would not trust with the password hashes.

mod backend;
mod log;
mod record;
mod state;

#[doc(inline)]
pub use backend::FileBackend;
