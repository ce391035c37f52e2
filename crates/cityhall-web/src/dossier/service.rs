//! What filing and acting on a dossier do, shared by the pages and the API: decide with
//! core, then write the row, its timeline entry, its audit entry, its notification and any
//! signed result in one transaction.

use base64::Engine as _;
use cityhall_core::blob::FileType;
use cityhall_core::calendar::{TimeLimit, VN_OFFSET};
use cityhall_core::catalog::{ChannelKind, Procedure, Reuse};
use cityhall_core::dossier::{
    local_day, result_message, Actor, ClockRule, Delivery, Need, Outcome, TrackingCode,
    TransitionError, Workflow,
};
use cityhall_core::geo::{AgencyCode, WardCode};
use cityhall_db::audit::NewEntry;
use cityhall_db::catalog::ProcedureVersion;
use cityhall_db::dossier::{event, DossierRow, FileRow, IssuedRow};
use cityhall_db::notify::{Channel, NewMessage};
use cityhall_db::{
    from_micros, micros, new_id, AuditStore, Db, DossierStore, IdentityStore, NotifyStore,
    StoreError, Tx,
};
use ed25519_dalek::Signer;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{AppError, AppResult};
use crate::AppState;
use axum::http::StatusCode;

/// Who is filing.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub user_id: Option<String>,
    pub name: String,
    pub id_hash: Option<String>,
    pub id_hint: Option<String>,
    pub contact: Option<String>,
    /// The identity was checked (in person or by the national e-ID), so registry data
    /// about this person may be reused.
    pub verified: bool,
}

/// The person or business an application is made for (người được đại diện).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Represented {
    /// person | business
    pub kind: String,
    pub name: String,
    /// The last digits of the ID or the business code, never the whole number.
    #[serde(default)]
    pub id_hint: Option<String>,
    #[serde(default)]
    pub relation: Option<String>,
}

/// An uploaded file, already checked by content.
#[derive(Debug, Clone)]
pub struct Upload {
    pub field: String,
    pub filename: String,
    pub bytes: Vec<u8>,
    pub kind: FileType,
}

/// A component taken from elsewhere instead of an upload.
#[derive(Debug, Clone)]
pub enum Reused {
    Wallet { field: String, doc: Box<IssuedRow> },
    Registry { field: String, registry: String },
}

pub struct Submission {
    pub version: ProcedureVersion,
    pub applicant: Applicant,
    pub represented: Option<Represented>,
    pub form: serde_json::Map<String, serde_json::Value>,
    pub uploads: Vec<Upload>,
    pub reused: Vec<Reused>,
    pub channel: ChannelKind,
    pub delivery: Delivery,
    pub desk: Option<AgencyCode>,
    pub idem_key: Option<String>,
    /// Continue this draft (owned by the applicant) instead of making a new row.
    pub draft_id: Option<String>,
    /// false: save as a draft.
    pub submit: bool,
    pub registered_by: Option<String>,
}

/// The ward a dossier concerns: the form's `ward` field.
pub fn ward_of(form: &serde_json::Map<String, serde_json::Value>) -> Option<WardCode> {
    form.get("ward")
        .and_then(|v| v.as_str())
        .and_then(|s| WardCode::parse(s).ok())
}

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, "conflict", key)
}

/// The time limit that applies to a dossier filed through `channel`.
pub fn limit_for(p: &Procedure, channel: ChannelKind) -> Option<TimeLimit> {
    p.channel(channel)
        .and_then(|c| c.time_limit)
        .or_else(|| p.channels.iter().find_map(|c| c.time_limit))
}

fn fee_for(p: &Procedure, channel: ChannelKind) -> i64 {
    p.channel(channel)
        .and_then(|c| c.fee)
        .or_else(|| p.channels.iter().find_map(|c| c.fee))
        .unwrap_or(0)
}

