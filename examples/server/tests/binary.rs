//! The demo server binary, started as a newcomer starts it, switches databases by
//! `DATABASE_URL` alone: on an SQLite file, PostgreSQL and MySQL it passes the shared route
//! table (`portcullis_testkit::routes`, the cases every adapter runs), over real TCP, with
//! the emailed links read from its console like a newcomer reads them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use portcullis_core::EmailKind;
use portcullis_core::http::{Request, Response};
use portcullis_sea_orm::SeaOrmBackend;
use portcullis_sea_orm::testing;
use portcullis_testkit::{RouteTarget, run_route_table};
use sea_orm::{ConnectionTrait, Statement};

/// The running binary; killed on drop.
struct Server {
    child: Child,
    base: String,
    console: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `target/.../server` with `DATABASE_URL=database_url` on a free port.
fn start(database_url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--rate-limit",
            "off",
            "--insecure-cookies",
        ])
        .env("DATABASE_URL", database_url)
        .env_remove("PORTCULLIS_ADDR")
        .env_remove("PORTCULLIS_PUBLIC_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let console = Arc::new(Mutex::new(Vec::new()));
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let console = Arc::clone(&console);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                console.lock().unwrap().push(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let listening = console.lock().unwrap().iter().find_map(|line| {
            line.split_once("listening on ")
                .map(|(_, url)| url.trim().to_owned())
        });
        if let Some(base) = listening {
            break base;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the server exited with {status}:\n{}",
                console.lock().unwrap().join("\n")
            );
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    Server {
        child,
        base,
        console,
        http: reqwest::Client::new(),
    }
}

#[async_trait]
impl RouteTarget for Server {
    async fn send(&self, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let (parts, body) = request.into_parts();
        let url = format!("{}{}", self.base, parts.uri);
        let response = self
            .http
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let mut answer = Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        answer
            .body(response.bytes().await.unwrap().to_vec())
            .unwrap()
    }

    /// The token from the last emailed link to `to`, as the console shows it (the demo's
    /// mailer prints links); mail goes out in the background, so wait for it a little.
    async fn emailed_token(&self, to: &str, kind: EmailKind) -> Option<String> {
        let kind = format!("kind={kind:?}");
        let to = format!("to={to}");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = 0;
        let mut token = None;
        loop {
            {
                let console = self.console.lock().unwrap();
                for line in &console[seen..] {
                    if line.contains(&to) && line.contains(&kind) {
                        token = line
                            .split_once("token=")
                            .and_then(|(_, rest)| rest.split([' ', '"', '&']).next())
                            .map(str::to_owned);
                    }
                }
                seen = console.len();
            }
            if token.is_some() || Instant::now() > deadline {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The URL of the scratch database `backend` is connected to.
async fn url_of(backend: &SeaOrmBackend, server_url_var: &str, current_sql: &str) -> String {
    let db = backend.connection();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            current_sql,
        ))
        .await
        .unwrap()
        .unwrap();
    let name: String = row.try_get_by_index(0).unwrap();
    testing::with_database(&std::env::var(server_url_var).unwrap(), &name)
}

async fn passes_the_route_table(database_url: &str) {
    let server = start(database_url);
    let cases = run_route_table(&server)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(cases >= 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_file_by_database_url() {
    let path = std::env::temp_dir().join(format!(
        "portcullis_t_{}_{}.db",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    passes_the_route_table(&format!("sqlite://{}?mode=rwc", path.display())).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_by_database_url() {
    let Some(backend) = testing::postgres().await else {
        return;
    };
    let url = url_of(
        &backend,
        "PORTCULLIS_TEST_POSTGRES_URL",
        "SELECT current_database()",
    )
    .await;
    passes_the_route_table(&url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_by_database_url() {
    let Some(backend) = testing::mysql().await else {
        return;
    };
    let url = url_of(&backend, "PORTCULLIS_TEST_MYSQL_URL", "SELECT DATABASE()").await;
    passes_the_route_table(&url).await;
}
