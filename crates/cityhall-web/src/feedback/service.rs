//! Filing a report and acting on it: the rules every channel (pages, Open311, the hotline
//! console) goes through, each change in one transaction with its event, audit entry and
//! notifications.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use cityhall_core::calendar::TimeLimit;
use cityhall_core::dossier::local_day;
use cityhall_core::feedback::{
    self, check_answers, decide, normalize_phone, photo, Action, Actor, Category, Channel, Point,
    RawAnswers, Refusal, Status, MAX_DESCRIPTION, MAX_PHOTOS,
};
use cityhall_db::audit::NewEntry;
use cityhall_db::feedback::{PhotoRow, ReportEventRow, ReportRow};
use cityhall_db::notify::{Channel as NotifyChannel, NewMessage};
use cityhall_db::{
    from_micros, micros, new_id, AuditStore, Db, DossierStore, FeedbackStore, IdentityStore,
    NotifyStore, StoreError, Tx,
};
use time::OffsetDateTime;

use crate::auth::{hash_token, random_token};
use crate::error::{AppError, AppResult};
use crate::AppState;

/// Largest photo before stripping.
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

/// Who files a report.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    /// The signed-in account (confirmed at once), if any.
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A report as submitted through any channel.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub category: String,
    pub description: String,
    pub address: Option<String>,
    pub ward: Option<String>,
    pub point: Option<Point>,
    pub answers: RawAnswers,
    pub photos: Vec<Vec<u8>>,
    pub reporter: Reporter,
    pub hide_name: bool,
    pub channel: Channel,
    /// The hotline operator or the Open311 key that filed it for someone.
    pub filed_by: Option<String>,
    /// Confirmed by whoever filed it (an operator on the phone, a signed-in resident).
    pub trusted: bool,
    pub idem_key: Option<String>,
}

/// Why a report was not filed: each problem beside its field (a message key), or the
/// point is outside the city.
#[derive(Debug)]
pub enum FileError {
    Fields(Vec<(String, &'static str)>),
    Other(AppError),
}

impl From<AppError> for FileError {
    fn from(e: AppError) -> Self {
        FileError::Other(e)
    }
}
impl From<StoreError> for FileError {
    fn from(e: StoreError) -> Self {
        FileError::Other(e.into())
    }
}

/// A filed report, and for one that waits for confirmation, how it is confirmed.
#[derive(Debug)]
pub struct Filed {
    pub report: ReportRow,
    /// `true`: a new report; `false`: the same idempotency key was seen before.
    pub created: bool,
}

/// The categories and the policy the feedback module runs with.
pub struct Feedback {
    pub categories: feedback::CategoriesFile,
    pub escalation: feedback::Escalation,
    /// Days after a resolution during which the reporter may reopen.
    pub reopen_days: i64,
    /// Radius of the "already reported nearby" suggestion, in metres.
    pub nearby_m: f64,
    /// A point farther than this from every ward centre is outside the city.
    pub max_distance_m: f64,
    units: tokio::sync::OnceCell<Vec<cityhall_db::geo::UnitRow>>,
}

pub const SHIPPED_CATEGORIES: &str = include_str!("../../../../data/feedback-categories.json");

/// The feedback settings an operator may change.
#[derive(Debug, Clone)]
pub struct Policy {
    pub escalation: feedback::Escalation,
    pub reopen_days: i64,
    pub nearby_m: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            escalation: feedback::Escalation::default(),
            reopen_days: 7,
            nearby_m: 200.0,
        }
    }
}

impl Feedback {
    pub fn new() -> Feedback {
        Feedback::with_policy(&Policy::default())
    }

    pub fn with_policy(p: &Policy) -> Feedback {
        Feedback {
            categories: feedback::CategoriesFile::parse(SHIPPED_CATEGORIES, |_| true)
                .expect("the shipped categories parse (tested in core)"),
            escalation: p.escalation.clone(),
            reopen_days: p.reopen_days,
            nearby_m: p.nearby_m,
            max_distance_m: 15_000.0,
            units: tokio::sync::OnceCell::new(),
        }
    }

