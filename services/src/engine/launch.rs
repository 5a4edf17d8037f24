//! Deciding a launch: the environment and backend of the run, the guardrails, and whether the job
//! can run there at all. Shared by the launch use case ([`crate::runs::launch`]) and the
//! scheduler of automatic starts, so that both apply exactly the same rules.

use std::path::Path;

use domain::policy::{self, Action, Decision, Environment, Object, Subject};
use domain::terraform::TerraformOperation;
use domain::{ExecutionBackend, Job, JobAction, ProjectState, RunStatus};

use super::AVAILABLE_BACKENDS;
use crate::git_cli::Mirrors;
use crate::storage::{Db, NewRun};
use crate::{ServiceError, ServiceResult, Storage};

fn action_suits(action: &JobAction, backend: ExecutionBackend) -> bool {
    matches!(
        (action, backend),
        (JobAction::Script { .. }, ExecutionBackend::Local)
            | (JobAction::Ansible { .. }, ExecutionBackend::Local)
            | (JobAction::Terraform { .. }, ExecutionBackend::Local)
            | (JobAction::Kubectl { .. }, ExecutionBackend::Local)
            | (JobAction::Container { .. }, ExecutionBackend::Docker)
            | (JobAction::Webhook { .. }, ExecutionBackend::Webhook)
    )
}

/// The commit `job`'s action runs when it comes from a repository: its ref (or `pinned`, a SHA
/// asked for by name: "run again at this commit") resolved in the link's mirror, fetched now.
/// Called before the launch's transaction: a fetch may take a while. `None` for actions that
/// do not come from a repository (422 `commit_sha` if one was asked for).
pub async fn resolve_commit(
    storage: &Storage,
    secrets: &crate::secrets::SecretStore,
    mirrors: &Mirrors,
    job: &Job,
    pinned: Option<&str>,
) -> ServiceResult<Option<String>> {
    let pinned = pinned.map(str::trim).filter(|p| !p.is_empty());
    let Some((link_id, git_ref)) = job.action.as_ref().and_then(JobAction::repository) else {
        return match pinned {
            Some(_) => Err(ServiceError::invalid(
                "commit_sha",
                "the job's action does not come from a repository",
            )),
            None => Ok(None),
        };
    };
    if let Some(sha) = pinned {
        if !(7..=64).contains(&sha.len()) || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ServiceError::invalid(
                "commit_sha",
                "must be a commit SHA (7 to 64 hexadecimal digits)",
            ));
        }
    }
    let mut db = storage.read().await?;
    let link = db.link(link_id).await.ok();
    let link = link
        .filter(|l| l.project_id == job.project_id && l.kind == domain::LinkKind::GitRepo)
        .ok_or_else(|| {
            ServiceError::invalid(
                "action.repo",
                "names no repository link of the job's project",
            )
        })?;
    drop(db);
    let token = crate::forge::link_token(secrets, storage, &link).await?;
    let mirror = mirrors.fetched(&link, token.as_ref()).await?;
    let (revision, field) = match pinned {
        Some(sha) => (sha.to_owned(), "commit_sha"),
        None => (
            git_ref
                .map(str::to_owned)
                .or_else(|| link.default_branch.clone())
                .unwrap_or_else(|| "HEAD".to_owned()),
            "action.ref",
        ),
    };
    let sha = crate::git_cli::resolve(&mirror, &revision, field).await?;
    if pinned.is_some() && !crate::git_cli::on_a_branch_or_tag(&mirror, &sha).await? {
        return Err(ServiceError::invalid(
            "commit_sha",
            "is on no branch or tag of the repository",
        ));
    }
    Ok(Some(sha))
}

/// What a launch fixed before its transaction: the commit of a repository action (from
/// [`resolve_commit`]), for an Ansible apply the check run it follows, for a Terraform apply
/// the plan run whose plan it applies.
#[derive(Debug, Clone, Default)]
pub struct Pins {
    pub commit_sha: Option<String>,
    pub after_check: Option<i64>,
    pub plan_run: Option<i64>,
}

