//! Move requests: production moves asked by someone who may not make them alone (see
//! [`crate::jobs::update`]), decided by a `projets` or `admin` user who did not ask for them.

use domain::move_request::MoveStatus;
use domain::policy::{Action, Object};
use domain::{Job, MoveRequest};
use tracing::instrument;

use crate::projects::ensure_active;
use crate::storage::Db;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// Move requests, newest first; `status` and `job_id` narrow them (1 to 500).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    status: Option<MoveStatus>,
    job_id: Option<i64>,
    limit: u32,
) -> ServiceResult<Vec<MoveRequest>> {
    caller.may(Action::Read, &Object::none(), None)?;
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be 1 to 500"));
    }
    hub.storage
        .read()
        .await?
        .move_requests(status, job_id, limit)
        .await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, move_request.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<MoveRequest> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.move_request(id).await
}

/// May the caller decide this request: `projets` or `admin`, never the requester.
async fn may_decide(db: &mut Db, caller: &Caller, request: &MoveRequest) -> ServiceResult<()> {
    let project = db.project_access(request.project_id).await?;
    let object = Object::project(project.owner_id).with_launcher(request.requested_by);
    caller.may(Action::ApproveMove, &object, None)
}

/// Approves a pending request: the job moves to the requested window. A job changed since the
/// request makes the request `superseded` (409).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, move_request.id = id))]
pub async fn approve(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<(MoveRequest, Job)> {
    let mut tx = hub.storage.write().await?;
    let request = tx.move_request(id).await?;
    may_decide(&mut tx, caller, &request).await?;
    ensure_active(&tx.project_access(request.project_id).await?)?;
    match tx.approve_move(id, &caller.actor()).await {
        Ok(approved) => {
            tx.commit().await?;
            Ok(approved)
        }
        Err(error @ ServiceError::StaleVersion { .. }) => {
            // Nothing of the approval stands; the request itself can no longer apply.
            drop(tx);
            let mut tx = hub.storage.write().await?;
            tx.supersede_move(id, &caller.actor()).await?;
            tx.commit().await?;
            Err(error)
        }
        Err(other) => Err(other),
    }
}

/// Rejects a pending request, with a reason (at most 1,000 characters); the job stays.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, move_request.id = id))]
pub async fn reject(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    reason: Option<&str>,
) -> ServiceResult<MoveRequest> {
    let reason = reason.unwrap_or_default();
    crate::rules::free_text("reason", reason, 1000)?;
    let mut tx = hub.storage.write().await?;
    let request = tx.move_request(id).await?;
    may_decide(&mut tx, caller, &request).await?;
    let rejected = tx.reject_move(id, reason, &caller.actor()).await?;
    tx.commit().await?;
    Ok(rejected)
}

/// Withdraws one's own pending request.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, move_request.id = id))]
pub async fn withdraw(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<MoveRequest> {
    let mut tx = hub.storage.write().await?;
    let request = tx.move_request(id).await?;
    caller.may(
        Action::WithdrawMove,
        &Object::none().with_launcher(request.requested_by),
        None,
    )?;
    let withdrawn = tx.withdraw_move(id, &caller.actor()).await?;
    tx.commit().await?;
    Ok(withdrawn)
}
