//! The virtual assistant (trợ lý ảo): answers residents' questions from the catalog, the
//! feedback categories and the asker's own records, with a citation for every fact, and
//! says so when it does not know. It never phrases a fee, a time limit or a document
//! itself: each comes from the procedure record, as the record says it.
//!
//! Channels: `POST /api/v1/assistant/ask`, the page `/assistant` (a plain form; the chat
//! panel on every page enhances it with `static/assistant.js`), and the hotline console.

pub mod engine;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use askama::Template;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use cityhall_core::assistant::Topic;
use cityhall_core::catalog::{ChannelKind, OnlineLevel};
use cityhall_core::dossier::Workflow;
use cityhall_core::feedback::Status;
use cityhall_db::catalog::ProcedureVersion;
use cityhall_db::feedback::ReportFilter;
use cityhall_db::{DossierStore, FeedbackStore, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub use engine::{Context, Decision, Engine};
use session::Conversation;

use crate::auth::{random_token, CurrentSession, Signed};
use crate::catalog::{channel_name, fee_text, time_limit_text};
use crate::dossier::local_when;
use crate::error::{AppError, AppResult};
use crate::i18n::{Lang, Tr};
use crate::pages::{render_status, PageCtx};
use crate::{AppState, ReqLang};

/// Longer questions are refused with a message (a question needs far less).
pub const MAX_QUESTION_CHARS: usize = 500;

/// The assistant's engine and what it caches from the database.
pub struct Assistant {
    pub engine: Engine,
    /// City agencies' names (vi, en) by code, loaded with the catalog.
    agencies: RwLock<Arc<HashMap<String, (String, String)>>>,
}

impl Assistant {
    pub fn new() -> anyhow::Result<Assistant> {
        Ok(Assistant {
            engine: Engine::new()?,
            agencies: RwLock::new(Arc::default()),
        })
    }

    fn agencies(&self) -> Arc<HashMap<String, (String, String)>> {
        self.agencies.read().map(|a| a.clone()).unwrap_or_default()
    }
}

/// Rebuilds the assistant's index when the catalog moved (called after each refresh).
pub async fn reindex(state: &AppState) -> anyhow::Result<()> {
    let snap = state.catalog.snapshot();
    let agencies = crate::catalog::agency_names(&state.db).await.map_err(|e| {
        e.cause
            .unwrap_or_else(|| anyhow::anyhow!("agency names: {}", e.info.code))
    })?;
    if let Ok(mut a) = state.assistant.agencies.write() {
        *a = Arc::new(agencies);
    }
    state.assistant.engine.reindex(
        snap.stamp,
        snap.procedures.iter().map(|v| &v.procedure),
        &snap.fields,
        &state.feedback.categories,
    )
}

// ------------------------------------------------------------------------------ answers

/// Something the answer points to.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Card {
    /// procedure | dossier | report | category
    pub kind: String,
    pub code: String,
    pub name: String,
    pub url: String,
    /// For a procedure that can be done online: where to apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_url: Option<String>,
}

/// Where the facts of an answer come from.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Citation {
    /// catalog | feedback_categories | dossier | report
    pub source: String,
    pub code: String,
    pub title: String,
    pub url: String,
    /// The version of the procedure record quoted (YYYY-MM-DD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<String>,
}

/// One fact of an answer, as the record holds it.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Fact {
    /// fee | time_limit | documents | where | online | sla | status | due
    pub topic: String,
    /// in_person | online | postal, for facts that differ by channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The record's value: a fee in đồng (null when unconfirmed), a time limit
    /// (`{"working_days": 7}`, `"same_day"`), a document id, an agency code...
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// The fact in words, in the answer's language.
    pub text: String,
    /// For documents: whether it is always required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Index into `citations`.
    pub citation: usize,
}

/// An answer, before it is sent.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub intent: &'static str,
    pub paragraphs: Vec<String>,
    /// A list under the paragraphs (documents, records).
    pub items: Vec<String>,
    pub cards: Vec<Card>,
    pub citations: Vec<Citation>,
    pub facts: Vec<Fact>,
    /// For a question it could not answer: a catalog search with the question.
    pub search_url: Option<String>,
}

impl Answer {
    /// The answer as plain text (the API's `answer`).
    pub fn text(&self) -> String {
        let mut out = self.paragraphs.join("\n");
        for i in &self.items {
            out.push_str("\n- ");
            out.push_str(i);
        }
        out
    }
}