/// The run to record for `subject` launching `job` in its own environment on `backend` (else the
/// project's): `queued`, or `awaiting_approval` where production needs it, with the snapshot of
/// what it will execute. A run always runs in its job's environment: naming another is refused
/// (422), so the guardrails always weigh the environment the run really reaches. Refusals are
/// errors with stable codes (403 policy rule, 409 archived, 422 invalid or unavailable backend).
pub async fn plan(
    db: &mut Db,
    subject: &Subject,
    job: &Job,
    environment: Option<String>,
    backend: Option<ExecutionBackend>,
    scripts_dir: &Path,
    pins: Pins,
) -> ServiceResult<NewRun> {
    let Pins {
        commit_sha,
        after_check,
        plan_run,
    } = pins;
    let (backend, mut status) = decide(db, subject, job, environment, backend).await?;
    let job = pin_inventory(db, job).await?;
    check_cluster(db, &job).await?;
    let job = pin_plan_run(db, &job, plan_run, commit_sha.as_deref()).await?;
    if matches!(
        &job.action,
        Some(JobAction::Terraform {
            operation: TerraformOperation::Apply,
            ..
        })
    ) && status == RunStatus::Queued
    {
        // An apply changes real infrastructure: it always waits for approval of its plan.
        status = RunStatus::AwaitingApproval;
    }
    let mut run = snapshot(
        &job,
        backend,
        status,
        Some(subject.user_id),
        scripts_dir,
        commit_sha,
    )?;
    run.after_check = match after_check {
        Some(check_run) => Some(checked_after_check(db, &job, check_run).await?),
        None => None,
    };
    Ok(run)
}

/// The job with its `ansible` action's inventory pinned to a version (the latest when the
/// action names none): what is approved is what runs. The inventory must be one of the job's
/// project for the job's own environment: a job may not reach another environment's hosts
/// through its inventory (422 `action.inventory`).
async fn pin_inventory(db: &mut Db, job: &Job) -> ServiceResult<Job> {
    let Some(JobAction::Ansible {
        inventory,
        inventory_version,
        ..
    }) = &job.action
    else {
        return Ok(job.clone());
    };
    let found = db.inventory(*inventory).await.ok();
    let Some(found) = found.filter(|i| i.project_id == job.project_id) else {
        return Err(ServiceError::invalid(
            "action.inventory",
            "names no inventory of the job's project",
        ));
    };
    if found.environment != job.environment {
        return Err(ServiceError::invalid(
            "action.inventory",
            format!(
                "the inventory `{}` is for {}, the job runs in {}: use an inventory of the job's environment",
                found.name,
                found.environment.as_deref().map(|e| format!("`{e}`")).unwrap_or_else(|| "no environment".to_owned()),
                job.environment.as_deref().map(|e| format!("`{e}`")).unwrap_or_else(|| "no environment".to_owned()),
            ),
        ));
    }
    let version = inventory_version.unwrap_or(found.version);
    db.inventory_version(*inventory, version)
        .await
        .map_err(|_| {
            ServiceError::invalid(
                "action.inventory_version",
                "no such version of the inventory",
            )
        })?;
    let mut pinned = job.clone();
    if let Some(JobAction::Ansible {
        inventory_version, ..
    }) = pinned.action.as_mut()
    {
        *inventory_version = Some(version);
    }
    Ok(pinned)
}

/// The cluster an action reaches (`kubectl`, or an Ansible or Terraform action naming one) must
/// be one of the job's project, serving the job's own environment: the guardrails weighed are
/// those of the environment the cluster is (422 `action.cluster` otherwise).
async fn check_cluster(db: &mut Db, job: &Job) -> ServiceResult<()> {
    let Some(cluster) = job.action.as_ref().and_then(JobAction::cluster) else {
        return Ok(());
    };
    let found = db.cluster(cluster).await.ok();
    let Some(found) = found.filter(|c| c.project_id == job.project_id) else {
        return Err(ServiceError::invalid(
            "action.cluster",
            "names no cluster of the job's project",
        ));
    };
    if job.environment.as_deref() != Some(found.environment.as_str()) {
        return Err(ServiceError::invalid(
            "action.cluster",
            format!(
                "the cluster `{}` serves `{}`, the job runs in {}: use a cluster of the job's environment",
                found.name,
                found.environment,
                job.environment.as_deref().map(|e| format!("`{e}`")).unwrap_or_else(|| "no environment".to_owned()),
            ),
        ));
    }
    Ok(())
}

