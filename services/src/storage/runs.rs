//! Runs: one execution of a job. This module records and reads them; the execution engine
//! (queue, backends, logs) drives their status.

use chrono::{DateTime, Utc};
use domain::{ExecutionBackend, Run, RunStatus};

use super::audit::write_audit;
use super::{now, on_pool, Actor, Storage};
use crate::{ServiceError, ServiceResult};

/// A run to record for a job. `environment` is a name within the job's project.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub job_id: i64,
    pub environment: Option<String>,
    pub backend: ExecutionBackend,
    pub status: RunStatus,
    pub launched_by: Option<i64>,
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
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const RUN_SELECT: &str = "SELECT r.id, r.job_id, r.project_id, e.name AS environment, r.backend, r.status, \
     r.exit_code, r.launched_by, u.username AS launched_by_username, r.approved_by, r.started_at, \
     r.finished_at, r.created_at, r.updated_at \
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
            started_at: row.started_at,
            finished_at: row.finished_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl Storage {
    /// Records a run of a job in its first status, audited as `run.create`.
    pub async fn create_run(&self, run: &NewRun, actor: &Actor) -> ServiceResult<Run> {
        let job = self.job(run.job_id).await?;
        let environment_id = match &run.environment {
            Some(name) => Some(self.environment(job.project_id, name).await?.id),
            None => None,
        };
        let at = now();
        let id: i64 = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO runs (job_id, project_id, environment_id, backend, status, launched_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(job.id)
            .bind(job.project_id)
            .bind(environment_id)
            .bind(run.backend.as_str())
            .bind(run.status.as_str())
            .bind(run.launched_by)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let detail = serde_json::json!({
                "job_id": job.id,
                "environment": run.environment,
                "backend": run.backend,
                "status": run.status,
            });
            write_audit!(&mut *tx, actor, "run.create", Some("run"), Some(id), &detail)?;
            tx.commit().await?;
            Ok::<i64, ServiceError>(id)
        })?;
        self.run(id).await
    }

    pub async fn run(&self, id: i64) -> ServiceResult<Run> {
        let sql = format!("{RUN_SELECT} WHERE r.id = $1");
        on_pool!(self, pool => sqlx::query_as::<_, RunRow>(&sql).bind(id).fetch_optional(pool).await)?
            .ok_or(ServiceError::NotFound { what: "run" })?
            .try_into()
    }

    /// A job's runs, newest first; `before` is the id the previous page ended on.
    pub async fn list_job_runs(
        &self,
        job_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Vec<Run>> {
        let sql = format!(
            "{RUN_SELECT} WHERE r.job_id = $1 AND ($2 IS NULL OR r.id < $2) ORDER BY r.id DESC LIMIT $3"
        );
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, RunRow>(&sql).bind(job_id).bind(before).bind(i64::from(limit)).fetch_all(pool).await
        })?;
        rows.into_iter().map(Run::try_from).collect()
    }

    /// A project's most recent runs, oldest of them first.
    pub async fn recent_project_runs(
        &self,
        project_id: i64,
        limit: u32,
    ) -> ServiceResult<Vec<Run>> {
        let sql = format!("{RUN_SELECT} WHERE r.project_id = $1 ORDER BY r.id DESC LIMIT $2");
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, RunRow>(&sql).bind(project_id).bind(i64::from(limit)).fetch_all(pool).await
        })?;
        let mut runs = rows
            .into_iter()
            .map(Run::try_from)
            .collect::<ServiceResult<Vec<_>>>()?;
        runs.reverse();
        Ok(runs)
    }
}
