//! Incidents: opened and followed by ops, projets and admin; removed only by an admin.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::policy::{Action, Object};
use domain::{Incident, IncidentSeverity, IncidentStatus};
use serde::Deserialize;
use services::storage::{IncidentChanges, IncidentFilter, NewIncident};
use services::ServiceError;

use super::projects::{ensure_active, versioned};
use super::{page_limit, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

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
    caller: Caller,
    ApiQuery(query): ApiQuery<IncidentQuery>,
) -> ApiResult<Json<Page<Incident>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let limit = page_limit(query.limit, 100, 500)?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to <= from {
            return Err(ApiError::invalid("to", "must be after from"));
        }
    }
    let filter = IncidentFilter {
        project_id: query.project_id,
        status: query.status,
        severity: query.severity,
        from: query.from,
        to: query.to,
        before: query.cursor.as_deref().map(decode_cursor).transpose()?,
    };
    let items = state.storage.list_incidents(&filter, limit + 1).await?;
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
    caller: Caller,
    ApiJson(request): ApiJson<CreateIncidentRequest>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    if let Some(project_id) = request.project_id {
        let project = match state.storage.project_access(project_id).await {
            Err(ServiceError::NotFound { .. }) => {
                return Err(ApiError::invalid("project_id", "no such project"))
            }
            other => other?,
        };
        ensure_active(&project)?;
    }
    if let Some(job_id) = request.job_id {
        check_job(&state, job_id, request.project_id).await?;
    }
    let incident = NewIncident {
        project_id: request.project_id,
        title: request.title,
        description: request.description,
        severity: request.severity,
        status: request.status.unwrap_or(IncidentStatus::Open),
        owner_id: Some(request.owner_id.unwrap_or(caller.user.id)),
        job_id: request.job_id,
        detected_at: request.detected_at,
    };
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .storage
                .create_incident(&incident, &caller.actor)
                .await?,
        ),
    ))
}

/// A linked job must exist and belong to the incident's project, if it has one.
async fn check_job(state: &AppState, job_id: i64, project_id: Option<i64>) -> ApiResult<()> {
    let job = match state.storage.job(job_id).await {
        Err(ServiceError::NotFound { .. }) => {
            return Err(ApiError::invalid("job_id", "no such job"))
        }
        other => other?,
    };
    if project_id.is_some_and(|p| p != job.project_id) {
        return Err(ApiError::invalid(
            "job_id",
            "the job belongs to another project",
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, description = "The incident", body = Incident)))]
pub async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Incident>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.incident(id).await?))
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateIncidentRequest>,
) -> ApiResult<Json<Incident>> {
    caller.may(Action::ManageIncidents, &Object::none(), None)?;
    let incident = state.storage.incident(id).await?;
    if let Some(Some(job_id)) = request.job_id {
        check_job(&state, job_id, incident.project_id).await?;
    }
    let changes = IncidentChanges {
        title: request.title,
        description: request.description,
        severity: request.severity,
        status: request.status,
        owner_id: request.owner_id,
        job_id: request.job_id,
        detected_at: request.detected_at,
    };
    let updated = state
        .storage
        .update_incident(id, request.version, &changes, &caller.actor)
        .await;
    versioned(updated, || state.storage.incident(id)).await
}

/// Remove an incident opened by mistake (admin only: incidents are history).
#[utoipa::path(delete, path = "/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_incident(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    caller.may(Action::DeleteIncident, &Object::none(), None)?;
    state.storage.delete_incident(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