    /// The wards of the city (loaded once).
    pub async fn units(&self, db: &Db) -> AppResult<&[cityhall_db::geo::UnitRow]> {
        use cityhall_db::GeoStore;
        Ok(self
            .units
            .get_or_try_init(|| async { db.units().await })
            .await?
            .as_slice())
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.category(code)
    }
}

impl Default for Feedback {
    fn default() -> Self {
        Feedback::new()
    }
}

fn valid_email(s: &str) -> bool {
    let s = s.trim();
    s.len() <= 254
        && s.split_once('@').is_some_and(|(a, b)| {
            !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.')
        })
        && !s.chars().any(char::is_whitespace)
}

/// Files a report: checks everything first (all problems at once), then writes it with its
/// photos, first event, audit entry and notification in one transaction.
pub async fn file(state: &AppState, now: OffsetDateTime, r: NewReport) -> Result<Filed, FileError> {
    if let Some(k) = &r.idem_key {
        if let Some(existing) = state.db.report_by_idem(k).await? {
            return Ok(Filed {
                report: existing,
                created: false,
            });
        }
    }
    let fb = &state.feedback;
    let mut errs: Vec<(String, &'static str)> = Vec::new();
    let cat = fb.category(r.category.trim());
    if cat.is_none() {
        errs.push(("category".into(), "err-fb-category"));
    }
    let description = r.description.trim().to_string();
    if description.is_empty() {
        errs.push(("description".into(), "err-fb-description"));
    } else if description.chars().count() > MAX_DESCRIPTION {
        errs.push(("description".into(), "err-fb-description-long"));
    }
    let mut answers = serde_json::Map::new();
    if let Some(c) = cat {
        match check_answers(c, &r.answers) {
            Ok(a) => answers = a,
            Err(list) => {
                for e in list {
                    errs.push((format!("attr_{}", e.code), e.key));
                }
            }
        }
    }
    // Where: the ward given must exist; a point must be in the city; one of them is needed.
    let units = fb.units(&state.db).await?;
    let mut ward = None;
    if let Some(w) = r.ward.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        match units.iter().find(|u| u.code == w) {
            Some(u) => ward = Some(u.code.clone()),
            None => errs.push(("ward".into(), "err-fb-ward")),
        }
    }
    if let Some(p) = r.point {
        match feedback::locate(units, p, fb.max_distance_m, |u| Point {
            lat: u.lat,
            lon: u.lon,
        }) {
            Some((u, _)) => {
                if ward.is_none() {
                    ward = Some(u.code.clone());
                }
            }
            None => errs.push(("location".into(), "err-fb-outside")),
        }
    } else if ward.is_none() && !errs.iter().any(|(f, _)| f == "ward") {
        errs.push(("location".into(), "err-fb-location"));
    }
    let address = r
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| a.chars().take(500).collect::<String>());
    // Photos: at most five, each a real picture, stored without its metadata.
    let mut photos = Vec::new();
    if r.photos.len() > MAX_PHOTOS {
        errs.push(("photos".into(), "err-fb-photos-many"));
    } else {
        for p in &r.photos {
            if p.len() > MAX_PHOTO_BYTES {
                errs.push(("photos".into(), "err-fb-photo-size"));
                break;
            }
            match photo::strip(p) {
                Ok(x) => photos.push(x),
                Err(_) => {
                    errs.push(("photos".into(), "err-fb-photo-type"));
                    break;
                }
            }
        }
    }
    // Who: contact details are checked; a category that refuses anonymous reports needs a
    // name and a way to answer.
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>())
    };
    let name = clean(&r.reporter.name);
    let email = clean(&r.reporter.email);
    let phone_raw = clean(&r.reporter.phone);
    if email.as_deref().is_some_and(|e| !valid_email(e)) {
        errs.push(("email".into(), "err-fb-email"));
    }
    let phone = match &phone_raw {
        Some(p) => match normalize_phone(p) {
            Some(p) => Some(p),
            None => {
                errs.push(("phone".into(), "err-fb-phone"));
                None
            }
        },
        None => None,
    };
    let signed_in = r.reporter.user_id.is_some();
    if let Some(c) = cat {
        if !c.anonymous && name.is_none() {
            errs.push(("name".into(), "err-fb-name"));
        }
        if !c.anonymous && email.is_none() && phone_raw.is_none() && !signed_in {
            errs.push(("contact".into(), "err-fb-contact"));
        }
    }
    // Without an account (and not taken by an operator), the report is confirmed through
    // the e-mail or phone given; with neither it must be a category open to anonymous ones.
    let needs_confirmation = !signed_in && !r.trusted && (email.is_some() || phone.is_some());
    let contact_typed = phone_raw.is_some() || email.is_some();
    if !signed_in && !r.trusted && !contact_typed && r.channel == Channel::Web {
        errs.push(("contact".into(), "err-fb-contact"));
    }
    if !errs.is_empty() {
        return Err(FileError::Fields(errs));
    }
    let cat = cat.expect("checked above");
    let ward = ward.expect("checked above");

    let agency = route(state, cat, &ward).await?;
    let at = micros(now);
    let status = if needs_confirmation {
        Status::Unconfirmed
    } else {
        Status::Open
    };
    let (confirm_secret, confirm_hash) = if needs_confirmation {
        let secret = if email.is_some() {
            random_token()
        } else {
            sms_code()
        };
        let h = hash_token(&secret);
        (Some(secret), Some(h))
    } else {
        (None, None)
    };
    // Read before the transaction (see `recipients`).
    let to = if needs_confirmation {
        Vec::new()
    } else {
        let probe = ReportRow {
            reporter_email: email.clone(),
            reporter_phone: phone.clone(),
            ..Default::default()
        };
        recipients(state, &probe, r.reporter.user_id.as_deref()).await?
    };
    let mut tx = state.db.begin().await?;
    let day = local_day(now);
    let seq = Db::next_sequence(&mut tx, "PA", &cityhall_core::dossier::sequence_day(day)).await?;
    let code = feedback::tracking_code(day, seq);
    let row = ReportRow {
        id: new_id(),
        code: code.clone(),
        category_code: cat.code.clone(),
        status: status.as_str().into(),
        channel: r.channel.as_str().into(),
        description,
        answers: serde_json::Value::Object(answers).to_string(),
        address,
        ward_code: ward,
        lat: r.point.map(|p| p.lat),
        lon: r.point.map(|p| p.lon),
        agency_code: agency,
        reporter_id: r.reporter.user_id.clone(),
        reporter_name: name,
        reporter_email: email,
        reporter_phone: phone,
        hide_name: r.hide_name,
        filed_by: r.filed_by.clone(),
        confirm_hash,
        open311_token: needs_confirmation.then(random_token),
        idem_key: r.idem_key.clone(),
        created_at: at,
        confirmed_at: (!needs_confirmation).then_some(at),
        updated_at: at,
        due_at: (!needs_confirmation).then(|| micros(due(state, now, cat.sla))),
        row_version: 1,
        ..Default::default()
    };
    match Db::insert_report(&mut tx, &row).await {
        Err(StoreError::Conflict(w)) if w == "idempotency" => {
            drop(tx);
            let key = r.idem_key.as_deref().unwrap_or("");
            let existing = state.db.report_by_idem(key).await?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("idempotency conflict without a row"))
            })?;
            return Ok(Filed {
                report: existing,
                created: false,
            });
        }
        r => r?,
    }
    for (i, (bytes, kind)) in photos.iter().enumerate() {
        let hash = state.blobs.put(&mut tx, now, bytes, kind.mime()).await?;
        Db::add_photo(
            &mut tx,
            &PhotoRow {
                id: new_id(),
                report_id: row.id.clone(),
                stage: "report".into(),
                blob_hash: hash,
                content_type: kind.mime().into(),
                size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                position: i32::try_from(i).unwrap_or(0),
                added_at: at,
            },
        )
        .await?;
    }
    if let Some(u) = &r.reporter.user_id {
        Db::follow(&mut tx, &row.id, u, at).await?;
    }
    let actor = r
        .filed_by
        .clone()
        .or(r.reporter.user_id.clone())
        .unwrap_or_else(|| "anonymous".into());
    Db::add_report_event(
        &mut tx,
        &ReportEventRow {
            id: new_id(),
            report_id: row.id.clone(),
            at,
            actor_id: Some(actor.clone()),
            actor_kind: match (&r.filed_by, r.channel) {
                (Some(_), Channel::Open311) => "app".into(),
                (Some(_), _) => "operator".into(),
                (None, _) => "reporter".into(),
            },
            action: "create".into(),
            from_status: None,
            to_status: row.status.clone(),
            note: None,
            internal: false,
            data: Some(
                serde_json::json!({"channel": row.channel, "unit": row.agency_code}).to_string(),
            ),
        },
    )
    .await?;
    Db::record(
        &mut tx,
        now,
        NewEntry {
            actor: &actor,
            action: "report.create",
            object_type: "report",
            object_id: &code,
            subject_user_id: r.reporter.user_id.as_deref(),
            detail: serde_json::json!({"category": row.category_code, "unit": row.agency_code,
                "channel": row.channel, "status": row.status}),
        },
    )
    .await?;
    if let Some(secret) = &confirm_secret {
        send_confirmation(state, &mut tx, now, &row, secret).await?;
    } else {
        notify_reporter(state, &mut tx, now, &row, &to).await?;
    }
    tx.commit().await?;
    Ok(Filed {
        report: row,
        created: true,
    })
}

