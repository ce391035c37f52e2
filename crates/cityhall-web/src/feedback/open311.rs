//! Open311 GeoReport v2 under `/open311/v2/`: discovery, services and their definitions,
//! reading public reports, filing a report with an app's API key (the token path for
//! reports that wait for the reporter's confirmation), in JSON (bare arrays) and XML; and
//! the city administrator's page that issues and revokes the apps' keys.
//!
//! Everything a report must satisfy is decided by [`super::service::file`]; this module only
//! translates between the wire format and it. See `docs/open311.md` for the choices made
//! where the specification leaves room.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::Router;
use cityhall_core::calendar::{TimeLimit, VN_OFFSET};
use cityhall_core::catalog::I18nText;
use cityhall_core::feedback::{Category, Channel, Point, Status, MAX_PHOTOS};
use cityhall_db::audit::NewEntry;
use cityhall_db::feedback::{Open311KeyRow, ReportFilter, ReportRow, ReportSort};
use cityhall_db::{from_micros, micros, new_id, AuditStore, Db, FeedbackStore, GeoStore};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::service::{self, answers_from_pairs, FileError, NewReport, Reporter, MAX_PHOTO_BYTES};
use crate::auth::{hash_token, random_token, CityAdmin, CsrfForm};
use crate::dossier::local_when;
use crate::error::{AppError, AppResult};
use crate::i18n::{Lang, Tr};
use crate::pages::{render, render_status, PageCtx};
use crate::AppState;

/// The one jurisdiction this server answers for; a request naming another gets a 404.
pub const JURISDICTION: &str = "hochiminhcity.gov.vn";
/// The most reports one `GET requests` returns.
pub const MAX_RESULTS: usize = 1000;
/// The default window of `GET requests`, and the longest one a client may ask for.
pub const WINDOW_DAYS: i64 = 90;
/// When this API last changed in a way clients may care about (discovery's `changeset`).
const CHANGESET: &str = "2026-11-23T00:00:00+07:00";
const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

pub fn router() -> Router<AppState> {
    let upload_limit = MAX_PHOTOS * MAX_PHOTO_BYTES + 256 * 1024;
    Router::new()
        .route(
            "/open311/v2/discovery.json",
            get(discovery).fallback(wrong_method),
        )
        .route(
            "/open311/v2/discovery.xml",
            get(discovery).fallback(wrong_method),
        )
        .route(
            "/open311/v2/services.json",
            get(services).fallback(wrong_method),
        )
        .route(
            "/open311/v2/services.xml",
            get(services).fallback(wrong_method),
        )
        .route(
            "/open311/v2/services/{file}",
            get(definition).fallback(wrong_method),
        )
        .route(
            "/open311/v2/requests.json",
            get(list_requests).post(post_request).fallback(wrong_method),
        )
        .route(
            "/open311/v2/requests.xml",
            get(list_requests).post(post_request).fallback(wrong_method),
        )
        .route(
            "/open311/v2/requests/{file}",
            get(one_request).fallback(wrong_method),
        )
        .route(
            "/open311/v2/tokens/{file}",
            get(token).fallback(wrong_method),
        )
        .route("/open311/v2/{*rest}", any(unknown))
        .layer(axum::extract::DefaultBodyLimit::max(upload_limit))
        .route("/admin/open311", get(admin_keys).post(admin_issue))
        .route("/admin/open311/{id}/revoke", post(admin_revoke))
}

// ---------------------------------------------------------------- formats and replies

/// The two wire formats, chosen by the resource's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

impl Format {
    fn from_ext(ext: &str) -> Option<Format> {
        match ext {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }

    /// The format of a path ending in `.json` or `.xml`.
    fn of_path(path: &str) -> Option<Format> {
        path.rsplit_once('.').and_then(|(_, e)| Format::from_ext(e))
    }

    /// For a path without a known extension (an error about the path itself): what the
    /// client says it accepts, JSON otherwise.
    fn guess(path: &str, headers: &HeaderMap) -> Format {
        Format::of_path(path).unwrap_or_else(|| {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if accept.contains("xml") && !accept.contains("json") {
                Format::Xml
            } else {
                Format::Json
            }
        })
    }
}

/// `name.ext` split into the name and the format.
fn split_file(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    Some((name, Format::from_ext(ext)?)).filter(|(n, _)| !n.is_empty())
}

/// How one request is answered: its format and language.
#[derive(Debug, Clone, Copy)]
struct Reply {
    fmt: Format,
    tr: Tr,
}

impl Reply {
    fn new(fmt: Format, q: &[(String, String)], headers: &HeaderMap) -> Reply {
        Reply {
            fmt,
            tr: Tr::new(language(q, headers)),
        }
    }

