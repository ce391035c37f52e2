//! Test support: a fresh, migrated database on each engine. PostgreSQL databases are cloned
//! from a template migrated once per test process, so a test costs a `CREATE DATABASE`.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::OnceCell;

use crate::{Db, DbOptions, Engine};

static TEMPLATE: OnceCell<Option<String>> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The admin URL of the test PostgreSQL server, if one is configured.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("CITYHALL_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CITYHALL_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("CITYHALL_REQUIRE_PG=1 but CITYHALL_TEST_PG_URL is not set");
            }
            None
        }
    }
}

fn with_db(url: &str, name: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > url.find("://").map(|p| p + 2).unwrap_or(0) => {
            let (base, rest) = url.split_at(i);
            let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
            format!("{base}/{name}{query}")
        }
        _ => format!("{url}/{name}"),
    }
}

async fn template(admin: &str) -> String {
    let name = format!("cityhall_tpl_{}", std::process::id());
    let admin_pool = sqlx::PgPool::connect(admin)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&admin_pool)
        .await
        .expect("drop old template");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin_pool)
        .await
        .expect("create template");
    let db = Db::connect(&with_db(admin, &name), &DbOptions::default())
        .await
        .expect("connect template");
    db.migrate().await.expect("migrate template");
    db.close().await;
    admin_pool.close().await;
    name
}

/// A fresh database on the given engine; `None` when PostgreSQL is not configured here.
pub async fn fresh(engine: Engine) -> Option<(Db, Guard)> {
    match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}/test.db", dir.path().display());
            let db = Db::connect(&url, &DbOptions::default())
                .await
                .expect("open sqlite");
            db.migrate().await.expect("migrate sqlite");
            Some((db, Guard { _dir: Some(dir) }))
        }
        Engine::Postgres => {
            let admin = pg_admin_url()?;
            let tpl = TEMPLATE
                .get_or_init(|| async { Some(template(&admin).await) })
                .await
                .clone()?;
            let name = format!(
                "cityhall_t_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            );
            let admin_pool = sqlx::PgPool::connect(&admin).await.expect("connect admin");
            sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {tpl}"))
                .execute(&admin_pool)
                .await
                .expect("clone template");
            admin_pool.close().await;
            let db = Db::connect(
                &with_db(&admin, &name),
                &DbOptions {
                    max_connections: 5,
                    ..DbOptions::default()
                },
            )
            .await
            .expect("connect test db");
            Some((db, Guard { _dir: None }))
        }
    }
}

/// Keeps a test database's files alive for the test's duration.
pub struct Guard {
    _dir: Option<tempfile::TempDir>,
}

/// The URL of a database on the test server by name (for tests of the binary).
pub fn pg_url_for(name: &str) -> Option<String> {
    pg_admin_url().map(|u| with_db(&u, name))
}

/// Runs one async test body on both engines: `both_engines!(name, |db| async move { … })`.
#[macro_export]
macro_rules! both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let (db, _g) = $crate::testing::fresh($crate::Engine::Sqlite)
                    .await
                    .unwrap();
                ($body)(db).await;
            }
            #[tokio::test]
            async fn postgres() {
                let Some((db, _g)) = $crate::testing::fresh($crate::Engine::Postgres).await else {
                    eprintln!("skipped: set CITYHALL_TEST_PG_URL to run on PostgreSQL");
                    return;
                };
                ($body)(db).await;
            }
        }
    };
}
