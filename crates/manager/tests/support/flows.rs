//! The manager's behaviour, as generic async functions run against every backend by
//! `manager_tests!`.

// Many steps sign in only to change state; the returned session is not needed.
#![allow(unused_must_use)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use portcullis_core::{
    Account, AuthError, AuthEventKind, Backend, ClientInfo, Clock, EmailKind, Password,
    PasswordCredentials, PasswordHash, Session, SessionId, User, UserId, async_trait,
};
use portcullis_manager::{AuthConfig, Hooks, ProfileUpdate, Registered, Registration};

use super::{PASSWORD, captured_logs, config, email, harness, harness_with};

const DAY: Duration = Duration::from_secs(24 * 3600);
const MINUTE: Duration = Duration::from_secs(60);

fn login(identifier: &str, password: &str) -> PasswordCredentials {
    PasswordCredentials::new(identifier, password)
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, AuthError>, code: &str) -> AuthError {
    match result {
        Err(error) => {
            assert_eq!(error.code(), code, "{error:?}");
            error
        }
        Ok(value) => panic!("expected {code}, got Ok({value:?})"),
    }
}

pub async fn register_signs_in_and_the_token_authenticates<B: Backend>(backend: B) {
    let h = harness(backend);
    let address = email();
    let signed_in = h
        .manager
        .register(
            Registration::new(
                "  Ada Lovelace ",
                format!("  {}", address.to_uppercase()),
                PASSWORD,
            )
            .with_username("Ada_L"),
            &h.client,
        )
        .await
        .unwrap();
    let Registered::SignedIn(signed_in) = signed_in else {
        panic!("not signed in")
    };
    assert_eq!(signed_in.user.email, address, "email not normalised");
    assert_eq!(signed_in.user.name, "Ada Lovelace");
    assert_eq!(signed_in.user.username.as_deref(), Some("ada_l"));
    assert_eq!(signed_in.user.role, "user");
    assert!(!signed_in.user.email_verified);
    assert_eq!(
        signed_in.session.expires_at,
        h.clock.now() + chrono::TimeDelta::days(7)
    );
    assert_eq!(
        signed_in.session.absolute_expires_at,
        h.clock.now() + chrono::TimeDelta::days(30)
    );
    assert_eq!(signed_in.session.ip_address.as_deref(), Some("192.0.2.10"));

    let auth = h
        .manager
        .authenticate_token(&signed_in.token)
        .await
        .unwrap();
    assert_eq!(auth.user.id, signed_in.user.id);
    assert_eq!(auth.session.id, signed_in.session.id);
    // The stored session holds only the hash: it differs from the token and matches its hash.
    let stored = h
        .manager
        .backend()
        .find_session(signed_in.session.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.token_hash.ct_eq(&signed_in.token.hash()));
    assert_ne!(stored.token_hash.to_hex(), signed_in.token.expose());
    // Sending the stored hash as a token fails.
    let hex_as_token = portcullis_core::Token::parse(&stored.token_hash.to_base64url()).unwrap();
    assert_code(
        h.manager.authenticate_token(&hex_as_token).await,
        "session_expired",
    );
}

pub async fn duplicate_email_is_409_even_with_a_weak_password<B: Backend>(backend: B) {
    let h = harness(backend);
    let address = email();
    h.register(&address).await;
    let error = assert_code(
        h.manager
            .register(
                Registration::new("Other", address.to_uppercase(), "short"),
                &h.client,
            )
            .await,
        "email_taken",
    );
    assert_eq!(error.status().as_u16(), 409);
    assert_code(
        h.manager
            .register(Registration::new("Other", &address, PASSWORD), &h.client)
            .await,
        "email_taken",
    );
}

pub async fn registration_input_is_validated<B: Backend>(backend: B) {
    let h = harness(backend);
    let cases: Vec<(Registration, &str)> = vec![
        (
            Registration::new("A", "not-an-email", PASSWORD),
            "invalid_email",
        ),
        (Registration::new("A", email(), "short"), "weak_password"),
        (
            Registration::new("A", email(), "password123"),
            "weak_password",
        ),
        (
            Registration::new("A", email(), "x".repeat(129)),
            "weak_password",
        ),
        (Registration::new("", email(), PASSWORD), "invalid_input"),
        (
            Registration::new("x".repeat(101), email(), PASSWORD),
            "invalid_input",
        ),
        (
            Registration::new("a\u{0}b", email(), PASSWORD),
            "invalid_input",
        ),
        (
            Registration::new("A", email(), PASSWORD).with_username("no spaces"),
            "invalid_input",
        ),
    ];
    for (registration, code) in cases {
        let name = format!("{registration:?}");
        let result = h.manager.register(registration, &h.client).await;
        assert_eq!(result.err().map(|e| e.code()), Some(code), "{name}");
    }
    let weak = h
        .manager
        .register(Registration::new("A", email(), "short"), &h.client)
        .await
        .unwrap_err();
    assert!(
        weak.to_string().contains('8'),
        "the message says what to change: {weak}"
    );

    let first = h
        .manager
        .register(
            Registration::new("A", email(), PASSWORD).with_username("taken_name"),
            &h.client,
        )
        .await
        .unwrap();
    drop(first);
    assert_code(
        h.manager
            .register(
                Registration::new("B", email(), PASSWORD).with_username("Taken_Name"),
                &h.client,
            )
            .await,
        "username_taken",
    );
}

