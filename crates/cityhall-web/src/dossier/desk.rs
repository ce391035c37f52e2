//! The officers' side: the inbox of their agencies, actions on a dossier (one wins when two
//! act at once), and registering a dossier received at the desk or by post.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cityhall_core::catalog::ChannelKind;
use cityhall_core::dossier::{Actor, Delivery, Workflow};
use cityhall_core::identity::{FullName, NationalId};
use cityhall_db::dossier::{InboxFilter, InboxSort};
use cityhall_db::{micros, DossierStore, IdentityStore};
use serde::Deserialize;
use time::OffsetDateTime;

use super::resident::{
    check_application, desks, dossier_view, field_views, row_of, ApplyPage, Row,
};
use super::service::{self, ActionRequest, ActorRef, Applicant, Submission};
use super::UploadForm;
use crate::auth::{keyed_hash, CsrfForm, Officer};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::{render, render_status, PageCtx};
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    procedure: String,
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
#[template(path = "desk.html")]
struct DeskPage<'a> {
    p: &'a PageCtx,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    statuses: Vec<(String, String)>,
    procedures: Vec<(String, String)>,
    q: InboxQuery,
    prev_href: Option<String>,
    next_href: Option<String>,
}

const INBOX_PAGE: i64 = 25;

pub async fn inbox(
    State(state): State<AppState>,
    p: PageCtx,
    o: Officer,
    Query(q): Query<InboxQuery>,
) -> AppResult<Response> {
    let now = OffsetDateTime::now_utc();
    let page: i64 = q
        .page
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1 && *n <= 100_000)
        .unwrap_or(1);
    let local = now.to_offset(cityhall_core::calendar::VN_OFFSET);
    let end_of_today = local
        .date()
        .next_day()
        .and_then(|d| d.with_hms(0, 0, 0).ok())
        .map(|d| d.assume_offset(cityhall_core::calendar::VN_OFFSET));
    let mut f = InboxFilter {
        agencies: o.agencies(),
        status: q
            .status
            .trim()
            .parse()
            .ok()
            .filter(|s| (1..=10).contains(s)),
        procedure_code: Some(q.procedure.trim().to_string()).filter(|s| !s.is_empty()),
        assigned_to: (q.mine == "1").then(|| o.0.user_id().to_string()),
        sort: match q.sort.as_str() {
            "oldest" => InboxSort::Oldest,
            "due" => InboxSort::DueSoonest,
            _ => InboxSort::Newest,
        },
        offset: (page - 1) * INBOX_PAGE,
        limit: INBOX_PAGE,
        ..Default::default()
    };
    match q.due.as_str() {
        "today" => {
            f.due_before = end_of_today.map(micros);
            f.due_after = Some(micros(now));
        }
        "overdue" => f.due_before = Some(micros(now)),
        _ => {}
    }
    let (rows, total) = state.db.inbox(&f).await?;
    let rows = rows.iter().map(|d| row_of(&state, &p, d)).collect();
    let en = p.tr.lang == Lang::En;
    let wf = Workflow::one_stop();
    let statuses = wf
        .states
        .iter()
        .map(|s| {
            (
                s.status.to_string(),
                format!("{} — {}", s.status, s.name.get(en)),
            )
        })
        .collect();
    let snap = state.catalog.snapshot();
    let procedures = snap
        .procedures
        .iter()
        .map(|v| {
            (
                v.procedure.code.to_string(),
                format!("{} {}", v.procedure.code, v.procedure.name.get(en)),
            )
        })
        .collect();
    let pages = (total + INBOX_PAGE - 1).max(1) / INBOX_PAGE;
    let pages = pages.max(1);
    let href = |n: i64| {
        format!(
            "/desk?{}",
            serde_urlencoded::to_string([
                ("status", q.status.as_str()),
                ("procedure", q.procedure.as_str()),
                ("due", q.due.as_str()),
                ("mine", q.mine.as_str()),
                ("sort", q.sort.as_str()),
                ("page", &n.to_string()),
            ])
            .unwrap_or_default()
        )
    };
    // A list page showing many people's dossiers is logged once, not once per row.
    if total > 0 {
        let _ = cityhall_db::audit::record_alone(
            &state.db,
            now,
            cityhall_db::audit::NewEntry {
                actor: o.0.user_id(),
                action: "dossier.list",
                object_type: "inbox",
                object_id: &f.agencies.join(","),
                subject_user_id: None,
                detail: serde_json::json!({"total": total, "page": page}),
            },
        )
        .await;
    }
    render(&DeskPage {
        p: &p,
        rows,
        total,
        page,
        pages,
        statuses,
        procedures,
        prev_href: (page > 1).then(|| href(page - 1)),
        next_href: (page < pages).then(|| href(page + 1)),
        q,
    })
}

