//! Runs: launching a job (the guardrails decide between the queue, approval and refusal),
//! approving, rejecting and cancelling runs, reading them and their logs, and the signed
//! callbacks of webhook targets.

use domain::policy::{Action, Object};
use domain::{ExecutionBackend, JobAction, LogLine, Run, RunStatus};
use tracing::instrument;

use crate::engine::{launch, output, webhook};
use crate::storage::{CancelOutcome, Db};
use crate::{rules, Caller, Hub, ServiceError, ServiceResult};

/// What a launch may say besides the job.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// The job's own environment (naming another is refused).
    pub environment: Option<String>,
    /// The backend (else the project's).
    pub backend: Option<ExecutionBackend>,
    /// For an action from a repository: this commit of it instead of the one its ref names now.
    pub commit_sha: Option<String>,
    /// For an Ansible apply: the check run it follows.
    pub after_check: Option<i64>,
    /// For a Terraform apply: the plan run whose plan it applies.
    pub plan_run: Option<i64>,
}

/// Launches a run of a job in the job's own environment on its backend (else the project's):
/// `queued`, or `awaiting_approval` until approvers approve it (a Terraform apply always waits);
/// refused with the rule's code otherwise. The run records what it will execute: for an action
/// from a repository, the commit its ref names now, or `commit_sha` when given (a commit of that
/// repository: "run again at this commit").
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = job_id))]
pub async fn launch(
    hub: &Hub,
    caller: &Caller,
    job_id: i64,
    options: LaunchOptions,
) -> ServiceResult<Run> {
    let LaunchOptions {
        environment,
        backend,
        commit_sha,
        after_check,
        plan_run,
    } = options;
    let environment = environment.filter(|e| !e.is_empty());
    let first = {
        let mut db = hub.storage.read().await?;
        let job = db.job(job_id).await?;
        // Refused before anything is fetched: a repository is read only for a launch that may
        // be, and a refused caller learns nothing from `commit_sha`'s answer. Nothing to fetch:
        // the decision inside the transaction below is the one that counts (two queries less
        // on every plain launch).
        let fetches = job
            .action
            .as_ref()
            .and_then(JobAction::repository)
            .is_some();
        if fetches || commit_sha.is_some() {
            launch::decide(
                &mut db,
                &caller.subject(),
                &job,
                environment.clone(),
                backend,
            )
            .await?;
        }
        job
    };
    let commit_sha = launch::resolve_commit(
        &hub.storage,
        hub.secrets(),
        hub.mirrors(),
        &first,
        commit_sha.as_deref(),
    )
    .await?;
    let mut tx = hub.storage.write().await?;
    let job = tx.job(job_id).await?;
    if job.action != first.action {
        // The commit was resolved for the action read before the fetch: another repository or
        // ref now would pair that commit with an action it does not belong to.
        return Err(ServiceError::Conflict(
            "the job's action changed while it was being launched: launch it again".to_owned(),
        ));
    }
    let new_run = launch::plan(
        &mut tx,
        &caller.subject(),
        &job,
        environment,
        backend,
        hub.executor.scripts_dir(),
        launch::Pins {
            commit_sha,
            after_check,
            plan_run,
        },
    )
    .await?;
    let run = tx.create_run(&new_run, &caller.actor()).await?;
    tx.commit().await?;
    if run.status == RunStatus::Queued {
        hub.executor.wake();
    }
    Ok(run)
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<Run> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let mut run = db.run(id).await?;
    run.queue = db.queue_place(id, &hub.executor.claim_limits()).await?;
    Ok(run)
}

/// A playbook run's structured results (`GET /runs/{id}/ansible`): empty until it has ended;
/// 404 for a run that is not an Ansible run.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = id))]
pub async fn ansible_results(
    hub: &Hub,
    caller: &Caller,
    id: i64,
) -> ServiceResult<domain::ansible::AnsibleResults> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let run = db.run(id).await?;
    let Some(JobAction::Ansible { check, .. }) = run.action else {
        return Err(ServiceError::NotFound {
            what: "Ansible results (not an Ansible run)",
        });
    };
    Ok(db
        .ansible_results(id)
        .await?
        .unwrap_or(domain::ansible::AnsibleResults {
            check,
            after_check: run.after_check,
            ..Default::default()
        }))
}

