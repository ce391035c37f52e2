//! The CKAN Action API under `/api/action/{name}` and `/api/3/action/{name}`, GET and POST,
//! as existing CKAN clients (e.g. `ckanapi`) use it: parameters from the query string, a JSON
//! body, a form or a multipart upload; the `{help, success, result}` envelope; errors as
//! `{success: false, error: {__type, message}}` (a Validation Error maps fields to messages)
//! with CKAN's statuses. See `docs/opendata.md` for what is implemented.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use cityhall_core::opendata::query::{
    parse_bool, parse_ds_sort, parse_filters, parse_int, parse_search, parse_sort, parse_str_list,
    QueryError, RecordsFormat,
};
use cityhall_core::text::fold;
use cityhall_db::opendata::{DsQuery, DsValue, FieldRow};
use cityhall_db::{IdentityStore, OpenDataStore};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::service::{self, Actor, DatasetInput, OdError, ResourceInput};
use super::{
    base_url, group_dict, licence, org_dict, package_dict, package_dict_of, resource_dict, search,
    Search, Snapshot, Viewer, FACET_FIELDS, LICENCES, UPLOAD_LIMIT,
};
use crate::auth::{hash_token, Signed};
use crate::i18n::{Lang, Tr};
use crate::{AppState, ReqLang};

/// The largest `rows` of `package_search` and `limit` of `datastore_search`.
const MAX_ROWS: i64 = 1000;
const MAX_DS_LIMIT: i64 = 32_000;
/// The version this API reports (the CKAN API level it follows).
const CKAN_VERSION: &str = "2.10.4";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/action/{name}", any(action))
        .route("/api/3/action/{name}", any(action))
        .route("/api/3", any(|| async { Json(json!({"version": 3})) }))
        .route("/api/3/", any(|| async { Json(json!({"version": 3})) }))
        .layer(axum::extract::DefaultBodyLimit::max(
            UPLOAD_LIMIT + 64 * 1024,
        ))
}

/// A CKAN error.
#[derive(Debug)]
pub struct CkanError {
    status: StatusCode,
    kind: &'static str,
    message: Option<String>,
    fields: Vec<(String, String)>,
}

impl CkanError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> CkanError {
        CkanError {
            status,
            kind,
            message: Some(message.into()),
            fields: vec![],
        }
    }
    fn not_found(message: impl Into<String>) -> CkanError {
        CkanError::new(StatusCode::NOT_FOUND, "Not Found Error", message)
    }
    fn forbidden(message: impl Into<String>) -> CkanError {
        CkanError::new(StatusCode::FORBIDDEN, "Authorization Error", message)
    }
    fn validation(fields: Vec<(String, String)>) -> CkanError {
        CkanError {
            status: StatusCode::CONFLICT,
            kind: "Validation Error",
            message: None,
            fields,
        }
    }
    fn missing(field: &str, tr: &Tr) -> CkanError {
        CkanError::validation(vec![(field.into(), tr.t("od-err-missing"))])
    }
    fn query(e: QueryError) -> CkanError {
        CkanError::new(
            StatusCode::BAD_REQUEST,
            "Search Query Error",
            format!("Search Query is invalid: {e}"),
        )
    }
    fn internal(e: impl std::fmt::Display) -> CkanError {
        tracing::error!(error = %e, "ckan action failed");
        CkanError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "the server could not complete the action; try again later",
        )
    }
    fn from_od(e: OdError, tr: &Tr) -> CkanError {
        match e {
            OdError::NotFound(what) => {
                CkanError::not_found(tr.t_with("od-err-not-found", &[("what", what)]))
            }
            OdError::Forbidden => CkanError::forbidden(tr.t("od-err-forbidden")),
            OdError::Stale => CkanError::new(
                StatusCode::CONFLICT,
                "Validation Error",
                tr.t("od-err-stale"),
            ),
            OdError::Invalid(list) => CkanError::validation(
                list.into_iter()
                    .map(|f| {
                        let args: Vec<(&str, &str)> =
                            f.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        (f.field, tr.t_with(f.key, &args))
                    })
                    .collect(),
            ),
            OdError::Store(cityhall_db::StoreError::Unavailable(_)) => CkanError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Internal Server Error",
                tr.t("od-err-unavailable"),
            ),
            OdError::Store(e) => CkanError::internal(e),
        }
    }
}

fn help(base: &str, name: &str) -> String {
    format!("{base}/api/3/action/help_show?name={name}")
}

fn respond(base: &str, name: &str, r: Result<Value, CkanError>) -> Response {
    match r {
        Ok(result) => Json(json!({"help": help(base, name), "success": true, "result": result}))
            .into_response(),
        Err(e) => {
            let mut error = Map::new();
            if let Some(m) = e.message {
                error.insert("message".into(), m.into());
            }
            let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
            for (f, m) in e.fields {
                match grouped.iter_mut().find(|(g, _)| *g == f) {
                    Some((_, list)) => list.push(m),
                    None => grouped.push((f, vec![m])),
                }
            }
            for (f, list) in grouped {
                error.insert(f, list.into());
            }
            error.insert("__type".into(), e.kind.into());
            (
                e.status,
                Json(json!({"help": help(base, name), "success": false, "error": error})),
            )
                .into_response()
        }
    }
}

