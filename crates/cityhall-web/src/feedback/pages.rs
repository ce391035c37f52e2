//! The residents' pages: report a problem (category and place first, then the open reports
//! already filed nearby, then the details and photos), a report's public page with its
//! history, confirmation by e-mail link or SMS code, following, accepting or reopening and
//! rating, and the public list and map. Every page works without JavaScript; the script only
//! adds "use my location" and picking the point on the map.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use cityhall_core::feedback::{Actor, Channel, Point, Status};
use cityhall_db::feedback::{ReportFilter, ReportRow, ReportSort};
use cityhall_db::{micros, FeedbackStore};
use serde::Deserialize;
use time::OffsetDateTime;

use super::service::{self, FileError, NewReport, ReportAction, Reporter, Who};
use super::views::{self, AttrField, MapView, ReportView, RowView};
use crate::auth::{random_token, CsrfForm, CurrentSession, Signed};
use crate::dossier::UploadForm;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::{render, render_status, PageCtx};
use crate::AppState;

/// The signed-in person, if the sign-in is complete.
pub fn signed(cs: &CurrentSession) -> Option<Signed> {
    cs.info
        .as_ref()
        .filter(|i| !i.mfa_pending)
        .map(|i| Signed(i.clone()))
}

/// Field problems as (field, message), for the summary and beside each field.
#[derive(Default)]
pub struct Problems(pub Vec<(String, String)>);

impl Problems {
    pub fn from_keys(p: &PageCtx, list: &[(String, &'static str)]) -> Problems {
        Problems(list.iter().map(|(f, k)| (f.clone(), p.t(k))).collect())
    }
    pub fn from_error(p: &PageCtx, e: &AppError) -> Problems {
        let mut out: Vec<(String, String)> = e
            .info
            .fields
            .iter()
            .map(|(f, k)| (f.clone(), p.t(k)))
            .collect();
        if out.is_empty() {
            out.push(("form".into(), p.t(&e.info.key)));
        }
        Problems(out)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The message for one field, if any.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn list(&self) -> &[(String, String)] {
        &self.0
    }
}

// ------------------------------------------------------------------------------ report form

#[derive(Deserialize, Default, Clone)]
pub struct NewQuery {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub lat: String,
    #[serde(default)]
    pub lon: String,
    #[serde(default)]
    pub ward: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub description: String,
}

pub struct Nearby {
    pub code: String,
    pub href: String,
    pub status: String,
    pub created: String,
    pub distance: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "fb_new.html")]
pub struct NewPage<'a> {
    pub p: &'a PageCtx,
    /// 1: what and where; 2: nearby reports and the details.
    pub step: u8,
    pub action: &'static str,
    pub hotline: bool,
    pub q: NewQuery,
    pub groups: Vec<(String, Vec<(String, String)>)>,
    pub category_name: String,
    pub wards: Vec<(String, String)>,
    pub ward_found: String,
    pub nearby: Vec<Nearby>,
    pub attrs: Vec<AttrField>,
    pub errors: Problems,
    pub map: MapView,
    pub idem: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub hide_name: bool,
    pub signed_in: bool,
    pub anonymous_ok: bool,
    pub photos_lost: bool,
    /// Hotline console: the code just filed, and the lookup by phone.
    pub filed: String,
    pub lookup: String,
    pub lookup_done: bool,
    pub lookup_rows: Vec<RowView>,
    /// Hotline console: the assistant's answer to the operator's question.
    pub assistant: Option<crate::assistant::Exchange>,
    pub assistant_q: String,
    pub assistant_session: String,
    pub assistant_error: String,
}

impl NewPage<'_> {
    pub fn err(&self, f: &str) -> Option<&str> {
        self.errors.of(f)
    }
    pub fn attr_err(&self, code: &str) -> Option<&str> {
        self.errors.of(&format!("attr_{code}"))
    }
}

