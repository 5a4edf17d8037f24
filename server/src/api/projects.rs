//! Projects, their environments and their jobs. Each write asks the policy with the project's
//! owner, the job's type and the environment concerned, before and (for moves between
//! environments) after the change. An archived project keeps everything but takes no new work.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use domain::policy::{self, Action, Decision, Environment, Object};
use domain::{
    BackendConfig, Color, EnvironmentRecord, ExecutionBackend, Job, JobAction, JobStatus, JobType,
    ProjectContext, ProjectState, ProjectSummary, Role,
};
use serde::Deserialize;
use services::storage::{
    EnvironmentChanges, JobChanges, JobFilter, NewEnvironment, NewJob, NewProject, ProjectAccess,
    ProjectChanges, ProjectRemoval,
};

use super::{page_limit, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

/// Refuses new work in an archived project (409 `project_archived`): it is read-only until
/// someone sets it back to `active`.
pub(super) fn ensure_active(project: &ProjectAccess) -> ApiResult<()> {
    if project.state == ProjectState::Archived {
        return Err(services::ServiceError::Archived.into());
    }
    Ok(())
}

/// Production as the guardrails see it: the flag, or a production name.
fn is_production(environment: &EnvironmentRecord) -> bool {
    Environment {
        name: &environment.name,
        is_production: environment.is_production,
    }
    .is_production()
}

/// The project that a change of its environments, backlog or links touches: it exists, the caller
/// may do `action` on it, and it is not archived.
pub(super) async fn project_for_change(
    state: &AppState,
    caller: &Caller,
    project_id: i64,
    action: Action,
) -> ApiResult<ProjectAccess> {
    let project = state.storage.project_access(project_id).await?;
    caller.may(action, &Object::project(project.owner_id), None)?;
    ensure_active(&project)?;
    Ok(project)
}

/// A versioned update's answer: the updated object, or for a stale `version` the 409 with the
/// object as it is now (`current`), read again with `current`.
pub(super) async fn versioned<T, F>(
    updated: services::ServiceResult<T>,
    current: impl FnOnce() -> F,
) -> ApiResult<Json<T>>
where
    T: serde::Serialize,
    F: std::future::Future<Output = services::ServiceResult<T>>,
{
    match updated {
        Ok(updated) => Ok(Json(updated)),
        Err(error @ services::ServiceError::StaleVersion { .. }) => {
            let error = ApiError::from(error);
            match current().await.map(|c| serde_json::to_value(c)) {
                Ok(Ok(current)) => Err(error.with_extra("current", current)),
                _ => Err(error),
            }
        }
        Err(other) => Err(other.into()),
    }
}

/// Every project, by name, with its environments and figures.
#[utoipa::path(get, path = "/projects", tag = "projects",
    responses((status = 200, description = "Every project", body = Page<ProjectSummary>)))]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<ProjectSummary>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(Page::complete(
        state.storage.list_project_summaries().await?,
    )))
}

#[utoipa::path(get, path = "/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "The project", body = ProjectSummary)))]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectSummary>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.project_summary(id).await?))
}

/// An environment in a create request: a bare name (as in the seed) or `{name, is_production}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EnvironmentRequest {
    Name(String),
    Full(CreateEnvironmentRequest),
}

impl EnvironmentRequest {
    fn into_new(self) -> NewEnvironment {
        match self {
            EnvironmentRequest::Name(name) => NewEnvironment::named(&name),
            EnvironmentRequest::Full(request) => request.into_new(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectRequest {
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    #[serde(default)]
    description: String,
    /// `#RRGGBB`; uHub green when absent.
    color: Option<Color>,
    /// Names (`"prod"` is production) or `{"name", "is_production"}` objects.
    #[serde(default)]
    environments: Vec<EnvironmentRequest>,
    /// Defaults to the caller; only an admin gives a project to someone else.
    owner_id: Option<i64>,
    execution_backend: Option<ExecutionBackend>,
    #[serde(default)]
    execution_backend_config: BackendConfig,
}

/// Create a project with its environments (projets and admin).
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = CreateProjectRequest,
    responses((status = 201, description = "Created", body = ProjectSummary)))]
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
        execution_backend: request.execution_backend,
        execution_backend_config: request.execution_backend_config,
    };
    let created = state
        .storage
        .create_project(&project, &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectRequest {
    /// The version this change is based on (optimistic concurrency).
    version: i64,
    #[schema(min_length = 1, max_length = 120)]
    name: Option<String>,
    description: Option<String>,
    color: Option<Color>,
    /// `archived` makes the project read-only; `active` reopens it.
    state: Option<ProjectState>,
    /// Only an admin changes a project's owner; `null` leaves it without one.
    #[serde(default, deserialize_with = "super::nullable")]
    owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::nullable")]
    execution_backend: Option<Option<ExecutionBackend>>,
    /// Replaces the whole configuration.
    execution_backend_config: Option<BackendConfig>,
}

/// Edit, archive or reopen a project (its owner among projets, or an admin).
#[utoipa::path(patch, path = "/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "Project id")), request_body = UpdateProjectRequest,
    responses((status = 200, description = "Updated", body = ProjectSummary)))]
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
    if let Some(owner) = request.owner_id {
        // Handing a project over is governance.
        caller.may(Action::ManageUsers, &Object::none(), None)?;
        if let Some(owner) = owner {
            state
                .storage
                .user_by_id(owner)
                .await
                .map_err(|_| ApiError::invalid("owner_id", "no such user"))?;
        }
    }
    let changes = ProjectChanges {
        name: request.name,
        description: request.description,
        color: request.color,
        state: request.state,
        owner_id: request.owner_id,
        execution_backend: request.execution_backend,
        execution_backend_config: request.execution_backend_config,
    };
    let updated = state
        .storage
        .update_project(id, request.version, &changes, &caller.actor)
        .await;
    versioned(updated, || state.storage.project_summary(id)).await
}

