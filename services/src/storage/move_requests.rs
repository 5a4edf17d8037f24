//! Move requests: a production move by someone who may not make it alone waits here for a
//! `projets` or `admin` decision. Approving applies the move through the job's own optimistic
//! concurrency, so a request about a job changed meanwhile can never overwrite that change.

use chrono::{DateTime, Utc};
use domain::move_request::{MoveRequest, MoveStatus};
use domain::Job;

use super::{audit, now, on_db, reads, stored_precision, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

#[derive(sqlx::FromRow)]
struct MoveRow {
    id: i64,
    job_id: i64,
    job_title: String,
    project_id: i64,
    environment: Option<String>,
    requested_by: Option<i64>,
    requested_by_username: Option<String>,
    based_on_version: i64,
    from_start: DateTime<Utc>,
    from_end: Option<DateTime<Utc>>,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
    status: String,
    decided_by: Option<i64>,
    decided_by_username: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    reason: String,
    created_at: DateTime<Utc>,
}

const MOVE_SELECT: &str = "SELECT m.id, m.job_id, j.title AS job_title, j.project_id, e.name AS environment, \
     m.requested_by, r.username AS requested_by_username, m.based_on_version, m.from_start, m.from_end, \
     m.planned_start, m.planned_end, m.status, m.decided_by, d.username AS decided_by_username, \
     m.decided_at, m.reason, m.created_at \
     FROM job_move_requests m JOIN jobs j ON j.id = m.job_id \
     LEFT JOIN environments e ON e.id = j.environment_id \
     LEFT JOIN users r ON r.id = m.requested_by LEFT JOIN users d ON d.id = m.decided_by";

impl TryFrom<MoveRow> for MoveRequest {
    type Error = ServiceError;

    fn try_from(row: MoveRow) -> ServiceResult<MoveRequest> {
        Ok(MoveRequest {
            id: row.id,
            job_id: row.job_id,
            job_title: row.job_title,
            project_id: row.project_id,
            environment: row.environment,
            requested_by: row.requested_by,
            requested_by_username: row.requested_by_username,
            based_on_version: row.based_on_version,
            from_start: row.from_start,
            from_end: row.from_end,
            planned_start: row.planned_start,
            planned_end: row.planned_end,
            status: row.status.parse().map_err(|e| {
                ServiceError::Internal(format!("stored move request is invalid: {e}"))
            })?,
            decided_by: row.decided_by,
            decided_by_username: row.decided_by_username,
            decided_at: row.decided_at,
            reason: row.reason,
            created_at: row.created_at,
        })
    }
}

/// The longest reason kept with a decision.
const MAX_REASON_CHARS: usize = 1000;

reads! {
    fn move_request(id: i64) -> MoveRequest;
    fn move_requests(status: Option<MoveStatus>, job_id: Option<i64>, limit: u32) -> Vec<MoveRequest>;
    fn pending_moves() -> Vec<MoveRequest>;
}

fn pending(request: &MoveRequest) -> ServiceResult<()> {
    if request.status == MoveStatus::Pending {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!(
            "this move request is already {}",
            request.status.as_str()
        )))
    }
}

