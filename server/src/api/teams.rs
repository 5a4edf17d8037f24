//! `/teams`: named groups of users; everyone reads them, admins change them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use services::storage::Team;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiJson, ApiPath, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, rename_team, delete_team))
        .routes(routes!(add_member, remove_member))
}

#[utoipa::path(get, path = "/teams", tag = "admin",
    responses((status = 200, description = "Every team with its members", body = Page<Team>)))]
pub async fn list_teams(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Page<Team>>> {
    Ok(Json(Page::complete(
        services::teams::list(&state.hub, &caller).await?,
    )))
}

#[utoipa::path(get, path = "/teams/{id}", tag = "admin", params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, description = "The team", body = Team)))]
pub async fn get_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Team>> {
    json(services::teams::get(&state.hub, &caller, id).await)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    name: String,
}

#[utoipa::path(post, path = "/teams", tag = "admin", request_body = TeamRequest,
    responses((status = 201, description = "Created", body = Team)))]
pub async fn create_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<TeamRequest>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let team = services::teams::create(&state.hub, &caller, &request.name).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

#[utoipa::path(patch, path = "/teams/{id}", tag = "admin", params(("id" = i64, Path, description = "Team id")), request_body = TeamRequest,
    responses((status = 200, description = "Renamed", body = Team)))]
pub async fn rename_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<TeamRequest>,
) -> ApiResult<Json<Team>> {
    json(services::teams::rename(&state.hub, &caller, id, &request.name).await)
}

#[utoipa::path(delete, path = "/teams/{id}", tag = "admin", params(("id" = i64, Path, description = "Team id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    services::teams::delete(&state.hub, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/teams/{id}/members/{user_id}", tag = "admin", params(("id" = i64, Path, description = "Team id"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The team with its members", body = Team)))]
pub async fn add_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((team_id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Team>> {
    json(services::teams::add_member(&state.hub, &caller, team_id, user_id).await)
}

#[utoipa::path(delete, path = "/teams/{id}/members/{user_id}", tag = "admin", params(("id" = i64, Path, description = "Team id"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The team with its members", body = Team)))]
pub async fn remove_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((team_id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Team>> {
    json(services::teams::remove_member(&state.hub, &caller, team_id, user_id).await)
}