/// A job's runs, newest first; `before` is the id the previous page ended on.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = job_id))]
pub async fn list_for_job(
    hub: &Hub,
    caller: &Caller,
    job_id: i64,
    before: Option<i64>,
    limit: u32,
) -> ServiceResult<Vec<Run>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.job(job_id).await?;
    db.list_job_runs(job_id, before, limit).await
}

/// Every project's runs in one of `statuses`, newest first (the dashboard's "running" and
/// "awaiting approval").
pub async fn in_states(
    hub: &Hub,
    caller: &Caller,
    statuses: &[RunStatus],
    limit: u32,
) -> ServiceResult<Vec<Run>> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage
        .read()
        .await?
        .runs_in_states(statuses, limit)
        .await
}

/// A run's log lines after `after`, in order, `limit` at most (the run must exist).
pub async fn log(
    hub: &Hub,
    caller: &Caller,
    run_id: i64,
    after: i64,
    limit: u32,
) -> ServiceResult<Vec<LogLine>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.run(run_id).await?;
    db.run_logs(run_id, after, limit).await
}

/// Who may decide or cancel a run: the policy, with the run's project owner, its launcher and
/// who last changed what it runs (neither of them approves it).
async fn may_act(db: &mut Db, caller: &Caller, action: Action, run: &Run) -> ServiceResult<()> {
    let project = db.project_access(run.project_id).await?;
    let object = Object::project(project.owner_id)
        .with_launcher(run.launched_by)
        .with_changer(run.action_changed_by);
    caller.may(action, &object, None)
}

/// What a decision on a run awaiting approval says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The run joins the queue.
    Approve,
    /// The run is canceled.
    Reject,
}

/// Approves or rejects a run awaiting approval (admin, or projets owning its project; never its
/// launcher nor who last changed its action), with an optional comment of at most 2,000
/// characters. What is approved is the run's recorded action; for a Terraform apply, also the
/// plan: the approver names the `plan_sha256` they saw, which must be the plan the apply applies
/// and still the workspace's newest, at the commit its ref names now (409 otherwise), and a plan
/// that destroys or replaces needs two distinct approvers (the first approval leaves the run
/// awaiting the second).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = id))]
pub async fn decide(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    verdict: Verdict,
    comment: Option<&str>,
    plan_sha256: Option<&str>,
) -> ServiceResult<Run> {
    let approve = verdict == Verdict::Approve;
    // An apply from a repository is approved only while its ref still names the planned
    // commit: read now (a fetch), before the transaction.
    let commit_now = {
        let mut db = hub.storage.read().await?;
        let run = db.run(id).await?;
        may_act(&mut db, caller, Action::ApproveRun, &run).await?;
        match (
            approve,
            applied_plan(&run),
            run.action.as_ref().and_then(JobAction::repository),
        ) {
            (true, Some(_), Some(_)) => {
                let mut job = db.job(run.job_id).await?;
                drop(db);
                job.action = run.action.clone();
                launch::resolve_commit(&hub.storage, hub.secrets(), hub.mirrors(), &job, None)
                    .await?
            }
            _ => None,
        }
    };
    let mut tx = hub.storage.write().await?;
    // Two approvers at once take turns: each counts the approvals the other committed (on
    // PostgreSQL each used to count only its own, and an apply needing two stayed waiting).
    tx.lock_run(id).await?;
    let run = tx.run(id).await?;
    may_act(&mut tx, caller, Action::ApproveRun, &run).await?;
    if approve && tx.run_settings_now(&run).await?.1 {
        // What is approved is the action with the settings it was launched with: changed since,
        // the action would go elsewhere (another webhook target, another secret sent with it).
        return Err(ServiceError::Conflict(
            crate::storage::SETTINGS_CHANGED.to_owned(),
        ));
    }
    let comment = rules::comment(comment)?;
    let decided = match applied_plan(&run) {
        Some(plan_run) if approve => {
            if run.status != RunStatus::AwaitingApproval {
                return Err(ServiceError::Conflict(format!(
                    "the run is {}, not awaiting approval",
                    run.status
                )));
            }
            let plan = tx.plan_of_run(plan_run).await?.ok_or_else(|| {
                ServiceError::Conflict("the plan run's plan is gone: plan again".to_owned())
            })?;
            let seen = plan_sha256
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ServiceError::invalid(
                        "plan_sha256",
                        "an apply is approved for the plan the approver saw: give its plan_sha256",
                    )
                })?;
            if seen != plan.plan_sha256 {
                return Err(ServiceError::Conflict(
                    "the plan you saw is not the plan this apply applies: look at it again"
                        .to_owned(),
                ));
            }
            if plan.superseded {
                return Err(ServiceError::Conflict(format!(
                    "a newer plan exists for the workspace `{}`: this apply would apply a stale plan",
                    plan.name
                )));
            }
            if commit_now.is_some() && commit_now != plan.commit_sha {
                return Err(ServiceError::Conflict(format!(
                    "the commit moved since the plan (planned at {}, the ref names {} now): plan again",
                    plan.commit_sha.as_deref().unwrap_or("no commit"),
                    commit_now.as_deref().unwrap_or("no commit"),
                )));
            }
            tx.add_approval(id, Some(seen), comment.as_deref(), &caller.actor())
                .await?;
            let approvers = tx
                .approvals(id)
                .await?
                .into_iter()
                .filter(|a| a.plan_sha256.as_deref() == Some(seen))
                .count();
            if approvers >= domain::terraform::approvals_needed(&plan.summary) {
                tx.decide_run(id, true, comment.as_deref(), &caller.actor())
                    .await?
            } else {
                tx.run(id).await?
            }
        }
        _ => {
            if approve {
                tx.add_approval(id, None, comment.as_deref(), &caller.actor())
                    .await?;
            }
            tx.decide_run(id, approve, comment.as_deref(), &caller.actor())
                .await?
        }
    };
    tx.commit().await?;
    if decided.status != RunStatus::AwaitingApproval {
        let waited = (chrono::Utc::now() - decided.created_at).to_std();
        crate::telemetry::approval_decided(waited.unwrap_or_default());
    }
    if decided.status == RunStatus::Queued {
        hub.executor.wake();
    }
    Ok(decided)
}

