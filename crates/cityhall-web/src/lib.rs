//! cityhall's web edge: one state type, one router per module merged in [`router`], and
//! [`serve`], which the binary and the tests both call with a bound listener.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use cityhall_db::{AuditStore, Db};
use ed25519_dalek::SigningKey;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod api;
pub mod assistant;
pub mod auth;
pub mod catalog;
pub mod dossier;
pub mod error;
pub mod feedback;
pub mod i18n;
pub mod identity;
pub mod notify;
pub mod oidc;
pub mod opendata;
pub mod ops;
pub mod pages;

use error::{info_for_status, ErrorInfo};
use i18n::{Lang, Tr};

/// SMTP relay for email.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub tls: SmtpTls,
}

/// How the connection to the SMTP relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP, for a relay on the same host or network.
    None,
    /// Upgrade with STARTTLS (submission, port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Everything the web layer needs from configuration.
#[derive(Clone)]
pub struct WebConfig {
    pub demo: bool,
    /// Set cookies `Secure` (behind TLS).
    pub secure_cookies: bool,
    pub session_ttl_secs: i64,
    /// Key for the keyed hash of national ID numbers (the same on every replica).
    pub secret_key: [u8; 32],
    /// The city's audit signing key (the same on every replica).
    pub audit_key: SigningKey,
    pub checkpoint_every: i64,
    pub seal_interval: Duration,
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub smtp: Option<SmtpConfig>,
    pub sms_webhook: Option<String>,
    pub outbox_interval: Duration,
    /// External identity provider that can verify a resident's national ID.
    pub oidc: Option<oidc::OidcConfig>,
    /// The working-day calendar (holidays, overrides) for deadlines.
    pub calendar: cityhall_core::calendar::Calendar,
    /// Where attachments are kept.
    pub blobs: cityhall_db::BlobBackend,
    /// The address residents reach this site at (for payment return links); may be empty.
    pub public_url: String,
    /// Payment provider: its name, its payment page, and the shared signing secret.
    pub payment_provider: String,
    pub payment_url: String,
    pub payment_secret: Vec<u8>,
    /// Serve the built-in sandbox provider at `/pay/sandbox`.
    pub payment_sandbox: bool,
    /// Citizen feedback: nearby radius, reopen window, escalation.
    pub feedback: feedback::service::Policy,
}

impl WebConfig {
    /// Settings for tests and examples.
    pub fn for_tests() -> WebConfig {
        WebConfig {
            demo: true,
            secure_cookies: false,
            session_ttl_secs: 8 * 3600,
            secret_key: [42u8; 32],
            audit_key: SigningKey::from_bytes(&[7u8; 32]),
            checkpoint_every: 100,
            seal_interval: Duration::from_millis(200),
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            smtp: None,
            sms_webhook: None,
            outbox_interval: Duration::from_millis(200),
            oidc: None,
            calendar: cityhall_core::calendar::Calendar::default(),
            blobs: cityhall_db::BlobBackend::Database,
            public_url: String::new(),
            payment_provider: "sandbox".into(),
            payment_url: "/pay/sandbox".into(),
            payment_secret: b"sandbox-secret".to_vec(),
            payment_sandbox: true,
            feedback: feedback::service::Policy::default(),
        }
    }
}

pub struct AppInner {
    pub db: Db,
    pub config: WebConfig,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub catalog: catalog::Catalog,
    pub blobs: cityhall_db::Blobs,
    pub feedback: feedback::service::Feedback,
    pub assistant: assistant::Assistant,
    pub opendata: opendata::OpenData,
}

/// The one state type every handler gets.
#[derive(Clone)]
pub struct AppState(pub Arc<AppInner>);

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    pub fn new(db: Db, config: WebConfig) -> AppState {
        let blobs = cityhall_db::Blobs::new(config.blobs.clone());
        let feedback = feedback::service::Feedback::with_policy(&config.feedback);
        AppState(Arc::new(AppInner {
            db,
            config,
            metrics: ops::metrics_handle(),
            catalog: catalog::Catalog::new().expect("the shipped synonyms parse (tested)"),
            blobs,
            feedback,
            assistant: assistant::Assistant::new()
                .expect("the shipped phrase lists parse (tested)"),
            opendata: opendata::OpenData::new().expect("the shipped synonyms parse (tested)"),
        }))
    }
}

