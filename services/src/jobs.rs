//! Jobs: planned work on the calendar. Planning, editing, moving and deleting a job, with the
//! guardrails of its project, type and environment; a production move that needs approval
//! becomes a move request instead of a change.

use chrono::{DateTime, Utc};
use domain::policy::{Action, Decision, Environment, Object};
use domain::{Job, MoveRequest};
use tracing::instrument;

use crate::projects::ensure_active;
use crate::storage::{JobChanges, JobFilter, NewJob};
use crate::{rules, Caller, Hub, ServiceError, ServiceResult};

/// Jobs matching `filter`, in planned order, `limit` at most.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    filter: &JobFilter,
    limit: u32,
) -> ServiceResult<Vec<Job>> {
    caller.may(Action::Read, &Object::none(), None)?;
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            return Err(ServiceError::invalid("to", "must be after from"));
        }
    }
    hub.storage.read().await?.list_jobs(filter, limit).await
}

/// One project's jobs matching `filter` (404 for an unknown project).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list_in_project(
    hub: &Hub,
    caller: &Caller,
    filter: &JobFilter,
    limit: u32,
) -> ServiceResult<Vec<Job>> {
    caller.may(Action::Read, &Object::none(), None)?;
    if let Some(project_id) = filter.project_id {
        hub.storage.read().await?.project_access(project_id).await?;
    }
    list(hub, caller, filter, limit).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<Job> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.job(id).await
}

/// Plans a job in a project, if the policy allows it in the job's project and environment (an
/// unknown environment is a 422, an archived project refuses new jobs). The owner defaults to
/// the caller.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = job.project_id))]
pub async fn create(hub: &Hub, caller: &Caller, job: NewJob) -> ServiceResult<Job> {
    let job = NewJob {
        owner_id: job.owner_id.or(Some(caller.id())),
        ..job
    };
    let mut tx = hub.storage.write().await?;
    let project = tx.project_access(job.project_id).await?;
    let environment = match &job.environment {
        Some(name) => Some(tx.environment(job.project_id, name).await?),
        None => None,
    };
    let policy_environment = environment.as_ref().map(|e| Environment {
        name: &e.name,
        is_production: e.is_production,
    });
    caller.may(
        Action::CreateJob,
        &Object::job(project.owner_id, job.job_type),
        policy_environment.as_ref(),
    )?;
    // A job given to someone else would show them as its owner without their say.
    if job.owner_id.is_some_and(|owner| owner != caller.id()) {
        caller.may(
            Action::AssignOwner,
            &Object::job(project.owner_id, job.job_type),
            policy_environment.as_ref(),
        )?;
    }
    ensure_active(&project)?;
    rules::free_text(
        "description",
        &job.description,
        rules::MAX_DESCRIPTION_CHARS,
    )?;
    let created = tx.create_job(&job, &caller.actor()).await?;
    tx.commit().await?;
    Ok(created)
}

/// What an edit of a job did.
#[derive(Debug, Clone, PartialEq)]
pub enum JobUpdate {
    Updated(Job),
    /// A production move the caller may not make alone: it waits for approval.
    MoveRequested(MoveRequest),
}

