//! The Server view's data: the host's latest reading and its history (admin and ops only).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use domain::host::HostSample;
use domain::policy::{Action, Object};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiQuery, ApiResult, Caller};
use crate::AppState;

/// The host now: CPU (overall, per core, load average), memory, swap, mounted disks, network
/// throughput, and when it was read.
#[utoipa::path(get, path = "/server/metrics", tag = "server",
    responses((status = 200, description = "The latest reading", body = HostSample)))]
pub async fn host_metrics(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<HostSample>> {
    caller.may(Action::ViewServer, &Object::none(), None)?;
    Ok(Json(state.host.latest().await?))
}

/// The longest history one request may ask for: the averages' retention.
const MAX_HISTORY_MINUTES: i64 = 30 * 24 * 60;

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
    caller: Caller,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<HostHistory>> {
    caller.may(Action::ViewServer, &Object::none(), None)?;
    let now = Utc::now();
    let (from, to) = match query.from {
        Some(from) => (from, query.to.unwrap_or(now)),
        None => {
            let minutes = query.minutes.unwrap_or(60);
            if !(1..=MAX_HISTORY_MINUTES).contains(&minutes) {
                return Err(ApiError::invalid("minutes", "must be 1 to 43200"));
            }
            (now - Duration::minutes(minutes), now)
        }
    };
    if to <= from {
        return Err(ApiError::invalid("to", "must come after from"));
    }
    if to - from > Duration::minutes(MAX_HISTORY_MINUTES) {
        return Err(ApiError::invalid("from", "a window is at most 30 days"));
    }
    let (items, resolution_seconds) = state.host.history(from, to).await?;
    Ok(Json(HostHistory {
        items,
        resolution_seconds,
    }))
}