/// Files (or saves as a draft) an application. Idempotent on (applicant, key): a repeated
/// submit returns the dossier the first one made.
pub async fn file(state: &AppState, now: OffsetDateTime, s: Submission) -> AppResult<DossierRow> {
    if let (Some(owner), Some(key)) = (&s.applicant.user_id, &s.idem_key) {
        if let Some(existing) = state.db.dossier_by_idem(owner, key).await? {
            if existing.code.is_some() || !s.submit {
                return Ok(existing);
            }
        }
    }
    let p = &s.version.procedure;
    let ward = ward_of(&s.form);
    let agency = p
        .competent_agency(ward.as_ref())
        .ok_or_else(|| AppError::bad_request("err-dossier-no-ward"))?;
    let at = micros(now);
    let existing_draft = match &s.draft_id {
        Some(id) => {
            let d = state.db.dossier(id).await?;
            if d.owner_id != s.applicant.user_id || d.code.is_some() {
                return Err(AppError::not_found());
            }
            Some(d)
        }
        None => None,
    };
    // Opened after every read through the pool: a transaction never waits for a second
    // connection (with enough concurrent requests, the pool would starve).
    let mut tx = state.db.begin().await?;
    let wf = Workflow::one_stop();
    let (code, state_id, status) = if s.submit {
        let day = local_day(now);
        let seq = Db::next_sequence(
            &mut tx,
            agency.as_str(),
            &cityhall_core::dossier::sequence_day(day),
        )
        .await?;
        let code = TrackingCode::new(&agency, day, u64::try_from(seq).unwrap_or(0));
        (
            Some(code.to_string()),
            wf.initial().id.clone(),
            i32::from(wf.initial().status),
        )
    } else {
        (None, "draft".to_string(), 0)
    };
    let mut row = existing_draft.clone().unwrap_or_else(|| DossierRow {
        id: new_id(),
        code: None,
        procedure_id: s.version.id.clone(),
        procedure_code: p.code.to_string(),
        owner_id: s.applicant.user_id.clone(),
        applicant_name: s.applicant.name.clone(),
        applicant_id_hash: s.applicant.id_hash.clone(),
        applicant_id_hint: s.applicant.id_hint.clone(),
        applicant_contact: s.applicant.contact.clone(),
        represented: None,
        state: String::new(),
        status: 0,
        channel: String::new(),
        delivery: String::new(),
        ward_code: None,
        agency_code: String::new(),
        desk_agency_code: None,
        form: String::new(),
        assigned_to: None,
        registered_by: s.registered_by.clone(),
        row_version: 1,
        idem_key: s.idem_key.clone(),
        time_limit: None,
        created_at: at,
        updated_at: at,
        submitted_at: None,
        accepted_at: None,
        due_at: None,
        rescheduled_due_at: None,
        finished_at: None,
        returned_at: None,
        outcome: None,
        last_reason: None,
        paused_micros: 0,
        pause_started_at: None,
        supplement_count: 0,
        fee: 0,
        fee_due: 0,
        fee_paid_online: false,
        paid_at: None,
        inputs_digitised: false,
        e_result: false,
        paper_result_required: false,
        reused_count: 0,
        rating: None,
        rating_comment: None,
        rated_at: None,
    });
    row.procedure_id = s.version.id.clone();
    row.code = code.clone();
    row.state = state_id.clone();
    row.status = status;
    row.channel = s.channel.as_str().into();
    row.delivery = s.delivery.as_str().into();
    row.ward_code = ward.as_ref().map(|w| w.as_str().to_string());
    row.agency_code = agency.to_string();
    row.desk_agency_code = s.desk.as_ref().map(|d| d.to_string());
    row.form = serde_json::Value::Object(s.form.clone()).to_string();
    row.represented = s
        .represented
        .as_ref()
        .map(|r| serde_json::to_string(r).unwrap_or_default());
    row.time_limit = limit_for(p, s.channel).map(|l| serde_json::to_string(&l).unwrap_or_default());
    row.fee = fee_for(p, s.channel);
    row.updated_at = at;
    row.paper_result_required = s.delivery != Delivery::Online;
    if s.submit {
        row.submitted_at = Some(at);
    }

    // Attachments: the bytes first (content-addressed), then the rows.
    let spec = p.form_spec().map_err(AppError::internal)?;
    let doc_of = |field: &str| -> Option<String> {
        spec.file_fields()
            .find(|(name, _)| *name == field)
            .and_then(|(_, doc)| doc.map(str::to_string))
    };
    let source = if s.registered_by.is_some() {
        "scan"
    } else {
        "upload"
    };
    for u in &s.uploads {
        if existing_draft.is_some() {
            Db::remove_draft_files(&mut tx, &row.id, &u.field).await?;
        }
    }
    for r in &s.reused {
        let field = match r {
            Reused::Wallet { field, .. } | Reused::Registry { field, .. } => field,
        };
        if existing_draft.is_some() {
            Db::remove_draft_files(&mut tx, &row.id, field).await?;
        }
    }
    if existing_draft.is_some() {
        Db::update_dossier(
            &mut tx,
            &row,
            existing_draft.as_ref().map(|d| d.row_version).unwrap_or(1),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => conflict("err-dossier-conflict"),
            e => e.into(),
        })?;
    } else {
        match Db::insert_dossier(&mut tx, &row).await {
            Ok(()) => {}
            Err(StoreError::Conflict(w)) if w == "idempotency" => {
                drop(tx);
                // A concurrent double submit won the race: answer with its dossier.
                if let (Some(owner), Some(key)) = (&s.applicant.user_id, &s.idem_key) {
                    if let Some(d) = state.db.dossier_by_idem(owner, key).await? {
                        return Ok(d);
                    }
                }
                return Err(conflict("err-dossier-conflict"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let stage = "application";
    for u in &s.uploads {
        let hash = state
            .blobs
            .put(&mut tx, now, &u.bytes, u.kind.mime())
            .await?;
        Db::add_file(
            &mut tx,
            &FileRow {
                id: new_id(),
                dossier_id: row.id.clone(),
                field: u.field.clone(),
                document_id: doc_of(&u.field),
                blob_hash: Some(hash),
                filename: u.filename.clone(),
                content_type: u.kind.mime().into(),
                size: i64::try_from(u.bytes.len()).unwrap_or(i64::MAX),
                source: source.into(),
                issued_document_id: None,
                stage: stage.into(),
                added_at: at,
                added_by: s.registered_by.clone().or(s.applicant.user_id.clone()),
            },
        )
        .await?;
    }
    for r in &s.reused {
        let (field, filename, issued, src) = match r {
            Reused::Wallet { field, doc } => {
                (field, doc.title.clone(), Some(doc.id.clone()), "wallet")
            }
            Reused::Registry { field, registry } => (field, registry.clone(), None, "registry"),
        };
        Db::add_file(
            &mut tx,
            &FileRow {
                id: new_id(),
                dossier_id: row.id.clone(),
                field: field.clone(),
                document_id: doc_of(field),
                blob_hash: None,
                filename,
                content_type: "application/json".into(),
                size: 0,
                source: src.into(),
                issued_document_id: issued,
                stage: stage.into(),
                added_at: at,
                added_by: s.applicant.user_id.clone(),
            },
        )
        .await?;
    }
    if s.submit {
        // Counted from what the dossier finally holds (a draft may have collected parts).
        row.reused_count = Db::count_reused(&mut tx, &row.id).await?;
        // Digitised inputs: every component is a digital file or reused data.
        row.inputs_digitised = true;
        let expected = if existing_draft.is_some() {
            existing_draft
                .as_ref()
                .map(|d| d.row_version + 1)
                .unwrap_or(1)
        } else {
            1
        };
        Db::update_dossier(&mut tx, &row, expected).await?;
        row.row_version = expected + 1;
        Db::add_event(
            &mut tx,
            &event(
                &row.id,
                now,
                s.registered_by
                    .as_deref()
                    .or(s.applicant.user_id.as_deref()),
                if s.registered_by.is_some() {
                    "officer"
                } else {
                    "applicant"
                },
                "submit",
                None,
                &state_id,
                None,
            ),
        )
        .await?;
        notify(&mut tx, now, &row, p).await?;
    } else if existing_draft.is_none() {
        // inserted as a draft: row_version stays 1
    } else {
        row.row_version += 1;
    }
    Db::record(
        &mut tx,
        now,
        NewEntry {
            actor: s
                .registered_by
                .as_deref()
                .or(s.applicant.user_id.as_deref())
                .unwrap_or("-"),
            action: if s.submit {
                "dossier.submit"
            } else {
                "dossier.draft"
            },
            object_type: "dossier",
            object_id: row.code.as_deref().unwrap_or(&row.id),
            subject_user_id: row.owner_id.as_deref(),
            detail: serde_json::json!({
                "procedure": p.code.as_str(), "version": s.version.version,
                "agency": row.agency_code, "channel": row.channel,
                "files": s.uploads.len(), "reused": s.reused.len(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    state.db.dossier(&row.id).await.map_err(Into::into)
}

/// Who is acting.
#[derive(Debug, Clone)]
pub struct ActorRef {
    pub user_id: String,
    pub kind: Actor,
    /// For officers: the agencies they serve.
    pub agencies: Vec<String>,
}

/// An action as asked for.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ActionRequest {
    pub action: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// Username of the officer to assign.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Amount in đồng for a payment request.
    #[serde(default)]
    pub amount: Option<i64>,
    /// The new appointment date (YYYY-MM-DD) of an apology letter.
    #[serde(default)]
    pub new_date: Option<String>,
    /// The version the actor saw; a newer stored version is a conflict.
    #[serde(default)]
    pub row_version: Option<i32>,
    /// Set by the payment callback only: the provider's confirmation, recorded in the same
    /// transaction as the `pay` transition so that neither can happen without the other.
    #[serde(skip)]
    pub payment: Option<PaymentConfirmation>,
}

/// A payment the provider confirmed.
#[derive(Debug, Clone, Default)]
pub struct PaymentConfirmation {
    pub txn: String,
    pub provider_ref: String,
    pub receipt: String,
}

/// Applies one workflow action. Extra components (a supplement's files) are written by
/// `extra` inside the same transaction.
pub async fn act(
    state: &AppState,
    now: OffsetDateTime,
    who: &ActorRef,
    code: &str,
    req: &ActionRequest,
    uploads: Vec<Upload>,
) -> AppResult<DossierRow> {
    let mut d = state.db.dossier_by_code(code).await?;
    match who.kind {
        Actor::Officer if who.agencies.contains(&d.agency_code) => {}
        Actor::Applicant if d.owner_id.as_deref() == Some(who.user_id.as_str()) => {}
        Actor::System => {}
        _ => return Err(AppError::forbidden()),
    }
    let wf = Workflow::one_stop();
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(2000).collect::<String>());
    let mut given = Vec::new();
    if reason.is_some() {
        given.push(Need::Reason);
    }
    if req
        .assignee
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty())
    {
        given.push(Need::Assignee);
    }
    if req.amount.is_some() {
        given.push(Need::Amount);
    }
    if req
        .new_date
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty())
    {
        given.push(Need::NewDate);
    }
    let target = wf
        .decide(&d.state, &req.action, who.kind, &given)
        .map_err(|e| match e {
            TransitionError::UnknownAction => AppError::bad_request("err-action-unknown"),
            TransitionError::WrongState => conflict("err-action-state"),
            TransitionError::WrongActor => AppError::forbidden(),
            TransitionError::Missing(n) => {
                let (field, key) = match n {
                    Need::Reason => ("reason", "err-action-reason"),
                    Need::Assignee => ("assignee", "err-action-assignee"),
                    Need::Amount => ("amount", "err-action-amount"),
                    Need::NewDate => ("new_date", "err-action-new-date"),
                };
                let mut e = AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_action", key);
                e.info.fields.push((field.into(), key.into()));
                e
            }
        })?
        .clone();
    if let Some(v) = req.row_version {
        if v != d.row_version {
            return Err(conflict("err-dossier-conflict"));
        }
    }
    let expected = d.row_version;
    let from = d.state.clone();
    let at = micros(now);
    let cal = &state.config.calendar;
    let version = crate::dossier::procedure_of(state, &d).await?;
    let p = &version.procedure;
    let mut issued: Option<IssuedRow> = None;
    let mut note = reason.clone();
    match req.action.as_str() {
        "accept" => {
            d.accepted_at = Some(at);
            let limit: Option<TimeLimit> = d
                .time_limit
                .as_deref()
                .and_then(|l| serde_json::from_str(l).ok());
            d.due_at = limit.map(|l| micros(cal.due(now, l, &[])));
        }
        "refuse" | "stop" | "withdraw" => {
            d.finished_at = Some(at);
            d.last_reason = reason.clone();
            if let Some(start) = d.pause_started_at.take() {
                let secs = cal.working_seconds_between(from_micros(start), now).max(0);
                d.paused_micros += secs * 1_000_000;
            }
        }
        "assign" => {
            let name = req.assignee.as_deref().unwrap_or("").trim();
            let user = state
                .db
                .user_by_login(name)
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| {
                    let mut e = AppError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_action",
                        "err-action-assignee-unknown",
                    );
                    e.info
                        .fields
                        .push(("assignee".into(), "err-action-assignee-unknown".into()));
                    e
                })?;
            let roles = state.db.roles_of(&user.id).await?;
            if !roles
                .iter()
                .any(|r| r.role == "officer" && r.agency_code == d.agency_code)
            {
                let mut e = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_action",
                    "err-action-assignee-unknown",
                );
                e.info
                    .fields
                    .push(("assignee".into(), "err-action-assignee-unknown".into()));
                return Err(e);
            }
            note = Some(user.username.clone());
            d.assigned_to = Some(user.id);
        }
        "request_supplement" => {
            d.supplement_count += 1;
            d.pause_started_at = Some(at);
            d.last_reason = reason.clone();
        }
        "supplement" => {
            if uploads.is_empty() {
                let mut e = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_action",
                    "err-supplement-files",
                );
                e.info
                    .fields
                    .push(("files".into(), "err-supplement-files".into()));
                return Err(e);
            }
            if let Some(start) = d.pause_started_at.take() {
                // The clock stopped while the resident worked: move the dates by exactly
                // the working time that passed.
                let secs = cal.working_seconds_between(from_micros(start), now).max(0);
                d.paused_micros += secs * 1_000_000;
                let shift = u64::try_from(secs).unwrap_or(0);
                d.due_at = d
                    .due_at
                    .map(|t| micros(cal.add_working_seconds(from_micros(t), shift)));
                d.rescheduled_due_at = d
                    .rescheduled_due_at
                    .map(|t| micros(cal.add_working_seconds(from_micros(t), shift)));
            }
            // The request was answered; its reason no longer stands.
            d.last_reason = None;
        }
        "request_payment" => {
            let amount = req.amount.unwrap_or(0);
            if !(1..=10_000_000_000).contains(&amount) {
                let mut e = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_action",
                    "err-action-amount",
                );
                e.info
                    .fields
                    .push(("amount".into(), "err-action-amount".into()));
                return Err(e);
            }
            d.fee_due = amount;
            note = Some(cityhall_core::dossier::format_dong(amount));
        }
        "pay" => {
            d.fee_paid_online = true;
            d.paid_at = Some(at);
        }
        "approve" => {
            d.finished_at = Some(at);
            d.outcome = Some("approved".into());
            d.last_reason = None;
            let doc = sign_result(state, now, &d, p)?;
            d.e_result = true;
            issued = Some(doc);
        }
        "reject" => {
            d.finished_at = Some(at);
            d.outcome = Some("rejected".into());
            d.last_reason = reason.clone();
        }
        "return" => {
            d.returned_at = Some(at);
        }
        "apologize" => {
            let date = time::Date::parse(
                req.new_date.as_deref().unwrap_or("").trim(),
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .ok()
            .filter(|dt| *dt > local_day(now) && cal.is_working_day(*dt))
            .ok_or_else(|| {
                let mut e = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_action",
                    "err-action-new-date",
                );
                e.info
                    .fields
                    .push(("new_date".into(), "err-action-new-date".into()));
                e
            })?;
            let t = date
                .with_hms(17, 0, 0)
                .map(|dt| dt.assume_offset(VN_OFFSET))
                .map_err(AppError::internal)?;
            d.rescheduled_due_at = Some(micros(t));
            d.last_reason = reason.clone();
            note = Some(format!("{} — {}", date, reason.clone().unwrap_or_default()));
        }
        _ => {}
    }
    if target.clock == ClockRule::Finished || target.clock == ClockRule::Final {
        d.pause_started_at = None;
    }
    d.state = target.id.clone();
    d.status = i32::from(target.status);
    d.updated_at = at;

    let mut tx = state.db.begin().await?;
    if let Some(p) = &req.payment {
        // Recorded once: a second confirmation finds the payment already paid and the
        // transaction (with the transition) is dropped.
        if !Db::mark_paid(&mut tx, &p.txn, &p.provider_ref, &p.receipt, at).await? {
            return Err(conflict("err-dossier-conflict"));
        }
    }
    Db::update_dossier(&mut tx, &d, expected)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => conflict("err-dossier-conflict"),
            e => e.into(),
        })?;
    d.row_version = expected + 1;
    for u in &uploads {
        let hash = state
            .blobs
            .put(&mut tx, now, &u.bytes, u.kind.mime())
            .await?;
        Db::add_file(
            &mut tx,
            &FileRow {
                id: new_id(),
                dossier_id: d.id.clone(),
                field: u.field.clone(),
                document_id: None,
                blob_hash: Some(hash),
                filename: u.filename.clone(),
                content_type: u.kind.mime().into(),
                size: i64::try_from(u.bytes.len()).unwrap_or(i64::MAX),
                source: "upload".into(),
                issued_document_id: None,
                stage: "supplement".into(),
                added_at: at,
                added_by: Some(who.user_id.clone()),
            },
        )
        .await?;
    }
    if let Some(doc) = &issued {
        Db::issue_document(&mut tx, doc).await?;
    }
    let kind = match who.kind {
        Actor::Applicant => "applicant",
        Actor::Officer => "officer",
        Actor::System => "system",
    };
    Db::add_event(
        &mut tx,
        &event(
            &d.id,
            now,
            Some(&who.user_id),
            kind,
            &req.action,
            Some(&from),
            &d.state,
            note.as_deref(),
        ),
    )
    .await?;
    Db::record(
        &mut tx,
        now,
        NewEntry {
            actor: &who.user_id,
            action: &format!("dossier.{}", req.action),
            object_type: "dossier",
            object_id: code,
            subject_user_id: d.owner_id.as_deref(),
            detail: serde_json::json!({"from": from, "to": d.state, "note": note}),
        },
    )
    .await?;
    notify(&mut tx, now, &d, p).await?;
    tx.commit().await?;
    Ok(d)
}