pub async fn paranoid_registration_answers_alike<B: Backend>(backend: B) {
    let h = harness_with(
        backend,
        AuthConfig {
            paranoid_registration: true,
            ..config()
        },
    );
    let taken = email();
    // Seed the existing account directly (paranoid mode never signs in at registration).
    let existing = h
        .manager
        .register(Registration::new("Owner", &taken, PASSWORD), &h.client)
        .await
        .unwrap();
    assert!(matches!(existing, Registered::CheckEmail));
    let fresh = email();
    let again = h
        .manager
        .register(
            Registration::new("Intruder", &taken, "another password 1"),
            &h.client,
        )
        .await
        .unwrap();
    let new = h
        .manager
        .register(Registration::new("New", &fresh, PASSWORD), &h.client)
        .await
        .unwrap();
    assert!(matches!(again, Registered::CheckEmail));
    assert!(matches!(new, Registered::CheckEmail));
    h.manager.wait_for_background_tasks().await;
    assert!(
        h.mailer.last(&taken, EmailKind::AccountExists).is_some(),
        "owner not told"
    );
    assert!(
        h.mailer.last(&fresh, EmailKind::VerifyEmail).is_some(),
        "new user not asked to verify"
    );
    let owner = h
        .manager
        .backend()
        .find_user_by_email(&taken)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.name, "Owner", "the existing account was touched");
    let new_user = h
        .manager
        .backend()
        .find_user_by_email(&fresh)
        .await
        .unwrap()
        .unwrap();
    assert!(
        h.manager
            .backend()
            .list_sessions(new_user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn login_by_email_or_username_always_issues_a_new_session<B: Backend>(backend: B) {
    let h = harness(backend);
    let address = email();
    let registered = match h
        .manager
        .register(
            Registration::new("U", &address, PASSWORD).with_username("login_user_x"),
            &h.client,
        )
        .await
        .unwrap()
    {
        Registered::SignedIn(s) => s,
        Registered::CheckEmail => unreachable!(),
    };
    let by_email = h
        .manager
        .login(&login(&address.to_uppercase(), PASSWORD), &h.client)
        .await
        .unwrap();
    let by_username = h
        .manager
        .login(&login("LOGIN_USER_X", PASSWORD), &h.client)
        .await
        .unwrap();
    let ids = [
        registered.session.id,
        by_email.session.id,
        by_username.session.id,
    ];
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    assert_ne!(by_email.token.expose(), by_username.token.expose());
    for s in [&registered, &by_email, &by_username] {
        h.manager.authenticate_token(&s.token).await.unwrap();
    }
}

pub async fn login_verifies_exactly_one_hash_whatever_the_failure<B: Backend>(backend: B) {
    let h = harness(backend);
    let address = email();
    h.register(&address).await;
    // Warm the dummy hash so that only verifications are counted below.
    h.manager
        .login(&login("nobody@example.com", PASSWORD), &h.client)
        .await
        .ok();
    for (credentials, expected) in [
        (
            login("nobody-else@example.com", PASSWORD),
            "invalid_credentials",
        ),
        (login("no_such_user", PASSWORD), "invalid_credentials"),
        (login("@@@", PASSWORD), "invalid_credentials"),
        (login(&address, "wrong password!"), "invalid_credentials"),
        (login(&address, PASSWORD), "ok"),
    ] {
        let before = h.hasher.verify_count();
        let result = h.manager.login(&credentials, &h.client).await;
        assert_eq!(
            result.as_ref().map_or_else(|e| e.code(), |_| "ok"),
            expected
        );
        assert_eq!(
            h.hasher.verify_count() - before,
            1,
            "{credentials:?}: not exactly one verification"
        );
    }
}

pub async fn login_failures_are_indistinguishable<B: Backend>(backend: B) {
    let h = harness(backend);
    let address = email();
    let disabled = email();
    h.register(&address).await;
    let victim = h.register(&disabled).await;
    h.manager
        .disable_user(victim.user.id, &h.client)
        .await
        .unwrap();
    let mut answers = Vec::new();
    for credentials in [
        login("unknown@example.com", PASSWORD),
        login(&address, "wrong password!"),
        login(&disabled, PASSWORD),
    ] {
        let error = h.manager.login(&credentials, &h.client).await.unwrap_err();
        answers.push((
            error.code(),
            error.status(),
            error.to_string(),
            error.retry_after(),
        ));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
}

pub async fn lockout_engages_at_the_threshold_and_ends<B: Backend>(backend: B) {
    let h = harness(backend);
    let address = email();
    h.register(&address).await;
    for attempt in 1..=5 {
        assert_code(
            h.manager
                .login(&login(&address, "wrong password!"), &h.client)
                .await,
            "invalid_credentials",
        );
        let stored = h
            .manager
            .backend()
            .find_user_by_email(&address)
            .await
            .unwrap()
            .unwrap();
        let count = h
            .manager
            .backend()
            .failed_logins(stored.id)
            .await
            .unwrap()
            .unwrap()
            .count;
        assert_eq!(count, attempt);
    }
    // Locked: even the right password is refused, with a retry-after.
    let locked = assert_code(
        h.manager.login(&login(&address, PASSWORD), &h.client).await,
        "rate_limited",
    );
    assert_eq!(locked.status().as_u16(), 429);
    assert_eq!(locked.retry_after(), Some(15 * MINUTE));
    // An unknown address gets the same treatment after the same number of failures.
    for _ in 1..=5 {
        assert_code(
            h.manager
                .login(&login("ghost@example.com", "pw whatever"), &h.client)
                .await,
            "invalid_credentials",
        );
    }
    let ghost = assert_code(
        h.manager
            .login(&login("ghost@example.com", "pw whatever"), &h.client)
            .await,
        "rate_limited",
    );
    assert_eq!(ghost.retry_after(), Some(15 * MINUTE));

    h.clock.advance(15 * MINUTE);
    h.manager
        .login(&login(&address, PASSWORD), &h.client)
        .await
        .unwrap();
    let user = h
        .manager
        .backend()
        .find_user_by_email(&address)
        .await
        .unwrap()
        .unwrap();
    assert!(
        h.manager
            .backend()
            .failed_logins(user.id)
            .await
            .unwrap()
            .is_none(),
        "success did not clear the counter"
    );
    let events: Vec<AuthEventKind> = h
        .manager
        .list_events(user.id, 20)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(events.contains(&AuthEventKind::LockedOut), "{events:?}");
}

pub async fn lockout_grows_for_repeat_offenders<B: Backend>(backend: B) {
    let h = harness(backend);
    let address = email();
    h.register(&address).await;
    for _ in 0..5 {
        h.manager
            .login(&login(&address, "wrong password!"), &h.client)
            .await
            .ok();
    }
    h.clock.advance(15 * MINUTE);
    // The lock ended; one more failure locks again, for longer.
    assert_code(
        h.manager
            .login(&login(&address, "wrong password!"), &h.client)
            .await,
        "rate_limited",
    );
    let again = assert_code(
        h.manager.login(&login(&address, PASSWORD), &h.client).await,
        "rate_limited",
    );
    assert_eq!(again.retry_after(), Some(15 * MINUTE));
}

pub async fn concurrent_wrong_logins_lock_exactly_at_the_threshold<B: Backend>(backend: B) {
    let h = Arc::new(harness(backend));
    let address = email();
    h.register(&address).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let h = Arc::clone(&h);
        let address = address.clone();
        tasks.push(tokio::spawn(async move {
            h.manager
                .login(&login(&address, "wrong password!"), &h.client)
                .await
                .unwrap_err()
                .code()
        }));
    }
    let mut codes = BTreeMap::new();
    for task in tasks {
        *codes.entry(task.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(codes.get("invalid_credentials"), Some(&5), "{codes:?}");
    assert_eq!(codes.get("rate_limited"), Some(&45), "{codes:?}");
}

pub async fn bcrypt_users_log_in_and_are_upgraded_to_argon2id<B: Backend>(backend: B) {
    let h = harness(backend);
    let now = h.clock.now();
    let user = User::new("Legacy", email(), now);
    let bcrypt = portcullis_password::BcryptHasher::with_cost(4).unwrap();
    let legacy_hash = portcullis_core::PasswordHasher::hash(&bcrypt, &Password::new(PASSWORD))
        .await
        .unwrap();
    assert!(legacy_hash.expose().starts_with("$2"));
    h.manager
        .backend()
        .create_user_with_credential(&user, &Account::credential(user.id, legacy_hash, now))
        .await
        .unwrap();
    h.manager
        .login(&login(&user.email, PASSWORD), &h.client)
        .await
        .unwrap();
    let account = h
        .manager
        .backend()
        .find_credential_account(user.id)
        .await
        .unwrap()
        .unwrap();
    let stored = account.password.unwrap();
    assert!(stored.expose().starts_with("$argon2id$"), "not upgraded");
    h.manager
        .login(&login(&user.email, PASSWORD), &h.client)
        .await
        .unwrap();
}

pub async fn sliding_expiry_writes_only_after_the_touch_interval<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    let first = h.manager.authenticate_token(&s.token).await.unwrap();
    assert!(!first.refreshed, "a fresh session was written again");
    h.clock.advance(DAY / 2);
    let quiet = h.manager.authenticate_token(&s.token).await.unwrap();
    assert!(
        !quiet.refreshed,
        "wrote before a tenth of the idle lifetime passed"
    );
    let stored = h
        .manager
        .backend()
        .find_session(s.session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_seen_at, s.session.last_seen_at);
    h.clock.advance(DAY / 2);
    let touched = h.manager.authenticate_token(&s.token).await.unwrap();
    assert!(touched.refreshed);
    assert_eq!(
        touched.session.expires_at,
        h.clock.now() + chrono::TimeDelta::days(7)
    );
    let stored = h
        .manager
        .backend()
        .find_session(s.session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.expires_at, touched.session.expires_at);
    assert_eq!(stored.last_seen_at, h.clock.now());
}

pub async fn idle_and_absolute_expiry_are_enforced<B: Backend>(backend: B) {
    let h = harness(backend);
    let idle = h.register(&email()).await;
    h.clock.advance(7 * DAY);
    assert_code(
        h.manager.authenticate_token(&idle.token).await,
        "session_expired",
    );

    let active = h.register(&email()).await;
    for _ in 0..4 {
        h.clock.advance(6 * DAY);
        h.manager.authenticate_token(&active.token).await.unwrap();
    }
    // 24 days in, still active: the idle expiry slid, but never past the 30-day cap.
    let auth = h.manager.authenticate_token(&active.token).await.unwrap();
    assert!(auth.session.expires_at <= active.session.absolute_expires_at);
    h.clock.advance(6 * DAY);
    assert_code(
        h.manager.authenticate_token(&active.token).await,
        "session_expired",
    );
}

pub async fn logout_revokes_the_session_and_is_idempotent<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    let other = h
        .manager
        .login(&login(&s.user.email, PASSWORD), &h.client)
        .await
        .unwrap();
    h.manager.logout(&s.token, &h.client).await.unwrap();
    assert_code(
        h.manager.authenticate_token(&s.token).await,
        "session_expired",
    );
    h.manager.logout(&s.token, &h.client).await.unwrap();
    h.manager.authenticate_token(&other.token).await.unwrap();
}

pub async fn sessions_are_listed_and_revoked_by_their_owner_only<B: Backend>(backend: B) {
    let h = harness(backend);
    let a = h.register(&email()).await;
    h.clock.advance(MINUTE);
    let a2 = h
        .manager
        .login(&login(&a.user.email, PASSWORD), &h.client)
        .await
        .unwrap();
    h.clock.advance(MINUTE);
    let a3 = h
        .manager
        .login(&login(&a.user.email, PASSWORD), &h.client)
        .await
        .unwrap();
    let b = h.register(&email()).await;

    let list = h.manager.list_sessions(&a2.session).await.unwrap();
    let ids: Vec<SessionId> = list.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [a3.session.id, a2.session.id, a.session.id],
        "newest first"
    );
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    assert!(list[1].current);
    assert_eq!(list[0].user_agent.as_deref(), Some("flows-test/1.0"));

    assert_code(
        h.manager
            .revoke_session(&a.user, b.session.id, &h.client)
            .await,
        "not_found",
    );
    assert_code(
        h.manager
            .revoke_session(&a.user, SessionId::new(), &h.client)
            .await,
        "not_found",
    );
    h.manager.authenticate_token(&b.token).await.unwrap();

    h.manager
        .revoke_session(&a.user, a3.session.id, &h.client)
        .await
        .unwrap();
    assert_code(
        h.manager.authenticate_token(&a3.token).await,
        "session_expired",
    );
    assert_eq!(
        h.manager
            .revoke_other_sessions(&a.user, &a2.session, &h.client)
            .await
            .unwrap(),
        1
    );
    assert_code(
        h.manager.authenticate_token(&a.token).await,
        "session_expired",
    );
    h.manager.authenticate_token(&a2.token).await.unwrap();
    assert_eq!(
        h.manager
            .revoke_all_sessions(a.user.id, &h.client)
            .await
            .unwrap(),
        1
    );
    assert_code(
        h.manager.authenticate_token(&a2.token).await,
        "session_expired",
    );
    h.manager.authenticate_token(&b.token).await.unwrap();
}

pub async fn password_change_requires_the_current_one_and_signs_out_everywhere<B: Backend>(
    backend: B,
) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    let other = h
        .manager
        .login(&login(&s.user.email, PASSWORD), &h.client)
        .await
        .unwrap();
    let new = Password::new("a brand new passphrase");
    assert_code(
        h.manager
            .change_password(&s.user, &Password::new("not the password"), &new, &h.client)
            .await,
        "invalid_credentials",
    );
    assert_code(
        h.manager
            .change_password(
                &s.user,
                &Password::new(PASSWORD),
                &Password::new("short"),
                &h.client,
            )
            .await,
        "weak_password",
    );
    let fresh = h
        .manager
        .change_password(&s.user, &Password::new(PASSWORD), &new, &h.client)
        .await
        .unwrap();
    assert_code(
        h.manager.authenticate_token(&s.token).await,
        "session_expired",
    );
    assert_code(
        h.manager.authenticate_token(&other.token).await,
        "session_expired",
    );
    h.manager.authenticate_token(&fresh.token).await.unwrap();
    assert_code(
        h.manager
            .login(&login(&s.user.email, PASSWORD), &h.client)
            .await,
        "invalid_credentials",
    );
    h.manager
        .login(&login(&s.user.email, "a brand new passphrase"), &h.client)
        .await
        .unwrap();
    assert!(
        h.mailer
            .last(&s.user.email, EmailKind::PasswordChanged)
            .is_some()
    );
}

