//! The backend conformance suite: one async function per storage contract.
//!
//! Every backend runs the same suite. The usual way is the
//! [`backend_conformance_tests!`](crate::backend_conformance_tests) macro, which generates one
//! `#[test]` per contract so failures name the broken contract:
//!
//! ```
//! # use portcullis_testkit::MemoryBackend as MyBackend;
//! portcullis_testkit::backend_conformance_tests!(my_backend, || async {
//!     Some(MyBackend::new()) // a fresh, empty backend per test
//! });
//! # fn main() {}
//! ```
//!
//! The factory is called once per test and must return a backend with empty tables (or
//! `None` to skip, after printing why). For a backend that is expensive to create,
//! [`run_all`] runs every contract in sequence instead.
//!
//! Each contract panics (it is test code) with a message naming what the backend did wrong.

// Test assertions: failing loudly with a message is the point of this module.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use portcullis_core::{
    Account, AccountId, AuthEvent, AuthEventKind, Backend, ClientInfo, Clock, ConflictKind,
    PasswordHash, SecretString, Session, SessionId, StoreError, TestClock, Token, TokenHash, User,
    UserId, Verification, VerificationId, to_time_delta,
};

/// Runs every contract against backends made by `factory` (one fresh backend per contract).
///
/// # Panics
/// When a contract is broken, naming it.
pub async fn run_all<B, F, Fut>(factory: F)
where
    B: Backend,
    F: Fn() -> Fut,
    Fut: Future<Output = B>,
{
    crate::__conformance_cases!(run(factory));
}

fn now() -> DateTime<Utc> {
    TestClock::new().now()
}

fn hours(n: u64) -> chrono::TimeDelta {
    to_time_delta(Duration::from_secs(n * 3600))
}

/// A user with a unique email and username, every optional field set.
fn new_user(now: DateTime<Utc>) -> User {
    let tag = UserId::new().to_string()[..8].to_owned();
    let mut user = User::new(
        format!("User {tag}"),
        format!("user-{tag}@example.com"),
        now,
    );
    user.username = Some(format!("user_{tag}"));
    user.image = Some(format!("https://img.example.com/{tag}.png"));
    user
}

fn credential_for(user: &User, now: DateTime<Utc>) -> Account {
    Account::credential(
        user.id,
        PasswordHash::new(format!("$argon2id$hash-of-{}", user.id)),
        now,
    )
}

async fn registered<B: Backend>(backend: &B, now: DateTime<Utc>) -> User {
    let user = new_user(now);
    backend
        .create_user_with_credential(&user, &credential_for(&user, now))
        .await
        .expect("create_user_with_credential failed for a fresh user");
    user
}

fn new_session(user: &User, created_at: DateTime<Utc>) -> (Token, Session) {
    let token = Token::generate().expect("OS RNG");
    let session = Session {
        id: SessionId::new(),
        token_hash: token.hash(),
        user_id: user.id,
        expires_at: created_at + hours(24),
        absolute_expires_at: created_at + hours(24 * 30),
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("conformance/1.0".to_owned()),
        created_at,
        last_seen_at: created_at,
    };
    (token, session)
}

fn new_verification(purpose: &str, subject: &str, now: DateTime<Utc>) -> (Token, Verification) {
    let token = Token::generate().expect("OS RNG");
    let verification = Verification {
        id: VerificationId::new(),
        identifier: Verification::identifier(purpose, subject),
        value_hash: token.hash(),
        expires_at: now + hours(1),
        created_at: now,
    };
    (token, verification)
}

fn assert_same_session(actual: &Session, expected: &Session, context: &str) {
    assert_eq!(actual.id, expected.id, "{context}: id");
    assert!(
        actual.token_hash.ct_eq(&expected.token_hash),
        "{context}: token_hash"
    );
    assert_eq!(actual.user_id, expected.user_id, "{context}: user_id");
    assert_eq!(
        actual.expires_at, expected.expires_at,
        "{context}: expires_at"
    );
    assert_eq!(
        actual.absolute_expires_at, expected.absolute_expires_at,
        "{context}: absolute_expires_at"
    );
    assert_eq!(
        actual.ip_address, expected.ip_address,
        "{context}: ip_address"
    );
    assert_eq!(
        actual.user_agent, expected.user_agent,
        "{context}: user_agent"
    );
    assert_eq!(
        actual.created_at, expected.created_at,
        "{context}: created_at"
    );
    assert_eq!(
        actual.last_seen_at, expected.last_seen_at,
        "{context}: last_seen_at"
    );
}