/// `POST /api/v1/assistant/ask` body.
#[derive(Deserialize, ToSchema)]
pub struct AskIn {
    /// The question, in Vietnamese (with or without diacritics) or English; at most 500
    /// characters.
    pub question: String,
    /// The `session` of the previous answer, to continue the conversation.
    #[serde(default)]
    pub session: Option<String>,
}

/// An answer.
#[derive(Serialize, ToSchema)]
pub struct AskOut {
    /// procedure | follow_up | report_problem | dossier_status | report_status |
    /// my_records | greeting | thanks | out_of_scope
    pub intent: String,
    pub answer: String,
    pub cards: Vec<Card>,
    pub citations: Vec<Citation>,
    pub facts: Vec<Fact>,
    /// Send it back with the next question (valid for 30 minutes).
    pub session: String,
}

/// Who is asking, and where.
#[derive(Clone, Copy)]
pub struct Asker<'a> {
    pub user: Option<&'a Signed>,
    /// A hotline operator: report links open the hotline form, not the resident's.
    pub operator: bool,
}

fn invalid(key: &'static str) -> AppError {
    let mut e = AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_question", key);
    e.info.fields.push(("question".into(), key.into()));
    e
}

/// Checks a question: not blank, not too long.
pub fn check_question(q: &str) -> Result<&str, AppError> {
    let q = q.trim();
    if q.is_empty() {
        return Err(invalid("assistant-err-empty"));
    }
    if q.chars().count() > MAX_QUESTION_CHARS {
        return Err(invalid("assistant-err-too-long"));
    }
    Ok(q)
}

/// Answers `question` in the conversation of `token`; returns the answer and the token
/// to continue with.
pub async fn ask(
    state: &AppState,
    tr: &Tr,
    asker: Asker<'_>,
    question: &str,
    token: Option<&str>,
) -> AppResult<(Answer, String)> {
    let question = check_question(question)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let key = &state.config.secret_key;
    let mut conv = token
        .and_then(|t| session::decode(key, t, now))
        .unwrap_or_else(|| Conversation {
            id: random_token()[..12].to_string(),
            context: Context::default(),
        });
    let decision = state.assistant.engine.decide(question, &conv.context);
    let answer = compose(state, tr, asker, question, &decision).await?;
    match &decision {
        Decision::Procedure { code, .. } => conv.context.procedure = Some(code.clone()),
        Decision::Report { .. } => conv.context.procedure = None,
        _ => {}
    }
    tracing::info!(
        conversation = %conv.id,
        intent = decision.intent(),
        cards = answer.cards.len(),
        "assistant answered"
    );
    metrics::counter!("assistant_questions_total", "intent" => decision.intent()).increment(1);
    Ok((answer, session::encode(key, &conv, now)))
}

async fn compose(
    state: &AppState,
    tr: &Tr,
    asker: Asker<'_>,
    question: &str,
    decision: &Decision,
) -> AppResult<Answer> {
    let mut a = Answer {
        intent: decision.intent(),
        ..Answer::default()
    };
    match decision {
        Decision::Procedure {
            code,
            topics,
            follow_up,
        } => {
            let snap = state.catalog.snapshot();
            match snap.get(code) {
                Some(v) => procedure_answer(
                    &mut a,
                    tr,
                    &state.assistant.agencies(),
                    v,
                    topics,
                    *follow_up,
                ),
                // Withdrawn from the catalog since the index was built.
                None => out_of_scope(&mut a, tr, question),
            }
        }
        Decision::Report { category } => match state.feedback.category(category) {
            Some(c) => {
                let en = tr.lang == Lang::En;
                let name = c.name.get(en).to_string();
                let sla = time_limit_text(tr, Some(c.sla));
                a.paragraphs.push(tr.t_with(
                    "assistant-report",
                    &[("name", &name), ("description", c.description.get(en))],
                ));
                a.paragraphs
                    .push(tr.t_with("assistant-report-sla", &[("time", &sla)]));
                let query = serde_urlencoded::to_string([
                    ("category", category.as_str()),
                    ("description", question),
                ])
                .unwrap_or_default();
                let base = if asker.operator {
                    "/hotline"
                } else {
                    "/feedback/new"
                };
                a.citations.push(Citation {
                    source: "feedback_categories".into(),
                    code: category.clone(),
                    title: name.clone(),
                    url: format!("/feedback?category={category}"),
                    effective_from: None,
                });
                a.facts.push(Fact {
                    topic: "sla".into(),
                    channel: None,
                    value: serde_json::to_value(c.sla).unwrap_or_default(),
                    text: sla,
                    required: None,
                    citation: 0,
                });
                a.cards.push(Card {
                    kind: "category".into(),
                    code: category.clone(),
                    name,
                    url: format!("{base}?{query}"),
                    apply_url: None,
                });
            }
            None => out_of_scope(&mut a, tr, question),
        },
        Decision::DossierStatus { code } => dossier_status(state, tr, asker, code, &mut a).await?,
        Decision::ReportStatus { code } => report_status(state, tr, asker, code, &mut a).await?,
        Decision::MyRecords => my_records(state, tr, asker, &mut a).await?,
        Decision::Greeting => {
            a.paragraphs.push(tr.t("assistant-greeting"));
            a.paragraphs.push(tr.t("assistant-examples-text"));
        }
        Decision::Thanks => a.paragraphs.push(tr.t("assistant-thanks")),
        Decision::OutOfScope => out_of_scope(&mut a, tr, question),
    }
    Ok(a)
}

