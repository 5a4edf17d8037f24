//! Projects and their jobs. Each write asks the policy with the project's owner, the job's type
//! and the environment concerned, before and (for moves between environments) after the change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::policy::{Action, Environment, Object};
use domain::{Color, Job, JobStatus, JobType, ProjectState, ProjectSummary, Role};
use serde::Deserialize;
use services::storage::{
    JobChanges, JobFilter, NewEnvironment, NewJob, NewProject, ProjectChanges,
};
use services::ServiceError;

use super::{page_limit, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<ProjectSummary>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(Page::complete(
        state.storage.list_project_summaries().await?,
    )))
}

pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectSummary>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.project_summary(id).await?))
}

/// An environment in a create request: a bare name (as in the seed) or `{name, is_production}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum EnvironmentRequest {
    Name(String),
    Full {
        name: String,
        is_production: Option<bool>,
    },
}

impl EnvironmentRequest {
    fn into_new(self) -> NewEnvironment {
        match self {
            EnvironmentRequest::Name(name) => NewEnvironment::named(&name),
            EnvironmentRequest::Full {
                name,
                is_production,
            } => {
                let named = NewEnvironment::named(&name);
                NewEnvironment {
                    is_production: is_production.unwrap_or(named.is_production),
                    ..named
                }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectRequest {
    name: String,
    #[serde(default)]
    description: String,
    color: Option<Color>,
    #[serde(default)]
    environments: Vec<EnvironmentRequest>,
    /// Defaults to the caller.
    owner_id: Option<i64>,
}

pub async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateProjectRequest>,
) -> ApiResult<(StatusCode, Json<ProjectSummary>)> {
    caller.may(Action::CreateProject, &Object::none(), None)?;
    let owner_id = request.owner_id.unwrap_or(caller.user.id);
    if owner_id != caller.user.id {
        // Giving a project to someone else is governance.
        caller.may(Action::ManageUsers, &Object::none(), None)?;
        state
            .storage
            .user_by_id(owner_id)
            .await
            .map_err(|_| ApiError::invalid("owner_id", "no such user"))?;
    }
    let project = NewProject {
        name: request.name,
        description: request.description,
        color: request.color.unwrap_or_else(Color::default_accent),
        owner_id: Some(owner_id),
        environments: request
            .environments
            .into_iter()
            .map(EnvironmentRequest::into_new)
            .collect(),
    };
    let created = state
        .storage
        .create_project(&project, &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectRequest {
    name: Option<String>,
    description: Option<String>,
    color: Option<Color>,
    state: Option<ProjectState>,
}

pub async fn update_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateProjectRequest>,
) -> ApiResult<Json<ProjectSummary>> {
    let project = state.storage.project_access(id).await?;
    caller.may(
        Action::UpdateProject,
        &Object::project(project.owner_id),
        None,
    )?;
    let changes = ProjectChanges {
        name: request.name,
        description: request.description,
        color: request.color,
        state: request.state,
    };
    Ok(Json(
        state
            .storage
            .update_project(id, &changes, &caller.actor)
            .await?,
    ))
}

/// Filters, sorting and pagination of job listings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    project_id: Option<i64>,
    job_type: Option<JobType>,
    status: Option<JobStatus>,
    environment: Option<String>,
    /// Jobs overlapping `[from, to)`.
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// `planned_start` (default) or `-planned_start`.
    sort: Option<String>,
    cursor: Option<String>,
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

async fn job_page(
    state: &AppState,
    query: JobQuery,
    project_id: Option<i64>,
) -> ApiResult<Page<Job>> {
    let limit = page_limit(query.limit, JOBS_DEFAULT_LIMIT, JOBS_MAX_LIMIT)?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to <= from {
            return Err(ApiError::invalid("to", "must be after from"));
        }
    }
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
    let filter = JobFilter {
        project_id: project_id.or(query.project_id),
        job_type: query.job_type,
        status: query.status,
        environment: query.environment,
        from: query.from,
        to: query.to,
        descending,
        after: query.cursor.as_deref().map(decode_cursor).transpose()?,
    };
    let items = state.storage.list_jobs(&filter, limit + 1).await?;
    Ok(Page::from_overfetch(items, limit, encode_cursor))
}

/// `GET /jobs`: every project's jobs, filtered (project, type, status, environment, window),
/// sorted by start, paginated by cursor.
pub async fn list_all_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(job_page(&state, query, None).await?))
}

/// `GET /projects/{id}/jobs`: the same, within one project.
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    state.storage.project_access(id).await?;
    Ok(Json(job_page(&state, query, Some(id)).await?))
}