#[derive(Deserialize)]
pub struct ActForm {
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    new_date: String,
    #[serde(default)]
    row_version: Option<i32>,
}

pub async fn act_submit(
    State(state): State<AppState>,
    p: PageCtx,
    o: Officer,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<ActForm>,
) -> AppResult<Response> {
    let code = code.trim().to_string();
    let amount = match f.amount.trim() {
        "" => None,
        a => Some(a.replace(['.', ',', ' '], "").parse::<i64>().unwrap_or(-1)),
    };
    let req = ActionRequest {
        action: f.action.clone(),
        reason: Some(f.reason).filter(|s| !s.trim().is_empty()),
        assignee: Some(f.assignee).filter(|s| !s.trim().is_empty()),
        amount,
        new_date: Some(f.new_date).filter(|s| !s.trim().is_empty()),
        row_version: f.row_version,
        payment: None,
    };
    let who = ActorRef {
        user_id: o.0.user_id().to_string(),
        kind: Actor::Officer,
        agencies: o.agencies(),
    };
    match service::act(&state, OffsetDateTime::now_utc(), &who, &code, &req, vec![]).await {
        Ok(_) => Ok(Redirect::to(&format!("/dossiers/{code}?done={}", f.action)).into_response()),
        Err(e)
            if e.status == StatusCode::CONFLICT || e.status == StatusCode::UNPROCESSABLE_ENTITY =>
        {
            // Show the dossier as it is now, with the reason beside the actions.
            let d = state.db.dossier_by_code(&code).await?;
            let mut msgs = vec![p.t(&e.info.key)];
            for (_, k) in &e.info.fields {
                if *k != e.info.key {
                    msgs.push(p.t(k));
                }
            }
            let page = dossier_view(&state, &p, &o.0, &d, None, msgs).await?;
            render_status(e.status, &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct RegisterQuery {
    #[serde(default)]
    procedure: String,
}

#[allow(clippy::too_many_arguments)]
async fn render_register(
    state: &AppState,
    p: &PageCtx,
    code: &str,
    form: &UploadForm,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, &'static str>,
    general: Vec<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let en = p.tr.lang == Lang::En;
    let snap = state.catalog.snapshot();
    let v = snap.get(code).cloned().ok_or_else(AppError::not_found)?;
    let fields = field_views(state, p, &v, values, errors, &[], false, &BTreeMap::new()).await?;
    let mut general = general;
    for k in [
        "applicant_name",
        "applicant_id",
        "applicant_contact",
        "channel",
    ] {
        if let Some(e) = errors.get(k) {
            general.push(p.t(e));
        }
    }
    let page = ApplyPage {
        p,
        code: v.procedure.code.to_string(),
        name: v.procedure.name.get(en).to_string(),
        action: format!("/desk/register?procedure={}", v.procedure.code),
        fields,
        errors: general,
        delivery: form.get("delivery").to_string(),
        desk: form.get("desk").to_string(),
        desks: desks(state, en).await?,
        rep_kind: form.get("rep_kind").to_string(),
        rep_name: form.get("rep_name").to_string(),
        rep_id: form.get("rep_id").to_string(),
        rep_relation: form.get("rep_relation").to_string(),
        idem_key: Some(form.get("idem_key").to_string())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        time_limit: String::new(),
        fee: String::new(),
        desk_mode: true,
        applicant_name: form.get("applicant_name").to_string(),
        applicant_id: form.get("applicant_id").to_string(),
        applicant_contact: form.get("applicant_contact").to_string(),
        channel: form.get("channel").to_string(),
    };
    render_status(status, &page)
}

#[derive(Template)]
#[template(path = "desk_register.html")]
struct ChooseProcedure<'a> {
    p: &'a PageCtx,
    procedures: Vec<(String, String)>,
}

pub async fn register_page(
    State(state): State<AppState>,
    p: PageCtx,
    _o: Officer,
    Query(q): Query<RegisterQuery>,
) -> AppResult<Response> {
    let code = q.procedure.trim();
    if code.is_empty() {
        let en = p.tr.lang == Lang::En;
        let procedures = state
            .catalog
            .snapshot()
            .procedures
            .iter()
            .map(|v| {
                (
                    v.procedure.code.to_string(),
                    format!("{} {}", v.procedure.code, v.procedure.name.get(en)),
                )
            })
            .collect();
        return render(&ChooseProcedure { p: &p, procedures });
    }
    let mut form = UploadForm::default();
    form.fields.insert("delivery".into(), "desk".into());
    render_register(
        &state,
        &p,
        code,
        &form,
        &BTreeMap::new(),
        &BTreeMap::new(),
        vec![],
        StatusCode::OK,
    )
    .await
}

pub async fn register_submit(
    State(state): State<AppState>,
    p: PageCtx,
    o: Officer,
    Query(q): Query<RegisterQuery>,
    form: UploadForm,
) -> AppResult<Response> {
    let code = q.procedure.trim().to_string();
    let v = state
        .catalog
        .snapshot()
        .get(&code)
        .cloned()
        .ok_or_else(AppError::not_found)?;
    let mut errors = BTreeMap::new();
    let name = FullName::parse(form.get("applicant_name"));
    if name.is_err() {
        errors.insert("applicant_name".to_string(), "err-applicant-name");
    }
    let nid = match form.get("applicant_id").trim() {
        "" => None,
        s => match NationalId::parse(s) {
            Ok(n) => Some(n),
            Err(_) => {
                errors.insert("applicant_id".to_string(), "form-bad-national-id");
                None
            }
        },
    };
    let contact = form.get("applicant_contact").trim().to_string();
    let channel = match form.get("channel") {
        "postal" => ChannelKind::Postal,
        "in_person" | "" => ChannelKind::InPerson,
        _ => {
            errors.insert("channel".to_string(), "err-channel");
            ChannelKind::InPerson
        }
    };
    let checked = check_application(&state, &v, &form, &[], false, &BTreeMap::new(), true).await;
    let checked = match (checked, errors.is_empty()) {
        (Ok(c), true) => c,
        (Ok(_), false) => {
            let values = BTreeMap::new();
            return render_register(
                &state,
                &p,
                &code,
                &form,
                &values,
                &errors,
                vec![p.t("err-form-problems")],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        (Err(pr), _) => {
            let mut all = pr.errors.clone();
            all.extend(errors);
            let general = pr.general.iter().map(|k| p.t(k)).collect();
            return render_register(
                &state,
                &p,
                &code,
                &form,
                &pr.values,
                &all,
                general,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    // The applicant's account, if they have one with this national ID, owns the dossier.
    let id_hash = nid
        .as_ref()
        .map(|n| keyed_hash(&state.config.secret_key, n.as_str()));
    let owner = match &id_hash {
        Some(h) => state.db.user_by_national_id_hash(h).await?.map(|u| u.id),
        None => None,
    };
    let desk = o
        .agencies()
        .into_iter()
        .find(|a| a.starts_with("UBND-") || a.starts_with("CA-"))
        .or_else(|| o.agencies().into_iter().next());
    let d = service::file(
        &state,
        OffsetDateTime::now_utc(),
        Submission {
            version: v,
            applicant: Applicant {
                user_id: owner,
                name: name.map(|n| n.as_str().to_string()).unwrap_or_default(),
                id_hash,
                id_hint: nid.as_ref().map(|n| n.hint()),
                contact: Some(contact).filter(|c| !c.is_empty()),
                verified: false,
            },
            represented: checked.represented,
            form: checked.form,
            uploads: checked.uploads,
            reused: vec![],
            channel,
            delivery: if checked.delivery == Delivery::Online {
                Delivery::Desk
            } else {
                checked.delivery
            },
            desk: desk.and_then(|d| cityhall_core::geo::AgencyCode::parse(&d).ok()),
            idem_key: None,
            draft_id: None,
            submit: true,
            registered_by: Some(o.0.user_id().to_string()),
        },
    )
    .await?;
    let code = d.code.unwrap_or_default();
    Ok(Redirect::to(&format!("/dossiers/{code}?submitted=1")).into_response())
}