/// The parameters of one call, however they were sent.
#[derive(Default)]
struct Params {
    map: Map<String, Value>,
    upload: Option<(Vec<u8>, Option<String>)>,
}

impl Params {
    fn get(&self, k: &str) -> Option<&Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }
    fn str(&self, k: &str) -> Option<String> {
        match self.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first().and_then(|v| v.as_str()).map(String::from),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    fn bool(&self, k: &str, default: bool) -> Result<bool, CkanError> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| {
                CkanError::validation(vec![(k.into(), format!("{v} is not a boolean"))])
            }),
        }
    }
    fn int(&self, k: &str, default: i64, min: i64, max: i64) -> Result<i64, CkanError> {
        match self.get(k) {
            None => Ok(default),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(default),
            Some(v) => match parse_int(v) {
                Some(n) if n >= min && n <= max => Ok(n),
                Some(_) => Err(CkanError::validation(vec![(
                    k.into(),
                    format!("must be between {min} and {max}"),
                )])),
                None => Err(CkanError::validation(vec![(
                    k.into(),
                    "Invalid integer".into(),
                )])),
            },
        }
    }
}

async fn params(req: Request) -> Result<Params, CkanError> {
    let mut map = Map::new();
    if let Some(q) = req.uri().query() {
        for (k, v) in crate::url_params(q) {
            match map.get_mut(&k) {
                Some(Value::Array(a)) => a.push(v.into()),
                Some(old) => {
                    let first = old.take();
                    *old = Value::Array(vec![first, v.into()]);
                }
                None => {
                    map.insert(k, v.into());
                }
            }
        }
    }
    if req.method() != Method::POST {
        return Ok(Params { map, upload: None });
    }
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| CkanError::new(StatusCode::BAD_REQUEST, "Bad Request", e.to_string()))?;
        let mut upload = None;
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(upload_error(e.status(), e.body_text())),
            };
            let name = field.name().unwrap_or("").to_string();
            if name == "upload" {
                let filename = field.file_name().map(String::from);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| upload_error(e.status(), e.body_text()))?;
                if !bytes.is_empty() {
                    upload = Some((bytes.to_vec(), filename));
                }
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|e| upload_error(e.status(), e.body_text()))?;
                map.insert(name, text.into());
            }
        }
        return Ok(Params { map, upload });
    }
    let bytes = Bytes::from_request(req, &())
        .await
        .map_err(|e| upload_error(e.status(), e.body_text()))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Params { map, upload: None });
    }
    if ctype.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map_err(|e| CkanError::new(StatusCode::BAD_REQUEST, "Bad Request", e.to_string()))?
        {
            map.insert(k, v.into());
        }
        return Ok(Params { map, upload: None });
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(body)) => {
            for (k, v) in body {
                map.insert(k, v);
            }
            Ok(Params { map, upload: None })
        }
        Ok(_) => Err(CkanError::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "Bad request data: Request data JSON decoded to a non-object",
        )),
        Err(e) => Err(CkanError::new(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            format!("JSON Error: {e}"),
        )),
    }
}

fn upload_error(status: StatusCode, text: String) -> CkanError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        CkanError::new(
            status,
            "Validation Error",
            format!(
                "the upload is larger than the limit of {} MB",
                UPLOAD_LIMIT / (1024 * 1024)
            ),
        )
    } else {
        CkanError::new(StatusCode::BAD_REQUEST, "Bad Request", text)
    }
}

/// The caller: CKAN clients send the key as `Authorization: KEY` (or `Bearer KEY`) or as
/// `X-CKAN-API-Key`; a browser session also counts.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    req_session: Option<Signed>,
) -> Option<Signed> {
    let key = headers
        .get(header::AUTHORIZATION)
        .or_else(|| headers.get("x-ckan-api-key"))
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .strip_prefix("Bearer ")
                .unwrap_or(v.trim())
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty());
    match key {
        Some(k) => state
            .db
            .api_token_user(OffsetDateTime::now_utc(), &hash_token(&k))
            .await
            .ok()
            .flatten()
            .filter(|i| !i.user.disabled)
            .map(|i| Signed(std::sync::Arc::new(i))),
        None => req_session,
    }
}

