//! `/projects/{id}/links` and `/links/{id}`: a project's Git repositories, Ansible inventories,
//! Terraform plans and Kubernetes clusters, as link records.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::{GitProvider, LinkKind, ProjectLink};
use serde::Deserialize;
use services::storage::{LinkChanges, NewLink};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_links, create_link))
        .routes(routes!(get_link, update_link, delete_link))
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
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LinkQuery>,
) -> ApiResult<Json<Page<ProjectLink>>> {
    Ok(Json(Page::complete(
        services::links::list(&state.hub, &caller, id, query.kind).await?,
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
    /// Git repositories: the name of the project secret that signs their webhooks.
    webhook_secret_name: Option<String>,
    /// Git repositories: the name of the project secret holding their API / HTTPS token.
    token_secret: Option<String>,
    /// GitHub and GitLab repositories with a token: post each run's state as a commit status.
    #[serde(default)]
    report_status: bool,
}

/// Link a Git repository, Ansible inventory, Terraform plan or Kubernetes cluster to a project.
#[utoipa::path(post, path = "/projects/{id}/links", tag = "links",
    params(("id" = i64, Path, description = "Project id")), request_body = CreateLinkRequest,
    responses((status = 201, description = "Created", body = ProjectLink)))]
pub async fn create_link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CreateLinkRequest>,
) -> ApiResult<(StatusCode, Json<ProjectLink>)> {
    let link = NewLink {
        project_id: id,
        kind: request.kind,
        name: request.name,
        environment: request.environment,
        location: request.location,
        provider: request.provider,
        default_branch: request.default_branch,
        namespace: request.namespace,
        webhook_secret_name: request.webhook_secret_name,
        token_secret: request.token_secret,
        report_status: request.report_status,
    };
    let created = services::links::create(&state.hub, &caller, link).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/links/{id}", tag = "links",
    params(("id" = i64, Path, description = "Link id")),
    responses((status = 200, description = "The link", body = ProjectLink)))]
pub async fn get_link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectLink>> {
    json(services::links::get(&state.hub, &caller, id).await)
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
    #[serde(default, deserialize_with = "super::nullable")]
    webhook_secret_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    token_secret: Option<Option<String>>,
    report_status: Option<bool>,
}

/// Edit a link; its kind is fixed, and the result must still suit it.
#[utoipa::path(patch, path = "/links/{id}", tag = "links",
    params(("id" = i64, Path, description = "Link id")), request_body = UpdateLinkRequest,
    responses((status = 200, description = "Updated", body = ProjectLink)))]
pub async fn update_link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateLinkRequest>,
) -> ApiResult<Json<ProjectLink>> {
    let changes = LinkChanges {
        name: request.name,
        environment: request.environment,
        location: request.location,
        provider: request.provider,
        default_branch: request.default_branch,
        namespace: request.namespace,
        webhook_secret_name: request.webhook_secret_name,
        token_secret: request.token_secret,
        report_status: request.report_status,
    };
    json(services::links::update(&state.hub, &caller, id, request.version, changes).await)
}

#[utoipa::path(delete, path = "/links/{id}", tag = "links",
    params(("id" = i64, Path, description = "Link id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    services::links::delete(&state.hub, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
