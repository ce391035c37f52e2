//! The procedure catalog on the web: browse by field, agency and level; search with or
//! without diacritics; the procedure page; the catalog API. Each replica keeps the versions
//! in force in memory with a search index, rebuilt at start and whenever the catalog's
//! stamp in the database moves (an import on any replica).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cityhall_core::calendar::TimeLimit;
use cityhall_core::catalog::{ChannelKind, Field, I18nText, Level, Procedure, Reuse};
use cityhall_core::dossier::format_dong;
use cityhall_db::catalog::ProcedureVersion;
use cityhall_db::{CatalogStore, Db, GeoStore};
use cityhall_search::{Doc, Index, Synonyms};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::i18n::{Lang, Tr};
use crate::pages::{render, PageCtx};
use crate::{AppState, ReqLang};

/// The versions in force, as one consistent snapshot.
#[derive(Default)]
pub struct Snapshot {
    pub procedures: Vec<ProcedureVersion>,
    by_code: HashMap<String, usize>,
    pub fields: Vec<Field>,
    pub stamp: i64,
    /// Ward codes, for checking a form's ward fields.
    pub wards: Vec<String>,
    /// The ward People's Committees, the desks a resident may choose.
    pub desks: Vec<String>,
}

impl Snapshot {
    pub fn get(&self, code: &str) -> Option<&ProcedureVersion> {
        self.by_code.get(code).map(|i| &self.procedures[*i])
    }
    pub fn field_name(&self, code: &str, english: bool) -> String {
        self.fields
            .iter()
            .find(|f| f.code == code)
            .map(|f| f.name.get(english).to_string())
            .unwrap_or_else(|| code.to_string())
    }
}

/// The catalog cache and its search index.
pub struct Catalog {
    snap: RwLock<Arc<Snapshot>>,
    pub index: Index,
}

