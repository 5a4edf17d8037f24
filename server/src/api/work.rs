//! Runs (read side), backlog items and link records: the work and the references around jobs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use domain::policy::{Action, Object};
use domain::{BacklogItem, BacklogKind, BacklogStatus, GitProvider, LinkKind, ProjectLink, Run};
use serde::Deserialize;
use services::storage::{BacklogChanges, BacklogFilter, LinkChanges, NewBacklogItem, NewLink};

use super::projects::{project_for_change, versioned};
use super::{page_limit, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

/// Pagination of id-ordered listings.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 200, 50 by default.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

fn id_cursor(cursor: Option<&str>) -> ApiResult<Option<i64>> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "is not a cursor this API gave"))
        })
        .transpose()
}

/// A job's runs, newest first.
#[utoipa::path(get, path = "/jobs/{id}/runs", tag = "runs",
    params(("id" = i64, Path, description = "Job id"), RunQuery),
    responses((status = 200, description = "A page of runs", body = Page<Run>)))]
pub async fn list_job_runs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> ApiResult<Json<Page<Run>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let limit = page_limit(query.limit, 50, 200)?;
    let before = id_cursor(query.cursor.as_deref())?;
    state.storage.job(id).await?;
    let runs = state.storage.list_job_runs(id, before, limit + 1).await?;
    Ok(Json(Page::from_overfetch(runs, limit, |run| {
        run.id.to_string()
    })))
}

/// One run: status, exit code, times, backend, environment, launcher.
#[utoipa::path(get, path = "/runs/{id}", tag = "runs",
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "The run", body = Run)))]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Run>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.run(id).await?))
}

/// Filters and pagination of a backlog.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BacklogQuery {
    kind: Option<BacklogKind>,
    status: Option<BacklogStatus>,
    assignee_id: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 500, 100 by default.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A project's backlog in creation order.
#[utoipa::path(get, path = "/projects/{id}/backlog", tag = "backlog",
    params(("id" = i64, Path, description = "Project id"), BacklogQuery),
    responses((status = 200, description = "A page of backlog items", body = Page<BacklogItem>)))]
pub async fn list_backlog(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<BacklogQuery>,
) -> ApiResult<Json<Page<BacklogItem>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let limit = page_limit(query.limit, 100, 500)?;
    state.storage.project_access(id).await?;
    let filter = BacklogFilter {
        kind: query.kind,
        status: query.status,
        assignee_id: query.assignee_id,
        after: id_cursor(query.cursor.as_deref())?,
    };
    let items = state.storage.list_backlog(id, &filter, limit + 1).await?;
    Ok(Json(Page::from_overfetch(items, limit, |item| {
        item.id.to_string()
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBacklogRequest {
    /// `task` by default.
    kind: Option<BacklogKind>,
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    #[serde(default)]
    description: String,
    /// `todo` by default.
    status: Option<BacklogStatus>,
    assignee_id: Option<i64>,
    /// `YYYY-MM-DD`.
    due_date: Option<NaiveDate>,
}

/// Add a task or milestone (the project's owner among projets, or an admin).
#[utoipa::path(post, path = "/projects/{id}/backlog", tag = "backlog",
    params(("id" = i64, Path, description = "Project id")), request_body = CreateBacklogRequest,
    responses((status = 201, description = "Created", body = BacklogItem)))]
pub async fn create_backlog_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateBacklogRequest>,
) -> ApiResult<(StatusCode, Json<BacklogItem>)> {
    project_for_change(&state, &caller, id, Action::ManageBacklog).await?;
    let item = NewBacklogItem {
        project_id: id,
        kind: request.kind.unwrap_or(BacklogKind::Task),
        title: request.title,
        description: request.description,
        status: request.status.unwrap_or(BacklogStatus::Todo),
        assignee_id: request.assignee_id,
        due_date: request.due_date,
    };
    let created = state
        .storage
        .create_backlog_item(&item, &caller.actor)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/backlog/{id}", tag = "backlog",
    params(("id" = i64, Path, description = "Backlog item id")),
    responses((status = 200, description = "The item", body = BacklogItem)))]
pub async fn get_backlog_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BacklogItem>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.backlog_item(id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBacklogRequest {
    /// The version this change is based on (optimistic concurrency).
    version: i64,
    kind: Option<BacklogKind>,
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    description: Option<String>,
    status: Option<BacklogStatus>,
    #[serde(default, deserialize_with = "super::nullable")]
    assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::nullable")]
    due_date: Option<Option<NaiveDate>>,
}

#[utoipa::path(patch, path = "/backlog/{id}", tag = "backlog",
    params(("id" = i64, Path, description = "Backlog item id")), request_body = UpdateBacklogRequest,
    responses((status = 200, description = "Updated", body = BacklogItem)))]