fn is_conflict(result: &Result<(), StoreError>, kind: ConflictKind) -> bool {
    matches!(result, Err(StoreError::Conflict(k)) if *k == kind)
}

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

/// A user and its credential round-trip through every lookup, every field intact
/// (timestamps to the microsecond).
pub async fn user_create_and_find<B: Backend>(backend: Arc<B>) {
    let now = now();
    let mut user = new_user(now);
    user.email_verified = true;
    user.role = "editor".to_owned();
    let account = credential_for(&user, now);
    backend
        .create_user_with_credential(&user, &account)
        .await
        .expect("create_user_with_credential");

    let by_id = backend.find_user_by_id(user.id).await.expect("find by id");
    assert_eq!(
        by_id.as_ref(),
        Some(&user),
        "find_user_by_id returned other data"
    );
    let by_email = backend
        .find_user_by_email(&user.email)
        .await
        .expect("find by email");
    assert_eq!(by_email.as_ref(), Some(&user), "find_user_by_email");
    let username = user.username.clone().expect("fixture has a username");
    let by_username = backend
        .find_user_by_username(&username)
        .await
        .expect("by username");
    assert_eq!(by_username.as_ref(), Some(&user), "find_user_by_username");

    let credential = backend
        .find_credential_account(user.id)
        .await
        .expect("find_credential_account")
        .expect("credential account was stored");
    assert_eq!(credential.id, account.id);
    assert_eq!(credential.provider_id, "credential");
    assert_eq!(credential.account_id, user.id.to_string());
    assert_eq!(
        credential.password.as_ref().map(PasswordHash::expose),
        account.password.as_ref().map(PasswordHash::expose),
        "password hash did not round-trip"
    );

    assert!(
        backend
            .find_user_by_id(UserId::new())
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        backend
            .find_user_by_email("nobody@example.com")
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        backend
            .find_user_by_username("nobody")
            .await
            .expect("lookup")
            .is_none()
    );
    // A user without username, image, or credential.
    let mut plain = User::new("Plain", format!("plain-{}@example.com", UserId::new()), now);
    plain.username = None;
    backend.create_user(&plain).await.expect("create_user");
    assert_eq!(
        backend.find_user_by_id(plain.id).await.expect("find"),
        Some(plain.clone())
    );
    assert!(
        backend
            .find_credential_account(plain.id)
            .await
            .expect("find")
            .is_none()
    );
}

/// A second registration with a taken email is a `Conflict(Email)` and leaves nothing behind.
pub async fn user_duplicate_email_conflicts<B: Backend>(backend: Arc<B>) {
    let now = now();
    let first = registered(&*backend, now).await;
    let mut second = new_user(now);
    second.email.clone_from(&first.email);
    let result = backend
        .create_user_with_credential(&second, &credential_for(&second, now))
        .await;
    assert!(
        is_conflict(&result, ConflictKind::Email),
        "duplicate email gave {result:?}, expected Conflict(Email)"
    );
    assert!(
        backend
            .find_user_by_id(second.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        backend
            .find_credential_account(second.id)
            .await
            .expect("find")
            .is_none(),
        "the failed registration left its credential account behind (not one transaction)"
    );
    assert_eq!(
        backend
            .find_user_by_email(&first.email)
            .await
            .expect("find")
            .map(|u| u.id),
        Some(first.id),
        "the original owner of the email changed"
    );
    let mut third = new_user(now);
    third.email.clone_from(&first.email);
    let result = backend.create_user(&third).await;
    assert!(
        is_conflict(&result, ConflictKind::Email),
        "create_user: {result:?}"
    );
}

/// A taken username is a `Conflict(Username)`; users without a username never collide.
pub async fn user_duplicate_username_conflicts<B: Backend>(backend: Arc<B>) {
    let now = now();
    let first = registered(&*backend, now).await;
    let mut second = new_user(now);
    second.username.clone_from(&first.username);
    let result = backend
        .create_user_with_credential(&second, &credential_for(&second, now))
        .await;
    assert!(
        is_conflict(&result, ConflictKind::Username),
        "duplicate username gave {result:?}, expected Conflict(Username)"
    );
    for _ in 0..2 {
        let mut anonymous = new_user(now);
        anonymous.username = None;
        backend
            .create_user_with_credential(&anonymous, &credential_for(&anonymous, now))
            .await
            .expect("two users without username must not conflict");
    }
}

/// Updates replace every field; unknown users are `NotFound`; taken emails conflict.
pub async fn user_update<B: Backend>(backend: Arc<B>) {
    let now = now();
    let mut user = registered(&*backend, now).await;
    let other = registered(&*backend, now).await;
    user.name = "Renamed".to_owned();
    user.email_verified = true;
    user.image = None;
    user.role = "admin".to_owned();
    user.disabled = true;
    user.updated_at = now + hours(1);
    backend.update_user(&user).await.expect("update_user");
    assert_eq!(
        backend.find_user_by_id(user.id).await.expect("find"),
        Some(user.clone())
    );

    let mut stolen = user.clone();
    stolen.email.clone_from(&other.email);
    let result = backend.update_user(&stolen).await;
    assert!(
        is_conflict(&result, ConflictKind::Email),
        "update to taken email: {result:?}"
    );
    assert_eq!(
        backend.find_user_by_id(user.id).await.expect("find"),
        Some(user.clone())
    );

    let ghost = new_user(now);
    let result = backend.update_user(&ghost).await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "update unknown: {result:?}"
    );
    assert!(
        backend
            .find_user_by_id(ghost.id)
            .await
            .expect("find")
            .is_none(),
        "update upserted"
    );
}

