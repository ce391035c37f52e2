//! Identity pages: sign up, sign in (with throttling and the TOTP second factor), sign out,
//! password reset, the account page with "who looked at my data", the staff desk's identity
//! verification, and the admin pages for agencies and users.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use cityhall_core::identity::{
    check_new_password, Contact, FullName, NationalId, PhoneNumber, Role, Username,
};
use cityhall_core::text::fold;
use cityhall_db::identity::{NewUser, Throttle, User};
use cityhall_db::notify::{Channel, NewMessage};
use cityhall_db::{from_micros, AuditStore, GeoStore, IdentityStore, StoreError};
use rand::Rng;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::auth::{
    self, hash_password, hash_token, keyed_hash, random_token, totp, verify_password, Admin,
    Auditor, CsrfForm, CurrentSession, Officer, Signed, Staff,
};
use crate::error::{AppError, AppResult};
use crate::i18n::Tr;
use crate::pages::{render, render_status, PageCtx};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/mfa", get(mfa_page).post(mfa))
        .route("/logout", post(logout))
        .route("/signup", get(signup_page).post(signup))
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route("/password/reset", get(forgot_page).post(reset))
        .route("/account", get(account))
        .route("/account/totp", post(totp_start))
        .route("/account/totp/confirm", post(totp_confirm))
        .route("/account/password", post(change_password))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/staff", get(staff))
        .route("/staff/verify-identity", post(verify_identity))
        .route("/admin/agencies", get(admin_agencies))
        .route("/admin/users", get(admin_users).post(admin_create_user))
        .route("/admin/users/{id}/{action}", post(admin_set_disabled))
        .route("/admin/roles", post(admin_roles))
        .route("/audit", get(audit_page))
}

/// The demo accounts listed on the sign-in page in demo mode.
pub const DEMO_ACCOUNTS: &[(&str, &str)] = &[
    (
        "citizen1",
        "Công dân, Phường Sài Gòn / resident, Sai Gon Ward",
    ),
    (
        "citizen2",
        "Công dân, Phường Bến Thành / resident, Ben Thanh Ward",
    ),
    (
        "officer.tuphap",
        "Cán bộ Sở Tư pháp / officer, Department of Justice",
    ),
    (
        "officer.phuongsaigon",
        "Cán bộ UBND Phường Sài Gòn / officer, Sai Gon Ward",
    ),
    (
        "officer.phuongbenthanh",
        "Cán bộ UBND Phường Bến Thành / officer, Ben Thanh Ward",
    ),
    ("admin", "Quản trị thành phố / city administrator"),
    ("auditor", "Kiểm toán viên / auditor"),
    (
        "operator",
        "Điện thoại viên tổng đài 1022 / 1022 hotline operator",
    ),
    (
        "supervisor.phuongsaigon",
        "Lãnh đạo UBND Phường Sài Gòn / supervisor, Sai Gon Ward",
    ),
    (
        "publisher",
        "Người công bố dữ liệu Sở Xây dựng / open-data publisher, Department of Construction",
    ),
];

/// Normalises what a person types to sign in: email lowercased, phone to 0xxxxxxxxx.
pub fn normalize_login(s: &str) -> String {
    let s = s.trim();
    if s.contains('@') {
        return s.to_lowercase();
    }
    if let Ok(p) = PhoneNumber::parse(s) {
        return p.as_str().to_string();
    }
    s.to_lowercase()
}

fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        auth::SESSION_COOKIE,
        state.config.session_ttl_secs
    ))
    .expect("cookie is ASCII")
}

fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        auth::SESSION_COOKIE
    ))
    .expect("cookie is ASCII")
}

fn safe_next(next: &str) -> &str {
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.starts_with("/login")
    {
        next
    } else {
        "/account"
    }
}

fn local_time(us: i64) -> String {
    let t = from_micros(us).to_offset(cityhall_core::calendar::VN_OFFSET);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}:{:02}",
        t.day(),
        t.month() as u8,
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Argon2 is deliberately slow: hash on the blocking pool, not on the async workers.
async fn hash_password_off_thread(password: &str) -> AppResult<String> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    p: &'a PageCtx,
    error: Option<String>,
    notice: Option<String>,
    username: String,
    next: String,
    demo_accounts: &'static [(&'static str, &'static str)],
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    notice: String,
}

