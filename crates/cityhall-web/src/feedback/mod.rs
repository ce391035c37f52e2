//! Citizen feedback (1022) on the web. This part holds the rules every channel shares
//! ([`service`]): filing with routing, photos and confirmation, the unit's and the reporter's
//! actions, and the escalation and closing sweep. The pages, the hotline console and the
//! Open311 API build on it.

pub mod open311;
pub mod service;

use std::time::Duration;

use axum::Router;

use crate::AppState;

/// Every feedback route: the pages, the hotline console and the Open311 API.
pub fn router() -> Router<AppState> {
    Router::new().merge(open311::router())
}

/// Runs the escalation and closing sweep every `every` until `stop` changes.
pub async fn run_sweeper(
    state: AppState,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        match service::sweep(&state, time::OffsetDateTime::now_utc()).await {
            Ok((e, c)) if e + c > 0 => tracing::info!(escalated = e, closed = c, "feedback sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "feedback sweep failed"),
        }
    }
}