async fn action(State(state): State<AppState>, Path(name): Path<String>, req: Request) -> Response {
    let headers = req.headers().clone();
    let base = base_url(&state, &headers);
    let lang = req
        .extensions()
        .get::<ReqLang>()
        .map(|l| l.0)
        .unwrap_or(Lang::Vi);
    let session = req
        .extensions()
        .get::<crate::auth::CurrentSession>()
        .and_then(|s| s.info.clone())
        .filter(|i| !i.mfa_pending)
        .map(Signed);
    if !matches!(*req.method(), Method::GET | Method::POST) {
        return respond(
            &base,
            &name,
            Err(CkanError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Bad Request",
                "use GET or POST",
            )),
        );
    }
    const WRITES: [&str; 6] = [
        "package_create",
        "package_update",
        "package_patch",
        "package_delete",
        "resource_create",
        "resource_delete",
    ];
    // As CKAN: a write must be a POST (and a cross-site page cannot POST with the cookie).
    if WRITES.contains(&name.as_str()) && *req.method() != Method::POST {
        return (
            StatusCode::BAD_REQUEST,
            Json(Value::String(
                "Bad request - JSON Error: Invalid request. Please use POST method for your request"
                    .into(),
            )),
        )
            .into_response();
    }
    let tr = Tr::new(lang);
    let p = match params(req).await {
        Ok(p) => p,
        Err(e) => return respond(&base, &name, Err(e)),
    };
    let who = caller(&state, &headers, session).await;
    let cx = Cx {
        state: &state,
        base: &base,
        tr: &tr,
        who: who.as_ref(),
    };
    let result = match name.as_str() {
        "site_read" => Ok(Value::Bool(true)),
        "status_show" => Ok(status_show(&cx)),
        "package_list" => package_list(&cx, &p).await,
        "package_show" => package_show(&cx, &p).await,
        "package_search" => package_search(&cx, &p).await,
        "organization_list" => org_list(&cx, &p).await,
        "organization_show" => org_show(&cx, &p).await,
        "group_list" => group_list(&cx, &p).await,
        "group_show" => group_show(&cx, &p).await,
        "tag_list" => tag_list(&cx, &p).await,
        "license_list" => Ok(license_list()),
        "resource_show" => resource_show(&cx, &p).await,
        "datastore_search" => datastore_search(&cx, &p).await,
        "package_create" => package_write(&cx, &p, Write::Create).await,
        "package_update" => package_write(&cx, &p, Write::Update).await,
        "package_patch" => package_write(&cx, &p, Write::Patch).await,
        "package_delete" => package_delete(&cx, &p).await,
        "resource_create" => resource_create(&cx, p).await,
        "resource_delete" => resource_delete(&cx, &p).await,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(Value::String(format!(
                    "Bad request - Action name not known: {name}"
                ))),
            )
                .into_response()
        }
    };
    respond(&base, &name, result)
}

struct Cx<'a> {
    state: &'a AppState,
    base: &'a str,
    tr: &'a Tr,
    who: Option<&'a Signed>,
}

impl Cx<'_> {
    async fn snap(&self) -> Result<std::sync::Arc<Snapshot>, CkanError> {
        self.state
            .opendata
            .current(&self.state.db, false)
            .await
            .map_err(CkanError::internal)
    }
    fn viewer(&self) -> Viewer {
        Viewer::of(self.who)
    }
    fn actor(&self, action: &str) -> Result<Actor<'_>, CkanError> {
        self.who.map(Actor::User).ok_or_else(|| {
            CkanError::forbidden(self.tr.t_with("od-err-sign-in", &[("action", action)]))
        })
    }
}

fn status_show(cx: &Cx<'_>) -> Value {
    json!({
        "site_title": cx.tr.t("od-site-title"),
        "site_description": cx.tr.t("od-site-description"),
        "site_url": cx.base,
        "locale_default": "vi",
        "ckan_version": CKAN_VERSION,
        "extensions": ["datastore", "dcat"],
    })
}

fn license_list() -> Value {
    Value::Array(
        LICENCES
            .iter()
            .map(|l| {
                json!({
                    "id": l.id, "title": l.title, "url": l.url, "status": "active",
                    "od_conformance": if l.open { "approved" } else { "not reviewed" },
                    "osd_conformance": "not reviewed",
                    "domain_content": true, "domain_data": true, "domain_software": false,
                    "is_okd_compliant": l.open, "is_osi_compliant": false,
                })
            })
            .collect(),
    )
}

async fn package_list(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let snap = cx.snap().await?;
    let limit = p.int("limit", i64::MAX, 0, i64::MAX)? as usize;
    let offset = p.int("offset", 0, 0, i64::MAX)? as usize;
    let mut names: Vec<&str> = snap
        .entries
        .iter()
        .filter(|e| e.full.dataset.state == "active" && !e.full.dataset.private)
        .map(|e| e.full.dataset.name.as_str())
        .collect();
    names.sort();
    Ok(json!(names
        .into_iter()
        .skip(offset)
        .take(limit)
        .collect::<Vec<_>>()))
}

fn need(p: &Params, k: &str, tr: &Tr) -> Result<String, CkanError> {
    p.str(k)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CkanError::missing(k, tr))
}

async fn package_show(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let id = need(p, "id", cx.tr).or_else(|_| need(p, "name_or_id", cx.tr))?;
    let snap = cx.snap().await?;
    // From the database, so a write on another replica a moment ago is seen.
    let full = cx
        .state
        .db
        .od_dataset(&id)
        .await
        .map_err(CkanError::internal)?
        .filter(|f| f.dataset.state != "deleted" || cx.viewer().member_of(&f.dataset.org_code))
        .ok_or_else(|| {
            CkanError::not_found(cx.tr.t_with("od-err-not-found", &[("what", "dataset")]))
        })?;
    if !cx.viewer().sees(&full.dataset) {
        return Err(CkanError::forbidden(cx.tr.t("od-err-forbidden")));
    }
    let org = snap
        .org(&full.dataset.org_code)
        .cloned()
        .ok_or_else(|| CkanError::internal("dataset without organisation"))?;
    Ok(package_dict_of(&full, &org, &snap, cx.base))
}