pub async fn email_verification_is_single_use_and_purpose_bound<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    h.manager
        .request_email_verification(&s.user, &h.client)
        .await
        .unwrap();
    let mail = h
        .mailer
        .last(&s.user.email, EmailKind::VerifyEmail)
        .unwrap();
    let link = mail.link.unwrap();
    assert!(
        link.expose()
            .starts_with("https://app.example.com/verify-email?token="),
        "{:?}",
        link.expose()
    );
    let token = h
        .mailer
        .last_token(&s.user.email, EmailKind::VerifyEmail)
        .unwrap();
    // Not a reset token.
    assert_code(
        h.manager
            .reset_password(&token, &Password::new("whatever passphrase"), &h.client)
            .await,
        "invalid_token",
    );
    let user = h.manager.verify_email(&token, &h.client).await.unwrap();
    assert!(user.email_verified);
    assert_code(
        h.manager.verify_email(&token, &h.client).await,
        "invalid_token",
    );
    assert_code(
        h.manager.verify_email("garbage", &h.client).await,
        "invalid_token",
    );

    // A newer request replaces the older link; links expire after 24 hours.
    let t = h.register(&email()).await;
    h.manager
        .request_email_verification(&t.user, &h.client)
        .await
        .unwrap();
    let old = h
        .mailer
        .last_token(&t.user.email, EmailKind::VerifyEmail)
        .unwrap();
    h.manager
        .request_email_verification(&t.user, &h.client)
        .await
        .unwrap();
    let new = h
        .mailer
        .last_token(&t.user.email, EmailKind::VerifyEmail)
        .unwrap();
    assert_code(
        h.manager.verify_email(&old, &h.client).await,
        "invalid_token",
    );
    h.clock.advance(DAY);
    assert_code(
        h.manager.verify_email(&new, &h.client).await,
        "invalid_token",
    );
}

