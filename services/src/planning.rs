//! Planning a job with the guardrails: the one path the REST API and the command palette share,
//! so a job created from either is checked by the same rules.

use domain::policy::{may, Action, Environment, Object, Subject};
use domain::{Job, ProjectState};

use crate::storage::{Actor, NewJob};
use crate::{ServiceError, ServiceResult, Storage};

/// Creates `job` for `subject` if the policy allows it in the job's project and environment
/// (an unknown environment is a 404, an archived project refuses new jobs).
pub async fn plan_job(
    storage: &Storage,
    subject: &Subject,
    job: &NewJob,
    actor: &Actor,
) -> ServiceResult<Job> {
    let project = storage.project_access(job.project_id).await?;
    let environment = match &job.environment {
        Some(name) => Some(storage.environment(job.project_id, name).await?),
        None => None,
    };
    let policy_environment = environment.as_ref().map(|e| Environment {
        name: &e.name,
        is_production: e.is_production,
    });
    ServiceError::check(may(
        subject,
        Action::CreateJob,
        &Object::job(project.owner_id, job.job_type),
        policy_environment.as_ref(),
    ))?;
    if project.state == ProjectState::Archived {
        return Err(ServiceError::Archived);
    }
    storage.create_job(job, actor).await
}