/// The plan run a Terraform apply run applies.
fn applied_plan(run: &Run) -> Option<i64> {
    match &run.action {
        Some(JobAction::Terraform {
            operation: domain::terraform::TerraformOperation::Apply,
            plan_run,
            ..
        }) => *plan_run,
        _ => None,
    }
}

/// A Terraform run's plan (`GET /runs/{id}/terraform`): the one a plan run made, or the one an
/// apply applies, with the approvals given for that plan and how many it needs. 404 for a run
/// that is not a Terraform run.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = id))]
pub async fn terraform(
    hub: &Hub,
    caller: &Caller,
    id: i64,
) -> ServiceResult<domain::terraform::RunTerraform> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let run = db.run(id).await?;
    let Some(JobAction::Terraform {
        operation,
        plan_run,
        ..
    }) = &run.action
    else {
        return Err(ServiceError::NotFound {
            what: "Terraform plan (not a Terraform run)",
        });
    };
    let plan = match operation {
        domain::terraform::TerraformOperation::Plan => db.plan_of_run(id).await?,
        domain::terraform::TerraformOperation::Apply => match plan_run {
            Some(plan_run) => db.plan_of_run(*plan_run).await?,
            None => None,
        },
    };
    let approvals = db
        .approvals(id)
        .await?
        .into_iter()
        .filter(|a| {
            a.plan_sha256.is_none()
                || plan.as_ref().map(|p| &p.plan_sha256) == a.plan_sha256.as_ref()
        })
        .collect();
    let approvals_needed = plan
        .as_ref()
        .map_or(1, |p| domain::terraform::approvals_needed(&p.summary));
    Ok(domain::terraform::RunTerraform {
        operation: *operation,
        plan,
        approvals,
        approvals_needed,
    })
}