impl Tx {
    /// Records a request to move `job` (as read, at `based_on_version`) to a new window. A
    /// pending request of the same job is superseded by this one: the newest ask is the one
    /// that stands.
    pub async fn request_move(
        &mut self,
        job: &Job,
        based_on_version: i64,
        planned_start: DateTime<Utc>,
        planned_end: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> ServiceResult<MoveRequest> {
        if job.version != based_on_version {
            return Err(ServiceError::stale("job", job.version).with_current(job));
        }
        if planned_end.is_some_and(|end| end <= planned_start) {
            return Err(ServiceError::invalid(
                "planned_end",
                "must be after planned_start",
            ));
        }
        let at = now();
        let detail = serde_json::json!({
            "version": based_on_version,
            "from": { "planned_start": job.planned_start, "planned_end": job.planned_end },
            "to": { "planned_start": planned_start, "planned_end": planned_end },
        });
        let id: i64 = on_db!(self, c => {
            sqlx::query(
                "UPDATE job_move_requests SET status = 'superseded', decided_at = $1 \
                 WHERE job_id = $2 AND status = 'pending'",
            )
            .bind(at)
            .bind(job.id)
            .execute(&mut *c)
            .await?;
            sqlx::query_scalar(
                "INSERT INTO job_move_requests (job_id, requested_by, based_on_version, from_start, \
                 from_end, planned_start, planned_end, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(job.id)
            .bind(actor.user_id)
            .bind(based_on_version)
            .bind(job.planned_start)
            .bind(job.planned_end)
            .bind(stored_precision(planned_start))
            .bind(planned_end.map(stored_precision))
            .bind(at)
            .fetch_one(&mut *c)
            .await
        })?;
        let detail = serde_json::json!({ "move_request": id, "move": detail });
        audit::write(
            self,
            actor,
            "job.move_request",
            Some(("job", job.id)),
            &detail,
        )
        .await?;
        self.move_request(id).await
    }
}

impl Db {
    pub async fn move_request(&mut self, id: i64) -> ServiceResult<MoveRequest> {
        let sql = format!("{MOVE_SELECT} WHERE m.id = $1");
        on_db!(self, c => sqlx::query_as::<_, MoveRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound {
                what: "move request",
            })?
            .try_into()
    }

    /// Move requests, newest first; `status` and `job_id` narrow them.
    pub async fn move_requests(
        &mut self,
        status: Option<MoveStatus>,
        job_id: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Vec<MoveRequest>> {
        let mut conditions = Vec::new();
        if status.is_some() {
            conditions.push(format!("m.status = ${}", conditions.len() + 1));
        }
        if job_id.is_some() {
            conditions.push(format!("m.job_id = ${}", conditions.len() + 1));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!("{MOVE_SELECT}{filter} ORDER BY m.id DESC LIMIT {limit}");
        let rows = on_db!(self, c => {
            let mut query = sqlx::query_as::<_, MoveRow>(&sql);
            if let Some(status) = status {
                query = query.bind(status.as_str());
            }
            if let Some(job_id) = job_id {
                query = query.bind(job_id);
            }
            query.fetch_all(&mut *c).await
        })?;
        rows.into_iter().map(MoveRequest::try_from).collect()
    }

    /// Every pending request (few at any time): the calendar shows each on its job.
    pub async fn pending_moves(&mut self) -> ServiceResult<Vec<MoveRequest>> {
        self.move_requests(Some(MoveStatus::Pending), None, 10_000)
            .await
    }
}

impl Tx {
    /// Writes a pending request's new status and audits it; a request no longer pending
    /// (decided by someone else meanwhile) is a conflict.
    async fn close_pending_move(
        &mut self,
        request: &MoveRequest,
        status: MoveStatus,
        reason: &str,
        actor: &Actor,
        audit_action: &'static str,
    ) -> ServiceResult<()> {
        pending(request)?;
        let at = now();
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE job_move_requests SET status = $1, decided_by = $2, decided_at = $3, reason = $4 \
                 WHERE id = $5 AND status = 'pending'",
            )
            .bind(status.as_str())
            .bind(actor.user_id)
            .bind(at)
            .bind(reason)
            .bind(request.id)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        if changed == 0 {
            // Decided by someone else between the read and the write.
            return pending(&self.move_request(request.id).await?);
        }
        let detail = serde_json::json!({ "move_request": request.id, "reason": reason });
        audit::write(
            self,
            actor,
            audit_action,
            Some(("job", request.job_id)),
            &detail,
        )
        .await
    }

    /// Approves a pending request: the job moves (as the approver, based on the version the
    /// request was made on). A job changed since the request is a stale version (409): the
    /// transaction is then to be dropped and the request marked with [`Tx::supersede_move`].
    pub async fn approve_move(
        &mut self,
        id: i64,
        actor: &Actor,
    ) -> ServiceResult<(MoveRequest, Job)> {
        let request = self.move_request(id).await?;
        self.close_pending_move(
            &request,
            MoveStatus::Approved,
            "",
            actor,
            "job.move_approve",
        )
        .await?;
        let job = self
            .reschedule_job(
                request.job_id,
                request.based_on_version,
                request.planned_start,
                request.planned_end,
                actor,
            )
            .await?;
        Ok((self.move_request(id).await?, job))
    }

    /// Marks a pending request whose job changed after it was made: it can no longer apply.
    pub async fn supersede_move(&mut self, id: i64, actor: &Actor) -> ServiceResult<MoveRequest> {
        let request = self.move_request(id).await?;
        self.close_pending_move(
            &request,
            MoveStatus::Superseded,
            "the job changed after the request",
            actor,
            "job.move_supersede",
        )
        .await?;
        self.move_request(id).await
    }

    /// Rejects a pending request, with the decider's reason; the job stays where it is.
    pub async fn reject_move(
        &mut self,
        id: i64,
        reason: &str,
        actor: &Actor,
    ) -> ServiceResult<MoveRequest> {
        let reason = reason.trim();
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ServiceError::invalid(
                "reason",
                format!("at most {MAX_REASON_CHARS} characters"),
            ));
        }
        let request = self.move_request(id).await?;
        self.close_pending_move(
            &request,
            MoveStatus::Rejected,
            reason,
            actor,
            "job.move_reject",
        )
        .await?;
        self.move_request(id).await
    }

    /// The requester takes a pending request back.
    pub async fn withdraw_move(&mut self, id: i64, actor: &Actor) -> ServiceResult<MoveRequest> {
        let request = self.move_request(id).await?;
        self.close_pending_move(
            &request,
            MoveStatus::Withdrawn,
            "",
            actor,
            "job.move_withdraw",
        )
        .await?;
        self.move_request(id).await
    }
}