fn facet_list(p: &Params) -> Vec<String> {
    let mut fields = p
        .get("facet.field")
        .and_then(parse_str_list)
        .unwrap_or_default();
    fields.retain(|f| FACET_FIELDS.contains(&f.as_str()));
    fields.dedup();
    fields
}

async fn package_search(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let spec =
        parse_search(p.str("q").as_deref(), p.str("fq").as_deref()).map_err(CkanError::query)?;
    let sort = parse_sort(p.str("sort").as_deref()).map_err(CkanError::query)?;
    let rows = p.int("rows", 10, 0, MAX_ROWS)? as usize;
    let start = p.int("start", 0, 0, i64::MAX)? as usize;
    let facet_limit = p.int("facet.limit", 50, -1, i64::MAX)?;
    let s = Search {
        spec,
        sort,
        rows,
        start,
        facet_fields: if p.bool("facet", true)? {
            facet_list(p)
        } else {
            vec![]
        },
        facet_limit: if facet_limit < 0 {
            usize::MAX
        } else {
            facet_limit as usize
        },
        include_private: p.bool("include_private", false)?,
        include_drafts: p.bool("include_drafts", false)?,
    };
    let snap = cx.snap().await?;
    let found = search(&snap, &cx.state.opendata, &s, &cx.viewer()).map_err(CkanError::internal)?;
    let results: Vec<Value> = found
        .page
        .iter()
        .map(|e| package_dict(e, &snap, cx.base))
        .collect();
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for (field, list) in &found.facets {
        facets.insert(
            field.clone(),
            Value::Object(list.iter().map(|(k, n)| (k.clone(), json!(n))).collect()),
        );
        let items: Vec<Value> = list
            .iter()
            .map(|(k, n)| {
                json!({"name": k, "display_name": display_name(&snap, field, k), "count": n})
            })
            .collect();
        search_facets.insert(field.clone(), json!({"title": field, "items": items}));
    }
    Ok(json!({
        "count": found.count,
        "sort": p.str("sort").unwrap_or_else(|| "score desc, metadata_modified desc".into()),
        "results": results,
        "facets": facets,
        "search_facets": search_facets,
    }))
}

fn display_name(snap: &Snapshot, field: &str, value: &str) -> String {
    match field {
        "organization" => snap
            .org(value)
            .map(|o| o.title_vi.clone())
            .unwrap_or_else(|| value.to_string()),
        "groups" => snap
            .group(value)
            .map(|g| g.title_vi.clone())
            .unwrap_or_else(|| value.to_string()),
        "license_id" => licence(value)
            .map(|l| l.title.to_string())
            .unwrap_or_else(|| value.to_string()),
        _ => value.to_string(),
    }
}

/// Public, active datasets per organisation code and per group id.
fn counts(snap: &Snapshot) -> (HashMap<&str, usize>, HashMap<&str, usize>) {
    let mut orgs = HashMap::new();
    let mut groups = HashMap::new();
    for e in &snap.entries {
        let d = &e.full.dataset;
        if d.state != "active" || d.private {
            continue;
        }
        *orgs.entry(d.org_code.as_str()).or_default() += 1;
        for g in &e.full.groups {
            *groups.entry(g.as_str()).or_default() += 1;
        }
    }
    (orgs, groups)
}

async fn org_list(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let snap = cx.snap().await?;
    let (counts, _) = counts(&snap);
    let all_fields = p.bool("all_fields", false)?;
    let limit = p.int("limit", 1000, 0, 1000)? as usize;
    let offset = p.int("offset", 0, 0, i64::MAX)? as usize;
    let mut orgs: Vec<_> = snap.orgs.iter().collect();
    orgs.sort_by(|a, b| a.name.cmp(&b.name));
    let page = orgs.into_iter().skip(offset).take(limit);
    Ok(if all_fields {
        Value::Array(
            page.map(|o| org_dict(o, Some(*counts.get(o.code.as_str()).unwrap_or(&0))))
                .collect(),
        )
    } else {
        Value::Array(page.map(|o| Value::from(o.name.clone())).collect())
    })
}

async fn org_show(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let id = need(p, "id", cx.tr)?;
    let snap = cx.snap().await?;
    let org = snap.org(&id).ok_or_else(|| {
        CkanError::not_found(
            cx.tr
                .t_with("od-err-not-found", &[("what", "organization")]),
        )
    })?;
    let (counts, _) = counts(&snap);
    let mut v = org_dict(org, Some(*counts.get(org.code.as_str()).unwrap_or(&0)));
    if p.bool("include_datasets", false)? {
        let viewer = cx.viewer();
        v["packages"] = Value::Array(
            snap.entries
                .iter()
                .filter(|e| e.org.code == org.code && viewer.sees(&e.full.dataset))
                .take(1000)
                .map(|e| package_dict(e, &snap, cx.base))
                .collect(),
        );
    }
    Ok(v)
}

