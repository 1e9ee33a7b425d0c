//! Shared fixtures: a manager over the in-memory backend with a test clock and cheap
//! argon2, an echo service that reports what the auth layer told it, a backend whose
//! storage is always down, request helpers.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use portcullis_core::http::{Request, Response};
use portcullis_core::{ClientInfo, TestClock, TokenSource};
use portcullis_manager::{AuthConfig, AuthManager, Registered, Registration, SignedIn};
use portcullis_password::{Argon2Params, MultiHasher, PasswordStrategy};
use portcullis_testkit::MemoryBackend;
use portcullis_tower::AuthContext;
use tower::util::BoxCloneSyncService;

pub type Body = Full<Bytes>;
pub type Manager = AuthManager<MemoryBackend, PasswordStrategy<MultiHasher>>;

pub fn strategy() -> PasswordStrategy<MultiHasher> {
    let params = Argon2Params::new(1024, 1, 1, None).expect("valid argon2 params");
    PasswordStrategy::new(MultiHasher::with_params(params))
}

pub fn manager_with(config: AuthConfig, clock: &TestClock) -> Manager {
    AuthManager::builder(MemoryBackend::new(), strategy())
        .config(config)
        .clock(clock.clone())
        .build()
        .expect("valid config")
}

pub fn manager() -> (Manager, TestClock) {
    let clock = TestClock::new();
    (manager_with(AuthConfig::default(), &clock), clock)
}

pub async fn sign_in(manager: &Manager, email: &str) -> SignedIn {
    let registered = manager
        .register(
            Registration::new("Ada", email, "analytical engine"),
            &ClientInfo::default(),
        )
        .await
        .expect("registration");
    match registered {
        Registered::SignedIn(signed_in) => *signed_in,
        Registered::CheckEmail => panic!("paranoid registration is off"),
    }
}

/// What the echo service saw; `calls` counts requests that reached it.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub calls: Arc<AtomicUsize>,
}

impl Echo {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Answers 200 with `x-auth: <email>|anonymous`, `x-source`, `x-client-ip`, and the
    /// request body echoed back.
    pub fn service(&self) -> BoxCloneSyncService<Request<Body>, Response<Body>, Infallible> {
        let calls = Arc::clone(&self.calls);
        BoxCloneSyncService::new(tower::service_fn(move |request: Request<Body>| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let (parts, body) = request.into_parts();
                let auth = parts.extensions.get::<AuthContext>();
                let mut response = Response::builder()
                    .header(
                        "x-auth",
                        auth.map_or("anonymous", |a| a.user.email.as_str()),
                    )
                    .header(
                        "x-source",
                        match auth.map(|a| a.source) {
                            Some(TokenSource::Bearer) => "bearer",
                            Some(TokenSource::Cookie) => "cookie",
                            _ => "none",
                        },
                    );
                if let Some(ip) = parts
                    .extensions
                    .get::<ClientInfo>()
                    .and_then(|c| c.ip_address.clone())
                {
                    response = response.header("x-client-ip", ip);
                }
                let bytes = body.collect().await.expect("infallible").to_bytes();
                Ok::<_, Infallible>(response.body(Full::new(bytes)).expect("valid response"))
            }
        }))
    }
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("infallible")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("UTF-8 body")
}

pub async fn body_json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).expect("JSON body")
}

pub type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;
