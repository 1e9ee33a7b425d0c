//! What was acknowledged survives a restart; what a crash tore is dropped; the file is
//! private and locked while open.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use custom_backend::FileBackend;
use portcullis_core::{
    Account, AccountStore, AuthEvent, AuthEventKind, ClientInfo, Clock, EventStore, PasswordHash,
    Session, SessionId, SessionStore, StoreError, TestClock, Token, User, UserStore, Verification,
    VerificationId, VerificationStore, to_time_delta,
};

fn temp_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("custom-backend-restart");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn session_for(
    user: &User,
    token: &Token,
    now: portcullis_core::chrono::DateTime<portcullis_core::chrono::Utc>,
) -> Session {
    Session {
        id: SessionId::new(),
        token_hash: token.hash(),
        user_id: user.id,
        expires_at: now + to_time_delta(Duration::from_secs(3600)),
        absolute_expires_at: now + to_time_delta(Duration::from_secs(86_400)),
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("restart-test".to_owned()),
        created_at: now,
        last_seen_at: now,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_sessions_and_counters_survive_a_restart() {
    let path = temp_path("survive");
    let clock = TestClock::new();
    let now = clock.now();
    let token = Token::generate().unwrap();
    let (user, session, gone) = {
        let backend = FileBackend::open(&path).await.unwrap();
        let user = User::new("Ada", "ada@example.com", now);
        let account = Account::credential(user.id, PasswordHash::new("$argon2id$stored"), now);
        backend
            .create_user_with_credential(&user, &account)
            .await
            .unwrap();
        let session = session_for(&user, &token, now);
        backend.create_session(&session).await.unwrap();
        let gone = session_for(&user, &Token::generate().unwrap(), now);
        backend.create_session(&gone).await.unwrap();
        backend.delete_session(gone.id).await.unwrap();
        backend
            .record_failed_login(user.id, now, Duration::from_secs(900))
            .await
            .unwrap();
        let event = AuthEvent::new(
            AuthEventKind::LoginFailed,
            Some(user.id),
            &ClientInfo::default(),
            now,
        );
        backend.append_event(&event).await.unwrap();
        (user, session, gone)
    }; // dropped: the lock is released, as when a process exits

    let backend = FileBackend::open(&path).await.unwrap();
    assert_eq!(
        backend.find_user_by_email("ada@example.com").await.unwrap(),
        Some(user.clone())
    );
    let (found, owner) = backend
        .find_session_by_token_hash(&token.hash())
        .await
        .unwrap()
        .expect("the session survived the restart");
    assert_eq!(found.id, session.id);
    assert_eq!(found.expires_at, session.expires_at);
    assert_eq!(owner.id, user.id);
    assert!(
        backend.find_session(gone.id).await.unwrap().is_none(),
        "a deleted session came back"
    );
    let credential = backend
        .find_credential_account(user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credential.password.unwrap().expose(), "$argon2id$stored");
    assert_eq!(
        backend.failed_logins(user.id).await.unwrap().unwrap().count,
        1
    );
    assert_eq!(backend.list_events(user.id, 10).await.unwrap().len(), 1);

    // Writes after a restart go on where the old process stopped.
    let next = backend
        .record_failed_login(user.id, now, Duration::from_secs(900))
        .await
        .unwrap();
    assert_eq!(next.count, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_torn_by_a_crash_is_dropped_and_the_rest_kept() {
    let path = temp_path("torn");
    let user = User::new("Ada", "ada@example.com", TestClock::new().now());
    {
        let backend = FileBackend::open(&path).await.unwrap();
        backend.create_user(&user).await.unwrap();
    }
    // A crash in the middle of a write: half a line, no newline, never acknowledged.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(br#"[{"op":"put_user","user":{"id":"#)
        .unwrap();
    drop(file);

    let backend = FileBackend::open(&path).await.unwrap();
    assert_eq!(backend.find_user_by_id(user.id).await.unwrap(), Some(user));
    let other = User::new("Grace", "grace@example.com", TestClock::new().now());
    backend.create_user(&other).await.unwrap();
    drop(backend);
    let backend = FileBackend::open(&path).await.unwrap();
    assert!(backend.find_user_by_id(other.id).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_line_in_the_middle_is_an_error_not_data_loss() {
    let path = temp_path("corrupt");
    {
        let backend = FileBackend::open(&path).await.unwrap();
        backend
            .create_user(&User::new("Ada", "ada@example.com", TestClock::new().now()))
            .await
            .unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let corrupted = text.replacen("put_user", "put_usr", 1);
    std::fs::write(&path, corrupted).unwrap();
    let error = FileBackend::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_file_is_locked_private_and_holds_no_tokens() {
    let path = temp_path("private");
    let backend = FileBackend::open(&path).await.unwrap();
    let second = FileBackend::open(&path).await.unwrap_err();
    assert!(matches!(second, StoreError::Unavailable(_)), "{second:?}");

    let now = TestClock::new().now();
    let user = User::new("Ada", "ada@example.com", now);
    backend.create_user(&user).await.unwrap();
    let session_token = Token::generate().unwrap();
    backend
        .create_session(&session_for(&user, &session_token, now))
        .await
        .unwrap();
    let mail_token = Token::generate().unwrap();
    let verification = Verification {
        id: VerificationId::new(),
        identifier: Verification::identifier("email-verify", &user.id.to_string()),
        value_hash: mail_token.hash(),
        expires_at: now + to_time_delta(Duration::from_secs(3600)),
        created_at: now,
    };
    backend.create_verification(&verification).await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(session_token.expose()) && !text.contains(mail_token.expose()));
    assert!(text.contains(&session_token.hash().to_hex()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_keeps_only_live_records() {
    let path = temp_path("compact");
    let backend = FileBackend::open(&path).await.unwrap();
    let now = TestClock::new().now();
    let user = User::new("Ada", "ada@example.com", now);
    backend.create_user(&user).await.unwrap();
    let session = session_for(&user, &Token::generate().unwrap(), now);
    backend.create_session(&session).await.unwrap();
    for minute in 1..=50u64 {
        let at = now + to_time_delta(Duration::from_secs(60 * minute));
        backend
            .touch_session(
                session.id,
                at,
                at + to_time_delta(Duration::from_secs(3600)),
            )
            .await
            .unwrap();
    }
    let before = std::fs::read_to_string(&path).unwrap().lines().count();
    backend.compact().await.unwrap();
    let after = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(after, 3, "header, user, session");
    assert!(before > after);
    let touched = backend.find_session(session.id).await.unwrap().unwrap();
    drop(backend);
    let reopened = FileBackend::open(&path).await.unwrap();
    let found = reopened.find_session(session.id).await.unwrap().unwrap();
    assert_eq!(found.last_seen_at, touched.last_seen_at);
}
