//! Git: `POST /hooks/git/{link_id}` (webhooks from GitHub, GitLab or any sender of Standard
//! Webhooks, proven by the link's webhook secret), `GET /links/{id}/deliveries` and
//! `GET /jobs/{id}/changes` (the commits and merge requests linked to a job), the branches and
//! commits of a repository link, and the deploy ledger `GET /projects/{id}/deployments`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use domain::{CodeChange, Delivery};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiPath, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive_hook))
        .routes(routes!(list_deliveries))
        .routes(routes!(replay_delivery))
        .routes(routes!(list_changes, link_change))
        .routes(routes!(unlink_change))
        .routes(routes!(list_branches))
        .routes(routes!(list_commits))
        .routes(routes!(list_deployments))
        .routes(routes!(list_merge_requests))
}

/// `?state=` of a merge request listing.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MergeRequestQuery {
    /// `open` (default), `merged`, `closed` or `all`.
    state: Option<services::forge_api::MergeRequestState>,
}

/// A GitHub or GitLab repository's pull / merge requests, most recently updated first (50 at
/// most), each with its CI status (the first 20) and the jobs of the project it names. Read
/// from the provider's API with the link's token; `503 remote_unavailable` (with
/// `Retry-After` on a rate limit) or `502 remote_refused` when the provider does not answer.
#[utoipa::path(get, path = "/links/{id}/merge-requests", tag = "links",
    params(("id" = i64, Path, description = "Repository link id"), MergeRequestQuery),
    responses((status = 200, description = "The merge requests", body = Page<services::git_mirror::MergeRequest>)))]
pub async fn list_merge_requests(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    super::ApiQuery(query): super::ApiQuery<MergeRequestQuery>,
) -> ApiResult<Json<Page<services::git_mirror::MergeRequest>>> {
    let wanted = query
        .state
        .unwrap_or(services::forge_api::MergeRequestState::Open);
    Ok(Json(Page::complete(
        services::git_mirror::merge_requests(&state.hub, &caller, id, wanted).await?,
    )))
}

/// `?environment=` of the deploy ledger.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeploymentQuery {
    /// Only the deployments to this environment of the project.
    environment: Option<String>,
}

/// The deploy ledger: the project's successful runs of a commit (actions from a repository),
/// newest first, each with the commits since the previous deployment of the same repository
/// in the same environment.
#[utoipa::path(get, path = "/projects/{id}/deployments", tag = "projects",
    params(("id" = i64, Path, description = "Project id"), DeploymentQuery),
    responses((status = 200, description = "The deployments, newest first", body = Page<services::deployments::Deployment>)))]
pub async fn list_deployments(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    super::ApiQuery(query): super::ApiQuery<DeploymentQuery>,
) -> ApiResult<Json<Page<services::deployments::Deployment>>> {
    Ok(Json(Page::complete(
        services::deployments::list(&state.hub, &caller, id, query.environment.as_deref()).await?,
    )))
}

/// `?ref=&limit=` of a commit listing.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CommitQuery {
    /// A branch, tag or SHA (default: the link's default branch, else the repository's HEAD).
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    /// 1 to 200 (default 30).
    limit: Option<u32>,
}

/// A repository's branches, read through the Git protocol from uHub's mirror of it (fetched
/// now). `502`-like failures of the remote answer `422 unavailable` naming no URL.
#[utoipa::path(get, path = "/links/{id}/branches", tag = "links",
    params(("id" = i64, Path, description = "Repository link id")),
    responses((status = 200, description = "The branches, by name", body = Page<services::git_mirror::Branch>)))]
pub async fn list_branches(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<services::git_mirror::Branch>>> {
    Ok(Json(Page::complete(
        services::git_mirror::branches(&state.hub, &caller, id).await?,
    )))
}

/// A repository's latest commits on a ref, newest first, each with the jobs of the project it
/// names (`UHUB-<id>`).
#[utoipa::path(get, path = "/links/{id}/commits", tag = "links",
    params(("id" = i64, Path, description = "Repository link id"), CommitQuery),
    responses((status = 200, description = "The commits, newest first", body = Page<services::git_mirror::Commit>)))]
pub async fn list_commits(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    super::ApiQuery(query): super::ApiQuery<CommitQuery>,
) -> ApiResult<Json<Page<services::git_mirror::Commit>>> {
    Ok(Json(Page::complete(
        services::git_mirror::commits(
            &state.hub,
            &caller,
            id,
            query.git_ref.as_deref(),
            query.limit.unwrap_or(30),
        )
        .await?,
    )))
}

/// What a webhook delivery did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HookAnswer {
    /// This delivery id was received before: nothing was done again.
    duplicate: bool,
    /// The delivery as kept (absent for a duplicate).
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<Delivery>,
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// For the repository's webhooks. GitHub: `X-GitHub-Event`, `X-GitHub-Delivery` and
/// `X-Hub-Signature-256` (HMAC-SHA256 of the raw body under the link's webhook secret). GitLab:
/// `X-Gitlab-Event` with `X-Gitlab-Token` (the secret), or the Standard Webhooks headers
/// `webhook-id`, `webhook-timestamp` (within 5 minutes), `webhook-signature`. Commits, pull
/// requests and merge requests naming `UHUB-<job id>` or a job's address are linked to that job
/// (jobs of the link's project only).
#[utoipa::path(post, path = "/hooks/git/{link_id}", tag = "links", security(()),
    params(("link_id" = i64, Path, description = "Repository link id")),
    request_body(content = serde_json::Value, description = "The provider's event payload (JSON)"),
    responses(
        (status = 202, description = "Verified and acted on", body = HookAnswer),
        (status = 200, description = "A delivery id received before: nothing done again", body = HookAnswer),
        (status = 401, description = "Missing or wrong signature, or no webhook secret on the link", body = super::docs::ErrorBody),
        (status = 404, description = "No such repository link", body = super::docs::ErrorBody),
        (status = 422, description = "Not a JSON object, or a missing delivery id", body = super::docs::ErrorBody),
    ))]