async fn group_list(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let snap = cx.snap().await?;
    let (_, counts) = counts(&snap);
    let all_fields = p.bool("all_fields", false)?;
    let limit = p.int("limit", 1000, 0, 1000)? as usize;
    let offset = p.int("offset", 0, 0, i64::MAX)? as usize;
    let page = snap.groups.iter().skip(offset).take(limit);
    Ok(if all_fields {
        Value::Array(
            page.map(|g| group_dict(g, Some(*counts.get(g.id.as_str()).unwrap_or(&0))))
                .collect(),
        )
    } else {
        Value::Array(page.map(|g| Value::from(g.name.clone())).collect())
    })
}

async fn group_show(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let id = need(p, "id", cx.tr)?;
    let snap = cx.snap().await?;
    let g = snap.group(&id).ok_or_else(|| {
        CkanError::not_found(cx.tr.t_with("od-err-not-found", &[("what", "group")]))
    })?;
    let (_, counts) = counts(&snap);
    let mut v = group_dict(g, Some(*counts.get(g.id.as_str()).unwrap_or(&0)));
    if p.bool("include_datasets", false)? {
        let viewer = cx.viewer();
        v["packages"] = Value::Array(
            snap.entries
                .iter()
                .filter(|e| e.full.groups.contains(&g.id) && viewer.sees(&e.full.dataset))
                .take(1000)
                .map(|e| package_dict(e, &snap, cx.base))
                .collect(),
        );
    }
    Ok(v)
}

async fn tag_list(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let snap = cx.snap().await?;
    let query = p.str("query").map(|q| fold(q.trim()));
    let mut tags: Vec<&str> = snap
        .entries
        .iter()
        .filter(|e| e.full.dataset.state == "active" && !e.full.dataset.private)
        .flat_map(|e| e.full.tags.iter().map(|t| t.as_str()))
        .filter(|t| query.as_ref().is_none_or(|q| fold(t).contains(q.as_str())))
        .collect();
    tags.sort();
    tags.dedup();
    Ok(if p.bool("all_fields", false)? {
        Value::Array(
            tags.into_iter()
                .map(|t| json!({"name": t, "display_name": t, "vocabulary_id": Value::Null}))
                .collect(),
        )
    } else {
        json!(tags)
    })
}

/// A resource the caller may see, with its dataset.
async fn visible_resource(
    cx: &Cx<'_>,
    id: &str,
) -> Result<
    (
        cityhall_db::opendata::ResourceRow,
        cityhall_db::opendata::DatasetFull,
    ),
    CkanError,
> {
    let not_found =
        || CkanError::not_found(cx.tr.t_with("od-err-not-found", &[("what", "resource")]));
    let r = cx
        .state
        .db
        .od_resource(id)
        .await
        .map_err(CkanError::internal)?
        .ok_or_else(not_found)?;
    let d = cx
        .state
        .db
        .od_dataset(&r.dataset_id)
        .await
        .map_err(CkanError::internal)?
        .ok_or_else(not_found)?;
    if !cx.viewer().sees(&d.dataset) {
        return Err(not_found());
    }
    Ok((r, d))
}

async fn resource_show(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let id = need(p, "id", cx.tr)?;
    let (r, _) = visible_resource(cx, &id).await?;
    Ok(resource_dict(&r, cx.base))
}

/// A filter value converted to the column's type.
fn typed(v: &Value, kind: &str) -> Option<DsValue> {
    Some(match (v, kind) {
        (Value::Null, _) => DsValue::Null,
        (Value::Number(n), "int") => DsValue::Int(n.as_i64()?),
        (Value::String(s), "int") => DsValue::Int(s.trim().parse().ok()?),
        (Value::Number(n), "numeric") => DsValue::Float(n.as_f64()?),
        (Value::String(s), "numeric") => DsValue::Float(s.trim().parse().ok()?),
        (Value::Bool(b), "bool") => DsValue::Bool(*b),
        (v, "bool") => DsValue::Bool(parse_bool(v)?),
        (Value::String(s), _) => DsValue::Text(s.clone()),
        (Value::Number(n), _) => DsValue::Text(n.to_string()),
        (Value::Bool(b), _) => DsValue::Text(b.to_string()),
        _ => return None,
    })
}

fn column(fields: &[FieldRow], name: &str) -> Option<usize> {
    if name == "_id" {
        return Some(0);
    }
    fields.iter().position(|f| f.name == name).map(|i| i + 1)
}

fn value_json(v: &DsValue) -> Value {
    match v {
        DsValue::Null => Value::Null,
        DsValue::Text(s) => Value::String(s.clone()),
        DsValue::Int(i) => json!(i),
        DsValue::Float(f) => json!(f),
        DsValue::Bool(b) => json!(b),
    }
}