/// All routes, with the cross-cutting layers.
pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
               object-src 'none'; frame-ancestors 'none'";
    Router::new()
        .merge(pages::router())
        .merge(identity::router())
        .merge(oidc::router())
        .merge(api::router())
        .merge(catalog::router())
        .merge(dossier::router())
        .merge(feedback::router())
        .merge(assistant::router())
        .merge(opendata::router())
        .merge(ops::router())
        .fallback(|| async { error::AppError::not_found() })
        // Inside `finish`, so their refusals (413, 408) are rendered like every other error.
        // Forms and JSON stay small; the upload routes raise their own limit, up to this.
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.body_limit,
        ))
        .layer(RequestBodyLimitLayer::new(
            state
                .config
                .body_limit
                .max(dossier::MAX_UPLOAD_BYTES * 4 / 3 + 64 * 1024)
                .max(feedback::UPLOAD_LIMIT + 64 * 1024)
                .max(opendata::UPLOAD_LIMIT + 64 * 1024),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .layer(middleware::from_fn(ops::track_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "unmatched".into());
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string();
            tracing::info_span!("request", method = %req.method(), route, request_id = id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .with_state(state)
}

/// Per-request context the `finish` middleware computes once.
#[derive(Clone, Debug)]
pub struct ReqLang(pub Lang);

/// Decides the language, stores it for handlers, remembers `?lang=` in a cookie, issues the
/// CSRF cookie, and renders every error response (ours or the framework's) consistently.
async fn finish(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let query_lang = req
        .uri()
        .query()
        .and_then(|q| url_params(q).find(|(k, _)| k == "lang").map(|(_, v)| v))
        .and_then(|v| Lang::parse(&v));
    let cookie_lang = auth::cookie(req.headers(), "lang").and_then(|v| Lang::parse(&v));
    let lang = query_lang.or(cookie_lang).unwrap_or_default();
    req.extensions_mut().insert(ReqLang(lang));
    let (csrf, new_csrf) = match auth::cookie(req.headers(), auth::CSRF_COOKIE) {
        Some(t) if t.len() >= 32 => (t, false),
        _ => (auth::random_token(), true),
    };
    req.extensions_mut().insert(auth::Csrf(csrf.clone()));
    let is_api = req.uri().path().starts_with("/api/");
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    // Probes, metrics and assets never need to know who is asking: skip the session lookup.
    let path = req.uri().path();
    let anonymous_route =
        path.starts_with("/static/") || matches!(path, "/healthz" | "/readyz" | "/metrics");
    let session = if anonymous_route {
        auth::CurrentSession::default()
    } else {
        auth::resolve_session(&state, req.headers()).await
    };
    let user = session
        .info
        .as_ref()
        .filter(|i| !i.mfa_pending)
        .map(|i| auth::UserView::from_session(i));
    req.extensions_mut().insert(session);

    let mut res = next.run(req).await;

    let status = res.status();
    if status.is_client_error() || status.is_server_error() {
        let info = res.extensions_mut().remove::<ErrorInfo>();
        // A body a handler wrote itself is kept (Open311 writes its errors in XML too).
        let ours_already_rendered = info.is_none()
            && res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
                v.as_bytes().starts_with(b"text/html")
                    || v.as_bytes().starts_with(b"application/json")
                    || v.as_bytes().starts_with(b"text/xml")
            });
        if !ours_already_rendered {
            let info = info.unwrap_or_else(|| info_for_status(status));
            let headers = res.headers().clone();
            res = render_error(
                &state,
                status,
                &info,
                lang,
                is_api,
                &request_id,
                user,
                &csrf,
            );
            for (k, v) in headers.iter() {
                if k == header::WWW_AUTHENTICATE
                    || k == header::RETRY_AFTER
                    || k == header::SET_COOKIE
                {
                    res.headers_mut().append(k, v.clone());
                }
            }
        }
    }
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    if let Some(l) = query_lang {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
            l.code()
        )) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if new_csrf {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{}={csrf}; Path=/; HttpOnly; SameSite=Lax{secure}",
            auth::CSRF_COOKIE
        )) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[allow(clippy::too_many_arguments)]
