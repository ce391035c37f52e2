//! The open-data portal's pages: search with facets, the dataset page (resources, API
//! examples, DCAT links), the resource page with a preview of the first rows, downloads,
//! organisations, and the publisher's forms (create and edit a dataset, add a file or a link,
//! choose column types, remove a resource). Every page works without JavaScript.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use cityhall_core::opendata::query::{parse_search, parse_sort, Clause, SearchField, Values};
use cityhall_db::opendata::{DatasetFull, DsQuery, DsValue, FieldRow, ResourceRow};
use cityhall_db::OpenDataStore;
use serde::Deserialize;

use super::dcat::{dataset_document, Rdf};
use super::service::{self, Actor, DatasetInput, FieldError, OdError, ResourceInput, FREQUENCIES};
use super::{
    base_url, file_name, licence, package_dict_of, search, Org, Search, Viewer, LICENCES,
    UPLOAD_LIMIT,
};
use crate::auth::{CsrfForm, CurrentSession, Signed};
use crate::dossier::{local_when, UploadForm};
use crate::error::{AppError, AppResult};
use crate::feedback::pages::signed;
use crate::pages::{render, render_status, PageCtx};
use crate::AppState;

/// Datasets per search page.
const PAGE_SIZE: usize = 20;
/// Rows shown in a resource's preview.
const PREVIEW_ROWS: i64 = 20;

pub fn router() -> Router<AppState> {
    let uploads = Router::new()
        .route("/dataset/{key}/resource/new", post(resource_new))
        .layer(axum::extract::DefaultBodyLimit::max(
            UPLOAD_LIMIT + 64 * 1024,
        ));
    Router::new()
        .merge(uploads)
        .route("/dataset", get(search_page))
        .route("/dataset/new", get(new_form).post(new_submit))
        .route("/dataset/{key}", get(dataset_page))
        .route("/dataset/{key}/edit", get(edit_form).post(edit_submit))
        .route("/dataset/{key}/resource/{rid}", get(resource_page))
        .route("/dataset/{key}/resource/{rid}/types", post(types_submit))
        .route(
            "/dataset/{key}/resource/{rid}/delete",
            post(resource_delete),
        )
        .route("/dataset/{key}/resource/{rid}/download", get(download))
        .route(
            "/dataset/{key}/resource/{rid}/download/{file}",
            get(download_named),
        )
        .route("/organization", get(orgs_page))
        .route("/organization/{name}", get(org_page))
}

/// This replica's open-data snapshot, for a page.
async fn snapshot(state: &AppState) -> AppResult<std::sync::Arc<super::Snapshot>> {
    state
        .opendata
        .current(&state.db, false)
        .await
        .map_err(AppError::internal)
}

/// A translated field error for a page.
pub struct Problem {
    pub field: String,
    pub message: String,
}

fn problems(p: &PageCtx, list: &[FieldError]) -> Vec<Problem> {
    list.iter()
        .map(|f| {
            let args: Vec<(&str, &str)> = f.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Problem {
                field: f.field.clone(),
                message: p.tr.t_with(f.key, &args),
            }
        })
        .collect()
}

