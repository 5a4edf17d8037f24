//! Runs: one execution of a job. This module records and reads them; the execution engine
//! (queue, backends, logs) drives their status.

use chrono::{DateTime, Utc};
use domain::{
    BackendConfig, ExecutionBackend, JobAction, LogLine, LogStream, Run, RunStatus, WebhookPreset,
    DEFAULT_CALLBACK_TIMEOUT_SECONDS,
};
use sqlx::types::Json;

use super::{audit, dialect, now, on_db, reads, writes, Actor, Db, ProjectExecution, Tx};
use crate::{ServiceError, ServiceResult};

/// A run to record for a job. `environment` is a name within the job's project.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub job_id: i64,
    pub environment: Option<String>,
    pub backend: ExecutionBackend,
    pub status: RunStatus,
    pub launched_by: Option<i64>,
    /// What the run will execute, fixed now (see `domain::Run::action`).
    pub action: JobAction,
    pub action_sha256: String,
    pub script_sha256: Option<String>,
    pub action_changed_by: Option<i64>,
    /// The commit a repository action runs (full SHA), resolved at launch.
    pub commit_sha: Option<String>,
    /// An Ansible apply: the check run it follows.
    pub after_check: Option<i64>,
}

impl NewRun {
    /// A Terraform run: the workspace it locks, and the plan run an apply applies.
    fn terraform(&self) -> Option<(&str, Option<i64>)> {
        match &self.action {
            JobAction::Terraform {
                workspace,
                plan_run,
                ..
            } => Some((workspace.as_str(), *plan_run)),
            _ => None,
        }
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    job_id: i64,
    project_id: i64,
    environment: Option<String>,
    backend: String,
    status: String,
    exit_code: Option<i32>,
    launched_by: Option<i64>,
    launched_by_username: Option<String>,
    approved_by: Option<i64>,
    approval_comment: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    reason: Option<String>,
    log_truncated: bool,
    action: Option<Json<JobAction>>,
    action_sha256: Option<String>,
    script_sha256: Option<String>,
    action_changed_by: Option<i64>,
    commit_sha: Option<String>,
    after_check_run_id: Option<i64>,
    plan_run_id: Option<i64>,
    callback_deadline: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Log lines a statement: five parameters a line stays far under SQLite's 32,766 and
/// PostgreSQL's 65,535 a statement.
const LOG_ROWS_PER_INSERT: usize = 500;

const RUN_SELECT: &str = "SELECT r.id, r.job_id, r.project_id, e.name AS environment, r.backend, r.status, \
     r.exit_code, r.launched_by, u.username AS launched_by_username, r.approved_by, r.approval_comment, r.started_at, \
     r.finished_at, r.reason, r.log_truncated, r.action, r.action_sha256, r.script_sha256, \
     r.action_changed_by, r.commit_sha, r.after_check_run_id, r.plan_run_id, r.callback_deadline, r.created_at, r.updated_at \
     FROM runs r LEFT JOIN environments e ON e.id = r.environment_id LEFT JOIN users u ON u.id = r.launched_by";

impl TryFrom<RunRow> for Run {
    type Error = ServiceError;

    fn try_from(row: RunRow) -> ServiceResult<Run> {
        let corrupt = |e: domain::UnknownVariant| {
            ServiceError::Internal(format!("stored run is invalid: {e}"))
        };
        Ok(Run {
            id: row.id,
            job_id: row.job_id,
            project_id: row.project_id,
            environment: row.environment,
            backend: row.backend.parse().map_err(corrupt)?,
            status: row.status.parse().map_err(corrupt)?,
            exit_code: row.exit_code,
            launched_by: row.launched_by,
            launched_by_username: row.launched_by_username,
            approved_by: row.approved_by,
            approval_comment: row.approval_comment,
            started_at: row.started_at,
            finished_at: row.finished_at,
            reason: row.reason,
            log_truncated: row.log_truncated,
            action: row.action.map(|a| a.0),
            action_sha256: row.action_sha256,
            script_sha256: row.script_sha256,
            action_changed_by: row.action_changed_by,
            commit_sha: row.commit_sha,
            after_check: row.after_check_run_id,
            plan_run: row.plan_run_id,
            callback_deadline: row.callback_deadline,
            queue: None,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

reads! {
    fn run(id: i64) -> Run;
    fn list_job_runs(job_id: i64, before: Option<i64>, limit: u32) -> Vec<Run>;
    fn recent_project_runs(project_id: i64, limit: u32) -> Vec<Run>;
    fn deployed_runs(project_id: i64, environment: Option<&str>, limit: u32) -> Vec<Run>;
    fn runs_in_states(statuses: &[RunStatus], limit: u32) -> Vec<Run>;
    fn run_logs(run_id: i64, after_seq: i64, limit: u32) -> Vec<LogLine>;
    fn run_settings_now(run: &Run) -> (ProjectExecution, bool);
}

/// Why a run whose project's execution settings changed after its launch is neither approved
/// nor executed (it waits for approval until someone rejects it).
pub const SETTINGS_CHANGED: &str = "the project's execution settings (webhook target and secret, \
     container limits and network, timeout) changed after this run was launched: reject it and \
     launch it again";

/// SHA-256 (hex) of what of a project's execution settings a run on `backend` goes by (see
/// `runs.settings_sha256`): the timeout; a container's image, limits and network; a webhook's
/// target, preset, secret name and callback wait. Each absence counts as its default, and a
/// blank text as none, so that a form that sends `false` where the API left nothing changes
/// nothing; what another backend reads does not count.
pub fn settings_digest(settings: &BackendConfig, backend: ExecutionBackend) -> String {
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let read = match backend {
        ExecutionBackend::Docker => serde_json::json!({
            "timeout_seconds": settings.timeout_seconds,
            "image": text(&settings.image),
            "cpus": settings.cpus,
            "memory_mb": settings.memory_mb,
            "pids_limit": settings.pids_limit,
            "network": settings.network.unwrap_or(false),
        }),
        ExecutionBackend::Webhook => serde_json::json!({
            "timeout_seconds": settings.timeout_seconds,
            "webhook_url": text(&settings.webhook_url),
            "webhook_preset": settings.webhook_preset.map_or("generic", WebhookPreset::as_str),
            "webhook_secret_name": text(&settings.webhook_secret_name),
            "callback_timeout_seconds": settings
                .callback_timeout_seconds
                .unwrap_or(DEFAULT_CALLBACK_TIMEOUT_SECONDS),
        }),
        _ => serde_json::json!({ "timeout_seconds": settings.timeout_seconds }),
    };
    crate::digest::sha256_hex(read.to_string().as_bytes())
}

writes! {
    fn create_run(run: &NewRun, actor: &Actor) -> Run;
    fn set_external_id(run_id: i64, external_id: &str) -> ();
    fn append_run_logs(
        run_id: i64,
        lines: &[(i64, LogStream, String)],
        log_bytes: i64,
        truncated: bool,
    ) -> ();
    fn append_run_lines(run_id: i64, stream: LogStream, lines: &[String]) -> ();
    fn append_reported_lines(run_id: i64, lines: &[String], max_bytes: i64) -> ();
    fn finish_run(
        run_id: i64,
        status: RunStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
    ) -> Run;
    fn finish_run_with_line(
        run_id: i64,
        status: RunStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
        line: &LastLine<'_>,
    ) -> Run;
    fn cancel_run(run_id: i64, actor: &Actor) -> CancelOutcome;
    fn decide_run(run_id: i64, approve: bool, comment: Option<&str>, actor: &Actor) -> Run;
}

/// The last line of a run's log, numbered after the lines stored before it.
#[derive(Debug, Clone, Copy)]
pub struct LastLine<'a> {
    pub seq: i64,
    pub text: &'a str,
    /// The log's bytes with this line.
    pub log_bytes: i64,
}

impl Tx {
    /// Records a run of a job in its first status, audited as `run.create`.
    pub async fn create_run(&mut self, run: &NewRun, actor: &Actor) -> ServiceResult<Run> {
        let job = self.job(run.job_id).await?;
        let environment_id = match &run.environment {
            Some(name) => Some(self.environment(job.project_id, name).await?.id),
            None => None,
        };
        let settings = self.project_execution(job.project_id).await?;
        let settings_sha256 = settings_digest(&settings.execution_backend_config, run.backend);
        let at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO runs (job_id, project_id, environment_id, backend, status, launched_by, created_at, updated_at, \
                 action, action_sha256, script_sha256, action_changed_by, commit_sha, after_check_run_id, plan_run_id, \
                 settings_sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
            )
            .bind(job.id)
            .bind(job.project_id)
            .bind(environment_id)
            .bind(run.backend.as_str())
            .bind(run.status.as_str())
            .bind(run.launched_by)
            .bind(at)
            .bind(Json(&run.action))
            .bind(&run.action_sha256)
            .bind(&run.script_sha256)
            .bind(run.action_changed_by)
            .bind(&run.commit_sha)
            .bind(run.after_check)
            .bind(run.terraform().and_then(|(_, plan_run)| plan_run))
            .bind(&settings_sha256)
            .fetch_one(&mut *c)
            .await
        })?;
        let detail = serde_json::json!({
            "job_id": job.id,
            "environment": run.environment,
            "backend": run.backend,
            "status": run.status,
            "action": run.action,
            "action_sha256": run.action_sha256,
            "script_sha256": run.script_sha256,
            "commit_sha": run.commit_sha,
            "after_check": run.after_check,
        });
        audit::write(self, actor, "run.create", Some(("run", id)), &detail).await?;
        if let Some((workspace, _)) = run.terraform() {
            // One plan or apply at a time per workspace: a launch while another holds it fails
            // whole (409), nothing recorded.
            self.lock_workspace(job.project_id, workspace, id).await?;
        }
        // Read back inside the transaction: once committed, a dispatcher may take the run at
        // once, and the answer must say what was recorded (`queued`), not what came next.
        self.run(id).await
    }
}

impl Db {
    /// The execution settings of `run`'s project as they are now, and whether what of them
    /// `run` goes by changed since it was launched (compared by [`settings_digest`] with
    /// `runs.settings_sha256`; a run recorded before digests were kept: unchanged).
    pub async fn run_settings_now(&mut self, run: &Run) -> ServiceResult<(ProjectExecution, bool)> {
        let recorded: Option<Option<String>> = on_db!(self, c => {
            sqlx::query_scalar("SELECT settings_sha256 FROM runs WHERE id = $1")
                .bind(run.id)
                .fetch_optional(&mut *c)
                .await
        })?;
        let recorded = recorded.ok_or(ServiceError::NotFound { what: "run" })?;
        let settings = self.project_execution(run.project_id).await?;
        let changed = recorded.is_some_and(|recorded| {
            recorded != settings_digest(&settings.execution_backend_config, run.backend)
        });
        Ok((settings, changed))
    }

    pub async fn run(&mut self, id: i64) -> ServiceResult<Run> {
        let sql = format!("{RUN_SELECT} WHERE r.id = $1");
        on_db!(self, c => sqlx::query_as::<_, RunRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound { what: "run" })?
            .try_into()
    }

    /// A job's runs, newest first; `before` is the id the previous page ended on.
    pub async fn list_job_runs(
        &mut self,
        job_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Vec<Run>> {
        let sql = format!(
            "{RUN_SELECT} WHERE r.job_id = $1 AND ($2 IS NULL OR r.id < $2) ORDER BY r.id DESC LIMIT $3"
        );
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, RunRow>(&sql).bind(job_id).bind(before).bind(i64::from(limit)).fetch_all(&mut *c).await
        })?;
        rows.into_iter().map(Run::try_from).collect()
    }

    /// A project's successful runs of a commit (actions from a repository), in `environment`
    /// when given, newest first: its deployments.
    pub async fn deployed_runs(
        &mut self,
        project_id: i64,
        environment: Option<&str>,
        limit: u32,
    ) -> ServiceResult<Vec<Run>> {
        let sql = format!(
            "{RUN_SELECT} WHERE r.project_id = $1 AND r.commit_sha IS NOT NULL AND r.status = 'success' \
             AND ($2 IS NULL OR e.name = $2) ORDER BY r.finished_at DESC, r.id DESC LIMIT $3"
        );
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, RunRow>(&sql).bind(project_id).bind(environment).bind(i64::from(limit)).fetch_all(&mut *c).await
        })?;
        rows.into_iter().map(Run::try_from).collect()
    }