async fn login_page(p: PageCtx, Query(q): Query<LoginQuery>) -> AppResult<Response> {
    let notice = match q.notice.as_str() {
        "reset" => Some(p.t("reset-done")),
        "password" => Some(p.t("account-password-changed")),
        _ => None,
    };
    render(&LoginPage {
        p: &p,
        error: None,
        notice,
        username: String::new(),
        next: q.next,
        demo_accounts: DEMO_ACCOUNTS,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Why a password sign-in did not produce a session.
pub enum LoginRefusal {
    Wrong,
    Locked(i64),
    Disabled,
}

impl LoginRefusal {
    pub fn message(&self, tr: &Tr) -> String {
        match self {
            LoginRefusal::Wrong => tr.t("login-failed"),
            LoginRefusal::Locked(until) => {
                tr.t_with("login-locked", &[("time", &local_time(*until))])
            }
            LoginRefusal::Disabled => tr.t("login-disabled"),
        }
    }
}

/// Checks a username and password against the throttle and the stored hash. Shared by the
/// sign-in page and the API token endpoint.
pub async fn check_password(
    state: &AppState,
    login: &str,
    password: &str,
) -> AppResult<Result<User, LoginRefusal>> {
    let now = OffsetDateTime::now_utc();
    let key = normalize_login(login);
    if let Throttle::Locked { until } = state.db.throttle_state(now, &key).await? {
        return Ok(Err(LoginRefusal::Locked(until)));
    }
    let user = state.db.user_by_login(&key).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let pw = password.to_string();
    // Argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&pw, &h),
        None => {
            verify_password(&pw, auth::dummy_hash());
            false
        }
    })
    .await
    .map_err(AppError::internal)?;
    match (ok, user) {
        (true, Some(u)) if u.disabled => Ok(Err(LoginRefusal::Disabled)),
        (true, Some(u)) => {
            state.db.throttle_clear(&key).await?;
            Ok(Ok(u))
        }
        _ => match state.db.throttle_failure(now, &key).await? {
            Throttle::Locked { until } => Ok(Err(LoginRefusal::Locked(until))),
            Throttle::Open { .. } => Ok(Err(LoginRefusal::Wrong)),
        },
    }
}

async fn login(
    State(state): State<AppState>,
    p: PageCtx,
    CsrfForm(f): CsrfForm<LoginForm>,
) -> AppResult<Response> {
    match check_password(&state, &f.username, &f.password).await? {
        Err(refusal) => {
            let page = LoginPage {
                error: Some(refusal.message(&p.tr)),
                notice: None,
                username: f.username.clone(),
                next: f.next.clone(),
                demo_accounts: DEMO_ACCOUNTS,
                p: &p,
            };
            render_status(StatusCode::UNAUTHORIZED, &page)
        }
        Ok(user) => {
            let token = random_token();
            let pending = user.totp_enabled;
            state
                .db
                .create_session(
                    OffsetDateTime::now_utc(),
                    &hash_token(&token),
                    &user.id,
                    state.config.session_ttl_secs,
                    pending,
                )
                .await?;
            let to = if pending {
                format!(
                    "/login/mfa?next={}",
                    serde_urlencoded::to_string([("", safe_next(&f.next))])
                        .unwrap_or_default()
                        .trim_start_matches('=')
                )
            } else {
                safe_next(&f.next).to_string()
            };
            let mut res = Redirect::to(&to).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&state, &token));
            Ok(res)
        }
    }
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage<'a> {
    p: &'a PageCtx,
    error: Option<String>,
}

