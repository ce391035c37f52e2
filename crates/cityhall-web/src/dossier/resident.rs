//! The resident's side: apply (draft, attachments, reuse), my dossiers, a dossier's page
//! and receipt, supplement, withdraw, rate, the document wallet, and the public pages
//! (status lookup, result verification).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use cityhall_core::catalog::{ChannelKind, FieldKind, FormContext, Reuse};
use cityhall_core::dossier::{result_message, Actor, Delivery, Workflow};
use cityhall_core::identity::Role;
use cityhall_db::audit::NewEntry;
use cityhall_db::catalog::ProcedureVersion;
use cityhall_db::dossier::{DossierRow, IssuedRow};
use cityhall_db::{audit::record_alone, DossierStore, GeoStore};
use ed25519_dalek::{Signature, Verifier};
use serde::Deserialize;
use time::OffsetDateTime;

use super::service::{
    self, ActionRequest, ActorRef, Applicant, Represented, Reused, Submission, Upload,
};
use super::{check_file, local_when, procedure_of, UploadForm};
use crate::auth::{CsrfForm, Signed};
use crate::catalog::{channel_name, fee_text, time_limit_text};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::{render, render_status, PageCtx};
use crate::AppState;

/// One field of the application form as shown.
pub struct FieldView {
    pub name: String,
    pub input: String,
    pub label: String,
    pub help: Option<String>,
    pub required: bool,
    pub kind: &'static str,
    pub value: String,
    pub error: Option<String>,
    pub options: Vec<(String, String)>,
    pub wallet: Vec<(String, String)>,
    pub registry: bool,
    pub existing: Option<String>,
    pub max_len: Option<usize>,
}

#[derive(Template)]
#[template(path = "apply.html")]
pub struct ApplyPage<'a> {
    pub p: &'a PageCtx,
    pub code: String,
    pub name: String,
    pub action: String,
    pub fields: Vec<FieldView>,
    pub errors: Vec<String>,
    pub delivery: String,
    pub desk: String,
    pub desks: Vec<(String, String)>,
    pub rep_kind: String,
    pub rep_name: String,
    pub rep_id: String,
    pub rep_relation: String,
    pub idem_key: String,
    pub time_limit: String,
    pub fee: String,
    pub desk_mode: bool,
    pub applicant_name: String,
    pub applicant_id: String,
    pub applicant_contact: String,
    pub channel: String,
}

struct Ctx<'a> {
    wards: &'a [String],
    today: time::Date,
}

impl FormContext for Ctx<'_> {
    fn ward_exists(&self, code: &str) -> bool {
        self.wards.iter().any(|w| w == code)
    }
    fn today(&self) -> time::Date {
        self.today
    }
}

fn today() -> time::Date {
    OffsetDateTime::now_utc()
        .to_offset(cityhall_core::calendar::VN_OFFSET)
        .date()
}

/// Builds the form's fields, with values, errors and reuse offers.
#[allow(clippy::too_many_arguments)]
pub async fn field_views(
    state: &AppState,
    p: &PageCtx,
    v: &ProcedureVersion,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, &'static str>,
    wallet: &[IssuedRow],
    verified: bool,
    existing: &BTreeMap<String, String>,
) -> AppResult<Vec<FieldView>> {
    let en = p.tr.lang == Lang::En;
    let spec = v.procedure.form_spec().map_err(AppError::internal)?;
    let units = state.db.units().await?;
    let mut out = Vec::new();
    for f in &spec.fields {
        let (kind, options, max_len) = match &f.kind {
            FieldKind::Text { max_len, multiline } => (
                if *multiline { "textarea" } else { "text" },
                vec![],
                *max_len,
            ),
            FieldKind::Integer { .. } => ("integer", vec![], None),
            FieldKind::Number { .. } => ("number", vec![], None),
            FieldKind::Date => ("date", vec![], None),
            FieldKind::Select { options } => (
                "select",
                options
                    .iter()
                    .map(|o| (o.value.clone(), o.title(en).to_string()))
                    .collect(),
                None,
            ),
            FieldKind::NationalId => ("national_id", vec![], None),
            FieldKind::Phone => ("phone", vec![], None),
            FieldKind::Email => ("email", vec![], None),
            FieldKind::Ward => (
                "select",
                units
                    .iter()
                    .map(|u| {
                        (
                            u.code.clone(),
                            if en {
                                u.name_en.clone()
                            } else {
                                u.name.clone()
                            },
                        )
                    })
                    .collect(),
                None,
            ),
            FieldKind::File { .. } => ("file", vec![], None),
        };
        let doc = match &f.kind {
            FieldKind::File { document } => document.clone(),
            _ => None,
        };
        let reuse = doc
            .as_deref()
            .and_then(|d| service::reuse_of(&v.procedure, d));
        let wallet_offers = match &reuse {
            Some(Reuse::Wallet(kind)) => wallet
                .iter()
                .filter(|w| &w.kind == kind)
                .map(|w| {
                    (
                        w.id.clone(),
                        format!(
                            "{} — {}",
                            if en { &w.title_en } else { &w.title },
                            local_when(w.issued_at)
                        ),
                    )
                })
                .collect(),
            _ => vec![],
        };
        out.push(FieldView {
            input: format!("f_{}", f.name),
            name: f.name.clone(),
            label: f.title(en).to_string(),
            help: f.help(en).map(str::to_string),
            required: f.required,
            kind,
            value: values.get(&f.name).cloned().unwrap_or_default(),
            error: errors.get(&f.name).map(|k| p.t(k)),
            options,
            wallet: wallet_offers,
            registry: matches!(reuse, Some(Reuse::Registry(_))) && verified,
            existing: existing.get(&f.name).cloned(),
            max_len,
        });
    }
    Ok(out)
}