    /// Every project's runs created in `[from, to)`, oldest first, `limit` at most (an
    /// incident's timeline and suspects).
    pub async fn runs_between(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> ServiceResult<Vec<Run>> {
        let sql = format!(
            "{RUN_SELECT} WHERE r.created_at >= $1 AND r.created_at < $2 ORDER BY r.created_at, r.id LIMIT $3"
        );
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, RunRow>(&sql).bind(from).bind(to).bind(i64::from(limit)).fetch_all(&mut *c).await
        })?;
        rows.into_iter().map(Run::try_from).collect()
    }

    /// A project's most recent runs, oldest of them first.
    pub async fn recent_project_runs(
        &mut self,
        project_id: i64,
        limit: u32,
    ) -> ServiceResult<Vec<Run>> {
        let sql = format!("{RUN_SELECT} WHERE r.project_id = $1 ORDER BY r.id DESC LIMIT $2");
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, RunRow>(&sql).bind(project_id).bind(i64::from(limit)).fetch_all(&mut *c).await
        })?;
        let mut runs = rows
            .into_iter()
            .map(Run::try_from)
            .collect::<ServiceResult<Vec<_>>>()?;
        runs.reverse();
        Ok(runs)
    }

    /// Every project's runs in one of `statuses`, newest first (the dashboard's "running" and
    /// "awaiting approval").
    pub async fn runs_in_states(
        &mut self,
        statuses: &[RunStatus],
        limit: u32,
    ) -> ServiceResult<Vec<Run>> {
        // The statuses are our own closed set of identifiers, so they are listed inline.
        let listed = statuses
            .iter()
            .map(|status| format!("'{}'", status.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{RUN_SELECT} WHERE r.status IN ({listed}) ORDER BY r.id DESC LIMIT $1");
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, RunRow>(&sql).bind(i64::from(limit)).fetch_all(&mut *c).await
        })?;
        rows.into_iter().map(Run::try_from).collect()
    }

    /// A run's log lines after `after_seq`, in order, `limit` at most.
    pub async fn run_logs(
        &mut self,
        run_id: i64,
        after_seq: i64,
        limit: u32,
    ) -> ServiceResult<Vec<LogLine>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, LogRow>(
                "SELECT seq, stream, line, created_at FROM run_logs WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(run_id)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await
        })?;
        rows.into_iter()
            .map(|row| {
                Ok(LogLine {
                    seq: row.seq,
                    stream: row.stream.parse().map_err(|e| {
                        ServiceError::Internal(format!("stored log line is invalid: {e}"))
                    })?,
                    line: row.line,
                    at: row.created_at,
                })
            })
            .collect()
    }
}