    fn english(self) -> bool {
        self.tr.lang == Lang::En
    }

    fn text(self, t: &I18nText) -> String {
        t.get(self.english()).to_string()
    }

    /// `root` names the XML document element (and, for a list, its items' elements).
    fn render(self, status: StatusCode, root: &str, body: &Value) -> Response {
        let text = match self.fmt {
            Format::Json => body.to_string(),
            Format::Xml => xml::document(root, body),
        };
        let mut res = (status, text).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.fmt.content_type()),
        );
        // Public data, no credentials: any web app may read it.
        res.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        res
    }

    fn ok(self, root: &str, body: Value) -> Response {
        self.render(StatusCode::OK, root, &body)
    }

    /// The specification's error list: one entry per problem, each with the HTTP status as
    /// its code and a message in the client's language.
    fn fail(self, f: Fail) -> Response {
        if f.status.is_server_error() {
            if let Some(cause) = &f.cause {
                tracing::error!(error = format!("{cause:#}"), "open311 request failed");
            }
        }
        let code = f.status.as_u16();
        let items = f
            .messages
            .iter()
            .map(|m| {
                let description = match m {
                    _ if f.status.is_server_error() => self.tr.t("error-500"),
                    Msg::Key(k) => self.tr.t(k),
                    Msg::Literal(s) => s.clone(),
                    Msg::Field(param, k) => format!("{param}: {}", self.tr.t(k)),
                };
                json!({"code": code, "description": description})
            })
            .collect();
        self.render(f.status, "errors", &Value::Array(items))
    }

    fn finish(self, r: Result<Response, Fail>) -> Response {
        r.unwrap_or_else(|f| self.fail(f))
    }
}

/// `?lang=` first, then the client's `Accept-Language`, then Vietnamese.
fn language(q: &[(String, String)], headers: &HeaderMap) -> Lang {
    param(q, "lang")
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(accept_language)
        })
        .unwrap_or_default()
}

/// The language of ours the client prefers most, by quality (the first one on a tie).
fn accept_language(v: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in v.split(',') {
        let mut bits = part.split(';');
        let tag = bits.next().unwrap_or("").trim();
        let q = bits
            .find_map(|b| b.trim().strip_prefix("q="))
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
            .unwrap_or(1.0);
        let lang = match tag
            .split('-')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
            .as_str()
        {
            "vi" => Lang::Vi,
            "en" => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// Why a request failed, before it is written in the client's format and language.
#[derive(Debug)]
struct Fail {
    status: StatusCode,
    messages: Vec<Msg>,
    cause: Option<anyhow::Error>,
}

#[derive(Debug)]
enum Msg {
    /// A message key.
    Key(String),
    /// A parameter and a message key: "`param`: message".
    Field(String, String),
    /// Words that are not in the catalog (a parser's own).
    Literal(String),
}

impl Fail {
    fn new(status: StatusCode, key: &str) -> Fail {
        Fail {
            status,
            messages: vec![Msg::Key(key.into())],
            cause: None,
        }
    }
    fn not_found() -> Fail {
        Fail::new(StatusCode::NOT_FOUND, "o311-err-not-found")
    }
    fn field(param: &str, key: &str) -> Fail {
        Fail {
            status: StatusCode::BAD_REQUEST,
            messages: vec![Msg::Field(param.into(), key.into())],
            cause: None,
        }
    }
}

impl From<AppError> for Fail {
    fn from(e: AppError) -> Fail {
        let mut messages: Vec<Msg> = e
            .info
            .fields
            .iter()
            .map(|(f, k)| Msg::Field(f.clone(), k.clone()))
            .collect();
        if messages.is_empty() {
            messages.push(if e.info.literal {
                Msg::Literal(e.info.key.clone())
            } else {
                Msg::Key(e.info.key.clone())
            });
        }
        Fail {
            status: e.status,
            messages,
            cause: e.cause,
        }
    }
}

impl From<cityhall_db::StoreError> for Fail {
    fn from(e: cityhall_db::StoreError) -> Fail {
        AppError::from(e).into()
    }
}

/// The first non-empty value of a parameter.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .find(|v| !v.is_empty())
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| crate::url_params(q).collect())
        .unwrap_or_default()
}

/// A request for another jurisdiction is for a server that is not this one.
fn check_jurisdiction(pairs: &[(String, String)]) -> Result<(), Fail> {
    match param(pairs, "jurisdiction_id") {
        Some(j) if !j.eq_ignore_ascii_case(JURISDICTION) => {
            Err(Fail::new(StatusCode::NOT_FOUND, "o311-err-jurisdiction"))
        }
        _ => Ok(()),
    }
}

/// Where this server is reached: the configured public address, else the request's host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state.config.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// An instant as W3C date-time in the city's offset, to the second.
fn w3c(us: i64) -> String {
    const F: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    from_micros(us)
        .to_offset(VN_OFFSET)
        .format(F)
        .unwrap_or_default()
}

/// A W3C date-time (with seconds or not, fractions, `Z` or an offset), or a bare date taken
/// as midnight in the city. A `+` sent unencoded in a query string arrives as a space.
fn parse_w3c(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim().replace(' ', "+");
    if let Ok(t) = OffsetDateTime::parse(&s, &Rfc3339) {
        return Some(t);
    }
    let s = match s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        Some(x) => format!("{x}+00:00"),
        None => s,
    };
    if let Ok(t) = OffsetDateTime::parse(
        &s,
        time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute][offset_hour sign:mandatory]:[offset_minute]"
        ),
    ) {
        return Some(t);
    }
    time::Date::parse(
        &s,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .map(|d| d.midnight().assume_offset(VN_OFFSET))
}

