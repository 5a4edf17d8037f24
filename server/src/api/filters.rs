//! `/calendar/filters`: the calendar view and filters each user last chose (the calendar opens
//! with them).

use axum::extract::State;
use axum::Json;
use domain::feed::CalendarFilters;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_filters, put_filters))
}

/// The calendar filters and view the caller last chose (defaults if none).
#[utoipa::path(get, path = "/calendar/filters", tag = "calendar",
    responses((status = 200, description = "The remembered filters", body = CalendarFilters)))]
pub async fn get_filters(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<CalendarFilters>> {
    Ok(Json(
        services::calendar::remembered_filters(&state.hub, &caller)
            .await?
            .unwrap_or_default(),
    ))
}

/// Remember the calendar filters and view the caller chose.
#[utoipa::path(put, path = "/calendar/filters", tag = "calendar", request_body = CalendarFilters,
    responses((status = 200, description = "Saved", body = CalendarFilters)))]
pub async fn put_filters(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(filters): ApiJson<CalendarFilters>,
) -> ApiResult<Json<CalendarFilters>> {
    services::calendar::remember_filters(&state.hub, &caller, &filters).await?;
    Ok(Json(filters))
}