/// Delete a project. One with history (runs or incidents) is archived instead and returned
/// (200); one without is deleted with its environments, jobs, backlog and links (204).
#[utoipa::path(delete, path = "/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project has history: archived instead", body = ProjectSummary),
        (status = 204, description = "Deleted"),
    ))]
pub async fn delete_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let project = state.storage.project_access(id).await?;
    caller.may(
        Action::DeleteProject,
        &Object::project(project.owner_id),
        None,
    )?;
    Ok(
        match state.storage.delete_project(id, &caller.actor).await? {
            ProjectRemoval::Deleted => {
                // Project ids are never reused, so a leftover would only be clutter in Vault:
                // the deletion stands even if Vault cannot be reached now.
                if let Err(error) = state.executor.secrets().forget_project(id).await {
                    tracing::warn!(project = id, %error, "the deleted project's secrets are still in Vault");
                }
                StatusCode::NO_CONTENT.into_response()
            }
            ProjectRemoval::Archived(project) => Json(*project).into_response(),
        },
    )
}

/// Everything about a project for tools and AI agents, in time order; never a secret.
#[utoipa::path(get, path = "/projects/{id}/context", tag = "projects",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "The project's context", body = ProjectContext)))]
pub async fn project_context(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectContext>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.project_context(id).await?))
}

/// A project's environments, in creation order.
#[utoipa::path(get, path = "/projects/{id}/environments", tag = "environments",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "The environments", body = Page<EnvironmentRecord>)))]
pub async fn list_environments(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<EnvironmentRecord>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    state.storage.project_access(id).await?;
    Ok(Json(Page::complete(
        state.storage.list_environments(id).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEnvironmentRequest {
    #[schema(min_length = 1, max_length = 40)]
    name: String,
    /// Defaults to true for `prod` and `production`, false otherwise.
    is_production: Option<bool>,
}

impl CreateEnvironmentRequest {
    /// `prod` and `production` are production unless told otherwise.
    fn into_new(self) -> NewEnvironment {
        let named = NewEnvironment::named(&self.name);
        NewEnvironment {
            is_production: self.is_production.unwrap_or(named.is_production),
            ..named
        }
    }
}

/// Add an environment to a project (its owner among projets, or an admin).
#[utoipa::path(post, path = "/projects/{id}/environments", tag = "environments",
    params(("id" = i64, Path, description = "Project id")), request_body = CreateEnvironmentRequest,
    responses((status = 201, description = "Created", body = EnvironmentRecord)))]
pub async fn create_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateEnvironmentRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentRecord>)> {
    project_for_change(&state, &caller, id, Action::UpdateProject).await?;
    let created = state
        .storage
        .create_environment(id, &request.into_new(), &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/projects/{id}/environments/{name}", tag = "environments",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Environment name")),
    responses((status = 200, description = "The environment", body = EnvironmentRecord)))]
pub async fn get_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
) -> ApiResult<Json<EnvironmentRecord>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.environment_record(id, &name).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEnvironmentRequest {
    /// The version this change is based on (optimistic concurrency).
    version: i64,
    #[schema(min_length = 1, max_length = 40)]
    name: Option<String>,
    is_production: Option<bool>,
}

