//! `/projects/{id}/secrets`: a project's secrets, write-only, listed by name.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::SecretInfo;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_secrets))
        .routes(routes!(put_secret, delete_secret))
}

/// A project's secrets, by name only: values are never returned.
#[utoipa::path(get, path = "/projects/{id}/secrets", tag = "secrets",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "Names and dates", body = Page<SecretInfo>)))]
pub async fn list_secrets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<SecretInfo>>> {
    Ok(Json(Page::complete(
        services::secrets::list(&state.hub, &caller, id).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRequest {
    /// Injected as the environment variable of the secret's name into the project's runs, and
    /// masked as `*****` in their logs. Never returned.
    #[schema(max_length = 65536)]
    value: String,
    /// The environment whose runs alone receive it; absent = every run of the project.
    #[serde(default)]
    environment: Option<String>,
}

/// Which secret of a name: an environment's, or (absent) the project-wide one.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SecretScopeQuery {
    /// The environment of the secret; absent = the project-wide one.
    environment: Option<String>,
}

/// Create or replace a secret, project-wide or for one environment's runs (the project's owner
/// among projets, or an admin). Names that change how programs start (`LD_*`, `BASH_ENV`,
/// `PYTHON*`, `GIT_*`, …) are refused with 422.
#[utoipa::path(put, path = "/projects/{id}/secrets/{name}", tag = "secrets",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Secret name: letters, digits, _")),
    request_body = SecretRequest,
    responses((status = 200, description = "Stored (the value is not echoed)", body = SecretInfo)))]
pub async fn put_secret(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
    ApiJson(request): ApiJson<SecretRequest>,
) -> ApiResult<Json<SecretInfo>> {
    json(
        services::secrets::put(
            &state.hub,
            &caller,
            id,
            &name,
            &request.value,
            request.environment.as_deref(),
        )
        .await,
    )
}

#[utoipa::path(delete, path = "/projects/{id}/secrets/{name}", tag = "secrets",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Secret name"), SecretScopeQuery),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_secret(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
    ApiQuery(scope): ApiQuery<SecretScopeQuery>,
) -> ApiResult<StatusCode> {
    services::secrets::delete(&state.hub, &caller, id, &name, scope.environment.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