async fn mfa_page(p: PageCtx, Extension(s): Extension<CurrentSession>) -> AppResult<Response> {
    match s.info {
        Some(i) if i.mfa_pending => render(&MfaPage { p: &p, error: None }),
        Some(_) => Ok(Redirect::to("/account").into_response()),
        None => Ok(Redirect::to("/login").into_response()),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn mfa(
    State(state): State<AppState>,
    p: PageCtx,
    Extension(s): Extension<CurrentSession>,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> AppResult<Response> {
    let (Some(info), Some(th)) = (s.info, s.token_hash) else {
        return Ok(Redirect::to("/login").into_response());
    };
    if !info.mfa_pending {
        return Ok(Redirect::to("/account").into_response());
    }
    let now = OffsetDateTime::now_utc();
    let key = format!("mfa:{}", info.user.id);
    if let Throttle::Locked { until } = state.db.throttle_state(now, &key).await? {
        let error = Some(LoginRefusal::Locked(until).message(&p.tr));
        return render_status(StatusCode::TOO_MANY_REQUESTS, &MfaPage { p: &p, error });
    }
    let secret = info.user.totp_secret.clone().unwrap_or_default();
    if totp::check(&secret, &f.code, now.unix_timestamp()) {
        state.db.throttle_clear(&key).await?;
        state.db.complete_mfa(&th).await?;
        return Ok(Redirect::to("/account").into_response());
    }
    let error = match state.db.throttle_failure(now, &key).await? {
        Throttle::Locked { until } => LoginRefusal::Locked(until).message(&p.tr),
        Throttle::Open { .. } => p.t("mfa-failed"),
    };
    render_status(
        StatusCode::UNAUTHORIZED,
        &MfaPage {
            p: &p,
            error: Some(error),
        },
    )
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(
    State(state): State<AppState>,
    Extension(s): Extension<CurrentSession>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    if let (Some(th), false) = (s.token_hash, s.bearer) {
        state.db.delete_session(&th).await?;
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(res)
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    p: &'a PageCtx,
    errors: Vec<(String, String)>,
    contact: String,
    full_name: String,
    national_id: String,
}

async fn signup_page(p: PageCtx) -> AppResult<Response> {
    render(&SignupPage {
        p: &p,
        errors: vec![],
        contact: String::new(),
        full_name: String::new(),
        national_id: String::new(),
    })
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    national_id: String,
}

async fn signup(
    State(state): State<AppState>,
    p: PageCtx,
    CsrfForm(f): CsrfForm<SignupForm>,
) -> AppResult<Response> {
    let mut errors: Vec<(String, &'static str)> = vec![];
    let contact = Contact::parse(&f.contact)
        .map_err(|e| errors.push(("contact".into(), e.key)))
        .ok();
    let name = FullName::parse(&f.full_name)
        .map_err(|e| errors.push(("full_name".into(), e.key)))
        .ok();
    if let Err(e) = check_new_password(&f.password) {
        errors.push(("password".into(), e.key));
    } else if f.password != f.password_confirm {
        errors.push(("password_confirm".into(), "err-password-mismatch"));
    }
    let nid = if f.national_id.trim().is_empty() {
        None
    } else {
        NationalId::parse(&f.national_id)
            .map_err(|e| errors.push(("national_id".into(), e.key)))
            .ok()
    };
    let nid_hash = nid
        .as_ref()
        .map(|n| keyed_hash(&state.config.secret_key, n.as_str()));
    if let Some(c) = &contact {
        if state.db.user_by_login(c.as_str()).await?.is_some() {
            errors.push(("contact".into(), "err-contact-taken"));
        }
    }
    if let Some(h) = &nid_hash {
        if state.db.user_by_national_id_hash(h).await?.is_some() {
            errors.push(("national_id".into(), "err-national-id-taken"));
        }
    }
    let (Some(contact), Some(name), true) = (contact, name, errors.is_empty()) else {
        let errors = errors.into_iter().map(|(f, k)| (f, p.t(k))).collect();
        let page = SignupPage {
            errors,
            contact: f.contact.clone(),
            full_name: f.full_name.clone(),
            national_id: f.national_id.clone(),
            p: &p,
        };
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let hash = hash_password_off_thread(&f.password).await?;
    let (email, phone) = match &contact {
        Contact::Email(e) => (Some(e.as_str()), None),
        Contact::Phone(ph) => (None, Some(ph.as_str())),
    };
    let hint = nid.as_ref().map(|n| n.hint());
    let now = OffsetDateTime::now_utc();
    let created = state
        .db
        .create_user(
            now,
            "signup",
            NewUser {
                username: contact.as_str(),
                full_name: name.as_str(),
                email,
                phone,
                password_hash: &hash,
                national_id_hash: nid_hash.as_deref(),
                national_id_hint: hint.as_deref(),
                assurance: if nid.is_some() { "claimed" } else { "none" },
                ward_code: None,
                roles: vec![(Role::Citizen, None)],
            },
        )
        .await;
    let id = match created {
        Ok(id) => id,
        // Two submits of the same form: the second finds the account taken.
        Err(StoreError::Conflict(_)) => {
            let page = SignupPage {
                errors: vec![("contact".into(), p.t("err-contact-taken"))],
                contact: f.contact.clone(),
                full_name: f.full_name.clone(),
                national_id: f.national_id.clone(),
                p: &p,
            };
            return render_status(StatusCode::CONFLICT, &page);
        }
        Err(e) => return Err(e.into()),
    };
    let token = random_token();
    state
        .db
        .create_session(
            now,
            &hash_token(&token),
            &id,
            state.config.session_ttl_secs,
            false,
        )
        .await?;
    let mut res = Redirect::to("/account?notice=welcome").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, session_cookie(&state, &token));
    Ok(res)
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    p: &'a PageCtx,
    notice: Option<String>,
    error: Option<String>,
}

async fn forgot_page(p: PageCtx) -> AppResult<Response> {
    render(&ForgotPage {
        p: &p,
        notice: None,
        error: None,
    })
}

#[derive(Deserialize)]
struct ForgotForm {
    login: String,
}

async fn forgot(
    State(state): State<AppState>,
    p: PageCtx,
    CsrfForm(f): CsrfForm<ForgotForm>,
) -> AppResult<Response> {
    let login = normalize_login(&f.login);
    // The answer is the same whether or not the account exists.
    if let Some(u) = state.db.user_by_login(&login).await? {
        let channel = match (&u.email, &u.phone) {
            (Some(e), _) => Some((Channel::Email, e.clone())),
            (None, Some(ph)) => PhoneNumber::parse(ph)
                .ok()
                .map(|ph| (Channel::Sms, ph.e164())),
            _ => None,
        };
        // At most a few codes per account per window, so the form cannot be used to flood
        // someone's phone; the page answers the same either way.
        let key = format!("reset:{}", u.id);
        let now = OffsetDateTime::now_utc();
        let flooded = matches!(
            state.db.throttle_state(now, &key).await?,
            Throttle::Locked { .. }
        ) || matches!(
            state.db.throttle_failure(now, &key).await?,
            Throttle::Locked { .. }
        );
        if let (Some((channel, to)), false, false) = (channel, u.disabled, flooded) {
            let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
            let body = p.tr.t_with("reset-message-body", &[("code", &code)]);
            let subject = p.t("reset-message-subject");
            state
                .db
                .create_password_reset(
                    OffsetDateTime::now_utc(),
                    &u.id,
                    &keyed_hash(&state.config.secret_key, &format!("{}:{code}", u.id)),
                    15 * 60,
                    NewMessage {
                        channel,
                        recipient: &to,
                        subject: &subject,
                        body: &body,
                    },
                )
                .await?;
        }
    }
    render(&ForgotPage {
        notice: Some(p.t("forgot-sent")),
        error: None,
        p: &p,
    })
}

#[derive(Deserialize)]
struct ResetForm {
    login: String,
    code: String,
    new_password: String,
}

async fn reset(
    State(state): State<AppState>,
    p: PageCtx,
    CsrfForm(f): CsrfForm<ResetForm>,
) -> AppResult<Response> {
    if let Err(e) = check_new_password(&f.new_password) {
        let page = ForgotPage {
            notice: None,
            error: Some(p.t(e.key)),
            p: &p,
        };
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let user = state.db.user_by_login(&normalize_login(&f.login)).await?;
    let ok = match user {
        Some(u) => {
            let hash = hash_password_off_thread(&f.new_password).await?;
            let code_hash = keyed_hash(
                &state.config.secret_key,
                &format!("{}:{}", u.id, f.code.trim()),
            );
            state
                .db
                .use_password_reset(OffsetDateTime::now_utc(), &u.id, &code_hash, &hash)
                .await?
        }
        None => false,
    };
    if ok {
        Ok(Redirect::to("/login?notice=reset").into_response())
    } else {
        let page = ForgotPage {
            notice: None,
            error: Some(p.t("reset-failed")),
            p: &p,
        };
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    p: &'a PageCtx,
    user: &'a User,
    contact: String,
    roles: String,
    assurance_key: String,
    access: Vec<(String, String, String)>,
    is_staff: bool,
    totp_secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    /// Offer verification through the identity provider.
    oidc: bool,
    /// (id, name, created, expires, revoked)
    tokens: Vec<(String, String, String, String, bool)>,
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

fn roles_text(p: &PageCtx, roles: &[cityhall_db::identity::RoleGrant]) -> String {
    roles
        .iter()
        .map(|r| {
            let name = p.role_name(&r.role);
            if r.agency_code.is_empty() {
                name
            } else {
                format!("{name} ({})", r.agency_code)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn account(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Query(q): Query<NoticeQuery>,
) -> AppResult<Response> {
    account_view(
        &state,
        &p,
        &s,
        match q.notice.as_str() {
            "welcome" => Some(p.t("account-created")),
            "totp" => Some(p.t("account-totp-enabled")),
            "verified" => Some(p.t("account-verified-notice")),
            "token" => Some(p.t("account-token-revoked")),
            _ => None,
        },
        None,
    )
    .await
}

async fn account_view(
    state: &AppState,
    p: &PageCtx,
    s: &Signed,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<Response> {
    let user = state
        .db
        .user_by_id(s.user_id())
        .await?
        .ok_or_else(AppError::not_found)?;
    let entries = state.db.entries_for_subject(&user.id, 50).await?;
    let access = entries
        .into_iter()
        .map(|e| {
            let who = if e.actor == user.id {
                user.username.clone()
            } else {
                e.actor
            };
            (local_time(e.at), who, e.action)
        })
        .collect();
    let contact = [user.email.clone(), user.phone.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let totp_secret = if user.totp_enabled {
        None
    } else {
        user.totp_secret.clone()
    };
    render(&AccountPage {
        p,
        contact,
        roles: roles_text(p, &s.0.roles),
        assurance_key: format!("assurance-{}", user.assurance),
        access,
        is_staff: s
            .0
            .roles
            .iter()
            .any(|r| r.role().is_some_and(|r| r.is_staff())),
        totp_secret,
        notice,
        error,
        oidc: state.config.oidc.is_some() && user.assurance != "verified",
        tokens: state
            .db
            .api_tokens(&user.id)
            .await?
            .into_iter()
            .map(|t| {
                (
                    t.id,
                    t.name,
                    local_time(t.created_at),
                    t.expires_at.map(local_time).unwrap_or_default(),
                    t.revoked_at.is_some(),
                )
            })
            .collect(),
        user: &user,
    })
}

async fn totp_start(
    State(state): State<AppState>,
    s: Signed,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    if !s.0.user.totp_enabled {
        state
            .db
            .set_totp(
                OffsetDateTime::now_utc(),
                s.user_id(),
                Some(&totp::new_secret()),
                false,
            )
            .await?;
    }
    Ok(Redirect::to("/account").into_response())
}

async fn totp_confirm(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> AppResult<Response> {
    let now = OffsetDateTime::now_utc();
    let secret = s.0.user.totp_secret.clone().unwrap_or_default();
    if !secret.is_empty() && totp::check(&secret, &f.code, now.unix_timestamp()) {
        state
            .db
            .set_totp(now, s.user_id(), Some(&secret), true)
            .await?;
        return Ok(Redirect::to("/account?notice=totp").into_response());
    }
    let mut res = account_view(&state, &p, &s, None, Some(p.t("mfa-failed"))).await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

async fn revoke_token(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    if !state
        .db
        .revoke_api_token(OffsetDateTime::now_utc(), s.user_id(), &id)
        .await?
    {
        return Err(AppError::not_found());
    }
    Ok(Redirect::to("/account?notice=token").into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    CsrfForm(f): CsrfForm<PasswordForm>,
) -> AppResult<Response> {
    let stored = s.0.user.password_hash.clone();
    let cur = f.current_password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&cur, &stored))
        .await
        .map_err(AppError::internal)?;
    let problem = if !ok {
        Some("err-password-current")
    } else {
        check_new_password(&f.new_password).err().map(|e| e.key)
    };
    if let Some(key) = problem {
        let mut res = account_view(&state, &p, &s, None, Some(p.t(key))).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let hash = hash_password_off_thread(&f.new_password).await?;
    state
        .db
        .set_password(OffsetDateTime::now_utc(), s.username(), s.user_id(), &hash)
        .await?;
    let mut res = Redirect::to("/login?notice=password").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(res)
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage<'a> {
    p: &'a PageCtx,
    agencies: Vec<(String, String)>,
    is_officer: bool,
    notice: Option<String>,
    errors: Vec<String>,
}

async fn staff_view(
    state: &AppState,
    p: &PageCtx,
    s: &Signed,
    notice: Option<String>,
    errors: Vec<String>,
) -> AppResult<Response> {
    let mut agencies = vec![];
    for r in &s.0.roles {
        if r.agency_code.is_empty() {
            continue;
        }
        if let Some(a) = state.db.agency(&r.agency_code).await? {
            let name = if p.tr.lang == crate::i18n::Lang::En {
                a.name_en
            } else {
                a.name
            };
            if !agencies.iter().any(|(c, _)| c == &a.code) {
                agencies.push((a.code, name));
            }
        }
    }
    let page = StaffPage {
        p,
        agencies,
        is_officer: !s.agencies(Role::Officer).is_empty(),
        notice,
        errors: errors.clone(),
    };
    if errors.is_empty() {
        render(&page)
    } else {
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    }
}

async fn staff(State(state): State<AppState>, p: PageCtx, Staff(s): Staff) -> AppResult<Response> {
    staff_view(&state, &p, &s, None, vec![]).await
}

#[derive(Deserialize)]
struct VerifyForm {
    username: String,
    national_id: String,
}

async fn verify_identity(
    State(state): State<AppState>,
    p: PageCtx,
    officer: Officer,
    CsrfForm(f): CsrfForm<VerifyForm>,
) -> AppResult<Response> {
    let s = &officer.0;
    let nid = match NationalId::parse(&f.national_id) {
        Ok(n) => n,
        Err(e) => return staff_view(&state, &p, s, None, vec![p.t(e.key)]).await,
    };
    let Some(user) = state
        .db
        .user_by_login(&normalize_login(&f.username))
        .await?
    else {
        return staff_view(&state, &p, s, None, vec![p.t("err-user-not-found")]).await;
    };
    let h = keyed_hash(&state.config.secret_key, nid.as_str());
    if let Some(other) = state.db.user_by_national_id_hash(&h).await? {
        if other.id != user.id {
            return staff_view(&state, &p, s, None, vec![p.t("err-national-id-taken")]).await;
        }
    }
    let how = format!("desk:{}", officer.agencies().join(","));
    state
        .db
        .verify_identity(
            OffsetDateTime::now_utc(),
            s.username(),
            &user.id,
            &h,
            &nid.hint(),
            &how,
        )
        .await?;
    staff_view(
        &state,
        &p,
        s,
        Some(p.t1("staff-verified", "username", &user.username)),
        vec![],
    )
    .await
}

struct AgencyLine {
    code: String,
    name: String,
    area: String,
}

#[derive(Template)]
#[template(path = "admin_agencies.html")]
struct AgenciesPage<'a> {
    p: &'a PageCtx,
    agencies: Vec<AgencyLine>,
    q: String,
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    notice: String,
}

async fn admin_agencies(
    State(state): State<AppState>,
    p: PageCtx,
    _a: Admin,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    let needle = fold(&q.q);
    let units: std::collections::HashMap<String, (String, String)> = state
        .db
        .units()
        .await?
        .into_iter()
        .map(|u| (u.code, (u.name, u.name_en)))
        .collect();
    let en = p.tr.lang == crate::i18n::Lang::En;
    let agencies = state
        .db
        .agencies()
        .await?
        .into_iter()
        .filter(|a| {
            needle.is_empty()
                || fold(&format!("{} {} {}", a.code, a.name, a.name_en)).contains(&needle)
        })
        .map(|a| AgencyLine {
            area: match &a.ward_code {
                None => p.t("admin-city-wide"),
                Some(w) => units
                    .get(w)
                    .map(|(vi, en_)| if en { en_.clone() } else { vi.clone() })
                    .unwrap_or_else(|| w.clone()),
            },
            name: if en { a.name_en } else { a.name },
            code: a.code,
        })
        .collect();
    render(&AgenciesPage {
        p: &p,
        agencies,
        q: q.q,
    })
}

struct UserLine {
    id: String,
    username: String,
    full_name: String,
    roles: String,
    disabled: bool,
    manageable: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage<'a> {
    p: &'a PageCtx,
    users: Vec<UserLine>,
    q: String,
    roles: Vec<(&'static str, String)>,
    notice: Option<String>,
    errors: Vec<String>,
}

fn in_scope(scope: &Option<Vec<String>>, roles: &[cityhall_db::identity::RoleGrant]) -> bool {
    match scope {
        None => true,
        Some(agencies) => roles.iter().any(|r| agencies.contains(&r.agency_code)),
    }
}

async fn users_view(
    state: &AppState,
    p: &PageCtx,
    admin: &Admin,
    q: &str,
    notice: Option<String>,
    errors: Vec<String>,
) -> AppResult<Response> {
    let scope = admin.scope();
    let list = state.db.list_users(q, 200, 0).await?;
    // A list of many people is one access entry, not one per row.
    cityhall_db::audit::record_alone(
        &state.db,
        OffsetDateTime::now_utc(),
        cityhall_db::audit::NewEntry {
            actor: admin.0.username(),
            action: "user.list",
            object_type: "user",
            object_id: "*",
            subject_user_id: None,
            detail: serde_json::json!({"q": q, "rows": list.len()}),
        },
    )
    .await?;
    let users = list
        .into_iter()
        .filter(|(_, roles)| in_scope(&scope, roles))
        .map(|(u, roles)| UserLine {
            manageable: u.id != admin.0.user_id() && (scope.is_none() || in_scope(&scope, &roles)),
            roles: roles_text(p, &roles),
            id: u.id,
            username: u.username,
            full_name: u.full_name,
            disabled: u.disabled,
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .filter(|r| r.is_staff() && (scope.is_none() || r.needs_agency()))
        .map(|r| (r.as_str(), p.role_name(r.as_str())))
        .collect();
    let page = UsersPage {
        p,
        users,
        q: q.to_string(),
        roles,
        notice,
        errors: errors.clone(),
    };
    if errors.is_empty() {
        render(&page)
    } else {
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    }
}

async fn admin_users(
    State(state): State<AppState>,
    p: PageCtx,
    admin: Admin,
    Query(q): Query<SearchQuery>,
) -> AppResult<Response> {
    let notice = match q.notice.as_str() {
        "" => None,
        "saved" => Some(p.t("admin-saved")),
        name => Some(p.t1("admin-created", "username", name)),
    };
    users_view(&state, &p, &admin, &q.q, notice, vec![]).await
}

#[derive(Deserialize)]
struct NewStaffForm {
    username: String,
    full_name: String,
    role: String,
    #[serde(default)]
    agency: String,
    password: String,
}

async fn admin_create_user(
    State(state): State<AppState>,
    p: PageCtx,
    admin: Admin,
    CsrfForm(f): CsrfForm<NewStaffForm>,
) -> AppResult<Response> {
    let mut errors = vec![];
    let username = Username::parse(&f.username)
        .map_err(|e| errors.push(p.t(e.key)))
        .ok();
    let name = FullName::parse(&f.full_name)
        .map_err(|e| errors.push(p.t(e.key)))
        .ok();
    let role = Role::parse(&f.role).ok().filter(|r| r.is_staff());
    if role.is_none() {
        errors.push(p.t("err-role"));
    }
    if let Err(e) = check_new_password(&f.password) {
        errors.push(p.t(e.key));
    }
    let agency = f.agency.trim().to_uppercase();
    let scope = admin.scope();
    if let Some(r) = role {
        if r.needs_agency() {
            if agency.is_empty() {
                errors.push(p.t("err-agency-required"));
            } else if state.db.agency(&agency).await?.is_none() {
                errors.push(p.t("err-agency"));
            } else if scope.as_ref().is_some_and(|s| !s.contains(&agency)) {
                return Err(AppError::forbidden());
            }
        } else if scope.is_some() {
            return Err(AppError::forbidden());
        }
    }
    if let Some(u) = &username {
        if state.db.user_by_login(u.as_str()).await?.is_some() {
            errors.push(p.t("err-username-taken"));
        }
    }
    let (Some(username), Some(name), Some(role), true) = (username, name, role, errors.is_empty())
    else {
        return users_view(&state, &p, &admin, "", None, errors).await;
    };
    let hash = hash_password_off_thread(&f.password).await?;
    let agency_ref = role.needs_agency().then_some(agency.as_str());
    state
        .db
        .create_user(
            OffsetDateTime::now_utc(),
            admin.0.username(),
            NewUser::with_role(username.as_str(), name.as_str(), &hash, role, agency_ref),
        )
        .await?;
    let q = serde_urlencoded::to_string([("notice", username.as_str())]).unwrap_or_default();
    Ok(Redirect::to(&format!("/admin/users?{q}")).into_response())
}

/// Loads a user the admin may manage, or refuses.
async fn managed_user(state: &AppState, admin: &Admin, id: &str) -> AppResult<User> {
    let user = state
        .db
        .user_by_id(id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let roles = state.db.roles_of(id).await?;
    if user.id == admin.0.user_id() || !in_scope(&admin.scope(), &roles) {
        return Err(AppError::forbidden());
    }
    Ok(user)
}

/// `POST /admin/users/{id}/disable` and `/enable`.
async fn admin_set_disabled(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(AppError::not_found()),
    };
    let u = managed_user(&state, &admin, &id).await?;
    state
        .db
        .set_disabled(
            OffsetDateTime::now_utc(),
            admin.0.username(),
            &u.id,
            disabled,
        )
        .await?;
    Ok(Redirect::to("/admin/users?notice=saved").into_response())
}

#[derive(Deserialize)]
struct RoleForm {
    username: String,
    action: String,
    role: String,
    #[serde(default)]
    agency: String,
}

async fn admin_roles(
    State(state): State<AppState>,
    p: PageCtx,
    admin: Admin,
    CsrfForm(f): CsrfForm<RoleForm>,
) -> AppResult<Response> {
    let Some(found) = state
        .db
        .user_by_login(&normalize_login(&f.username))
        .await?
    else {
        return users_view(
            &state,
            &p,
            &admin,
            "",
            None,
            vec![p.t("err-user-not-found")],
        )
        .await;
    };
    let u = managed_user(&state, &admin, &found.id).await?;
    let Ok(role) = Role::parse(&f.role) else {
        return users_view(&state, &p, &admin, "", None, vec![p.t("err-role")]).await;
    };
    let agency = f.agency.trim().to_uppercase();
    let agency = if role.needs_agency() {
        if state.db.agency(&agency).await?.is_none() {
            return users_view(&state, &p, &admin, "", None, vec![p.t("err-agency")]).await;
        }
        Some(agency)
    } else {
        None
    };
    let scope = admin.scope();
    if let Some(s) = &scope {
        if !role.needs_agency() || !agency.as_ref().is_some_and(|a| s.contains(a)) {
            return Err(AppError::forbidden());
        }
    }
    let now = OffsetDateTime::now_utc();
    match f.action.as_str() {
        "grant" => {
            state
                .db
                .grant_role(now, admin.0.username(), &u.id, role, agency.as_deref())
                .await?
        }
        "revoke" => {
            state
                .db
                .revoke_role(now, admin.0.username(), &u.id, role, agency.as_deref())
                .await?
        }
        _ => return Err(AppError::bad_request("error-400")),
    };
    Ok(Redirect::to("/admin/users?notice=saved").into_response())
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    p: &'a PageCtx,
    ok: bool,
    status: String,
    entries: Vec<(String, String, String, String, String)>,
}

async fn audit_page(State(state): State<AppState>, p: PageCtx, _a: Auditor) -> AppResult<Response> {
    let report = state
        .db
        .verify(
            &state.config.audit_key.verifying_key(),
            OffsetDateTime::now_utc(),
        )
        .await?;
    let (ok, status) = match &report.problem {
        None => (
            true,
            p.tr.t_with(
                "audit-verify-ok",
                &[
                    ("sealed", &report.sealed.to_string()),
                    ("checkpoints", &report.checkpoints.to_string()),
                    ("pending", &report.pending.to_string()),
                ],
            ),
        ),
        Some(problem) => (
            false,
            p.tr.t_with("audit-verify-bad", &[("problem", problem)]),
        ),
    };
    let entries = state
        .db
        .recent(100)
        .await?
        .into_iter()
        .map(|e| {
            (
                e.seq.map(|s| s.to_string()).unwrap_or_else(|| "…".into()),
                local_time(e.at),
                e.actor,
                e.action,
                format!("{}:{}", e.object_type, e.object_id),
            )
        })
        .collect();
    render(&AuditPage {
        p: &p,
        ok,
        status,
        entries,
    })
}
