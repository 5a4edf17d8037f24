//! Runs: launching a job (the guardrails decide between the queue, approval and refusal),
//! approving, rejecting and cancelling runs, reading them and their logs, and the signed
//! callbacks of webhook targets.

use domain::policy::{Action, Object};
use domain::{ExecutionBackend, LogLine, Run, RunStatus};
use tracing::instrument;

use crate::engine::{launch, output, webhook};
use crate::storage::{CancelOutcome, Db};
use crate::{rules, Caller, Hub, ServiceError, ServiceResult};

/// Launches a run of a job, in `environment` (else the job's) on `backend` (else the
/// project's): `queued`, or `awaiting_approval` until projets or admin approve it; refused with
/// the rule's code otherwise.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = job_id))]
pub async fn launch(
    hub: &Hub,
    caller: &Caller,
    job_id: i64,
    environment: Option<String>,
    backend: Option<ExecutionBackend>,
) -> ServiceResult<Run> {
    let environment = environment.filter(|e| !e.is_empty());
    let mut tx = hub.storage.write().await?;
    let job = tx.job(job_id).await?;
    let new_run = launch::plan(&mut tx, &caller.subject(), &job, environment, backend).await?;
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
    hub.storage.read().await?.run(id).await
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

/// Who may decide or cancel a run: the policy, with the run's project owner and launcher.
async fn may_act(db: &mut Db, caller: &Caller, action: Action, run: &Run) -> ServiceResult<()> {
    let project = db.project_access(run.project_id).await?;
    let object = Object::project(project.owner_id).with_launcher(run.launched_by);
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

/// Approves or rejects a run awaiting approval (projets or admin, never its launcher), with an
/// optional comment of at most 2,000 characters.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = id))]
pub async fn decide(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    verdict: Verdict,
    comment: Option<&str>,
) -> ServiceResult<Run> {
    let mut tx = hub.storage.write().await?;
    let run = tx.run(id).await?;
    may_act(&mut tx, caller, Action::ApproveRun, &run).await?;
    let comment = rules::comment(comment)?;
    let approve = verdict == Verdict::Approve;
    let decided = tx
        .decide_run(id, approve, comment.as_deref(), &caller.actor())
        .await?;
    tx.commit().await?;
    if approve {
        hub.executor.wake();
    }
    Ok(decided)
}

/// Cancels a run (its launcher, projets or admin): one not started yet at once; a running one
/// is stopped by the process running it, which records the end.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, run.id = id))]
pub async fn cancel(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<CancelOutcome> {
    let mut tx = hub.storage.write().await?;
    let run = tx.run(id).await?;
    may_act(&mut tx, caller, Action::CancelRun, &run).await?;
    let outcome = tx.cancel_run(id, &caller.actor()).await?;
    tx.commit().await?;
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

/// Progress and the end of a webhook run, reported by its target and signed with the project's
/// webhook secret (`signature` is `sha256=<hex HMAC-SHA256 of the raw body>`). No session: the
/// signature is the credential.
#[instrument(skip_all, fields(run.id = run_id))]
pub async fn callback(hub: &Hub, run_id: i64, signature: &str, body: &[u8]) -> ServiceResult<()> {
    let unsigned = || {
        ServiceError::BadSignature("the callback must be signed with the project's webhook secret")
    };
    let mut db = hub.storage.read().await?;
    let run = db.run(run_id).await?;
    let project = db.project_execution(run.project_id).await?;
    let secret_name = project
        .execution_backend_config
        .webhook_secret_name
        .clone()
        .ok_or_else(unsigned)?;
    let secrets = hub.secrets().values(&mut db, run.project_id).await?;
    drop(db);
    let secret = secrets
        .iter()
        .find(|(name, _)| *name == secret_name)
        .map(|(_, value)| value)
        .ok_or_else(unsigned)?;
    if !webhook::verify(secret, body, signature) {
        return Err(unsigned());
    }
    if run.backend != ExecutionBackend::Webhook || run.status != RunStatus::Running {
        return Err(ServiceError::Conflict(format!(
            "run #{run_id} is a {} run that is {}: it takes no callback",
            run.backend, run.status
        )));
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
    let masker = output::Masker::new(secrets.iter().map(|(_, value)| value.as_str()));
    let lines: Vec<String> = report.lines.iter().map(|l| masker.mask(l)).collect();
    if !lines.is_empty() && !hub.executor.remote_lines(run_id, &lines).await {
        hub.storage
            .append_run_lines(run_id, domain::LogStream::Stdout, &lines)
            .await?;
    }
    if report.status.is_final() {
        hub.storage
            .finish_run(
                run_id,
                report.status,
                report.exit_code,
                Some("reported by the webhook target"),
            )
            .await?;
    }
    Ok(())
}