fn out_of_scope(a: &mut Answer, tr: &Tr, question: &str) {
    a.intent = "out_of_scope";
    a.paragraphs.push(tr.t("assistant-unknown"));
    a.search_url = Some(format!(
        "/procedures?{}",
        serde_urlencoded::to_string([("q", question)]).unwrap_or_default()
    ));
}

/// A procedure's facts, each as the record holds it; `topics` narrow the answer.
fn procedure_answer(
    a: &mut Answer,
    tr: &Tr,
    agencies: &HashMap<String, (String, String)>,
    v: &ProcedureVersion,
    topics: &[Topic],
    follow_up: bool,
) {
    let p = &v.procedure;
    let en = tr.lang == Lang::En;
    let code = p.code.as_str().to_string();
    let name = p.name.get(en).to_string();
    let want = |t: Topic| topics.is_empty() || topics.contains(&t);
    a.citations.push(Citation {
        source: "catalog".into(),
        code: code.clone(),
        title: name.clone(),
        url: format!("/procedures/{code}"),
        effective_from: Some(p.effective_from.to_string()),
    });
    a.paragraphs.push(if follow_up {
        tr.t_with("assistant-about", &[("name", &name)])
    } else {
        tr.t_with("assistant-procedure", &[("name", &name), ("code", &code)])
    });
    let fact = |topic: &str, channel: Option<ChannelKind>, value, text: String| Fact {
        topic: topic.into(),
        channel: channel.map(|c| c.as_str().to_string()),
        value,
        text,
        required: None,
        citation: 0,
    };
    let apply_url = p.online().map(|_| format!("/procedures/{code}/apply"));
    if want(Topic::Where) {
        let place = crate::catalog::agency_text(tr, agencies, p);
        a.paragraphs
            .push(tr.t_with("assistant-where", &[("place", &place)]));
        a.facts.push(fact(
            "where",
            None,
            serde_json::Value::String(p.agency.clone()),
            place,
        ));
    }
    if want(Topic::Online) || want(Topic::Where) {
        let text = match (p.online(), p.online_level) {
            (Some(_), level) => tr.t_with(
                "assistant-online-yes",
                &[(
                    "level",
                    &tr.t(match level {
                        OnlineLevel::Full => "assistant-online-full",
                        OnlineLevel::Partial => "assistant-online-partial",
                    }),
                )],
            ),
            (None, _) => tr.t("assistant-online-no"),
        };
        a.paragraphs.push(text.clone());
        a.facts.push(fact(
            "online",
            None,
            match p.online() {
                Some(_) => serde_json::Value::String(p.online_level.as_str().into()),
                None => serde_json::Value::Null,
            },
            text,
        ));
    }
    if want(Topic::Fee) {
        let fee_of = |c: &cityhall_core::catalog::Channel| {
            if p.is_unverified("fee") {
                None
            } else {
                c.fee
            }
        };
        let per: Vec<(ChannelKind, Option<i64>)> =
            p.channels.iter().map(|c| (c.kind, fee_of(c))).collect();
        let text = per_channel(tr, &per, |f| fee_text(tr, *f));
        a.paragraphs
            .push(tr.t_with("assistant-fee", &[("fee", &text)]));
        if let Some(note) = p.channels.iter().find_map(|c| c.fee_note.as_ref()) {
            a.paragraphs.push(note.get(en).to_string());
        }
        for (kind, f) in &per {
            a.facts.push(fact(
                "fee",
                Some(*kind),
                f.map_or(serde_json::Value::Null, serde_json::Value::from),
                fee_text(tr, *f),
            ));
        }
    }
    if want(Topic::TimeLimit) {
        let limit_of = |c: &cityhall_core::catalog::Channel| {
            if p.is_unverified("time_limit") {
                None
            } else {
                c.time_limit
            }
        };
        let per: Vec<_> = p.channels.iter().map(|c| (c.kind, limit_of(c))).collect();
        let text = per_channel(tr, &per, |l| time_limit_text(tr, *l));
        a.paragraphs
            .push(tr.t_with("assistant-time", &[("time", &text)]));
        for (kind, l) in &per {
            a.facts.push(fact(
                "time_limit",
                Some(*kind),
                serde_json::to_value(l).unwrap_or_default(),
                time_limit_text(tr, *l),
            ));
        }
    }
    if want(Topic::Documents) {
        if p.documents.is_empty() {
            a.paragraphs.push(tr.t("assistant-documents-none"));
        } else {
            a.paragraphs.push(tr.t("assistant-documents"));
        }
        for d in &p.documents {
            let mut text = d.name.get(en).to_string();
            if !d.required {
                text.push(' ');
                text.push_str(&tr.t("assistant-doc-optional"));
            }
            a.items.push(text.clone());
            a.facts.push(Fact {
                topic: "documents".into(),
                channel: None,
                value: serde_json::Value::String(d.id.clone()),
                text,
                required: Some(d.required),
                citation: 0,
            });
        }
    }
    a.paragraphs.push(match &apply_url {
        Some(_) => tr.t("assistant-next-apply"),
        None => tr.t("assistant-next-details"),
    });
    a.cards.push(Card {
        kind: "procedure".into(),
        code,
        name,
        url: format!("/procedures/{}", p.code.as_str()),
        apply_url,
    });
}

