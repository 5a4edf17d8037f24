//! `/projects/{id}/clusters`: a project's Kubernetes clusters. The kubeconfig goes in, is checked
//! and kept in the secret store; answers say what it holds (server, context, namespace, CA
//! fingerprint, how the user signs in) and never the kubeconfig.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::kubernetes::Cluster;
use services::kubernetes::{ClusterList, ClusterRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clusters, add_cluster))
        .routes(routes!(get_cluster, replace_cluster, delete_cluster))
        .routes(routes!(check_cluster))
}

/// The project's clusters (what their kubeconfigs say, and the last check) and its older
/// `k8s_cluster` links, which `POST` with `link` upgrades.
#[utoipa::path(get, path = "/projects/{id}/clusters", tag = "kubernetes",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "Clusters and cluster links", body = ClusterList)))]
pub async fn list_clusters(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ClusterList>> {
    Ok(Json(
        services::kubernetes::list(&state.hub, &caller, id).await?,
    ))
}

/// Adds a cluster from a kubeconfig (the project's owner among projets, or an admin). The
/// kubeconfig is parsed and checked — the context exists, certificate data decodes, no file of
/// the uHub host is read, `exec` / `auth-provider` users only when the admin allows them
/// (`UHUB_KUBE_ALLOW_EXEC`) — cut down to the chosen context and kept in the secret store only.
#[utoipa::path(post, path = "/projects/{id}/clusters", tag = "kubernetes",
    params(("id" = i64, Path, description = "Project id")),
    request_body = ClusterRequest,
    responses((status = 201, description = "Added (the kubeconfig is not echoed)", body = Cluster),
        (status = 409, description = "The project has a cluster of that name"),
        (status = 422, description = "The kubeconfig cannot be used (the reason says why)"),
        (status = 503, description = "The secret store is unavailable")))]
pub async fn add_cluster(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ClusterRequest>,
) -> ApiResult<(StatusCode, Json<Cluster>)> {
    let cluster = services::kubernetes::create(&state.hub, &caller, id, &request).await?;
    Ok((StatusCode::CREATED, Json(cluster)))
}

#[utoipa::path(get, path = "/projects/{id}/clusters/{cluster}", tag = "kubernetes",
    params(("id" = i64, Path, description = "Project id"), ("cluster" = i64, Path, description = "Cluster id")),
    responses((status = 200, description = "The cluster", body = Cluster)))]
pub async fn get_cluster(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, cluster)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Cluster>> {
    Ok(Json(
        services::kubernetes::get(&state.hub, &caller, id, cluster).await?,
    ))
}

/// Replaces the cluster's kubeconfig (checked like a new one); the last check is forgotten.
#[utoipa::path(put, path = "/projects/{id}/clusters/{cluster}", tag = "kubernetes",
    params(("id" = i64, Path, description = "Project id"), ("cluster" = i64, Path, description = "Cluster id")),
    request_body = ClusterRequest,
    responses((status = 200, description = "Replaced", body = Cluster)))]
pub async fn replace_cluster(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, cluster)): ApiPath<(i64, i64)>,
    ApiJson(request): ApiJson<ClusterRequest>,
) -> ApiResult<Json<Cluster>> {
    Ok(Json(
        services::kubernetes::replace(&state.hub, &caller, id, cluster, &request).await?,
    ))
}

/// Removes the cluster and its kubeconfig from the secret store.
#[utoipa::path(delete, path = "/projects/{id}/clusters/{cluster}", tag = "kubernetes",
    params(("id" = i64, Path, description = "Project id"), ("cluster" = i64, Path, description = "Cluster id")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_cluster(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, cluster)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    services::kubernetes::delete(&state.hub, &caller, id, cluster).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the cluster now: `/version` (reachable, TLS verified against the kubeconfig's CA,
/// server version), the namespace, and what uHub may do there (`SelfSubjectRulesReview`). The
/// result is kept with the cluster; a failing cluster is still a 200 whose check says why.
#[utoipa::path(post, path = "/projects/{id}/clusters/{cluster}/check", tag = "kubernetes",
    params(("id" = i64, Path, description = "Project id"), ("cluster" = i64, Path, description = "Cluster id")),
    responses((status = 200, description = "The cluster with its new check", body = Cluster)))]
pub async fn check_cluster(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, cluster)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Cluster>> {
    Ok(Json(
        services::kubernetes::check(&state.hub, &caller, id, cluster).await?,
    ))
}