/// Deleting a user removes their accounts and sessions; other users are untouched.
pub async fn user_delete_cascades<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let bystander = registered(&*backend, now).await;
    let (token, session) = new_session(&user, now);
    backend
        .create_session(&session)
        .await
        .expect("create_session");
    let (_, other_session) = new_session(&bystander, now);
    backend
        .create_session(&other_session)
        .await
        .expect("create_session");
    backend
        .append_event(&AuthEvent::new(
            AuthEventKind::Register,
            Some(user.id),
            &ClientInfo::default(),
            now,
        ))
        .await
        .expect("append_event");

    assert!(
        backend.delete_user(user.id).await.expect("delete_user"),
        "delete reported false"
    );
    assert!(
        backend
            .find_user_by_id(user.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        backend
            .find_credential_account(user.id)
            .await
            .expect("find")
            .is_none(),
        "account not cascaded"
    );
    assert!(
        backend
            .list_accounts(user.id)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        backend
            .find_session_by_token_hash(&token.hash())
            .await
            .expect("find")
            .is_none(),
        "session survived its user"
    );
    assert!(
        backend
            .find_session(session.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        !backend.delete_user(user.id).await.expect("delete again"),
        "second delete reported true"
    );

    assert!(
        backend
            .find_user_by_id(bystander.id)
            .await
            .expect("find")
            .is_some()
    );
    assert!(
        backend
            .find_session(other_session.id)
            .await
            .expect("find")
            .is_some()
    );
}

/// 100 concurrent registrations of one email: exactly one succeeds, 99 are `Conflict(Email)`.
pub async fn concurrent_registrations_of_one_email<B: Backend>(backend: Arc<B>) {
    let now = now();
    let email = format!("race-{}@example.com", UserId::new());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let backend = Arc::clone(&backend);
        let mut user = new_user(now);
        user.email.clone_from(&email);
        tasks.push(tokio::spawn(async move {
            let account = credential_for(&user, now);
            (
                user.id,
                backend.create_user_with_credential(&user, &account).await,
            )
        }));
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let (id, result) = task.await.expect("task panicked");
        match result {
            Ok(()) => winners.push(id),
            Err(StoreError::Conflict(ConflictKind::Email)) => conflicts += 1,
            Err(other) => {
                panic!("a racing registration failed with {other:?} instead of Conflict(Email)")
            }
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "expected exactly one winner, got {}",
        winners.len()
    );
    assert_eq!(conflicts, 99);
    let stored = backend
        .find_user_by_email(&email)
        .await
        .expect("find")
        .expect("winner stored");
    assert_eq!(stored.id, winners[0]);
    assert!(
        backend
            .find_credential_account(winners[0])
            .await
            .expect("find")
            .is_some()
    );
}

// ---------------------------------------------------------------------------------------
// Accounts and the failed-login counter
// ---------------------------------------------------------------------------------------

/// OAuth-style accounts: create-or-conflict, lookups, listing oldest first, secrets intact.
pub async fn account_create_find_list<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let oauth = Account {
        id: AccountId::new(),
        user_id: user.id,
        provider_id: "github".to_owned(),
        account_id: format!("gh-{}", user.id),
        password: None,
        access_token: Some(SecretString::new("gho_access")),
        refresh_token: Some(SecretString::new("ghr_refresh")),
        id_token: None,
        access_token_expires_at: Some(now + hours(1)),
        refresh_token_expires_at: None,
        scope: Some("read:user user:email".to_owned()),
        created_at: now + hours(1),
        updated_at: now + hours(1),
    };
    backend
        .create_account(&oauth)
        .await
        .expect("create_account");

    let found = backend
        .find_account("github", &oauth.account_id)
        .await
        .expect("find_account")
        .expect("account stored");
    assert_eq!(found.id, oauth.id);
    assert_eq!(found.user_id, user.id);
    assert_eq!(
        found.access_token.as_ref().map(SecretString::expose),
        Some("gho_access")
    );
    assert_eq!(
        found.refresh_token.as_ref().map(SecretString::expose),
        Some("ghr_refresh")
    );
    assert!(found.id_token.is_none() && found.password.is_none());
    assert_eq!(found.access_token_expires_at, oauth.access_token_expires_at);
    assert_eq!(found.scope, oauth.scope);
    assert!(
        backend
            .find_account("github", "nobody")
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        backend
            .find_account("gitlab", &oauth.account_id)
            .await
            .expect("find")
            .is_none()
    );

    let mut duplicate = oauth.clone();
    duplicate.id = AccountId::new();
    let result = backend.create_account(&duplicate).await;
    assert!(
        is_conflict(&result, ConflictKind::Account),
        "duplicate account: {result:?}"
    );

    let accounts = backend.list_accounts(user.id).await.expect("list_accounts");
    let providers: Vec<&str> = accounts.iter().map(|a| a.provider_id.as_str()).collect();
    assert_eq!(
        providers,
        ["credential", "github"],
        "accounts not listed oldest first"
    );
}

