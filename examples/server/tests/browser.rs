//! The HTML pages in a real browser: headless Chromium driven over WebDriver (chromedriver)
//! through a whole account's life: register, verify the email address from the link in the
//! (in-memory) mail, log out, get sent to the login page, log in after a wrong password,
//! see and revoke another session, change the password, log out.
//!
//! Each page is saved as a PNG under `<target>/screenshots/` (`CARGO_TARGET_DIR` when set).
//! Without `chromium` and `chromedriver` installed the test says so on one line and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use portcullis_core::{EmailKind, UserStore};
use portcullis_manager::MemoryMailer;
use portcullis_sea_orm::testing;
use serde_json::{Value, json};
use server::Manager;

const CHROMIUM: &str = "/usr/bin/chromium";
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase";
const WAIT: Duration = Duration::from_secs(15);

/// chromedriver on a free port, with a fresh browser profile; both go away on drop.
struct Chromedriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Chromedriver {
    async fn start(binary: &Path) -> Self {
        let port = free_port();
        let profile = std::env::temp_dir().join(format!(
            "portcullis-browser-{}-{}",
            std::process::id(),
            port
        ));
        std::fs::create_dir_all(&profile).unwrap();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Self {
            child,
            port,
            profile,
        };
        let status = format!("{}/status", driver.url());
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = reqwest::get(&status)
                .await
                .ok()
                .map(reqwest::Response::json::<Value>);
            if let Some(body) = ready
                && let Ok(body) = body.await
                && body["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn browser(&self) -> Client {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1100,900",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([format!("--user-data-dir={}", self.profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url())
            .await
            .expect("a headless Chromium session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `name` on the `PATH`, if installed.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

fn screenshot_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    target.join("screenshots")
}

struct App {
    base: String,
    manager: Manager,
    mailer: MemoryMailer,
}

async fn start_app() -> App {
    let backend = testing::sqlite_file().await.expect("a SQLite backend");
    let started = support::start(backend, &[]).await;
    App {
        base: started.base,
        manager: started.manager,
        mailer: started.mailer,
    }
}

/// The browser, the app, and where screenshots go.
struct Tour {
    browser: Client,
    app: App,
    shots: PathBuf,
    taken: usize,
}

impl Tour {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.unwrap();
    }

    async fn screenshot(&mut self, name: &str) {
        self.taken += 1;
        let png = self.browser.screenshot().await.unwrap();
        let path = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, png).unwrap();
    }

    /// Waits until the browser shows `path` (and `query`, if given).
    async fn wait_for_page(&self, path: &str, query: Option<&str>) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.browser.current_url().await.unwrap();
            if url.path() == path && query.is_none_or(|q| url.query() == Some(q)) {
                // The URL changes when the navigation commits; wait for the document too.
                self.browser
                    .wait()
                    .at_most(WAIT)
                    .for_element(Locator::Css("main"))
                    .await
                    .unwrap();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected {path}?{query:?}, the browser is on {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn fill(&self, name: &str, value: &str) {
        let input = self
            .browser
            .find(Locator::Css(&format!("main input[name='{name}']")))
            .await
            .unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn count(&self, css: &str) -> usize {
        self.browser
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .len()
    }

    async fn value_of(&self, name: &str) -> Option<String> {
        self.browser
            .find(Locator::Css(&format!("main input[name='{name}']")))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_from_registration_to_password_change_in_chromium() {
    let (Some(chromedriver), true) = (on_path("chromedriver"), Path::new(CHROMIUM).is_file())
    else {
        portcullis_testkit::announce_skip(
            "browser test",
            "install chromium and chromium-driver (apt-get install chromium chromium-driver) to run it",
        );
        return;
    };
    let started = Instant::now();
    let driver = Chromedriver::start(&chromedriver).await;
    let browser = driver.browser().await;
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let tour = Tour {
        browser: browser.clone(),
        app: start_app().await,
        shots,
        taken: 0,
    };
    // Run the tour in a task so that a failed assertion still ends the browser session.
    let outcome = tokio::spawn(tour_of_an_account(tour)).await;
    let _ = browser.close().await;
    drop(driver);
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
    // Straight to stderr: the harness would swallow eprintln! of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "browser test: {:.1} s, screenshots in {}",
        started.elapsed().as_secs_f64(),
        screenshot_dir().display()
    );
}

async fn tour_of_an_account(mut t: Tour) {
    let email = format!(
        "ada-{}@example.com",
        &portcullis_core::UserId::new().to_string()[..8]
    );

    // Register: lands on the dashboard, signed in, address not yet verified.
    t.open("/register").await;
    t.screenshot("register").await;
    t.fill("name", "Ada Lovelace").await;
    t.fill("email", &email).await;
    t.fill("password", PASSWORD).await;
    t.click("main form button[type=submit]").await;
    t.wait_for_page("/dashboard", Some("notice=welcome")).await;
    assert_eq!(t.text("h1").await, "Hello, Ada Lovelace");
    assert_eq!(t.text(".badge").await, "not verified");
    t.screenshot("dashboard").await;

    // Ask for the verification email; open its link; the page only offers a button.
    t.click("form[action='/verify-email/send'] button").await;
    t.wait_for_page("/dashboard", Some("notice=verification-sent"))
        .await;
    t.screenshot("verification-sent").await;
    let mail = t
        .app
        .mailer
        .last(&email, EmailKind::VerifyEmail)
        .expect("a verification email");
    let link = mail.link.expect("a link in the email").expose().to_owned();
    assert!(
        link.starts_with(&format!("{}/verify-email?token=", t.app.base)),
        "{link}"
    );
    t.browser.goto(&link).await.unwrap();
    t.wait_for_page("/verify-email", None).await;
    t.screenshot("verify-email").await;
    let user = t
        .app
        .manager
        .backend()
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert!(!user.email_verified, "opening the link must not verify");
    t.click("main form[action='/verify-email'] button").await;
    t.wait_for_page("/verify-email/done", None).await;
    assert_eq!(t.text("h1").await, "Email address confirmed");
    t.screenshot("email-verified").await;
    t.open("/dashboard").await;
    assert_eq!(t.text(".badge").await, "verified");

    // Log out; the dashboard now sends the browser to the login page.
    t.click("header form[action='/logout'] button").await;
    t.wait_for_page("/", Some("notice=signed-out")).await;
    t.screenshot("signed-out").await;
    t.open("/dashboard").await;
    t.wait_for_page("/login", Some("next=/dashboard")).await;
    t.screenshot("login").await;

    // A wrong password: the error, the email kept, the password not.
    t.fill("email", &email).await;
    t.fill("password", "not my password").await;
    t.click("main form button[type=submit]").await;
    t.wait_for_page("/login", None).await;
    assert_eq!(t.text(".alert").await, "Email or password is incorrect.");
    assert_eq!(t.value_of("email").await.as_deref(), Some(email.as_str()));
    assert_eq!(t.value_of("password").await.as_deref(), Some(""));
    t.screenshot("login-error").await;
    t.fill("password", PASSWORD).await;
    t.click("main form button[type=submit]").await;
    t.wait_for_page("/dashboard", None).await;
    t.screenshot("dashboard-again").await;

    // A second device signs in through the JSON API.
    let http = reqwest::Client::builder()
        .user_agent("curl/8.5.0 (second device)")
        .build()
        .unwrap();
    let other: Value = http
        .post(t.url("/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other_token = other["session"]["token"].as_str().unwrap().to_owned();
    let me_url = t.url("/auth/me");
    let me = |token: String| {
        let request = http.get(&me_url).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(me(other_token.clone()).await, 200);

    // The sessions page lists both; sign the other one out.
    t.open("/sessions").await;
    assert_eq!(t.count("li.session").await, 2);
    assert_eq!(t.count(".this-device").await, 1);
    t.screenshot("sessions").await;
    t.click("form[action$='/revoke'] button").await;
    t.wait_for_page("/sessions", Some("notice=session-revoked"))
        .await;
    assert_eq!(t.count("li.session").await, 1);
    assert_eq!(t.count(".this-device").await, 1);
    assert_eq!(
        me(other_token).await,
        401,
        "the revoked session still works"
    );
    t.screenshot("session-revoked").await;

    // Change the password (the browser gets a fresh session), then log out.
    t.open("/password").await;
    t.fill("current_password", PASSWORD).await;
    t.fill("new_password", NEW_PASSWORD).await;
    t.screenshot("change-password").await;
    t.click("main form button[type=submit]").await;
    t.wait_for_page("/dashboard", Some("notice=password-changed"))
        .await;
    t.screenshot("password-changed").await;
    let login_url = t.url("/auth/login");
    let login = |password: &'static str| {
        let request = http
            .post(&login_url)
            .json(&json!({"email": email, "password": password}));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(login(PASSWORD).await, 401);
    assert_eq!(login(NEW_PASSWORD).await, 200);

    t.click("header form[action='/logout'] button").await;
    t.wait_for_page("/", Some("notice=signed-out")).await;
    t.open("/dashboard").await;
    t.wait_for_page("/login", Some("next=/dashboard")).await;
    t.screenshot("logged-out").await;
}