/// The signed digital result: a compact JSON payload and an Ed25519 signature over it with
/// the city's key. `/verify/{code}` checks it.
fn sign_result(
    state: &AppState,
    now: OffsetDateTime,
    d: &DossierRow,
    p: &Procedure,
) -> AppResult<IssuedRow> {
    let code = verify_code();
    let form: serde_json::Value = serde_json::from_str(&d.form).unwrap_or_default();
    let spec = p.form_spec().map_err(AppError::internal)?;
    // Only what the form asked (not file references) goes into the result.
    let data: serde_json::Map<String, serde_json::Value> = form
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    spec.field(k).is_some_and(|f| {
                        !matches!(f.kind, cityhall_core::catalog::FieldKind::File { .. })
                    })
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let represented: Option<serde_json::Value> = d
        .represented
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let issued_at = now
        .to_offset(VN_OFFSET)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(AppError::internal)?;
    let kind = p.result_kind.clone().unwrap_or_else(|| "ket-qua".into());
    let payload = serde_json::json!({
        "type": "cityhall.result/v1",
        "code": code,
        "dossier": d.code,
        "procedure": {"code": p.code.as_str(), "name": p.name.vi, "name_en": p.name.en},
        "kind": kind,
        "result": p.result.as_ref().map(|r| r.vi.clone()),
        "holder": {"name": d.applicant_name, "id_hint": d.applicant_id_hint},
        "represented": represented,
        "issuer": d.agency_code,
        "issued_at": issued_at,
        "data": data,
    });
    let payload = payload.to_string();
    let sig = state.config.audit_key.sign(&result_message(&payload));
    Ok(IssuedRow {
        id: new_id(),
        code,
        dossier_id: d.id.clone(),
        owner_id: d.owner_id.clone(),
        holder_id_hash: d.applicant_id_hash.clone(),
        kind,
        title: p
            .result
            .as_ref()
            .map(|r| r.vi.clone())
            .unwrap_or_else(|| p.name.vi.clone()),
        title_en: p
            .result
            .as_ref()
            .map(|r| r.en.clone())
            .unwrap_or_else(|| p.name.en.clone()),
        payload,
        signature: base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()),
        key_id: cityhall_db::audit::key_id(&state.config.audit_key.verifying_key()),
        issued_at: micros(now),
        revoked_at: None,
    })
}