/// One delimited line; fields quoted when they hold the delimiter, a quote or a line break.
fn delimited(values: &[String], sep: char) -> String {
    let mut line = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            line.push(sep);
        }
        if v.contains(sep) || v.contains('"') || v.contains('\n') || v.contains('\r') {
            let _ = write!(line, "\"{}\"", v.replace('"', "\"\""));
        } else {
            line.push_str(v);
        }
    }
    line.push('\n');
    line
}

/// The datastore query a request asks for, checked against the table's columns.
pub fn ds_query(
    p: &Map<String, Value>,
    fields: &[FieldRow],
) -> Result<(DsQuery, Vec<usize>, RecordsFormat), (String, String)> {
    let get = |k: &str| p.get(k).filter(|v| !v.is_null());
    let int = |k: &str, default: i64, max: i64| -> Result<i64, (String, String)> {
        match get(k) {
            None => Ok(default),
            Some(v) => match parse_int(v) {
                Some(n) if (0..=max).contains(&n) => Ok(n),
                _ => Err((k.into(), format!("must be a whole number from 0 to {max}"))),
            },
        }
    };
    let mut q = DsQuery {
        limit: int("limit", 100, MAX_DS_LIMIT)?,
        offset: int("offset", 0, i64::MAX)?,
        total: match get("include_total") {
            None => true,
            Some(v) => parse_bool(v).ok_or(("include_total".into(), "not a boolean".into()))?,
        },
        ..Default::default()
    };
    if let Some(v) = get("filters") {
        for (name, values) in parse_filters(v).map_err(|e| (e.field.to_string(), e.to_string()))? {
            let i = column(fields, &name).ok_or_else(|| {
                (
                    "filters".to_string(),
                    format!("field \"{name}\" not in table"),
                )
            })?;
            let kind = if i == 0 {
                "int"
            } else {
                fields[i - 1].kind.as_str()
            };
            let mut accepted = Vec::new();
            for v in &values {
                accepted.push(typed(v, kind).ok_or_else(|| {
                    (
                        "filters".to_string(),
                        format!("invalid value {v} for field \"{name}\" of type {kind}"),
                    )
                })?);
            }
            q.filters.push((i, accepted));
        }
    }
    match get("q") {
        None => {}
        Some(Value::String(s)) => {
            q.words = fold(s)
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .take(20)
                .map(String::from)
                .collect();
        }
        Some(Value::Object(m)) => {
            for (name, v) in m {
                let i = column(fields, name)
                    .ok_or_else(|| ("q".to_string(), format!("field \"{name}\" not in table")))?;
                let text = v
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string());
                q.contains.push((i, text.to_lowercase()));
            }
        }
        Some(other) => {
            // A JSON object sent as a string (GET).
            let parsed = other
                .as_str()
                .and_then(|s| serde_json::from_str::<Value>(s).ok());
            return match parsed {
                Some(v @ Value::Object(_)) => {
                    let mut m = p.clone();
                    m.insert("q".into(), v);
                    ds_query(&m, fields)
                }
                _ => Err((
                    "q".into(),
                    "must be text or an object of field: text".into(),
                )),
            };
        }
    }
    if let Some(Value::String(s)) = get("q") {
        if s.trim_start().starts_with('{') {
            if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(s) {
                let mut m = p.clone();
                m.insert("q".into(), v);
                return ds_query(&m, fields);
            }
        }
    }
    if let Some(v) = get("sort") {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(","),
            _ => return Err(("sort".into(), "must be text".into())),
        };
        for (name, desc) in parse_ds_sort(&s).map_err(|e| (e.field.to_string(), e.to_string()))? {
            let i = column(fields, &name)
                .ok_or_else(|| ("sort".to_string(), format!("field \"{name}\" not in table")))?;
            q.sort.push((i, desc));
        }
    }
    let selected: Vec<usize> = match get("fields") {
        None => (0..=fields.len()).collect(),
        Some(v) => {
            let names =
                parse_str_list(v).ok_or(("fields".to_string(), "must be a list".to_string()))?;
            let mut out = Vec::new();
            for n in names {
                let n = n.trim().to_string();
                out.push(column(fields, &n).ok_or_else(|| {
                    ("fields".to_string(), format!("field \"{n}\" not in table"))
                })?);
            }
            out
        }
    };
    let format = match get("records_format") {
        None => RecordsFormat::Objects,
        Some(v) => v
            .as_str()
            .ok_or(QueryError::new("records_format", "must be text"))
            .and_then(RecordsFormat::parse)
            .map_err(|e| (e.field.to_string(), e.to_string()))?,
    };
    Ok((q, selected, format))
}

