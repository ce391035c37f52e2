//! Administrative units and agencies: loaded from the reference data, upserted by code so a
//! re-import keeps every reference to them.

use cityhall_core::geo::{AgencySpec, UnitsFile, WardCode};
use time::OffsetDateTime;
use tracing::instrument;

use crate::audit::{AuditStore, NewEntry};
use crate::{micros, new_id, run, tx, Db, Result};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct UnitRow {
    pub code: String,
    pub province_code: String,
    pub name: String,
    pub name_en: String,
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AgencyRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub kind: String,
    pub ward_code: Option<String>,
    pub active: bool,
}

/// What an import changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportCounts {
    pub units: usize,
    pub agencies: usize,
}

pub trait GeoStore {
    /// Upserts units and agencies by code, in one transaction with its audit entry.
    async fn import_reference(
        &self,
        now: OffsetDateTime,
        units: &UnitsFile,
        agencies: &[(AgencySpec, Option<WardCode>)],
    ) -> Result<ImportCounts>;
    async fn units(&self) -> Result<Vec<UnitRow>>;
    async fn unit(&self, code: &str) -> Result<Option<UnitRow>>;
    async fn agencies(&self) -> Result<Vec<AgencyRow>>;
    async fn agency(&self, code: &str) -> Result<Option<AgencyRow>>;
}

const SELECT_AGENCY: &str = "SELECT id, code, name, name_en, kind, ward_code, active FROM agencies";

impl GeoStore for Db {
    #[instrument(skip_all, fields(units = units.units.len(), agencies = agencies.len()))]
    async fn import_reference(
        &self,
        now: OffsetDateTime,
        units: &UnitsFile,
        agencies: &[(AgencySpec, Option<WardCode>)],
    ) -> Result<ImportCounts> {
        let at = micros(now);
        let mut tx = self.begin().await?;
        let mut counts = ImportCounts::default();
        for u in &units.units {
            let n = tx!(&mut tx, |c| {
                sqlx::query(
                "INSERT INTO units (code, province_code, name, name_en, kind, lat, lon, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (code) DO UPDATE SET province_code = excluded.province_code, \
                 name = excluded.name, name_en = excluded.name_en, kind = excluded.kind, \
                 lat = excluded.lat, lon = excluded.lon, updated_at = excluded.updated_at \
                 WHERE units.name <> excluded.name OR units.name_en <> excluded.name_en \
                 OR units.kind <> excluded.kind OR units.lat <> excluded.lat \
                 OR units.lon <> excluded.lon OR units.province_code <> excluded.province_code"
            )
            .bind(u.code.as_str())
            .bind(&units.province.code)
            .bind(&u.name)
            .bind(&u.name_en)
            .bind(u.kind.as_str())
            .bind(u.lat)
            .bind(u.lon)
            .bind(at)
            .execute(c)
            .await.map(|r| r.rows_affected())
            })?;
            counts.units += n as usize;
        }
        for (a, ward) in agencies {
            let ward = ward.as_ref().map(|w| w.as_str());
            let n = tx!(&mut tx, |c| {
                sqlx::query(
                "INSERT INTO agencies (id, code, name, name_en, kind, ward_code, active, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
                 name_en = excluded.name_en, kind = excluded.kind, ward_code = excluded.ward_code, \
                 updated_at = excluded.updated_at \
                 WHERE agencies.name <> excluded.name OR agencies.name_en <> excluded.name_en \
                 OR agencies.kind <> excluded.kind \
                 OR COALESCE(agencies.ward_code, '') <> COALESCE(excluded.ward_code, '')"
            )
            .bind(new_id())
            .bind(a.code.as_str())
            .bind(&a.name)
            .bind(&a.name_en)
            .bind(&a.kind)
            .bind(ward)
            .bind(at)
            .execute(c)
            .await.map(|r| r.rows_affected())
            })?;
            counts.agencies += n as usize;
        }
        if counts != ImportCounts::default() {
            Db::record(
                &mut tx,
                now,
                NewEntry {
                    actor: "system",
                    action: "reference.import",
                    object_type: "reference",
                    object_id: &units.province.code,
                    subject_user_id: None,
                    detail: serde_json::json!({
                        "source": units.source,
                        "units_changed": counts.units,
                        "agencies_changed": counts.agencies,
                    }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(counts)
    }

    #[instrument(skip_all)]
    async fn units(&self) -> Result<Vec<UnitRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT code, province_code, name, name_en, kind, lat, lon FROM units ORDER BY code"
        )
        .fetch_all(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn unit(&self, code: &str) -> Result<Option<UnitRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT code, province_code, name, name_en, kind, lat, lon FROM units WHERE code = $1"
        )
        .bind(code)
        .fetch_optional(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn agencies(&self) -> Result<Vec<AgencyRow>> {
        // City-wide agencies first, then ward agencies by ward.
        Ok(run!(self, |c| {
            sqlx::query_as(&format!(
            "{SELECT_AGENCY} ORDER BY CASE WHEN ward_code IS NULL THEN 0 ELSE 1 END, ward_code, code"
        ))
        .fetch_all(c)
        .await
        })?)
    }

    #[instrument(skip_all)]
    async fn agency(&self, code: &str) -> Result<Option<AgencyRow>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_AGENCY} WHERE code = $1"
        ))
        .bind(code)
        .fetch_optional(c)
        .await)?)
    }
}