// ---------------------------------------------------------------- the small XML writer

/// XML 1.0 from the same JSON value the JSON answer is: objects become elements named by
/// their keys, lists repeat an element named for their item, `null` is an empty element.
mod xml {
    use serde_json::Value;

    /// The element each list's items get.
    fn item_name(list: &str) -> &str {
        match list {
            "services" => "service",
            "service_requests" => "request",
            "errors" => "error",
            "attributes" => "attribute",
            "values" => "value",
            "endpoints" => "endpoint",
            "formats" => "format",
            _ => "item",
        }
    }

    pub fn document(root: &str, v: &Value) -> String {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        element(&mut s, root, v);
        s.push('\n');
        s
    }

    fn element(s: &mut String, name: &str, v: &Value) {
        match v {
            Value::Null => {
                s.push('<');
                s.push_str(name);
                s.push_str("/>");
                return;
            }
            _ => {
                s.push('<');
                s.push_str(name);
                s.push('>');
            }
        }
        match v {
            Value::Null => {}
            Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => s.push_str(&n.to_string()),
            Value::String(t) => escape(s, t),
            Value::Array(items) => {
                let item = item_name(name);
                for i in items {
                    element(s, item, i);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    element(s, k, x);
                }
            }
        }
        s.push_str("</");
        s.push_str(name);
        s.push('>');
    }

    /// Escapes markup and drops the characters XML 1.0 cannot carry at all (most control
    /// characters), which a free-text description may contain.
    pub fn escape(s: &mut String, t: &str) {
        for c in t.chars() {
            match c {
                '&' => s.push_str("&amp;"),
                '<' => s.push_str("&lt;"),
                '>' => s.push_str("&gt;"),
                '"' => s.push_str("&quot;"),
                '\'' => s.push_str("&apos;"),
                '\t' | '\n' | '\r' => s.push(c),
                c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
                c => s.push(c),
            }
        }
    }
}

// ---------------------------------------------------------------- discovery and services

async fn discovery(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_pairs(&q);
    let reply = Reply::new(
        Format::of_path(uri.path()).unwrap_or(Format::Json),
        &q,
        &headers,
    );
    let body = json!({
        "changeset": CHANGESET,
        "contact": reply.tr.t("o311-contact"),
        "key_service": reply.tr.t("o311-key-service"),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": format!("{}/open311/v2", base_url(&state, &headers)),
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    });
    reply.ok("discovery", body)
}

fn group_name(state: &AppState, reply: Reply, c: &Category) -> String {
    state
        .feedback
        .categories
        .group(&c.group)
        .map(|g| reply.text(&g.name))
        .unwrap_or_else(|| c.group.clone())
}

async fn services(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_pairs(&q);
    let reply = Reply::new(
        Format::of_path(uri.path()).unwrap_or(Format::Json),
        &q,
        &headers,
    );
    reply.finish((|| {
        check_jurisdiction(&q)?;
        let list = state
            .feedback
            .categories
            .categories()
            .map(|c| {
                json!({
                    "service_code": c.code,
                    "service_name": reply.text(&c.name),
                    "description": reply.text(&c.description),
                    "metadata": !c.attributes.is_empty(),
                    "type": "realtime",
                    "keywords": c.keywords.join(", "),
                    "group": group_name(&state, reply, c),
                })
            })
            .collect();
        Ok(reply.ok("services", Value::Array(list)))
    })())
}

