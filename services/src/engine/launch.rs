//! Deciding a launch: the environment and backend of the run, the guardrails, and whether the job
//! can run there at all. Shared by the launch use case ([`crate::runs::launch`]) and the
//! scheduler of automatic starts, so that both apply exactly the same rules.

use domain::policy::{self, Action, Decision, Environment, Object, Subject};
use domain::{ExecutionBackend, Job, JobAction, ProjectState, RunStatus};

use super::AVAILABLE_BACKENDS;
use crate::storage::{Db, NewRun};
use crate::{ServiceError, ServiceResult};

fn action_suits(action: &JobAction, backend: ExecutionBackend) -> bool {
    matches!(
        (action, backend),
        (JobAction::Script { .. }, ExecutionBackend::Local)
            | (JobAction::Container { .. }, ExecutionBackend::Docker)
            | (JobAction::Webhook { .. }, ExecutionBackend::Webhook)
    )
}

/// The run to record for `subject` launching `job`, in `environment` (else the job's) on
/// `backend` (else the project's): `queued`, or `awaiting_approval` where production needs it.
/// Refusals are errors with stable codes (403 policy rule, 409 archived, 422 invalid or
/// unavailable backend).
pub async fn plan(
    db: &mut Db,
    subject: &Subject,
    job: &Job,
    environment: Option<String>,
    backend: Option<ExecutionBackend>,
) -> ServiceResult<NewRun> {
    let project = db.project_execution(job.project_id).await?;
    let environment_name = environment.or(job.environment.clone());
    let environment = match &environment_name {
        Some(name) => Some(db.environment(job.project_id, name).await?),
        None => None,
    };
    let backend = backend.or(project.execution_backend).ok_or_else(|| {
        ServiceError::invalid(
            "backend",
            "the project has no execution backend: name one (local, docker or webhook)",
        )
    })?;
    let policy_environment = environment.as_ref().map(|e| Environment {
        name: &e.name,
        is_production: e.is_production,
    });
    let object = Object::job(project.owner_id, job.job_type).with_backend(Some(backend));
    let status = match policy::may(
        subject,
        Action::LaunchRun,
        &object,
        policy_environment.as_ref(),
    ) {
        Decision::Allow => RunStatus::Queued,
        Decision::NeedsApproval(_) => RunStatus::AwaitingApproval,
        Decision::Deny(refusal) => return Err(ServiceError::Forbidden(refusal)),
    };
    if project.state == ProjectState::Archived {
        return Err(ServiceError::Archived);
    }
    if !AVAILABLE_BACKENDS.contains(&backend) {
        return Err(ServiceError::Unavailable(format!(
            "the {backend} backend is not available in this version of uHub"
        )));
    }
    let action = job
        .action
        .as_ref()
        .ok_or_else(|| ServiceError::invalid("action", "the job has no action to run"))?;
    if !action_suits(action, backend) {
        return Err(ServiceError::invalid(
            "backend",
            format!("the job's action cannot run on the {backend} backend"),
        ));
    }
    Ok(NewRun {
        job_id: job.id,
        environment: environment_name,
        backend,
        status,
        launched_by: Some(subject.user_id),
    })
}
