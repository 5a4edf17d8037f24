//! Move requests: production moves asked by someone who may not make them alone (`PATCH
//! /jobs/{id}` answers 202 with one), approved or rejected by a `projets` or `admin` user.

use axum::extract::State;
use axum::Json;
use domain::move_request::{MoveRequest, MoveStatus};
use domain::Job;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_move_requests))
        .routes(routes!(get_move_request))
        .routes(routes!(approve_move_request))
        .routes(routes!(reject_move_request))
        .routes(routes!(withdraw_move_request))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MoveRequestsQuery {
    /// Only requests in this state (`pending` for the approvers' queue).
    status: Option<MoveStatus>,
    /// Only this job's requests.
    job_id: Option<i64>,
    /// At most this many, newest first (1 to 500, 100 by default).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Move requests, newest first.
#[utoipa::path(get, path = "/move-requests", tag = "calendar",
    params(MoveRequestsQuery),
    responses((status = 200, description = "The requests", body = Page<MoveRequest>)))]
pub async fn list_move_requests(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<MoveRequestsQuery>,
) -> ApiResult<Json<Page<MoveRequest>>> {
    let requests = services::moves::list(
        &state.hub,
        &caller,
        query.status,
        query.job_id,
        query.limit.unwrap_or(100),
    )
    .await?;
    Ok(Json(Page::complete(requests)))
}

/// One move request.
#[utoipa::path(get, path = "/move-requests/{id}", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")),
    responses((status = 200, description = "The request", body = MoveRequest)))]
pub async fn get_move_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MoveRequest>> {
    json(services::moves::get(&state.hub, &caller, id).await)
}

/// An approved request and the job it moved.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MoveApproval {
    pub request: MoveRequest,
    pub job: Job,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveDecision {
    /// Why (kept with the request; shown to the requester). At most 1,000 characters.
    reason: Option<String>,
}

/// Approve a pending request: the job moves to the requested window (409 if the job changed
/// since the request, which is then `superseded`).
#[utoipa::path(post, path = "/move-requests/{id}/approve", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")),
    responses((status = 200, description = "Approved: the job moved", body = MoveApproval)))]
pub async fn approve_move_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MoveApproval>> {
    let (request, job) = services::moves::approve(&state.hub, &caller, id).await?;
    Ok(Json(MoveApproval { request, job }))
}

/// Reject a pending request: the job stays where it is.
#[utoipa::path(post, path = "/move-requests/{id}/reject", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")), request_body = MoveDecision,
    responses((status = 200, description = "Rejected", body = MoveRequest)))]
pub async fn reject_move_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(decision): ApiJson<MoveDecision>,
) -> ApiResult<Json<MoveRequest>> {
    json(services::moves::reject(&state.hub, &caller, id, decision.reason.as_deref()).await)
}

/// Withdraw one's own pending request.
#[utoipa::path(post, path = "/move-requests/{id}/withdraw", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")),
    responses((status = 200, description = "Withdrawn", body = MoveRequest)))]
pub async fn withdraw_move_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MoveRequest>> {
    json(services::moves::withdraw(&state.hub, &caller, id).await)
}