fn current(state: &AppState, code: &str) -> AppResult<ProcedureVersion> {
    state
        .catalog
        .snapshot()
        .get(code.trim())
        .cloned()
        .ok_or_else(AppError::not_found)
}

/// The ward desks a resident may choose for handing in papers or collecting the result.
pub async fn desks(state: &AppState, en: bool) -> AppResult<Vec<(String, String)>> {
    Ok(state
        .db
        .agencies()
        .await?
        .into_iter()
        .filter(|a| a.ward_code.is_some() && a.code.starts_with("UBND-"))
        .map(|a| (a.code, if en { a.name_en } else { a.name }))
        .collect())
}

fn is_verified(s: &Signed) -> bool {
    s.0.user.assurance != "none"
}

#[allow(clippy::too_many_arguments)]
async fn render_apply(
    state: &AppState,
    p: &PageCtx,
    s: &Signed,
    v: &ProcedureVersion,
    action: String,
    form: &UploadForm,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, &'static str>,
    general: Vec<String>,
    existing: &BTreeMap<String, String>,
    status: StatusCode,
) -> AppResult<Response> {
    let en = p.tr.lang == Lang::En;
    let wallet = state.db.wallet(s.user_id()).await?;
    let fields = field_views(
        state,
        p,
        v,
        values,
        errors,
        &wallet,
        is_verified(s),
        existing,
    )
    .await?;
    let online = v.procedure.online();
    let idem = form.get("idem_key");
    let page = ApplyPage {
        p,
        code: v.procedure.code.to_string(),
        name: v.procedure.name.get(en).to_string(),
        action,
        fields,
        errors: general,
        delivery: form.get("delivery").to_string(),
        desk: form.get("desk").to_string(),
        desks: desks(state, en).await?,
        rep_kind: form.get("rep_kind").to_string(),
        rep_name: form.get("rep_name").to_string(),
        rep_id: form.get("rep_id").to_string(),
        rep_relation: form.get("rep_relation").to_string(),
        idem_key: if idem.is_empty() {
            uuid::Uuid::now_v7().to_string()
        } else {
            idem.to_string()
        },
        time_limit: time_limit_text(&p.tr, online.and_then(|c| c.time_limit)),
        fee: fee_text(&p.tr, online.and_then(|c| c.fee)),
        desk_mode: false,
        applicant_name: String::new(),
        applicant_id: String::new(),
        applicant_contact: String::new(),
        channel: String::new(),
    };
    render_status(status, &page)
}