async fn definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_pairs(&q);
    let Some((code, fmt)) = split_file(&file) else {
        return unknown(uri, headers).await;
    };
    let reply = Reply::new(fmt, &q, &headers);
    reply.finish((|| {
        check_jurisdiction(&q)?;
        let c = state
            .feedback
            .category(code)
            .ok_or_else(|| Fail::new(StatusCode::NOT_FOUND, "o311-err-service-unknown"))?;
        let attributes: Vec<Value> = c
            .attributes
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let hint = match a.datatype {
                    cityhall_core::feedback::Datatype::Datetime => {
                        Some(reply.tr.t("o311-datatype-datetime"))
                    }
                    cityhall_core::feedback::Datatype::Number => {
                        Some(reply.tr.t("o311-datatype-number"))
                    }
                    cityhall_core::feedback::Datatype::MultiValueList => {
                        Some(reply.tr.t("o311-datatype-multi"))
                    }
                    _ => None,
                };
                json!({
                    "variable": true,
                    "code": a.code,
                    "datatype": a.datatype.as_str(),
                    "required": a.required,
                    "datatype_description": hint,
                    "order": i + 1,
                    "description": reply.text(&a.description),
                    "values": a.values.iter().map(|v| json!({
                        "key": v.key,
                        "name": reply.text(&v.name),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(reply.ok(
            "service_definition",
            json!({"service_code": c.code, "attributes": attributes}),
        ))
    })())
}

// ---------------------------------------------------------------- reading reports

/// What a category promises, for `service_notice`.
fn sla_notice(reply: Reply, c: &Category) -> String {
    match c.sla {
        TimeLimit::WorkingDays(n) => reply
            .tr
            .t_with("o311-notice-days", &[("n", &n.to_string())]),
        TimeLimit::WorkingHours(n) => reply
            .tr
            .t_with("o311-notice-hours", &[("n", &n.to_string())]),
        TimeLimit::SameDay => reply.tr.t("o311-notice-same-day"),
    }
}

/// Reports as the specification's requests. Nothing about the reporter is ever in them.
async fn describe(
    state: &AppState,
    reply: Reply,
    base: &str,
    rows: &[ReportRow],
) -> Result<Vec<Value>, Fail> {
    let en = reply.english();
    let agencies: std::collections::HashMap<String, String> = state
        .db
        .agencies()
        .await?
        .into_iter()
        .map(|a| {
            let name = if en && !a.name_en.is_empty() {
                a.name_en
            } else {
                a.name
            };
            (a.code, name)
        })
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let status = Status::parse(&r.status).unwrap_or(Status::Open);
        let cat = state.feedback.category(&r.category_code);
        let notes = match (&r.public_note, &r.duplicate_of) {
            (Some(n), _) => Some(n.clone()),
            (None, Some(d)) => Some(reply.tr.t_with("o311-duplicate-of", &[("code", d)])),
            _ => None,
        };
        let photo = state
            .db
            .photos(&r.id)
            .await?
            .into_iter()
            .find(|p| p.stage == "report");
        out.push(json!({
            "service_request_id": r.code,
            "status": status.open311(),
            "status_notes": notes,
            "service_name": cat.map(|c| reply.text(&c.name)).unwrap_or_else(|| r.category_code.clone()),
            "service_code": r.category_code,
            "description": r.description,
            "agency_responsible": agencies.get(&r.agency_code).cloned().unwrap_or_else(|| r.agency_code.clone()),
            "service_notice": cat.filter(|_| status.is_pending()).map(|c| sla_notice(reply, c)),
            "requested_datetime": w3c(r.created_at),
            "updated_datetime": w3c(r.updated_at),
            "expected_datetime": r.due_at.map(w3c),
            "address": r.address,
            "address_id": r.ward_code,
            "zipcode": null,
            "lat": r.lat,
            "long": r.lon,
            "media_url": photo.map(|p| format!("{base}/feedback/{}/photos/{}", r.code, p.id)),
        }));
    }
    Ok(out)
}

/// The statuses an Open311 `status` list (`open`, `closed`, comma-separated) stands for.
fn statuses(pairs: &[(String, String)]) -> Result<Vec<String>, Fail> {
    let Some(v) = param(pairs, "status") else {
        return Ok(vec![]);
    };
    let mut wanted = Vec::new();
    for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let s = s.to_ascii_lowercase();
        if s != "open" && s != "closed" {
            return Err(Fail::field("status", "o311-err-status"));
        }
        wanted.extend(
            Status::ALL
                .into_iter()
                .filter(|x| x.is_public() && x.open311() == s)
                .map(|x| x.as_str().to_string()),
        );
    }
    wanted.sort();
    wanted.dedup();
    Ok(wanted)
}

/// `[from, to)` in microseconds: the dates asked for, at most [`WINDOW_DAYS`] apart;
/// by default the last [`WINDOW_DAYS`] days.
fn window(pairs: &[(String, String)], now: OffsetDateTime) -> Result<(i64, Option<i64>), Fail> {
    let date = |name: &str| {
        param(pairs, name)
            .map(|s| parse_w3c(s).ok_or_else(|| Fail::field(name, "o311-err-date")))
            .transpose()
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    let span = Duration::days(WINDOW_DAYS);
    let inclusive = |t: OffsetDateTime| micros(t) + 1;
    Ok(match (start, end) {
        (Some(s), Some(e)) => {
            if e < s {
                return Err(Fail::field("end_date", "o311-err-date-order"));
            }
            if e - s > span {
                return Err(Fail::field("start_date, end_date", "o311-err-date-span"));
            }
            (micros(s), Some(inclusive(e)))
        }
        (Some(s), None) => (micros(s), Some(inclusive(s + span))),
        (None, Some(e)) => (micros(e - span), Some(inclusive(e))),
        (None, None) => (micros(now - span), None),
    })
}

async fn list_requests(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_pairs(&q);
    let reply = Reply::new(
        Format::of_path(uri.path()).unwrap_or(Format::Json),
        &q,
        &headers,
    );
    let base = base_url(&state, &headers);
    reply.finish(search(&state, reply, &base, &q).await)
}

async fn search(
    state: &AppState,
    reply: Reply,
    base: &str,
    q: &[(String, String)],
) -> Result<Response, Fail> {
    check_jurisdiction(q)?;
    let limit = MAX_RESULTS as i64;
    let mut rows = Vec::new();
    if let Some(ids) = param(q, "service_request_id") {
        // The identifiers override every other filter, the date window included.
        let codes: Vec<String> = ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .take(MAX_RESULTS)
            .map(String::from)
            .collect();
        if !codes.is_empty() {
            let f = ReportFilter {
                codes,
                public_only: true,
                limit,
                ..Default::default()
            };
            rows = state.db.reports(&f).await?.0;
        }
    } else {
        let statuses = statuses(q)?;
        let (from, to) = window(q, OffsetDateTime::now_utc())?;
        let mut codes: Vec<Option<String>> = vec![None];
        if let Some(list) = param(q, "service_code") {
            codes.clear();
            for c in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if state.feedback.category(c).is_none() {
                    return Err(Fail::field("service_code", "o311-err-service-unknown"));
                }
                if !codes.iter().any(|x| x.as_deref() == Some(c)) {
                    codes.push(Some(c.to_string()));
                }
            }
        }
        for category in &codes {
            let f = ReportFilter {
                category: category.clone(),
                statuses: statuses.clone(),
                public_only: true,
                created_from: Some(from),
                created_to: to,
                sort: ReportSort::Newest,
                limit,
                ..Default::default()
            };
            rows.extend(state.db.reports(&f).await?.0);
        }
        if codes.len() > 1 {
            rows.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            rows.truncate(MAX_RESULTS);
        }
    }
    let items = describe(state, reply, base, &rows).await?;
    Ok(reply.ok("service_requests", Value::Array(items)))
}

async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_pairs(&q);
    let Some((code, fmt)) = split_file(&file) else {
        return unknown(uri, headers).await;
    };
    let reply = Reply::new(fmt, &q, &headers);
    let base = base_url(&state, &headers);
    reply.finish(
        async {
            check_jurisdiction(&q)?;
            let r = match state.db.report_by_code(code).await {
                Ok(r) if Status::parse(&r.status).is_some_and(Status::is_public) => r,
                Ok(_) | Err(cityhall_db::StoreError::NotFound) => return Err(Fail::not_found()),
                Err(e) => return Err(e.into()),
            };
            let items = describe(&state, reply, &base, &[r]).await?;
            Ok(reply.ok("service_requests", Value::Array(items)))
        }
        .await,
    )
}

/// The report a token stands for: its id once the reporter has confirmed it.
async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = query_pairs(&q);
    let Some((tok, fmt)) = split_file(&file) else {
        return unknown(uri, headers).await;
    };
    let reply = Reply::new(fmt, &q, &headers);
    reply.finish(
        async {
            check_jurisdiction(&q)?;
            let r = match state.db.report_by_token(tok).await {
                Ok(r) => r,
                Err(cityhall_db::StoreError::NotFound) => return Err(Fail::not_found()),
                Err(e) => return Err(e.into()),
            };
            let public = Status::parse(&r.status).is_some_and(Status::is_public);
            let id = public.then_some(r.code);
            Ok(reply.ok(
                "service_requests",
                json!([{"service_request_id": id, "token": tok}]),
            ))
        }
        .await,
    )
}