pub async fn update_backlog_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateBacklogRequest>,
) -> ApiResult<Json<BacklogItem>> {
    let item = state.storage.backlog_item(id).await?;
    project_for_change(&state, &caller, item.project_id, Action::ManageBacklog).await?;
    let changes = BacklogChanges {
        kind: request.kind,
        title: request.title,
        description: request.description,
        status: request.status,
        assignee_id: request.assignee_id,
        due_date: request.due_date,
    };
    let updated = state
        .storage
        .update_backlog_item(id, request.version, &changes, &caller.actor)
        .await;
    versioned(updated, || state.storage.backlog_item(id)).await
}

#[utoipa::path(delete, path = "/backlog/{id}", tag = "backlog",
    params(("id" = i64, Path, description = "Backlog item id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_backlog_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let item = state.storage.backlog_item(id).await?;
    project_for_change(&state, &caller, item.project_id, Action::ManageBacklog).await?;
    state.storage.delete_backlog_item(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// Only links of this kind.
    kind: Option<LinkKind>,
}

/// A project's links, by kind then name.
#[utoipa::path(get, path = "/projects/{id}/links", tag = "links",
    params(("id" = i64, Path, description = "Project id"), LinkQuery),
    responses((status = 200, description = "The links", body = Page<ProjectLink>)))]
pub async fn list_links(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LinkQuery>,
) -> ApiResult<Json<Page<ProjectLink>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    state.storage.project_access(id).await?;
    Ok(Json(Page::complete(
        state.storage.list_links(id, query.kind).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLinkRequest {
    kind: LinkKind,
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    /// The environment this link serves, if only one.
    environment: Option<String>,
    /// A URL (Git, Kubernetes API server) or a path (inventory, plan). Never credentials.
    location: String,
    /// Git repositories: told from github.com / gitlab hosts when absent.
    provider: Option<GitProvider>,
    default_branch: Option<String>,
    /// Kubernetes clusters only.
    namespace: Option<String>,
}

/// Link a Git repository, Ansible inventory, Terraform plan or Kubernetes cluster to a project.
#[utoipa::path(post, path = "/projects/{id}/links", tag = "links",
    params(("id" = i64, Path, description = "Project id")), request_body = CreateLinkRequest,
    responses((status = 201, description = "Created", body = ProjectLink)))]
pub async fn create_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateLinkRequest>,
) -> ApiResult<(StatusCode, Json<ProjectLink>)> {
    project_for_change(&state, &caller, id, Action::UpdateProject).await?;
    let link = NewLink {
        project_id: id,
        kind: request.kind,
        name: request.name,
        environment: request.environment,
        location: request.location,
        provider: request.provider,
        default_branch: request.default_branch,
        namespace: request.namespace,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.storage.create_link(&link, &caller.actor).await?),
    ))
}

#[utoipa::path(get, path = "/links/{id}", tag = "links",
    params(("id" = i64, Path, description = "Link id")),
    responses((status = 200, description = "The link", body = ProjectLink)))]
pub async fn get_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectLink>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.link(id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLinkRequest {
    /// The version this change is based on (optimistic concurrency).
    version: i64,
    #[schema(min_length = 1, max_length = 120)]
    name: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    environment: Option<Option<String>>,
    location: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    provider: Option<Option<GitProvider>>,
    #[serde(default, deserialize_with = "super::nullable")]
    default_branch: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    namespace: Option<Option<String>>,
}

/// Edit a link; its kind is fixed, and the result must still suit it.
#[utoipa::path(patch, path = "/links/{id}", tag = "links",
    params(("id" = i64, Path, description = "Link id")), request_body = UpdateLinkRequest,
    responses((status = 200, description = "Updated", body = ProjectLink)))]
pub async fn update_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateLinkRequest>,
) -> ApiResult<Json<ProjectLink>> {
    let link = state.storage.link(id).await?;
    project_for_change(&state, &caller, link.project_id, Action::UpdateProject).await?;
    let changes = LinkChanges {
        name: request.name,
        environment: request.environment,
        location: request.location,
        provider: request.provider,
        default_branch: request.default_branch,
        namespace: request.namespace,
    };
    let updated = state
        .storage
        .update_link(id, request.version, &changes, &caller.actor)
        .await;
    versioned(updated, || state.storage.link(id)).await
}

#[utoipa::path(delete, path = "/links/{id}", tag = "links",
    params(("id" = i64, Path, description = "Link id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let link = state.storage.link(id).await?;
    project_for_change(&state, &caller, link.project_id, Action::UpdateProject).await?;
    state.storage.delete_link(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
