//! `/jobs` and `/projects/{id}/jobs`: planned work, filtered, sorted and paginated; planning,
//! editing, moving (a production move may become a move request) and deleting a job.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use domain::{Job, JobAction, JobStatus, JobType, Role};
use serde::Deserialize;
use services::jobs::JobUpdate;
use services::storage::{JobChanges, JobFilter, NewJob};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, page_limit, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs, create_job))
        .routes(routes!(list_all_jobs))
        .routes(routes!(get_job, update_job, delete_job))
}

/// Filters, sorting and pagination of job listings.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// Only this project's jobs (`GET /jobs` only).
    project_id: Option<i64>,
    job_type: Option<JobType>,
    status: Option<JobStatus>,
    environment: Option<String>,
    /// Jobs overlapping `[from, to)` (RFC 3339).
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// `planned_start` (default) or `-planned_start`.
    #[param(pattern = "^-?planned_start$")]
    sort: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 1000, 100 by default.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

const JOBS_DEFAULT_LIMIT: u32 = 100;
const JOBS_MAX_LIMIT: u32 = 1000;

/// The opaque cursor of a job page: the last job's start (µs) and id, base64url.
fn encode_cursor(job: &Job) -> String {
    let raw = format!("{}:{}", job.planned_start.timestamp_micros(), job.id);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
}

fn decode_cursor(cursor: &str) -> ApiResult<(DateTime<Utc>, i64)> {
    let invalid = || ApiError::invalid("cursor", "is not a cursor this API gave");
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
    let start = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok((start, id.parse().map_err(|_| invalid())?))
}

/// The filter of a listing from its query; `project_id` from the path wins over the query's.
fn job_filter(query: JobQuery, project_id: Option<i64>) -> ApiResult<JobFilter> {
    let descending = match query.sort.as_deref() {
        None | Some("planned_start") => false,
        Some("-planned_start") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "sort",
                "must be planned_start or -planned_start",
            ))
        }
    };
    Ok(JobFilter {
        project_id: project_id.or(query.project_id),
        job_type: query.job_type,
        status: query.status,
        environment: query.environment,
        from: query.from,
        to: query.to,
        descending,
        after: query.cursor.as_deref().map(decode_cursor).transpose()?,
    })
}

/// Every project's jobs, filtered (project, type, status, environment, window), sorted by
/// start, paginated by cursor.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, description = "A page of jobs", body = Page<Job>)))]
pub async fn list_all_jobs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    let limit = page_limit(query.limit, JOBS_DEFAULT_LIMIT, JOBS_MAX_LIMIT)?;
    let filter = job_filter(query, None)?;
    let items = services::jobs::list(&state.hub, &caller, &filter, limit + 1).await?;
    Ok(Json(Page::from_overfetch(items, limit, encode_cursor)))
}

/// One project's jobs, filtered, sorted by start, paginated by cursor.
#[utoipa::path(get, path = "/projects/{id}/jobs", tag = "jobs",
    params(("id" = i64, Path, description = "Project id"), JobQuery),
    responses((status = 200, description = "A page of jobs", body = Page<Job>)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    let limit = page_limit(query.limit, JOBS_DEFAULT_LIMIT, JOBS_MAX_LIMIT)?;
    let filter = job_filter(query, Some(id))?;
    let items = services::jobs::list_in_project(&state.hub, &caller, &filter, limit + 1).await?;
    Ok(Json(Page::from_overfetch(items, limit, encode_cursor)))
}

#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = Job)))]
pub async fn get_job(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Job>> {
    json(services::jobs::get(&state.hub, &caller, id).await)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    #[serde(default)]
    description: String,
    job_type: JobType,
    environment: Option<String>,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
    #[serde(default)]
    all_day: bool,
    /// Defaults to the caller.
    owner_id: Option<i64>,
    responsible_role: Option<Role>,
    /// What a run executes: a script, a container or a webhook call.
    action: Option<JobAction>,
    /// Start it by itself at `planned_start`, as its owner (approval rules still apply).
    #[serde(default)]
    auto_start: bool,
}

/// Plan a job in a project; the environment must be one of the project's.
#[utoipa::path(post, path = "/projects/{id}/jobs", tag = "jobs",
    params(("id" = i64, Path, description = "Project id")), request_body = CreateJobRequest,
    responses((status = 201, description = "Created", body = Job)))]
pub async fn create_job(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(project_id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateJobRequest>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let job = NewJob {
        project_id,
        title: request.title,
        description: request.description,
        job_type: request.job_type,
        environment: request.environment,
        planned_start: request.planned_start,
        planned_end: request.planned_end,
        all_day: request.all_day,
        owner_id: request.owner_id,
        responsible_role: request.responsible_role,
        action: request.action,
        auto_start: request.auto_start,
    };
    let job = services::jobs::create(&state.hub, &caller, job).await?;
    Ok((StatusCode::CREATED, Json(job)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateJobRequest {
    /// The version this change is based on (optimistic concurrency).
    version: i64,
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    description: Option<String>,
    job_type: Option<JobType>,
    status: Option<JobStatus>,
    #[serde(default, deserialize_with = "super::nullable")]
    environment: Option<Option<String>>,
    planned_start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::nullable")]
    planned_end: Option<Option<DateTime<Utc>>>,
    all_day: Option<bool>,
    #[serde(default, deserialize_with = "super::nullable")]
    owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::nullable")]
    responsible_role: Option<Option<Role>>,
    #[serde(default, deserialize_with = "super::nullable")]
    action: Option<Option<JobAction>>,
    auto_start: Option<bool>,
}

/// Edit or move a job. A change of its window is a reschedule for the policy, anything else an
/// update; both are checked. A production move that needs approval (`ops`) is not made: it
/// becomes a move request (202) that `projets` or `admin` approve, and must come alone (a move
/// mixed with other changes is refused). A stale `version` gets 409 with the current job.
#[utoipa::path(patch, path = "/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")), request_body = UpdateJobRequest,
    responses(
        (status = 200, description = "Updated", body = Job),
        (status = 202, description = "A production move waiting for approval: the request", body = domain::MoveRequest),
    ))]
pub async fn update_job(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateJobRequest>,
) -> ApiResult<Response> {
    let changes = JobChanges {
        title: request.title,
        description: request.description,
        job_type: request.job_type,
        status: request.status,
        environment: request.environment,
        planned_start: request.planned_start,
        planned_end: request.planned_end,
        all_day: request.all_day,
        owner_id: request.owner_id,
        responsible_role: request.responsible_role,
        action: request.action,
        auto_start: request.auto_start,
    };
    Ok(
        match services::jobs::update(&state.hub, &caller, id, request.version, changes).await? {
            JobUpdate::Updated(job) => Json(job).into_response(),
            JobUpdate::MoveRequested(request) => {
                (StatusCode::ACCEPTED, Json(request)).into_response()
            }
        },
    )
}

/// Delete a job that was never run (a job with runs keeps its history: 409).
#[utoipa::path(delete, path = "/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_job(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    services::jobs::delete(&state.hub, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