/// Where the category, place and ward of a report stand.
pub struct Where {
    pub point: Option<Point>,
    pub ward: Option<String>,
    pub errors: Vec<(String, &'static str)>,
}

pub async fn resolve_where(state: &AppState, q: &NewQuery) -> AppResult<Where> {
    let units = state.feedback.units(&state.db).await?;
    let mut out = Where {
        point: None,
        ward: None,
        errors: Vec::new(),
    };
    let (lat, lon) = (q.lat.trim(), q.lon.trim());
    if !lat.is_empty() || !lon.is_empty() {
        match Point::parse(lat, lon) {
            Some(p) => {
                out.point = Some(p);
                match cityhall_core::feedback::locate(
                    units,
                    p,
                    state.feedback.max_distance_m,
                    |u| Point {
                        lat: u.lat,
                        lon: u.lon,
                    },
                ) {
                    Some((u, _)) => out.ward = Some(u.code.clone()),
                    None => out.errors.push(("location".into(), "err-fb-outside")),
                }
            }
            None => out.errors.push(("location".into(), "err-fb-point")),
        }
    }
    let w = q.ward.trim();
    if !w.is_empty() {
        if units.iter().any(|u| u.code == w) {
            out.ward = Some(w.to_string());
        } else {
            out.errors.push(("ward".into(), "err-fb-ward"));
        }
    }
    Ok(out)
}

/// Open reports of the category near the point (or, without a point, in the ward).
pub async fn nearby(
    state: &AppState,
    p: &PageCtx,
    category: &str,
    point: Option<Point>,
    ward: Option<&str>,
) -> AppResult<Vec<Nearby>> {
    let now = OffsetDateTime::now_utc();
    let mut found: Vec<(ReportRow, Option<f64>)> = Vec::new();
    if let Some(pt) = point {
        let radius = state.feedback.nearby_m;
        for r in state
            .db
            .open_within(category, pt.bounds(radius), 50)
            .await?
        {
            if let (Some(lat), Some(lon)) = (r.lat, r.lon) {
                let d = pt.distance_m(Point { lat, lon });
                if d <= radius {
                    found.push((r, Some(d)));
                }
            }
        }
        found.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
    } else if let Some(w) = ward {
        let (rows, _) = state
            .db
            .reports(&ReportFilter {
                category: Some(category.into()),
                ward: Some(w.into()),
                statuses: vec!["open".into(), "in_progress".into()],
                public_only: true,
                created_from: Some(micros(now - time::Duration::days(30))),
                limit: 10,
                ..Default::default()
            })
            .await?;
        found = rows.into_iter().map(|r| (r, None)).collect();
    }
    Ok(found
        .into_iter()
        .take(10)
        .map(|(r, d)| Nearby {
            href: format!("/feedback/{}", r.code),
            status: views::status_label(p, &r.status),
            created: crate::dossier::local_when(r.created_at),
            distance: d
                .map(|d| p.t1("fb-metres", "n", &format!("{d:.0}")))
                .unwrap_or_default(),
            description: r.description.chars().take(160).collect(),
            code: r.code,
        })
        .collect())
}

pub async fn ward_options(state: &AppState, p: &PageCtx) -> AppResult<Vec<(String, String)>> {
    let en = p.tr.lang == Lang::En;
    let mut v: Vec<(String, String)> = state
        .feedback
        .units(&state.db)
        .await?
        .iter()
        .map(|u| {
            (
                u.code.clone(),
                if en && !u.name_en.is_empty() {
                    u.name_en.clone()
                } else {
                    u.name.clone()
                },
            )
        })
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(v)
}

/// The report form at the step its query allows. Shared with the hotline console.
#[allow(clippy::too_many_arguments)]
pub async fn new_page<'a>(
    state: &AppState,
    p: &'a PageCtx,
    q: NewQuery,
    action: &'static str,
    hotline: bool,
    signed_in: bool,
    given: &[(String, String)],
    errors: Vec<(String, &'static str)>,
) -> AppResult<NewPage<'a>> {
    let en = p.tr.lang == Lang::En;
    let units = state.feedback.units(&state.db).await?;
    let mut map = MapView::new(units, en);
    let cat = state.feedback.category(q.category.trim());
    let wh = resolve_where(state, &q).await?;
    let mut errs = wh.errors.clone();
    // A link that only suggests a category and a description (from the assistant) opens
    // the first step chosen, not complaining about the place nobody was asked for yet.
    let suggestion = q.lat.is_empty() && q.ward.is_empty() && !q.description.is_empty();
    let started =
        !suggestion && (!q.category.is_empty() || !q.lat.is_empty() || !q.ward.is_empty());
    if started && cat.is_none() {
        errs.push(("category".into(), "err-fb-category"));
    }
    if started
        && wh.point.is_none()
        && wh.ward.is_none()
        && errs.iter().all(|(f, _)| f != "location")
    {
        errs.push(("location".into(), "err-fb-location"));
    }
    if let Some(pt) = wh.point {
        map.marker = Some(map.xy(pt));
    }
    let step = if cat.is_some() && wh.errors.is_empty() && wh.ward.is_some() {
        2
    } else {
        1
    };
    let (nearby, attrs) = match (step, cat) {
        (2, Some(c)) => (
            nearby(state, p, &c.code, wh.point, wh.ward.as_deref()).await?,
            views::attr_fields(c, en, given),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let field = |k: &str| {
        given
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut all = errors;
    if step == 1 && started {
        for e in errs {
            if !all.contains(&e) {
                all.push(e);
            }
        }
    }
    let mut q = q;
    if step == 2 {
        q.ward = wh.ward.clone().unwrap_or_default();
    }
    Ok(NewPage {
        p,
        step,
        action,
        hotline,
        category_name: cat.map(|c| c.name.get(en).to_string()).unwrap_or_default(),
        anonymous_ok: cat.is_some_and(|c| c.anonymous),
        ward_found: wh
            .ward
            .as_deref()
            .map(|w| views::unit_name(units, p, w))
            .unwrap_or_default(),
        groups: views::category_groups(state, en),
        wards: ward_options(state, p).await?,
        nearby,
        attrs,
        photos_lost: !all.is_empty() && step == 2 && !given.is_empty(),
        errors: Problems::from_keys(p, &all),
        map,
        idem: {
            let k = field("idem");
            if k.is_empty() {
                random_token()
            } else {
                k
            }
        },
        name: field("name"),
        email: field("email"),
        phone: field("phone"),
        hide_name: field("hide_name") == "1",
        signed_in,
        q,
        filed: String::new(),
        lookup: String::new(),
        lookup_done: false,
        lookup_rows: Vec::new(),
        assistant: None,
        assistant_q: String::new(),
        assistant_session: String::new(),
        assistant_error: String::new(),
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let page = new_page(
        &state,
        &p,
        q,
        "/feedback/new",
        false,
        signed(&cs).is_some(),
        &[],
        Vec::new(),
    )
    .await?;
    render(&page)
}

/// The query part of a multipart report form.
pub fn query_of(f: &UploadForm) -> NewQuery {
    NewQuery {
        category: f.get("category").into(),
        lat: f.get("lat").into(),
        lon: f.get("lon").into(),
        ward: f.get("ward").into(),
        address: f.get("address").into(),
        description: f.get("description").into(),
    }
}

/// A report from a submitted form, for any channel.
pub fn report_of(f: &UploadForm, channel: Channel) -> NewReport {
    let q = query_of(f);
    NewReport {
        category: q.category,
        description: q.description,
        address: Some(q.address),
        ward: Some(q.ward),
        point: Point::parse(f.get("lat"), f.get("lon")),
        answers: service::answers_from_pairs(f.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        photos: f
            .files
            .iter()
            .filter(|x| x.field == "photos")
            .map(|x| x.bytes.clone())
            .collect(),
        reporter: Reporter {
            user_id: None,
            name: Some(f.get("name").to_string()),
            email: Some(f.get("email").to_string()),
            phone: Some(f.get("phone").to_string()),
        },
        hide_name: f.get("hide_name") == "1",
        channel,
        filed_by: None,
        trusted: false,
        idem_key: Some(f.get("idem").to_string()).filter(|k| k.len() >= 16 && k.len() <= 100),
    }
}

pub async fn new_submit(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    f: UploadForm,
) -> AppResult<Response> {
    let me = signed(&cs);
    let mut r = report_of(&f, Channel::Web);
    if let Some(s) = &me {
        r.reporter.user_id = Some(s.user_id().to_string());
        if r.reporter
            .name
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
        {
            r.reporter.name = Some(s.0.user.full_name.clone());
        }
        r.trusted = true;
    }
    let signed_in = me.is_some();
    file_and_answer(
        &state,
        &p,
        &f,
        r,
        "/feedback/new",
        false,
        signed_in,
        |row| {
            if row.status == Status::Unconfirmed.as_str() {
                format!("/feedback/{}/confirm", row.code)
            } else {
                format!("/feedback/{}?filed=1", row.code)
            }
        },
    )
    .await
}

/// Files a report from a form: on success, a redirect to `to(report)`; on field problems,
/// the form again with each message beside its field (422); nothing is stored then.
#[allow(clippy::too_many_arguments)]
pub async fn file_and_answer(
    state: &AppState,
    p: &PageCtx,
    f: &UploadForm,
    r: NewReport,
    action: &'static str,
    hotline: bool,
    signed_in: bool,
    to: impl FnOnce(&ReportRow) -> String,
) -> AppResult<Response> {
    match service::file(state, OffsetDateTime::now_utc(), r).await {
        Ok(filed) => Ok(Redirect::to(&to(&filed.report)).into_response()),
        Err(FileError::Fields(list)) => {
            let page = new_page(
                state,
                p,
                query_of(f),
                action,
                hotline,
                signed_in,
                &f.pairs,
                list,
            )
            .await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(FileError::Other(e)) => Err(e),
    }
}

// ------------------------------------------------------------------------------ report page

#[derive(Template)]
#[template(path = "fb_report.html")]
struct ReportPage<'a> {
    p: &'a PageCtx,
    r: ReportView,
    map: MapView,
    notice: String,
    errors: Problems,
    can_reopen: bool,
    can_accept: bool,
    can_rate: bool,
    can_follow: bool,
    following: bool,
    confirm: bool,
    token: String,
}

impl ReportPage<'_> {
    fn err(&self, f: &str) -> Option<&str> {
        self.errors.of(f)
    }
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    #[serde(default)]
    filed: String,
    #[serde(default)]
    followed: String,
    #[serde(default)]
    confirmed: String,
    #[serde(default)]
    done: String,
}

async fn public_report(state: &AppState, code: &str) -> AppResult<ReportRow> {
    if !cityhall_core::feedback::looks_like_code(code.trim()) {
        return Err(AppError::not_found());
    }
    Ok(state.db.report_by_code(code.trim()).await?)
}

#[allow(clippy::too_many_arguments)]
async fn report_page(
    state: &AppState,
    p: &PageCtx,
    me: Option<&Signed>,
    r: &ReportRow,
    notice: String,
    errors: Problems,
    token: String,
    status: StatusCode,
) -> AppResult<Response> {
    let en = p.tr.lang == Lang::En;
    let units = state.feedback.units(&state.db).await?;
    let confirm = r.status == Status::Unconfirmed.as_str();
    let (events, photos) = if confirm {
        (Vec::new(), Vec::new())
    } else {
        (
            state.db.report_events(&r.id).await?,
            state.db.photos(&r.id).await?,
        )
    };
    let names = views::AgencyNames::load(state, p).await?;
    let mut view = views::report_view(state, p, &names, units, r, &events, &photos, false);
    if confirm {
        // Nothing of an unconfirmed report is public but its code and state.
        view.description.clear();
        view.address.clear();
        view.answers.clear();
        view.reporter.clear();
    }
    let mut map = MapView::new(units, en);
    if let (Some(lat), Some(lon), false) = (r.lat, r.lon, confirm) {
        map.marker = Some(map.xy(Point { lat, lon }));
    }
    let mine = me.is_some_and(|s| r.reporter_id.as_deref() == Some(s.user_id()));
    let now = OffsetDateTime::now_utc();
    let following = match me {
        Some(s) => state
            .db
            .followers(&r.id)
            .await?
            .iter()
            .any(|u| u == s.user_id()),
        None => false,
    };
    let st = Status::parse(&r.status);
    let page = ReportPage {
        p,
        map,
        notice,
        errors,
        can_reopen: mine && st == Some(Status::Resolved) && service::within_window(state, r, now),
        can_accept: mine && st == Some(Status::Resolved),
        can_rate: mine
            && r.rating.is_none()
            && matches!(st, Some(Status::Resolved | Status::Closed))
            && r.resolved_at.is_some(),
        can_follow: !mine && !confirm && st.is_some_and(Status::is_pending),
        following,
        confirm,
        token,
        r: view,
    };
    render_status(status, &page)
}

pub async fn report(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Path(code): Path<String>,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let r = public_report(&state, &code).await?;
    let notice = if q.filed == "1" {
        p.t1("fb-filed", "code", &r.code)
    } else if q.confirmed == "1" {
        p.t1("fb-confirmed", "code", &r.code)
    } else if q.followed == "1" {
        p.t("fb-followed")
    } else if !q.done.is_empty() {
        p.t("fb-saved")
    } else {
        String::new()
    };
    report_page(
        &state,
        &p,
        signed(&cs).as_ref(),
        &r,
        notice,
        Problems::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The confirmation page: the e-mailed link carries the token; an SMS code is typed in.
pub async fn confirm_page(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Path(code): Path<String>,
    Query(q): Query<TokenQuery>,
) -> AppResult<Response> {
    let r = public_report(&state, &code).await?;
    if r.status != Status::Unconfirmed.as_str() {
        return Ok(Redirect::to(&format!("/feedback/{}", r.code)).into_response());
    }
    let notice = if q.token.is_empty() {
        p.t("fb-confirm-sent")
    } else {
        String::new()
    };
    report_page(
        &state,
        &p,
        signed(&cs).as_ref(),
        &r,
        notice,
        Problems::default(),
        q.token.chars().take(100).collect(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    secret: String,
}

pub async fn confirm_submit(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<ConfirmForm>,
) -> AppResult<Response> {
    let r = public_report(&state, &code).await?;
    if r.status != Status::Unconfirmed.as_str() {
        return Ok(Redirect::to(&format!("/feedback/{}", r.code)).into_response());
    }
    let who = Who {
        user_id: "reporter".into(),
        actor: Actor::Reporter,
        agencies: Vec::new(),
    };
    let req = ReportAction {
        action: "confirm".into(),
        secret: Some(f.secret),
        ..Default::default()
    };
    let to = format!("/feedback/{}?confirmed=1", r.code);
    act_or_page(&state, &p, signed(&cs).as_ref(), &who, &r.code, &req, to).await
}

/// Applies a resident's action; a refusal shows the report again with the message.
async fn act_or_page(
    state: &AppState,
    p: &PageCtx,
    me: Option<&Signed>,
    who: &Who,
    code: &str,
    req: &ReportAction,
    to: String,
) -> AppResult<Response> {
    match service::act(state, OffsetDateTime::now_utc(), who, code, req).await {
        Ok(_) => Ok(Redirect::to(&to).into_response()),
        Err(e) if e.status.is_client_error() => {
            let r = state.db.report_by_code(code).await?;
            report_page(
                state,
                p,
                me,
                &r,
                String::new(),
                Problems::from_error(p, &e),
                String::new(),
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

pub async fn follow(
    State(state): State<AppState>,
    s: Signed,
    Path(code): Path<String>,
    CsrfForm(_f): CsrfForm<ConfirmForm>,
) -> AppResult<Response> {
    let r = public_report(&state, &code).await?;
    if !Status::parse(&r.status).is_some_and(Status::is_public) {
        return Err(AppError::not_found());
    }
    let mut tx = state.db.begin().await?;
    cityhall_db::Db::follow(
        &mut tx,
        &r.id,
        s.user_id(),
        micros(OffsetDateTime::now_utc()),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/feedback/{}?followed=1", r.code)).into_response())
}

#[derive(Deserialize, Default)]
pub struct ReporterForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    row_version: String,
}

/// The reporter accepts the resolution, reopens it, or rates it.
pub async fn reporter_act(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<ReporterForm>,
) -> AppResult<Response> {
    let r = public_report(&state, &code).await?;
    if r.reporter_id.as_deref() != Some(s.user_id()) {
        return Err(AppError::forbidden());
    }
    if !matches!(f.action.as_str(), "accept" | "reopen" | "rate") {
        return Err(AppError::bad_request("err-action-unknown"));
    }
    let who = Who {
        user_id: s.user_id().to_string(),
        actor: Actor::Reporter,
        agencies: Vec::new(),
    };
    let req = ReportAction {
        action: f.action.clone(),
        note: Some(f.note),
        rating: Some(f.rating.trim().parse().unwrap_or(0)),
        row_version: f.row_version.trim().parse().ok(),
        ..Default::default()
    };
    let to = format!("/feedback/{}?done={}", r.code, f.action);
    act_or_page(&state, &p, Some(&s), &who, &r.code, &req, to).await
}

/// A photo of a public report (stored without its metadata), or of any report for its unit.
pub async fn photo(
    State(state): State<AppState>,
    Extension(cs): Extension<CurrentSession>,
    Path((code, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let r = public_report(&state, &code).await?;
    let public = Status::parse(&r.status).is_some_and(Status::is_public);
    if !public {
        let staff =
            signed(&cs).is_some_and(|s| super::desk::unit_staff(&s).contains(&r.agency_code));
        if !staff {
            return Err(AppError::not_found());
        }
    }
    let ph = state
        .db
        .photos(&r.id)
        .await?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(AppError::not_found)?;
    let (_, bytes) = state
        .blobs
        .get(&state.db, &ph.blob_hash)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, ph.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400".to_string()),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

// ------------------------------------------------------------------------------ public list

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub ward: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: String,
}

#[derive(Template)]
#[template(path = "fb_list.html")]
struct ListPage<'a> {
    p: &'a PageCtx,
    q: ListQuery,
    rows: Vec<RowView>,
    total: i64,
    page: i64,
    pages: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    groups: Vec<(String, Vec<(String, String)>)>,
    wards: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    map: MapView,
    errors: Problems,
}

impl ListPage<'_> {
    fn err(&self, f: &str) -> Option<&str> {
        self.errors.of(f)
    }
}

pub const LIST_PAGE: i64 = 25;

/// A `yyyy-mm-dd` date as the start of that day in the city's time.
pub fn day_start(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s.trim(), &fmt).ok()?;
    Some(micros(
        d.midnight()
            .assume_offset(cityhall_core::calendar::VN_OFFSET),
    ))
}

/// A list page's link: its non-empty filters and the page number.
pub fn page_href(path: &str, filters: &[(&str, &String)], page: i64) -> String {
    let mut pairs: Vec<(&str, String)> = filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, (*v).clone()))
        .collect();
    pairs.push(("page", page.to_string()));
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

pub fn page_number(s: &str) -> i64 {
    s.trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1 && *n <= 100_000)
        .unwrap_or(1)
}

/// Statuses named by a filter value: one status, or `pending` (open and in progress).
pub fn statuses_of(s: &str) -> Vec<String> {
    match s {
        "pending" => vec!["open".into(), "in_progress".into()],
        "done" => vec!["resolved".into(), "closed".into()],
        s if Status::parse(s).is_some() => vec![s.into()],
        _ => Vec::new(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    p: PageCtx,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let en = p.tr.lang == Lang::En;
    let page = page_number(&q.page);
    let mut errors = Vec::new();
    let from = match q.from.trim() {
        "" => None,
        s => {
            let v = day_start(s);
            if v.is_none() {
                errors.push(("from".to_string(), "err-fb-date"));
            }
            v
        }
    };
    let to = match q.to.trim() {
        "" => None,
        s => {
            let v = day_start(s).map(|v| v + 86_400_000_000);
            if v.is_none() {
                errors.push(("to".to_string(), "err-fb-date"));
            }
            v
        }
    };
    let f = ReportFilter {
        category: Some(q.category.trim().to_string()).filter(|s| !s.is_empty()),
        ward: Some(q.ward.trim().to_string()).filter(|s| !s.is_empty()),
        statuses: statuses_of(q.status.trim()),
        public_only: true,
        created_from: from,
        created_to: to,
        sort: ReportSort::Newest,
        offset: (page - 1) * LIST_PAGE,
        limit: LIST_PAGE,
        ..Default::default()
    };
    let (rows, total) = state.db.reports(&f).await?;
    let units = state.feedback.units(&state.db).await?;
    let mut map = MapView::new(units, en);
    for r in &rows {
        if let (Some(lat), Some(lon)) = (r.lat, r.lon) {
            let label = format!(
                "{} — {} — {}",
                r.code,
                views::category_name(&state, &p, &r.category_code),
                views::status_label(&p, &r.status)
            );
            let open = Status::parse(&r.status).is_some_and(Status::is_pending);
            map.pin(
                Point { lat, lon },
                format!("/feedback/{}", r.code),
                label,
                open,
            );
        }
    }
    let views: Vec<RowView> = rows
        .iter()
        .map(|r| views::row_view(&state, &p, units, r, format!("/feedback/{}", r.code)))
        .collect();
    let pages = ((total + LIST_PAGE - 1) / LIST_PAGE).max(1);
    let href = |n: i64| {
        page_href(
            "/feedback",
            &[
                ("category", &q.category),
                ("ward", &q.ward),
                ("status", &q.status),
                ("from", &q.from),
                ("to", &q.to),
            ],
            n,
        )
    };
    let statuses = [
        "pending",
        "open",
        "in_progress",
        "resolved",
        "closed",
        "rejected",
        "duplicate",
    ]
    .iter()
    .map(|s| {
        let label = if *s == "pending" {
            p.t("fb-status-pending")
        } else {
            views::status_label(&p, s)
        };
        (s.to_string(), label)
    })
    .collect();
    render(&ListPage {
        p: &p,
        rows: views,
        total,
        page,
        pages,
        prev_href: (page > 1).then(|| href(page - 1)),
        next_href: (page < pages).then(|| href(page + 1)),
        groups: views::category_groups(&state, en),
        wards: ward_options(&state, &p).await?,
        statuses,
        map,
        errors: Problems::from_keys(&p, &errors),
        q,
    })
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/feedback.js"),
    )
}
