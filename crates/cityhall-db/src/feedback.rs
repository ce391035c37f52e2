//! Citizen feedback reports: creation with a tracking code from the daily sequence, changes
//! under optimistic concurrency (`row_version`), the timeline, photos, followers, queues and
//! public lists with correct totals, nearby open reports, routing overrides and Open311 keys.

use tracing::instrument;

use crate::args::{bind_args, push, Arg};
use crate::{run, tx, Db, Result, StoreError, Tx};

/// A report as stored.
#[derive(Debug, Clone, Default, sqlx::FromRow, serde::Serialize)]
pub struct ReportRow {
    pub id: String,
    pub code: String,
    pub category_code: String,
    pub status: String,
    pub channel: String,
    pub description: String,
    pub answers: String,
    pub address: Option<String>,
    pub ward_code: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub agency_code: String,
    pub assigned_to: Option<String>,
    pub reporter_id: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_email: Option<String>,
    pub reporter_phone: Option<String>,
    pub hide_name: bool,
    pub filed_by: Option<String>,
    #[serde(skip)]
    pub confirm_hash: Option<String>,
    pub confirm_attempts: i32,
    pub open311_token: Option<String>,
    #[serde(skip)]
    pub idem_key: Option<String>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub updated_at: i64,
    pub due_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub public_note: Option<String>,
    pub duplicate_of: Option<String>,
    pub reopen_count: i32,
    pub escalation_level: i32,
    pub escalated_at: Option<i64>,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<i64>,
    pub row_version: i32,
}

const COLUMNS: &str = "id, code, category_code, status, channel, description, answers, address, \
    ward_code, lat, lon, agency_code, assigned_to, reporter_id, reporter_name, reporter_email, \
    reporter_phone, hide_name, filed_by, confirm_hash, confirm_attempts, open311_token, idem_key, \
    created_at, confirmed_at, updated_at, due_at, resolved_at, closed_at, public_note, \
    duplicate_of, reopen_count, escalation_level, escalated_at, rating, rating_comment, rated_at, \
    row_version";

/// One entry of a report's timeline.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ReportEventRow {
    pub id: String,
    pub report_id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_kind: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub internal: bool,
    pub data: Option<String>,
}

/// A photo of a report (the resident's) or of its resolution (the unit's).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct PhotoRow {
    pub id: String,
    pub report_id: String,
    pub stage: String,
    pub blob_hash: String,
    pub content_type: String,
    pub size: i64,
    pub position: i32,
    pub added_at: i64,
}

/// A routing override: category (× ward, '' for all) → unit.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct RouteRow {
    pub category_code: String,
    pub ward_code: String,
    pub agency_code: String,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

/// An Open311 key as stored (never the key itself).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Open311KeyRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub revoked_at: Option<i64>,
}

/// How a list of reports is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportSort {
    #[default]
    Newest,
    Oldest,
    DueSoonest,
}

/// Which reports a list shows. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// Units whose queue this is (empty: any unit).
    pub agencies: Vec<String>,
    pub category: Option<String>,
    pub ward: Option<String>,
    pub statuses: Vec<String>,
    /// Leave out reports that are not public (unconfirmed).
    pub public_only: bool,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub assigned_to: Option<String>,
    /// Pending and due before this instant.
    pub due_before: Option<i64>,
    pub phone: Option<String>,
    pub reporter_id: Option<String>,
    pub codes: Vec<String>,
    pub sort: ReportSort,
    pub offset: i64,
    pub limit: i64,
}