pub async fn password_reset_flow<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    // Unknown and malformed addresses: same (empty) answer, no mail.
    h.manager
        .request_password_reset("nobody@example.com", &h.client)
        .await;
    h.manager
        .request_password_reset("not an email", &h.client)
        .await;
    h.manager
        .request_password_reset(&s.user.email.to_uppercase(), &h.client)
        .await;
    h.manager.wait_for_background_tasks().await;
    assert_eq!(
        h.mailer
            .sent()
            .iter()
            .filter(|m| m.kind == EmailKind::PasswordReset)
            .count(),
        1
    );
    let token = h
        .mailer
        .last_token(&s.user.email, EmailKind::PasswordReset)
        .unwrap();

    // A weak password is refused without using the token up.
    assert_code(
        h.manager
            .reset_password(&token, &Password::new("short"), &h.client)
            .await,
        "weak_password",
    );
    // Lock the account first: a locked account can still reset.
    for _ in 0..5 {
        h.manager
            .login(&login(&s.user.email, "wrong password!"), &h.client)
            .await
            .ok();
    }
    let user = h
        .manager
        .reset_password(&token, &Password::new("reset passphrase 1"), &h.client)
        .await
        .unwrap();
    assert!(user.email_verified, "the reset link proves the mailbox");
    assert_code(
        h.manager
            .reset_password(&token, &Password::new("reset passphrase 2"), &h.client)
            .await,
        "invalid_token",
    );
    assert_code(
        h.manager.authenticate_token(&s.token).await,
        "session_expired",
    );
    h.manager
        .login(&login(&s.user.email, "reset passphrase 1"), &h.client)
        .await
        .unwrap();

    // A newer request invalidates the older link; links expire after an hour.
    h.manager
        .request_password_reset(&s.user.email, &h.client)
        .await;
    h.manager.wait_for_background_tasks().await;
    let older = h
        .mailer
        .last_token(&s.user.email, EmailKind::PasswordReset)
        .unwrap();
    h.manager
        .request_password_reset(&s.user.email, &h.client)
        .await;
    h.manager.wait_for_background_tasks().await;
    let newer = h
        .mailer
        .last_token(&s.user.email, EmailKind::PasswordReset)
        .unwrap();
    assert_code(
        h.manager
            .reset_password(&older, &Password::new("reset passphrase 3"), &h.client)
            .await,
        "invalid_token",
    );
    h.clock.advance(Duration::from_secs(3600));
    assert_code(
        h.manager
            .reset_password(&newer, &Password::new("reset passphrase 3"), &h.client)
            .await,
        "invalid_token",
    );
}