pub async fn receive_hook(
    State(state): State<AppState>,
    ApiPath(link_id): ApiPath<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<HookAnswer>)> {
    let hook = services::git::HookHeaders {
        github_event: header(&headers, "x-github-event"),
        github_delivery: header(&headers, "x-github-delivery"),
        github_signature: header(&headers, "x-hub-signature-256"),
        gitlab_event: header(&headers, "x-gitlab-event"),
        gitlab_token: header(&headers, "x-gitlab-token"),
        gitlab_delivery: header(&headers, "x-gitlab-event-uuid"),
        webhook_id: header(&headers, "webhook-id"),
        webhook_timestamp: header(&headers, "webhook-timestamp"),
        webhook_signature: header(&headers, "webhook-signature"),
    };
    Ok(
        match services::git::receive(&state.hub, link_id, &hook, &body).await? {
            services::git::Received::Accepted(delivery) => (
                StatusCode::ACCEPTED,
                Json(HookAnswer {
                    duplicate: false,
                    delivery: Some(delivery),
                }),
            ),
            services::git::Received::Duplicate => (
                StatusCode::OK,
                Json(HookAnswer {
                    duplicate: true,
                    delivery: None,
                }),
            ),
        },
    )
}

/// The webhook deliveries a repository link received, newest first (at most 200): event,
/// delivery id, time, outcome and how many changes each linked. Never a secret.
#[utoipa::path(get, path = "/links/{id}/deliveries", tag = "links",
    params(("id" = i64, Path, description = "Repository link id")),
    responses((status = 200, description = "The deliveries", body = Page<Delivery>)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<Delivery>>> {
    Ok(Json(Page::complete(
        services::git::deliveries(&state.hub, &caller, id).await?,
    )))
}

/// Acts again on a delivery (the admin or the project's owner): its kept body is read as it
/// was, changes naming jobs created since are linked now. Kept as a delivery of its own
/// (`<delivery id>#replay-<n>`, outcome `replayed`).
#[utoipa::path(post, path = "/links/{id}/deliveries/{delivery}/replay", tag = "links",
    params(("id" = i64, Path, description = "Repository link id"),
           ("delivery" = i64, Path, description = "The delivery's `id` in the listing")),
    responses((status = 201, description = "The replay, as kept", body = Delivery)))]
pub async fn replay_delivery(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, delivery)): ApiPath<(i64, i64)>,
) -> ApiResult<(StatusCode, Json<Delivery>)> {
    let replay = services::git::replay(&state.hub, &caller, id, delivery).await?;
    Ok((StatusCode::CREATED, Json(replay)))
}

/// The commits and merge requests linked to a job, newest first.
#[utoipa::path(get, path = "/jobs/{id}/changes", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, description = "The linked changes", body = Page<CodeChange>)))]
pub async fn list_changes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<CodeChange>>> {
    Ok(Json(Page::complete(
        services::git::changes(&state.hub, &caller, id).await?,
    )))
}

/// A change to link by hand: a commit (`sha`, 7 to 64 hex digits) or a merge request (`merge_request`, its number).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkChangeRequest {
    /// A Git repository link of the job's project.
    link_id: i64,
    sha: Option<String>,
    merge_request: Option<i64>,
}

/// Links a commit or a merge request to a job by hand (whoever may update the job). A commit is
/// read from the repository: its full SHA, first line and author.
#[utoipa::path(post, path = "/jobs/{id}/changes", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")), request_body = LinkChangeRequest,
    responses(
        (status = 201, description = "Linked", body = CodeChange),
        (status = 409, description = "Already linked", body = super::docs::ErrorBody),
    ))]
pub async fn link_change(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    super::ApiJson(request): super::ApiJson<LinkChangeRequest>,
) -> ApiResult<(StatusCode, Json<CodeChange>)> {
    use services::git_manual::ChangeRef;
    let change = match (request.sha, request.merge_request) {
        (Some(sha), None) => ChangeRef::Commit(sha.trim().to_ascii_lowercase()),
        (None, Some(number)) => ChangeRef::MergeRequest(number),
        _ => {
            return Err(
                services::ServiceError::invalid("sha", "give either sha or merge_request").into(),
            )
        }
    };
    let linked =
        services::git_manual::link(&state.hub, &caller, id, request.link_id, change).await?;
    Ok((StatusCode::CREATED, Json(linked)))
}

/// Unlinks a change from a job (whoever may update the job).
#[utoipa::path(delete, path = "/jobs/{id}/changes/{change_id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id"), ("change_id" = i64, Path, description = "Change id")),
    responses((status = 204, description = "Unlinked")))]
pub async fn unlink_change(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, change_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    services::git_manual::unlink(&state.hub, &caller, id, change_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