#[derive(sqlx::FromRow)]
struct LogRow {
    seq: i64,
    stream: String,
    line: String,
    created_at: DateTime<Utc>,
}

/// What a cancel request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It had not started: it is canceled now.
    Canceled(Run),
    /// It is running: the process running it stops it and records the end.
    Requested(Run),
}

impl Tx {
    /// Records what the run started (a process group id, a container id) for crash recovery.
    pub async fn set_external_id(&mut self, run_id: i64, external_id: &str) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query("UPDATE runs SET external_id = $1 WHERE id = $2")
                .bind(external_id)
                .bind(run_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Appends log lines (already masked), and the running byte count.
    pub async fn append_run_logs(
        &mut self,
        run_id: i64,
        lines: &[(i64, LogStream, String)],
        log_bytes: i64,
        truncated: bool,
    ) -> ServiceResult<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let at = now();
        on_db!(self, c => {
            // Many rows a statement: one statement a line cost a chatty run most of its write
            // time (docs/benchmarks.md, "Run overhead").
            for rows in lines.chunks(LOG_ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO run_logs (run_id, seq, stream, line, created_at) ",
                );
                insert.push_values(rows, |mut row, (seq, stream, line)| {
                    row.push_bind(run_id)
                        .push_bind(*seq)
                        .push_bind(stream.as_str())
                        .push_bind(line.as_str())
                        .push_bind(at);
                });
                insert.build().execute(&mut *c).await?;
            }
            // Once cut, a log stays marked so (uHub's own lines still follow).
            sqlx::query("UPDATE runs SET log_bytes = $1, log_truncated = (log_truncated OR $2) WHERE id = $3")
                .bind(log_bytes)
                .bind(truncated)
                .bind(run_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Locks run `id`'s row until the transaction ends, so that two changes of one run that
    /// count what the other wrote (two approvals) take turns (PostgreSQL `FOR UPDATE`; SQLite's
    /// writing transactions take turns already). NotFound when there is no such run.
    pub async fn lock_run(&mut self, id: i64) -> ServiceResult<()> {
        match self.lock_row("runs", id).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound { what: "run" }),
        }
    }

    /// Appends lines after the last stored one (for lines reported to a process that is not the
    /// one executing the run).
    pub async fn append_run_lines(
        &mut self,
        run_id: i64,
        stream: LogStream,
        lines: &[String],
    ) -> ServiceResult<()> {
        // The run's row first, locked: two writers (the engine, a webhook callback) never
        // number their lines alike.
        let lock = format!(
            "SELECT log_bytes FROM runs WHERE id = $1{}",
            dialect::for_update(self.engine())
        );
        let (next, bytes): (i64, i64) = on_db!(self, c => {
            let bytes: i64 = sqlx::query_scalar(&lock)
                .bind(run_id)
                .fetch_one(&mut *c)
                .await?;
            let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&mut *c)
                .await?;
            (next, bytes)
        });
        let numbered: Vec<(i64, LogStream, String)> = lines
            .iter()
            .enumerate()
            .map(|(i, line)| (next + 1 + i as i64, stream, line.clone()))
            .collect();
        let added: i64 = lines.iter().map(|l| l.len() as i64).sum();
        self.append_run_logs(run_id, &numbered, bytes + added, false)
            .await
    }

