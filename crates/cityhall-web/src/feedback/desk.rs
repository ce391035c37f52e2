//! The staff side of feedback: a unit's queue and its actions on a report (officers and
//! supervisors of the unit), the 1022 hotline console (operators file for callers and look
//! reports up by code or phone), and the routing rules (city administrators).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cityhall_core::feedback::{decide, normalize_phone, Action, Actor, Channel, Status};
use cityhall_core::identity::Role;
use cityhall_db::audit::{record_alone, NewEntry};
use cityhall_db::feedback::{ReportFilter, ReportRow, ReportSort, RouteRow};
use cityhall_db::{micros, AuditStore, Db, FeedbackStore, GeoStore, IdentityStore};
use serde::Deserialize;
use time::OffsetDateTime;

use super::pages::{self, page_number, statuses_of, NewQuery, Problems, LIST_PAGE};
use super::service::{self, ReportAction, Who};
use super::views::{self, MapView, ReportView, RowView};
use crate::auth::{CityAdmin, CsrfForm, Signed};
use crate::dossier::UploadForm;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::{render, render_status, PageCtx};
use crate::AppState;

/// The units whose reports this person handles: as an officer or as a supervisor.
pub fn unit_staff(s: &Signed) -> Vec<String> {
    let mut v = s.agencies(Role::Officer);
    v.extend(s.agencies(Role::Supervisor));
    v.sort();
    v.dedup();
    v
}

fn is_operator(s: &Signed) -> bool {
    s.has(Role::Operator) || s.has(Role::CityAdmin)
}

// ------------------------------------------------------------------------------ queue

#[derive(Deserialize, Default, Clone)]
pub struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    ward: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "fb_desk.html")]
struct QueuePage<'a> {
    p: &'a PageCtx,
    q: QueueQuery,
    units: String,
    rows: Vec<RowView>,
    total: i64,
    page: i64,
    pages: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    groups: Vec<(String, Vec<(String, String)>)>,
    wards: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
}

pub async fn queue(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Query(mut q): Query<QueueQuery>,
) -> AppResult<Response> {
    let units = unit_staff(&s);
    if units.is_empty() {
        return Err(AppError::forbidden());
    }
    let en = p.tr.lang == Lang::En;
    if q.status.is_empty() {
        q.status = "pending".into();
    }
    let page = page_number(&q.page);
    let now = OffsetDateTime::now_utc();
    let f = ReportFilter {
        agencies: units.clone(),
        category: Some(q.category.trim().to_string()).filter(|s| !s.is_empty()),
        ward: Some(q.ward.trim().to_string()).filter(|s| !s.is_empty()),
        statuses: if q.status == "all" {
            Vec::new()
        } else {
            statuses_of(q.status.trim())
        },
        public_only: true,
        assigned_to: (q.mine == "1").then(|| s.user_id().to_string()),
        due_before: (q.due == "overdue").then(|| micros(now)),
        sort: match q.sort.as_str() {
            "oldest" => ReportSort::Oldest,
            "due" => ReportSort::DueSoonest,
            _ => ReportSort::Newest,
        },
        offset: (page - 1) * LIST_PAGE,
        limit: LIST_PAGE,
        ..Default::default()
    };
    let (rows, total) = state.db.reports(&f).await?;
    let wards = state.feedback.units(&state.db).await?;
    let rows = rows
        .iter()
        .map(|r| views::row_view(&state, &p, wards, r, format!("/desk/feedback/{}", r.code)))
        .collect();
    let pages = ((total + LIST_PAGE - 1) / LIST_PAGE).max(1);
    let href = |n: i64| {
        pages::page_href(
            "/desk/feedback",
            &[
                ("status", &q.status),
                ("category", &q.category),
                ("ward", &q.ward),
                ("due", &q.due),
                ("mine", &q.mine),
                ("sort", &q.sort),
            ],
            n,
        )
    };
    let agencies = views::AgencyNames::load(&state, &p).await?;
    let names: Vec<String> = units.iter().map(|u| agencies.get(u)).collect();
    let statuses = [
        "pending",
        "all",
        "open",
        "in_progress",
        "resolved",
        "closed",
        "rejected",
        "duplicate",
    ]
    .iter()
    .map(|s| {
        let label = match *s {
            "pending" => p.t("fb-status-pending"),
            "all" => p.t("catalog-all"),
            s => views::status_label(&p, s),
        };
        (s.to_string(), label)
    })
    .collect();
    render(&QueuePage {
        p: &p,
        units: names.join(", "),
        rows,
        total,
        page,
        pages,
        prev_href: (page > 1).then(|| href(page - 1)),
        next_href: (page < pages).then(|| href(page + 1)),
        groups: views::category_groups(&state, en),
        wards: pages::ward_options(&state, &p).await?,
        statuses,
        q,
    })
}