/// Accounts and sessions for a user that does not exist are `NotFound`, never stored.
pub async fn records_for_an_unknown_user_are_not_found<B: Backend>(backend: Arc<B>) {
    let now = now();
    let ghost = new_user(now);
    let result = backend.create_account(&credential_for(&ghost, now)).await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "account for an unknown user: {result:?}"
    );
    let (token, session) = new_session(&ghost, now);
    let result = backend.create_session(&session).await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "session for an unknown user: {result:?}"
    );
    assert!(
        backend
            .find_session_by_token_hash(&token.hash())
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        backend
            .find_account("credential", &ghost.id.to_string())
            .await
            .expect("find")
            .is_none()
    );
    // An existing id is a conflict even with a new email.
    let user = registered(&*backend, now).await;
    let mut same_id = new_user(now);
    same_id.id = user.id;
    let result = backend.create_user(&same_id).await;
    assert!(
        is_conflict(&result, ConflictKind::Record),
        "duplicate user id: {result:?}"
    );
}

/// Password hashes are replaced on the credential account only.
pub async fn account_update_password<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let later = now + hours(2);
    backend
        .update_password(user.id, &PasswordHash::new("$argon2id$new"), later)
        .await
        .expect("update_password");
    let account = backend
        .find_credential_account(user.id)
        .await
        .expect("find")
        .expect("credential");
    assert_eq!(
        account.password.as_ref().map(PasswordHash::expose),
        Some("$argon2id$new")
    );
    assert_eq!(account.updated_at, later);

    let mut oauth_only = new_user(now);
    oauth_only.username = None;
    backend.create_user(&oauth_only).await.expect("create_user");
    let result = backend
        .update_password(oauth_only.id, &PasswordHash::new("x"), now)
        .await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "no credential: {result:?}"
    );
}