/// Rename an environment or change whether it is production (guardrails follow at once).
#[utoipa::path(patch, path = "/projects/{id}/environments/{name}", tag = "environments",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Environment name")),
    request_body = UpdateEnvironmentRequest,
    responses((status = 200, description = "Updated", body = EnvironmentRecord)))]
pub async fn update_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
    ApiJson(request): ApiJson<UpdateEnvironmentRequest>,
) -> ApiResult<Json<EnvironmentRecord>> {
    let project = project_for_change(&state, &caller, id, Action::UpdateProject).await?;
    let current = state.storage.environment_record(id, &name).await?;
    let renamed = request
        .name
        .as_deref()
        .is_some_and(|n| n.trim() != current.name);
    if is_production(&current) && (renamed || request.is_production == Some(false)) {
        caller.may(
            Action::LowerProductionGuard,
            &Object::project(project.owner_id),
            None,
        )?;
    }
    let changes = EnvironmentChanges {
        name: request.name.map(|n| n.trim().to_owned()),
        is_production: request.is_production,
    };
    let updated = state
        .storage
        .update_environment(id, &name, request.version, &changes, &caller.actor)
        .await;
    versioned(updated, || state.storage.environment_record(id, &name)).await
}

/// Remove an environment that no job, run or link uses (409 otherwise).
#[utoipa::path(delete, path = "/projects/{id}/environments/{name}", tag = "environments",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Environment name")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
) -> ApiResult<StatusCode> {
    let project = project_for_change(&state, &caller, id, Action::UpdateProject).await?;
    let current = state.storage.environment_record(id, &name).await?;
    if is_production(&current) {
        caller.may(
            Action::LowerProductionGuard,
            &Object::project(project.owner_id),
            None,
        )?;
    }
    state
        .storage
        .delete_environment(id, &name, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
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

/// Every project's jobs, filtered (project, type, status, environment, window), sorted by
/// start, paginated by cursor.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, description = "A page of jobs", body = Page<Job>)))]
pub async fn list_all_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(job_page(&state, query, None).await?))
}

/// One project's jobs, filtered, sorted by start, paginated by cursor.
#[utoipa::path(get, path = "/projects/{id}/jobs", tag = "jobs",
    params(("id" = i64, Path, description = "Project id"), JobQuery),
    responses((status = 200, description = "A page of jobs", body = Page<Job>)))]
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

#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = Job)))]
pub async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Job>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.job(id).await?))
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
    caller: Caller,
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
        owner_id: Some(request.owner_id.unwrap_or(caller.user.id)),
        responsible_role: request.responsible_role,
        action: request.action,
        auto_start: request.auto_start,
    };
    let job = services::planning::plan_job(&state.storage, &caller.subject(), &job, &caller.actor)
        .await?;
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateJobRequest>,
) -> ApiResult<Response> {
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
        action: request.action,
        auto_start: request.auto_start,
    };
    let reschedule_only = changes.is_reschedule_only();
    let action = if reschedule_only {
        Action::RescheduleJob
    } else {
        Action::UpdateJob
    };
    // The job as it is, and as it would be: both must be the caller's to touch.
    let here = job.environment.as_ref().map(|name| Environment {
        name,
        is_production: job.environment_is_production,
    });
    let object = Object::job(project.owner_id, job.job_type);
    if reschedule_only {
        let decision = policy::may(&caller.subject(), action, &object, here.as_ref());
        // A request carries a window; turning a job all-day (or back) is not a move to request.
        let flips_all_day = changes
            .all_day
            .is_some_and(|all_day| all_day != job.all_day);
        if matches!(decision, Decision::NeedsApproval(_)) && !flips_all_day {
            ensure_active(&project)?;
            let start = changes.planned_start.unwrap_or(job.planned_start);
            let end = changes.planned_end.unwrap_or(job.planned_end);
            let requested = state
                .storage
                .request_move(&job, request.version, start, end, &caller.actor)
                .await?;
            return Ok((StatusCode::ACCEPTED, Json(requested)).into_response());
        }
    } else if changes.planned_start.is_some() || changes.planned_end.is_some() {
        // A move inside an update is still a move: it cannot slip past the approval.
        caller.may(Action::RescheduleJob, &object, here.as_ref())?;
    }
    caller.may(action, &object, here.as_ref())?;
    ensure_active(&project)?;
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
    let updated = state
        .storage
        .update_job(id, request.version, &changes, &caller.actor)
        .await;
    Ok(versioned(updated, || state.storage.job(id))
        .await?
        .into_response())
}

/// Delete a job that was never run (a job with runs keeps its history: 409).
#[utoipa::path(delete, path = "/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 204, description = "Deleted")))]
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
    ensure_active(&project)?;
    state.storage.delete_job(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
