//! Jobs: planned work on the calendar, with optimistic concurrency on every change.

use chrono::{DateTime, Utc};
use domain::{Job, JobStatus, JobType, Role};

use super::{now, on_pool, stored_precision, Storage};
use crate::{ServiceError, ServiceResult};

/// A job to create. `environment` is a name within the job's project.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub project_id: i64,
    pub title: String,
    pub description: String,
    pub job_type: JobType,
    pub environment: Option<String>,
    pub planned_start: DateTime<Utc>,
    pub planned_end: Option<DateTime<Utc>>,
    pub all_day: bool,
    pub owner_id: Option<i64>,
    pub responsible_role: Option<Role>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    project_id: i64,
    title: String,
    description: String,
    job_type: String,
    status: String,
    environment: Option<String>,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
    all_day: bool,
    owner_id: Option<i64>,
    responsible_role: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const JOB_SELECT: &str = "SELECT j.id, j.project_id, j.title, j.description, j.job_type, j.status, \
     e.name AS environment, j.planned_start, j.planned_end, j.all_day, j.owner_id, j.responsible_role, \
     j.version, j.created_at, j.updated_at \
     FROM jobs j LEFT JOIN environments e ON e.id = j.environment_id";

fn corrupt(error: domain::UnknownVariant) -> ServiceError {
    ServiceError::Internal(format!("stored job is invalid: {error}"))
}

impl TryFrom<JobRow> for Job {
    type Error = ServiceError;

    fn try_from(row: JobRow) -> ServiceResult<Job> {
        Ok(Job {
            id: row.id,
            project_id: row.project_id,
            title: row.title,
            description: row.description,
            job_type: row.job_type.parse().map_err(corrupt)?,
            status: row.status.parse().map_err(corrupt)?,
            environment: row.environment,
            planned_start: row.planned_start,
            planned_end: row.planned_end,
            all_day: row.all_day,
            owner_id: row.owner_id,
            responsible_role: row
                .responsible_role
                .map(|r| r.parse())
                .transpose()
                .map_err(corrupt)?,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The end must come after the start; a job without an end is fine.
fn check_window(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> ServiceResult<()> {
    match end {
        Some(end) if end <= start => Err(ServiceError::invalid(
            "planned_end",
            "must be after planned_start",
        )),
        _ => Ok(()),
    }
}

impl Storage {
    pub async fn create_job(&self, job: &NewJob) -> ServiceResult<Job> {
        if job.title.trim().is_empty() {
            return Err(ServiceError::invalid("title", "must not be empty"));
        }
        check_window(job.planned_start, job.planned_end)?;
        let environment_id = match &job.environment {
            Some(name) => Some(self.environment_id(job.project_id, name).await?),
            None => None,
        };
        let at = now();
        let id: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO jobs (project_id, title, description, job_type, status, environment_id, \
                 planned_start, planned_end, all_day, owner_id, responsible_role, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            )
            .bind(job.project_id)
            .bind(job.title.trim())
            .bind(job.description.trim())
            .bind(job.job_type.as_str())
            .bind(JobStatus::Planned.as_str())
            .bind(environment_id)
            .bind(stored_precision(job.planned_start))
            .bind(job.planned_end.map(stored_precision))
            .bind(job.all_day)
            .bind(job.owner_id)
            .bind(job.responsible_role.map(Role::as_str))
            .bind(at)
            .fetch_one(pool)
            .await
        })?;
        self.job(id).await
    }

    pub async fn job(&self, id: i64) -> ServiceResult<Job> {
        let sql = format!("{JOB_SELECT} WHERE j.id = $1");
        on_pool!(self, pool => sqlx::query_as::<_, JobRow>(&sql).bind(id).fetch_optional(pool).await)?
            .ok_or(ServiceError::NotFound { what: "job" })?
            .try_into()
    }

    /// A project's jobs in planned order.
    pub async fn list_project_jobs(&self, project_id: i64) -> ServiceResult<Vec<Job>> {
        let sql = format!("{JOB_SELECT} WHERE j.project_id = $1 ORDER BY j.planned_start, j.id");
        let rows = on_pool!(self, pool => sqlx::query_as::<_, JobRow>(&sql).bind(project_id).fetch_all(pool).await)?;
        rows.into_iter().map(Job::try_from).collect()
    }

    /// Moves a job in time, only if nobody changed it since `based_on_version`.
    pub async fn reschedule_job(
        &self,
        id: i64,
        based_on_version: i64,
        planned_start: DateTime<Utc>,
        planned_end: Option<DateTime<Utc>>,
    ) -> ServiceResult<Job> {
        check_window(planned_start, planned_end)?;
        let changed = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET planned_start = $1, planned_end = $2, version = version + 1, updated_at = $3 \
                 WHERE id = $4 AND version = $5",
            )
            .bind(stored_precision(planned_start))
            .bind(planned_end.map(stored_precision))
            .bind(now())
            .bind(id)
            .bind(based_on_version)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        let job = self.job(id).await?;
        if changed == 0 {
            return Err(ServiceError::StaleVersion {
                what: "job",
                current: job.version,
            });
        }
        Ok(job)
    }

    /// The id of a project's environment by name; an unknown name is the caller's mistake.
    async fn environment_id(&self, project_id: i64, name: &str) -> ServiceResult<i64> {
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT id FROM environments WHERE project_id = $1 AND name = $2")
                .bind(project_id)
                .bind(name)
                .fetch_optional(pool)
                .await
        })?
        .ok_or_else(|| ServiceError::invalid("environment", format!("`{name}` is not an environment of this project")))
    }
}