pub async fn apply_page(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let v = current(&state, &code)?;
    if v.procedure.online().is_none() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "not_online",
            "err-not-online",
        ));
    }
    let mut values = BTreeMap::new();
    if let Some(w) = &s.0.user.ward_code {
        values.insert("ward".to_string(), w.clone());
    }
    render_apply(
        &state,
        &p,
        &s,
        &v,
        format!("/procedures/{}/apply", v.procedure.code),
        &UploadForm::default(),
        &values,
        &BTreeMap::new(),
        vec![],
        &BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

/// What a filled-in form becomes, or the problems beside each field.
pub struct Checked {
    pub form: serde_json::Map<String, serde_json::Value>,
    pub uploads: Vec<Upload>,
    pub reused: Vec<Reused>,
    pub represented: Option<Represented>,
    pub delivery: Delivery,
    pub desk: Option<cityhall_core::geo::AgencyCode>,
}

pub struct Problems {
    pub values: BTreeMap<String, String>,
    pub errors: BTreeMap<String, &'static str>,
    pub general: Vec<&'static str>,
}

/// Validates an application form: the procedure's own fields (server-side), attachments by
/// content, reuse choices, delivery and representation.
pub async fn check_application(
    state: &AppState,
    v: &ProcedureVersion,
    form: &UploadForm,
    wallet: &[IssuedRow],
    verified: bool,
    existing: &BTreeMap<String, String>,
    submit: bool,
) -> Result<Checked, Problems> {
    let spec = match v.procedure.form_spec() {
        Ok(s) => s,
        Err(_) => {
            return Err(Problems {
                values: BTreeMap::new(),
                errors: BTreeMap::new(),
                general: vec!["error-500"],
            })
        }
    };
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for f in &spec.fields {
        if let Some(v) = form.fields.get(&format!("f_{}", f.name)) {
            values.insert(f.name.clone(), v.clone());
        }
    }
    let mut errors: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut general = Vec::new();
    let mut uploads = Vec::new();
    let mut reused = Vec::new();
    for raw in &form.files {
        let Some(name) = raw.field.strip_prefix("f_") else {
            continue;
        };
        let Some(field) = spec.field(name) else {
            continue;
        };
        if !matches!(field.kind, FieldKind::File { .. }) {
            continue;
        }
        match check_file(raw) {
            Ok(kind) => {
                values.insert(name.to_string(), cityhall_core::blob::address(&raw.bytes));
                uploads.push(Upload {
                    field: name.to_string(),
                    filename: if raw.filename.is_empty() {
                        format!("{name}.{}", kind.extension())
                    } else {
                        raw.filename.clone()
                    },
                    bytes: raw.bytes.clone(),
                    kind,
                });
            }
            Err(key) => {
                errors.insert(name.to_string(), key);
            }
        }
    }
    for (name, doc) in spec.file_fields() {
        if values.contains_key(name) || errors.contains_key(name) {
            continue;
        }
        let reuse = doc.and_then(|d| service::reuse_of(&v.procedure, d));
        let choice = form.get(&format!("w_{name}"));
        if !choice.is_empty() {
            match (reuse.as_ref(), wallet.iter().find(|w| w.id == choice)) {
                (Some(Reuse::Wallet(kind)), Some(w)) if &w.kind == kind => {
                    values.insert(name.to_string(), format!("wallet:{}", w.id));
                    reused.push(Reused::Wallet {
                        field: name.to_string(),
                        doc: Box::new(w.clone()),
                    });
                    continue;
                }
                _ => {
                    errors.insert(name.to_string(), "err-wallet-choice");
                    continue;
                }
            }
        }
        if let (Some(Reuse::Registry(r)), true) = (reuse.as_ref(), verified) {
            values.insert(name.to_string(), format!("registry:{r}"));
            reused.push(Reused::Registry {
                field: name.to_string(),
                registry: r.clone(),
            });
            continue;
        }
        if let Some(prev) = existing.get(name) {
            values.insert(name.to_string(), format!("draft:{prev}"));
        }
    }
    let snap = state.catalog.snapshot();
    let ctx = Ctx {
        wards: &snap.wards,
        today: today(),
    };
    let cleaned = spec.validate(&values, &ctx);
    let mut form_out = serde_json::Map::new();
    match cleaned {
        Ok(m) => form_out = m,
        Err(e) => {
            for (k, v) in e {
                // A draft may be incomplete; only malformed values block saving it.
                if submit || v != "form-required" {
                    errors.entry(k).or_insert(v);
                }
            }
            if !submit {
                for (k, v) in &values {
                    if !errors.contains_key(k) && !v.trim().is_empty() {
                        form_out.insert(k.clone(), serde_json::Value::String(v.trim().to_string()));
                    }
                }
            }
        }
    }
    let delivery = Delivery::parse(form.get("delivery"));
    if delivery.is_none() {
        errors.insert("delivery".into(), "err-delivery");
    }
    let desk = match form.get("desk") {
        "" => None,
        d => match cityhall_core::geo::AgencyCode::parse(d) {
            Ok(a) if snap.desks.iter().any(|x| x == a.as_str()) => Some(a),
            _ => {
                errors.insert("desk".into(), "err-desk");
                None
            }
        },
    };
    if delivery == Some(Delivery::Desk) && desk.is_none() && !errors.contains_key("desk") {
        errors.insert("desk".into(), "err-desk-needed");
    }
    let represented = match form.get("rep_kind") {
        "" | "none" => None,
        kind @ ("person" | "business") => {
            let name = form.get("rep_name").trim();
            if name.is_empty() || name.chars().count() > 200 {
                errors.insert("rep_name".into(), "err-rep-name");
            }
            let id = form.get("rep_id").trim();
            let id_ok = id.is_empty()
                || (kind == "person" && cityhall_core::identity::NationalId::parse(id).is_ok())
                || (kind == "business"
                    && id.len() >= 10
                    && id.len() <= 14
                    && id.bytes().all(|b| b.is_ascii_digit() || b == b'-'));
            if !id_ok {
                errors.insert("rep_id".into(), "err-rep-id");
            }
            Some(Represented {
                kind: kind.to_string(),
                name: name.to_string(),
                id_hint: (!id.is_empty())
                    .then(|| format!("…{}", &id[id.len().saturating_sub(4)..])),
                relation: Some(
                    form.get("rep_relation")
                        .trim()
                        .chars()
                        .take(100)
                        .collect::<String>(),
                )
                .filter(|r| !r.is_empty()),
            })
        }
        _ => {
            errors.insert("rep_kind".into(), "err-rep-kind");
            None
        }
    };
    if errors.is_empty() && general.is_empty() {
        // Keep references to reused or earlier files out of the stored form values.
        for (name, _) in spec.file_fields() {
            if let Some(serde_json::Value::String(s)) = form_out.get(name) {
                if s.starts_with("draft:") {
                    let s = s.trim_start_matches("draft:").to_string();
                    form_out.insert(name.to_string(), serde_json::Value::String(s));
                }
            }
        }
        Ok(Checked {
            form: form_out,
            uploads,
            reused,
            represented,
            delivery: delivery.unwrap_or(Delivery::Online),
            desk,
        })
    } else {
        if !errors.is_empty() {
            general.push("err-form-problems");
        }
        Err(Problems {
            values,
            errors,
            general,
        })
    }
}

async fn handle_apply(
    state: AppState,
    p: PageCtx,
    s: Signed,
    v: ProcedureVersion,
    form: UploadForm,
    draft: Option<DossierRow>,
) -> AppResult<Response> {
    if v.procedure.online().is_none() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "not_online",
            "err-not-online",
        ));
    }
    let submit = form.get("intent") != "draft";
    let wallet = state.db.wallet(s.user_id()).await?;
    let mut existing = BTreeMap::new();
    if let Some(d) = &draft {
        for f in state.db.files(&d.id).await? {
            existing.insert(f.field.clone(), f.filename.clone());
        }
    }
    let action = match &draft {
        Some(d) => format!("/drafts/{}", d.id),
        None => format!("/procedures/{}/apply", v.procedure.code),
    };
    let checked = match check_application(
        &state,
        &v,
        &form,
        &wallet,
        is_verified(&s),
        &existing,
        submit,
    )
    .await
    {
        Ok(c) => c,
        Err(pr) => {
            let general = pr.general.iter().map(|k| p.t(k)).collect();
            return render_apply(
                &state,
                &p,
                &s,
                &v,
                action,
                &form,
                &pr.values,
                &pr.errors,
                general,
                &existing,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
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
                verified: is_verified(&s),
            },
            represented: checked.represented,
            form: checked.form,
            uploads: checked.uploads,
            reused: checked.reused,
            channel: ChannelKind::Online,
            delivery: checked.delivery,
            desk: checked.desk,
            idem_key: Some(form.get("idem_key").chars().take(100).collect::<String>())
                .filter(|k| !k.is_empty()),
            draft_id: draft.map(|d| d.id),
            submit,
            registered_by: None,
        },
    )
    .await?;
    Ok(match &d.code {
        Some(code) => Redirect::to(&format!("/dossiers/{code}?submitted=1")).into_response(),
        None => Redirect::to(&format!("/drafts/{}?saved=1", d.id)).into_response(),
    })
}