/// "x" when every channel has the same value, else "in person: x; online: y".
fn per_channel<T: PartialEq>(
    tr: &Tr,
    per: &[(ChannelKind, T)],
    text: impl Fn(&T) -> String,
) -> String {
    match per.first() {
        None => tr.t("catalog-unconfirmed"),
        Some((_, first)) if per.iter().all(|(_, v)| v == first) => text(first),
        Some(_) => per
            .iter()
            .map(|(k, v)| format!("{}: {}", channel_name(tr, *k), text(v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

async fn dossier_status(
    state: &AppState,
    tr: &Tr,
    asker: Asker<'_>,
    code: &str,
    a: &mut Answer,
) -> AppResult<()> {
    let d = match state.db.dossier_by_code(code).await {
        Ok(d) => d,
        Err(StoreError::NotFound) => {
            a.paragraphs
                .push(tr.t_with("assistant-dossier-not-found", &[("code", code)]));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let en = tr.lang == Lang::En;
    let owner = asker
        .user
        .is_some_and(|s| d.owner_id.as_deref() == Some(s.user_id()));
    let procedure = state
        .catalog
        .snapshot()
        .get(&d.procedure_code)
        .map(|v| v.procedure.name.get(en).to_string())
        .unwrap_or_else(|| d.procedure_code.clone());
    let status = Workflow::one_stop()
        .state(&d.state)
        .map(|s| s.name.get(en).to_string())
        .unwrap_or_else(|| d.state.clone());
    let due = d
        .rescheduled_due_at
        .or(d.due_at)
        .map(local_when)
        .unwrap_or_else(|| tr.t("assistant-due-none"));
    let url = if owner {
        format!("/dossiers/{code}")
    } else {
        format!("/status?code={code}")
    };
    a.paragraphs.push(tr.t_with(
        "assistant-dossier-status",
        &[
            ("code", code),
            ("procedure", &procedure),
            ("status", &status),
            ("due", &due),
        ],
    ));
    if owner {
        let next = match d.state.as_str() {
            "new" => "assistant-next-new",
            "supplement" => "assistant-next-supplement",
            "payment" => "assistant-next-pay",
            "done" => "assistant-next-result",
            "refused" | "withdrawn" | "stopped" | "returned" => "assistant-next-closed",
            _ => "assistant-next-wait",
        };
        a.paragraphs.push(tr.t(next));
    } else {
        a.paragraphs.push(tr.t("assistant-dossier-public"));
    }
    a.citations.push(Citation {
        source: "dossier".into(),
        code: code.into(),
        title: procedure.clone(),
        url: url.clone(),
        effective_from: None,
    });
    a.facts.push(Fact {
        topic: "status".into(),
        channel: None,
        value: serde_json::Value::String(d.state.clone()),
        text: status,
        required: None,
        citation: 0,
    });
    a.cards.push(Card {
        kind: "dossier".into(),
        code: code.into(),
        name: procedure,
        url,
        apply_url: None,
    });
    Ok(())
}

async fn report_status(
    state: &AppState,
    tr: &Tr,
    asker: Asker<'_>,
    code: &str,
    a: &mut Answer,
) -> AppResult<()> {
    let r = match state.db.report_by_code(code).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => {
            a.paragraphs
                .push(tr.t_with("assistant-report-not-found", &[("code", code)]));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let owner = asker
        .user
        .is_some_and(|s| r.reporter_id.as_deref() == Some(s.user_id()));
    let status = Status::parse(&r.status);
    if !owner && !status.is_some_and(Status::is_public) {
        a.paragraphs
            .push(tr.t_with("assistant-report-not-found", &[("code", code)]));
        return Ok(());
    }
    let en = tr.lang == Lang::En;
    let category = state
        .feedback
        .category(&r.category_code)
        .map(|c| c.name.get(en).to_string())
        .unwrap_or_else(|| r.category_code.clone());
    let status_name = tr.t(&format!("fb-status-{}", r.status));
    let due = r
        .due_at
        .map(local_when)
        .unwrap_or_else(|| tr.t("assistant-due-none"));
    a.paragraphs.push(tr.t_with(
        "assistant-report-status",
        &[
            ("code", code),
            ("category", &category),
            ("status", &status_name),
            ("due", &due),
        ],
    ));
    if let Some(note) = r.public_note.as_deref().filter(|n| !n.trim().is_empty()) {
        a.paragraphs
            .push(tr.t_with("assistant-report-note", &[("note", note)]));
    }
    if owner && status == Some(Status::Resolved) {
        a.paragraphs.push(tr.t("assistant-report-next-resolved"));
    }
    let url = format!("/feedback/{code}");
    a.citations.push(Citation {
        source: "report".into(),
        code: code.into(),
        title: category.clone(),
        url: url.clone(),
        effective_from: None,
    });
    a.facts.push(Fact {
        topic: "status".into(),
        channel: None,
        value: serde_json::Value::String(r.status.clone()),
        text: status_name,
        required: None,
        citation: 0,
    });
    a.cards.push(Card {
        kind: "report".into(),
        code: code.into(),
        name: category,
        url,
        apply_url: None,
    });
    Ok(())
}

async fn my_records(state: &AppState, tr: &Tr, asker: Asker<'_>, a: &mut Answer) -> AppResult<()> {
    let Some(s) = asker.user.filter(|_| !asker.operator) else {
        a.paragraphs.push(tr.t("assistant-need-code"));
        return Ok(());
    };
    let en = tr.lang == Lang::En;
    let (dossiers, _) = state.db.owned(s.user_id(), 0, 5).await?;
    let (reports, _) = state
        .db
        .reports(&ReportFilter {
            reporter_id: Some(s.user_id().to_string()),
            limit: 5,
            ..Default::default()
        })
        .await?;
    if dossiers.is_empty() && reports.is_empty() {
        a.paragraphs.push(tr.t("assistant-my-records-none"));
        return Ok(());
    }
    a.paragraphs.push(tr.t("assistant-my-records"));
    let snap = state.catalog.snapshot();
    let wf = Workflow::one_stop();
    for d in dossiers {
        // Drafts have no code yet.
        let Some(code) = d.code.clone() else {
            continue;
        };
        let name = snap
            .get(&d.procedure_code)
            .map(|v| v.procedure.name.get(en).to_string())
            .unwrap_or_else(|| d.procedure_code.clone());
        let status = wf
            .state(&d.state)
            .map(|s| s.name.get(en).to_string())
            .unwrap_or_default();
        a.items.push(format!("{code} — {name}: {status}"));
        a.cards.push(Card {
            kind: "dossier".into(),
            url: format!("/dossiers/{code}"),
            code,
            name,
            apply_url: None,
        });
    }
    for r in reports {
        let name = state
            .feedback
            .category(&r.category_code)
            .map(|c| c.name.get(en).to_string())
            .unwrap_or_else(|| r.category_code.clone());
        a.items.push(format!(
            "{} — {name}: {}",
            r.code,
            tr.t(&format!("fb-status-{}", r.status))
        ));
        a.cards.push(Card {
            kind: "report".into(),
            code: r.code.clone(),
            name,
            url: format!("/feedback/{}", r.code),
            apply_url: None,
        });
    }
    Ok(())
}

// ------------------------------------------------------------------------------ HTTP

/// Asks the assistant. Signed-in residents (cookie or bearer token) get their own
/// dossiers' full status; everyone else gets public status only.
#[utoipa::path(post, path = "/api/v1/assistant/ask", request_body = AskIn,
    responses((status = 200, body = AskOut), (status = 422, body = crate::api::ErrorBody),
              (status = 400, body = crate::api::ErrorBody)))]
pub async fn api_ask(
    State(state): State<AppState>,
    Extension(lang): Extension<ReqLang>,
    Extension(cs): Extension<CurrentSession>,
    body: Result<Json<AskIn>, JsonRejection>,
) -> AppResult<Json<AskOut>> {
    let Json(req) = body?;
    let tr = Tr::new(lang.0);
    let user = crate::feedback::pages::signed(&cs);
    let (a, session) = ask(
        &state,
        &tr,
        Asker {
            user: user.as_ref(),
            operator: false,
        },
        &req.question,
        req.session.as_deref(),
    )
    .await?;
    Ok(Json(AskOut {
        intent: a.intent.into(),
        answer: a.text(),
        cards: a.cards,
        citations: a.citations,
        facts: a.facts,
        session,
    }))
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub session: String,
}

/// One question and its answer, for templates.
pub struct Exchange {
    pub question: String,
    pub answer: Answer,
}

#[derive(Template)]
#[template(path = "assistant.html")]
struct AssistantPage<'a> {
    p: &'a PageCtx,
    exchange: Option<Exchange>,
    question: String,
    session: String,
    error: String,
}

/// The assistant as a plain page: ask, read the answer, ask again (the session rides
/// in a hidden field).
pub async fn page(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(cs): Extension<CurrentSession>,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let user = crate::feedback::pages::signed(&cs);
    let mut page = AssistantPage {
        p: &p,
        exchange: None,
        question: String::new(),
        session: q.session.clone(),
        error: String::new(),
    };
    if q.q.trim().is_empty() {
        return render_status(StatusCode::OK, &page);
    }
    let asker = Asker {
        user: user.as_ref(),
        operator: false,
    };
    match ask(&state, &p.tr, asker, &q.q, Some(&q.session)).await {
        Ok((answer, session)) => {
            page.session = session;
            page.exchange = Some(Exchange {
                question: q.q.trim().to_string(),
                answer,
            });
            render_status(StatusCode::OK, &page)
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            page.error = p.t(&e.info.key);
            page.question = q.q.chars().take(MAX_QUESTION_CHARS * 2).collect();
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e),
    }
}

/// For the hotline console: the answer to an operator's question, or nothing.
pub async fn for_operator(
    state: &AppState,
    tr: &Tr,
    operator: &Signed,
    question: &str,
    token: &str,
) -> AppResult<Option<(Exchange, String)>> {
    if question.trim().is_empty() {
        return Ok(None);
    }
    let asker = Asker {
        user: Some(operator),
        operator: true,
    };
    let (answer, session) = ask(state, tr, asker, question, Some(token)).await?;
    Ok(Some((
        Exchange {
            question: question.trim().to_string(),
            answer,
        },
        session,
    )))
}

impl IntoResponse for AskOut {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

async fn script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/assistant.js"),
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assistant", get(page))
        .route("/static/assistant.js", get(script))
        .route("/api/v1/assistant/ask", post(api_ask))
}
