//! cityhall storage. One store trait per module (`identity`, `audit`, `geo`, `notify`,
//! `system`, `catalog`, `dossier`, `feedback`, `opendata`, and the `blob` store), one implementation on [`Db`], which runs the same SQL text on SQLite and on
//! PostgreSQL. The engine is chosen once, from the database URL.
//!
//! SQL is written once with `$1` placeholders (SQLite accepts them too); the [`run!`] and
//! [`tx!`] macros expand the same query body once per engine. Where the engines truly differ
//! there is a branch with a comment saying why.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

mod args;
pub mod audit;
pub mod blob;
pub mod catalog;
pub mod dossier;
pub mod feedback;
pub mod geo;
pub mod identity;
pub mod notify;
pub mod opendata;
pub mod system;
#[doc(hidden)]
pub mod testing;

pub use audit::AuditStore;
pub use blob::{BlobBackend, Blobs};
pub use catalog::CatalogStore;
pub use dossier::DossierStore;
pub use feedback::FeedbackStore;
pub use geo::GeoStore;
pub use identity::IdentityStore;
pub use notify::NotifyStore;
pub use opendata::OpenDataStore;
pub use system::SystemStore;

/// What a store can go wrong with, in terms the web edge can map to a status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state conflict; the text names what conflicted.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database did not answer (down, pool exhausted, network).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(d.constraint().unwrap_or("unique").to_string())
            }
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                StoreError::Conflict(d.constraint().unwrap_or("reference").to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(anyhow::Error::new(e)),
        }
    }
}

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Option<Engine> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }
}

/// A database URL with its password hidden when printed.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The live database: the engine and its pools. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite allows one writer at a time: writes go through a one-connection pool so they
    /// queue in the process instead of failing with SQLITE_BUSY; reads use a pool (WAL).
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// A write transaction on whichever engine is live.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Runs a read query body against the live engine's read pool; `$c` is the pool.
#[macro_export]
macro_rules! run {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite { reader, .. } => {
                let $c = reader;
                $body
            }
            $crate::Db::Postgres(pool) => {
                let $c = pool;
                $body
            }
        }
    };
}

/// Runs a query body inside a transaction; `$c` is the transaction's connection.
#[macro_export]
macro_rules! tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Options for opening the database.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl Db {
    /// Opens the database the URL names (creating a SQLite file if needed). Does not migrate.
    pub async fn connect(url: &str, opts: &DbOptions) -> Result<Db> {
        match Engine::from_url(url) {
            Some(Engine::Sqlite) => {
                let base = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Other(anyhow::anyhow!("bad SQLite URL: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // Acknowledged writes must survive a power cut.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(base.clone())
                    .await?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(opts.connect_timeout)
                    .connect_with(base.read_only(true))
                    .await?;
                Ok(Db::Sqlite { writer, reader })
            }
            Some(Engine::Postgres) => {
                let o = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Other(anyhow::anyhow!("bad PostgreSQL URL: {e}")))?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.connect_timeout)
                    .connect_with(o)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            None => Err(StoreError::Other(anyhow::anyhow!(
                "unsupported database URL {}: use sqlite://PATH or postgres://…",
                redact_url(url)
            ))),
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite { .. } => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Applies pending migrations. Refuses a database that a newer cityhall has migrated.
    pub async fn migrate(&self) -> Result<()> {
        let res = match self {
            Db::Sqlite { writer, .. } => sqlx::migrate!("migrations/sqlite").run(writer).await,
            Db::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await,
        };
        res.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => StoreError::Other(anyhow::anyhow!(
                "the database was migrated by a newer cityhall (migration {v} is unknown to this \
                 binary); run the newer version or restore a backup"
            )),
            other => StoreError::Other(anyhow::anyhow!("migration failed: {other}")),
        })
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Tx::Sqlite(writer.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        run!(self, |c| sqlx::query("SELECT 1")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Microseconds since the Unix epoch, the portable instant of every table.
pub fn micros(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// The inverse of [`micros`].
pub fn from_micros(us: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// A new time-ordered identifier.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_print_their_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/cityhall"),
            "postgres://app:***@db:5432/cityhall"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