pub async fn apply_submit(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
    form: UploadForm,
) -> AppResult<Response> {
    let v = current(&state, &code)?;
    handle_apply(state, p, s, v, form, None).await
}

async fn own_draft(state: &AppState, s: &Signed, id: &str) -> AppResult<DossierRow> {
    let d = state.db.dossier(id).await?;
    if d.owner_id.as_deref() != Some(s.user_id()) {
        return Err(AppError::not_found());
    }
    if let Some(code) = &d.code {
        return Err(AppError::literal(
            StatusCode::CONFLICT,
            "already_submitted",
            code.clone(),
        ));
    }
    Ok(d)
}

pub async fn draft_page(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let d = own_draft(&state, &s, &id).await?;
    // Drafts continue on the version in force now.
    let v = current(&state, &d.procedure_code)?;
    let form: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&d.form).unwrap_or_default();
    let values = form
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect();
    let mut existing = BTreeMap::new();
    for f in state.db.files(&d.id).await? {
        existing.insert(f.field.clone(), f.filename.clone());
    }
    let mut uf = UploadForm::default();
    uf.fields.insert("delivery".into(), d.delivery.clone());
    uf.fields.insert(
        "desk".into(),
        d.desk_agency_code.clone().unwrap_or_default(),
    );
    uf.fields
        .insert("idem_key".into(), d.idem_key.clone().unwrap_or_default());
    if let Some(r) = d
        .represented
        .as_deref()
        .and_then(|r| serde_json::from_str::<Represented>(r).ok())
    {
        uf.fields.insert("rep_kind".into(), r.kind);
        uf.fields.insert("rep_name".into(), r.name);
        uf.fields
            .insert("rep_relation".into(), r.relation.unwrap_or_default());
    }
    render_apply(
        &state,
        &p,
        &s,
        &v,
        format!("/drafts/{}", d.id),
        &uf,
        &values,
        &BTreeMap::new(),
        vec![],
        &existing,
        StatusCode::OK,
    )
    .await
}

pub async fn draft_submit(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(id): Path<String>,
    form: UploadForm,
) -> AppResult<Response> {
    let d = own_draft(&state, &s, &id).await?;
    let v = current(&state, &d.procedure_code)?;
    handle_apply(state, p, s, v, form, Some(d)).await
}

// ---- my dossiers, one dossier ----

pub struct Row {
    pub code: String,
    pub href: String,
    pub procedure: String,
    pub state: String,
    pub submitted: String,
    pub due: String,
    pub late: bool,
}

pub fn row_of(state: &AppState, p: &PageCtx, d: &DossierRow) -> Row {
    let en = p.tr.lang == Lang::En;
    let wf = Workflow::one_stop();
    let snap = state.catalog.snapshot();
    let procedure = snap
        .get(&d.procedure_code)
        .map(|v| v.procedure.name.get(en).to_string())
        .unwrap_or_else(|| d.procedure_code.clone());
    Row {
        code: d.code.clone().unwrap_or_else(|| p.t("dossier-draft")),
        href: match &d.code {
            Some(c) => format!("/dossiers/{c}"),
            None => format!("/drafts/{}", d.id),
        },
        procedure,
        state: wf
            .state(&d.state)
            .map(|s| s.name.get(en).to_string())
            .unwrap_or_else(|| p.t("dossier-draft")),
        submitted: d.submitted_at.map(local_when).unwrap_or_default(),
        due: d
            .rescheduled_due_at
            .or(d.due_at)
            .map(local_when)
            .unwrap_or_default(),
        late: service::on_time_now(d, OffsetDateTime::now_utc()) == Some(false),
    }
}

#[derive(Template)]
#[template(path = "my_dossiers.html")]
struct MyDossiers<'a> {
    p: &'a PageCtx,
    rows: Vec<Row>,
    total: i64,
}

pub async fn my_dossiers(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
) -> AppResult<Response> {
    let (rows, total) = state.db.owned(s.user_id(), 0, 200).await?;
    let rows = rows.iter().map(|d| row_of(&state, &p, d)).collect();
    render(&MyDossiers { p: &p, rows, total })
}

pub struct EventView {
    pub at: String,
    pub action: String,
    pub state: String,
    pub note: Option<String>,
    pub by: String,
}

pub struct FileView {
    pub name: String,
    pub field: String,
    pub source: String,
    pub stage: String,
    pub href: Option<String>,
}

