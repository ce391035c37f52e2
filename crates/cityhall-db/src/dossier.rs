//! Dossiers: submission with a tracking code from a per-agency daily sequence, the
//! workflow's transitions under optimistic concurrency (`row_version`), the timeline,
//! attachments, signed results (the document wallet) and fee payments.
//!
//! The web layer loads a dossier, lets core decide the transition, changes the row and
//! calls [`DossierStore::update`] with the version it read; a concurrent change makes that
//! a [`StoreError::Conflict`], and nothing is written.

use time::OffsetDateTime;
use tracing::instrument;

use crate::args::{bind_args, push, Arg};
use crate::{micros, new_id, run, tx, Db, Result, StoreError, Tx};

/// A dossier as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct DossierRow {
    pub id: String,
    pub code: Option<String>,
    pub procedure_id: String,
    pub procedure_code: String,
    pub owner_id: Option<String>,
    pub applicant_name: String,
    #[serde(skip)]
    pub applicant_id_hash: Option<String>,
    pub applicant_id_hint: Option<String>,
    pub applicant_contact: Option<String>,
    pub represented: Option<String>,
    pub state: String,
    pub status: i32,
    pub channel: String,
    pub delivery: String,
    pub ward_code: Option<String>,
    pub agency_code: String,
    pub desk_agency_code: Option<String>,
    pub form: String,
    pub assigned_to: Option<String>,
    pub registered_by: Option<String>,
    pub row_version: i32,
    #[serde(skip)]
    pub idem_key: Option<String>,
    pub time_limit: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub accepted_at: Option<i64>,
    pub due_at: Option<i64>,
    pub rescheduled_due_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub returned_at: Option<i64>,
    pub outcome: Option<String>,
    pub last_reason: Option<String>,
    pub paused_micros: i64,
    pub pause_started_at: Option<i64>,
    pub supplement_count: i32,
    pub fee: i64,
    pub fee_due: i64,
    pub fee_paid_online: bool,
    pub paid_at: Option<i64>,
    pub inputs_digitised: bool,
    pub e_result: bool,
    pub paper_result_required: bool,
    pub reused_count: i32,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<i64>,
}

const COLUMNS: &str = "id, code, procedure_id, procedure_code, owner_id, applicant_name, \
    applicant_id_hash, applicant_id_hint, applicant_contact, represented, state, status, channel, \
    delivery, ward_code, agency_code, desk_agency_code, form, assigned_to, registered_by, \
    row_version, idem_key, time_limit, created_at, updated_at, submitted_at, accepted_at, due_at, \
    rescheduled_due_at, finished_at, returned_at, outcome, last_reason, paused_micros, \
    pause_started_at, supplement_count, fee, fee_due, fee_paid_online, paid_at, inputs_digitised, \
    e_result, paper_result_required, reused_count, rating, rating_comment, rated_at";

/// One entry of a dossier's timeline.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct EventRow {
    pub id: String,
    pub dossier_id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_kind: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: Option<String>,
    pub data: Option<String>,
}

/// An attachment or reused component of a dossier.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct FileRow {
    pub id: String,
    pub dossier_id: String,
    pub field: String,
    pub document_id: Option<String>,
    pub blob_hash: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub source: String,
    pub issued_document_id: Option<String>,
    pub stage: String,
    pub added_at: i64,
    pub added_by: Option<String>,
}

