//! Citizen feedback (1022) on the web. This part holds the rules every channel shares
//! ([`service`]): filing with routing, photos and confirmation, the unit's and the reporter's
//! actions, and the escalation and closing sweep. The pages, the hotline console and the
//! Open311 API build on it.

pub mod api;
pub mod desk;
pub mod open311;
pub mod pages;
pub mod service;
pub mod views;

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// The largest report form: five photos at the limit and the text fields.
pub const UPLOAD_LIMIT: usize =
    cityhall_core::feedback::MAX_PHOTOS * service::MAX_PHOTO_BYTES + 1024 * 1024;

/// Every feedback route: the pages, the hotline console and the Open311 API.
pub fn router() -> Router<AppState> {
    // Report forms carry up to five photos of at most 8 MB each.
    let uploads = Router::new()
        .route(
            "/feedback/new",
            get(pages::new_form).post(pages::new_submit),
        )
        .route("/hotline", get(desk::hotline).post(desk::hotline_submit))
        .route("/desk/feedback/{code}/act", post(desk::act))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT));
    Router::new()
        .merge(uploads)
        .route("/feedback", get(pages::list))
        .route("/feedback/{code}", get(pages::report))
        .route(
            "/feedback/{code}/confirm",
            get(pages::confirm_page).post(pages::confirm_submit),
        )
        .route("/feedback/{code}/follow", post(pages::follow))
        .route("/feedback/{code}/reporter", post(pages::reporter_act))
        .route("/feedback/{code}/photos/{id}", get(pages::photo))
        .route("/static/feedback.js", get(pages::script))
        .route("/desk/feedback", get(desk::queue))
        .route("/desk/feedback/{code}", get(desk::report))
        .route(
            "/admin/feedback/routes",
            get(desk::routes).post(desk::route_set),
        )
        .route("/admin/feedback/routes/delete", post(desk::route_delete))
        .merge(api::router())
        .merge(open311::router())
}

/// Runs the escalation and closing sweep at start and then every `every` until `stop`
/// changes.
pub async fn run_sweeper(
    state: AppState,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // A first pass at start, so a restart does not delay escalations by a period.
    let mut first = true;
    loop {
        if !first {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
        first = false;
        match service::sweep(&state, time::OffsetDateTime::now_utc()).await {
            Ok((e, c)) if e + c > 0 => tracing::info!(escalated = e, closed = c, "feedback sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "feedback sweep failed"),
        }
    }
}