fn list(args: &mut Vec<Arg>, items: &[String]) -> String {
    items
        .iter()
        .map(|s| push(args, Arg::Text(s.clone())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn filter_sql(f: &ReportFilter, args: &mut Vec<Arg>) -> String {
    let mut w = String::from(" WHERE 1 = 1");
    if !f.agencies.is_empty() {
        w.push_str(&format!(
            " AND agency_code IN ({})",
            list(args, &f.agencies)
        ));
    }
    if let Some(c) = &f.category {
        w.push_str(&format!(
            " AND category_code = {}",
            push(args, Arg::Text(c.clone()))
        ));
    }
    if let Some(c) = &f.ward {
        w.push_str(&format!(
            " AND ward_code = {}",
            push(args, Arg::Text(c.clone()))
        ));
    }
    if !f.statuses.is_empty() {
        w.push_str(&format!(" AND status IN ({})", list(args, &f.statuses)));
    }
    if f.public_only {
        w.push_str(" AND status <> 'unconfirmed'");
    }
    if let Some(t) = f.created_from {
        w.push_str(&format!(" AND created_at >= {}", push(args, Arg::Int(t))));
    }
    if let Some(t) = f.created_to {
        w.push_str(&format!(" AND created_at < {}", push(args, Arg::Int(t))));
    }
    if let Some(u) = &f.assigned_to {
        w.push_str(&format!(
            " AND assigned_to = {}",
            push(args, Arg::Text(u.clone()))
        ));
    }
    if let Some(t) = f.due_before {
        w.push_str(&format!(
            " AND status IN ('open', 'in_progress') AND due_at IS NOT NULL AND due_at < {}",
            push(args, Arg::Int(t))
        ));
    }
    if let Some(p) = &f.phone {
        w.push_str(&format!(
            " AND reporter_phone = {}",
            push(args, Arg::Text(p.clone()))
        ));
    }
    if let Some(u) = &f.reporter_id {
        w.push_str(&format!(
            " AND reporter_id = {}",
            push(args, Arg::Text(u.clone()))
        ));
    }
    if !f.codes.is_empty() {
        w.push_str(&format!(" AND code IN ({})", list(args, &f.codes)));
    }
    w
}

macro_rules! bind_report {
    ($q:expr, $r:expr) => {
        $q.bind(&$r.id)
            .bind(&$r.code)
            .bind(&$r.category_code)
            .bind(&$r.status)
            .bind(&$r.channel)
            .bind(&$r.description)
            .bind(&$r.answers)
            .bind(&$r.address)
            .bind(&$r.ward_code)
            .bind($r.lat)
            .bind($r.lon)
            .bind(&$r.agency_code)
            .bind(&$r.assigned_to)
            .bind(&$r.reporter_id)
            .bind(&$r.reporter_name)
            .bind(&$r.reporter_email)
            .bind(&$r.reporter_phone)
            .bind($r.hide_name)
            .bind(&$r.filed_by)
            .bind(&$r.confirm_hash)
            .bind($r.confirm_attempts)
            .bind(&$r.open311_token)
            .bind(&$r.idem_key)
            .bind($r.created_at)
            .bind($r.confirmed_at)
            .bind($r.updated_at)
            .bind($r.due_at)
            .bind($r.resolved_at)
            .bind($r.closed_at)
            .bind(&$r.public_note)
            .bind(&$r.duplicate_of)
            .bind($r.reopen_count)
            .bind($r.escalation_level)
            .bind($r.escalated_at)
            .bind($r.rating)
            .bind(&$r.rating_comment)
            .bind($r.rated_at)
            .bind($r.row_version)
    };
}

/// Storage of feedback reports.
#[allow(async_fn_in_trait)]
pub trait FeedbackStore {
    /// Inserts a report. A repeated idempotency key is `Conflict("idempotency")`.
    async fn insert_report(tx: &mut Tx, r: &ReportRow) -> Result<()>;
    /// Writes the mutable columns of `r` if the stored version is still `expected`, and bumps
    /// it; otherwise `Conflict("stale")` and nothing changes.
    async fn update_report(tx: &mut Tx, r: &ReportRow, expected: i32) -> Result<()>;
    async fn add_report_event(tx: &mut Tx, e: &ReportEventRow) -> Result<()>;
    async fn add_photo(tx: &mut Tx, p: &PhotoRow) -> Result<()>;
    /// Follows a report; false if already following.
    async fn follow(tx: &mut Tx, report_id: &str, user_id: &str, at: i64) -> Result<bool>;
    async fn report_by_code(&self, code: &str) -> Result<ReportRow>;
    async fn report_by_idem(&self, key: &str) -> Result<Option<ReportRow>>;
    async fn report_by_token(&self, token: &str) -> Result<ReportRow>;
    async fn report_events(&self, report_id: &str) -> Result<Vec<ReportEventRow>>;
    async fn photos(&self, report_id: &str) -> Result<Vec<PhotoRow>>;
    async fn followers(&self, report_id: &str) -> Result<Vec<String>>;
    /// A page of reports and the total that match.
    async fn reports(&self, f: &ReportFilter) -> Result<(Vec<ReportRow>, i64)>;
    /// Pending reports of a category within a box, nearest first by the caller.
    async fn open_within(
        &self,
        category: &str,
        bounds: (f64, f64, f64, f64),
        limit: i64,
    ) -> Result<Vec<ReportRow>>;
    /// Pending reports past their due instant whose escalation level is below `level`.
    async fn overdue(&self, now: i64, level: i32, limit: i64) -> Result<Vec<ReportRow>>;
    /// Resolved reports whose reopen window closed before `before`.
    async fn resolved_before(&self, before: i64, limit: i64) -> Result<Vec<ReportRow>>;
    async fn route_for(&self, category: &str, ward: &str) -> Result<Option<String>>;
    async fn routes(&self) -> Result<Vec<RouteRow>>;
    async fn set_route(tx: &mut Tx, r: &RouteRow) -> Result<()>;
    async fn delete_route(tx: &mut Tx, category: &str, ward: &str) -> Result<u64>;
    async fn insert_open311_key(tx: &mut Tx, k: &Open311KeyRow, key_hash: &str) -> Result<()>;
    /// The live key with this hash.
    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311KeyRow>>;
    async fn open311_keys(&self) -> Result<Vec<Open311KeyRow>>;
    async fn revoke_open311_key(tx: &mut Tx, id: &str, at: i64) -> Result<u64>;
}

impl FeedbackStore for Db {
    #[instrument(skip_all)]
    async fn insert_report(tx: &mut Tx, r: &ReportRow) -> Result<()> {
        let placeholders = (1..=38)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO reports ({COLUMNS}) VALUES ({placeholders})");
        let res = tx!(tx, |c| bind_report!(sqlx::query(&sql), r)
            .execute(c)
            .await
            .map(|x| x.rows_affected()));
        match res {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                let what = format!("{} {}", e.constraint().unwrap_or(""), e.message());
                if what.contains("idem") {
                    Err(StoreError::Conflict("idempotency".into()))
                } else {
                    Err(StoreError::Conflict("code".into()))
                }
            }
            r => r.map(|_| ()).map_err(StoreError::from),
        }
    }

    #[instrument(skip_all)]
    async fn update_report(tx: &mut Tx, r: &ReportRow, expected: i32) -> Result<()> {
        let n = tx!(tx, |c| sqlx::query(
            "UPDATE reports SET status = $2, agency_code = $3, assigned_to = $4, \
             confirm_hash = $5, confirm_attempts = $6, confirmed_at = $7, updated_at = $8, \
             due_at = $9, resolved_at = $10, closed_at = $11, public_note = $12, \
             duplicate_of = $13, reopen_count = $14, escalation_level = $15, escalated_at = $16, \
             rating = $17, rating_comment = $18, rated_at = $19, ward_code = $20, \
             row_version = row_version + 1 WHERE id = $1 AND row_version = $21"
        )
        .bind(&r.id)
        .bind(&r.status)
        .bind(&r.agency_code)
        .bind(&r.assigned_to)
        .bind(&r.confirm_hash)
        .bind(r.confirm_attempts)
        .bind(r.confirmed_at)
        .bind(r.updated_at)
        .bind(r.due_at)
        .bind(r.resolved_at)
        .bind(r.closed_at)
        .bind(&r.public_note)
        .bind(&r.duplicate_of)
        .bind(r.reopen_count)
        .bind(r.escalation_level)
        .bind(r.escalated_at)
        .bind(r.rating)
        .bind(&r.rating_comment)
        .bind(r.rated_at)
        .bind(&r.ward_code)
        .bind(expected)
        .execute(c)
        .await
        .map(|x| x.rows_affected()))?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict("stale".into()))
        }
    }

    async fn add_report_event(tx: &mut Tx, e: &ReportEventRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO report_events (id, report_id, at, actor_id, actor_kind, action, \
             from_status, to_status, note, internal, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(&e.id)
        .bind(&e.report_id)
        .bind(e.at)
        .bind(&e.actor_id)
        .bind(&e.actor_kind)
        .bind(&e.action)
        .bind(&e.from_status)
        .bind(&e.to_status)
        .bind(&e.note)
        .bind(e.internal)
        .bind(&e.data)
        .execute(c)
        .await
        .map(|x| x.rows_affected()))?;
        Ok(())
    }

    async fn add_photo(tx: &mut Tx, p: &PhotoRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO report_photos (id, report_id, stage, blob_hash, content_type, size, \
             position, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(&p.id)
        .bind(&p.report_id)
        .bind(&p.stage)
        .bind(&p.blob_hash)
        .bind(&p.content_type)
        .bind(p.size)
        .bind(p.position)
        .bind(p.added_at)
        .execute(c)
        .await
        .map(|x| x.rows_affected()))?;
        Ok(())
    }

    async fn follow(tx: &mut Tx, report_id: &str, user_id: &str, at: i64) -> Result<bool> {
        let n = tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO report_followers (report_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (report_id, user_id) DO NOTHING"
        )
        .bind(report_id)
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await
        .map(|x| x.rows_affected())
        })?;
        Ok(n == 1)
    }

    async fn report_by_code(&self, code: &str) -> Result<ReportRow> {
        let sql = format!("SELECT {COLUMNS} FROM reports WHERE code = $1");
        Ok(run!(self, |c| sqlx::query_as(&sql)
            .bind(code)
            .fetch_one(c)
            .await)?)
    }

    async fn report_by_idem(&self, key: &str) -> Result<Option<ReportRow>> {
        let sql = format!("SELECT {COLUMNS} FROM reports WHERE idem_key = $1");
        Ok(run!(self, |c| sqlx::query_as(&sql)
            .bind(key)
            .fetch_optional(c)
            .await)?)
    }

    async fn report_by_token(&self, token: &str) -> Result<ReportRow> {
        let sql = format!("SELECT {COLUMNS} FROM reports WHERE open311_token = $1");
        Ok(run!(self, |c| sqlx::query_as(&sql)
            .bind(token)
            .fetch_one(c)
            .await)?)
    }

    async fn report_events(&self, report_id: &str) -> Result<Vec<ReportEventRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, report_id, at, actor_id, actor_kind, action, from_status, to_status, \
             note, internal, data FROM report_events WHERE report_id = $1 ORDER BY at, id"
        )
        .bind(report_id)
        .fetch_all(c)
        .await)?)
    }

    async fn photos(&self, report_id: &str) -> Result<Vec<PhotoRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, report_id, stage, blob_hash, content_type, size, position, added_at \
             FROM report_photos WHERE report_id = $1 ORDER BY stage DESC, position"
        )
        .bind(report_id)
        .fetch_all(c)
        .await)?)
    }

    async fn followers(&self, report_id: &str) -> Result<Vec<String>> {
        Ok(run!(self, |c| sqlx::query_scalar(
            "SELECT user_id FROM report_followers WHERE report_id = $1 ORDER BY created_at"
        )
        .bind(report_id)
        .fetch_all(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn reports(&self, f: &ReportFilter) -> Result<(Vec<ReportRow>, i64)> {
        let mut args = Vec::new();
        let w = filter_sql(f, &mut args);
        let count_sql = format!("SELECT COUNT(*) FROM reports{w}");
        let total: i64 = run!(self, |c| bind_args!(sqlx::query_scalar(&count_sql), &args)
            .fetch_one(c)
            .await)?;
        let order = match f.sort {
            ReportSort::Newest => "created_at DESC, id DESC",
            ReportSort::Oldest => "created_at ASC, id ASC",
            ReportSort::DueSoonest => {
                "CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at ASC, id ASC"
            }
        };
        let limit = f.limit.clamp(1, 1000);
        let offset = f.offset.max(0);
        let sql = format!(
            "SELECT {COLUMNS} FROM reports{w} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let rows = run!(self, |c| bind_args!(sqlx::query_as(&sql), &args)
            .fetch_all(c)
            .await)?;
        Ok((rows, total))
    }

    async fn open_within(
        &self,
        category: &str,
        (lat0, lat1, lon0, lon1): (f64, f64, f64, f64),
        limit: i64,
    ) -> Result<Vec<ReportRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM reports WHERE category_code = $1 \
             AND status IN ('open', 'in_progress') AND lat BETWEEN $2 AND $3 \
             AND lon BETWEEN $4 AND $5 ORDER BY created_at DESC LIMIT $6"
        );
        Ok(run!(self, |c| sqlx::query_as(&sql)
            .bind(category)
            .bind(lat0)
            .bind(lat1)
            .bind(lon0)
            .bind(lon1)
            .bind(limit)
            .fetch_all(c)
            .await)?)
    }

    async fn overdue(&self, now: i64, level: i32, limit: i64) -> Result<Vec<ReportRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM reports WHERE status IN ('open', 'in_progress') \
             AND due_at IS NOT NULL AND due_at < $1 AND escalation_level < $2 \
             ORDER BY due_at LIMIT $3"
        );
        Ok(run!(self, |c| sqlx::query_as(&sql)
            .bind(now)
            .bind(level)
            .bind(limit)
            .fetch_all(c)
            .await)?)
    }

    async fn resolved_before(&self, before: i64, limit: i64) -> Result<Vec<ReportRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM reports WHERE status = 'resolved' AND resolved_at < $1 \
             ORDER BY resolved_at LIMIT $2"
        );
        Ok(run!(self, |c| sqlx::query_as(&sql)
            .bind(before)
            .bind(limit)
            .fetch_all(c)
            .await)?)
    }

    async fn route_for(&self, category: &str, ward: &str) -> Result<Option<String>> {
        // The ward's own rule wins over the category-wide one ('' sorts first, so DESC).
        Ok(run!(self, |c| sqlx::query_scalar(
            "SELECT agency_code FROM feedback_routes WHERE category_code = $1 \
             AND (ward_code = $2 OR ward_code = '') ORDER BY ward_code DESC LIMIT 1"
        )
        .bind(category)
        .bind(ward)
        .fetch_optional(c)
        .await)?)
    }

    async fn routes(&self) -> Result<Vec<RouteRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT category_code, ward_code, agency_code, updated_at, updated_by \
             FROM feedback_routes ORDER BY category_code, ward_code"
        )
        .fetch_all(c)
        .await)?)
    }

    async fn set_route(tx: &mut Tx, r: &RouteRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO feedback_routes (category_code, ward_code, agency_code, updated_at, \
             updated_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (category_code, ward_code) \
             DO UPDATE SET agency_code = $3, updated_at = $4, updated_by = $5"
        )
        .bind(&r.category_code)
        .bind(&r.ward_code)
        .bind(&r.agency_code)
        .bind(r.updated_at)
        .bind(&r.updated_by)
        .execute(c)
        .await
        .map(|x| x.rows_affected()))?;
        Ok(())
    }

    async fn delete_route(tx: &mut Tx, category: &str, ward: &str) -> Result<u64> {
        Ok(tx!(tx, |c| sqlx::query(
            "DELETE FROM feedback_routes WHERE category_code = $1 AND ward_code = $2"
        )
        .bind(category)
        .bind(ward)
        .execute(c)
        .await
        .map(|x| x.rows_affected()))?)
    }

    async fn insert_open311_key(tx: &mut Tx, k: &Open311KeyRow, key_hash: &str) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO open311_keys (id, name, key_hash, created_at, created_by, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_hash) DO NOTHING"
        )
        .bind(&k.id)
        .bind(&k.name)
        .bind(key_hash)
        .bind(k.created_at)
        .bind(&k.created_by)
        .bind(k.revoked_at)
        .execute(c)
        .await
        .map(|x| x.rows_affected()))?;
        Ok(())
    }

    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311KeyRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, name, created_at, created_by, revoked_at FROM open311_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL"
        )
        .bind(key_hash)
        .fetch_optional(c)
        .await)?)
    }

    async fn open311_keys(&self) -> Result<Vec<Open311KeyRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, name, created_at, created_by, revoked_at FROM open311_keys \
             ORDER BY created_at"
        )
        .fetch_all(c)
        .await)?)
    }

    async fn revoke_open311_key(tx: &mut Tx, id: &str, at: i64) -> Result<u64> {
        Ok(tx!(tx, |c| sqlx::query(
            "UPDATE open311_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
        )
        .bind(id)
        .bind(at)
        .execute(c)
        .await
        .map(|x| x.rows_affected()))?)
    }
}
