//! Manager flows on the SeaORM backend: SQLite in memory and in a file always, PostgreSQL and
//! MySQL/MariaDB when `PORTCULLIS_TEST_POSTGRES_URL` / `PORTCULLIS_TEST_MYSQL_URL` are set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use portcullis_sea_orm::testing;

manager_tests!(sqlite_memory, testing::sqlite_memory);
manager_tests!(sqlite_file, testing::sqlite_file);
manager_tests!(postgres, testing::postgres);
manager_tests!(mysql, testing::mysql);

/// Reads the raw bytes of an SQLite database file (and its WAL) after every flow that stores
/// a secret-derived value, and searches them for the secrets themselves.
#[tokio::test(flavor = "multi_thread")]
async fn the_sqlite_file_holds_no_token_or_password() {
    use portcullis_core::{EmailKind, Password, PasswordCredentials};
    use portcullis_sea_orm::sea_orm::{ConnectionTrait, Statement};

    let backend = testing::sqlite_file().await.unwrap();
    let db = backend.connection();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA database_list",
        ))
        .await
        .unwrap()
        .unwrap();
    let path: String = row.try_get_by_index(2).unwrap();
    let h = support::harness(backend);
    let address = support::email();
    let password = "raw file secret passphrase 41";
    let portcullis_manager::Registered::SignedIn(s) = h
        .manager
        .register(
            portcullis_manager::Registration::new("Raw", &address, password),
            &h.client,
        )
        .await
        .unwrap()
    else {
        unreachable!()
    };
    let login = h
        .manager
        .login(&PasswordCredentials::new(&address, password), &h.client)
        .await
        .unwrap();
    h.manager
        .request_email_verification(&s.user, &h.client)
        .await
        .unwrap();
    h.manager.request_password_reset(&address, &h.client).await;
    h.manager.wait_for_background_tasks().await;
    let verify = h
        .mailer
        .last_token(&address, EmailKind::VerifyEmail)
        .unwrap();
    let reset = h
        .mailer
        .last_token(&address, EmailKind::PasswordReset)
        .unwrap();
    let fresh = h
        .manager
        .change_password(
            &s.user,
            &Password::new(password),
            &Password::new("raw file second passphrase"),
            &h.client,
        )
        .await
        .unwrap();

    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend_from_slice(&wal);
    }
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    // Sanity: the file is the right one (the session hash and the email are in it).
    assert!(contains(&address), "not reading the database file");
    assert!(
        contains(&fresh.token.hash().to_hex()),
        "session hashes not found: wrong file?"
    );
    for secret in [
        password,
        "raw file second passphrase",
        s.token.expose(),
        login.token.expose(),
        fresh.token.expose(),
        &verify,
        &reset,
    ] {
        assert!(
            !contains(secret),
            "a raw secret is stored in the database file"
        );
    }
}