/// The job with its Terraform apply pinned to the plan run it applies: a successful plan run
/// of the same directory, repository and workspace in the job's project and environment, whose
/// plan is stored (422 `plan_run` otherwise). Refused (409) when a newer plan exists for the
/// workspace or the commit moved since the plan: the apply would not do what was planned.
async fn pin_plan_run(
    db: &mut Db,
    job: &Job,
    plan_run: Option<i64>,
    commit_sha: Option<&str>,
) -> ServiceResult<Job> {
    let refuse = |why: &str| ServiceError::invalid("plan_run", why.to_owned());
    let Some(JobAction::Terraform {
        dir,
        repo,
        workspace,
        operation,
        plan_run: named,
        ..
    }) = &job.action
    else {
        return match plan_run {
            Some(_) => Err(refuse("only a Terraform apply applies a plan run")),
            None => Ok(job.clone()),
        };
    };
    if *operation == TerraformOperation::Plan {
        return match plan_run.or(*named) {
            Some(_) => Err(refuse("a plan run makes a plan; an apply applies one")),
            None => Ok(job.clone()),
        };
    }
    let Some(plan_run) = plan_run.or(*named) else {
        return Err(refuse("an apply names the plan run whose plan it applies"));
    };
    let run = db.run(plan_run).await.map_err(|_| refuse("no such run"))?;
    let same = matches!(
        &run.action,
        Some(JobAction::Terraform { dir: d, repo: r, workspace: w, operation: TerraformOperation::Plan, .. })
            if d == dir && r == repo && w == workspace
    );
    if run.project_id != job.project_id || run.environment != job.environment || !same {
        return Err(refuse(
            "must be a plan run of the same directory, repository and workspace, in the same project and environment",
        ));
    }
    if run.status != RunStatus::Success {
        return Err(refuse("the plan run did not succeed"));
    }
    let plan = db
        .plan_of_run(plan_run)
        .await?
        .ok_or_else(|| refuse("the plan run stored no plan"))?;
    if plan.superseded {
        return Err(ServiceError::Conflict(format!(
            "a newer plan exists for the workspace `{workspace}`: apply that one, or plan again"
        )));
    }
    if commit_sha != run.commit_sha.as_deref() {
        return Err(ServiceError::Conflict(format!(
            "the commit moved since plan run #{plan_run} (planned at {}, now {}): plan again",
            run.commit_sha.as_deref().unwrap_or("no commit"),
            commit_sha.unwrap_or("no commit"),
        )));
    }
    let mut pinned = job.clone();
    if let Some(JobAction::Terraform { plan_run: p, .. }) = pinned.action.as_mut() {
        *p = Some(plan_run);
    }
    Ok(pinned)
}

/// The check run an Ansible apply follows: a finished check-mode run of the same playbook and
/// inventory, in the same project and environment (422 `after_check` otherwise).
async fn checked_after_check(db: &mut Db, job: &Job, check_run: i64) -> ServiceResult<i64> {
    let refuse = |why: &str| ServiceError::invalid("after_check", why.to_owned());
    let Some(JobAction::Ansible {
        playbook,
        inventory,
        check: false,
        ..
    }) = &job.action
    else {
        return Err(refuse(
            "only an Ansible apply (not in check mode) follows a check run",
        ));
    };
    let run = db.run(check_run).await.map_err(|_| refuse("no such run"))?;
    let same = matches!(
        &run.action,
        Some(JobAction::Ansible { playbook: p, inventory: i, check: true, .. })
            if p == playbook && i == inventory
    );
    if run.project_id != job.project_id || run.environment != job.environment || !same {
        return Err(refuse(
            "must be a check-mode run of the same playbook and inventory, in the same project and environment",
        ));
    }
    if !matches!(run.status, RunStatus::Success | RunStatus::Failed) {
        return Err(refuse("the check run has not finished"));
    }
    Ok(check_run)
}

