//! The dossier API: file (with an `Idempotency-Key`), read (owner or the agency's staff),
//! public status, and officers' actions.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use cityhall_core::catalog::ChannelKind;
use cityhall_core::dossier::{Actor, Workflow};
use cityhall_db::dossier::DossierRow;
use cityhall_db::DossierStore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::resident::{check_application, log_read, viewer};
use super::service::{self, ActionRequest, ActorRef, Applicant, Submission};
use super::{RawFile, UploadForm};
use crate::auth::{Officer, Signed};
use crate::error::{AppError, AppResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
pub struct AttachmentIn {
    /// The form's file field.
    pub field: String,
    pub filename: String,
    /// The file, base64.
    pub content_base64: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RepresentedIn {
    /// person | business
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub relation: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct DossierIn {
    /// National procedure code.
    pub procedure: String,
    /// The form's values by field name.
    #[schema(value_type = Object)]
    pub form: serde_json::Map<String, serde_json::Value>,
    /// online | postal | desk
    #[serde(default = "online")]
    pub delivery: String,
    /// A ward desk (agency code) for handing in or collecting.
    #[serde(default)]
    pub desk: Option<String>,
    #[serde(default)]
    pub represented: Option<RepresentedIn>,
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
    /// Issued documents from the wallet, by form field: {"field": "document id"}.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub reuse: serde_json::Map<String, serde_json::Value>,
}

fn online() -> String {
    "online".into()
}

#[derive(Serialize, ToSchema)]
pub struct DossierOut {
    pub code: String,
    pub state: String,
    pub status: i32,
    pub procedure: String,
    pub agency: String,
    pub due_at: Option<String>,
    pub url: String,
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

pub fn rfc3339(us: i64) -> String {
    cityhall_db::from_micros(us)
        .to_offset(cityhall_core::calendar::VN_OFFSET)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn out(d: &DossierRow, extra: serde_json::Value) -> DossierOut {
    let mut record = serde_json::to_value(d).unwrap_or_default();
    if let (Some(r), Some(e)) = (record.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            r.insert(k.clone(), v.clone());
        }
        if let Some(f) = r
            .get("form")
            .and_then(|f| f.as_str())
            .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
        {
            r.insert("form".into(), f);
        }
    }
    DossierOut {
        code: d.code.clone().unwrap_or_default(),
        state: d.state.clone(),
        status: d.status,
        procedure: d.procedure_code.clone(),
        agency: d.agency_code.clone(),
        due_at: d.rescheduled_due_at.or(d.due_at).map(rfc3339),
        url: format!("/dossiers/{}", d.code.clone().unwrap_or_default()),
        record,
    }
}

fn invalid(fields: Vec<(String, String)>) -> AppError {
    let mut e = AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_dossier",
        "err-form-problems",
    );
    e.info.fields = fields;
    e
}

/// Files an application as the signed-in resident. The same `Idempotency-Key` again
/// returns the first dossier (200) instead of a new one (201).
#[utoipa::path(post, path = "/api/v1/dossiers", request_body = DossierIn,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = DossierOut), (status = 200, body = DossierOut),
               (status = 422, body = crate::api::ErrorBody), (status = 401, body = crate::api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    s: Signed,
    headers: HeaderMap,
    body: Result<Json<DossierIn>, JsonRejection>,
) -> AppResult<Response> {
    let Json(input) = body?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().chars().take(100).collect::<String>())
        .filter(|k| !k.is_empty());
    if let Some(k) = &key {
        if let Some(d) = state.db.dossier_by_idem(s.user_id(), k).await? {
            if d.code.is_some() {
                return Ok((StatusCode::OK, Json(out(&d, serde_json::json!({})))).into_response());
            }
        }
    }
    let v = state
        .catalog
        .snapshot()
        .get(input.procedure.trim())
        .cloned()
        .ok_or_else(|| invalid(vec![("procedure".into(), "err-procedure-unknown".into())]))?;
    if v.procedure.online().is_none() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "not_online",
            "err-not-online",
        ));
    }
    let mut form = UploadForm::default();
    for (k, val) in &input.form {
        let text = match val {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        form.fields.insert(format!("f_{k}"), text);
    }
    for (k, val) in &input.reuse {
        if let Some(id) = val.as_str() {
            form.fields.insert(format!("w_{k}"), id.to_string());
        }
    }
    form.fields
        .insert("delivery".into(), input.delivery.clone());
    form.fields
        .insert("desk".into(), input.desk.clone().unwrap_or_default());
    if let Some(r) = &input.represented {
        form.fields.insert("rep_kind".into(), r.kind.clone());
        form.fields.insert("rep_name".into(), r.name.clone());
        form.fields
            .insert("rep_id".into(), r.id.clone().unwrap_or_default());
        form.fields.insert(
            "rep_relation".into(),
            r.relation.clone().unwrap_or_default(),
        );
    }
    for a in &input.attachments {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(a.content_base64.trim())
            .map_err(|_| invalid(vec![(a.field.clone(), "err-base64".into())]))?;
        form.files.push(RawFile {
            field: format!("f_{}", a.field),
            filename: a.filename.chars().take(200).collect(),
            bytes,
        });
    }
    // The wallet is only needed when the caller asks to reuse something.
    let wallet = if input.reuse.is_empty() {
        vec![]
    } else {
        state.db.wallet(s.user_id()).await?
    };
    let verified = s.0.user.assurance != "none";
    let checked = check_application(
        &state,
        &v,
        &form,
        &wallet,
        verified,
        &Default::default(),
        true,
    )
    .await
    .map_err(|pr| {
        let mut fields: Vec<(String, String)> = pr
            .errors
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        if fields.is_empty() {
            fields = pr
                .general
                .iter()
                .map(|g| ("form".to_string(), g.to_string()))
                .collect();
        }
        invalid(fields)
    })?;
    let u = &s.0.user;
    let d = service::file(
        &state,
        OffsetDateTime::now_utc(),
        Submission {
            version: v,
            applicant: Applicant {
                user_id: Some(u.id.clone()),
                name: u.full_name.clone(),
                id_hash: None,
                id_hint: u.national_id_hint.clone(),
                contact: u.email.clone().or(u.phone.clone()),
                verified,
            },
            represented: checked.represented,
            form: checked.form,
            uploads: checked.uploads,
            reused: checked.reused,
            channel: ChannelKind::Online,
            delivery: checked.delivery,
            desk: checked.desk,
            idem_key: key,
            draft_id: None,
            submit: true,
            registered_by: None,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(out(&d, serde_json::json!({})))).into_response())
}