/// The unit for a category in a ward: an admin's rule for this ward, then for every ward,
/// then the category's own rule; a unit that does not exist falls back to the city desk.
pub async fn route(state: &AppState, cat: &Category, ward: &str) -> AppResult<String> {
    use cityhall_db::GeoStore;
    let chosen = match state.db.route_for(&cat.code, ward).await? {
        Some(a) => a,
        None => {
            let w = cityhall_core::geo::WardCode::parse(ward)
                .map_err(|_| AppError::bad_request("err-fb-ward"))?;
            cat.agency.unit(&w).as_str().to_string()
        }
    };
    if state.db.agency(&chosen).await?.is_some() {
        Ok(chosen)
    } else {
        Ok(state.feedback.escalation.city_desk.clone())
    }
}

fn due(state: &AppState, from: OffsetDateTime, sla: TimeLimit) -> OffsetDateTime {
    state.config.calendar.due(from, sla, &[])
}

fn sms_code() -> String {
    use rand::RngCore;
    let n = rand::rngs::OsRng.next_u32() % 1_000_000;
    format!("{n:06}")
}

async fn send_confirmation(
    state: &AppState,
    tx: &mut Tx,
    now: OffsetDateTime,
    r: &ReportRow,
    secret: &str,
) -> AppResult<()> {
    let base = &state.config.public_url;
    let (channel, to, body) = match (&r.reporter_email, &r.reporter_phone) {
        (Some(e), _) => (
            NotifyChannel::Email,
            e.clone(),
            format!(
                "Xác nhận phản ánh {code}: {base}/feedback/{code}/confirm?token={secret}\n\
                 Confirm report {code}: {base}/feedback/{code}/confirm?token={secret}",
                code = r.code
            ),
        ),
        (None, Some(p)) => (
            NotifyChannel::Sms,
            p.clone(),
            format!(
                "Ma xac nhan phan anh {} / confirmation code: {secret}",
                r.code
            ),
        ),
        _ => return Ok(()),
    };
    Db::enqueue(
        tx,
        now,
        NewMessage {
            channel,
            recipient: &to,
            subject: &format!("Xác nhận phản ánh {} / Confirm your report", r.code),
            body: &body,
        },
    )
    .await?;
    Ok(())
}