async fn datastore_search(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let id = need(p, "resource_id", cx.tr)
        .or_else(|_| need(p, "id", cx.tr))
        .map_err(|_| CkanError::missing("resource_id", cx.tr))?;
    let (r, _) = visible_resource(cx, &id).await?;
    let Some(table) = &r.datastore_table else {
        return Err(CkanError::not_found(
            cx.tr.t_with("od-err-not-found", &[("what", "datastore")]),
        ));
    };
    let fields = cx
        .state
        .db
        .od_fields(&r.id)
        .await
        .map_err(CkanError::internal)?;
    let (q, selected, format) =
        ds_query(&p.map, &fields).map_err(|(f, m)| CkanError::validation(vec![(f, m)]))?;
    let (rows, total) = cx
        .state
        .db
        .ds_search(table, &fields, &q)
        .await
        .map_err(CkanError::internal)?;
    let name_of = |i: usize| {
        if i == 0 {
            "_id".to_string()
        } else {
            fields[i - 1].name.clone()
        }
    };
    let type_of = |i: usize| {
        if i == 0 {
            "int".to_string()
        } else {
            fields[i - 1].kind.clone()
        }
    };
    let out_fields: Vec<Value> = selected
        .iter()
        .map(|&i| json!({"id": name_of(i), "type": type_of(i)}))
        .collect();
    let records = match format {
        RecordsFormat::Objects => Value::Array(
            rows.iter()
                .map(|row| {
                    Value::Object(
                        selected
                            .iter()
                            .map(|&i| (name_of(i), value_json(&row[i])))
                            .collect(),
                    )
                })
                .collect(),
        ),
        RecordsFormat::Lists => Value::Array(
            rows.iter()
                .map(|row| Value::Array(selected.iter().map(|&i| value_json(&row[i])).collect()))
                .collect(),
        ),
        RecordsFormat::Csv | RecordsFormat::Tsv => {
            let sep = if matches!(format, RecordsFormat::Csv) {
                ','
            } else {
                '\t'
            };
            let mut out = String::new();
            for row in &rows {
                let vals: Vec<String> = selected.iter().map(|&i| row[i].text()).collect();
                out.push_str(&delimited(&vals, sep));
            }
            Value::String(out)
        }
    };
    let start = format!("/api/3/action/datastore_search?resource_id={}", r.id);
    let mut v = json!({
        "resource_id": r.id,
        "fields": out_fields,
        "records": records,
        "limit": q.limit,
        "offset": q.offset,
        "records_format": format.as_str(),
        "include_total": q.total,
        "_links": {
            "start": start,
            "next": format!("{start}&offset={}", q.offset + q.limit),
        },
    });
    if let Some(t) = total {
        v["total"] = json!(t);
        v["total_was_estimated"] = json!(false);
    }
    if let Some(qv) = p.get("q") {
        v["q"] = qv.clone();
    }
    if let Some(fv) = p.get("filters") {
        v["filters"] = fv.clone();
    }
    Ok(v)
}

#[derive(Clone, Copy, PartialEq)]
enum Write {
    Create,
    Update,
    Patch,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A dataset write's input from a CKAN package dict.
fn dataset_input(
    p: &Params,
    tr: &Tr,
    stored: Option<&cityhall_db::opendata::DatasetRow>,
) -> Result<DatasetInput, CkanError> {
    let m = &p.map;
    let s = |k: &str| m.get(k).and_then(text_of);
    // A dict from package_show carries both `title` and `title_translated.vi`; the one the
    // caller changed wins.
    let pick_vi = |plain: Option<String>, translated: Option<String>, old: Option<&str>| match (
        plain, translated,
    ) {
        (Some(p), Some(t)) if old == Some(t.as_str()) && p != t => Some(p),
        (p, Some(t)) => Some(t).or(p),
        (p, None) => p,
    };
    let tr_field = |k: &str, lang: &str| {
        m.get(k).and_then(|v| match v {
            Value::Object(o) => o.get(lang).and_then(text_of),
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .and_then(|o| o.get(lang).and_then(text_of)),
            _ => None,
        })
    };
    let list = |k: &str| -> Result<Option<Vec<String>>, CkanError> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(
                a.iter()
                    .filter_map(|x| match x {
                        Value::Object(o) => o.get("name").or_else(|| o.get("id")).and_then(text_of),
                        other => text_of(other),
                    })
                    .collect(),
            )),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
            )),
            Some(_) => Err(CkanError::validation(vec![(k.into(), tr.t("od-err-list"))])),
        }
    };
    // The extras this catalogue keeps; `issued` and `language` are shown and ignored on input.
    const EXTRAS: [&str; 7] = [
        "frequency",
        "temporal_start",
        "temporal_end",
        "spatial_text",
        "spatial",
        "issued",
        "language",
    ];
    let mut extras: HashMap<String, String> = HashMap::new();
    if let Some(Value::Array(a)) = m.get("extras") {
        for e in a {
            if let (Some(k), Some(v)) = (
                e.get("key").and_then(|v| v.as_str()),
                e.get("value").and_then(text_of),
            ) {
                if !EXTRAS.contains(&k) {
                    return Err(CkanError::validation(vec![(
                        "extras".into(),
                        format!(
                            "the extra \"{k}\" is not kept by this catalogue; known extras: {}",
                            EXTRAS.join(", ")
                        ),
                    )]));
                }
                extras.insert(k.to_string(), v);
            }
        }
    }
    let pick = |k: &str| s(k).or_else(|| extras.get(k).cloned());
    let private =
        match m.get("private") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_bool(v).ok_or_else(|| {
                CkanError::validation(vec![("private".into(), tr.t("od-err-bool"))])
            })?),
        };
    Ok(DatasetInput {
        name: s("name"),
        title_vi: pick_vi(
            s("title"),
            tr_field("title_translated", "vi"),
            stored.map(|d| d.title_vi.as_str()),
        ),
        title_en: tr_field("title_translated", "en").or_else(|| s("title_en")),
        notes_vi: pick_vi(
            s("notes"),
            tr_field("notes_translated", "vi"),
            stored.map(|d| d.notes_vi.as_str()),
        ),
        notes_en: tr_field("notes_translated", "en").or_else(|| s("notes_en")),
        owner_org: s("owner_org"),
        license_id: s("license_id"),
        tags: list("tags")?,
        groups: list("groups")?,
        private,
        state: s("state"),
        frequency: pick("frequency"),
        temporal_start: pick("temporal_start"),
        temporal_end: pick("temporal_end"),
        spatial: pick("spatial_text").or_else(|| pick("spatial")),
        contact_name: s("maintainer"),
        contact_email: s("maintainer_email"),
        row_version: None,
    })
}

