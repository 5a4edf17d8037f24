//! `/projects/{id}/environments`: a project's environments (`prod` is production by default).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::EnvironmentRecord;
use serde::Deserialize;
use services::storage::{EnvironmentChanges, NewEnvironment};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiJson, ApiPath, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(
            get_environment,
            update_environment,
            delete_environment
        ))
}

/// A project's environments, in creation order.
#[utoipa::path(get, path = "/projects/{id}/environments", tag = "environments",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "The environments", body = Page<EnvironmentRecord>)))]
pub async fn list_environments(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<EnvironmentRecord>>> {
    Ok(Json(Page::complete(
        services::environments::list(&state.hub, &caller, id).await?,
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
    pub(super) fn into_new(self) -> NewEnvironment {
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateEnvironmentRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentRecord>)> {
    let created =
        services::environments::create(&state.hub, &caller, id, request.into_new()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/projects/{id}/environments/{name}", tag = "environments",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Environment name")),
    responses((status = 200, description = "The environment", body = EnvironmentRecord)))]
pub async fn get_environment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
) -> ApiResult<Json<EnvironmentRecord>> {
    json(services::environments::get(&state.hub, &caller, id, &name).await)
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
    Caller(caller): Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
    ApiJson(request): ApiJson<UpdateEnvironmentRequest>,
) -> ApiResult<Json<EnvironmentRecord>> {
    let changes = EnvironmentChanges {
        name: request.name,
        is_production: request.is_production,
    };
    json(
        services::environments::update(&state.hub, &caller, id, &name, request.version, changes)
            .await,
    )
}

/// Remove an environment that no job, run or link uses (409 otherwise).
#[utoipa::path(delete, path = "/projects/{id}/environments/{name}", tag = "environments",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Environment name")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_environment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
) -> ApiResult<StatusCode> {
    services::environments::delete(&state.hub, &caller, id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
