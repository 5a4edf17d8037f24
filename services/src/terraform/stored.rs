//! Plans kept for a project's workspaces: uploaded (`POST /projects/{id}/terraform-plans`) or
//! made by plan runs; read, listed and compared. Only the redacted analysis is kept.

use domain::policy::{Action, Object};
use domain::terraform::{diff_plans, PlanDiff, TerraformPlan, WorkspaceLock};
use tracing::instrument;

use super::{analyze, Invalid};
use crate::projects::for_change;
use crate::storage::NewPlan;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// `POST /projects/{id}/terraform-plans`.
#[derive(Debug, Clone)]
pub struct PlanUpload {
    /// The workspace the plan is for.
    pub name: String,
    pub environment: Option<String>,
    pub job_id: Option<i64>,
    /// The `terraform show -json` document.
    pub plan: Vec<u8>,
}

/// Keeps an uploaded plan of a project (by whoever may change the project): analysed, redacted,
/// with the digest of the document. A document that is not a plan is answered as such
/// (`Err(Invalid)`); nothing is kept.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn save(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    upload: PlanUpload,
) -> ServiceResult<Result<TerraformPlan, Invalid>> {
    {
        // Refused before the analysis: it costs CPU.
        let mut db = hub.storage.read().await?;
        for_change(&mut db, caller, project_id, Action::UpdateProject).await?;
    }
    let document = upload.plan;
    let risks = hub.executor.terraform_risks();
    let analysed = crate::analysis::off_thread(move || analyze(&document, &risks)).await?;
    let analysis = match analysed {
        Ok(analysis) => analysis,
        Err(invalid) => return Ok(Err(invalid)),
    };
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    let plan = tx
        .save_terraform_plan(
            &NewPlan {
                project_id,
                name: upload.name,
                environment: upload.environment,
                job_id: upload.job_id,
                run_id: None,
                analysis,
                commit_sha: None,
            },
            &caller.actor(),
        )
        .await?;
    tx.commit().await?;
    Ok(Ok(plan))
}

/// A project's plans, newest first, and the workspaces locked now.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
) -> ServiceResult<(Vec<TerraformPlan>, Vec<WorkspaceLock>)> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    Ok((
        db.terraform_plans(project_id).await?,
        db.workspace_locks(project_id).await?,
    ))
}

/// Plan `id` of project `project_id` with its analysis (404 when it is another project's).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, plan.id = id))]
pub async fn get(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    id: i64,
) -> ServiceResult<TerraformPlan> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    of_project(&mut db, project_id, id).await
}

async fn of_project(
    db: &mut crate::storage::Db,
    project_id: i64,
    id: i64,
) -> ServiceResult<TerraformPlan> {
    let plan = db.terraform_plan(id).await?;
    if plan.project_id != project_id {
        return Err(ServiceError::NotFound {
            what: "terraform plan",
        });
    }
    Ok(plan)
}

/// The resources whose actions differ between plan `id` and plan `against` (by default the
/// plan before it of the same workspace). Both must be plans of the same workspace (422).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, plan.id = id))]
pub async fn diff(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    id: i64,
    against: Option<i64>,
) -> ServiceResult<PlanDiff> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let plan = of_project(&mut db, project_id, id).await?;
    let against_id = match against {
        Some(other) => other,
        None => db
            .previous_plan(project_id, &plan.name, plan.id)
            .await?
            .ok_or_else(|| {
                ServiceError::invalid("against", "the workspace has no earlier plan to compare")
            })?,
    };
    let other = of_project(&mut db, project_id, against_id)
        .await
        .map_err(|_| ServiceError::invalid("against", "names no plan of the project"))?;
    drop(db);
    if other.name != plan.name || other.environment != plan.environment {
        return Err(ServiceError::invalid(
            "against",
            "must be a plan of the same workspace and environment",
        ));
    }
    let (Some(after), Some(before)) = (&plan.analysis, &other.analysis) else {
        return Err(ServiceError::Internal(
            "a stored plan without its analysis".to_owned(),
        ));
    };
    Ok(PlanDiff {
        plan: plan.id,
        against: other.id,
        changed: diff_plans(after, before),
    })
}