/// A signed result.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct IssuedRow {
    pub id: String,
    pub code: String,
    pub dossier_id: String,
    pub owner_id: Option<String>,
    #[serde(skip)]
    pub holder_id_hash: Option<String>,
    pub kind: String,
    pub title: String,
    pub title_en: String,
    pub payload: String,
    pub signature: String,
    pub key_id: String,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct PaymentRow {
    pub id: String,
    pub dossier_id: String,
    pub amount: i64,
    pub provider: String,
    pub status: String,
    pub provider_ref: Option<String>,
    pub receipt_no: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

/// Which dossiers an officer's inbox shows.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// Agencies whose dossiers the viewer may see (competent, or the desk it was filed at).
    pub agencies: Vec<String>,
    pub status: Option<i32>,
    pub procedure_code: Option<String>,
    pub assigned_to: Option<String>,
    /// Open dossiers due before this instant (due today / overdue).
    pub due_before: Option<i64>,
    pub due_after: Option<i64>,
    pub open_only: bool,
    pub sort: InboxSort,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InboxSort {
    #[default]
    Newest,
    Oldest,
    DueSoonest,
}

pub trait DossierStore {
    /// The next sequence number for `agency` on `day` (local `yymmdd`), inside `tx`.
    async fn next_sequence(tx: &mut Tx, agency: &str, day: &str) -> Result<i64>;
    /// Inserts a dossier (draft or submitted). A second insert with the same owner and
    /// idempotency key is a `Conflict("idempotency")`.
    async fn insert_dossier(tx: &mut Tx, d: &DossierRow) -> Result<()>;
    /// Writes every mutable column of `d` if the stored `row_version` is still `expected`,
    /// and bumps it. Otherwise `Conflict("stale")` and nothing changes.
    async fn update_dossier(tx: &mut Tx, d: &DossierRow, expected: i32) -> Result<()>;
    async fn add_event(tx: &mut Tx, e: &EventRow) -> Result<()>;
    async fn add_file(tx: &mut Tx, f: &FileRow) -> Result<()>;
    /// How many application components were reused (wallet or registry) instead of uploaded.
    async fn count_reused(tx: &mut Tx, dossier_id: &str) -> Result<i32>;
    /// Removes a draft's file rows for a field (when the resident replaces an upload).
    async fn remove_draft_files(tx: &mut Tx, dossier_id: &str, field: &str) -> Result<u64>;
    async fn dossier(&self, id: &str) -> Result<DossierRow>;
    async fn dossier_by_code(&self, code: &str) -> Result<DossierRow>;
    async fn dossier_by_idem(&self, owner_id: &str, key: &str) -> Result<Option<DossierRow>>;
    async fn events(&self, dossier_id: &str) -> Result<Vec<EventRow>>;
    async fn files(&self, dossier_id: &str) -> Result<Vec<FileRow>>;
    async fn owned(
        &self,
        owner_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<DossierRow>, i64)>;
    async fn inbox(&self, f: &InboxFilter) -> Result<(Vec<DossierRow>, i64)>;
    async fn issue_document(tx: &mut Tx, d: &IssuedRow) -> Result<()>;
    async fn issued_by_code(&self, code: &str) -> Result<IssuedRow>;
    async fn issued_by_id(&self, id: &str) -> Result<IssuedRow>;
    async fn issued_for_dossier(&self, dossier_id: &str) -> Result<Vec<IssuedRow>>;
    /// The holder's wallet: results issued to them, newest first.
    async fn wallet(&self, owner_id: &str) -> Result<Vec<IssuedRow>>;
    async fn insert_payment(tx: &mut Tx, p: &PaymentRow) -> Result<()>;
    async fn payment(&self, id: &str) -> Result<PaymentRow>;
    /// Marks a pending payment paid; false if it was not pending (a repeated callback).
    async fn mark_paid(
        tx: &mut Tx,
        id: &str,
        provider_ref: &str,
        receipt_no: &str,
        at: i64,
    ) -> Result<bool>;
    async fn payments(&self, dossier_id: &str) -> Result<Vec<PaymentRow>>;
}

fn push_filter(f: &InboxFilter, sql: &mut String, args: &mut Vec<Arg>) {
    if f.agencies.is_empty() {
        sql.push_str(" AND 1 = 0");
    } else {
        let mut list = Vec::new();
        for a in &f.agencies {
            list.push(push(args, Arg::Text(a.clone())));
        }
        let list = list.join(", ");
        sql.push_str(&format!(
            " AND (agency_code IN ({list}) OR desk_agency_code IN ({list}))"
        ));
    }
    sql.push_str(" AND code IS NOT NULL");
    if let Some(s) = f.status {
        let p = push(args, Arg::Int(i64::from(s)));
        sql.push_str(&format!(" AND status = {p}"));
    }
    if let Some(code) = &f.procedure_code {
        let p = push(args, Arg::Text(code.clone()));
        sql.push_str(&format!(" AND procedure_code = {p}"));
    }
    if let Some(u) = &f.assigned_to {
        let p = push(args, Arg::Text(u.clone()));
        sql.push_str(&format!(" AND assigned_to = {p}"));
    }
    if f.open_only || f.due_before.is_some() {
        sql.push_str(" AND status IN (1, 2, 4, 5, 6)");
    }
    if let Some(t) = f.due_before {
        let p = push(args, Arg::Int(t));
        sql.push_str(&format!(" AND due_at IS NOT NULL AND due_at < {p}"));
    }
    if let Some(t) = f.due_after {
        let p = push(args, Arg::Int(t));
        sql.push_str(&format!(" AND due_at >= {p}"));
    }
}

impl DossierStore for Db {
    async fn next_sequence(tx: &mut Tx, agency: &str, day: &str) -> Result<i64> {
        // An upsert that returns the new value: atomic on both engines, so two replicas
        // never hand out the same code.
        Ok(tx!(tx, |c| sqlx::query_scalar(
            "INSERT INTO tracking_sequences (agency_code, day, next_value) VALUES ($1, $2, 1) \
             ON CONFLICT (agency_code, day) DO UPDATE \
             SET next_value = tracking_sequences.next_value + 1 RETURNING next_value"
        )
        .bind(agency)
        .bind(day)
        .fetch_one(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn insert_dossier(tx: &mut Tx, d: &DossierRow) -> Result<()> {
        let placeholders = (1..=47)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO dossiers ({COLUMNS}) VALUES ({placeholders})");
        let r = tx!(tx, |c| bind_all(sqlx::query(&sql), d)
            .execute(c)
            .await
            .map(|r| r.rows_affected()));
        match r {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                let what = e.constraint().unwrap_or("").to_string();
                if what.contains("code") && !what.contains("idem") {
                    Err(StoreError::Conflict("code".into()))
                } else {
                    Err(StoreError::Conflict("idempotency".into()))
                }
            }
            r => r.map(|_| ()).map_err(StoreError::from),
        }
    }

    #[instrument(skip_all)]
    async fn update_dossier(tx: &mut Tx, d: &DossierRow, expected: i32) -> Result<()> {
        let n = tx!(tx, |c| {
            sqlx::query(
            "UPDATE dossiers SET code = $2, state = $3, status = $4, delivery = $5, ward_code = $6, \
             agency_code = $7, desk_agency_code = $8, form = $9, assigned_to = $10, \
             time_limit = $11, updated_at = $12, submitted_at = $13, accepted_at = $14, \
             due_at = $15, rescheduled_due_at = $16, finished_at = $17, returned_at = $18, \
             outcome = $19, last_reason = $20, paused_micros = $21, pause_started_at = $22, \
             supplement_count = $23, fee = $24, fee_due = $25, fee_paid_online = $26, \
             paid_at = $27, inputs_digitised = $28, e_result = $29, reused_count = $30, \
             rating = $31, rating_comment = $32, rated_at = $33, represented = $34, \
             channel = $35, applicant_contact = $36, procedure_id = $37, \
             row_version = row_version + 1 WHERE id = $1 AND row_version = $38"
        )
        .bind(&d.id)
        .bind(&d.code)
        .bind(&d.state)
        .bind(d.status)
        .bind(&d.delivery)
        .bind(&d.ward_code)
        .bind(&d.agency_code)
        .bind(&d.desk_agency_code)
        .bind(&d.form)
        .bind(&d.assigned_to)
        .bind(&d.time_limit)
        .bind(d.updated_at)
        .bind(d.submitted_at)
        .bind(d.accepted_at)
        .bind(d.due_at)
        .bind(d.rescheduled_due_at)
        .bind(d.finished_at)
        .bind(d.returned_at)
        .bind(&d.outcome)
        .bind(&d.last_reason)
        .bind(d.paused_micros)
        .bind(d.pause_started_at)
        .bind(d.supplement_count)
        .bind(d.fee)
        .bind(d.fee_due)
        .bind(d.fee_paid_online)
        .bind(d.paid_at)
        .bind(d.inputs_digitised)
        .bind(d.e_result)
        .bind(d.reused_count)
        .bind(d.rating)
        .bind(&d.rating_comment)
        .bind(d.rated_at)
        .bind(&d.represented)
        .bind(&d.channel)
        .bind(&d.applicant_contact)
        .bind(&d.procedure_id)
        .bind(expected)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict("stale".into()))
        }
    }

    async fn add_event(tx: &mut Tx, e: &EventRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO dossier_events (id, dossier_id, at, actor_id, actor_kind, action, \
             from_state, to_state, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(&e.id)
        .bind(&e.dossier_id)
        .bind(e.at)
        .bind(&e.actor_id)
        .bind(&e.actor_kind)
        .bind(&e.action)
        .bind(&e.from_state)
        .bind(&e.to_state)
        .bind(&e.note)
        .bind(&e.data)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn add_file(tx: &mut Tx, f: &FileRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO dossier_files (id, dossier_id, field, document_id, blob_hash, filename, \
             content_type, size, source, issued_document_id, stage, added_at, added_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        .bind(&f.id)
        .bind(&f.dossier_id)
        .bind(&f.field)
        .bind(&f.document_id)
        .bind(&f.blob_hash)
        .bind(&f.filename)
        .bind(&f.content_type)
        .bind(f.size)
        .bind(&f.source)
        .bind(&f.issued_document_id)
        .bind(&f.stage)
        .bind(f.added_at)
        .bind(&f.added_by)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn count_reused(tx: &mut Tx, dossier_id: &str) -> Result<i32> {
        let n: i64 = tx!(tx, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM dossier_files WHERE dossier_id = $1 \
             AND stage = 'application' AND source IN ('wallet', 'registry')"
        )
        .bind(dossier_id)
        .fetch_one(c)
        .await)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    async fn remove_draft_files(tx: &mut Tx, dossier_id: &str, field: &str) -> Result<u64> {
        Ok(tx!(tx, |c| {
            sqlx::query(
            "DELETE FROM dossier_files WHERE dossier_id = $1 AND field = $2 AND stage = 'application' \
             AND dossier_id IN (SELECT id FROM dossiers WHERE id = $1 AND code IS NULL)"
        )
        .bind(dossier_id)
        .bind(field)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?)
    }

    async fn dossier(&self, id: &str) -> Result<DossierRow> {
        let q = format!("SELECT {COLUMNS} FROM dossiers WHERE id = $1");
        Ok(run!(self, |c| sqlx::query_as(&q)
            .bind(id)
            .fetch_one(c)
            .await)?)
    }

    async fn dossier_by_code(&self, code: &str) -> Result<DossierRow> {
        let q = format!("SELECT {COLUMNS} FROM dossiers WHERE code = $1");
        Ok(run!(self, |c| sqlx::query_as(&q)
            .bind(code)
            .fetch_one(c)
            .await)?)
    }

    async fn dossier_by_idem(&self, owner_id: &str, key: &str) -> Result<Option<DossierRow>> {
        let q = format!("SELECT {COLUMNS} FROM dossiers WHERE owner_id = $1 AND idem_key = $2");
        Ok(run!(self, |c| sqlx::query_as(&q)
            .bind(owner_id)
            .bind(key)
            .fetch_optional(c)
            .await)?)
    }

    async fn events(&self, dossier_id: &str) -> Result<Vec<EventRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, dossier_id, at, actor_id, actor_kind, action, from_state, to_state, note, \
             data FROM dossier_events WHERE dossier_id = $1 ORDER BY at, id"
        )
        .bind(dossier_id)
        .fetch_all(c)
        .await)?)
    }

    async fn files(&self, dossier_id: &str) -> Result<Vec<FileRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, dossier_id, field, document_id, blob_hash, filename, content_type, size, \
             source, issued_document_id, stage, added_at, added_by FROM dossier_files \
             WHERE dossier_id = $1 ORDER BY added_at, id"
        )
        .bind(dossier_id)
        .fetch_all(c)
        .await)?)
    }

    async fn owned(
        &self,
        owner_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<DossierRow>, i64)> {
        let q = format!(
            "SELECT {COLUMNS} FROM dossiers WHERE owner_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let rows = run!(self, |c| sqlx::query_as(&q)
            .bind(owner_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(c)
            .await)?;
        let total: i64 = run!(self, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM dossiers WHERE owner_id = $1"
        )
        .bind(owner_id)
        .fetch_one(c)
        .await)?;
        Ok((rows, total))
    }

    #[instrument(skip_all)]
    async fn inbox(&self, f: &InboxFilter) -> Result<(Vec<DossierRow>, i64)> {
        let mut where_ = String::from(" WHERE 1 = 1");
        let mut args = Vec::new();
        push_filter(f, &mut where_, &mut args);
        let order = match f.sort {
            InboxSort::Newest => "submitted_at DESC, id DESC",
            InboxSort::Oldest => "submitted_at ASC, id ASC",
            InboxSort::DueSoonest => {
                "CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at ASC, id ASC"
            }
        };
        let n = args.len();
        let q = format!(
            "SELECT {COLUMNS} FROM dossiers{where_} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let count = format!("SELECT COUNT(*) FROM dossiers{where_}");
        let rows = run!(self, |c| bind_args!(sqlx::query_as(&q), &args)
            .bind(f.limit)
            .bind(f.offset)
            .fetch_all(c)
            .await)?;
        let total: i64 = run!(self, |c| bind_args!(sqlx::query_scalar(&count), &args)
            .fetch_one(c)
            .await)?;
        Ok((rows, total))
    }

    async fn issue_document(tx: &mut Tx, d: &IssuedRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO issued_documents (id, code, dossier_id, owner_id, holder_id_hash, kind, \
             title, title_en, payload, signature, key_id, issued_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        .bind(&d.id)
        .bind(&d.code)
        .bind(&d.dossier_id)
        .bind(&d.owner_id)
        .bind(&d.holder_id_hash)
        .bind(&d.kind)
        .bind(&d.title)
        .bind(&d.title_en)
        .bind(&d.payload)
        .bind(&d.signature)
        .bind(&d.key_id)
        .bind(d.issued_at)
        .bind(d.revoked_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn issued_by_code(&self, code: &str) -> Result<IssuedRow> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_ISSUED} WHERE code = $1"
        ))
        .bind(code)
        .fetch_one(c)
        .await)?)
    }

    async fn issued_by_id(&self, id: &str) -> Result<IssuedRow> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_ISSUED} WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(c)
        .await)?)
    }

    async fn issued_for_dossier(&self, dossier_id: &str) -> Result<Vec<IssuedRow>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_ISSUED} WHERE dossier_id = $1 ORDER BY issued_at"
        ))
        .bind(dossier_id)
        .fetch_all(c)
        .await)?)
    }

    async fn wallet(&self, owner_id: &str) -> Result<Vec<IssuedRow>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_ISSUED} WHERE owner_id = $1 AND revoked_at IS NULL ORDER BY issued_at DESC"
        ))
        .bind(owner_id)
        .fetch_all(c)
        .await)?)
    }

    async fn insert_payment(tx: &mut Tx, p: &PaymentRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "INSERT INTO payments (id, dossier_id, amount, provider, status, provider_ref, \
             receipt_no, created_at, paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(&p.id)
        .bind(&p.dossier_id)
        .bind(p.amount)
        .bind(&p.provider)
        .bind(&p.status)
        .bind(&p.provider_ref)
        .bind(&p.receipt_no)
        .bind(p.created_at)
        .bind(p.paid_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn payment(&self, id: &str) -> Result<PaymentRow> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_PAYMENT} WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(c)
        .await)?)
    }

    async fn mark_paid(
        tx: &mut Tx,
        id: &str,
        provider_ref: &str,
        receipt_no: &str,
        at: i64,
    ) -> Result<bool> {
        let n = tx!(tx, |c| {
            sqlx::query(
            "UPDATE payments SET status = 'paid', provider_ref = $2, receipt_no = $3, paid_at = $4 \
             WHERE id = $1 AND status = 'pending'"
        )
        .bind(id)
        .bind(provider_ref)
        .bind(receipt_no)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    async fn payments(&self, dossier_id: &str) -> Result<Vec<PaymentRow>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_PAYMENT} WHERE dossier_id = $1 ORDER BY created_at"
        ))
        .bind(dossier_id)
        .fetch_all(c)
        .await)?)
    }
}

