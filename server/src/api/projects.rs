//! `/projects`: projects with their execution settings, and their context for tools and agents.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{
    BackendConfig, Color, ExecutionBackend, ProjectContext, ProjectState, ProjectSummary,
};
use serde::Deserialize;
use services::projects::ProjectDraft;
use services::storage::{NewEnvironment, ProjectChanges, ProjectRemoval};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::environments::CreateEnvironmentRequest;
use super::{json, ApiJson, ApiPath, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
        .routes(routes!(project_context))
}

/// Every project, by name, with its environments and figures.
#[utoipa::path(get, path = "/projects", tag = "projects",
    responses((status = 200, description = "Every project", body = Page<ProjectSummary>)))]
pub async fn list_projects(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Page<ProjectSummary>>> {
    Ok(Json(Page::complete(
        services::projects::list(&state.hub, &caller).await?,
    )))
}

#[utoipa::path(get, path = "/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "The project", body = ProjectSummary)))]
pub async fn get_project(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectSummary>> {
    json(services::projects::get(&state.hub, &caller, id).await)
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
    Caller(caller): Caller,
    ApiJson(request): ApiJson<CreateProjectRequest>,
) -> ApiResult<(StatusCode, Json<ProjectSummary>)> {
    let draft = ProjectDraft {
        name: request.name,
        description: request.description,
        color: request.color,
        environments: request
            .environments
            .into_iter()
            .map(EnvironmentRequest::into_new)
            .collect(),
        owner_id: request.owner_id,
        execution_backend: request.execution_backend,
        execution_backend_config: request.execution_backend_config,
    };
    let created = services::projects::create(&state.hub, &caller, draft).await?;
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateProjectRequest>,
) -> ApiResult<Json<ProjectSummary>> {
    let changes = ProjectChanges {
        name: request.name,
        description: request.description,
        color: request.color,
        state: request.state,
        owner_id: request.owner_id,
        execution_backend: request.execution_backend,
        execution_backend_config: request.execution_backend_config,
    };
    json(services::projects::update(&state.hub, &caller, id, request.version, changes).await)
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(
        match services::projects::remove(&state.hub, &caller, id).await? {
            ProjectRemoval::Deleted => StatusCode::NO_CONTENT.into_response(),
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectContext>> {
    json(services::projects::context(&state.hub, &caller, id).await)
}