pub async fn password_change_invalidates_pending_reset_links<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    h.manager
        .request_password_reset(&s.user.email, &h.client)
        .await;
    h.manager.wait_for_background_tasks().await;
    let token = h
        .mailer
        .last_token(&s.user.email, EmailKind::PasswordReset)
        .unwrap();
    h.manager
        .change_password(
            &s.user,
            &Password::new(PASSWORD),
            &Password::new("changed passphrase"),
            &h.client,
        )
        .await
        .unwrap();
    assert_code(
        h.manager
            .reset_password(&token, &Password::new("reset passphrase"), &h.client)
            .await,
        "invalid_token",
    );
}

pub async fn concurrent_reset_redemptions_have_one_winner<B: Backend>(backend: B) {
    let h = Arc::new(harness(backend));
    let s = h.register(&email()).await;
    h.manager
        .request_password_reset(&s.user.email, &h.client)
        .await;
    h.manager.wait_for_background_tasks().await;
    let token = h
        .mailer
        .last_token(&s.user.email, EmailKind::PasswordReset)
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = Arc::clone(&h);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            h.manager
                .reset_password(
                    &token,
                    &Password::new(format!("racing passphrase {i}")),
                    &h.client,
                )
                .await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => winners += 1,
            Err(e) => assert_eq!(e.code(), "invalid_token"),
        }
    }
    assert_eq!(winners, 1);
}

