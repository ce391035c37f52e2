//! The JSON API under `/api/v1`, described by `/api/v1/openapi.json`.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cityhall_db::{GeoStore, IdentityStore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};

use crate::auth::{hash_token, random_token, totp, Signed};
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::identity::{check_password, LoginRefusal};
use crate::{AppState, ReqLang};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cityhall API",
        description = "The digital city hall's JSON API. Errors are {\"error\": {\"code\", \"message\", \"fields\"}}."
    ),
    paths(
        api_root,
        create_token,
        me,
        units,
        agencies,
        crate::dossier::api::create,
        crate::dossier::api::read,
        crate::dossier::api::status,
        crate::dossier::api::action,
        crate::feedback::api::read,
        crate::feedback::api::action,
        crate::assistant::api_ask
    ),
    components(schemas(
        crate::feedback::api::ReportOut,
        crate::feedback::service::ReportAction,
        crate::assistant::AskIn,
        crate::assistant::AskOut,
        crate::assistant::Card,
        crate::assistant::Citation,
        crate::assistant::Fact,
        TokenRequest,
        TokenResponse,
        Me,
        RoleOut,
        UnitOut,
        AgencyOut,
        ErrorBody,
        ErrorDetail
    ))
)]
struct ApiDoc;

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    code: String,
    message: String,
    #[schema(value_type = Option<Object>)]
    fields: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1", get(api_root))
        .route("/api/v1/", get(api_root))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/auth/token", post(create_token))
        .route("/api/v1/me", get(me))
        .route("/api/v1/units", get(units))
        .route("/api/v1/agencies", get(agencies))
}

/// The API root: what is here.
#[utoipa::path(get, path = "/api/v1", responses((status = 200, description = "Links to the API's parts")))]
async fn api_root() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "name": "cityhall",
        "version": env!("CARGO_PKG_VERSION"),
        "openapi": "/api/v1/openapi.json",
        "links": {
            "token": "/api/v1/auth/token",
            "me": "/api/v1/me",
            "units": "/api/v1/units",
            "agencies": "/api/v1/agencies",
            "dossiers": "/api/v1/dossiers",
            "reports": "/api/v1/reports/{code}",
            "open311": "/open311/v2/discovery.json"
        }
    }))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(Deserialize, ToSchema)]
struct TokenRequest {
    username: String,
    password: String,
    /// A name for the token, shown on the account page.
    #[serde(default)]
    name: Option<String>,
    /// The current TOTP code, for accounts with two-step verification.
    #[serde(default)]
    totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TokenResponse {
    /// Send as `Authorization: Bearer TOKEN`. Shown once; only its hash is stored.
    token: String,
    /// Unix seconds.
    expires_at: i64,
}

/// Exchanges a username and password for a personal API token.
#[utoipa::path(post, path = "/api/v1/auth/token", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody), (status = 400, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    axum::Extension(lang): axum::Extension<ReqLang>,
    body: Result<Json<TokenRequest>, JsonRejection>,
) -> AppResult<Response> {
    let Json(req) = body?;
    let tr = Tr::new(lang.0);
    let user = match check_password(&state, &req.username, &req.password).await? {
        Ok(u) => u,
        Err(r) => {
            let (status, code) = match r {
                LoginRefusal::Locked(_) => (StatusCode::TOO_MANY_REQUESTS, "locked"),
                LoginRefusal::Disabled => (StatusCode::FORBIDDEN, "account_disabled"),
                LoginRefusal::Wrong => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            };
            return Err(AppError::literal(status, code, r.message(&tr)));
        }
    };
    let now = OffsetDateTime::now_utc();
    if user.totp_enabled {
        let ok = req.totp.as_deref().is_some_and(|c| {
            totp::check(
                user.totp_secret.as_deref().unwrap_or(""),
                c,
                now.unix_timestamp(),
            )
        });
        if !ok {
            return Err(AppError::literal(
                StatusCode::UNAUTHORIZED,
                "totp_required",
                tr.t("mfa-failed"),
            ));
        }
    }
    let token = random_token();
    let expires = now + time::Duration::days(90);
    state
        .db
        .create_api_token(
            now,
            &user.id,
            &hash_token(&token),
            req.name.as_deref().unwrap_or("api"),
            Some(cityhall_db::micros(expires)),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token,
            expires_at: expires.unix_timestamp(),
        }),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
struct RoleOut {
    role: String,
    agency: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Me {
    id: String,
    username: String,
    full_name: String,
    assurance: String,
    roles: Vec<RoleOut>,
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn me(s: Signed) -> Json<Me> {
    let u = &s.0.user;
    Json(Me {
        id: u.id.clone(),
        username: u.username.clone(),
        full_name: u.full_name.clone(),
        assurance: u.assurance.clone(),
        roles: s
            .0
            .roles
            .iter()
            .map(|r| RoleOut {
                role: r.role.clone(),
                agency: (!r.agency_code.is_empty()).then(|| r.agency_code.clone()),
            })
            .collect(),
    })
}

#[derive(Serialize, ToSchema)]
struct UnitOut {
    code: String,
    name: String,
    name_en: String,
    kind: String,
    lat: f64,
    lon: f64,
}

/// The wards, communes and special zones of the city.
#[utoipa::path(get, path = "/api/v1/units", responses((status = 200, body = [UnitOut])))]
async fn units(State(state): State<AppState>) -> AppResult<Json<Vec<UnitOut>>> {
    Ok(Json(
        state
            .db
            .units()
            .await?
            .into_iter()
            .map(|u| UnitOut {
                code: u.code,
                name: u.name,
                name_en: u.name_en,
                kind: u.kind,
                lat: u.lat,
                lon: u.lon,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
struct AgencyOut {
    code: String,
    name: String,
    name_en: String,
    kind: String,
    ward_code: Option<String>,
}

/// The agencies on the platform; ward agencies name their ward.
#[utoipa::path(get, path = "/api/v1/agencies", responses((status = 200, body = [AgencyOut])))]
async fn agencies(State(state): State<AppState>) -> AppResult<Json<Vec<AgencyOut>>> {
    Ok(Json(
        state
            .db
            .agencies()
            .await?
            .into_iter()
            .map(|a| AgencyOut {
                code: a.code,
                name: a.name,
                name_en: a.name_en,
                kind: a.kind,
                ward_code: a.ward_code,
            })
            .collect(),
    ))
}
