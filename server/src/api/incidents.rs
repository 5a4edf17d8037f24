//! `/incidents`: opened and followed by ops, projets and admin; removed only by an admin.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::{Incident, IncidentSeverity, IncidentStatus};
use serde::Deserialize;
use services::storage::{IncidentChanges, IncidentFilter, NewIncident};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, page_limit, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents, create_incident))
        .routes(routes!(get_incident, update_incident, delete_incident))
}

/// Filters and pagination of the incident list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    project_id: Option<i64>,
    status: Option<IncidentStatus>,
    severity: Option<IncidentSeverity>,
    /// Detected at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Detected before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 500, 100 by default.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

fn encode_cursor(incident: &Incident) -> String {
    format!(
        "{}_{}",
        incident.detected_at.timestamp_micros(),
        incident.id
    )
}

fn decode_cursor(cursor: &str) -> ApiResult<(DateTime<Utc>, i64)> {
    let invalid = || ApiError::invalid("cursor", "is not a cursor this API gave");
    let (micros, id) = cursor.split_once('_').ok_or_else(invalid)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok((at, id.parse().map_err(|_| invalid())?))
}

/// Incidents, most recently detected first.
#[utoipa::path(get, path = "/incidents", tag = "incidents", params(IncidentQuery),
    responses((status = 200, description = "A page of incidents", body = Page<Incident>)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<IncidentQuery>,
) -> ApiResult<Json<Page<Incident>>> {
    let limit = page_limit(query.limit, 100, 500)?;
    let filter = IncidentFilter {
        project_id: query.project_id,
        status: query.status,
        severity: query.severity,
        from: query.from,
        to: query.to,
        before: query.cursor.as_deref().map(decode_cursor).transpose()?,
    };
    let items = services::incidents::list(&state.hub, &caller, &filter, limit + 1).await?;
    Ok(Json(Page::from_overfetch(items, limit, encode_cursor)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncidentRequest {
    /// The project concerned; absent for an incident of the platform itself.
    project_id: Option<i64>,
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    #[serde(default)]
    description: String,
    severity: IncidentSeverity,
    /// `open` by default.
    status: Option<IncidentStatus>,
    /// Who leads the response; the caller by default.
    owner_id: Option<i64>,
    /// The job that caused or fixes it.
    job_id: Option<i64>,
    /// Now by default (RFC 3339).
    detected_at: Option<DateTime<Utc>>,
}

/// Open an incident (ops, projets, admin).
#[utoipa::path(post, path = "/incidents", tag = "incidents", request_body = CreateIncidentRequest,
    responses((status = 201, description = "Created", body = Incident)))]
pub async fn create_incident(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<CreateIncidentRequest>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let incident = NewIncident {
        project_id: request.project_id,
        title: request.title,
        description: request.description,
        severity: request.severity,
        status: request.status.unwrap_or(IncidentStatus::Open),
        owner_id: request.owner_id,
        job_id: request.job_id,
        detected_at: request.detected_at,
    };
    let created = services::incidents::create(&state.hub, &caller, incident).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, description = "The incident", body = Incident)))]
pub async fn get_incident(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Incident>> {
    json(services::incidents::get(&state.hub, &caller, id).await)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIncidentRequest {
    /// The version this change is based on (optimistic concurrency).
    version: i64,
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    description: Option<String>,
    severity: Option<IncidentSeverity>,
    /// `resolved` / `closed` stamp `resolved_at`; going back to an open status clears it.
    status: Option<IncidentStatus>,
    #[serde(default, deserialize_with = "super::nullable")]
    owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::nullable")]
    job_id: Option<Option<i64>>,
    detected_at: Option<DateTime<Utc>>,
}

#[utoipa::path(patch, path = "/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = UpdateIncidentRequest,
    responses((status = 200, description = "Updated", body = Incident)))]
pub async fn update_incident(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateIncidentRequest>,
) -> ApiResult<Json<Incident>> {
    let changes = IncidentChanges {
        title: request.title,
        description: request.description,
        severity: request.severity,
        status: request.status,
        owner_id: request.owner_id,
        job_id: request.job_id,
        detected_at: request.detected_at,
    };
    json(services::incidents::update(&state.hub, &caller, id, request.version, changes).await)
}

/// Remove an incident opened by mistake (admin only: incidents are history).
#[utoipa::path(delete, path = "/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_incident(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    services::incidents::delete(&state.hub, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