fn od_page_error(p: &PageCtx, e: OdError) -> Result<Vec<Problem>, AppError> {
    match e {
        OdError::Invalid(list) => Ok(problems(p, &list)),
        OdError::Stale => Ok(vec![Problem {
            field: String::new(),
            message: p.t("od-err-stale"),
        }]),
        OdError::NotFound(_) => Err(AppError::not_found()),
        OdError::Forbidden => Err(AppError::forbidden()),
        OdError::Store(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- search

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    res_format: String,
    #[serde(default)]
    license_id: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

/// One facet value with its count and the link that toggles it.
pub struct FacetItem {
    pub label: String,
    pub count: usize,
    pub href: String,
    pub active: bool,
}

pub struct FacetBox {
    pub title: String,
    pub items: Vec<FacetItem>,
}

pub struct ResultItem {
    pub name: String,
    pub title: String,
    pub org: String,
    pub notes: String,
    pub formats: Vec<String>,
    pub draft: bool,
    pub private: bool,
}

#[derive(Template)]
#[template(path = "od_search.html")]
struct SearchPage<'a> {
    p: &'a PageCtx,
    heading: String,
    action: String,
    q: String,
    sort: String,
    count: usize,
    facets: Vec<FacetBox>,
    items: Vec<ResultItem>,
    page: usize,
    pages: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
    can_publish: bool,
    error: Option<String>,
    org_title: Option<String>,
}

fn href(base: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .cloned()
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&kept).unwrap_or_default()
        )
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

async fn search_page(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    render_search(&state, &p, &cs, q, None).await
}

async fn render_search(
    state: &AppState,
    p: &PageCtx,
    cs: &CurrentSession,
    mut q: SearchQuery,
    org: Option<Org>,
) -> AppResult<Response> {
    let action = match &org {
        Some(o) => format!("/organization/{}", o.name),
        None => "/dataset".to_string(),
    };
    if let Some(o) = &org {
        q.organization = o.name.clone();
    }
    let me = signed(cs);
    let viewer = Viewer::of(me.as_ref());
    let snap = snapshot(state).await?;
    let english = p.tr.lang == crate::i18n::Lang::En;
    let mut error = None;
    let spec = match parse_search(Some(&q.q), None) {
        Ok(s) => s,
        Err(e) => {
            error = Some(p.t1("od-search-error", "detail", &e.to_string()));
            parse_search(None, None).unwrap_or_default()
        }
    };
    let mut spec = spec;
    for (field, value) in [
        (SearchField::Organization, &q.organization),
        (SearchField::Groups, &q.groups),
        (SearchField::Tags, &q.tags),
        (SearchField::ResFormat, &q.res_format),
        (SearchField::LicenseId, &q.license_id),
    ] {
        if !value.is_empty() {
            spec.clauses.push(Clause {
                field,
                values: Values::AnyOf(vec![value.clone()]),
                negate: false,
            });
        }
    }
    let sort_text = match q.sort.as_str() {
        "modified" => "metadata_modified desc",
        "name" => "title_string asc",
        _ => "score desc, metadata_modified desc",
    };
    let page: usize = q.page.parse().unwrap_or(1).max(1);
    let s = Search {
        spec,
        sort: parse_sort(Some(sort_text)).unwrap_or_default(),
        rows: PAGE_SIZE,
        start: (page - 1) * PAGE_SIZE,
        facet_fields: vec![
            "organization".into(),
            "groups".into(),
            "tags".into(),
            "res_format".into(),
            "license_id".into(),
        ],
        facet_limit: 12,
        include_private: true,
        include_drafts: true,
    };
    let found = search(&snap, &state.opendata, &s, &viewer).map_err(AppError::internal)?;
    let current: Vec<(&str, &str)> = vec![
        ("q", q.q.as_str()),
        (
            "organization",
            if org.is_some() {
                ""
            } else {
                q.organization.as_str()
            },
        ),
        ("groups", q.groups.as_str()),
        ("tags", q.tags.as_str()),
        ("res_format", q.res_format.as_str()),
        ("license_id", q.license_id.as_str()),
        ("sort", q.sort.as_str()),
    ];
    let facets = found
        .facets
        .iter()
        .filter(|(f, _)| !(org.is_some() && f.as_str() == "organization"))
        .map(|(field, list)| FacetBox {
            title: p.t(&format!("od-facet-{}", field.replace('_', "-"))),
            items: list
                .iter()
                .map(|(v, n)| {
                    let active = current.iter().any(|(k, cur)| k == field && cur == v);
                    let pairs: Vec<(&str, &str)> = current
                        .iter()
                        .map(|(k, cur)| {
                            if k == field {
                                (*k, if active { "" } else { v.as_str() })
                            } else {
                                (*k, *cur)
                            }
                        })
                        .collect();
                    let label = match field.as_str() {
                        "organization" => snap
                            .org(v)
                            .map(|o| o.title(english).to_string())
                            .unwrap_or_else(|| v.clone()),
                        "groups" => snap
                            .group(v)
                            .map(|g| {
                                if english {
                                    g.title_en.clone()
                                } else {
                                    g.title_vi.clone()
                                }
                            })
                            .unwrap_or_else(|| v.clone()),
                        "license_id" => licence(v)
                            .map(|l| l.title.to_string())
                            .unwrap_or_else(|| v.clone()),
                        _ => v.clone(),
                    };
                    FacetItem {
                        label,
                        count: *n,
                        href: href(&action, &pairs),
                        active,
                    }
                })
                .collect(),
        })
        .filter(|b| !b.items.is_empty())
        .collect();
    let items = found
        .page
        .iter()
        .map(|e| {
            let d = &e.full.dataset;
            ResultItem {
                name: d.name.clone(),
                title: if english && !d.title_en.is_empty() {
                    d.title_en.clone()
                } else {
                    d.title_vi.clone()
                },
                org: e.org.title(english).to_string(),
                notes: truncate(
                    if english && !d.notes_en.is_empty() {
                        &d.notes_en
                    } else {
                        &d.notes_vi
                    },
                    220,
                ),
                formats: e.formats.clone(),
                draft: d.state == "draft",
                private: d.private,
            }
        })
        .collect();
    let pages = found.count.div_ceil(PAGE_SIZE).max(1);
    let page_href = |n: usize| {
        let mut pairs = current.clone();
        let n = n.to_string();
        pairs.push(("page", &n));
        href(&action, &pairs)
    };
    let org_title = org.as_ref().map(|o| o.title(english).to_string());
    render(&SearchPage {
        p,
        heading: org_title.clone().unwrap_or_else(|| p.t("od-title")),
        action: action.clone(),
        q: q.q.clone(),
        sort: q.sort.clone(),
        count: found.count,
        facets,
        items,
        page,
        pages,
        prev_href: (page > 1).then(|| page_href(page - 1)),
        next_href: (page < pages).then(|| page_href(page + 1)),
        can_publish: me.as_ref().is_some_and(|s| {
            s.has(cityhall_core::identity::Role::CityAdmin)
                || !service::publisher_orgs(s).is_empty()
        }),
        error,
        org_title,
    })
}

// ---------------------------------------------------------------- organisations

pub struct OrgItem {
    pub name: String,
    pub title: String,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "od_orgs.html")]
