//! The whole flow suite with the in-process session cache on: every revocation made through
//! the manager must still take effect at once. Plus what the cache changes on purpose: a
//! revocation made behind the manager's back (another process) is noticed after `ttl`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::time::Duration;

use portcullis_core::{SessionStore, UserStore};
use portcullis_manager::{AuthConfig, SessionCacheConfig};
use portcullis_testkit::MemoryBackend;

manager_tests!(memory, || async {
    support::enable_session_cache();
    Some(MemoryBackend::new())
});
manager_tests!(sqlite_file, || async {
    support::enable_session_cache();
    portcullis_sea_orm::testing::sqlite_file().await
});

fn cached(ttl: Duration) -> AuthConfig {
    AuthConfig {
        session_cache: Some(SessionCacheConfig {
            ttl,
            max_entries: 100,
        }),
        ..support::config()
    }
}

#[tokio::test]
async fn a_revocation_by_another_process_is_noticed_after_the_ttl() {
    let backend = MemoryBackend::new();
    let h = support::harness_with(backend.clone(), cached(Duration::from_secs(5)));
    let s = h.register(&support::email()).await;
    h.manager.authenticate_token(&s.token).await.unwrap();

    // "Another process" deletes the session directly in storage.
    assert!(backend.delete_session(s.session.id).await.unwrap());
    h.clock.advance(Duration::from_secs(4));
    h.manager
        .authenticate_token(&s.token)
        .await
        .expect("within the ttl the cached session is trusted (documented staleness)");
    h.clock.advance(Duration::from_secs(1));
    let error = h.manager.authenticate_token(&s.token).await.unwrap_err();
    assert_eq!(error.code(), "session_expired", "the ttl bounds staleness");

    // Without the cache, the same revocation is seen at once.
    let uncached = support::harness_with(
        backend.clone(),
        AuthConfig {
            session_cache: None,
            ..support::config()
        },
    );
    let t = uncached.register(&support::email()).await;
    uncached.manager.authenticate_token(&t.token).await.unwrap();
    backend.delete_session(t.session.id).await.unwrap();
    assert!(uncached.manager.authenticate_token(&t.token).await.is_err());
}

#[tokio::test]
async fn cached_requests_do_not_read_storage() {
    let backend = MemoryBackend::new();
    let h = support::harness_with(backend.clone(), cached(Duration::from_secs(60)));
    let s = h.register(&support::email()).await;
    h.manager.authenticate_token(&s.token).await.unwrap();
    // A change made behind the manager's back is invisible while the entry is fresh: proof
    // that the second request was answered from the cache.
    let mut renamed = backend.find_user_by_id(s.user.id).await.unwrap().unwrap();
    renamed.name = "Renamed Elsewhere".into();
    backend.update_user(&renamed).await.unwrap();
    let auth = h.manager.authenticate_token(&s.token).await.unwrap();
    assert_eq!(auth.user.name, "Test User");
    // A change through the manager evicts the entry.
    h.manager
        .update_profile(
            s.user.id,
            portcullis_manager::ProfileUpdate {
                name: Some("Renamed Here".into()),
                image: None,
            },
        )
        .await
        .unwrap();
    let auth = h.manager.authenticate_token(&s.token).await.unwrap();
    assert_eq!(auth.user.name, "Renamed Here");
}

/// Every way the manager ends or changes a session evicts it from the cache at once, even when
/// the entry is fresh (each token is validated first, so it is cached).
#[tokio::test]
async fn every_revocation_through_the_manager_evicts_at_once() {
    use portcullis_core::{EmailKind, Password, PasswordCredentials};

    let h = support::harness_with(MemoryBackend::new(), cached(Duration::from_secs(3600)));
    let client = h.client.clone();
    let m = &h.manager;
    let login = |email: String| {
        let client = client.clone();
        async move {
            m.login(&PasswordCredentials::new(email, support::PASSWORD), &client)
                .await
                .unwrap()
        }
    };

    // logout
    let s = h.register(&support::email()).await;
    m.authenticate_token(&s.token).await.unwrap();
    m.logout(&s.token, &h.client).await.unwrap();
    assert!(m.authenticate_token(&s.token).await.is_err(), "logout");

    // revoke one session, the others, all
    let s = h.register(&support::email()).await;
    let other = login(s.user.email.clone()).await;
    let third = login(s.user.email.clone()).await;
    for token in [&s.token, &other.token, &third.token] {
        m.authenticate_token(token).await.unwrap();
    }
    m.revoke_session(&s.user, other.session.id, &h.client)
        .await
        .unwrap();
    assert!(
        m.authenticate_token(&other.token).await.is_err(),
        "revoke_session"
    );
    m.revoke_other_sessions(&s.user, &s.session, &h.client)
        .await
        .unwrap();
    assert!(
        m.authenticate_token(&third.token).await.is_err(),
        "revoke_other_sessions"
    );
    m.authenticate_token(&s.token).await.unwrap();
    m.revoke_all_sessions(s.user.id, &h.client).await.unwrap();
    assert!(
        m.authenticate_token(&s.token).await.is_err(),
        "revoke_all_sessions"
    );

    // password change and reset
    let s = h.register(&support::email()).await;
    m.authenticate_token(&s.token).await.unwrap();
    let fresh = m
        .change_password(
            &s.user,
            &Password::new(support::PASSWORD),
            &Password::new("cache passphrase 2"),
            &h.client,
        )
        .await
        .unwrap();
    assert!(
        m.authenticate_token(&s.token).await.is_err(),
        "change_password"
    );
    m.authenticate_token(&fresh.token).await.unwrap();
    m.request_password_reset(&s.user.email, &h.client).await;
    m.wait_for_background_tasks().await;
    let reset = h
        .mailer
        .last_token(&s.user.email, EmailKind::PasswordReset)
        .unwrap();
    m.reset_password(&reset, &Password::new("cache passphrase 3"), &h.client)
        .await
        .unwrap();
    assert!(
        m.authenticate_token(&fresh.token).await.is_err(),
        "reset_password"
    );

    // disable, role change, email verification, delete
    let s = h.register(&support::email()).await;
    m.authenticate_token(&s.token).await.unwrap();
    m.set_role(s.user.id, "editor", &h.client).await.unwrap();
    assert_eq!(
        m.authenticate_token(&s.token).await.unwrap().user.role,
        "editor",
        "set_role"
    );
    m.request_email_verification(&s.user, &h.client)
        .await
        .unwrap();
    let verify = h
        .mailer
        .last_token(&s.user.email, EmailKind::VerifyEmail)
        .unwrap();
    m.verify_email(&verify, &h.client).await.unwrap();
    assert!(
        m.authenticate_token(&s.token)
            .await
            .unwrap()
            .user
            .email_verified,
        "verify_email"
    );
    m.disable_user(s.user.id, &h.client).await.unwrap();
    assert!(
        m.authenticate_token(&s.token).await.is_err(),
        "disable_user"
    );
    m.enable_user(s.user.id, &h.client).await.unwrap();
    let again = login(s.user.email.clone()).await;
    m.authenticate_token(&again.token).await.unwrap();
    m.delete_user(s.user.id, &h.client).await.unwrap();
    assert!(
        m.authenticate_token(&again.token).await.is_err(),
        "delete_user"
    );
}