/// Any other path under `/open311/v2/` (an unknown resource or format).
async fn unknown(uri: Uri, headers: HeaderMap) -> Response {
    let fmt = Format::guess(uri.path(), &headers);
    let q = query_pairs(&uri.query().map(String::from));
    Reply::new(fmt, &q, &headers).fail(Fail::not_found())
}

async fn wrong_method(uri: Uri, headers: HeaderMap) -> Response {
    let fmt = Format::guess(uri.path(), &headers);
    let q = query_pairs(&uri.query().map(String::from));
    let mut res = Reply::new(fmt, &q, &headers)
        .fail(Fail::new(StatusCode::METHOD_NOT_ALLOWED, "o311-err-method"));
    let allow = if uri.path().starts_with("/open311/v2/requests.") {
        "GET, HEAD, POST"
    } else {
        "GET, HEAD"
    };
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    res
}

// ---------------------------------------------------------------- filing a report

/// A submission as received: its fields in order (a list answer repeats) and its photos.
struct Submission {
    pairs: Vec<(String, String)>,
    media: Vec<Vec<u8>>,
}

async fn read_submission(req: Request) -> Result<Submission, Fail> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let too_big = || Fail::new(StatusCode::PAYLOAD_TOO_LARGE, "error-413");
    if ct.starts_with("application/x-www-form-urlencoded") {
        let bytes = Bytes::from_request(req, &()).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_big()
            } else {
                Fail::new(StatusCode::BAD_REQUEST, "o311-err-body")
            }
        })?;
        let pairs = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| Fail::new(StatusCode::BAD_REQUEST, "o311-err-body"))?;
        return Ok(Submission {
            pairs,
            media: vec![],
        });
    }
    if !ct.starts_with("multipart/form-data") {
        return Err(Fail::new(StatusCode::BAD_REQUEST, "o311-err-content-type"));
    }
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|_| Fail::new(StatusCode::BAD_REQUEST, "o311-err-body"))?;
    let mut out = Submission {
        pairs: vec![],
        media: vec![],
    };
    let failed = |status: StatusCode| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            Fail::new(StatusCode::BAD_REQUEST, "o311-err-body")
        }
    };
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(failed(e.status())),
        };
        let name = field.name().unwrap_or("").to_string();
        if field.file_name().is_some() {
            let bytes = field.bytes().await.map_err(|e| failed(e.status()))?;
            if (name == "media" || name == "media[]") && !bytes.is_empty() {
                out.media.push(bytes.to_vec());
            }
        } else {
            let text = field.text().await.map_err(|e| failed(e.status()))?;
            out.pairs.push((name, text));
        }
    }
    Ok(out)
}

