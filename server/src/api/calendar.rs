//! The calendar feed (FullCalendar-compatible events with conflicts) and free-slot suggestions.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use domain::calendar::{ColorMode, Window};
use domain::policy::{Action, Object};
use domain::{CalendarEvent, JobStatus, JobType};
use serde::{Deserialize, Serialize};
use services::storage::CalendarQuery;

use super::{ApiError, ApiPath, ApiQuery, ApiResult, Caller};
use crate::AppState;

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

fn instant(field: &'static str, text: &str, zone: &chrono_tz::Tz) -> ApiResult<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => Ok(domain::calendar::start_of_day(day, zone)),
        Err(_) => Err(ApiError::invalid(
            field,
            "must be an RFC 3339 date-time (2026-11-01T00:00:00Z) or a date (2026-11-01)",
        )),
    }
}

/// The jobs planned in a range as FullCalendar event objects, each with `extendedProps.conflict`
/// and `conflicts_with` from the conflict rule (critical jobs of one project and environment
/// whose windows overlap). Conflicts count every job, whatever the filters hide.
#[utoipa::path(get, path = "/calendar/events", tag = "calendar",
    params(EventsQuery),
    responses((status = 200, description = "The events, in start order", body = Vec<CalendarEvent>)))]
pub async fn calendar_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Json<Vec<CalendarEvent>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let query = CalendarQuery {
        start: instant("start", &query.start, &state.zone)?,
        end: instant("end", &query.end, &state.zone)?,
        project_id: query.project,
        job_type: query.job_type,
        status: query.status,
        environment: query.environment,
        color_mode: query.color_by.unwrap_or(ColorMode::Project),
    };
    Ok(Json(
        state.storage.calendar_events(&query, &state.zone).await?,
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<FreeSlotsQuery>,
) -> ApiResult<Json<Vec<FreeSlot>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let count = query.count.unwrap_or(3);
    if !(1..=10).contains(&count) {
        return Err(ApiError::invalid("count", "must be 1 to 10"));
    }
    let slots = state
        .storage
        .free_slots(id, query.from, count, &state.zone)
        .await?;
    Ok(Json(slots.into_iter().map(FreeSlot::from).collect()))
}