pub async fn email_change_needs_the_password_and_the_new_mailbox<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    let taken = h.register(&email()).await;
    let target = email();
    assert_code(
        h.manager
            .request_email_change(
                &s.user,
                &Password::new("wrong password!"),
                &target,
                &h.client,
            )
            .await,
        "invalid_credentials",
    );
    assert_code(
        h.manager
            .request_email_change(
                &s.user,
                &Password::new(PASSWORD),
                &taken.user.email,
                &h.client,
            )
            .await,
        "email_taken",
    );
    h.manager
        .request_email_change(&s.user, &Password::new(PASSWORD), &target, &h.client)
        .await
        .unwrap();
    assert!(
        h.mailer
            .last(&s.user.email, EmailKind::EmailChanged)
            .is_some(),
        "old address not told"
    );
    let unchanged = h.manager.find_user(s.user.id).await.unwrap().unwrap();
    assert_eq!(unchanged.email, s.user.email, "changed before verification");
    let token = h
        .mailer
        .last_token(&target, EmailKind::VerifyEmail)
        .unwrap();
    let moved = h.manager.verify_email(&token, &h.client).await.unwrap();
    assert_eq!(moved.email, target);
    assert!(moved.email_verified);
    h.manager
        .login(&login(&target, PASSWORD), &h.client)
        .await
        .unwrap();
    assert_code(
        h.manager
            .login(&login(&s.user.email, PASSWORD), &h.client)
            .await,
        "invalid_credentials",
    );
}

pub async fn verification_links_are_bound_to_the_address<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    h.manager
        .request_email_verification(&s.user, &h.client)
        .await
        .unwrap();
    let stale = h
        .mailer
        .last_token(&s.user.email, EmailKind::VerifyEmail)
        .unwrap();
    let target = email();
    h.manager
        .request_email_change(&s.user, &Password::new(PASSWORD), &target, &h.client)
        .await
        .unwrap();
    let change = h
        .mailer
        .last_token(&target, EmailKind::VerifyEmail)
        .unwrap();
    h.manager.verify_email(&change, &h.client).await.unwrap();
    // The link sent to the old address must not verify the new one.
    assert_code(
        h.manager.verify_email(&stale, &h.client).await,
        "invalid_token",
    );
}

pub async fn profile_roles_disable_and_delete<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    let updated = h
        .manager
        .update_profile(
            s.user.id,
            ProfileUpdate {
                name: Some(" Grace ".into()),
                image: Some(Some("https://img.example.com/g.png".into())),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "Grace");
    assert_eq!(
        updated.image.as_deref(),
        Some("https://img.example.com/g.png")
    );
    assert_code(
        h.manager
            .update_profile(
                s.user.id,
                ProfileUpdate {
                    image: Some(Some("javascript:alert(1)".into())),
                    ..ProfileUpdate::default()
                },
            )
            .await,
        "invalid_input",
    );
    assert_code(
        h.manager
            .update_profile(UserId::new(), ProfileUpdate::default())
            .await,
        "not_found",
    );

    assert!(!h.manager.has_min_role(&updated, "editor"));
    let editor = h
        .manager
        .set_role(s.user.id, "editor", &h.client)
        .await
        .unwrap();
    assert!(h.manager.has_min_role(&editor, "editor"));
    assert!(h.manager.has_min_role(&editor, "viewer"));
    assert!(!h.manager.has_min_role(&editor, "admin"));
    assert_code(
        h.manager.set_role(s.user.id, "overlord", &h.client).await,
        "invalid_input",
    );

    let second = h
        .manager
        .login(&login(&s.user.email, PASSWORD), &h.client)
        .await
        .unwrap();
    h.manager.disable_user(s.user.id, &h.client).await.unwrap();
    assert_code(
        h.manager.authenticate_token(&s.token).await,
        "session_expired",
    );
    assert_code(
        h.manager.authenticate_token(&second.token).await,
        "session_expired",
    );
    assert_code(
        h.manager
            .login(&login(&s.user.email, PASSWORD), &h.client)
            .await,
        "invalid_credentials",
    );
    h.manager.enable_user(s.user.id, &h.client).await.unwrap();
    let third = h
        .manager
        .login(&login(&s.user.email, PASSWORD), &h.client)
        .await
        .unwrap();

    h.manager.delete_user(s.user.id, &h.client).await.unwrap();
    assert_code(
        h.manager.authenticate_token(&third.token).await,
        "session_expired",
    );
    assert_code(
        h.manager
            .login(&login(&s.user.email, PASSWORD), &h.client)
            .await,
        "invalid_credentials",
    );
    assert_code(
        h.manager.delete_user(s.user.id, &h.client).await,
        "not_found",
    );
    // The address is free again.
    h.register(&s.user.email).await;
}