pub async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Job>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.job(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    title: String,
    #[serde(default)]
    description: String,
    job_type: JobType,
    environment: Option<String>,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
    #[serde(default)]
    all_day: bool,
    owner_id: Option<i64>,
    responsible_role: Option<Role>,
}

pub async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateJobRequest>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let project = state.storage.project_access(project_id).await?;
    let environment = match &request.environment {
        Some(name) => Some(state.storage.environment(project_id, name).await?),
        None => None,
    };
    let policy_environment = environment.as_ref().map(|e| Environment {
        name: &e.name,
        is_production: e.is_production,
    });
    caller.may(
        Action::CreateJob,
        &Object::job(project.owner_id, request.job_type),
        policy_environment.as_ref(),
    )?;
    if project.state == ProjectState::Archived {
        return Err(ServiceError::Conflict(
            "the project is archived; it takes no new jobs".to_owned(),
        )
        .into());
    }
    let job = NewJob {
        project_id,
        title: request.title,
        description: request.description,
        job_type: request.job_type,
        environment: request.environment,
        planned_start: request.planned_start,
        planned_end: request.planned_end,
        all_day: request.all_day,
        owner_id: Some(request.owner_id.unwrap_or(caller.user.id)),
        responsible_role: request.responsible_role,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.storage.create_job(&job, &caller.actor).await?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateJobRequest {
    /// The version this change is based on (optimistic concurrency).
    version: i64,
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
}

/// `PATCH /jobs/{id}`: a move (window only) is a reschedule for the policy, anything else an
/// update. A stale `version` gets 409 with the current job.
pub async fn update_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateJobRequest>,
) -> ApiResult<Json<Job>> {
    let job = state.storage.job(id).await?;
    let project = state.storage.project_access(job.project_id).await?;
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
    };
    let action = if changes.is_reschedule_only() {
        Action::RescheduleJob
    } else {
        Action::UpdateJob
    };
    // The job as it is, and as it would be: both must be the caller's to touch.
    let here = job.environment.as_ref().map(|name| Environment {
        name,
        is_production: job.environment_is_production,
    });
    caller.may(
        action,
        &Object::job(project.owner_id, job.job_type),
        here.as_ref(),
    )?;
    let target_environment = match &changes.environment {
        Some(Some(name)) => Some(state.storage.environment(job.project_id, name).await?),
        _ => None,
    };
    if target_environment.is_some() || changes.job_type.is_some() {
        let there = match (&changes.environment, &target_environment) {
            (Some(Some(_)), Some(env)) => Some(Environment {
                name: &env.name,
                is_production: env.is_production,
            }),
            (Some(None), _) => None,
            _ => here.clone(),
        };
        let job_type = changes.job_type.unwrap_or(job.job_type);
        caller.may(
            action,
            &Object::job(project.owner_id, job_type),
            there.as_ref(),
        )?;
    }
    match state
        .storage
        .update_job(id, request.version, &changes, &caller.actor)
        .await
    {
        Ok(updated) => Ok(Json(updated)),
        Err(error @ ServiceError::StaleVersion { .. }) => {
            let current = state.storage.job(id).await?;
            Err(ApiError::from(error)
                .with_extra("current", serde_json::to_value(current).unwrap_or_default()))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn delete_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let job = state.storage.job(id).await?;
    let project = state.storage.project_access(job.project_id).await?;
    let here = job.environment.as_ref().map(|name| Environment {
        name,
        is_production: job.environment_is_production,
    });
    caller.may(
        Action::DeleteJob,
        &Object::job(project.owner_id, job.job_type),
        here.as_ref(),
    )?;
    state.storage.delete_job(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
