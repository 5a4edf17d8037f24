//! Health probes for load balancers and orchestrators: plain text, 200 or 503.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// The process is alive and serving HTTP.
pub async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// The database answers and every migration this build knows has been applied.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.hub.storage.is_ready().await {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
