//! Move requests: production moves asked by someone who may not make them alone (`PATCH
//! /jobs/{id}` answers 202 with one), approved or rejected by a `projets` or `admin` user.

use axum::extract::State;
use axum::Json;
use domain::move_request::{MoveRequest, MoveStatus};
use domain::policy::{Action, Object};
use domain::Job;
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

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
    caller: Caller,
    ApiQuery(query): ApiQuery<MoveRequestsQuery>,
) -> ApiResult<Json<Page<MoveRequest>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1 to 500"));
    }
    let requests = state
        .storage
        .move_requests(query.status, query.job_id, limit)
        .await?;
    Ok(Json(Page::complete(requests)))
}

/// One move request.
#[utoipa::path(get, path = "/move-requests/{id}", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")),
    responses((status = 200, description = "The request", body = MoveRequest)))]
pub async fn get_move_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MoveRequest>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.move_request(id).await?))
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

/// May the caller decide this request: `projets` or `admin`, never the requester.
async fn may_decide(state: &AppState, caller: &Caller, request: &MoveRequest) -> ApiResult<()> {
    let project = state.storage.project_access(request.project_id).await?;
    let object = Object::project(project.owner_id).with_launcher(request.requested_by);
    caller.may(Action::ApproveMove, &object, None)
}

/// Approve a pending request: the job moves to the requested window (409 if the job changed
/// since the request, which is then `superseded`).
#[utoipa::path(post, path = "/move-requests/{id}/approve", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")),
    responses((status = 200, description = "Approved: the job moved", body = MoveApproval)))]
pub async fn approve_move_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MoveApproval>> {
    let request = state.storage.move_request(id).await?;
    may_decide(&state, &caller, &request).await?;
    let project = state.storage.project_access(request.project_id).await?;
    super::projects::ensure_active(&project)?;
    let (request, job) = state.storage.approve_move(id, &caller.actor).await?;
    Ok(Json(MoveApproval { request, job }))
}

/// Reject a pending request: the job stays where it is.
#[utoipa::path(post, path = "/move-requests/{id}/reject", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")), request_body = MoveDecision,
    responses((status = 200, description = "Rejected", body = MoveRequest)))]
pub async fn reject_move_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(decision): ApiJson<MoveDecision>,
) -> ApiResult<Json<MoveRequest>> {
    let request = state.storage.move_request(id).await?;
    may_decide(&state, &caller, &request).await?;
    let reason = decision.reason.unwrap_or_default();
    Ok(Json(
        state
            .storage
            .reject_move(id, &reason, &caller.actor)
            .await?,
    ))
}

/// Withdraw one's own pending request.
#[utoipa::path(post, path = "/move-requests/{id}/withdraw", tag = "calendar",
    params(("id" = i64, Path, description = "Move request id")),
    responses((status = 200, description = "Withdrawn", body = MoveRequest)))]
pub async fn withdraw_move_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MoveRequest>> {
    let request = state.storage.move_request(id).await?;
    caller.may(
        Action::WithdrawMove,
        &Object::none().with_launcher(request.requested_by),
        None,
    )?;
    Ok(Json(state.storage.withdraw_move(id, &caller.actor).await?))
}
