//! Focused tests of what the conformance suite cannot see from outside: column types and
//! timestamp range, error mapping per rule, migrations, connection settings, purge chunking.
//! Each test runs on every database (PostgreSQL and MySQL when their URLs are set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_sea_orm::testing as common;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use portcullis_core::{
    Account, AccountId, AccountStore, AuthEvent, AuthEventKind, ClientInfo, Clock, ConflictKind,
    EventStore, PasswordHash, SecretString, Session, SessionId, SessionStore, StoreError,
    TestClock, Token, User, UserId, UserStore, Verification, VerificationId, VerificationStore,
};
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_sea_orm::entity::prelude::{AuthEvent as AuthEventEntity, AuthEventColumn};
use portcullis_sea_orm::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn user(tag: &str, now: DateTime<Utc>) -> User {
    let id = UserId::new();
    let mut user = User::new(
        format!("User {tag}"),
        format!("{tag}-{id}@example.com"),
        now,
    );
    user.username = Some(format!("{tag}_{id}"));
    user
}

fn credential(user: &User, now: DateTime<Utc>) -> Account {
    Account::credential(user.id, PasswordHash::new("$argon2id$test"), now)
}

fn session(user: &User, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Session {
    Session {
        id: SessionId::new(),
        token_hash: Token::generate().unwrap().hash(),
        user_id: user.id,
        expires_at,
        absolute_expires_at: expires_at,
        ip_address: None,
        user_agent: None,
        created_at: now,
        last_seen_at: now,
    }
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
        + chrono::TimeDelta::microseconds(i64::from(micros))
}

fn conflict(result: Result<(), StoreError>) -> ConflictKind {
    match result {
        Err(StoreError::Conflict(kind)) => kind,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn migrate_is_idempotent(backend: SeaOrmBackend) {
    backend.migrate().await.expect("second migrate");
    backend.migrate().await.expect("third migrate");
    let again = SeaOrmBackend::new(backend.connection().clone());
    again.migrate().await.expect("migrate from a second handle");
    let now = TestClock::new().now();
    backend
        .create_user(&user("m", now))
        .await
        .expect("tables still work");
}

async fn timestamps_round_trip_to_the_microsecond(backend: SeaOrmBackend) {
    for (created, updated) in [
        (
            at(2026, 11, 5, 12, 34, 56, 123_456),
            at(2026, 11, 5, 12, 34, 56, 123_457),
        ),
        (
            at(1970, 1, 1, 0, 0, 0, 1),
            at(2038, 1, 19, 3, 14, 8, 999_999),
        ),
        (
            at(1000, 1, 1, 0, 0, 0, 0),
            at(9999, 12, 31, 23, 59, 59, 999_999),
        ),
    ] {
        let mut u = user("ts", created);
        u.updated_at = updated;
        backend
            .create_user(&u)
            .await
            .unwrap_or_else(|e| panic!("create at {created} / {updated}: {e:?}"));
        let found = backend.find_user_by_id(u.id).await.unwrap().unwrap();
        assert_eq!(found.created_at, created);
        assert_eq!(found.updated_at, updated);
    }

    // Nanoseconds are truncated (never rounded up) to what every database keeps.
    let precise = at(2030, 6, 1, 0, 0, 0, 0) + chrono::TimeDelta::nanoseconds(999_999_999);
    let mut u = user("ns", precise);
    u.updated_at = precise;
    backend.create_user(&u).await.expect("create");
    let found = backend.find_user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(found.created_at, at(2030, 6, 1, 0, 0, 0, 999_999));

    // Optional timestamps too.
    let owner = user("oauth", precise);
    backend.create_user(&owner).await.unwrap();
    let mut oauth = Account::credential(owner.id, PasswordHash::new("x"), precise);
    oauth.provider_id = "github".into();
    oauth.password = None;
    oauth.access_token = Some(SecretString::new("gho_token"));
    oauth.access_token_expires_at = Some(at(2031, 2, 3, 4, 5, 6, 7));
    backend.create_account(&oauth).await.unwrap();
    let found = backend
        .find_account("github", &oauth.account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.access_token_expires_at,
        Some(at(2031, 2, 3, 4, 5, 6, 7))
    );
    assert_eq!(found.refresh_token_expires_at, None);
}

async fn conflicts_name_the_rule(backend: SeaOrmBackend) {
    let now = TestClock::new().now();
    let ada = user("ada", now);
    backend
        .create_user_with_credential(&ada, &credential(&ada, now))
        .await
        .unwrap();

    let mut same_email = user("other", now);
    same_email.email = ada.email.clone();
    assert_eq!(
        conflict(backend.create_user(&same_email).await),
        ConflictKind::Email
    );

    // A username that reads "email" must not confuse the mapping (MySQL quotes the value).
    let mut tricky = user("t", now);
    tricky.username = Some("email".into());
    backend.create_user(&tricky).await.unwrap();
    let mut same_username = user("u", now);
    same_username.username = Some("email".into());
    assert_eq!(
        conflict(backend.create_user(&same_username).await),
        ConflictKind::Username
    );
    let mut email_named_username = user("e", now);
    email_named_username.email = "username@example.com".into();
    backend.create_user(&email_named_username).await.unwrap();
    let mut again = user("f", now);
    again.email = "username@example.com".into();
    assert_eq!(
        conflict(backend.create_user(&again).await),
        ConflictKind::Email
    );

    let mut same_id = user("id", now);
    same_id.id = ada.id;
    assert_eq!(
        conflict(backend.create_user(&same_id).await),
        ConflictKind::Record
    );

    // Accounts: the (provider, account id) rule, and a reused row id.
    let mut second_credential = credential(&ada, now);
    second_credential.id = AccountId::new();
    assert_eq!(
        conflict(backend.create_account(&second_credential).await),
        ConflictKind::Account
    );
    let existing = backend
        .find_credential_account(ada.id)
        .await
        .unwrap()
        .unwrap();
    let mut reused_id = credential(&ada, now);
    reused_id.id = existing.id;
    reused_id.provider_id = "gitlab".into();
    assert_eq!(
        conflict(backend.create_account(&reused_id).await),
        ConflictKind::Record
    );

    // Events: create-or-fail on the id.
    let event = AuthEvent::new(
        AuthEventKind::Register,
        Some(ada.id),
        &ClientInfo::default(),
        now,
    );
    backend.append_event(&event).await.unwrap();
    assert_eq!(
        conflict(backend.append_event(&event).await),
        ConflictKind::Record
    );

    // Verifications: id and value hash.
    let verification = Verification {
        id: VerificationId::new(),
        identifier: Verification::identifier("email-verify", &ada.id.to_string()),
        value_hash: Token::generate().unwrap().hash(),
        expires_at: now,
        created_at: now,
    };
    backend.create_verification(&verification).await.unwrap();
    let mut same_hash = verification.clone();
    same_hash.id = VerificationId::new();
    assert_eq!(
        conflict(backend.create_verification(&same_hash).await),
        ConflictKind::Record
    );

    // A session for a user that does not exist breaks a foreign key: not a conflict, and
    // not a generic failure either: the user is not found (the store contract).
    let ghost = user("ghost", now);
    match backend.create_session(&session(&ghost, now, now)).await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

async fn emails_compare_exactly(backend: SeaOrmBackend) {
    // Core normalises emails; storage must not fold case or accents on top (MySQL's default
    // collations do, hence utf8mb4_bin).
    let now = TestClock::new().now();
    let mut accented = user("a", now);
    accented.email = "josé@example.com".into();
    let mut plain = user("b", now);
    plain.email = "jose@example.com".into();
    let mut upper = user("c", now);
    upper.email = "JOSE@example.com".into();
    for u in [&accented, &plain, &upper] {
        backend
            .create_user(u)
            .await
            .expect("distinct emails are distinct");
    }
    let found = backend
        .find_user_by_email("jose@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, plain.id);
    assert!(
        backend
            .find_user_by_email("Jose@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

async fn deleted_users_leave_anonymous_events(backend: SeaOrmBackend) {
    let now = TestClock::new().now();
    let u = user("del", now);
    backend
        .create_user_with_credential(&u, &credential(&u, now))
        .await
        .unwrap();
    backend
        .create_session(&session(&u, now, now))
        .await
        .unwrap();
    let event = AuthEvent::new(
        AuthEventKind::LoginSucceeded,
        Some(u.id),
        &ClientInfo::default(),
        now,
    );
    backend.append_event(&event).await.unwrap();

    assert!(backend.delete_user(u.id).await.unwrap());
    assert!(!backend.delete_user(u.id).await.unwrap());
    assert!(backend.list_accounts(u.id).await.unwrap().is_empty());
    assert!(backend.list_sessions(u.id).await.unwrap().is_empty());
    let row = AuthEventEntity::find_by_id(event.id.as_uuid())
        .one(backend.connection())
        .await
        .unwrap()
        .expect("the audit row survives its user");
    assert_eq!(row.user_id, None);
    assert_eq!(row.kind, "login_succeeded");
    let anonymous = AuthEventEntity::find()
        .filter(AuthEventColumn::UserId.is_null())
        .all(backend.connection())
        .await
        .unwrap();
    assert_eq!(anonymous.len(), 1);
}

async fn failed_logins_need_a_credential(backend: SeaOrmBackend) {
    let now = TestClock::new().now();
    let oauth_only = user("o", now);
    backend.create_user(&oauth_only).await.unwrap();
    let window = Duration::from_secs(900);
    assert!(matches!(
        backend
            .record_failed_login(oauth_only.id, now, window)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        backend
            .record_failed_login(UserId::new(), now, window)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        backend
            .failed_logins(oauth_only.id)
            .await
            .unwrap()
            .is_none()
    );
    backend.reset_failed_logins(oauth_only.id).await.unwrap();

    // A window longer than the calendar never ends.
    let u = user("w", now);
    backend
        .create_user_with_credential(&u, &credential(&u, now))
        .await
        .unwrap();
    let forever = Duration::from_secs(u64::MAX);
    assert_eq!(
        backend
            .record_failed_login(u.id, now, forever)
            .await
            .unwrap()
            .count,
        1
    );
    let later = now + chrono::TimeDelta::days(3650);
    let second = backend
        .record_failed_login(u.id, later, forever)
        .await
        .unwrap();
    assert_eq!((second.count, second.window_started_at), (2, now));
}

async fn purges_run_in_chunks_up_to_the_limit(backend: SeaOrmBackend) {
    let now = TestClock::new().now();
    let u = user("p", now);
    backend.create_user(&u).await.unwrap();
    let past = now - chrono::TimeDelta::hours(1);
    for _ in 0..1_201 {
        backend
            .create_session(&session(&u, past, past))
            .await
            .unwrap();
    }
    let live = session(&u, now, now + chrono::TimeDelta::hours(1));
    backend.create_session(&live).await.unwrap();

    assert_eq!(backend.delete_expired_sessions(now, 0).await.unwrap(), 0);
    assert_eq!(
        backend.delete_expired_sessions(now, 1_100).await.unwrap(),
        1_100
    );
    assert_eq!(
        backend
            .delete_expired_sessions(now, u64::MAX)
            .await
            .unwrap(),
        101
    );
    assert_eq!(
        backend
            .delete_expired_sessions(now, u64::MAX)
            .await
            .unwrap(),
        0
    );
    assert!(backend.find_session(live.id).await.unwrap().is_some());
    assert_eq!(backend.list_events(u.id, u64::MAX).await.unwrap().len(), 0);
}

async fn a_closed_pool_is_unavailable(backend: SeaOrmBackend) {
    backend.close().await.unwrap();
    match backend.find_user_by_id(UserId::new()).await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

macro_rules! store_tests {
    ($module:ident, $factory:path) => {
        mod $module {
            use super::*;

            fn run<F: std::future::Future<Output = ()>>(test: impl FnOnce(SeaOrmBackend) -> F) {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        if let Some(backend) = $factory().await {
                            test(backend).await;
                        }
                    });
            }

            #[test]
            fn migrate_is_idempotent() {
                run(super::migrate_is_idempotent);
            }
            #[test]
            fn timestamps_round_trip_to_the_microsecond() {
                run(super::timestamps_round_trip_to_the_microsecond);
            }
            #[test]
            fn conflicts_name_the_rule() {
                run(super::conflicts_name_the_rule);
            }
            #[test]
            fn emails_compare_exactly() {
                run(super::emails_compare_exactly);
            }
            #[test]
            fn deleted_users_leave_anonymous_events() {
                run(super::deleted_users_leave_anonymous_events);
            }
            #[test]
            fn failed_logins_need_a_credential() {
                run(super::failed_logins_need_a_credential);
            }
            #[test]
            fn purges_run_in_chunks_up_to_the_limit() {
                run(super::purges_run_in_chunks_up_to_the_limit);
            }
            #[test]
            fn a_closed_pool_is_unavailable() {
                run(super::a_closed_pool_is_unavailable);
            }
        }
    };
}

#[cfg(feature = "sqlite")]
store_tests!(sqlite_memory, common::sqlite_memory);
#[cfg(feature = "sqlite")]
store_tests!(sqlite_file, common::sqlite_file);
#[cfg(feature = "postgres")]
store_tests!(postgres, common::postgres);
#[cfg(feature = "mysql")]
store_tests!(mysql, common::mysql);

// ---------------------------------------------------------------------------------------
// Connection settings
// ---------------------------------------------------------------------------------------

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[cfg(feature = "sqlite")]
async fn pragma(backend: &SeaOrmBackend, name: &str) -> String {
    use portcullis_sea_orm::sea_orm::{ConnectionTrait, Statement};
    let db = backend.connection();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .unwrap()
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_files_use_wal_with_foreign_keys_and_a_busy_timeout() {
    block_on(async {
        let backend = common::sqlite_file().await.unwrap();
        assert_eq!(pragma(&backend, "journal_mode").await, "wal");
        assert_eq!(pragma(&backend, "foreign_keys").await, "1");
        assert_eq!(pragma(&backend, "synchronous").await, "1"); // NORMAL
        assert_eq!(pragma(&backend, "busy_timeout").await, "5000");
    });
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_memory_is_one_database_for_the_whole_pool() {
    block_on(async {
        let backend = common::sqlite_memory().await.unwrap();
        assert_eq!(pragma(&backend, "foreign_keys").await, "1");
        let now = TestClock::new().now();
        // Many concurrent tasks, one database: every write is visible to every reader.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let backend = backend.clone();
            tasks.push(tokio::spawn(async move {
                let u = user(&format!("m{i}"), now);
                backend.create_user(&u).await.unwrap();
                u.id
            }));
        }
        for task in tasks {
            let id = task.await.unwrap();
            assert!(backend.find_user_by_id(id).await.unwrap().is_some());
        }
    });
}

#[test]
fn bad_urls_are_backend_errors_that_do_not_quote_the_password() {
    block_on(async {
        for url in [
            "nosuch://admin:hunter2@db.example.com/auth",
            "not a url hunter2",
        ] {
            match SeaOrmBackend::connect(url).await {
                Err(err @ StoreError::Backend(_)) => {
                    let mut chain = format!("{err} {err:?}");
                    let mut source = std::error::Error::source(&err);
                    while let Some(cause) = source {
                        chain.push_str(&format!(" {cause} {cause:?}"));
                        source = cause.source();
                    }
                    assert!(!chain.contains("hunter2"), "{chain}");
                }
                other => panic!("expected a backend error for {url}, got {other:?}"),
            }
        }
    });
}

#[test]
fn an_unreachable_database_is_unavailable() {
    block_on(async {
        #[cfg(feature = "sqlite")]
        {
            let dir = std::env::temp_dir().join(format!("no-such-dir-{}", uuid::Uuid::new_v4()));
            let url = format!("sqlite://{}/x.db", dir.display());
            match SeaOrmBackend::connect(&url).await {
                Err(StoreError::Unavailable(_)) => {}
                other => panic!("expected Unavailable, got {other:?}"),
            }
        }
        // Servers that refuse connections: both wait out the 5 s acquire timeout, in parallel.
        #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused))]
        let refused = async |url: &'static str| match SeaOrmBackend::connect(url).await {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("expected Unavailable for {url}, got {other:?}"),
        };
        tokio::join!(
            async {
                #[cfg(feature = "postgres")]
                refused("postgres://postgres@127.0.0.1:1/test").await;
            },
            async {
                #[cfg(feature = "mysql")]
                refused("mysql://root@127.0.0.1:1/test").await;
            },
        );
    });
}