const SELECT_ISSUED: &str = "SELECT id, code, dossier_id, owner_id, holder_id_hash, kind, title, \
    title_en, payload, signature, key_id, issued_at, revoked_at FROM issued_documents";
const SELECT_PAYMENT: &str = "SELECT id, dossier_id, amount, provider, status, provider_ref, \
    receipt_no, created_at, paid_at FROM payments";

fn bind_all<'q, DB: sqlx::Database>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    d: &'q DossierRow,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i32>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(d.id.clone())
        .bind(d.code.clone())
        .bind(d.procedure_id.clone())
        .bind(d.procedure_code.clone())
        .bind(d.owner_id.clone())
        .bind(d.applicant_name.clone())
        .bind(d.applicant_id_hash.clone())
        .bind(d.applicant_id_hint.clone())
        .bind(d.applicant_contact.clone())
        .bind(d.represented.clone())
        .bind(d.state.clone())
        .bind(d.status)
        .bind(d.channel.clone())
        .bind(d.delivery.clone())
        .bind(d.ward_code.clone())
        .bind(d.agency_code.clone())
        .bind(d.desk_agency_code.clone())
        .bind(d.form.clone())
        .bind(d.assigned_to.clone())
        .bind(d.registered_by.clone())
        .bind(d.row_version)
        .bind(d.idem_key.clone())
        .bind(d.time_limit.clone())
        .bind(d.created_at)
        .bind(d.updated_at)
        .bind(d.submitted_at)
        .bind(d.accepted_at)
        .bind(d.due_at)
        .bind(d.rescheduled_due_at)
        .bind(d.finished_at)
        .bind(d.returned_at)
        .bind(d.outcome.clone())
        .bind(d.last_reason.clone())
        .bind(d.paused_micros)
        .bind(d.pause_started_at)
        .bind(d.supplement_count)
        .bind(d.fee)
        .bind(d.fee_due)
        .bind(d.fee_paid_online)
        .bind(d.paid_at)
        .bind(d.inputs_digitised)
        .bind(d.e_result)
        .bind(d.paper_result_required)
        .bind(d.reused_count)
        .bind(d.rating)
        .bind(d.rating_comment.clone())
        .bind(d.rated_at)
}

/// A new event row for `dossier` at `now`.
#[allow(clippy::too_many_arguments)]
pub fn event(
    dossier_id: &str,
    now: OffsetDateTime,
    actor_id: Option<&str>,
    actor_kind: &str,
    action: &str,
    from: Option<&str>,
    to: &str,
    note: Option<&str>,
) -> EventRow {
    EventRow {
        id: new_id(),
        dossier_id: dossier_id.to_string(),
        at: micros(now),
        actor_id: actor_id.map(str::to_string),
        actor_kind: actor_kind.to_string(),
        action: action.to_string(),
        from_state: from.map(str::to_string),
        to_state: to.to_string(),
        note: note.map(str::to_string),
        data: None,
    }
}