struct OrgsPage<'a> {
    p: &'a PageCtx,
    orgs: Vec<OrgItem>,
}

async fn orgs_page(State(state): State<AppState>, p: PageCtx) -> AppResult<Response> {
    let snap = snapshot(&state).await?;
    let english = p.tr.lang == crate::i18n::Lang::En;
    let mut orgs: Vec<OrgItem> = snap
        .orgs
        .iter()
        .map(|o| OrgItem {
            name: o.name.clone(),
            title: o.title(english).to_string(),
            count: snap
                .entries
                .iter()
                .filter(|e| {
                    e.org.code == o.code
                        && e.full.dataset.state == "active"
                        && !e.full.dataset.private
                })
                .count(),
        })
        .collect();
    orgs.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.title.cmp(&b.title)));
    render(&OrgsPage { p: &p, orgs })
}

async fn org_page(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Path(name): Path<String>,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    let snap = snapshot(&state).await?;
    let org = snap.org(&name).cloned().ok_or_else(AppError::not_found)?;
    render_search(&state, &p, &cs, q, Some(org)).await
}

// ---------------------------------------------------------------- dataset

pub struct ResourceItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub format: String,
    pub size: String,
    pub rows: Option<i64>,
    pub download: String,
    pub link: bool,
}

#[derive(Template)]
#[template(path = "od_dataset.html")]
struct DatasetPage<'a> {
    p: &'a PageCtx,
    id: String,
    name: String,
    title: String,
    notes: String,
    org_name: String,
    org_title: String,
    tags: Vec<String>,
    groups: Vec<(String, String)>,
    licence_title: String,
    licence_url: String,
    meta: Vec<(String, String)>,
    resources: Vec<ResourceItem>,
    api_show: String,
    api_search: Option<String>,
    can_edit: bool,
    draft: bool,
    private: bool,
    problems: Vec<Problem>,
    upload_limit_mb: usize,
}