// ------------------------------------------------------------------------------ one report

/// Active agencies as (code, name) sorted by name, without `except`.
async fn agency_options(
    state: &AppState,
    en: bool,
    except: &str,
) -> AppResult<Vec<(String, String)>> {
    let mut v: Vec<(String, String)> = state
        .db
        .agencies()
        .await?
        .into_iter()
        .filter(|a| a.active && a.code != except)
        .map(|a| {
            let n = if en && !a.name_en.is_empty() {
                a.name_en
            } else {
                a.name
            };
            (a.code, n)
        })
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(v)
}

#[derive(Template)]
#[template(path = "fb_desk_report.html")]
struct DeskReportPage<'a> {
    p: &'a PageCtx,
    r: ReportView,
    map: MapView,
    notice: String,
    errors: Problems,
    /// Staff of the unit (may act); an operator only reads.
    can_act: bool,
    actions: Vec<&'static str>,
    assignees: Vec<(String, String)>,
    assigned: String,
    agencies: Vec<(String, String)>,
}

impl DeskReportPage<'_> {
    fn err(&self, f: &str) -> Option<&str> {
        self.errors.of(f)
    }
    fn allows(&self, a: &str) -> bool {
        self.actions.contains(&a)
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn desk_page(
    state: &AppState,
    p: &PageCtx,
    s: &Signed,
    r: &ReportRow,
    notice: String,
    errors: Problems,
    status: StatusCode,
) -> AppResult<Response> {
    let en = p.tr.lang == Lang::En;
    let units = unit_staff(s);
    let can_act = units.contains(&r.agency_code);
    if !can_act && !is_operator(s) {
        return Err(AppError::forbidden());
    }
    // Reading the reporter's contact details is a personal-data read: it is logged.
    if r.reporter_name.is_some() || r.reporter_phone.is_some() || r.reporter_email.is_some() {
        let _ = record_alone(
            &state.db,
            OffsetDateTime::now_utc(),
            NewEntry {
                actor: s.user_id(),
                action: "report.read",
                object_type: "report",
                object_id: &r.code,
                subject_user_id: r.reporter_id.as_deref(),
                detail: serde_json::json!({}),
            },
        )
        .await;
    }
    let wards = state.feedback.units(&state.db).await?;
    let events = state.db.report_events(&r.id).await?;
    let photos = state.db.photos(&r.id).await?;
    let names = views::AgencyNames::load(state, p).await?;
    let view = views::report_view(state, p, &names, wards, r, &events, &photos, true);
    let mut map = MapView::new(wards, en);
    if let (Some(lat), Some(lon)) = (r.lat, r.lon) {
        map.marker = Some(map.xy(cityhall_core::feedback::Point { lat, lon }));
    }
    let st = Status::parse(&r.status).unwrap_or(Status::Closed);
    let actions = if can_act {
        Action::UNIT
            .iter()
            .filter(|a| **a != Action::Escalate && decide(st, **a, Actor::Unit, false).is_ok())
            .map(|a| a.as_str())
            .collect()
    } else {
        Vec::new()
    };
    let mut assignees = Vec::new();
    let mut assigned = String::new();
    if can_act {
        for role in ["officer", "supervisor"] {
            for u in state.db.users_with_role(role, &r.agency_code).await? {
                if r.assigned_to.as_deref() == Some(u.id.as_str()) {
                    assigned = format!("{} ({})", u.full_name, u.username);
                }
                if !assignees.iter().any(|(n, _)| *n == u.username) {
                    assignees.push((
                        u.username.clone(),
                        format!("{} ({})", u.full_name, u.username),
                    ));
                }
            }
        }
    }
    let agencies = agency_options(state, en, &r.agency_code).await?;
    render_status(
        status,
        &DeskReportPage {
            p,
            r: view,
            map,
            notice,
            errors,
            can_act,
            actions,
            assignees,
            assigned,
            agencies,
        },
    )
}

pub async fn report(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    if !cityhall_core::feedback::looks_like_code(code.trim()) {
        return Err(AppError::not_found());
    }
    let r = state.db.report_by_code(code.trim()).await?;
    let notice = if q.done.is_empty() {
        String::new()
    } else {
        p.t("fb-saved")
    };
    desk_page(
        &state,
        &p,
        &s,
        &r,
        notice,
        Problems::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn act(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
    f: UploadForm,
) -> AppResult<Response> {
    let units = unit_staff(&s);
    if units.is_empty() {
        return Err(AppError::forbidden());
    }
    let action = f.get("action").to_string();
    let opt = |k: &str| Some(f.get(k).to_string()).filter(|v| !v.trim().is_empty());
    let req = ReportAction {
        action: action.clone(),
        note: opt("note"),
        agency: opt("agency"),
        duplicate_of: opt("duplicate_of"),
        assignee: opt("assignee"),
        row_version: f.get("row_version").trim().parse().ok(),
        photos: f
            .files
            .iter()
            .filter(|x| x.field == "photos")
            .map(|x| x.bytes.clone())
            .collect(),
        ..Default::default()
    };
    let who = Who {
        user_id: s.user_id().to_string(),
        actor: Actor::Unit,
        agencies: units,
    };
    match service::act(&state, OffsetDateTime::now_utc(), &who, code.trim(), &req).await {
        Ok(r) => {
            // A report sent to another unit leaves this officer's reach: back to the queue.
            let to = if who.agencies.contains(&r.agency_code) {
                format!("/desk/feedback/{}?done={action}", r.code)
            } else {
                "/desk/feedback?done=1".to_string()
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let r = state.db.report_by_code(code.trim()).await?;
            let errors = Problems::from_error(&p, &e);
            desk_page(&state, &p, &s, &r, String::new(), errors, e.status).await
        }
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------------------ hotline

#[derive(Deserialize, Default)]
pub struct HotlineQuery {
    #[serde(default)]
    lookup: String,
    #[serde(default)]
    filed: String,
    /// A question for the assistant, and its conversation.
    #[serde(default)]
    ask: String,
    #[serde(default)]
    session: String,
    #[serde(flatten)]
    new: NewQuery,
}

pub async fn hotline(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Query(q): Query<HotlineQuery>,
) -> AppResult<Response> {
    if !is_operator(&s) {
        return Err(AppError::forbidden());
    }
    let lookup = q.lookup.trim().to_string();
    if cityhall_core::feedback::looks_like_code(&lookup) {
        return Ok(Redirect::to(&format!("/desk/feedback/{lookup}")).into_response());
    }
    let mut page =
        pages::new_page(&state, &p, q.new, "/hotline", true, false, &[], Vec::new()).await?;
    if !q.filed.is_empty() && cityhall_core::feedback::looks_like_code(q.filed.trim()) {
        page.filed = q.filed.trim().to_string();
    }
    page.assistant_session = q.session.clone();
    page.assistant_q = q.ask.chars().take(1000).collect();
    match crate::assistant::for_operator(&state, &p.tr, &s, &q.ask, &q.session).await {
        Ok(Some((exchange, session))) => {
            page.assistant = Some(exchange);
            page.assistant_session = session;
        }
        Ok(None) => {}
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            page.assistant_error = p.t(&e.info.key);
        }
        Err(e) => return Err(e),
    }
    if !lookup.is_empty() {
        page.lookup = lookup.clone();
        page.lookup_done = true;
        match normalize_phone(&lookup) {
            Some(phone) => {
                let (rows, total) = state
                    .db
                    .reports(&ReportFilter {
                        phone: Some(phone.clone()),
                        limit: 50,
                        ..Default::default()
                    })
                    .await?;
                let _ = record_alone(
                    &state.db,
                    OffsetDateTime::now_utc(),
                    NewEntry {
                        actor: s.user_id(),
                        action: "report.lookup",
                        object_type: "phone",
                        object_id: &format!("…{}", &phone[phone.len().saturating_sub(3)..]),
                        subject_user_id: None,
                        detail: serde_json::json!({"found": total}),
                    },
                )
                .await;
                let wards = state.feedback.units(&state.db).await?;
                page.lookup_rows = rows
                    .iter()
                    .map(|r| {
                        views::row_view(&state, &p, wards, r, format!("/desk/feedback/{}", r.code))
                    })
                    .collect();
            }
            None => page.errors.0.push(("lookup".into(), p.t("err-fb-lookup"))),
        }
    }
    render(&page)
}

pub async fn hotline_submit(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    f: UploadForm,
) -> AppResult<Response> {
    if !is_operator(&s) {
        return Err(AppError::forbidden());
    }
    let mut r = pages::report_of(&f, Channel::Hotline);
    r.filed_by = Some(s.user_id().to_string());
    r.trusted = true;
    pages::file_and_answer(&state, &p, &f, r, "/hotline", true, false, |row| {
        format!("/hotline?filed={}", row.code)
    })
    .await
}

// ------------------------------------------------------------------------------ routing

#[derive(Template)]
#[template(path = "fb_routes.html")]
struct RoutesPage<'a> {
    p: &'a PageCtx,
    rules: Vec<(String, String, String, String, String)>,
    defaults: Vec<(String, String, String)>,
    groups: Vec<(String, Vec<(String, String)>)>,
    wards: Vec<(String, String)>,
    agencies: Vec<(String, String)>,
    errors: Problems,
    notice: String,
    form: RouteForm,
}

impl RoutesPage<'_> {
    fn err(&self, f: &str) -> Option<&str> {
        self.errors.of(f)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct RouteForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    ward: String,
    #[serde(default)]
    agency: String,
}

async fn routes_page(
    state: &AppState,
    p: &PageCtx,
    form: RouteForm,
    errors: Problems,
    notice: String,
    status: StatusCode,
) -> AppResult<Response> {
    let en = p.tr.lang == Lang::En;
    let wards = state.feedback.units(&state.db).await?;
    let names = views::AgencyNames::load(state, p).await?;
    let mut rules = Vec::new();
    for r in state.db.routes().await? {
        rules.push((
            r.category_code.clone(),
            views::category_name(state, p, &r.category_code),
            r.ward_code.clone(),
            if r.ward_code.is_empty() {
                p.t("fb-route-every-ward")
            } else {
                views::unit_name(wards, p, &r.ward_code)
            },
            names.get(&r.agency_code),
        ));
    }
    let mut defaults = Vec::new();
    for c in state.feedback.categories.categories() {
        let unit = match &c.agency {
            cityhall_core::feedback::AgencyRule::Ward => p.t("fb-route-ward-committee"),
            cityhall_core::feedback::AgencyRule::City(a) => names.get(a.as_str()),
        };
        defaults.push((c.code.clone(), c.name.get(en).to_string(), unit));
    }
    let agencies = agency_options(state, en, "").await?;
    render_status(
        status,
        &RoutesPage {
            p,
            rules,
            defaults,
            groups: views::category_groups(state, en),
            wards: pages::ward_options(state, p).await?,
            agencies,
            errors,
            notice,
            form,
        },
    )
}

pub async fn routes(
    State(state): State<AppState>,
    p: PageCtx,
    _a: CityAdmin,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let notice = if q.done.is_empty() {
        String::new()
    } else {
        p.t("fb-saved")
    };
    routes_page(
        &state,
        &p,
        RouteForm::default(),
        Problems::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

pub async fn route_set(
    State(state): State<AppState>,
    p: PageCtx,
    a: CityAdmin,
    CsrfForm(f): CsrfForm<RouteForm>,
) -> AppResult<Response> {
    let mut errs: Vec<(String, &'static str)> = Vec::new();
    if state.feedback.category(f.category.trim()).is_none() {
        errs.push(("category".into(), "err-fb-category"));
    }
    let ward = f.ward.trim().to_string();
    if !ward.is_empty()
        && !state
            .feedback
            .units(&state.db)
            .await?
            .iter()
            .any(|u| u.code == ward)
    {
        errs.push(("ward".into(), "err-fb-ward"));
    }
    if state.db.agency(f.agency.trim()).await?.is_none() {
        errs.push(("agency".into(), "err-fb-route-agency"));
    }
    if !errs.is_empty() {
        let pr = Problems::from_keys(&p, &errs);
        return routes_page(
            &state,
            &p,
            f,
            pr,
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let now = OffsetDateTime::now_utc();
    let mut tx = state.db.begin().await?;
    Db::set_route(
        &mut tx,
        &RouteRow {
            category_code: f.category.trim().into(),
            ward_code: ward.clone(),
            agency_code: f.agency.trim().into(),
            updated_at: micros(now),
            updated_by: Some(a.0.user_id().into()),
        },
    )
    .await?;
    Db::record(
        &mut tx,
        now,
        NewEntry {
            actor: a.0.user_id(),
            action: "feedback.route.set",
            object_type: "feedback_route",
            object_id: &format!("{}/{}", f.category.trim(), ward),
            subject_user_id: None,
            detail: serde_json::json!({"unit": f.agency.trim()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/feedback/routes?done=1").into_response())
}

pub async fn route_delete(
    State(state): State<AppState>,
    a: CityAdmin,
    CsrfForm(f): CsrfForm<RouteForm>,
) -> AppResult<Response> {
    let now = OffsetDateTime::now_utc();
    let mut tx = state.db.begin().await?;
    let n = Db::delete_route(&mut tx, f.category.trim(), f.ward.trim()).await?;
    if n == 0 {
        return Err(AppError::not_found());
    }
    Db::record(
        &mut tx,
        now,
        NewEntry {
            actor: a.0.user_id(),
            action: "feedback.route.delete",
            object_type: "feedback_route",
            object_id: &format!("{}/{}", f.category.trim(), f.ward.trim()),
            subject_user_id: None,
            detail: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/feedback/routes?done=1").into_response())
}