pub struct ActionView {
    pub id: String,
    pub name: String,
    pub needs_reason: bool,
    pub needs_assignee: bool,
    pub needs_amount: bool,
    pub needs_date: bool,
}

#[derive(Template)]
#[template(path = "dossier.html")]
pub struct DossierPage<'a> {
    pub p: &'a PageCtx,
    pub d: &'a DossierRow,
    pub notice: Option<String>,
    pub procedure: String,
    pub procedure_code: String,
    pub state: String,
    pub agency: String,
    pub desk: Option<String>,
    pub channel: String,
    pub delivery: String,
    pub submitted: String,
    pub accepted: Option<String>,
    pub due: Option<String>,
    pub rescheduled: Option<String>,
    pub finished: Option<String>,
    pub returned: Option<String>,
    pub represented: Option<String>,
    pub form: Vec<(String, String)>,
    pub files: Vec<FileView>,
    pub events: Vec<EventView>,
    pub results: Vec<(String, String)>,
    pub is_owner: bool,
    pub is_officer: bool,
    pub actions: Vec<ActionView>,
    pub can_withdraw: bool,
    pub can_supplement: bool,
    pub can_pay: bool,
    pub can_rate: bool,
    pub fee_due: String,
    pub late: bool,
    pub errors: Vec<String>,
}

/// How the viewer relates to a dossier; `None`: not allowed to see it.
pub enum Viewer {
    Owner,
    /// Staff of the competent agency (`true`) or of the desk it was filed at (`false`).
    Officer(bool),
}

pub fn viewer(s: &Signed, d: &DossierRow) -> Option<Viewer> {
    if d.owner_id.as_deref() == Some(s.user_id()) {
        return Some(Viewer::Owner);
    }
    let agencies = s.agencies(Role::Officer);
    if agencies.contains(&d.agency_code) {
        return Some(Viewer::Officer(true));
    }
    if d.desk_agency_code
        .as_ref()
        .is_some_and(|desk| agencies.contains(desk))
    {
        return Some(Viewer::Officer(false));
    }
    None
}

/// Logs a staff member's reading of someone's dossier (shown to the resident).
pub async fn log_read(state: &AppState, s: &Signed, d: &DossierRow, what: &str) {
    if d.owner_id.as_deref() == Some(s.user_id()) {
        return;
    }
    let _ = record_alone(
        &state.db,
        OffsetDateTime::now_utc(),
        NewEntry {
            actor: s.user_id(),
            action: what,
            object_type: "dossier",
            object_id: d.code.as_deref().unwrap_or(&d.id),
            subject_user_id: d.owner_id.as_deref(),
            detail: serde_json::json!({}),
        },
    )
    .await;
}