/// An unguessable verification code (the result carries personal data).
fn verify_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let s: String = (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("KQ-{}-{}-{}-{}", &s[0..4], &s[4..8], &s[8..12], &s[12..16])
}

/// Queues the status-change message to the applicant (email or SMS by the contact's form).
async fn notify(tx: &mut Tx, now: OffsetDateTime, d: &DossierRow, p: &Procedure) -> AppResult<()> {
    let Some(contact) = d.applicant_contact.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(());
    };
    let Some(code) = d.code.as_deref() else {
        return Ok(());
    };
    let wf = Workflow::one_stop();
    let st = wf
        .state(&d.state)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let channel = if contact.contains('@') {
        Channel::Email
    } else {
        Channel::Sms
    };
    let subject = format!("Hồ sơ {code}: {} / {}", st.vi, st.en);
    let mut body = format!(
        "Hồ sơ {code} ({}) — {}.\nDossier {code} ({}) — {}.",
        p.name.vi, st.vi, p.name.en, st.en
    );
    if let Some(r) = &d.last_reason {
        if matches!(
            d.state.as_str(),
            "refused" | "supplement" | "done" | "stopped"
        ) {
            body.push_str(&format!("\n{r}"));
        }
    }
    if let Some(due) = d.rescheduled_due_at.or(d.due_at) {
        body.push_str(&format!(
            "\nHẹn trả / Due: {}",
            crate::dossier::local_when(due)
        ));
    }
    body.push_str(&format!("\n/dossiers/{code}"));
    Db::enqueue(
        tx,
        now,
        NewMessage {
            channel,
            recipient: contact,
            subject: &subject,
            body: &body,
        },
    )
    .await?;
    Ok(())
}

/// Whether the (possibly open) dossier is on time now.
pub fn on_time_now(d: &DossierRow, now: OffsetDateTime) -> Option<bool> {
    let due = from_micros(d.due_at?);
    Some(cityhall_core::dossier::on_time(
        due,
        d.finished_at.map(from_micros),
        now,
        u32::try_from(d.supplement_count).unwrap_or(u32::MAX),
    ))
}

/// Whether an outcome is approved.
pub fn outcome(d: &DossierRow) -> Option<Outcome> {
    match d.outcome.as_deref() {
        Some("approved") => Some(Outcome::Approved),
        Some("rejected") => Some(Outcome::Rejected),
        _ => None,
    }
}

/// Reuse offers for a procedure's documents: registry kinds, wallet kinds.
pub fn reuse_of(p: &Procedure, document: &str) -> Option<Reuse> {
    p.documents
        .iter()
        .find(|d| d.id == document)
        .and_then(|d| d.reuse.clone())
}