/// The guardrails of a launch alone: the backend the run would use and its first status, or
/// the refusal. Checked again by [`plan`] in the launch's transaction; checked first alone
/// where a launch has slow work to do before it (fetching a repository).
pub async fn decide(
    db: &mut Db,
    subject: &Subject,
    job: &Job,
    environment: Option<String>,
    backend: Option<ExecutionBackend>,
) -> ServiceResult<(ExecutionBackend, RunStatus)> {
    if let Some(asked) = environment.filter(|e| !e.is_empty()) {
        if job.environment.as_deref() != Some(asked.as_str()) {
            return Err(ServiceError::invalid(
                "environment",
                match &job.environment {
                    Some(own) => format!(
                        "a run runs in its job's environment (`{own}`): change the job to run elsewhere"
                    ),
                    None => "the job has no environment: set one on the job to run there".to_owned(),
                },
            ));
        }
    }
    let project = db.project_execution(job.project_id).await?;
    let environment = match &job.environment {
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
    Ok((backend, status))
}

/// The run of `job` on `backend` in its environment, with what it will execute recorded now:
/// the action (422 when there is none, or it cannot run on `backend`), its digest, and the
/// script's digest for a local script, the commit (from [`resolve_commit`]) for an action from a
/// repository. No guardrail is applied here: see [`plan`].
pub fn snapshot(
    job: &Job,
    backend: ExecutionBackend,
    status: RunStatus,
    launched_by: Option<i64>,
    scripts_dir: &Path,
    commit_sha: Option<String>,
) -> ServiceResult<NewRun> {
    let action = job
        .action
        .clone()
        .ok_or_else(|| ServiceError::invalid("action", "the job has no action to run"))?;
    if !action_suits(&action, backend) {
        return Err(ServiceError::invalid(
            "backend",
            format!("the job's action cannot run on the {backend} backend"),
        ));
    }
    if action.repository().is_some() != commit_sha.is_some() {
        // Callers resolve the commit for the action they plan: a mismatch is a caller's bug.
        return Err(ServiceError::Internal(
            "a run was planned with a commit for another action".to_owned(),
        ));
    }
    let script_sha256 = match &action {
        // A repository script is pinned by its commit; its content is read at execution.
        JobAction::Script { repo: Some(_), .. } => None,
        JobAction::Script { path, .. } => super::local::script_digest(scripts_dir, path).ok(),
        JobAction::Ansible {
            repo: None,
            playbook,
            ..
        } => super::local::script_digest(scripts_dir, playbook).ok(),
        _ => None,
    };
    Ok(NewRun {
        job_id: job.id,
        environment: job.environment.clone(),
        backend,
        status,
        launched_by,
        action_sha256: action_digest(
            &action,
            backend,
            job.environment.as_deref(),
            commit_sha.as_deref(),
        ),
        action,
        script_sha256,
        action_changed_by: job.action_changed_by,
        commit_sha,
        after_check: None,
    })
}

/// The project's execution settings for `run`, which are those it was launched (and approved)
/// with; otherwise why it is not executed (changed since, or not readable). Compared on the
/// settings read here, which are the ones the run then goes by.
pub(super) async fn launched_settings(
    storage: &crate::Storage,
    run: &domain::Run,
) -> Result<crate::storage::ProjectExecution, String> {
    match storage.run_settings_now(run).await {
        Ok((project, false)) => Ok(project),
        Ok((_, true)) => Err(crate::storage::SETTINGS_CHANGED.to_owned()),
        Err(error) => Err(format!("cannot read the project: {error}")),
    }
}

/// SHA-256 (hex) of what a run executes: the action, the backend, the environment and the
/// commit of a repository action, as one JSON document (fields in a fixed order; the inputs of a
/// webhook are sorted; no commit leaves the document as it was before commits were recorded).
pub fn action_digest(
    action: &JobAction,
    backend: ExecutionBackend,
    environment: Option<&str>,
    commit_sha: Option<&str>,
) -> String {
    #[derive(serde::Serialize)]
    struct Executed<'a> {
        action: &'a JobAction,
        backend: ExecutionBackend,
        environment: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        commit_sha: Option<&'a str>,
    }
    let document = serde_json::to_vec(&Executed {
        action,
        backend,
        environment,
        commit_sha,
    })
    .unwrap_or_default();
    crate::digest::sha256_hex(&document)
}