pub async fn dossier_view<'a>(
    state: &AppState,
    p: &'a PageCtx,
    s: &Signed,
    d: &'a DossierRow,
    notice: Option<String>,
    errors: Vec<String>,
) -> AppResult<DossierPage<'a>> {
    let who = viewer(s, d).ok_or_else(AppError::not_found)?;
    let en = p.tr.lang == Lang::En;
    let v = procedure_of(state, d).await?;
    let wf = Workflow::one_stop();
    let spec = v.procedure.form_spec().map_err(AppError::internal)?;
    let code = d.code.clone().unwrap_or_default();
    let form_values: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&d.form).unwrap_or_default();
    let units = state.db.units().await?;
    let form =
        spec.fields
            .iter()
            .filter(|f| !matches!(f.kind, FieldKind::File { .. }))
            .filter_map(|f| {
                let val = form_values.get(&f.name)?;
                let text = match (&f.kind, val) {
                    (FieldKind::Select { options }, serde_json::Value::String(s)) => options
                        .iter()
                        .find(|o| &o.value == s)
                        .map(|o| o.title(en).to_string())
                        .unwrap_or_else(|| s.clone()),
                    (FieldKind::Ward, serde_json::Value::String(s)) => units
                        .iter()
                        .find(|u| &u.code == s)
                        .map(|u| {
                            if en {
                                u.name_en.clone()
                            } else {
                                u.name.clone()
                            }
                        })
                        .unwrap_or_else(|| s.clone()),
                    (FieldKind::Date, serde_json::Value::String(s)) => time::Date::parse(
                        s,
                        time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .map(|dt| format!("{:02}/{:02}/{}", dt.day(), u8::from(dt.month()), dt.year()))
                    .unwrap_or_else(|_| s.clone()),
                    (_, serde_json::Value::String(s)) => s.clone(),
                    (_, other) => other.to_string(),
                };
                Some((f.title(en).to_string(), text))
            })
            .collect();
    let mut files = Vec::new();
    for f in state.db.files(&d.id).await? {
        let href = match (&f.blob_hash, &f.issued_document_id) {
            (Some(_), _) => Some(format!("/dossiers/{code}/files/{}", f.id)),
            // A result reused from the wallet: its verification page shows the signed data.
            (None, Some(id)) => state
                .db
                .issued_by_id(id)
                .await
                .ok()
                .map(|doc| format!("/verify/{}", doc.code)),
            _ => None,
        };
        files.push(FileView {
            href,
            field: spec
                .field(&f.field)
                .map(|x| x.title(en).to_string())
                .unwrap_or_else(|| p.t("dossier-supplement")),
            name: f.filename,
            source: p.t(&format!("file-source-{}", f.source)),
            stage: p.t(&format!("file-stage-{}", f.stage)),
        });
    }
    let events = state
        .db
        .events(&d.id)
        .await?
        .into_iter()
        .map(|e| EventView {
            at: local_when(e.at),
            action: wf
                .action(&e.action)
                .map(|a| a.name.get(en).to_string())
                .unwrap_or_else(|| p.t(&format!("event-{}", e.action))),
            state: wf
                .state(&e.to_state)
                .map(|s| s.name.get(en).to_string())
                .unwrap_or_default(),
            note: e.note,
            by: p.t(&format!("actor-{}", e.actor_kind)),
        })
        .collect();
    let results = state
        .db
        .issued_for_dossier(&d.id)
        .await?
        .into_iter()
        .map(|r| (r.code.clone(), if en { r.title_en } else { r.title }))
        .collect();
    let agencies = state.db.agencies().await?;
    let agency_name = |code: &str| {
        agencies
            .iter()
            .find(|a| a.code == code)
            .map(|a| {
                if en {
                    a.name_en.clone()
                } else {
                    a.name.clone()
                }
            })
            .unwrap_or_else(|| code.to_string())
    };
    let is_owner = matches!(who, Viewer::Owner);
    let is_officer = matches!(who, Viewer::Officer(true));
    let actions = if is_officer {
        wf.allowed(&d.state, Actor::Officer)
            .into_iter()
            .map(|a| ActionView {
                id: a.id.clone(),
                name: a.name.get(en).to_string(),
                needs_reason: a.needs.contains(&cityhall_core::dossier::Need::Reason),
                needs_assignee: a.needs.contains(&cityhall_core::dossier::Need::Assignee),
                needs_amount: a.needs.contains(&cityhall_core::dossier::Need::Amount),
                needs_date: a.needs.contains(&cityhall_core::dossier::Need::NewDate),
            })
            .collect()
    } else {
        vec![]
    };
    let allowed_applicant: Vec<String> = wf
        .allowed(&d.state, Actor::Applicant)
        .into_iter()
        .map(|a| a.id.clone())
        .collect();
    let represented = d
        .represented
        .as_deref()
        .and_then(|r| serde_json::from_str::<Represented>(r).ok())
        .map(|r| {
            let mut s = format!("{} ({})", r.name, p.t(&format!("rep-{}", r.kind)));
            if let Some(h) = r.id_hint {
                s.push_str(&format!(" {h}"));
            }
            if let Some(rel) = r.relation {
                s.push_str(&format!(" — {rel}"));
            }
            s
        });
    let channel = ChannelKind::parse(&d.channel)
        .map(|c| channel_name(&p.tr, c))
        .unwrap_or_default();
    Ok(DossierPage {
        p,
        d,
        notice,
        procedure: v.procedure.name.get(en).to_string(),
        procedure_code: v.procedure.code.to_string(),
        state: wf
            .state(&d.state)
            .map(|s| s.name.get(en).to_string())
            .unwrap_or_default(),
        agency: agency_name(&d.agency_code),
        desk: d.desk_agency_code.as_deref().map(agency_name),
        channel,
        delivery: p.t(&format!("delivery-{}", d.delivery)),
        submitted: d.submitted_at.map(local_when).unwrap_or_default(),
        accepted: d.accepted_at.map(local_when),
        due: d.due_at.map(local_when),
        rescheduled: d.rescheduled_due_at.map(local_when),
        finished: d.finished_at.map(local_when),
        returned: d.returned_at.map(local_when),
        represented,
        form,
        files,
        events,
        results,
        is_owner,
        is_officer,
        actions,
        can_withdraw: is_owner && allowed_applicant.iter().any(|a| a == "withdraw"),
        can_supplement: is_owner && allowed_applicant.iter().any(|a| a == "supplement"),
        can_pay: is_owner && d.state == "payment",
        can_rate: is_owner && d.state == "returned" && d.rating.is_none(),
        fee_due: cityhall_core::dossier::format_dong(d.fee_due),
        late: service::on_time_now(d, OffsetDateTime::now_utc()) == Some(false),
        errors,
    })
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    submitted: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    paid: Option<String>,
}

pub async fn dossier_page(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    let d = state.db.dossier_by_code(code.trim()).await?;
    if viewer(&s, &d).is_none() {
        return Err(AppError::not_found());
    }
    log_read(&state, &s, &d, "dossier.read").await;
    let notice = if q.submitted.is_some() {
        Some(p.t1(
            "dossier-submitted-notice",
            "code",
            d.code.as_deref().unwrap_or(""),
        ))
    } else if let Some(a) = q.done {
        Some(p.t(&format!("done-{}", a.replace('_', "-"))))
    } else {
        q.paid
            .map(|ok| p.t(if ok == "1" { "pay-ok" } else { "pay-failed" }))
    };
    let page = dossier_view(&state, &p, &s, &d, notice, vec![]).await?;
    render(&page)
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    p: &'a PageCtx,
    d: &'a DossierRow,
    procedure: String,
    agency: String,
    accepted: String,
    due: String,
    refused: bool,
    reason: String,
    documents: Vec<String>,
}