/// The failure counter counts within a window, restarts after it, and resets.
pub async fn failed_login_counter<B: Backend>(backend: Arc<B>) {
    let start = now();
    let window = Duration::from_secs(15 * 60);
    let user = registered(&*backend, start).await;
    assert!(
        backend
            .failed_logins(user.id)
            .await
            .expect("read")
            .is_none()
    );

    for expected in 1..=3 {
        let at = start + to_time_delta(Duration::from_secs(60 * u64::from(expected)));
        let failed = backend
            .record_failed_login(user.id, at, window)
            .await
            .expect("record");
        assert_eq!(failed.count, expected);
        assert_eq!(
            failed.window_started_at,
            start + to_time_delta(Duration::from_secs(60))
        );
    }
    let current = backend
        .failed_logins(user.id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(current.count, 3);

    let after_window = start + to_time_delta(Duration::from_secs(60 + 15 * 60));
    let restarted = backend
        .record_failed_login(user.id, after_window, window)
        .await
        .expect("record");
    assert_eq!(
        restarted.count, 1,
        "a failure after the window must start a new one"
    );
    assert_eq!(restarted.window_started_at, after_window);

    backend.reset_failed_logins(user.id).await.expect("reset");
    assert!(
        backend
            .failed_logins(user.id)
            .await
            .expect("read")
            .is_none(),
        "reset kept the count"
    );
    let again = backend
        .record_failed_login(user.id, after_window, window)
        .await
        .expect("record");
    assert_eq!(again.count, 1);

    let other = registered(&*backend, start).await;
    assert!(
        backend
            .failed_logins(other.id)
            .await
            .expect("read")
            .is_none(),
        "counter leaked to another user"
    );
    let result = backend
        .record_failed_login(UserId::new(), start, window)
        .await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "unknown user: {result:?}"
    );
}

/// 50 concurrent failures count 50: each of the counts 1..=50 is returned exactly once.
pub async fn failed_login_counter_is_atomic<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let backend = Arc::clone(&backend);
        tasks.push(tokio::spawn(async move {
            backend
                .record_failed_login(user.id, now, Duration::from_secs(900))
                .await
        }));
    }
    let mut counts = BTreeSet::new();
    for task in tasks {
        let failed = task
            .await
            .expect("task panicked")
            .expect("record_failed_login failed");
        assert!(
            counts.insert(failed.count),
            "count {} returned twice",
            failed.count
        );
    }
    assert_eq!(counts, (1..=50).collect::<BTreeSet<u32>>());
    let stored = backend
        .failed_logins(user.id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(stored.count, 50);
}

// ---------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------

/// A session is found by its token hash together with its user, in its stored form.
pub async fn session_create_and_find<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let (token, session) = new_session(&user, now);
    backend
        .create_session(&session)
        .await
        .expect("create_session");

    let (found, owner) = backend
        .find_session_by_token_hash(&token.hash())
        .await
        .expect("find_session_by_token_hash")
        .expect("session stored");
    assert_same_session(&found, &session, "find_session_by_token_hash");
    assert_eq!(owner, user, "the joined user differs from the stored one");
    let by_id = backend
        .find_session(session.id)
        .await
        .expect("find")
        .expect("by id");
    assert_same_session(&by_id, &session, "find_session");

    // Only SHA-256(token) opens the session: the hash of the stored hash does not, nor
    // does the hash of any other token.
    let hash_of_hash = TokenHash::of(session.token_hash.to_hex().as_bytes());
    assert!(
        backend
            .find_session_by_token_hash(&hash_of_hash)
            .await
            .expect("find")
            .is_none()
    );
    let stranger = Token::generate().expect("rng");
    assert!(
        backend
            .find_session_by_token_hash(&stranger.hash())
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        backend
            .find_session(SessionId::new())
            .await
            .expect("find")
            .is_none()
    );
}

/// Sessions are create-or-fail: a duplicate id or token hash conflicts and changes nothing.
pub async fn session_create_or_fail<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let (token, session) = new_session(&user, now);
    backend
        .create_session(&session)
        .await
        .expect("create_session");

    let mut same_id = new_session(&user, now + hours(1)).1;
    same_id.id = session.id;
    let result = backend.create_session(&same_id).await;
    assert!(
        is_conflict(&result, ConflictKind::Record),
        "duplicate id: {result:?}"
    );

    let mut same_hash = new_session(&user, now + hours(1)).1;
    same_hash.token_hash = session.token_hash;
    let result = backend.create_session(&same_hash).await;
    assert!(
        is_conflict(&result, ConflictKind::Record),
        "duplicate token hash: {result:?}"
    );

    let (found, _) = backend
        .find_session_by_token_hash(&token.hash())
        .await
        .expect("find")
        .expect("original kept");
    assert_same_session(&found, &session, "after rejected duplicates");
    assert_eq!(backend.list_sessions(user.id).await.expect("list").len(), 1);
}