fn render_error(
    state: &AppState,
    status: StatusCode,
    info: &ErrorInfo,
    lang: Lang,
    is_api: bool,
    request_id: &str,
    user: Option<auth::UserView>,
    csrf: &str,
) -> Response {
    let tr = Tr::new(lang);
    let message = if info.literal {
        info.key.clone()
    } else {
        tr.t(&info.key)
    };
    if is_api {
        let fields: serde_json::Map<String, serde_json::Value> = info
            .fields
            .iter()
            .map(|(f, k)| (f.clone(), serde_json::Value::String(tr.t(k))))
            .collect();
        let mut body = serde_json::json!({"error": {"code": info.code, "message": message}});
        if !fields.is_empty() {
            body["error"]["fields"] = serde_json::Value::Object(fields);
        }
        if status.is_server_error() {
            body["error"]["request_id"] = serde_json::Value::String(request_id.to_string());
        }
        return (status, axum::Json(body)).into_response();
    }
    let ctx = pages::PageCtx {
        tr,
        user,
        csrf: csrf.to_string(),
        demo: state.config.demo,
        path: "/".into(),
    };
    let page = pages::ErrorPage {
        p: &ctx,
        status: status.as_u16(),
        message,
        request_id: status.is_server_error().then(|| request_id.to_string()),
    };
    match askama::Template::render(&page) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

/// Splits a query string into decoded pairs.
pub fn url_params(q: &str) -> impl Iterator<Item = (String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .unwrap_or_default()
        .into_iter()
}

/// Serves until `shutdown` resolves, with the background workers (audit sealer, outbox),
/// then seals what is pending so a clean stop leaves no entry unchained.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    state.catalog.refresh(&state.db).await?;
    assistant::reindex(&state).await?;
    opendata::demo::ensure_themes(&state).await?;
    state.opendata.current(&state.db, true).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let statistics = tokio::spawn(opendata::stats::run(
        state.clone(),
        Duration::from_secs(6 * 3600),
        stop_rx.clone(),
    ));
    let refresher = tokio::spawn(run_catalog_refresh(state.clone(), stop_rx.clone()));
    let sealer = tokio::spawn(run_sealer(state.clone(), stop_rx.clone()));
    let sweeper = tokio::spawn(feedback::run_sweeper(
        state.clone(),
        Duration::from_secs(60),
        stop_rx.clone(),
    ));
    let outbox = tokio::spawn(notify::run_worker(state.clone(), stop_rx));
    let app = router(state.clone());
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let started = Instant::now();
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(shutdown)
        .await?;
    let _ = stop_tx.send(true);
    let _ = sealer.await;
    let _ = refresher.await;
    let _ = outbox.await;
    let _ = sweeper.await;
    let _ = statistics.await;
    if let Err(e) = state
        .db
        .seal(&state.config.audit_key, state.config.checkpoint_every)
        .await
    {
        tracing::warn!(error = %e, "final audit seal failed");
    }
    tracing::info!(uptime_secs = started.elapsed().as_secs(), "stopped");
    Ok(())
}

/// Notices catalog imports made by another replica (or the CLI) and reloads.
async fn run_catalog_refresh(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
        match state.catalog.refresh(&state.db).await {
            Ok(true) => {
                if let Err(e) = assistant::reindex(&state).await {
                    tracing::warn!(error = %e, "assistant reindex");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "catalog refresh"),
        }
    }
}

async fn run_sealer(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match state
            .db
            .seal(&state.config.audit_key, state.config.checkpoint_every)
            .await
        {
            Ok(n) if n > 0 => tracing::debug!(sealed = n, "audit entries sealed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "audit sealer"),
        }
        tokio::select! {
            _ = tokio::time::sleep(state.config.seal_interval) => {}
            _ = stop.changed() => return,
        }
    }
}