pub async fn receipt_page(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let d = state.db.dossier_by_code(code.trim()).await?;
    if viewer(&s, &d).is_none() {
        return Err(AppError::not_found());
    }
    let refused = d.state == "refused";
    if d.accepted_at.is_none() && !refused {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "not_accepted_yet",
            "err-receipt-not-yet",
        ));
    }
    log_read(&state, &s, &d, "dossier.read").await;
    let en = p.tr.lang == Lang::En;
    let v = procedure_of(&state, &d).await?;
    let agency = state
        .db
        .agency(&d.agency_code)
        .await?
        .map(|a| if en { a.name_en } else { a.name })
        .unwrap_or_else(|| d.agency_code.clone());
    let documents = state
        .db
        .files(&d.id)
        .await?
        .into_iter()
        .map(|f| {
            format!(
                "{} ({})",
                f.filename,
                p.t(&format!("file-source-{}", f.source))
            )
        })
        .collect();
    render(&ReceiptPage {
        p: &p,
        d: &d,
        procedure: v.procedure.name.get(en).to_string(),
        agency,
        accepted: d
            .accepted_at
            .or(d.finished_at)
            .map(local_when)
            .unwrap_or_default(),
        due: d
            .due_at
            .map(local_when)
            .unwrap_or_else(|| p.t("catalog-unconfirmed")),
        refused,
        reason: d.last_reason.clone().unwrap_or_default(),
        documents,
    })
}

pub async fn file_download(
    State(state): State<AppState>,
    s: Signed,
    Path((code, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let d = state.db.dossier_by_code(code.trim()).await?;
    if viewer(&s, &d).is_none() {
        return Err(AppError::not_found());
    }
    let f = state
        .db
        .files(&d.id)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(AppError::not_found)?;
    let hash = f.blob_hash.ok_or_else(AppError::not_found)?;
    let (info, bytes) = state
        .blobs
        .get(&state.db, &hash)
        .await?
        .ok_or_else(AppError::not_found)?;
    log_read(&state, &s, &d, "dossier.file.read").await;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        f.filename
            .replace(['"', '\\'], "_")
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect::<String>()
    );
    Ok((
        [
            (header::CONTENT_TYPE, info.content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

async fn applicant_action(
    state: &AppState,
    s: &Signed,
    code: &str,
    req: ActionRequest,
    uploads: Vec<Upload>,
) -> AppResult<DossierRow> {
    service::act(
        state,
        OffsetDateTime::now_utc(),
        &ActorRef {
            user_id: s.user_id().to_string(),
            kind: Actor::Applicant,
            agencies: vec![],
        },
        code,
        &req,
        uploads,
    )
    .await
}

#[derive(Deserialize)]
pub struct VersionForm {
    #[serde(default)]
    row_version: Option<i32>,
}

pub async fn withdraw(
    State(state): State<AppState>,
    s: Signed,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<VersionForm>,
) -> AppResult<Response> {
    let req = ActionRequest {
        action: "withdraw".into(),
        row_version: f.row_version,
        ..Default::default()
    };
    applicant_action(&state, &s, code.trim(), req, vec![]).await?;
    Ok(Redirect::to(&format!("/dossiers/{}?done=withdraw", code.trim())).into_response())
}

pub async fn supplement(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
    form: UploadForm,
) -> AppResult<Response> {
    let d = state.db.dossier_by_code(code.trim()).await?;
    if d.owner_id.as_deref() != Some(s.user_id()) {
        return Err(AppError::not_found());
    }
    let mut uploads = Vec::new();
    let mut errors = Vec::new();
    for raw in &form.files {
        match check_file(raw) {
            Ok(kind) => uploads.push(Upload {
                field: "supplement".into(),
                filename: raw.filename.clone(),
                bytes: raw.bytes.clone(),
                kind,
            }),
            Err(k) => errors.push(format!("{}: {}", raw.filename, p.t(k))),
        }
    }
    if uploads.is_empty() && errors.is_empty() {
        errors.push(p.t("err-supplement-files"));
    }
    if !errors.is_empty() {
        let page = dossier_view(&state, &p, &s, &d, None, errors).await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let req = ActionRequest {
        action: "supplement".into(),
        reason: Some(form.get("note").to_string()),
        row_version: form.get("row_version").parse().ok(),
        ..Default::default()
    };
    applicant_action(&state, &s, code.trim(), req, uploads).await?;
    Ok(Redirect::to(&format!("/dossiers/{}?done=supplement", code.trim())).into_response())
}

#[derive(Deserialize)]
pub struct RateForm {
    rating: String,
    #[serde(default)]
    comment: String,
}

pub async fn rate(
    State(state): State<AppState>,
    s: Signed,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<RateForm>,
) -> AppResult<Response> {
    let mut d = state.db.dossier_by_code(code.trim()).await?;
    if d.owner_id.as_deref() != Some(s.user_id()) {
        return Err(AppError::not_found());
    }
    if d.state != "returned" {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "err-rate-not-yet",
        ));
    }
    if d.rating.is_some() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "err-rate-twice",
        ));
    }
    let rating: i32 = f
        .rating
        .trim()
        .parse()
        .ok()
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| {
            let mut e = AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_rating",
                "err-rating",
            );
            e.info.fields.push(("rating".into(), "err-rating".into()));
            e
        })?;
    let now = OffsetDateTime::now_utc();
    let expected = d.row_version;
    d.rating = Some(rating);
    d.rating_comment =
        Some(f.comment.trim().chars().take(2000).collect::<String>()).filter(|c| !c.is_empty());
    d.rated_at = Some(cityhall_db::micros(now));
    let mut tx = state.db.begin().await?;
    cityhall_db::Db::update_dossier(&mut tx, &d, expected).await?;
    <cityhall_db::Db as cityhall_db::AuditStore>::record(
        &mut tx,
        now,
        NewEntry {
            actor: s.user_id(),
            action: "dossier.rate",
            object_type: "dossier",
            object_id: code.trim(),
            subject_user_id: d.owner_id.as_deref(),
            detail: serde_json::json!({"rating": rating}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/dossiers/{}?done=rate", code.trim())).into_response())
}

// ---- wallet and verification ----

#[derive(Template)]
#[template(path = "wallet.html")]
struct WalletPage<'a> {
    p: &'a PageCtx,
    docs: Vec<(String, String, String)>,
}

pub async fn wallet_page(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
) -> AppResult<Response> {
    let en = p.tr.lang == Lang::En;
    let docs = state
        .db
        .wallet(s.user_id())
        .await?
        .into_iter()
        .map(|d| {
            (
                d.code,
                if en { d.title_en } else { d.title },
                local_when(d.issued_at),
            )
        })
        .collect();
    render(&WalletPage { p: &p, docs })
}

/// Whether a stored result's signature holds under the city's key.
pub fn signature_ok(state: &AppState, doc: &IssuedRow) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&doc.signature) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&bytes) else {
        return false;
    };
    state
        .config
        .audit_key
        .verifying_key()
        .verify(&result_message(&doc.payload), &sig)
        .is_ok()
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    p: &'a PageCtx,
    code: String,
    found: bool,
    valid: bool,
    revoked: bool,
    title: String,
    holder: String,
    issued: String,
    issuer: String,
    dossier: String,
    data: Vec<(String, String)>,
    payload: String,
    signature: String,
    public_key: String,
}