/// Who hears of a report's changes: the contact given with it, its followers' accounts,
/// and `also` (the account filing it, not yet a follower). Read before the change's
/// transaction opens: a transaction must never wait for a second pooled connection, or
/// enough concurrent requests hold every connection and wait for each other.
async fn recipients(
    state: &AppState,
    r: &ReportRow,
    also: Option<&str>,
) -> AppResult<Vec<(NotifyChannel, String)>> {
    let mut to: Vec<(NotifyChannel, String)> = Vec::new();
    if let Some(e) = &r.reporter_email {
        to.push((NotifyChannel::Email, e.clone()));
    } else if let Some(p) = &r.reporter_phone {
        to.push((NotifyChannel::Sms, p.clone()));
    }
    let mut users = state.db.followers(&r.id).await?;
    users.extend(also.map(String::from));
    for uid in users {
        if let Some(u) = state.db.user_by_id(&uid).await? {
            if let Some(e) = u.email.filter(|e| !e.is_empty()) {
                to.push((NotifyChannel::Email, e));
            } else if let Some(p) = u.phone.filter(|p| !p.is_empty()) {
                to.push((NotifyChannel::Sms, p));
            }
        }
    }
    to.sort_by(|a, b| a.1.cmp(&b.1));
    to.dedup_by(|a, b| a.1 == b.1);
    Ok(to)
}