/// A user's sessions are listed newest first, and only theirs.
pub async fn session_list_newest_first<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let other = registered(&*backend, now).await;
    let mut ids = Vec::new();
    for offset in [2, 0, 1] {
        let (_, session) = new_session(&user, now + hours(offset));
        backend.create_session(&session).await.expect("create");
        ids.push((offset, session.id));
    }
    backend
        .create_session(&new_session(&other, now).1)
        .await
        .expect("create");
    ids.sort_by_key(|(offset, _)| std::cmp::Reverse(*offset));
    let listed: Vec<SessionId> = backend
        .list_sessions(user.id)
        .await
        .expect("list_sessions")
        .iter()
        .map(|s| s.id)
        .collect();
    let expected: Vec<SessionId> = ids.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        listed, expected,
        "sessions not listed newest first (or other users' included)"
    );
    assert!(
        backend
            .list_sessions(UserId::new())
            .await
            .expect("list")
            .is_empty()
    );
}

/// Touch moves `last_seen_at` / `expires_at`, and never resurrects a deleted session.
pub async fn session_touch<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let (token, session) = new_session(&user, now);
    backend.create_session(&session).await.expect("create");
    let seen = now + hours(3);
    let expires = now + hours(27);
    assert!(
        backend
            .touch_session(session.id, seen, expires)
            .await
            .expect("touch")
    );
    let (found, _) = backend
        .find_session_by_token_hash(&token.hash())
        .await
        .expect("find")
        .expect("still there");
    assert_eq!(found.last_seen_at, seen);
    assert_eq!(found.expires_at, expires);
    assert_eq!(
        found.absolute_expires_at, session.absolute_expires_at,
        "touch moved the absolute cap"
    );
    assert_eq!(found.created_at, session.created_at);

    assert!(backend.delete_session(session.id).await.expect("delete"));
    assert!(
        !backend
            .touch_session(session.id, seen, expires)
            .await
            .expect("touch"),
        "touching a deleted session reported success"
    );
    assert!(
        backend
            .find_session_by_token_hash(&token.hash())
            .await
            .expect("find")
            .is_none(),
        "touch re-created a revoked session"
    );
}

/// Revocation: one session, all but one, all; other users are never affected.
pub async fn session_revocation<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let other = registered(&*backend, now).await;
    let mut sessions = Vec::new();
    for i in 0..4 {
        let (_, session) = new_session(&user, now + hours(i));
        backend.create_session(&session).await.expect("create");
        sessions.push(session.id);
    }
    let (_, bystander) = new_session(&other, now);
    backend.create_session(&bystander).await.expect("create");

    assert!(backend.delete_session(sessions[0]).await.expect("delete"));
    assert!(
        !backend.delete_session(sessions[0]).await.expect("delete"),
        "deleted twice"
    );

    let removed = backend
        .delete_other_sessions(user.id, sessions[1])
        .await
        .expect("delete_other_sessions");
    assert_eq!(removed, 2);
    let left: Vec<SessionId> = backend
        .list_sessions(user.id)
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, [sessions[1]]);

    assert_eq!(
        backend
            .delete_user_sessions(user.id)
            .await
            .expect("delete_user_sessions"),
        1
    );
    assert!(
        backend
            .list_sessions(user.id)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        backend
            .find_session(bystander.id)
            .await
            .expect("find")
            .is_some(),
        "another user's session was revoked"
    );
}

/// Expired sessions are purged in batches of at most `limit`; live ones stay.
pub async fn session_purge_expired_in_batches<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let mut live = Vec::new();
    for i in 0..7 {
        let (_, mut session) = new_session(&user, now - hours(48));
        if i < 5 {
            session.expires_at = now - hours(1);
        } else {
            session.expires_at = now + hours(1);
            live.push(session.id);
        }
        backend.create_session(&session).await.expect("create");
    }
    // One that expires exactly now counts as expired.
    let (_, mut edge) = new_session(&user, now - hours(48));
    edge.expires_at = now;
    backend.create_session(&edge).await.expect("create");

    let mut batches = Vec::new();
    loop {
        let removed = backend
            .delete_expired_sessions(now, 2)
            .await
            .expect("purge");
        assert!(
            removed <= 2,
            "a batch removed {removed} rows, more than its limit"
        );
        batches.push(removed);
        if removed < 2 {
            break;
        }
    }
    assert_eq!(batches.iter().sum::<u64>(), 6, "batches: {batches:?}");
    let mut left: Vec<SessionId> = backend
        .list_sessions(user.id)
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    left.sort();
    live.sort();
    assert_eq!(
        left, live,
        "the purge removed live sessions or kept expired ones"
    );
}