/// Edits or moves a job. A change of its window is a reschedule for the policy, anything else an
/// update; both are checked, on the job as it is and as it would be. A production move that
/// needs approval (`ops`) is not made: it becomes a move request, and must come alone (a move
/// mixed with other changes is refused). A stale `version` is a 409 with the current job.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = id))]
pub async fn update(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    version: i64,
    changes: JobChanges,
) -> ServiceResult<JobUpdate> {
    let mut tx = hub.storage.write().await?;
    let job = tx.job(id).await?;
    let project = tx.project_access(job.project_id).await?;
    let reschedule_only = changes.is_reschedule_only();
    let action = if reschedule_only {
        Action::RescheduleJob
    } else {
        Action::UpdateJob
    };
    let here = job.environment.as_ref().map(|name| Environment {
        name,
        is_production: job.environment_is_production,
    });
    let object = Object::job(project.owner_id, job.job_type);
    if reschedule_only {
        let decision = caller.decide(action, &object, here.as_ref());
        // A request carries a window; turning a job all-day (or back) is not a move to request.
        let flips_all_day = changes
            .all_day
            .is_some_and(|all_day| all_day != job.all_day);
        if matches!(decision, Decision::NeedsApproval(_)) && !flips_all_day {
            ensure_active(&project)?;
            let start = changes.planned_start.unwrap_or(job.planned_start);
            let end = changes.planned_end.unwrap_or(job.planned_end);
            let requested = tx
                .request_move(&job, version, start, end, &caller.actor())
                .await?;
            tx.commit().await?;
            return Ok(JobUpdate::MoveRequested(requested));
        }
    } else if changes.planned_start.is_some() || changes.planned_end.is_some() {
        // A move inside an update is still a move: it cannot slip past the approval.
        caller.may(Action::RescheduleJob, &object, here.as_ref())?;
    }
    caller.may(action, &object, here.as_ref())?;
    ensure_active(&project)?;
    if let Some(description) = &changes.description {
        rules::free_text("description", description, rules::MAX_DESCRIPTION_CHARS)?;
    }
    let target_environment = match &changes.environment {
        Some(Some(name)) => Some(tx.environment(job.project_id, name).await?),
        _ => None,
    };
    if target_environment.is_some() || changes.job_type.is_some() {
        let there = match (&changes.environment, &target_environment) {
            (Some(Some(_)), Some(env)) => Some(Environment {
                name: &env.name,
                is_production: env.is_production,
            }),
            (Some(None), _) => None,
            _ => here.clone(),
        };
        let job_type = changes.job_type.unwrap_or(job.job_type);
        caller.may(
            action,
            &Object::job(project.owner_id, job_type),
            there.as_ref(),
        )?;
    }
    if let Some(Some(owner)) = changes.owner_id {
        if owner != caller.id() && Some(owner) != job.owner_id {
            caller.may(Action::AssignOwner, &object, here.as_ref())?;
        }
    }
    // What a production job runs, or where: a governed change (the owner of the project or an
    // admin), whether the job is in production now or would be after the change.
    let what_runs_changes = changes.action.as_ref().is_some_and(|a| *a != job.action)
        || changes
            .environment
            .as_ref()
            .is_some_and(|e| *e != job.environment);
    if what_runs_changes {
        let target = target_environment.as_ref().map(|e| Environment {
            name: &e.name,
            is_production: e.is_production,
        });
        let production = here
            .clone()
            .filter(Environment::is_production)
            .or(target.filter(Environment::is_production));
        if let Some(production) = production {
            caller.may(Action::GovernProductionJob, &object, Some(&production))?;
        }
    }
    let updated = tx
        .update_job(id, version, &changes, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(JobUpdate::Updated(updated))
}

/// Moves a job to a new window: the calendar's drag and drop and keyboard moves.
pub async fn reschedule(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    version: i64,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
) -> ServiceResult<JobUpdate> {
    let changes = JobChanges {
        planned_start: Some(planned_start),
        planned_end: Some(planned_end),
        ..JobChanges::default()
    };
    update(hub, caller, id, version, changes).await
}

/// Deletes a job that was never run (a job with runs keeps its history: 409).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = id))]
pub async fn delete(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<()> {
    let mut tx = hub.storage.write().await?;
    let job = tx.job(id).await?;
    let project = tx.project_access(job.project_id).await?;
    let here = job.environment.as_ref().map(|name| Environment {
        name,
        is_production: job.environment_is_production,
    });
    caller.may(
        Action::DeleteJob,
        &Object::job(project.owner_id, job.job_type),
        here.as_ref(),
    )?;
    ensure_active(&project)?;
    tx.delete_job(id, &caller.actor()).await?;
    tx.commit().await
}
