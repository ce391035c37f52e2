//! The procedure catalog: fields and effective-dated procedure versions. An import that
//! changes a procedure adds a version and moves `current` to it; dossiers keep pointing at
//! the version they were filed under.

use cityhall_core::catalog::{CatalogFile, Field, I18nText, Procedure};
use time::OffsetDateTime;
use tracing::instrument;

use crate::audit::{AuditStore, NewEntry};
use crate::{micros, new_id, run, tx, Db, Result, StoreError};

/// One stored version of a procedure.
#[derive(Debug, Clone)]
pub struct ProcedureVersion {
    pub id: String,
    pub version: i32,
    pub current: bool,
    pub created_at: i64,
    pub procedure: Procedure,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: String,
    version: i32,
    current: bool,
    created_at: i64,
    record: String,
}

impl TryFrom<VersionRow> for ProcedureVersion {
    type Error = StoreError;
    fn try_from(r: VersionRow) -> Result<Self> {
        let procedure = serde_json::from_str(&r.record)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("stored procedure {}: {e}", r.id)))?;
        Ok(ProcedureVersion {
            id: r.id,
            version: r.version,
            current: r.current,
            created_at: r.created_at,
            procedure,
        })
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CatalogImport {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
}

pub trait CatalogStore {
    /// Loads a checked catalog file in one transaction: new procedures get version 1, changed
    /// ones a new version, unchanged ones nothing. Each change is audited.
    async fn import_catalog(
        &self,
        now: OffsetDateTime,
        actor: &str,
        file: &CatalogFile,
    ) -> Result<CatalogImport>;
    async fn fields(&self) -> Result<Vec<Field>>;
    /// The versions in force, by code.
    async fn current_procedures(&self) -> Result<Vec<ProcedureVersion>>;
    async fn procedure_version(&self, id: &str) -> Result<ProcedureVersion>;
    /// Every version of one procedure, newest first.
    async fn procedure_history(&self, code: &str) -> Result<Vec<ProcedureVersion>>;
    /// When the catalog last changed (to let replicas notice an import elsewhere).
    async fn catalog_stamp(&self) -> Result<i64>;
}

const SELECT_VERSION: &str = "SELECT id, version, current, created_at, record FROM procedures";

impl CatalogStore for Db {
    #[instrument(skip_all, fields(procedures = file.procedures.len()))]
    async fn import_catalog(
        &self,
        now: OffsetDateTime,
        actor: &str,
        file: &CatalogFile,
    ) -> Result<CatalogImport> {
        let at = micros(now);
        let mut tx = self.begin().await?;
        for f in &file.fields {
            tx!(&mut tx, |c| sqlx::query(
                "INSERT INTO procedure_fields (code, name, name_en) VALUES ($1, $2, $3) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en"
            )
            .bind(&f.code)
            .bind(&f.name.vi)
            .bind(&f.name.en)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        let mut report = CatalogImport::default();
        for p in &file.procedures {
            let hash = p.content_hash();
            let existing: Option<(i32, String)> = tx!(&mut tx, |c| {
                sqlx::query_as(
                "SELECT version, content_hash FROM procedures WHERE code = $1 AND current = TRUE"
            )
            .bind(p.code.as_str())
            .fetch_optional(c)
            .await
            })?;
            let version: i32 = match &existing {
                Some((_, h)) if *h == hash => {
                    report.unchanged += 1;
                    continue;
                }
                Some(_) => {
                    report.changed += 1;
                    // Numbered after the highest version ever stored, not the current one.
                    let max: Option<i32> = tx!(&mut tx, |c| sqlx::query_scalar(
                        "SELECT MAX(version) FROM procedures WHERE code = $1"
                    )
                    .bind(p.code.as_str())
                    .fetch_one(c)
                    .await)?;
                    max.unwrap_or(0) + 1
                }
                None => {
                    report.added += 1;
                    1
                }
            };
            tx!(&mut tx, |c| sqlx::query(
                "UPDATE procedures SET current = FALSE WHERE code = $1 AND current = TRUE"
            )
            .bind(p.code.as_str())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            let id = new_id();
            let record = serde_json::to_string(p)
                .map_err(|e| StoreError::Other(anyhow::anyhow!("procedure {}: {e}", p.code)))?;
            let has_fee = p.channels.iter().any(|c| c.fee.unwrap_or(0) > 0);
            let complete = p.unverified.is_empty()
                && !p.documents.is_empty()
                && !p.steps.is_empty()
                && p.channels
                    .iter()
                    .all(|c| c.fee.is_some() && c.time_limit.is_some());
            tx!(&mut tx, |c| {
                sqlx::query(
                "INSERT INTO procedures (id, code, version, current, name, name_en, field, level, \
                 agency, online_level, has_online, has_fee, complete, effective_from, \
                 content_hash, record, created_at, created_by) \
                 VALUES ($1, $2, $3, TRUE, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            )
            .bind(&id)
            .bind(p.code.as_str())
            .bind(version)
            .bind(&p.name.vi)
            .bind(&p.name.en)
            .bind(&p.field)
            .bind(p.level.as_str())
            .bind(&p.agency)
            .bind(p.online_level.as_str())
            .bind(p.online().is_some())
            .bind(has_fee)
            .bind(complete)
            .bind(p.effective_from.to_string())
            .bind(&hash)
            .bind(&record)
            .bind(at)
            .bind(actor)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
            })?;
            Db::record(
                &mut tx,
                now,
                NewEntry {
                    actor,
                    action: if version == 1 {
                        "catalog.procedure.add"
                    } else {
                        "catalog.procedure.change"
                    },
                    object_type: "procedure",
                    object_id: p.code.as_str(),
                    subject_user_id: None,
                    detail: serde_json::json!({"version": version, "id": id, "hash": hash}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(report)
    }

    async fn fields(&self) -> Result<Vec<Field>> {
        let rows: Vec<(String, String, String)> = run!(self, |c| sqlx::query_as(
            "SELECT code, name, name_en FROM procedure_fields ORDER BY name"
        )
        .fetch_all(c)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(code, vi, en)| Field {
                code,
                name: I18nText { vi, en },
            })
            .collect())
    }

    async fn current_procedures(&self) -> Result<Vec<ProcedureVersion>> {
        let q = format!("{SELECT_VERSION} WHERE current = TRUE ORDER BY code");
        let rows: Vec<VersionRow> = run!(self, |c| sqlx::query_as(&q).fetch_all(c).await)?;
        rows.into_iter().map(ProcedureVersion::try_from).collect()
    }

    async fn procedure_version(&self, id: &str) -> Result<ProcedureVersion> {
        let q = format!("{SELECT_VERSION} WHERE id = $1");
        let row: VersionRow = run!(self, |c| sqlx::query_as(&q).bind(id).fetch_one(c).await)?;
        row.try_into()
    }

    async fn procedure_history(&self, code: &str) -> Result<Vec<ProcedureVersion>> {
        let q = format!("{SELECT_VERSION} WHERE code = $1 ORDER BY version DESC");
        let rows: Vec<VersionRow> =
            run!(self, |c| sqlx::query_as(&q).bind(code).fetch_all(c).await)?;
        rows.into_iter().map(ProcedureVersion::try_from).collect()
    }

    async fn catalog_stamp(&self) -> Result<i64> {
        let v: Option<i64> = run!(self, |c| sqlx::query_scalar(
            "SELECT MAX(created_at) FROM procedures"
        )
        .fetch_one(c)
        .await)?;
        Ok(v.unwrap_or(0))
    }
}