fn human_size(n: Option<i64>) -> String {
    match n {
        None => String::new(),
        Some(n) if n < 1024 => format!("{n} B"),
        Some(n) if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        Some(n) => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}

fn download_path(d: &str, r: &ResourceRow) -> String {
    match (&r.url, &r.blob_hash) {
        (Some(u), None) => u.clone(),
        _ => format!("/dataset/{d}/resource/{}/download/{}", r.id, file_name(r)),
    }
}

/// The dataset `key` names if `viewer` may see it.
async fn visible(state: &AppState, key: &str, viewer: &Viewer) -> AppResult<DatasetFull> {
    let full = state
        .db
        .od_dataset(key)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !viewer.sees(&full.dataset) {
        return Err(AppError::not_found());
    }
    Ok(full)
}

async fn dataset_page(
    State(state): State<AppState>,
    p: PageCtx,
    headers: HeaderMap,
    Extension(cs): Extension<CurrentSession>,
    Path(key): Path<String>,
) -> AppResult<Response> {
    let me = signed(&cs);
    let viewer = Viewer::of(me.as_ref());
    let (key, rdf) = if let Some(k) = key.strip_suffix(".jsonld") {
        (k.to_string(), Some(Rdf::JsonLd))
    } else if let Some(k) = key.strip_suffix(".ttl") {
        (k.to_string(), Some(Rdf::Turtle))
    } else {
        (key, None)
    };
    let full = visible(&state, &key, &viewer).await?;
    let snap = snapshot(&state).await?;
    let org = snap
        .org(&full.dataset.org_code)
        .cloned()
        .ok_or_else(AppError::not_found)?;
    if let Some(rdf) = rdf {
        let base = base_url(&state, &headers);
        return Ok(dataset_document(
            &package_dict_of(&full, &org, &snap, &base),
            &base,
            rdf,
        ));
    }
    dataset_view(
        &state,
        &p,
        me.as_ref(),
        full,
        &org,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

async fn dataset_view(
    state: &AppState,
    p: &PageCtx,
    me: Option<&Signed>,
    full: DatasetFull,
    org: &Org,
    problems: Vec<Problem>,
    status: StatusCode,
) -> AppResult<Response> {
    let snap = snapshot(state).await?;
    let english = p.tr.lang == crate::i18n::Lang::En;
    let d = &full.dataset;
    let pick = |vi: &str, en: &str| {
        if english && !en.is_empty() {
            en.to_string()
        } else {
            vi.to_string()
        }
    };
    let lic = licence(&d.license_id);
    let mut meta = vec![
        (p.t("od-meta-org"), org.title(english).to_string()),
        (p.t("od-meta-created"), local_when(d.created_at)),
        (p.t("od-meta-modified"), local_when(d.modified_at)),
    ];
    if let Some(f) = &d.frequency {
        meta.push((p.t("od-meta-frequency"), p.t(&format!("od-freq-{f}"))));
    }
    if d.temporal_start.is_some() || d.temporal_end.is_some() {
        meta.push((
            p.t("od-meta-temporal"),
            format!(
                "{} – {}",
                d.temporal_start.as_deref().unwrap_or("…"),
                d.temporal_end.as_deref().unwrap_or("…")
            ),
        ));
    }
    if let Some(s) = &d.spatial {
        meta.push((p.t("od-meta-spatial"), s.clone()));
    }
    if d.contact_name.is_some() || d.contact_email.is_some() {
        meta.push((
            p.t("od-meta-contact"),
            [d.contact_name.as_deref(), d.contact_email.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
        ));
    }
    meta.push((p.t("od-meta-id"), d.id.clone()));
    let resources: Vec<ResourceItem> = full
        .resources
        .iter()
        .map(|r| ResourceItem {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            format: r.format.clone(),
            size: human_size(r.size),
            rows: r.datastore_rows,
            download: download_path(&d.name, r),
            link: r.blob_hash.is_none(),
        })
        .collect();
    let api_search = full
        .resources
        .iter()
        .find(|r| r.datastore_table.is_some())
        .map(|r| {
            format!(
                "/api/3/action/datastore_search?resource_id={}&limit=5",
                r.id
            )
        });
    let can_edit = me.is_some_and(|s| Actor::User(s).may_publish(&d.org_code));
    let page = DatasetPage {
        p,
        id: d.id.clone(),
        name: d.name.clone(),
        title: pick(&d.title_vi, &d.title_en),
        notes: pick(&d.notes_vi, &d.notes_en),
        org_name: org.name.clone(),
        org_title: org.title(english).to_string(),
        tags: full.tags.clone(),
        groups: full
            .groups
            .iter()
            .filter_map(|g| snap.group(g))
            .map(|g| (g.name.clone(), pick(&g.title_vi, &g.title_en)))
            .collect(),
        licence_title: lic
            .map(|l| l.title.to_string())
            .unwrap_or(d.license_id.clone()),
        licence_url: lic.map(|l| l.url.to_string()).unwrap_or_default(),
        meta,
        resources,
        api_show: format!("/api/3/action/package_show?id={}", d.name),
        api_search,
        can_edit,
        draft: d.state == "draft",
        private: d.private,
        problems,
        upload_limit_mb: UPLOAD_LIMIT / (1024 * 1024),
    };
    render_status(status, &page)
}

// ---------------------------------------------------------------- resource

#[derive(Template)]
#[template(path = "od_resource.html")]
struct ResourcePage<'a> {
    p: &'a PageCtx,
    dataset_name: String,
    dataset_title: String,
    id: String,
    name: String,
    description: String,
    format: String,
    size: String,
    download: String,
    link: bool,
    rows: Option<i64>,
    fields: Vec<FieldRow>,
    preview: Vec<Vec<String>>,
    api_example: Option<String>,
    can_edit: bool,
    types: Vec<&'static str>,
    problems: Vec<Problem>,
}

const TYPES: [&str; 6] = ["text", "int", "numeric", "bool", "date", "timestamp"];

async fn resource_page(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Path((key, rid)): Path<(String, String)>,
) -> AppResult<Response> {
    let me = signed(&cs);
    resource_view(
        &state,
        &p,
        me.as_ref(),
        &key,
        &rid,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

async fn resource_view(
    state: &AppState,
    p: &PageCtx,
    me: Option<&Signed>,
    key: &str,
    rid: &str,
    problems: Vec<Problem>,
    status: StatusCode,
) -> AppResult<Response> {
    let viewer = Viewer::of(me);
    let full = visible(state, key, &viewer).await?;
    let r = full
        .resources
        .iter()
        .find(|r| r.id == rid)
        .cloned()
        .ok_or_else(AppError::not_found)?;
    let english = p.tr.lang == crate::i18n::Lang::En;
    let d = &full.dataset;
    let (fields, preview) = match &r.datastore_table {
        Some(t) => {
            let fields = state.db.od_fields(&r.id).await?;
            let (rows, _) = state
                .db
                .ds_search(
                    t,
                    &fields,
                    &DsQuery {
                        limit: PREVIEW_ROWS,
                        ..Default::default()
                    },
                )
                .await?;
            let preview = rows
                .iter()
                .map(|row| row.iter().skip(1).map(DsValue::text).collect())
                .collect();
            (fields, preview)
        }
        None => (Vec::new(), Vec::new()),
    };
    render_status(
        status,
        &ResourcePage {
            p,
            dataset_name: d.name.clone(),
            dataset_title: if english && !d.title_en.is_empty() {
                d.title_en.clone()
            } else {
                d.title_vi.clone()
            },
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            format: r.format.clone(),
            size: human_size(r.size),
            download: download_path(&d.name, &r),
            link: r.blob_hash.is_none(),
            rows: r.datastore_rows,
            api_example: r.datastore_table.as_ref().map(|_| {
                format!(
                    "/api/3/action/datastore_search?resource_id={}&limit=5",
                    r.id
                )
            }),
            can_edit: me.is_some_and(|s| Actor::User(s).may_publish(&d.org_code)),
            types: TYPES.to_vec(),
            fields,
            preview,
            problems,
        },
    )
}

async fn download_named(
    state: State<AppState>,
    cs: Extension<CurrentSession>,
    Path((key, rid, _file)): Path<(String, String, String)>,
) -> AppResult<Response> {
    download(state, cs, Path((key, rid))).await
}

async fn download(
    State(state): State<AppState>,
    Extension(cs): Extension<CurrentSession>,
    Path((key, rid)): Path<(String, String)>,
) -> AppResult<Response> {
    let me = signed(&cs);
    let full = visible(&state, &key, &Viewer::of(me.as_ref())).await?;
    let r = full
        .resources
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(AppError::not_found)?;
    let Some(hash) = &r.blob_hash else {
        return match &r.url {
            Some(u) => Ok(Redirect::to(u).into_response()),
            None => Err(AppError::not_found()),
        };
    };
    let (info, bytes) = state
        .blobs
        .get(&state.db, hash)
        .await?
        .ok_or_else(AppError::not_found)?;
    let disposition = format!("attachment; filename=\"{}\"", file_name(r));
    let content_type = if info.content_type == "text/csv" {
        let charset = r.encoding.as_deref().unwrap_or("utf-8");
        format!("text/csv; charset={charset}")
    } else {
        info.content_type
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "public, max-age=300".to_string()),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------- publisher forms

#[derive(Deserialize, Default, Clone)]
pub struct DatasetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    title_vi: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    notes_vi: String,
    #[serde(default)]
    notes_en: String,
    #[serde(default)]
    owner_org: String,
    #[serde(default)]
    license_id: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    temporal_start: String,
    #[serde(default)]
    temporal_end: String,
    #[serde(default)]
    spatial: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    row_version: String,
}

impl DatasetForm {
    fn input(&self) -> DatasetInput {
        let opt = |s: &str| Some(s.to_string());
        DatasetInput {
            name: opt(&self.name),
            title_vi: opt(&self.title_vi),
            title_en: opt(&self.title_en),
            notes_vi: opt(&self.notes_vi),
            notes_en: opt(&self.notes_en),
            owner_org: Some(self.owner_org.clone()).filter(|s| !s.is_empty()),
            license_id: opt(&self.license_id),
            tags: Some(
                self.tags
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
            ),
            groups: Some(self.groups.clone()),
            private: Some(self.visibility == "private"),
            state: Some(
                if self.state == "draft" {
                    "draft"
                } else {
                    "active"
                }
                .into(),
            ),
            frequency: opt(&self.frequency),
            temporal_start: opt(&self.temporal_start),
            temporal_end: opt(&self.temporal_end),
            spatial: opt(&self.spatial),
            contact_name: opt(&self.contact_name),
            contact_email: opt(&self.contact_email),
            row_version: self.row_version.parse().ok(),
        }
    }
    fn of(full: &DatasetFull, snap: &super::Snapshot) -> DatasetForm {
        let d = &full.dataset;
        DatasetForm {
            name: d.name.clone(),
            title_vi: d.title_vi.clone(),
            title_en: d.title_en.clone(),
            notes_vi: d.notes_vi.clone(),
            notes_en: d.notes_en.clone(),
            owner_org: d.org_code.clone(),
            license_id: d.license_id.clone(),
            tags: full.tags.join(", "),
            groups: full
                .groups
                .iter()
                .filter_map(|g| snap.group(g).map(|g| g.name.clone()))
                .collect(),
            visibility: if d.private { "private" } else { "public" }.into(),
            state: d.state.clone(),
            frequency: d.frequency.clone().unwrap_or_default(),
            temporal_start: d.temporal_start.clone().unwrap_or_default(),
            temporal_end: d.temporal_end.clone().unwrap_or_default(),
            spatial: d.spatial.clone().unwrap_or_default(),
            contact_name: d.contact_name.clone().unwrap_or_default(),
            contact_email: d.contact_email.clone().unwrap_or_default(),
            row_version: d.row_version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "od_form.html")]
struct FormPage<'a> {
    p: &'a PageCtx,
    action: String,
    editing: bool,
    f: DatasetForm,
    orgs: Vec<(String, String)>,
    groups: Vec<(String, String)>,
    licences: Vec<(&'static str, &'static str)>,
    frequencies: Vec<&'static str>,
    problems: Vec<Problem>,
}

impl FormPage<'_> {
    fn err(&self, field: &str) -> String {
        self.problems
            .iter()
            .filter(|x| x.field == field)
            .map(|x| x.message.clone())
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn has_group(&self, name: &str) -> bool {
        self.f.groups.iter().any(|g| g == name)
    }
}

async fn form_page(
    state: &AppState,
    p: &PageCtx,
    me: &Signed,
    action: String,
    editing: bool,
    f: DatasetForm,
    problems: Vec<Problem>,
) -> AppResult<Response> {
    let snap = snapshot(state).await?;
    let english = p.tr.lang == crate::i18n::Lang::En;
    let actor = Actor::User(me);
    let orgs: Vec<(String, String)> = snap
        .orgs
        .iter()
        .filter(|o| actor.may_publish(&o.code))
        .map(|o| (o.code.clone(), o.title(english).to_string()))
        .collect();
    if orgs.is_empty() {
        return Err(AppError::forbidden());
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &FormPage {
            p,
            action,
            editing,
            f,
            orgs,
            groups: snap
                .groups
                .iter()
                .map(|g| {
                    (
                        g.name.clone(),
                        if english {
                            g.title_en.clone()
                        } else {
                            g.title_vi.clone()
                        },
                    )
                })
                .collect(),
            licences: LICENCES.iter().map(|l| (l.id, l.title)).collect(),
            frequencies: FREQUENCIES.to_vec(),
            problems,
        },
    )
}

async fn new_form(State(state): State<AppState>, p: PageCtx, me: Signed) -> AppResult<Response> {
    let f = DatasetForm {
        license_id: "cc-by-4.0".into(),
        visibility: "public".into(),
        state: "draft".into(),
        ..Default::default()
    };
    form_page(&state, &p, &me, "/dataset/new".into(), false, f, Vec::new()).await
}

async fn new_submit(
    State(state): State<AppState>,
    p: PageCtx,
    me: Signed,
    CsrfForm(f): CsrfForm<DatasetForm>,
) -> AppResult<Response> {
    match service::create_dataset(&state, &Actor::User(&me), &f.input(), "publisher").await {
        Ok(full) => Ok(Redirect::to(&format!("/dataset/{}", full.dataset.name)).into_response()),
        Err(e) => {
            let problems = od_page_error(&p, e)?;
            form_page(&state, &p, &me, "/dataset/new".into(), false, f, problems).await
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    p: PageCtx,
    me: Signed,
    Path(key): Path<String>,
) -> AppResult<Response> {
    let full = visible(&state, &key, &Viewer::of(Some(&me))).await?;
    if !Actor::User(&me).may_publish(&full.dataset.org_code) {
        return Err(AppError::forbidden());
    }
    let snap = snapshot(&state).await?;
    let f = DatasetForm::of(&full, &snap);
    let action = format!("/dataset/{}/edit", full.dataset.name);
    form_page(&state, &p, &me, action, true, f, Vec::new()).await
}

async fn edit_submit(
    State(state): State<AppState>,
    p: PageCtx,
    me: Signed,
    Path(key): Path<String>,
    CsrfForm(f): CsrfForm<DatasetForm>,
) -> AppResult<Response> {
    match service::update_dataset(&state, &Actor::User(&me), &key, &f.input(), false).await {
        Ok(full) => Ok(Redirect::to(&format!("/dataset/{}", full.dataset.name)).into_response()),
        Err(e) => {
            let problems = od_page_error(&p, e)?;
            let action = format!("/dataset/{key}/edit");
            form_page(&state, &p, &me, action, true, f, problems).await
        }
    }
}

async fn resource_new(
    State(state): State<AppState>,
    p: PageCtx,
    me: Signed,
    Path(key): Path<String>,
    form: UploadForm,
) -> AppResult<Response> {
    let file = form.files.iter().find(|f| f.field == "upload");
    let input = ResourceInput {
        name: Some(form.get("name").to_string()),
        description: Some(form.get("description").to_string()),
        format: None,
        url: Some(form.get("url").to_string()).filter(|u| !u.trim().is_empty() && file.is_none()),
        upload: file.map(|f| f.bytes.clone()),
        filename: file.map(|f| f.filename.clone()),
        encoding: Some(form.get("encoding").to_string()).filter(|e| !e.is_empty()),
        types: None,
    };
    match service::add_resource(&state, &Actor::User(&me), &key, input).await {
        Ok(r) => Ok(Redirect::to(&format!("/dataset/{key}/resource/{}", r.id)).into_response()),
        Err(e) => {
            let problems = od_page_error(&p, e)?;
            let full = visible(&state, &key, &Viewer::of(Some(&me))).await?;
            let snap = snapshot(&state).await?;
            let org = snap
                .org(&full.dataset.org_code)
                .cloned()
                .ok_or_else(AppError::not_found)?;
            dataset_view(
                &state,
                &p,
                Some(&me),
                full,
                &org,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn types_submit(
    State(state): State<AppState>,
    p: PageCtx,
    me: Signed,
    Path((key, rid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<BTreeMap<String, String>>,
) -> AppResult<Response> {
    let fields = state.db.od_fields(&rid).await?;
    let types: Vec<String> = (1..=fields.len())
        .map(|i| f.get(&format!("type_{i}")).cloned().unwrap_or_default())
        .collect();
    match service::retype(&state, &Actor::User(&me), &rid, &types).await {
        Ok(()) => Ok(Redirect::to(&format!("/dataset/{key}/resource/{rid}")).into_response()),
        Err(e) => {
            let problems = od_page_error(&p, e)?;
            resource_view(
                &state,
                &p,
                Some(&me),
                &key,
                &rid,
                problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn resource_delete(
    State(state): State<AppState>,
    p: PageCtx,
    me: Signed,
    Path((key, rid)): Path<(String, String)>,
    CsrfForm(_f): CsrfForm<BTreeMap<String, String>>,
) -> AppResult<Response> {
    match service::delete_resource(&state, &Actor::User(&me), &rid).await {
        Ok(()) => Ok(Redirect::to(&format!("/dataset/{key}")).into_response()),
        Err(e) => {
            od_page_error(&p, e)?;
            Err(AppError::not_found())
        }
    }
}