/// Tells the reporter and every follower (`to`, from [`recipients`]) where the report is now.
async fn notify_reporter(
    state: &AppState,
    tx: &mut Tx,
    now: OffsetDateTime,
    r: &ReportRow,
    to: &[(NotifyChannel, String)],
) -> AppResult<()> {
    let (vi, en) = status_names(&r.status);
    let subject = format!("Phản ánh {}: {vi} / {en}", r.code);
    let mut body = format!(
        "Phản ánh {code} — {vi}.\nReport {code} — {en}.",
        code = r.code
    );
    if let Some(n) = &r.public_note {
        body.push_str(&format!("\n{n}"));
    }
    body.push_str(&format!(
        "\n{}/feedback/{}",
        state.config.public_url, r.code
    ));
    for (channel, recipient) in to {
        Db::enqueue(
            tx,
            now,
            NewMessage {
                channel: *channel,
                recipient,
                subject: &subject,
                body: &body,
            },
        )
        .await?;
    }
    Ok(())
}

/// A status's name in both languages (for messages that leave the site).
pub fn status_names(s: &str) -> (&'static str, &'static str) {
    match s {
        "unconfirmed" => ("Chờ xác nhận", "Awaiting confirmation"),
        "open" => ("Đã tiếp nhận", "Received"),
        "in_progress" => ("Đang xử lý", "In progress"),
        "resolved" => ("Đã xử lý xong", "Resolved"),
        "closed" => ("Đã đóng", "Closed"),
        "rejected" => ("Không thuộc thẩm quyền / từ chối", "Rejected"),
        "duplicate" => ("Trùng phản ánh khác", "Duplicate"),
        _ => ("", ""),
    }
}

/// Who acts on a report.
#[derive(Debug, Clone)]
pub struct Who {
    pub user_id: String,
    pub actor: Actor,
    /// Units the acting staff member belongs to (officer or supervisor).
    pub agencies: Vec<String>,
}

/// An action as asked for.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ReportAction {
    pub action: String,
    #[serde(default)]
    pub note: Option<String>,
    /// Transfer: the unit to send it to.
    #[serde(default)]
    pub agency: Option<String>,
    /// Duplicate: the code of the earlier report.
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// Assign: the officer's username (default: the one acting).
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub rating: Option<i32>,
    #[serde(default)]
    pub row_version: Option<i32>,
    /// Confirm: the e-mailed token or the SMS code.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    pub photos: Vec<Vec<u8>>,
}

fn field_err(field: &str, key: &'static str) -> AppError {
    let mut e = AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_action", key);
    e.info.fields.push((field.into(), key.into()));
    e
}

fn conflict(key: &'static str) -> AppError {
    AppError::new(StatusCode::CONFLICT, "conflict", key)
}

