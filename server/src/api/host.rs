//! The Server view's data: the host's latest reading and its history (admin and ops only).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::host::HostSample;
use serde::{Deserialize, Serialize};
use services::host::Span;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiQuery, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(host_metrics))
        .routes(routes!(host_history))
}

/// The host now: CPU (overall, per core, load average), memory, swap, mounted disks, network
/// throughput, and when it was read.
#[utoipa::path(get, path = "/server/metrics", tag = "server",
    responses((status = 200, description = "The latest reading", body = HostSample)))]
pub async fn host_metrics(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<HostSample>> {
    json(services::host::latest(&state.hub, &caller).await)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The last N minutes (1 to 43,200; 60 by default). Ignored when `from` is given.
    #[param(minimum = 1, maximum = 43200)]
    minutes: Option<i64>,
    /// Start of an explicit window (RFC 3339), e.g. around a run or an incident.
    from: Option<DateTime<Utc>>,
    /// End of that window (now by default).
    to: Option<DateTime<Utc>>,
}

/// Stored readings of a window, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HostHistory {
    pub items: Vec<HostSample>,
    /// Seconds each item stands for: the sampling interval (raw samples, windows up to 24 hours)
    /// or 300 (5-minute averages, longer windows).
    pub resolution_seconds: i64,
}

/// The host's history: the last `minutes`, or the window `from`–`to`.
#[utoipa::path(get, path = "/server/metrics/history", tag = "server",
    params(HistoryQuery),
    responses((status = 200, description = "The readings", body = HostHistory)))]
pub async fn host_history(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HostHistory>> {
    let span = match query.from {
        Some(from) => Span::Window(from, query.to),
        None => Span::Last(query.minutes.unwrap_or(60)),
    };
    let (items, resolution_seconds) = services::host::history(&state.hub, &caller, span).await?;
    Ok(Json(HostHistory {
        items,
        resolution_seconds,
    }))
}
