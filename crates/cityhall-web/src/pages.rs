//! The page shell: the context every page renders with (language, user, CSRF token), the
//! home page, the error page and the stylesheet.

use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cityhall_db::GeoStore;

use crate::auth::{Csrf, CurrentSession, UserView};
use crate::error::{AppError, AppResult};
use crate::i18n::{Lang, Tr};
use crate::{AppState, ReqLang};

/// What every page needs: translations, who is signed in, the CSRF token.
pub struct PageCtx {
    pub tr: Tr,
    pub user: Option<UserView>,
    pub csrf: String,
    pub demo: bool,
    /// The current path, for the language switch link.
    pub path: String,
}

impl PageCtx {
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        self.tr.t_with(key, &[(name, value)])
    }
    pub fn lang(&self) -> &'static str {
        self.tr.lang.code()
    }
    pub fn other_lang(&self) -> &'static str {
        self.tr.lang.other().code()
    }
    pub fn other_lang_href(&self) -> String {
        format!("{}?lang={}", self.path, self.tr.lang.other().code())
    }
    pub fn role_name(&self, role: &str) -> String {
        self.tr.t(&format!("role-{role}"))
    }
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = parts
            .extensions
            .get::<ReqLang>()
            .map(|l| l.0)
            .unwrap_or(Lang::Vi);
        let user = parts
            .extensions
            .get::<CurrentSession>()
            .and_then(|s| s.info.as_ref())
            .filter(|i| !i.mfa_pending)
            .map(|i| UserView::from_session(i));
        let csrf = parts
            .extensions
            .get::<Csrf>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let demo = state.config.demo;
        Ok(PageCtx {
            tr: Tr::new(lang),
            user,
            csrf,
            demo,
            path: parts.uri.path().to_string(),
        })
    }
}

/// Renders a template as a 200 page.
pub fn render(t: &impl Template) -> AppResult<Response> {
    render_status(StatusCode::OK, t)
}

pub fn render_status(status: StatusCode, t: &impl Template) -> AppResult<Response> {
    let html = t.render().map_err(AppError::internal)?;
    Ok((status, Html(html)).into_response())
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub p: &'a PageCtx,
    pub status: u16,
    pub message: String,
    pub request_id: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    p: &'a PageCtx,
    stats: String,
}

async fn home(State(state): State<AppState>, p: PageCtx) -> AppResult<Response> {
    let units = state.db.units().await?.len();
    let agencies = state.db.agencies().await?.len();
    let stats = p.tr.t_with(
        "home-stats",
        &[
            ("units", &units.to_string()),
            ("agencies", &agencies.to_string()),
        ],
    );
    render(&HomePage { p: &p, stats })
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/style.css", get(stylesheet))
}
