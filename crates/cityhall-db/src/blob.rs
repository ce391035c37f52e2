//! Content-addressed attachment storage. The bytes live in files under the data folder
//! (one replica, or a shared volume) or in the database (replicas that share nothing else);
//! the `blobs` table records every blob either way, so references are checked by the
//! database.

use std::path::{Path, PathBuf};

use cityhall_core::blob::{address, is_address};
use time::OffsetDateTime;
use tracing::instrument;

use crate::{micros, run, tx, Db, Result, StoreError, Tx};

/// Where blob bytes are kept.
#[derive(Debug, Clone)]
pub enum BlobBackend {
    Files(PathBuf),
    Database,
}

/// A stored blob's metadata.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlobInfo {
    pub hash: String,
    pub size: i64,
    pub content_type: String,
}

/// The attachment store.
#[derive(Debug, Clone)]
pub struct Blobs {
    backend: BlobBackend,
}

impl Blobs {
    pub fn new(backend: BlobBackend) -> Blobs {
        Blobs { backend }
    }

    fn path(dir: &Path, hash: &str) -> PathBuf {
        dir.join(&hash[..2]).join(hash)
    }

    /// Stores `bytes` (already checked by content) and returns their address. Files are
    /// written before the row and renamed into place, so a crash leaves at most an
    /// unreferenced file, never a row without bytes. Storing the same bytes twice is free.
    #[instrument(skip_all, fields(size = bytes.len()))]
    pub async fn put(
        &self,
        tx: &mut Tx,
        now: OffsetDateTime,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<String> {
        let hash = address(bytes);
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        match &self.backend {
            BlobBackend::Files(dir) => {
                let path = Blobs::path(dir, &hash);
                if tokio::fs::metadata(&path).await.is_err() {
                    let parent = path.parent().unwrap_or(dir);
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| StoreError::Unavailable(format!("blob folder: {e}")))?;
                    let tmp = parent.join(format!(".{hash}.{}", crate::new_id()));
                    tokio::fs::write(&tmp, bytes)
                        .await
                        .map_err(|e| StoreError::Unavailable(format!("blob write: {e}")))?;
                    tokio::fs::rename(&tmp, &path)
                        .await
                        .map_err(|e| StoreError::Unavailable(format!("blob write: {e}")))?;
                }
                tx!(tx, |c| sqlx::query(
                    "INSERT INTO blobs (hash, size, content_type, data, created_at) \
                     VALUES ($1, $2, $3, NULL, $4) ON CONFLICT (hash) DO NOTHING"
                )
                .bind(&hash)
                .bind(size)
                .bind(content_type)
                .bind(micros(now))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
            }
            BlobBackend::Database => {
                tx!(tx, |c| sqlx::query(
                    "INSERT INTO blobs (hash, size, content_type, data, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING"
                )
                .bind(&hash)
                .bind(size)
                .bind(content_type)
                .bind(bytes)
                .bind(micros(now))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
            }
        }
        Ok(hash)
    }

    pub async fn info(&self, db: &Db, hash: &str) -> Result<Option<BlobInfo>> {
        Ok(run!(db, |c| sqlx::query_as(
            "SELECT hash, size, content_type FROM blobs WHERE hash = $1"
        )
        .bind(hash)
        .fetch_optional(c)
        .await)?)
    }

    /// The bytes at `hash`, checked against their address.
    #[instrument(skip_all)]
    pub async fn get(&self, db: &Db, hash: &str) -> Result<Option<(BlobInfo, Vec<u8>)>> {
        if !is_address(hash) {
            return Ok(None);
        }
        let Some(info) = self.info(db, hash).await? else {
            return Ok(None);
        };
        let bytes = match &self.backend {
            BlobBackend::Files(dir) => tokio::fs::read(Blobs::path(dir, hash))
                .await
                .map_err(|e| StoreError::Unavailable(format!("blob read: {e}")))?,
            BlobBackend::Database => {
                let data: Option<Vec<u8>> = run!(db, |c| sqlx::query_scalar(
                    "SELECT data FROM blobs WHERE hash = $1"
                )
                .bind(hash)
                .fetch_one(c)
                .await)?;
                data.ok_or_else(|| {
                    StoreError::Other(anyhow::anyhow!("blob {hash} is stored in files, not here"))
                })?
            }
        };
        if address(&bytes) != hash {
            return Err(StoreError::Other(anyhow::anyhow!(
                "blob {hash} is corrupted"
            )));
        }
        Ok(Some((info, bytes)))
    }
}
