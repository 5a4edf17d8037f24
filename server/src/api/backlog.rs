//! `/projects/{id}/backlog` and `/backlog/{id}`: a project's tasks and milestones.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use domain::{BacklogItem, BacklogKind, BacklogStatus};
use serde::Deserialize;
use services::storage::{BacklogChanges, BacklogFilter, NewBacklogItem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{id_cursor, json, page_limit, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_backlog, create_backlog_item))
        .routes(routes!(
            get_backlog_item,
            update_backlog_item,
            delete_backlog_item
        ))
        .routes(routes!(move_backlog_item))
}

/// Which way an item moves in its project's order.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBacklogRequest {
    direction: Direction,
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<BacklogQuery>,
) -> ApiResult<Json<Page<BacklogItem>>> {
    let limit = page_limit(query.limit, 100, 500)?;
    let filter = BacklogFilter {
        kind: query.kind,
        status: query.status,
        assignee_id: query.assignee_id,
        after: id_cursor(query.cursor.as_deref())?,
    };
    let items = services::backlog::list(&state.hub, &caller, id, &filter, limit + 1).await?;
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateBacklogRequest>,
) -> ApiResult<(StatusCode, Json<BacklogItem>)> {
    let item = NewBacklogItem {
        project_id: id,
        kind: request.kind.unwrap_or(BacklogKind::Task),
        title: request.title,
        description: request.description,
        status: request.status.unwrap_or(BacklogStatus::Todo),
        assignee_id: request.assignee_id,
        due_date: request.due_date,
    };
    let created = services::backlog::create(&state.hub, &caller, item).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/backlog/{id}", tag = "backlog",
    params(("id" = i64, Path, description = "Backlog item id")),
    responses((status = 200, description = "The item", body = BacklogItem)))]
pub async fn get_backlog_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<BacklogItem>> {
    json(services::backlog::get(&state.hub, &caller, id).await)
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateBacklogRequest>,
) -> ApiResult<Json<BacklogItem>> {
    let changes = BacklogChanges {
        kind: request.kind,
        title: request.title,
        description: request.description,
        status: request.status,
        assignee_id: request.assignee_id,
        due_date: request.due_date,
    };
    json(services::backlog::update(&state.hub, &caller, id, request.version, changes).await)
}

#[utoipa::path(delete, path = "/backlog/{id}", tag = "backlog",
    params(("id" = i64, Path, description = "Backlog item id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_backlog_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    services::backlog::delete(&state.hub, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves an item one place up or down in its project's order (its `rank`).
#[utoipa::path(post, path = "/backlog/{id}/move", tag = "backlog",
    params(("id" = i64, Path, description = "Backlog item id")), request_body = MoveBacklogRequest,
    responses((status = 200, description = "The item, in its new place", body = BacklogItem)))]
pub async fn move_backlog_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<MoveBacklogRequest>,
) -> ApiResult<Json<BacklogItem>> {
    let up = matches!(request.direction, Direction::Up);
    json(services::backlog::shift(&state.hub, &caller, id, up).await)
}