/// Cancels a run (its launcher, the projets owning its project, or admin): one not started yet at once; a running one
/// is stopped by the process running it, which records the end.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = id))]
pub async fn cancel(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<CancelOutcome> {
    let mut tx = hub.storage.write().await?;
    let run = tx.run(id).await?;
    may_act(&mut tx, caller, Action::CancelRun, &run).await?;
    let outcome = tx.cancel_run(id, &caller.actor()).await?;
    tx.commit().await?;
    hub.storage.announce_run_change(id);
    if matches!(outcome, CancelOutcome::Requested(_)) {
        hub.executor
            .stop_here(id, &format!("canceled by {}", caller.user.username));
    }
    Ok(outcome)
}

/// What a webhook target reports about a run.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CallbackRequest))]
#[serde(deny_unknown_fields)]
pub struct CallbackReport {
    /// `running` to report progress only; a final status ends the run.
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    /// Log lines to append (secret values are masked).
    #[serde(default)]
    pub lines: Vec<String>,
}

/// The most lines one callback may carry.
const MAX_CALLBACK_LINES: usize = 10_000;

/// Progress and the end of a webhook run, reported by its target and signed with the run's
/// callback key (sent with the trigger): `signature` is `sha256=<hex HMAC-SHA256>` of
/// `"{run_id}.{timestamp}.{body}"`, `timestamp` in Unix seconds within 5 minutes of now. The
/// signature is checked first, before anything is read; a callback is taken once. An unknown
/// run, a bad or stale signature and a replay all get the same answer. No session: the
/// signature is the credential.
#[instrument(skip_all, fields(run.id = run_id))]
pub async fn callback(
    hub: &Hub,
    run_id: i64,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> ServiceResult<()> {
    let refused = || {
        ServiceError::BadSignature(
            "the callback must be signed with the run's callback key, over the run id, a timestamp of the last 5 minutes and the body, and sent once",
        )
    };
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| refused())?;
    let key = hub.executor.callback_key(run_id);
    let now = chrono::Utc::now().timestamp();
    if !webhook::verify_callback(&key, run_id, timestamp, now, body, signature) {
        return Err(refused());
    }
    let report: CallbackReport =
        serde_json::from_slice(body).map_err(|e| ServiceError::invalid("body", e.to_string()))?;
    if matches!(
        report.status,
        RunStatus::Queued | RunStatus::AwaitingApproval
    ) {
        return Err(ServiceError::invalid(
            "status",
            "running, or a final status",
        ));
    }
    if report.lines.len() > MAX_CALLBACK_LINES {
        return Err(ServiceError::invalid(
            "lines",
            format!("at most {MAX_CALLBACK_LINES} lines per callback"),
        ));
    }
    let mut db = hub.storage.read().await?;
    let run = match db.run(run_id).await {
        Ok(run) => run,
        Err(ServiceError::NotFound { .. }) => return Err(refused()),
        Err(error) => return Err(error),
    };
    // Masked with the values this run received: its scope's secrets (read before the write
    // transaction: a secret store may be remote).
    let scope = crate::secrets::run_scope(&mut db, &run).await?;
    let secrets = hub
        .secrets()
        .values(&mut db, run.project_id, &scope)
        .await?;
    drop(db);
    let masker = output::Masker::new(secrets.iter().map(|(_, value)| value.as_str()));
    let lines: Vec<String> = report
        .lines
        .iter()
        .flat_map(|line| output::pieces(&masker.mask(line)))
        .collect();
    drop(secrets);
    let mut tx = hub.storage.write().await?;
    // The signature is unique to the run, the time and the body: seen once, refused after. Kept
    // as one spelling: its hex in capitals is the same signature, not a new one.
    if !tx
        .take_callback(run_id, &signature.trim().to_ascii_lowercase())
        .await?
    {
        return Err(refused());
    }
    let run = tx.run(run_id).await?;
    if run.backend != ExecutionBackend::Webhook || run.status != RunStatus::Running {
        return Err(ServiceError::Conflict(format!(
            "run #{run_id} is a {} run that is {}: it takes no callback",
            run.backend, run.status
        )));
    }
    let cap = i64::try_from(hub.executor.max_log_bytes()).unwrap_or(i64::MAX);
    tx.append_reported_lines(run_id, &lines, cap).await?;
    if report.status.is_final() {
        let outcome = crate::engine::Outcome {
            status: report.status,
            exit_code: report.exit_code,
            reason: Some("reported by the webhook target".to_owned()),
        };
        tx.append_run_lines(
            run_id,
            domain::LogStream::System,
            &[crate::engine::finished_line(&outcome)],
        )
        .await?;
        tx.finish_run(
            run_id,
            outcome.status,
            outcome.exit_code,
            outcome.reason.as_deref(),
        )
        .await?;
    }
    tx.commit().await?;
    hub.storage.announce_run_change(run_id);
    Ok(())
}