pub async fn every_flow_leaves_an_audit_event<B: Backend>(backend: B) {
    let h = harness(backend);
    let s = h.register(&email()).await;
    h.manager
        .login(&login(&s.user.email, "wrong password!"), &h.client)
        .await
        .ok();
    let second = h
        .manager
        .login(&login(&s.user.email, PASSWORD), &h.client)
        .await
        .unwrap();
    h.manager
        .revoke_session(&s.user, second.session.id, &h.client)
        .await
        .unwrap();
    h.manager
        .request_email_verification(&s.user, &h.client)
        .await
        .unwrap();
    let token = h
        .mailer
        .last_token(&s.user.email, EmailKind::VerifyEmail)
        .unwrap();
    h.manager.verify_email(&token, &h.client).await.unwrap();
    let fresh = h
        .manager
        .change_password(
            &s.user,
            &Password::new(PASSWORD),
            &Password::new("second passphrase"),
            &h.client,
        )
        .await
        .unwrap();
    h.manager.logout(&fresh.token, &h.client).await.unwrap();
    h.manager
        .request_password_reset(&s.user.email, &h.client)
        .await;
    h.manager.wait_for_background_tasks().await;
    let reset = h
        .mailer
        .last_token(&s.user.email, EmailKind::PasswordReset)
        .unwrap();
    h.manager
        .reset_password(&reset, &Password::new("third passphrase"), &h.client)
        .await
        .unwrap();

    let events = h.manager.list_events(s.user.id, 50).await.unwrap();
    let mut kinds: Vec<AuthEventKind> = events.iter().map(|e| e.kind).collect();
    kinds.reverse();
    use AuthEventKind::*;
    assert_eq!(
        kinds,
        [
            Register,
            LoginFailed,
            LoginSucceeded,
            SessionRevoked,
            EmailVerificationRequested,
            EmailVerified,
            PasswordChanged,
            Logout,
            PasswordResetRequested,
            PasswordReset
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.ip_address.as_deref() == Some("192.0.2.10"))
    );
    assert!(
        events
            .iter()
            .all(|e| e.user_agent.as_deref() == Some("flows-test/1.0"))
    );
}

#[derive(Debug, Default, Clone)]
struct RecordingHooks(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl Hooks for RecordingHooks {
    async fn after_register(&self, user: &User) {
        self.0
            .lock()
            .unwrap()
            .push(format!("register {}", user.email));
    }
    async fn after_login(&self, user: &User, _session: &Session, _client: &ClientInfo) {
        self.0.lock().unwrap().push(format!("login {}", user.email));
    }
    async fn after_failed_login(&self, user: Option<&User>, _client: &ClientInfo) {
        self.0
            .lock()
            .unwrap()
            .push(format!("failed {}", user.map_or("?", |u| u.email.as_str())));
    }
    async fn after_password_reset_requested(&self, user: &User) {
        self.0.lock().unwrap().push(format!("reset {}", user.email));
    }
    async fn after_email_verified(&self, user: &User) {
        self.0
            .lock()
            .unwrap()
            .push(format!("verified {}", user.email));
    }
    async fn after_logout(&self, _user_id: UserId, _session_id: SessionId) {
        self.0.lock().unwrap().push("logout".into());
    }
}

pub async fn hooks_run_after_each_event<B: Backend>(backend: B) {
    let recorder = RecordingHooks::default();
    let mailer = portcullis_manager::MemoryMailer::new();
    let strategy = portcullis_password::PasswordStrategy::new(super::CountingHasher::fast());
    let manager = portcullis_manager::AuthManager::builder(backend, strategy)
        .config(super::config())
        .mailer(mailer.clone())
        .hooks(recorder.clone())
        .build()
        .unwrap();
    let client = ClientInfo::default();
    let address = email();
    let Registered::SignedIn(s) = manager
        .register(Registration::new("H", &address, PASSWORD), &client)
        .await
        .unwrap()
    else {
        unreachable!()
    };
    manager
        .login(&login(&address, "wrong password!"), &client)
        .await
        .ok();
    manager
        .login(&login("nobody@example.com", PASSWORD), &client)
        .await
        .ok();
    manager
        .login(&login(&address, PASSWORD), &client)
        .await
        .unwrap();
    manager
        .request_email_verification(&s.user, &client)
        .await
        .unwrap();
    let token = mailer.last_token(&address, EmailKind::VerifyEmail).unwrap();
    manager.verify_email(&token, &client).await.unwrap();
    manager.request_password_reset(&address, &client).await;
    manager.wait_for_background_tasks().await;
    manager.logout(&s.token, &client).await.unwrap();
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            format!("register {address}"),
            format!("failed {address}"),
            "failed ?".to_owned(),
            format!("login {address}"),
            format!("verified {address}"),
            format!("reset {address}"),
            "logout".to_owned(),
        ]
    );
}

