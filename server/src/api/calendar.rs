//! `/calendar/events` and `/jobs/{id}/free-slots`: the calendar feed (FullCalendar-compatible
//! events with conflicts) and free-slot suggestions.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::calendar::{ColorMode, Window};
use domain::{CalendarEvent, JobStatus, JobType};
use serde::{Deserialize, Serialize};
use services::calendar::instant;
use services::storage::CalendarQuery;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiPath, ApiQuery, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calendar_events))
        .routes(routes!(free_slots))
}

/// The range and filters of a calendar request.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Start of the range: RFC 3339, or a date (midnight in the team's time zone).
    #[param(example = "2026-11-01")]
    start: String,
    /// Exclusive end of the range, same forms; at most 366 days after `start`.
    #[param(example = "2026-12-01")]
    end: String,
    /// Only this project's jobs.
    project: Option<i64>,
    /// Only jobs of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    job_type: Option<JobType>,
    status: Option<JobStatus>,
    environment: Option<String>,
    /// What `color` follows: `project` (default), `type` or `status`.
    color_by: Option<ColorMode>,
}

/// The jobs planned in a range as FullCalendar event objects, each with `extendedProps.conflict`
/// and `conflicts_with` from the conflict rule (critical jobs of one project and environment
/// whose windows overlap). Conflicts count every job, whatever the filters hide.
#[utoipa::path(get, path = "/calendar/events", tag = "calendar",
    params(EventsQuery),
    responses((status = 200, description = "The events, in start order", body = Vec<CalendarEvent>)))]
pub async fn calendar_events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Json<Vec<CalendarEvent>>> {
    let zone = &state.hub.zone;
    let query = CalendarQuery {
        start: instant("start", &query.start, zone)?,
        end: instant("end", &query.end, zone)?,
        project_id: query.project,
        job_type: query.job_type,
        status: query.status,
        environment: query.environment,
        color_mode: query.color_by.unwrap_or(ColorMode::Project),
    };
    Ok(Json(
        services::calendar::events(&state.hub, &caller, &query).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FreeSlotsQuery {
    /// Search from here (RFC 3339); the job's current start by default.
    from: Option<DateTime<Utc>>,
    /// How many suggestions, 1 to 10 (3 by default).
    #[param(minimum = 1, maximum = 10)]
    count: Option<usize>,
}

/// A free place for a job.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FreeSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl From<Window> for FreeSlot {
    fn from(window: Window) -> Self {
        FreeSlot {
            start: window.start,
            end: window.end,
        }
    }
}

/// The next places where the job fits without conflict in its environment: same length, on the
/// 15-minute grid (whole days for all-day jobs), each after the previous one.
#[utoipa::path(get, path = "/jobs/{id}/free-slots", tag = "calendar",
    params(("id" = i64, Path, description = "Job id"), FreeSlotsQuery),
    responses((status = 200, description = "Suggestions, earliest first", body = Vec<FreeSlot>)))]
pub async fn free_slots(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<FreeSlotsQuery>,
) -> ApiResult<Json<Vec<FreeSlot>>> {
    let count = query.count.unwrap_or(3);
    let slots = services::calendar::free_slots(&state.hub, &caller, id, query.from, count).await?;
    Ok(Json(slots.into_iter().map(FreeSlot::from).collect()))
}