// ---------------------------------------------------------------------------------------
// Verifications
// ---------------------------------------------------------------------------------------

/// A verification is taken once; the second take finds nothing.
pub async fn verification_take_is_single_use<B: Backend>(backend: Arc<B>) {
    let now = now();
    let subject = UserId::new().to_string();
    let (token, verification) = new_verification("email-verify", &subject, now);
    backend
        .create_verification(&verification)
        .await
        .expect("create_verification");

    let taken = backend
        .take_verification(&token.hash(), "email-verify", now)
        .await
        .expect("take")
        .expect("first take finds it");
    assert_eq!(taken.id, verification.id);
    assert_eq!(taken.identifier, verification.identifier);
    assert_eq!(taken.expires_at, verification.expires_at);
    assert_eq!(taken.created_at, verification.created_at);
    assert!(taken.value_hash.ct_eq(&verification.value_hash));
    assert!(
        backend
            .take_verification(&token.hash(), "email-verify", now)
            .await
            .expect("take")
            .is_none(),
        "a verification was usable twice"
    );
    let unknown = Token::generate().expect("rng");
    assert!(
        backend
            .take_verification(&unknown.hash(), "email-verify", now)
            .await
            .expect("take")
            .is_none()
    );
}

/// A token made for one purpose does not work for another, and is not consumed by the try.
pub async fn verification_is_purpose_bound<B: Backend>(backend: Arc<B>) {
    let now = now();
    let (token, verification) = new_verification("email-verify", &UserId::new().to_string(), now);
    backend
        .create_verification(&verification)
        .await
        .expect("create");
    for wrong in ["password-reset", "email", "email-verify:", ""] {
        assert!(
            backend
                .take_verification(&token.hash(), wrong, now)
                .await
                .expect("take")
                .is_none(),
            "an email-verify token was accepted for purpose {wrong:?}"
        );
    }
    assert!(
        backend
            .take_verification(&token.hash(), "email-verify", now)
            .await
            .expect("take")
            .is_some(),
        "a wrong-purpose attempt consumed the token"
    );
}

/// An expired verification is refused (and removed).
pub async fn verification_expired_is_refused<B: Backend>(backend: Arc<B>) {
    let now = now();
    let (token, verification) = new_verification("password-reset", &UserId::new().to_string(), now);
    backend
        .create_verification(&verification)
        .await
        .expect("create");
    let at_expiry = verification.expires_at;
    assert!(
        backend
            .take_verification(&token.hash(), "password-reset", at_expiry)
            .await
            .expect("take")
            .is_none(),
        "an expired token was accepted"
    );
    assert!(
        backend
            .take_verification(&token.hash(), "password-reset", now)
            .await
            .expect("take")
            .is_none(),
        "the expired token was not removed when refused"
    );
}