/// The specification's parameter for one of the filing rules' fields.
fn param_name(field: &str) -> String {
    match field {
        "category" => "service_code".into(),
        "location" => "lat, long".into(),
        "ward" => "address_id".into(),
        "photos" => "media".into(),
        "name" => "first_name, last_name".into(),
        "contact" => "email, phone".into(),
        f => match f.strip_prefix("attr_") {
            Some(code) => format!("attribute[{code}]"),
            None => f.into(),
        },
    }
}

/// The rules' message, or a clearer one for an API client where the form's words would
/// not fit (there is no map and no list to choose from).
fn api_message(field: &str, key: &str) -> String {
    match (field, key) {
        ("category", "err-fb-category") => "o311-err-service-code".into(),
        ("location", "err-fb-location") => "o311-err-location".into(),
        _ => key.into(),
    }
}

async fn post_request(State(state): State<AppState>, req: Request) -> Response {
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let q = query_pairs(&uri.query().map(String::from));
    let fmt = Format::of_path(uri.path()).unwrap_or(Format::Json);
    let reply = Reply::new(fmt, &q, &headers);
    reply.finish(file_request(&state, reply, &q, &headers, req).await)
}

async fn file_request(
    state: &AppState,
    reply: Reply,
    q: &[(String, String)],
    headers: &HeaderMap,
    req: Request,
) -> Result<Response, Fail> {
    let sub = read_submission(req).await?;
    let form = &sub.pairs;
    let get = |k: &str| param(form, k).or_else(|| param(q, k));
    // The key first: without a valid one nothing else is looked at.
    let key = match get("api_key") {
        Some(k) => state.db.open311_key(&hash_token(k)).await?,
        None => None,
    };
    let Some(key) = key else {
        return Err(Fail::new(StatusCode::FORBIDDEN, "o311-err-key"));
    };
    check_jurisdiction(form)?;
    check_jurisdiction(q)?;
    let point = match (get("lat"), get("long")) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            Some(Point::parse(lat, lon).ok_or_else(|| Fail::field("lat, long", "o311-err-point"))?)
        }
        _ => return Err(Fail::field("lat, long", "o311-err-point")),
    };
    let idem_key = match headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::trim))
    {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= 200 => {
            // Scoped to the app, so two apps never see each other's reports this way.
            Some(format!("open311:{}:{k}", key.id))
        }
        Some(_) => return Err(Fail::new(StatusCode::BAD_REQUEST, "o311-err-idempotency")),
    };
    // Vietnamese order: family name (last_name) first.
    let name = match (get("last_name"), get("first_name")) {
        (Some(l), Some(f)) => Some(format!("{l} {f}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
        (None, None) => None,
    };
    let report = NewReport {
        category: get("service_code").unwrap_or("").to_string(),
        description: form
            .iter()
            .find(|(k, _)| k == "description")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        address: get("address_string").map(String::from),
        ward: get("address_id").map(String::from),
        point,
        answers: answers_from_pairs(form.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        photos: sub.media,
        reporter: Reporter {
            user_id: None,
            name,
            email: get("email").map(String::from),
            phone: get("phone").map(String::from),
        },
        // Nobody agreed to show their name through an app: it stays hidden on the pages.
        hide_name: true,
        channel: Channel::Open311,
        filed_by: Some(key.id.clone()),
        // The app cannot vouch for the e-mail or phone it passes on: their owner confirms.
        trusted: false,
        idem_key,
    };
    let filed = match service::file(state, OffsetDateTime::now_utc(), report).await {
        Ok(f) => f,
        Err(FileError::Fields(list)) => {
            return Err(Fail {
                status: StatusCode::BAD_REQUEST,
                messages: list
                    .into_iter()
                    .map(|(f, k)| Msg::Field(param_name(&f), api_message(&f, k)))
                    .collect(),
                cause: None,
            })
        }
        Err(FileError::Other(e)) => return Err(e.into()),
    };
    let r = filed.report;
    let item = if r.status == Status::Unconfirmed.as_str() {
        json!({
            "token": r.open311_token,
            "service_notice": reply.tr.t("o311-notice-confirm"),
            "account_id": null,
        })
    } else {
        json!({
            "service_request_id": r.code,
            "service_notice": state.feedback.category(&r.category_code).map(|c| sla_notice(reply, c)),
            "account_id": null,
        })
    };
    Ok(reply.ok("service_requests", json!([item])))
}

// ---------------------------------------------------------------- key administration

struct KeyLine {
    id: String,
    name: String,
    created: String,
    by: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_open311.html")]
struct KeysPage<'a> {
    p: &'a PageCtx,
    keys: Vec<KeyLine>,
    notice: Option<String>,
    /// A key just issued, shown this once.
    issued: Option<(String, String)>,
    errors: Vec<String>,
    name: String,
}

async fn keys_view(
    state: &AppState,
    p: &PageCtx,
    notice: Option<String>,
    issued: Option<(String, String)>,
    errors: Vec<String>,
    name: String,
) -> AppResult<Response> {
    let keys = state
        .db
        .open311_keys()
        .await?
        .into_iter()
        .rev()
        .map(|k| KeyLine {
            id: k.id,
            name: k.name,
            created: local_when(k.created_at),
            by: k.created_by.unwrap_or_default(),
            revoked: k.revoked_at.map(local_when),
        })
        .collect();
    let failed = !errors.is_empty();
    let page = KeysPage {
        p,
        keys,
        notice,
        issued,
        errors,
        name,
    };
    if failed {
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    } else {
        render(&page)
    }
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

async fn admin_keys(
    State(state): State<AppState>,
    p: PageCtx,
    _admin: CityAdmin,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let notice = (q.notice == "revoked").then(|| p.t("o311-admin-revoked-notice"));
    keys_view(&state, &p, notice, None, vec![], String::new()).await
}

#[derive(Deserialize)]
struct IssueForm {
    #[serde(default)]
    name: String,
}

/// Issues a key to an app: shown once on the page that answers, stored only as its hash.
async fn admin_issue(
    State(state): State<AppState>,
    p: PageCtx,
    admin: CityAdmin,
    CsrfForm(f): CsrfForm<IssueForm>,
) -> AppResult<Response> {
    let name = f.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        let errors = vec![p.t("o311-err-key-name")];
        return keys_view(&state, &p, None, None, errors, f.name).await;
    }
    let now = OffsetDateTime::now_utc();
    let key = random_token();
    let row = Open311KeyRow {
        id: new_id(),
        name: name.clone(),
        created_at: micros(now),
        created_by: Some(admin.0.username().to_string()),
        revoked_at: None,
    };
    let mut tx = state.db.begin().await?;
    Db::insert_open311_key(&mut tx, &row, &hash_token(&key)).await?;
    Db::record(
        &mut tx,
        now,
        NewEntry {
            actor: admin.0.username(),
            action: "open311_key.create",
            object_type: "open311_key",
            object_id: &row.id,
            subject_user_id: None,
            detail: json!({"name": name}),
        },
    )
    .await?;
    tx.commit().await?;
    keys_view(&state, &p, None, Some((name, key)), vec![], String::new()).await
}

#[derive(Deserialize)]
struct Empty {}

async fn admin_revoke(
    State(state): State<AppState>,
    admin: CityAdmin,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let Some(k) = state
        .db
        .open311_keys()
        .await?
        .into_iter()
        .find(|k| k.id == id)
    else {
        return Err(AppError::not_found());
    };
    // Revoking twice (a double click) changes nothing and says it is done.
    if k.revoked_at.is_none() {
        let now = OffsetDateTime::now_utc();
        let mut tx = state.db.begin().await?;
        if Db::revoke_open311_key(&mut tx, &k.id, micros(now)).await? == 1 {
            Db::record(
                &mut tx,
                now,
                NewEntry {
                    actor: admin.0.username(),
                    action: "open311_key.revoke",
                    object_type: "open311_key",
                    object_id: &k.id,
                    subject_user_id: None,
                    detail: json!({"name": k.name}),
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(Redirect::to("/admin/open311?notice=revoked").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_what_xml_cannot_carry() {
        let v = json!([{"description": "a < b & \"c\" > 'd'\u{1}\u{FFFF}\tđường", "n": null, "ok": true}]);
        let doc = xml::document("service_requests", &v);
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<service_requests><request>\
             <description>a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;\tđường</description>\
             <n/><ok>true</ok></request></service_requests>\n"
        );
        assert!(xml::document("errors", &json!([])).ends_with("<errors></errors>\n"));
    }

    #[test]
    fn languages_by_quality() {
        assert_eq!(accept_language("en-US,en;q=0.9,vi;q=0.8"), Some(Lang::En));
        assert_eq!(accept_language("fr, vi;q=0.5, en;q=0.4"), Some(Lang::Vi));
        assert_eq!(accept_language("vi;q=0.2, en;q=0.9"), Some(Lang::En));
        assert_eq!(accept_language("de, fr"), None);
        assert_eq!(accept_language("en;q=0"), None);
    }

    #[test]
    fn w3c_dates_in_and_out() {
        let t = parse_w3c("2026-11-01T08:30:00+07:00").unwrap();
        assert_eq!(w3c(micros(t)), "2026-11-01T08:30:00+07:00");
        // Unencoded '+' in a query string, no seconds, UTC, a bare date.
        assert_eq!(parse_w3c("2026-11-01T08:30:00 07:00"), Some(t));
        assert_eq!(parse_w3c("2026-11-01T01:30Z"), Some(t));
        assert_eq!(
            w3c(micros(parse_w3c("2026-11-01").unwrap())),
            "2026-11-01T00:00:00+07:00"
        );
        assert_eq!(parse_w3c("01/11/2026"), None);
        assert_eq!(parse_w3c("2026-11-01T08:30"), None);
    }

    #[test]
    fn file_names_and_formats() {
        assert_eq!(
            split_file("road-damage.json"),
            Some(("road-damage", Format::Json))
        );
        assert_eq!(
            split_file("PA-261123-0001.xml"),
            Some(("PA-261123-0001", Format::Xml))
        );
        assert_eq!(split_file("road-damage.csv"), None);
        assert_eq!(split_file(".json"), None);
        assert_eq!(param_name("attr_route"), "attribute[route]");
        assert_eq!(param_name("category"), "service_code");
    }
}