#[derive(Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    format: String,
}

pub async fn verify_lookup(Query(q): Query<CodeQuery>) -> Response {
    let code = q.code.trim().to_ascii_uppercase();
    if code.is_empty() {
        Redirect::to("/verify/-").into_response()
    } else {
        let enc: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        Redirect::to(&format!("/verify/{enc}")).into_response()
    }
}

pub async fn verify_page(
    State(state): State<AppState>,
    p: PageCtx,
    Path(code): Path<String>,
    Query(q): Query<CodeQuery>,
) -> AppResult<Response> {
    let code = code.trim().to_ascii_uppercase();
    let doc = match state.db.issued_by_code(&code).await {
        Ok(d) => Some(d),
        Err(cityhall_db::StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let public_key = base64::engine::general_purpose::STANDARD
        .encode(state.config.audit_key.verifying_key().as_bytes());
    if q.format == "json" {
        let Some(doc) = doc else {
            return Err(AppError::not_found());
        };
        let valid = signature_ok(&state, &doc);
        let payload: serde_json::Value = serde_json::from_str(&doc.payload).unwrap_or_default();
        return Ok(axum::Json(serde_json::json!({
            "code": doc.code, "valid": valid, "revoked": doc.revoked_at.is_some(),
            "payload": payload, "payload_text": doc.payload,
            "signature": doc.signature, "algorithm": "Ed25519",
            "signed_bytes": "\"cityhall-result-v1\\n\" followed by payload_text (UTF-8)",
            "public_key": public_key, "key_id": doc.key_id,
        }))
        .into_response());
    }
    let en = p.tr.lang == Lang::En;
    let page = match doc {
        None => VerifyPage {
            p: &p,
            code: code.clone(),
            found: false,
            valid: false,
            revoked: false,
            title: String::new(),
            holder: String::new(),
            issued: String::new(),
            issuer: String::new(),
            dossier: String::new(),
            data: vec![],
            payload: String::new(),
            signature: String::new(),
            public_key,
        },
        Some(doc) => {
            let valid = signature_ok(&state, &doc);
            let payload: serde_json::Value = serde_json::from_str(&doc.payload).unwrap_or_default();
            let data = payload["data"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            VerifyPage {
                p: &p,
                code: doc.code.clone(),
                found: true,
                valid,
                revoked: doc.revoked_at.is_some(),
                title: if en {
                    doc.title_en.clone()
                } else {
                    doc.title.clone()
                },
                holder: payload["holder"]["name"].as_str().unwrap_or("").to_string(),
                issued: local_when(doc.issued_at),
                issuer: payload["issuer"].as_str().unwrap_or("").to_string(),
                dossier: payload["dossier"].as_str().unwrap_or("").to_string(),
                data,
                payload: doc.payload.clone(),
                signature: doc.signature.clone(),
                public_key,
            }
        }
    };
    let status = if page.found {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render_status(status, &page)
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    p: &'a PageCtx,
    code: String,
    found: Option<(String, String, String)>,
    asked: bool,
}

pub async fn status_page(
    State(state): State<AppState>,
    p: PageCtx,
    Query(q): Query<CodeQuery>,
) -> AppResult<Response> {
    let code = q.code.trim().to_ascii_uppercase();
    let en = p.tr.lang == Lang::En;
    let mut found = None;
    if !code.is_empty() {
        if let Ok(d) = state.db.dossier_by_code(&code).await {
            let wf = Workflow::one_stop();
            let snap = state.catalog.snapshot();
            found = Some((
                snap.get(&d.procedure_code)
                    .map(|v| v.procedure.name.get(en).to_string())
                    .unwrap_or_default(),
                wf.state(&d.state)
                    .map(|s| s.name.get(en).to_string())
                    .unwrap_or_default(),
                d.rescheduled_due_at
                    .or(d.due_at)
                    .map(local_when)
                    .unwrap_or_default(),
            ));
        }
    }
    let asked = !code.is_empty();
    let status = if asked && found.is_none() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &StatusPage {
            p: &p,
            code,
            found,
            asked,
        },
    )
}