impl Catalog {
    pub fn new() -> anyhow::Result<Catalog> {
        let synonyms = Synonyms::from_json(include_str!("../../../data/synonyms-vi.json"))?;
        Ok(Catalog {
            snap: RwLock::new(Arc::new(Snapshot::default())),
            index: Index::new(synonyms)?,
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snap.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Reloads from the database when it changed since the last load.
    pub async fn refresh(&self, db: &Db) -> anyhow::Result<bool> {
        let stamp = db.catalog_stamp().await?;
        if stamp == self.snapshot().stamp && !self.snapshot().wards.is_empty() {
            return Ok(false);
        }
        let procedures = db.current_procedures().await?;
        let fields = db.fields().await?;
        let by_code = procedures
            .iter()
            .enumerate()
            .map(|(i, p)| (p.procedure.code.as_str().to_string(), i))
            .collect();
        let docs: Vec<Doc> = procedures
            .iter()
            .map(|v| doc_of(&v.procedure, &fields))
            .collect();
        self.index.replace_kind("procedure", docs)?;
        let wards = db.units().await?.into_iter().map(|u| u.code).collect();
        let desks = db
            .agencies()
            .await?
            .into_iter()
            .filter(|a| a.ward_code.is_some() && a.code.starts_with("UBND-"))
            .map(|a| a.code)
            .collect();
        let snap = Snapshot {
            procedures,
            by_code,
            fields,
            stamp,
            wards,
            desks,
        };
        if let Ok(mut s) = self.snap.write() {
            *s = Arc::new(snap);
        }
        Ok(true)
    }
}

/// Checks and imports a catalog file (the shipped one at start, or an update).
pub async fn import_file(
    db: &Db,
    actor: &str,
    json: &str,
) -> anyhow::Result<cityhall_db::catalog::CatalogImport> {
    let agencies: Vec<String> = db.agencies().await?.into_iter().map(|a| a.code).collect();
    let file =
        cityhall_core::catalog::CatalogFile::parse(json, &|a| agencies.iter().any(|x| x == a))?;
    Ok(db
        .import_catalog(time::OffsetDateTime::now_utc(), actor, &file)
        .await?)
}

/// The catalog shipped with the binary.
pub const SHIPPED_CATALOG: &str = include_str!("../../../data/procedures-79.json");

fn doc_of(p: &Procedure, fields: &[Field]) -> Doc {
    let field = fields.iter().find(|f| f.code == p.field);
    let mut body = p.search_body();
    if let Some(f) = field {
        body.push_str(&format!(" \n {} {}", f.name.vi, f.name.en));
    }
    Doc {
        id: p.code.as_str().to_string(),
        kind: "procedure".into(),
        title_vi: p.name.vi.clone(),
        title_en: p.name.en.clone(),
        body,
        keywords: vec![p.code.as_str().to_string()],
        facets: vec![
            ("field".into(), p.field.clone()),
            ("level".into(), p.level.as_str().into()),
            ("agency".into(), agency_facet(p)),
            (
                "online".into(),
                if p.online().is_some() { "yes" } else { "no" }.into(),
            ),
        ],
    }
}

/// City agencies by code; ward bodies as their kind, since they are one per ward.
fn agency_facet(p: &Procedure) -> String {
    match p.agency.as_str() {
        "UBND-{ward}" => "UBND".into(),
        "CA-{ward}" => "CA".into(),
        a => a.into(),
    }
}

/// A time limit in words.
pub fn time_limit_text(tr: &Tr, limit: Option<TimeLimit>) -> String {
    match limit {
        None => tr.t("catalog-unconfirmed"),
        Some(TimeLimit::SameDay) => tr.t("catalog-same-day"),
        Some(TimeLimit::WorkingDays(n)) => {
            tr.t_with("catalog-working-days", &[("n", &n.to_string())])
        }
        Some(TimeLimit::WorkingHours(n)) => {
            tr.t_with("catalog-working-hours", &[("n", &n.to_string())])
        }
    }
}

pub fn fee_text(tr: &Tr, fee: Option<i64>) -> String {
    match fee {
        None => tr.t("catalog-unconfirmed"),
        Some(0) => tr.t("catalog-free"),
        Some(f) => format_dong(f),
    }
}

pub fn channel_name(tr: &Tr, kind: ChannelKind) -> String {
    tr.t(&format!("channel-{}", kind.as_str().replace('_', "-")))
}

/// The competent agency in words.
pub fn agency_text(tr: &Tr, agencies: &HashMap<String, (String, String)>, p: &Procedure) -> String {
    match p.agency.as_str() {
        "UBND-{ward}" => tr.t("catalog-agency-ward-committee"),
        "CA-{ward}" => tr.t("catalog-agency-ward-police"),
        code => agencies
            .get(code)
            .map(|(vi, en)| {
                if tr.lang == Lang::En {
                    en.clone()
                } else {
                    vi.clone()
                }
            })
            .unwrap_or_else(|| code.to_string()),
    }
}

/// City agencies' names (vi, en) by code; ward bodies are named by their kind instead.
pub(crate) async fn agency_names(db: &Db) -> AppResult<HashMap<String, (String, String)>> {
    Ok(db
        .agencies()
        .await?
        .into_iter()
        .filter(|a| a.ward_code.is_none())
        .map(|a| (a.code, (a.name, a.name_en)))
        .collect())
}

#[derive(Deserialize, Default)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    online: String,
    #[serde(default)]
    page: Option<String>,
}

const PAGE_SIZE: usize = 20;

struct Found {
    total: usize,
    page: usize,
    items: Vec<ProcedureVersion>,
}

fn search(state: &AppState, p: &SearchParams) -> AppResult<Found> {
    let page = p
        .page
        .as_deref()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| *n >= 1 && *n <= 10_000)
        .unwrap_or(1);
    let mut filters = Vec::new();
    for (k, v) in [
        ("field", &p.field),
        ("level", &p.level),
        ("agency", &p.agency),
        ("online", &p.online),
    ] {
        if !v.trim().is_empty() {
            filters.push((k, v.trim()));
        }
    }
    let q = cityhall_search::Query {
        text: p.q.trim(),
        kind: Some("procedure"),
        filters,
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    let hits = state.catalog.index.search(&q).map_err(AppError::internal)?;
    let snap = state.catalog.snapshot();
    let items = hits
        .hits
        .iter()
        .filter_map(|h| snap.get(&h.id).cloned())
        .collect();
    Ok(Found {
        total: hits.total,
        page,
        items,
    })
}

pub struct ListItem {
    pub code: String,
    pub name: String,
    pub field: String,
    pub level: String,
    pub online: bool,
    pub full_online: bool,
    pub agency: String,
}

#[derive(Template)]
#[template(path = "procedures.html")]
struct ProceduresPage<'a> {
    p: &'a PageCtx,
    q: String,
    field: String,
    level: String,
    agency: String,
    online: String,
    fields: Vec<(String, String)>,
    agencies: Vec<(String, String)>,
    items: Vec<ListItem>,
    total: usize,
    page: usize,
    pages: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
}

async fn procedures_page(
    State(state): State<AppState>,
    p: PageCtx,
    Query(params): Query<SearchParams>,
) -> AppResult<Response> {
    let found = search(&state, &params)?;
    let snap = state.catalog.snapshot();
    let en = p.tr.lang == Lang::En;
    let names = agency_names(&state.db).await?;
    let items = found
        .items
        .iter()
        .map(|v| {
            let pr = &v.procedure;
            ListItem {
                code: pr.code.to_string(),
                name: pr.name.get(en).to_string(),
                field: snap.field_name(&pr.field, en),
                level: p.t(&format!("level-{}", pr.level.as_str())),
                online: pr.online().is_some(),
                full_online: pr.online_level == cityhall_core::catalog::OnlineLevel::Full
                    && pr.online().is_some(),
                agency: agency_text(&p.tr, &names, pr),
            }
        })
        .collect();
    let mut agencies: Vec<(String, String)> = vec![
        ("UBND".into(), p.t("catalog-agency-ward-committee")),
        ("CA".into(), p.t("catalog-agency-ward-police")),
    ];
    let mut city: Vec<String> = snap
        .procedures
        .iter()
        .filter(|v| v.procedure.level == Level::City)
        .map(|v| v.procedure.agency.clone())
        .collect();
    city.sort();
    city.dedup();
    for code in city {
        let name = names
            .get(&code)
            .map(|(vi, e)| if en { e.clone() } else { vi.clone() })
            .unwrap_or_else(|| code.clone());
        agencies.push((code, name));
    }
    let pages = found.total.div_ceil(PAGE_SIZE).max(1);
    let href = |page: usize| {
        let q = serde_urlencoded::to_string([
            ("q", params.q.as_str()),
            ("field", params.field.as_str()),
            ("level", params.level.as_str()),
            ("agency", params.agency.as_str()),
            ("online", params.online.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/procedures?{q}")
    };
    render(&ProceduresPage {
        fields: snap
            .fields
            .iter()
            .map(|f| (f.code.clone(), f.name.get(en).to_string()))
            .collect(),
        agencies,
        items,
        total: found.total,
        page: found.page,
        pages,
        prev_href: (found.page > 1).then(|| href(found.page - 1)),
        next_href: (found.page < pages).then(|| href(found.page + 1)),
        q: params.q,
        field: params.field,
        level: params.level,
        agency: params.agency,
        online: params.online,
        p: &p,
    })
}

pub struct ChannelView {
    pub name: String,
    pub time: String,
    pub time_note: Option<String>,
    pub fee: String,
    pub fee_note: Option<String>,
}

pub struct DocumentView {
    pub name: String,
    pub template: Option<String>,
    pub originals: u32,
    pub copies: u32,
    pub required: bool,
    pub reuse: Option<String>,
}

#[derive(Template)]
#[template(path = "procedure.html")]
struct ProcedurePage<'a> {
    p: &'a PageCtx,
    code: String,
    local_code: Option<String>,
    name: String,
    field: String,
    level: String,
    agency: String,
    applicants: Option<String>,
    steps: Vec<String>,
    channels: Vec<ChannelView>,
    documents: Vec<DocumentView>,
    result: Option<String>,
    legal_basis: Vec<String>,
    conditions: Option<String>,
    online_level: String,
    online: bool,
    effective_from: String,
    version: i32,
    source: Option<String>,
    unverified: Vec<String>,
}

fn unverified_names(tr: &Tr, p: &Procedure) -> Vec<String> {
    p.unverified
        .iter()
        .map(|u| {
            let key = format!("part-{}", u.replace(['.', '_'], "-"));
            let t = tr.t(&key);
            if t == key {
                u.clone()
            } else {
                t
            }
        })
        .collect()
}

async fn procedure_page(
    State(state): State<AppState>,
    p: PageCtx,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let snap = state.catalog.snapshot();
    let v = snap.get(code.trim()).ok_or_else(AppError::not_found)?;
    let pr = &v.procedure;
    let en = p.tr.lang == Lang::En;
    let names = agency_names(&state.db).await?;
    let text = |t: &Option<I18nText>| t.as_ref().map(|t| t.get(en).to_string());
    render(&ProcedurePage {
        code: pr.code.to_string(),
        local_code: pr.local_code.clone(),
        name: pr.name.get(en).to_string(),
        field: snap.field_name(&pr.field, en),
        level: p.t(&format!("level-{}", pr.level.as_str())),
        agency: agency_text(&p.tr, &names, pr),
        applicants: text(&pr.applicants),
        steps: pr.steps.iter().map(|s| s.get(en).to_string()).collect(),
        channels: pr
            .channels
            .iter()
            .map(|c| ChannelView {
                name: channel_name(&p.tr, c.kind),
                time: time_limit_text(&p.tr, c.time_limit),
                time_note: text(&c.time_note),
                fee: fee_text(&p.tr, c.fee),
                fee_note: text(&c.fee_note),
            })
            .collect(),
        documents: pr
            .documents
            .iter()
            .map(|d| DocumentView {
                name: d.name.get(en).to_string(),
                template: d.template.clone(),
                originals: d.originals,
                copies: d.copies,
                required: d.required,
                reuse: d.reuse.as_ref().map(|r| match r {
                    Reuse::Wallet(_) => p.t("catalog-reuse-wallet"),
                    Reuse::Registry(_) => p.t("catalog-reuse-registry"),
                }),
            })
            .collect(),
        result: text(&pr.result),
        legal_basis: pr.legal_basis.clone(),
        conditions: text(&pr.conditions),
        online_level: p.t(&format!("online-{}", pr.online_level.as_str())),
        online: pr.online().is_some(),
        effective_from: pr.effective_from.to_string(),
        version: v.version,
        source: pr.source.clone(),
        unverified: unverified_names(&p.tr, pr),
        p: &p,
    })
}

// ---- API ----

/// A procedure in API answers: the record as published, with its version.
#[derive(Serialize, ToSchema)]
pub struct ProcedureOut {
    pub code: String,
    pub version: i32,
    pub name: String,
    pub name_en: String,
    pub field: String,
    pub level: String,
    pub online: bool,
    pub online_level: String,
    pub url: String,
    /// The full record (channels, documents, form, sources, unverified parts).
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

impl ProcedureOut {
    pub fn of(v: &ProcedureVersion) -> ProcedureOut {
        let p = &v.procedure;
        ProcedureOut {
            code: p.code.to_string(),
            version: v.version,
            name: p.name.vi.clone(),
            name_en: p.name.en.clone(),
            field: p.field.clone(),
            level: p.level.as_str().into(),
            online: p.online().is_some(),
            online_level: p.online_level.as_str().into(),
            url: format!("/procedures/{}", p.code),
            record: serde_json::to_value(p).unwrap_or_default(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProcedureList {
    pub items: Vec<ProcedureOut>,
    pub total: usize,
    pub page: usize,
}

/// Searches the catalog (with or without diacritics), 20 per page.
#[utoipa::path(get, path = "/api/v1/procedures",
    params(("q" = Option<String>, Query), ("field" = Option<String>, Query),
           ("level" = Option<String>, Query, description = "city | commune"),
           ("agency" = Option<String>, Query), ("page" = Option<usize>, Query)),
    responses((status = 200, body = ProcedureList)))]
pub async fn api_procedures(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> AppResult<Json<ProcedureList>> {
    if !params.level.is_empty() && Level::parse(&params.level).is_none() {
        let mut e = AppError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
            "err-invalid-parameter",
        );
        e.info.fields.push(("level".into(), "err-level".into()));
        return Err(e);
    }
    if let Some(pg) = &params.page {
        if pg.trim().parse::<usize>().map(|n| n == 0).unwrap_or(true) {
            let mut e = AppError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_parameter",
                "err-invalid-parameter",
            );
            e.info.fields.push(("page".into(), "err-page".into()));
            return Err(e);
        }
    }
    let found = search(&state, &params)?;
    Ok(Json(ProcedureList {
        items: found.items.iter().map(ProcedureOut::of).collect(),
        total: found.total,
        page: found.page,
    }))
}

/// The version of a procedure in force in this city, by national code.
#[utoipa::path(get, path = "/api/v1/procedures/{code}",
    params(("code" = String, Path, description = "national code, e.g. 1.001193")),
    responses((status = 200, body = ProcedureOut), (status = 404, body = crate::api::ErrorBody)))]
pub async fn api_procedure(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Json<ProcedureOut>> {
    let snap = state.catalog.snapshot();
    let v = snap.get(code.trim()).ok_or_else(AppError::not_found)?;
    Ok(Json(ProcedureOut::of(v)))
}

#[derive(Serialize, ToSchema)]
pub struct HolidayOut {
    pub date: String,
    pub name: String,
    pub name_en: String,
    /// holiday | substitute
    pub kind: String,
}

/// Public holidays and substitute days of a year (the working-day calendar).
#[utoipa::path(get, path = "/api/v1/calendar/{year}",
    params(("year" = i32, Path)),
    responses((status = 200, body = [HolidayOut]), (status = 422, body = crate::api::ErrorBody)))]
pub async fn api_calendar(
    State(state): State<AppState>,
    Path(year): Path<String>,
    axum::Extension(ReqLang(_lang)): axum::Extension<ReqLang>,
) -> AppResult<Response> {
    let year: i32 = year
        .trim()
        .parse()
        .ok()
        .filter(|y| (1900..=2199).contains(y))
        .ok_or_else(|| {
            AppError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_year",
                "err-year",
            )
        })?;
    let out: Vec<HolidayOut> = state
        .config
        .calendar
        .holidays(year)
        .into_iter()
        .map(|h| HolidayOut {
            date: h.date.to_string(),
            name: h.name_vi,
            name_en: h.name_en,
            kind: format!("{:?}", h.kind).to_lowercase(),
        })
        .collect();
    Ok(Json(out).into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/procedures", get(procedures_page))
        .route("/procedures/{code}", get(procedure_page))
        .route("/api/v1/procedures", get(api_procedures))
        .route("/api/v1/procedures/{code}", get(api_procedure))
        .route("/api/v1/calendar/{year}", get(api_calendar))
}
