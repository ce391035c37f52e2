//! A real server on a free port, over a fresh database on either engine, and a browser-like
//! client (cookies kept, redirects not followed so tests can see them).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use cityhall_core::geo::{all_agencies, AgenciesFile, UnitsFile};
use cityhall_core::identity::Role;
use cityhall_db::identity::NewUser;
use cityhall_db::testing::{fresh, Guard};
use cityhall_db::{Db, Engine, GeoStore, IdentityStore};
use cityhall_web::{AppState, WebConfig};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestServer {
    pub base: String,
    pub db: Db,
    pub state: AppState,
    _guard: Guard,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Starts a server; `None` when the engine is not available here (PostgreSQL unset).
pub async fn start(engine: Engine, tweak: impl FnOnce(&mut WebConfig)) -> Option<TestServer> {
    let (db, guard) = fresh(engine).await?;
    let units: UnitsFile =
        serde_json::from_str(include_str!("../../../../data/units-79.json")).unwrap();
    let city: AgenciesFile =
        serde_json::from_str(include_str!("../../../../data/agencies-79.json")).unwrap();
    db.import_reference(
        OffsetDateTime::now_utc(),
        &units,
        &all_agencies(&units, &city),
    )
    .await
    .unwrap();
    cityhall_web::catalog::import_file(&db, "test", cityhall_web::catalog::SHIPPED_CATALOG)
        .await
        .unwrap();
    let mut config = WebConfig::for_tests();
    tweak(&mut config);
    let state = AppState::new(db.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let st = state.clone();
    tokio::spawn(async move {
        cityhall_web::serve(st, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Some(TestServer {
        base,
        db,
        state,
        _guard: guard,
        stop: Some(tx),
    })
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates an account with `PASSWORD`.
    pub async fn user(&self, username: &str, role: Role, agency: Option<&str>) -> String {
        let hash = cityhall_web::auth::hash_password(PASSWORD).unwrap();
        self.db
            .create_user(
                OffsetDateTime::now_utc(),
                "test",
                NewUser::with_role(username, "Người Thử", &hash, role, agency),
            )
            .await
            .unwrap()
    }

    /// A client signed in as `username`.
    pub async fn signed_in(&self, username: &str) -> Client {
        let c = Client::new(self);
        let res = c.login(username, PASSWORD).await;
        assert_eq!(res.status(), 303, "login of {username}");
        c
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub fn new(s: &TestServer) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap()
    }

    pub async fn text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let s = r.status().as_u16();
        (s, r.text().await.unwrap())
    }

    /// The CSRF token the page at `path` carries.
    pub async fn csrf(&self, path: &str) -> String {
        let (_, body) = self.text(path).await;
        extract(&body, "name=\"csrf_token\" value=\"", "\"").unwrap_or_default()
    }

    /// Posts a form with this browser's CSRF token (taken from the home page).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf("/login").await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.http
            .post(format!("{}{}", self.base, path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("username", username), ("password", password)])
            .await
    }
}

pub fn extract(body: &str, start: &str, end: &str) -> Option<String> {
    let i = body.find(start)? + start.len();
    let j = body[i..].find(end)? + i;
    Some(body[i..j].to_string())
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A local SMTP server that keeps what it receives.
#[derive(Clone, Default)]
pub struct SmtpSink {
    pub messages: Arc<Mutex<Vec<String>>>,
    pub port: u16,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = SmtpSink {
            messages: Arc::default(),
            port,
        };
        let messages = sink.messages.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let messages = messages.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            b"250 sink\r\n"
                        } else if cmd.starts_with("DATA") {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                let mut l = String::new();
                                if r.read_line(&mut l).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if l == ".\r\n" {
                                    break;
                                }
                                data.push_str(&l);
                            }
                            messages.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        sink
    }
}

/// Runs a test body on both engines.
#[macro_export]
macro_rules! web_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(cityhall_db::Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if cityhall_db::testing::pg_admin_url().is_none() {
                    eprintln!("skipped: set CITYHALL_TEST_PG_URL to run on PostgreSQL");
                    return;
                }
                ($body)(cityhall_db::Engine::Postgres).await;
            }
        }
    };
}
