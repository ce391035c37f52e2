//! The feedback JSON API beside Open311: a report's public record, and actions on it by
//! the unit's staff (officers, supervisors) or by its reporter, with bearer tokens.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use cityhall_core::feedback::{Actor, Status};
use cityhall_db::feedback::ReportRow;
use cityhall_db::FeedbackStore;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::desk::unit_staff;
use super::service::{self, ReportAction, Who};
use crate::auth::Signed;
use crate::dossier::api::rfc3339;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// A report as the public sees it: no name, phone or e-mail.
#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    pub code: String,
    /// unconfirmed | open | in_progress | resolved | closed | rejected | duplicate
    pub status: String,
    pub status_name: String,
    pub status_name_en: String,
    /// The Open311 service code.
    pub category: String,
    pub ward: String,
    /// The responsible unit (agency code).
    pub unit: String,
    pub address: Option<String>,
    pub description: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub channel: String,
    pub created_at: String,
    pub updated_at: String,
    pub due_at: Option<String>,
    pub resolved_at: Option<String>,
    /// The unit's public note (outcome or reason).
    pub public_note: Option<String>,
    pub duplicate_of: Option<String>,
    pub escalation_level: i32,
    pub rating: Option<i32>,
    /// Send it back with an action to be told (409) when someone else acted first.
    pub row_version: i32,
}

pub fn out(r: &ReportRow) -> ReportOut {
    let (vi, en) = service::status_names(&r.status);
    ReportOut {
        code: r.code.clone(),
        status: r.status.clone(),
        status_name: vi.into(),
        status_name_en: en.into(),
        category: r.category_code.clone(),
        ward: r.ward_code.clone(),
        unit: r.agency_code.clone(),
        address: r.address.clone(),
        description: r.description.clone(),
        lat: r.lat,
        long: r.lon,
        channel: r.channel.clone(),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        due_at: r.due_at.map(rfc3339),
        resolved_at: r.resolved_at.map(rfc3339),
        public_note: r.public_note.clone(),
        duplicate_of: r.duplicate_of.clone(),
        escalation_level: r.escalation_level,
        rating: r.rating,
        row_version: r.row_version,
    }
}

async fn public_row(state: &AppState, code: &str) -> AppResult<ReportRow> {
    if !cityhall_core::feedback::looks_like_code(code.trim()) {
        return Err(AppError::not_found());
    }
    let r = state.db.report_by_code(code.trim()).await?;
    if !Status::parse(&r.status).is_some_and(Status::is_public) {
        return Err(AppError::not_found());
    }
    Ok(r)
}

/// A report's public record.
#[utoipa::path(get, path = "/api/v1/reports/{code}", params(("code" = String, Path)),
    responses((status = 200, body = ReportOut), (status = 404, body = crate::api::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Json<ReportOut>> {
    Ok(Json(out(&public_row(&state, &code).await?)))
}

/// An action on a report: by the responsible unit's staff (`assign`, `transfer`, `reject`,
/// `duplicate`, `note`, `resolve`) or by its reporter (`accept`, `reopen`, `rate`).
#[utoipa::path(post, path = "/api/v1/reports/{code}/actions", params(("code" = String, Path)),
    request_body = ReportAction,
    responses((status = 200, body = ReportOut), (status = 403, body = crate::api::ErrorBody),
              (status = 409, body = crate::api::ErrorBody), (status = 422, body = crate::api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn action(
    State(state): State<AppState>,
    s: Signed,
    Path(code): Path<String>,
    body: Result<Json<ReportAction>, JsonRejection>,
) -> AppResult<Json<ReportOut>> {
    let Json(mut req) = body?;
    req.photos.clear();
    req.secret = None;
    let r = public_row(&state, &code).await?;
    let units = unit_staff(&s);
    let who = if units.contains(&r.agency_code) {
        Who {
            user_id: s.user_id().to_string(),
            actor: Actor::Unit,
            agencies: units,
        }
    } else if r.reporter_id.as_deref() == Some(s.user_id()) {
        Who {
            user_id: s.user_id().to_string(),
            actor: Actor::Reporter,
            agencies: Vec::new(),
        }
    } else {
        return Err(AppError::forbidden());
    };
    let r = service::act(&state, OffsetDateTime::now_utc(), &who, &r.code, &req).await?;
    Ok(Json(out(&r)))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/{code}", get(read))
        .route("/api/v1/reports/{code}/actions", post(action))
}