pub async fn purge_removes_only_expired_rows<B: Backend>(backend: B) {
    let h = harness_with(
        backend,
        AuthConfig {
            purge_batch_size: 2,
            ..config()
        },
    );
    let old: Vec<_> = futures_join(&h, 3).await;
    h.manager
        .request_email_verification(&old[0].user, &h.client)
        .await
        .unwrap();
    h.clock.advance(8 * DAY);
    let live = h.register(&email()).await;
    let report = h.manager.purge_expired().await.unwrap();
    assert_eq!(report.sessions, 3);
    assert_eq!(report.verifications, 1);
    h.manager.authenticate_token(&live.token).await.unwrap();
    assert_eq!(h.manager.purge_expired().await.unwrap(), Default::default());
}

async fn futures_join<B: Backend>(
    h: &super::Harness<B>,
    n: usize,
) -> Vec<portcullis_manager::SignedIn> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(h.register(&email()).await);
    }
    out
}

/// Runs a full set of flows with the default `LogMailer`, then searches everything logged by
/// any test in this process, and the backend's rows, for the tokens and passwords used.
pub async fn secrets_never_reach_logs_or_rows<B: Backend>(backend: B) {
    super::capture_logs();
    let strategy = portcullis_password::PasswordStrategy::new(super::CountingHasher::fast());
    let manager = portcullis_manager::AuthManager::builder(backend, strategy)
        .config(super::config())
        .build()
        .unwrap();
    let client = ClientInfo::default();
    let address = email();
    let password = "unique secret passphrase 7f3a9";
    let Registered::SignedIn(s) = manager
        .register(Registration::new("Log", &address, password), &client)
        .await
        .unwrap()
    else {
        unreachable!()
    };
    manager
        .login(&login(&address, "wrong secret passphrase 2b8c"), &client)
        .await
        .ok();
    let logged_in = manager
        .login(&login(&address, password), &client)
        .await
        .unwrap();
    manager
        .request_email_verification(&s.user, &client)
        .await
        .unwrap();
    manager.request_password_reset(&address, &client).await;
    manager.wait_for_background_tasks().await;
    let logs = captured_logs();
    assert!(
        logs.contains("Reset your password"),
        "the LogMailer did not log: capture is broken"
    );
    assert!(
        logs.contains("token=[redacted]"),
        "links must be logged redacted"
    );
    for secret in [
        password,
        "wrong secret passphrase 2b8c",
        s.token.expose(),
        logged_in.token.expose(),
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
    let stored = manager
        .backend()
        .find_credential_account(s.user.id)
        .await
        .unwrap()
        .unwrap();
    let hash: PasswordHash = stored.password.unwrap();
    assert!(!hash.expose().contains(password));
    assert!(
        !logs.contains(hash.expose()),
        "a password hash reached the logs"
    );
    for session in manager.backend().list_sessions(s.user.id).await.unwrap() {
        assert_ne!(session.token_hash.to_hex(), s.token.expose());
        assert_ne!(session.token_hash.to_base64url(), s.token.expose());
    }
}

/// Generates one `#[test]` per flow for a backend factory `|| async { Option<B> }`.
#[macro_export]
macro_rules! manager_tests {
    ($module:ident, $factory:expr) => {
        mod $module {
            use super::*;
            $crate::manager_tests!(@cases $factory;
                register_signs_in_and_the_token_authenticates,
                duplicate_email_is_409_even_with_a_weak_password,
                registration_input_is_validated,
                paranoid_registration_answers_alike,
                login_by_email_or_username_always_issues_a_new_session,
                login_verifies_exactly_one_hash_whatever_the_failure,
                login_failures_are_indistinguishable,
                lockout_engages_at_the_threshold_and_ends,
                lockout_grows_for_repeat_offenders,
                concurrent_wrong_logins_lock_exactly_at_the_threshold,
                bcrypt_users_log_in_and_are_upgraded_to_argon2id,
                sliding_expiry_writes_only_after_the_touch_interval,
                idle_and_absolute_expiry_are_enforced,
                logout_revokes_the_session_and_is_idempotent,
                sessions_are_listed_and_revoked_by_their_owner_only,
                password_change_requires_the_current_one_and_signs_out_everywhere,
                email_verification_is_single_use_and_purpose_bound,
                password_reset_flow,
                password_change_invalidates_pending_reset_links,
                concurrent_reset_redemptions_have_one_winner,
                email_change_needs_the_password_and_the_new_mailbox,
                verification_links_are_bound_to_the_address,
                profile_roles_disable_and_delete,
                every_flow_leaves_an_audit_event,
                hooks_run_after_each_event,
                purge_removes_only_expired_rows,
                secrets_never_reach_logs_or_rows,
            );
        }
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(backend) = ($factory)().await {
                    support::flows::$case(backend).await;
                }
            }
        )*
    };
}