    /// Appends lines a webhook target reported, within the log's cap of `max_bytes`: past it
    /// they are dropped, after one notice. Lines come cut to the line limit already.
    pub async fn append_reported_lines(
        &mut self,
        run_id: i64,
        lines: &[String],
        max_bytes: i64,
    ) -> ServiceResult<()> {
        #[derive(sqlx::FromRow)]
        struct Log {
            log_bytes: i64,
            log_truncated: bool,
        }
        let lock = format!(
            "SELECT log_bytes, log_truncated FROM runs WHERE id = $1{}",
            dialect::for_update(self.engine())
        );
        let (log, last): (Log, i64) = on_db!(self, c => {
            let log = sqlx::query_as::<_, Log>(&lock).bind(run_id).fetch_one(&mut *c).await?;
            let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&mut *c)
                .await?;
            (log, last)
        });
        if log.log_truncated || lines.is_empty() {
            return Ok(());
        }
        let mut bytes = log.log_bytes;
        let mut truncated = false;
        let mut numbered = Vec::with_capacity(lines.len());
        for line in lines {
            let seq = last + 1 + numbered.len() as i64;
            if bytes + line.len() as i64 > max_bytes {
                truncated = true;
                numbered.push((
                    seq,
                    LogStream::System,
                    format!(
                        "log truncated: it reached {max_bytes} bytes; later output was not kept"
                    ),
                ));
                break;
            }
            bytes += line.len() as i64;
            numbered.push((seq, LogStream::Stdout, line.clone()));
        }
        self.append_run_logs(run_id, &numbered, bytes, truncated)
            .await
    }

    /// Records the end of a running run (never of one already settled), audited as `run.finish`.
    pub async fn finish_run(
        &mut self,
        run_id: i64,
        status: RunStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
    ) -> ServiceResult<Run> {
        let at = now();
        let detail =
            serde_json::json!({ "status": status, "exit_code": exit_code, "reason": reason });
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE runs SET status = $1, exit_code = $2, reason = $3, finished_at = $4, updated_at = $4 \
                 WHERE id = $5 AND status = 'running'",
            )
            .bind(status.as_str())
            .bind(exit_code)
            .bind(reason)
            .bind(at)
            .bind(run_id)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        let run = self.run(run_id).await?;
        if changed > 0 {
            audit::write(
                self,
                &Actor::system(),
                "run.finish",
                Some(("run", run_id)),
                &detail,
            )
            .await?;
            crate::telemetry::run_finished(run.status, run.backend);
        }
        Ok(run)
    }

    /// Records the end of a run the engine executed together with the last line of its log
    /// (how it ended): one commit, so a reader never sees the status without its line, and a
    /// run waits on one commit less (docs/benchmarks.md, "Run overhead").
    pub async fn finish_run_with_line(
        &mut self,
        run_id: i64,
        status: RunStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
        line: &LastLine<'_>,
    ) -> ServiceResult<Run> {
        let numbered = [(line.seq, LogStream::System, line.text.to_owned())];
        self.append_run_logs(run_id, &numbered, line.log_bytes, false)
            .await?;
        self.finish_run(run_id, status, exit_code, reason).await
    }

    /// Cancels a run that has not started, or asks the process running it to stop it.
    pub async fn cancel_run(&mut self, run_id: i64, actor: &Actor) -> ServiceResult<CancelOutcome> {
        let at = now();
        let reason = format!("canceled by {}", actor.username);
        let detail = serde_json::json!({ "reason": reason });
        let (direct, requested) = on_db!(self, c => {
            // A webhook run waiting for its callback is held by no process: canceled here.
            let direct = sqlx::query(
                "UPDATE runs SET status = 'canceled', reason = $1, finished_at = $2, updated_at = $2 \
                 WHERE id = $3 AND (status IN ('queued', 'awaiting_approval') \
                 OR (status = 'running' AND callback_deadline IS NOT NULL))",
            )
            .bind(&reason)
            .bind(at)
            .bind(run_id)
            .execute(&mut *c)
            .await?
            .rows_affected();
            let requested = if direct == 0 {
                sqlx::query("UPDATE runs SET cancel_requested = TRUE, updated_at = $1 WHERE id = $2 AND status = 'running'")
                    .bind(at)
                    .bind(run_id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected()
            } else {
                0
            };
            (direct, requested)
        });
        if direct + requested > 0 {
            audit::write(self, actor, "run.cancel", Some(("run", run_id)), &detail).await?;
        }
        let run = self.run(run_id).await?;
        match (direct, requested) {
            (0, 0) => Err(ServiceError::Conflict(format!(
                "the run is already {}; there is nothing to cancel",
                run.status
            ))),
            (0, _) => Ok(CancelOutcome::Requested(run)),
            _ => Ok(CancelOutcome::Canceled(run)),
        }
    }

    /// Approves a run waiting for approval (it joins the queue) or rejects it (it is canceled).
    pub async fn decide_run(
        &mut self,
        run_id: i64,
        approve: bool,
        comment: Option<&str>,
        actor: &Actor,
    ) -> ServiceResult<Run> {
        let at = now();
        let (sql, action) = if approve {
            (
                "UPDATE runs SET status = 'queued', approved_by = $1, approval_comment = $2, updated_at = $3 \
                 WHERE id = $4 AND status = 'awaiting_approval'",
                "run.approve",
            )
        } else {
            (
                "UPDATE runs SET status = 'canceled', approved_by = $1, approval_comment = $2, updated_at = $3, \
                 finished_at = $3, reason = 'rejected' WHERE id = $4 AND status = 'awaiting_approval'",
                "run.reject",
            )
        };
        let detail = serde_json::json!({ "comment": comment });
        let changed = on_db!(self, c => {
            sqlx::query(sql)
                .bind(actor.user_id)
                .bind(comment)
                .bind(at)
                .bind(run_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        let run = self.run(run_id).await?;
        if changed == 0 {
            return Err(ServiceError::Conflict(format!(
                "the run is {}, not awaiting approval",
                run.status
            )));
        }
        audit::write(self, actor, action, Some(("run", run_id)), &detail).await?;
        Ok(run)
    }
}