async fn package_write(cx: &Cx<'_>, p: &Params, w: Write) -> Result<Value, CkanError> {
    let action = match w {
        Write::Create => "package_create",
        Write::Update => "package_update",
        Write::Patch => "package_patch",
    };
    let actor = cx.actor(action)?;
    let stored = match w {
        Write::Create => None,
        _ => match need(p, "id", cx.tr).or_else(|_| need(p, "name", cx.tr)) {
            Ok(id) => cx
                .state
                .db
                .od_dataset(&id)
                .await
                .map_err(CkanError::internal)?,
            Err(_) => None,
        },
    };
    let input = dataset_input(p, cx.tr, stored.as_ref().map(|f| &f.dataset))?;
    let full = match w {
        Write::Create => {
            if input.name.is_none() {
                return Err(CkanError::missing("name", cx.tr));
            }
            service::create_dataset(cx.state, &actor, &input, "publisher").await
        }
        Write::Update | Write::Patch => {
            let id = need(p, "id", cx.tr).or_else(|_| need(p, "name", cx.tr))?;
            service::update_dataset(cx.state, &actor, &id, &input, w == Write::Update).await
        }
    }
    .map_err(|e| CkanError::from_od(e, cx.tr))?;
    // Resources sent with a create are added as links.
    if w == Write::Create {
        if let Some(Value::Array(list)) = p.map.get("resources") {
            for r in list {
                let s = |k: &str| r.get(k).and_then(text_of);
                service::add_resource(
                    cx.state,
                    &actor,
                    &full.dataset.id,
                    ResourceInput {
                        name: s("name"),
                        description: s("description"),
                        format: s("format"),
                        url: s("url"),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| CkanError::from_od(e, cx.tr))?;
            }
        }
    }
    let snap = cx.snap().await?;
    let stored = cx
        .state
        .db
        .od_dataset(&full.dataset.id)
        .await
        .map_err(CkanError::internal)?
        .ok_or_else(|| CkanError::internal("dataset vanished after write"))?;
    let org = snap
        .org(&stored.dataset.org_code)
        .cloned()
        .ok_or_else(|| CkanError::internal("dataset without organisation"))?;
    Ok(package_dict_of(&stored, &org, &snap, cx.base))
}

async fn package_delete(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let actor = cx.actor("package_delete")?;
    let id = need(p, "id", cx.tr)?;
    let input = DatasetInput {
        state: Some("deleted".into()),
        ..Default::default()
    };
    service::update_dataset(cx.state, &actor, &id, &input, false)
        .await
        .map_err(|e| CkanError::from_od(e, cx.tr))?;
    Ok(Value::Null)
}

async fn resource_create(cx: &Cx<'_>, mut p: Params) -> Result<Value, CkanError> {
    let actor = cx.actor("resource_create")?;
    let dataset = need(&p, "package_id", cx.tr)?;
    let s = |k: &str| p.map.get(k).and_then(text_of);
    let types = match p.map.get("types") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_str_list(v).ok_or_else(|| {
            CkanError::validation(vec![("types".into(), cx.tr.t("od-err-list"))])
        })?),
    };
    let upload = p.upload.take();
    let input = ResourceInput {
        name: s("name"),
        description: s("description"),
        format: s("format"),
        url: if upload.is_some() { None } else { s("url") },
        filename: upload.as_ref().and_then(|(_, f)| f.clone()),
        upload: upload.map(|(b, _)| b),
        encoding: s("encoding"),
        types,
    };
    let r = service::add_resource(cx.state, &actor, &dataset, input)
        .await
        .map_err(|e| CkanError::from_od(e, cx.tr))?;
    Ok(resource_dict(&r, cx.base))
}

async fn resource_delete(cx: &Cx<'_>, p: &Params) -> Result<Value, CkanError> {
    let actor = cx.actor("resource_delete")?;
    let id = need(p, "id", cx.tr)?;
    service::delete_resource(cx.state, &actor, &id)
        .await
        .map_err(|e| CkanError::from_od(e, cx.tr))?;
    Ok(Value::Null)
}