/// 20 concurrent redemptions of one token: exactly one wins.
pub async fn verification_take_race<B: Backend>(backend: Arc<B>) {
    let now = now();
    let (token, verification) = new_verification("password-reset", &UserId::new().to_string(), now);
    backend
        .create_verification(&verification)
        .await
        .expect("create");
    let hash = token.hash();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let backend = Arc::clone(&backend);
        tasks.push(tokio::spawn(async move {
            backend
                .take_verification(&hash, "password-reset", now)
                .await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task
            .await
            .expect("task panicked")
            .expect("take failed")
            .is_some()
        {
            winners += 1;
        }
    }
    assert_eq!(
        winners, 1,
        "{winners} of 20 concurrent redemptions succeeded"
    );
}

/// Verifications are create-or-fail, deleted by identifier, and purged in batches.
pub async fn verification_delete_and_purge<B: Backend>(backend: Arc<B>) {
    let now = now();
    let subject = UserId::new().to_string();
    let (first, v1) = new_verification("password-reset", &subject, now);
    let (second, v2) = new_verification("password-reset", &subject, now);
    let (other, v3) = new_verification("email-verify", &subject, now);
    for v in [&v1, &v2, &v3] {
        backend.create_verification(v).await.expect("create");
    }
    let mut duplicate = new_verification("password-reset", &subject, now).1;
    duplicate.value_hash = v1.value_hash;
    let result = backend.create_verification(&duplicate).await;
    assert!(
        is_conflict(&result, ConflictKind::Record),
        "duplicate value hash: {result:?}"
    );

    let removed = backend
        .delete_verifications(&v1.identifier)
        .await
        .expect("delete");
    assert_eq!(removed, 2);
    for token in [&first, &second] {
        assert!(
            backend
                .take_verification(&token.hash(), "password-reset", now)
                .await
                .expect("take")
                .is_none()
        );
    }

    let (_, mut stale_a) = new_verification("password-reset", "a", now - hours(5));
    stale_a.expires_at = now - hours(4);
    let (_, mut stale_b) = new_verification("password-reset", "b", now - hours(5));
    stale_b.expires_at = now - hours(4);
    backend.create_verification(&stale_a).await.expect("create");
    backend.create_verification(&stale_b).await.expect("create");
    assert_eq!(
        backend
            .delete_expired_verifications(now, 1)
            .await
            .expect("purge"),
        1
    );
    assert_eq!(
        backend
            .delete_expired_verifications(now, 10)
            .await
            .expect("purge"),
        1
    );
    assert_eq!(
        backend
            .delete_expired_verifications(now, 10)
            .await
            .expect("purge"),
        0
    );
    assert!(
        backend
            .take_verification(&other.hash(), "email-verify", now)
            .await
            .expect("take")
            .is_some(),
        "a live verification was purged or deleted with another identifier"
    );
}

// ---------------------------------------------------------------------------------------
// Audit events
// ---------------------------------------------------------------------------------------

/// Events are listed per user, newest first, up to the limit, every field intact.
pub async fn events_append_and_list<B: Backend>(backend: Arc<B>) {
    let now = now();
    let user = registered(&*backend, now).await;
    let client = ClientInfo {
        ip_address: Some("198.51.100.4".to_owned()),
        user_agent: Some("Mozilla/5.0".to_owned()),
    };
    let kinds = [
        AuthEventKind::Register,
        AuthEventKind::LoginFailed,
        AuthEventKind::LoginSucceeded,
    ];
    let mut appended = Vec::new();
    for (i, kind) in kinds.into_iter().enumerate() {
        let at = now + to_time_delta(Duration::from_secs(u64::try_from(i).unwrap_or(0) * 10));
        let event = AuthEvent::new(kind, Some(user.id), &client, at);
        backend.append_event(&event).await.expect("append_event");
        appended.push(event);
    }
    backend
        .append_event(&AuthEvent::new(
            AuthEventKind::LoginFailed,
            None,
            &client,
            now,
        ))
        .await
        .expect("an event without a user is stored");

    let listed = backend.list_events(user.id, 10).await.expect("list_events");
    appended.reverse();
    assert_eq!(
        listed, appended,
        "events not listed newest first with every field"
    );
    let limited = backend.list_events(user.id, 2).await.expect("list_events");
    assert_eq!(limited, appended[..2]);
    assert!(
        backend
            .list_events(UserId::new(), 10)
            .await
            .expect("list")
            .is_empty()
    );
}

/// The single list of contracts, expanded as `#[test]`s (`tests`) or awaited in sequence (`run`).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($mode:ident $args:tt) => {
        $crate::__conformance_cases!(@ $mode $args;
            user_create_and_find,
            user_duplicate_email_conflicts,
            user_duplicate_username_conflicts,
            user_update,
            user_delete_cascades,
            concurrent_registrations_of_one_email,
            account_create_find_list,
            records_for_an_unknown_user_are_not_found,
            account_update_password,
            failed_login_counter,
            failed_login_counter_is_atomic,
            session_create_and_find,
            session_create_or_fail,
            session_list_newest_first,
            session_touch,
            session_revocation,
            session_purge_expired_in_batches,
            verification_take_is_single_use,
            verification_is_purpose_bound,
            verification_expired_is_refused,
            verification_take_race,
            verification_delete_and_purge,
            events_append_and_list,
        );
    };
    (@tests ($factory:expr); $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::__private::block_on(async {
                    if let Some(backend) = ($factory)().await {
                        $crate::conformance::$case(::std::sync::Arc::new(backend)).await;
                    }
                });
            }
        )*
    };
    (@run ($factory:expr); $($case:ident),* $(,)?) => {
        $(
            $crate::conformance::$case(::std::sync::Arc::new(($factory)().await)).await;
        )*
    };
}