/// Whether the reporter may still reopen a resolved report.
pub fn within_window(state: &AppState, r: &ReportRow, now: OffsetDateTime) -> bool {
    r.resolved_at
        .is_some_and(|t| now - from_micros(t) <= time::Duration::days(state.feedback.reopen_days))
}

/// Applies one action to a report.
pub async fn act(
    state: &AppState,
    now: OffsetDateTime,
    who: &Who,
    code: &str,
    req: &ReportAction,
) -> AppResult<ReportRow> {
    let mut r = state.db.report_by_code(code).await?;
    let action =
        Action::parse(&req.action).ok_or_else(|| AppError::bad_request("err-action-unknown"))?;
    match who.actor {
        Actor::Unit if who.agencies.contains(&r.agency_code) => {}
        Actor::Reporter
            if action == Action::Confirm
                || r.reporter_id.as_deref() == Some(who.user_id.as_str()) => {}
        Actor::System => {}
        _ => return Err(AppError::forbidden()),
    }
    let from = Status::parse(&r.status)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown status")))?;
    let to =
        decide(from, action, who.actor, within_window(state, &r, now)).map_err(|e| match e {
            Refusal::WrongState => conflict("err-fb-state"),
            Refusal::WrongActor => AppError::forbidden(),
            Refusal::WindowPassed => conflict("err-fb-window"),
        })?;
    if let Some(v) = req.row_version {
        if v != r.row_version {
            return Err(conflict("err-fb-conflict"));
        }
    }
    let expected = r.row_version;
    let at = micros(now);
    let note = req
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(4000).collect::<String>());
    let mut data = serde_json::Map::new();
    let mut photos = Vec::new();
    match action {
        Action::Confirm => {
            let ok = r.confirm_attempts < 5
                && req
                    .secret
                    .as_deref()
                    .map(|s| hash_token(s.trim()))
                    .is_some_and(|h| Some(&h) == r.confirm_hash.as_ref());
            if !ok {
                // Count the failed try (so guessing a code ends), and say so.
                let mut tx = state.db.begin().await?;
                let mut bad = r.clone();
                bad.confirm_attempts += 1;
                let _ = Db::update_report(&mut tx, &bad, expected).await;
                tx.commit().await?;
                return Err(field_err("secret", "err-fb-confirm"));
            }
            r.confirm_hash = None;
            r.confirmed_at = Some(at);
            let cat = state
                .feedback
                .category(&r.category_code)
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("category gone")))?;
            r.due_at = Some(micros(due(state, now, cat.sla)));
        }
        Action::Assign => {
            let uid = match req
                .assignee
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
            {
                None => who.user_id.clone(),
                Some(name) => {
                    let u = state
                        .db
                        .user_by_login(name)
                        .await?
                        .filter(|u| !u.disabled)
                        .ok_or_else(|| field_err("assignee", "err-action-assignee-unknown"))?;
                    let roles = state.db.roles_of(&u.id).await?;
                    if !roles.iter().any(|x| {
                        (x.role == "officer" || x.role == "supervisor")
                            && x.agency_code == r.agency_code
                    }) {
                        return Err(field_err("assignee", "err-action-assignee-unknown"));
                    }
                    data.insert("assignee".into(), name.into());
                    u.id
                }
            };
            r.assigned_to = Some(uid);
        }
        Action::Transfer => {
            use cityhall_db::GeoStore;
            let target = req.agency.as_deref().map(str::trim).unwrap_or("");
            if note.is_none() {
                return Err(field_err("note", "err-action-reason"));
            }
            if target == r.agency_code || state.db.agency(target).await?.is_none() {
                return Err(field_err("agency", "err-fb-agency"));
            }
            data.insert("from_unit".into(), r.agency_code.clone().into());
            data.insert("to_unit".into(), target.into());
            r.agency_code = target.to_string();
            r.assigned_to = None;
            r.escalation_level = 0;
        }
        Action::Reject => {
            if note.is_none() {
                return Err(field_err("note", "err-action-reason"));
            }
            r.public_note = note.clone();
            r.closed_at = Some(at);
        }
        Action::MarkDuplicate => {
            let of = req.duplicate_of.as_deref().map(str::trim).unwrap_or("");
            let original = match state.db.report_by_code(of).await {
                Ok(o)
                    if o.id != r.id && Status::parse(&o.status).is_some_and(Status::is_public) =>
                {
                    o
                }
                _ => return Err(field_err("duplicate_of", "err-fb-duplicate")),
            };
            r.duplicate_of = Some(original.code.clone());
            r.closed_at = Some(at);
            data.insert("of".into(), original.code.clone().into());
        }
        Action::Note => {
            if note.is_none() {
                return Err(field_err("note", "err-fb-note"));
            }
        }
        Action::Resolve => {
            if note.is_none() {
                return Err(field_err("note", "err-fb-resolution"));
            }
            if req.photos.len() > MAX_PHOTOS {
                return Err(field_err("photos", "err-fb-photos-many"));
            }
            for p in &req.photos {
                if p.len() > MAX_PHOTO_BYTES {
                    return Err(field_err("photos", "err-fb-photo-size"));
                }
                photos.push(photo::strip(p).map_err(|_| field_err("photos", "err-fb-photo-type"))?);
            }
            r.public_note = note.clone();
            r.resolved_at = Some(at);
        }
        Action::Accept | Action::Close => {
            r.closed_at = Some(at);
        }
        Action::Reopen => {
            if note.is_none() {
                return Err(field_err("note", "err-fb-reopen"));
            }
            r.reopen_count += 1;
            r.resolved_at = None;
            r.public_note = None;
        }
        Action::Rate => {
            let n = req.rating.filter(|n| (1..=5).contains(n));
            let Some(n) = n else {
                return Err(field_err("rating", "err-rating"));
            };
            if r.rating.is_some() {
                return Err(conflict("err-fb-rated"));
            }
            r.rating = Some(n);
            r.rating_comment = note.clone();
            r.rated_at = Some(at);
        }
        Action::Escalate => {
            r.escalation_level += 1;
            r.escalated_at = Some(at);
            data.insert("level".into(), r.escalation_level.into());
            if r.escalation_level >= 2 {
                let desk = state.feedback.escalation.city_desk.clone();
                if desk != r.agency_code {
                    data.insert("from_unit".into(), r.agency_code.clone().into());
                    data.insert("to_unit".into(), desk.clone().into());
                    r.agency_code = desk;
                    r.assigned_to = None;
                }
            }
        }
    }
    r.status = to.as_str().into();
    r.updated_at = at;
    // Who hears of it, read before the transaction (see `recipients`).
    let tells = to != from || matches!(action, Action::Transfer | Action::Escalate);
    let (readers, supervisors) = if !tells {
        (Vec::new(), Vec::new())
    } else if action == Action::Escalate {
        let people = state
            .db
            .users_with_role("supervisor", &r.agency_code)
            .await?;
        (Vec::new(), people)
    } else if action.is_internal() {
        (Vec::new(), Vec::new())
    } else {
        (recipients(state, &r, None).await?, Vec::new())
    };
    let mut tx = state.db.begin().await?;
    Db::update_report(&mut tx, &r, expected)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => conflict("err-fb-conflict"),
            e => e.into(),
        })?;
    r.row_version = expected + 1;
    for (i, (bytes, kind)) in photos.iter().enumerate() {
        let hash = state.blobs.put(&mut tx, now, bytes, kind.mime()).await?;
        Db::add_photo(
            &mut tx,
            &PhotoRow {
                id: new_id(),
                report_id: r.id.clone(),
                stage: "resolution".into(),
                blob_hash: hash,
                content_type: kind.mime().into(),
                size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                position: i32::try_from(i).unwrap_or(0),
                added_at: at,
            },
        )
        .await?;
    }
    let kind = match who.actor {
        Actor::Unit => "unit",
        Actor::Reporter => "reporter",
        Actor::System => "system",
    };
    Db::add_report_event(
        &mut tx,
        &ReportEventRow {
            id: new_id(),
            report_id: r.id.clone(),
            at,
            actor_id: Some(who.user_id.clone()),
            actor_kind: kind.into(),
            action: action.as_str().into(),
            from_status: Some(from.as_str().into()),
            to_status: r.status.clone(),
            note: if action == Action::Rate {
                None
            } else {
                note.clone()
            },
            internal: action.is_internal(),
            data: (!data.is_empty()).then(|| serde_json::Value::Object(data.clone()).to_string()),
        },
    )
    .await?;
    Db::record(
        &mut tx,
        now,
        NewEntry {
            actor: &who.user_id,
            action: &format!("report.{}", action.as_str()),
            object_type: "report",
            object_id: code,
            subject_user_id: r.reporter_id.as_deref(),
            detail: serde_json::json!({"from": from.as_str(), "to": r.status, "data": data}),
        },
    )
    .await?;
    if tells {
        if !action.is_internal() && action != Action::Escalate {
            notify_reporter(state, &mut tx, now, &r, &readers).await?;
        }
        if action == Action::Escalate {
            notify_escalation(state, &mut tx, now, &r, supervisors).await?;
        }
    }
    tx.commit().await?;
    Ok(r)
}