/// The full record: its owner, or staff of the competent agency or the desk it was filed at.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}", params(("code" = String, Path)),
    responses((status = 200, body = DossierOut), (status = 404, body = crate::api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn read(
    State(state): State<AppState>,
    s: Signed,
    Path(code): Path<String>,
) -> AppResult<Json<DossierOut>> {
    let d = state.db.dossier_by_code(code.trim()).await?;
    if viewer(&s, &d).is_none() {
        return Err(AppError::not_found());
    }
    log_read(&state, &s, &d, "dossier.read").await;
    let events = state.db.events(&d.id).await?;
    let files = state.db.files(&d.id).await?;
    let results = state.db.issued_for_dossier(&d.id).await?;
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|r| serde_json::json!({"code": r.code, "kind": r.kind, "title": r.title, "verify_url": format!("/verify/{}", r.code)}))
        .collect();
    Ok(Json(out(
        &d,
        serde_json::json!({"events": events, "files": files, "results": results}),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct StatusOut {
    pub code: String,
    /// National status code (1 new … 10 result returned).
    pub status: i32,
    pub state: String,
    pub state_name: String,
    pub state_name_en: String,
    pub procedure: String,
    pub procedure_name: String,
    pub due_at: Option<String>,
}

/// Public status of a dossier: nothing personal, as at the desk.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/status", params(("code" = String, Path)),
    responses((status = 200, body = StatusOut), (status = 404, body = crate::api::ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Json<StatusOut>> {
    let d = state.db.dossier_by_code(code.trim()).await?;
    let st = Workflow::one_stop()
        .state(&d.state)
        .ok_or_else(AppError::not_found)?;
    let snap = state.catalog.snapshot();
    Ok(Json(StatusOut {
        code: d.code.clone().unwrap_or_default(),
        status: d.status,
        state: d.state.clone(),
        state_name: st.name.vi.clone(),
        state_name_en: st.name.en.clone(),
        procedure: d.procedure_code.clone(),
        procedure_name: snap
            .get(&d.procedure_code)
            .map(|v| v.procedure.name.vi.clone())
            .unwrap_or_default(),
        due_at: d.rescheduled_due_at.or(d.due_at).map(rfc3339),
    }))
}

/// An officer's action on a dossier of their agency. Send `row_version` to be told (409)
/// when someone else acted first.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/actions", params(("code" = String, Path)),
    request_body = ActionRequest,
    responses((status = 200, body = DossierOut), (status = 409, body = crate::api::ErrorBody),
               (status = 422, body = crate::api::ErrorBody), (status = 403, body = crate::api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn action(
    State(state): State<AppState>,
    o: Officer,
    Path(code): Path<String>,
    body: Result<Json<ActionRequest>, JsonRejection>,
) -> AppResult<Json<DossierOut>> {
    let Json(req) = body?;
    let who = ActorRef {
        user_id: o.0.user_id().to_string(),
        kind: Actor::Officer,
        agencies: o.agencies(),
    };
    let d = state.db.dossier_by_code(code.trim()).await?;
    if viewer(&o.0, &d).is_none() {
        return Err(AppError::not_found());
    }
    let d = service::act(
        &state,
        OffsetDateTime::now_utc(),
        &who,
        code.trim(),
        &req,
        vec![],
    )
    .await?;
    Ok(Json(out(&d, serde_json::json!({}))))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dossiers", post(create))
        .route("/api/v1/dossiers/{code}", get(read))
        .route("/api/v1/dossiers/{code}/status", get(status))
        .route("/api/v1/dossiers/{code}/actions", post(action))
        .layer(axum::extract::DefaultBodyLimit::max(
            super::MAX_UPLOAD_BYTES * 4 / 3 + 64 * 1024,
        ))
}