/// Tells the unit's supervisors (level 1) or the city desk's (level 2) that a report is late.
async fn notify_escalation(
    state: &AppState,
    tx: &mut Tx,
    now: OffsetDateTime,
    r: &ReportRow,
    people: Vec<cityhall_db::identity::User>,
) -> AppResult<()> {
    let subject = format!("Phản ánh {} quá hạn / Report overdue", r.code);
    let body = format!(
        "Phản ánh {code} đã quá hạn xử lý (cấp {lvl}).\nReport {code} is overdue (level {lvl}).\n{}/desk/feedback/{code}",
        state.config.public_url,
        code = r.code,
        lvl = r.escalation_level
    );
    for u in people {
        if let Some(e) = u.email.filter(|e| !e.is_empty()) {
            Db::enqueue(
                tx,
                now,
                NewMessage {
                    channel: NotifyChannel::Email,
                    recipient: &e,
                    subject: &subject,
                    body: &body,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// One pass of the escalation and closing job: overdue reports move up a level (at most one
/// level a pass), and resolved reports whose reopen window passed are closed. Safe on
/// several replicas: a report another replica just moved is a conflict, skipped.
pub async fn sweep(state: &AppState, now: OffsetDateTime) -> AppResult<(usize, usize)> {
    let esc = &state.feedback.escalation;
    let cal = &state.config.calendar;
    let system = Who {
        user_id: "system".into(),
        actor: Actor::System,
        agencies: vec![],
    };
    let mut escalated = 0;
    for r in state.db.overdue(micros(now), 2, 500).await? {
        let Some(due) = r.due_at else { continue };
        let want = i32::from(esc.level(cal, from_micros(due), now));
        if want > r.escalation_level {
            let req = ReportAction {
                action: "escalate".into(),
                row_version: Some(r.row_version),
                ..Default::default()
            };
            if act(state, now, &system, &r.code, &req).await.is_ok() {
                escalated += 1;
            }
        }
    }
    let mut closed = 0;
    let before = micros(now - time::Duration::days(state.feedback.reopen_days));
    for r in state.db.resolved_before(before, 500).await? {
        let req = ReportAction {
            action: "close".into(),
            row_version: Some(r.row_version),
            ..Default::default()
        };
        if act(state, now, &system, &r.code, &req).await.is_ok() {
            closed += 1;
        }
    }
    Ok((escalated, closed))
}

/// Parses Open311-style answers (`attribute[code]`, `attribute[code][]`) from form pairs.
pub fn answers_from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> RawAnswers {
    let mut out: RawAnswers = BTreeMap::new();
    for (k, v) in pairs {
        let code = k
            .strip_prefix("attribute[")
            .map(|rest| rest.trim_end_matches("[]").trim_end_matches(']'));
        if let Some(code) = code.filter(|c| !c.is_empty()) {
            out.entry(code.to_string()).or_default().push(v.to_string());
        }
    }
    out
}
