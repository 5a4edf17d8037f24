//! Jobs: planned work on the calendar, with optimistic concurrency on every change.

use chrono::{DateTime, Utc};
use domain::{Job, JobAction, JobStatus, JobType, Role};
use sqlx::types::Json;

use super::{audit, dialect, now, on_db, reads, stored_precision, writes, Actor, Db, Tx};
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
    pub action: Option<JobAction>,
    /// Started by uHub at `planned_start`, as its owner.
    pub auto_start: bool,
}

impl NewJob {
    /// A timed job without an end, description, owner or action: the rest stays default.
    pub fn planned(
        project_id: i64,
        title: &str,
        job_type: JobType,
        environment: Option<&str>,
        planned_start: DateTime<Utc>,
    ) -> NewJob {
        NewJob {
            project_id,
            title: title.to_owned(),
            description: String::new(),
            job_type,
            environment: environment.map(str::to_owned),
            planned_start,
            planned_end: None,
            all_day: false,
            owner_id: None,
            responsible_role: None,
            action: None,
            auto_start: false,
        }
    }
}

/// A job as stored. Also read from JSON: on SQLite a listing comes back as one JSON array
/// (see [`Db::list_jobs`]), where booleans are 0 / 1.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct JobRow {
    id: i64,
    project_id: i64,
    title: String,
    description: String,
    job_type: String,
    status: String,
    environment: Option<String>,
    #[serde(deserialize_with = "optional_flag")]
    environment_is_production: Option<bool>,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "flag")]
    all_day: bool,
    owner_id: Option<i64>,
    responsible_role: Option<String>,
    action: Option<Json<JobAction>>,
    #[serde(deserialize_with = "flag")]
    auto_start: bool,
    auto_start_by: Option<i64>,
    action_changed_by: Option<i64>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// SQLite keeps booleans as 0 / 1; its JSON functions pass them on as numbers.
pub(super) fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    optional_flag(deserializer).map(|flag| flag.unwrap_or(false))
}

pub(super) fn optional_flag<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    use serde::Deserialize;
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(flag)) => Ok(Some(flag)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(other) => Err(serde::de::Error::custom(format!("not a flag: {other}"))),
    }
}

/// The columns of [`JOB_SELECT`] as one JSON object per row, for SQLite's `json_group_array`.
const JOB_JSON_OBJECT: &str = "json_object('id', id, 'project_id', project_id, 'title', title, \
     'description', description, 'job_type', job_type, 'status', status, 'environment', environment, \
     'environment_is_production', environment_is_production, 'planned_start', planned_start, \
     'planned_end', planned_end, 'all_day', all_day, 'owner_id', owner_id, \
     'responsible_role', responsible_role, 'action', json(action), 'auto_start', auto_start, \
     'auto_start_by', auto_start_by, 'action_changed_by', action_changed_by, 'version', version, \
     'created_at', created_at, 'updated_at', updated_at)";

const JOB_SELECT: &str = "SELECT j.id, j.project_id, j.title, j.description, j.job_type, j.status, \
     e.name AS environment, e.is_production AS environment_is_production, j.planned_start, j.planned_end, j.all_day, j.owner_id, j.responsible_role, \
     j.action, j.auto_start, j.auto_start_by, j.action_changed_by, j.version, j.created_at, j.updated_at \
     FROM jobs j LEFT JOIN environments e ON e.id = j.environment_id";

pub(super) fn corrupt(error: domain::UnknownVariant) -> ServiceError {
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
            environment_is_production: row.environment_is_production.unwrap_or(false),
            planned_start: row.planned_start,
            planned_end: row.planned_end,
            all_day: row.all_day,
            owner_id: row.owner_id,
            responsible_role: row
                .responsible_role
                .map(|r| r.parse())
                .transpose()
                .map_err(corrupt)?,
            action: row.action.map(|a| a.0),
            auto_start: row.auto_start,
            auto_start_by: row.auto_start_by,
            action_changed_by: row.action_changed_by,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Changes to a job; `None` leaves a field as it is. `environment: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub job_type: Option<JobType>,
    pub status: Option<JobStatus>,
    pub environment: Option<Option<String>>,
    pub planned_start: Option<DateTime<Utc>>,
    pub planned_end: Option<Option<DateTime<Utc>>>,
    pub all_day: Option<bool>,
    pub owner_id: Option<Option<i64>>,
    pub responsible_role: Option<Option<Role>>,
    pub action: Option<Option<JobAction>>,
    pub auto_start: Option<bool>,
}

impl JobChanges {
    /// Only the window changes: the audit log calls this a reschedule.
    pub fn is_reschedule_only(&self) -> bool {
        let window =
            self.planned_start.is_some() || self.planned_end.is_some() || self.all_day.is_some();
        let other = JobChanges {
            planned_start: None,
            planned_end: None,
            all_day: None,
            ..self.clone()
        };
        window && other == JobChanges::default()
    }
}

/// Filters of a job listing; `None` means any. The window keeps jobs that overlap
/// `[from, to)`; `after` is the keyset cursor (the last job of the previous page).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub project_id: Option<i64>,
    pub job_type: Option<JobType>,
    pub status: Option<JobStatus>,
    pub environment: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub descending: bool,
    pub after: Option<(DateTime<Utc>, i64)>,
}

/// A project environment as the guardrails need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentInfo {
    pub id: i64,
    pub name: String,
    pub is_production: bool,
}

#[derive(sqlx::FromRow)]
struct EnvironmentRow {
    id: i64,
    name: String,
    is_production: bool,
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

reads! {
    fn job(id: i64) -> Job;
    fn list_project_jobs(project_id: i64) -> Vec<Job>;
    fn list_jobs(filter: &JobFilter, limit: u32) -> Vec<Job>;
    fn environment(project_id: i64, name: &str) -> EnvironmentInfo;
    fn due_auto_jobs(now: DateTime<Utc>) -> Vec<Job>;
}

writes! {
    fn create_job(job: &NewJob, actor: &Actor) -> Job;
    fn update_job(id: i64, based_on_version: i64, changes: &JobChanges, actor: &Actor) -> Job;
    fn reschedule_job(
        id: i64,
        based_on_version: i64,
        planned_start: DateTime<Utc>,
        planned_end: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Job;
    fn delete_job(id: i64, actor: &Actor) -> ();
}

impl Tx {
    pub async fn create_job(&mut self, job: &NewJob, actor: &Actor) -> ServiceResult<Job> {
        let title = super::incidents::check_title(&job.title)?;
        check_action(job.action.as_ref())?;
        self.check_repository(job.project_id, job.action.as_ref())
            .await?;
        check_window(job.planned_start, job.planned_end)?;
        let environment_id = match &job.environment {
            Some(name) => Some(self.environment(job.project_id, name).await?.id),
            None => None,
        };
        let at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO jobs (project_id, title, description, job_type, status, environment_id, \
                 planned_start, planned_end, all_day, owner_id, responsible_role, action, auto_start, created_at, updated_at, \
                 auto_start_by, action_changed_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $13, $13, $15, $16) RETURNING id",
            )
            .bind(job.project_id)
            .bind(title)
            .bind(job.description.trim())
            .bind(job.job_type.as_str())
            .bind(JobStatus::Planned.as_str())
            .bind(environment_id)
            .bind(stored_precision(job.planned_start))
            .bind(job.planned_end.map(stored_precision))
            .bind(job.all_day)
            .bind(job.owner_id)
            .bind(job.responsible_role.map(Role::as_str))
            .bind(job.action.as_ref().map(Json))
            .bind(at)
            .bind(job.auto_start)
            // Who turned the automatic start on, and who set what it runs: this actor.
            .bind(actor.user_id.filter(|_| job.auto_start))
            .bind(actor.user_id.filter(|_| job.action.is_some()))
            .fetch_one(&mut *c)
            .await
            .map_err(ServiceError::on_foreign_key_field("owner_id", "no such user"))
        })?;
        let detail = serde_json::json!({
            "project_id": job.project_id,
            "title": title,
            "job_type": job.job_type,
            "environment": job.environment,
            "planned_start": job.planned_start,
        });
        audit::write(self, actor, "job.create", Some(("job", id)), &detail).await?;
        self.job(id).await
    }
}

impl Db {
    pub async fn job(&mut self, id: i64) -> ServiceResult<Job> {
        let sql = format!("{JOB_SELECT} WHERE j.id = $1");
        on_db!(self, c => sqlx::query_as::<_, JobRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .ok_or(ServiceError::NotFound { what: "job" })?
            .try_into()
    }

    /// A project's jobs in planned order.
    pub async fn list_project_jobs(&mut self, project_id: i64) -> ServiceResult<Vec<Job>> {
        let sql = format!("{JOB_SELECT} WHERE j.project_id = $1 ORDER BY j.planned_start, j.id");
        let rows = on_db!(self, c => sqlx::query_as::<_, JobRow>(&sql).bind(project_id).fetch_all(&mut *c).await)?;
        rows.into_iter().map(Job::try_from).collect()
    }

    /// Jobs matching `filter` in planned order (then id), `limit` at most. Pages are cut by
    /// keyset on (planned_start, id), so a page never repeats or skips a job when others are added.
    pub async fn list_jobs(&mut self, filter: &JobFilter, limit: u32) -> ServiceResult<Vec<Job>> {
        // Only the filters given become conditions: a generic `($1 IS NULL OR …)` would keep
        // SQLite from using the (project_id, planned_start) index, and a month's listing would
        // scan every job.
        let mut conditions = Vec::new();
        let mut next = 0;
        let mut placeholder = || {
            next += 1;
            format!("${next}")
        };
        if filter.project_id.is_some() {
            conditions.push(format!("j.project_id = {}", placeholder()));
        }
        if filter.job_type.is_some() {
            conditions.push(format!("j.job_type = {}", placeholder()));
        }
        if filter.status.is_some() {
            conditions.push(format!("j.status = {}", placeholder()));
        }
        if filter.environment.is_some() {
            conditions.push(format!("e.name = {}", placeholder()));
        }
        if filter.from.is_some() {
            conditions.push(format!(
                "COALESCE(j.planned_end, j.planned_start) >= {}",
                placeholder()
            ));
        }
        if filter.to.is_some() {
            conditions.push(format!("j.planned_start < {}", placeholder()));
        }
        let (compare, order) = if filter.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if filter.after.is_some() {
            let (start, id) = (placeholder(), placeholder());
            conditions.push(format!(
                "(j.planned_start {compare} {start} OR (j.planned_start = {start} AND j.id {compare} {id}))"
            ));
        }
        let limit_placeholder = placeholder();
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "{JOB_SELECT}{where_clause} ORDER BY j.planned_start {order}, j.id {order} LIMIT {limit_placeholder}"
        );
        // Binds the filter's values in the order their placeholders were numbered above.
        macro_rules! bind_filter {
            ($query:expr) => {{
                let mut query = $query;
                if let Some(project_id) = filter.project_id {
                    query = query.bind(project_id);
                }
                if let Some(job_type) = filter.job_type {
                    query = query.bind(job_type.as_str());
                }
                if let Some(status) = filter.status {
                    query = query.bind(status.as_str());
                }
                if let Some(environment) = &filter.environment {
                    query = query.bind(environment.as_str());
                }
                if let Some(from) = filter.from {
                    query = query.bind(stored_precision(from));
                }
                if let Some(to) = filter.to {
                    query = query.bind(stored_precision(to));
                }
                if let Some((start, id)) = filter.after {
                    query = query.bind(stored_precision(start)).bind(id);
                }
                query.bind(i64::from(limit))
            }};
        }
        let rows: Vec<JobRow> = if dialect::rows_as_json(self.engine()) {
            let sql = dialect::json_array_of(&sql, JOB_JSON_OBJECT);
            let page: String =
                on_db!(self, c => bind_filter!(sqlx::query_scalar(&sql)).fetch_one(&mut *c).await)?;
            let mut rows: Vec<JobRow> = dialect::rows_from_json(&page, "job")?;
            // An aggregate's input order is SQLite's choice, not a promise: sort again.
            rows.sort_by(|a, b| {
                let order = (a.planned_start, a.id).cmp(&(b.planned_start, b.id));
                if filter.descending {
                    order.reverse()
                } else {
                    order
                }
            });
            rows
        } else {
            on_db!(self, c => bind_filter!(sqlx::query_as::<_, JobRow>(&sql)).fetch_all(&mut *c).await)?
        };
        rows.into_iter().map(Job::try_from).collect()
    }

    /// A project's environment by name; an unknown name is the caller's mistake.
    pub async fn environment(
        &mut self,
        project_id: i64,
        name: &str,
    ) -> ServiceResult<EnvironmentInfo> {
        let row = on_db!(self, c => {
            sqlx::query_as::<_, EnvironmentRow>("SELECT id, name, is_production FROM environments WHERE project_id = $1 AND name = $2")
                .bind(project_id)
                .bind(name)
                .fetch_optional(&mut *c)
                .await
        })?
        .ok_or_else(|| ServiceError::invalid("environment", format!("`{name}` is not an environment of this project")))?;
        Ok(EnvironmentInfo {
            id: row.id,
            name: row.name,
            is_production: row.is_production,
        })
    }

    /// The automatic jobs whose planned start has come and that nobody has started yet, the
    /// earliest first. Only read: each is then taken by [`Tx::take_auto_start`].
    pub async fn due_auto_jobs(&mut self, now: DateTime<Utc>) -> ServiceResult<Vec<Job>> {
        let sql = format!(
            "{JOB_SELECT} WHERE j.auto_start AND j.auto_launched_at IS NULL AND j.status = 'planned' \
             AND j.planned_start <= $1 ORDER BY j.planned_start, j.id"
        );
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, JobRow>(&sql)
                .bind(stored_precision(now))
                .fetch_all(&mut *c)
                .await
        })?;
        rows.into_iter().map(Job::try_from).collect()
    }
}

impl Tx {
    /// Applies `changes` only if nobody changed the job since `based_on_version`; a stale version
    /// is refused with the current one, so two people never silently overwrite each other.
    pub async fn update_job(
        &mut self,
        id: i64,
        based_on_version: i64,
        changes: &JobChanges,
        actor: &Actor,
    ) -> ServiceResult<Job> {
        let current = self.job(id).await?;
        if current.version != based_on_version {
            return Err(ServiceError::stale("job", current.version).with_current(&current));
        }
        if let Some(title) = &changes.title {
            super::incidents::check_title(title)?;
        }
        if let Some(action) = &changes.action {
            check_action(action.as_ref())?;
            self.check_repository(current.project_id, action.as_ref())
                .await?;
        }
        let start = changes.planned_start.unwrap_or(current.planned_start);
        let end = changes.planned_end.unwrap_or(current.planned_end);
        check_window(start, end)?;
        let environment_id = match &changes.environment {
            Some(Some(name)) => Some(self.environment(current.project_id, name).await?.id),
            Some(None) => None,
            None => match &current.environment {
                Some(name) => Some(self.environment(current.project_id, name).await?.id),
                None => None,
            },
        };
        let title = changes
            .title
            .as_deref()
            .map(str::trim)
            .unwrap_or(&current.title)
            .to_owned();
        let description = changes
            .description
            .as_deref()
            .map(str::trim)
            .unwrap_or(&current.description)
            .to_owned();
        let job_type = changes.job_type.unwrap_or(current.job_type);
        let status = changes.status.unwrap_or(current.status);
        let all_day = changes.all_day.unwrap_or(current.all_day);
        let owner_id = changes.owner_id.unwrap_or(current.owner_id);
        let responsible_role = changes.responsible_role.unwrap_or(current.responsible_role);
        let job_action = changes.action.clone().unwrap_or(current.action.clone());
        let auto_start = changes.auto_start.unwrap_or(current.auto_start);
        // What the job runs, or where, changes: the changer answers for it (and may not approve
        // its runs), and an automatic start would now launch what they set, so as them.
        let what_runs_changes = changes
            .action
            .as_ref()
            .is_some_and(|a| *a != current.action)
            || changes
                .environment
                .as_ref()
                .is_some_and(|e| *e != current.environment);
        let action_changed_by = if what_runs_changes {
            actor.user_id
        } else {
            current.action_changed_by
        };
        let auto_start_by = match (current.auto_start, auto_start) {
            (_, false) => None,
            (false, true) => actor.user_id,
            (true, true) if what_runs_changes => actor.user_id,
            (true, true) => current.auto_start_by,
        };
        // A job moved in time may start by itself again at its new time.
        let moved = start != current.planned_start;
        let action = if changes.is_reschedule_only() {
            "job.reschedule"
        } else {
            "job.update"
        };
        let mut detail = serde_json::json!({
            "version": based_on_version,
            "from": { "planned_start": current.planned_start, "planned_end": current.planned_end },
            "to": { "planned_start": start, "planned_end": end },
            "fields": changed_fields(changes),
        });
        // What the job runs and where: the old and new values, as the audit must show them.
        if what_runs_changes {
            detail["from"]["environment"] = serde_json::json!(current.environment);
            detail["from"]["action"] = serde_json::json!(current.action);
            detail["to"]["environment"] = serde_json::json!(changes
                .environment
                .clone()
                .unwrap_or(current.environment.clone()));
            detail["to"]["action"] = serde_json::json!(job_action);
        }
        if let Some(owner) = changes.owner_id {
            detail["from"]["owner_id"] = serde_json::json!(current.owner_id);
            detail["to"]["owner_id"] = serde_json::json!(owner);
        }
        // The version in the WHERE clause is what makes this safe without a lock: whoever
        // commits second finds no row at that version and gets the current one back.
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE jobs SET title = $1, description = $2, job_type = $3, status = $4, environment_id = $5, \
                 planned_start = $6, planned_end = $7, all_day = $8, owner_id = $9, responsible_role = $10, \
                 action = $11, version = version + 1, updated_at = $12, auto_start = $15, \
                 auto_launched_at = CASE WHEN $16 THEN NULL ELSE auto_launched_at END, \
                 auto_start_by = $17, action_changed_by = $18 \
                 WHERE id = $13 AND version = $14",
            )
            .bind(&title)
            .bind(&description)
            .bind(job_type.as_str())
            .bind(status.as_str())
            .bind(environment_id)
            .bind(stored_precision(start))
            .bind(end.map(stored_precision))
            .bind(all_day)
            .bind(owner_id)
            .bind(responsible_role.map(Role::as_str))
            .bind(job_action.as_ref().map(Json))
            .bind(now())
            .bind(id)
            .bind(based_on_version)
            .bind(auto_start)
            .bind(moved)
            .bind(auto_start_by)
            .bind(action_changed_by)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(ServiceError::on_foreign_key_field("owner_id", "no such user"))
        })?;
        if changed == 0 {
            let job = self.job(id).await?;
            return Err(ServiceError::stale("job", job.version).with_current(&job));
        }
        audit::write(self, actor, action, Some(("job", id)), &detail).await?;
        // A request to move the job is about the job as it was: it no longer applies.
        let superseded = on_db!(self, c => {
            sqlx::query(
                "UPDATE job_move_requests SET status = 'superseded', decided_at = $1, \
                 reason = 'the job changed after the request' WHERE job_id = $2 AND status = 'pending'",
            )
            .bind(now())
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        if superseded > 0 {
            let detail = serde_json::json!({ "superseded": superseded });
            audit::write(
                self,
                actor,
                "job.move_supersede",
                Some(("job", id)),
                &detail,
            )
            .await?;
        }
        self.job(id).await
    }

    /// Moves a job in time, only if nobody changed it since `based_on_version`.
    pub async fn reschedule_job(
        &mut self,
        id: i64,
        based_on_version: i64,
        planned_start: DateTime<Utc>,
        planned_end: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> ServiceResult<Job> {
        let changes = JobChanges {
            planned_start: Some(planned_start),
            planned_end: Some(planned_end),
            ..JobChanges::default()
        };
        self.update_job(id, based_on_version, &changes, actor).await
    }

    /// Deletes a job that was never run; a job with runs keeps its history (409).
    pub async fn delete_job(&mut self, id: i64, actor: &Actor) -> ServiceResult<()> {
        let job = self.job(id).await?;
        on_db!(self, c => {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
                .map_err(ServiceError::on_foreign_key("this job has runs; its history is kept, so it cannot be deleted"))
        })?;
        let detail = serde_json::json!({ "project_id": job.project_id, "title": job.title });
        audit::write(self, actor, "job.delete", Some(("job", id)), &detail).await
    }

    /// Takes the automatic start of job `id` if its time has come and nobody took it yet: in
    /// the transaction that then creates its run or records its refusal, so that the start is
    /// taken exactly once (also across processes: the update that marks it is what takes it),
    /// and a transaction that fails leaves it to be tried again.
    pub async fn take_auto_start(&mut self, id: i64, now: DateTime<Utc>) -> ServiceResult<bool> {
        let taken = on_db!(self, c => {
            sqlx::query(
                "UPDATE jobs SET auto_launched_at = $2 WHERE id = $1 AND auto_start \
                 AND auto_launched_at IS NULL AND status = 'planned' AND planned_start <= $2",
            )
            .bind(id)
            .bind(stored_precision(now))
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(taken == 1)
    }
}

impl Tx {
    /// An action from a repository names a repository link of the job's own project.
    async fn check_repository(
        &mut self,
        project_id: i64,
        action: Option<&JobAction>,
    ) -> ServiceResult<()> {
        let Some((link_id, _)) = action.and_then(JobAction::repository) else {
            return Ok(());
        };
        let link = self.link(link_id).await.ok();
        match link {
            Some(link)
                if link.project_id == project_id && link.kind == domain::LinkKind::GitRepo =>
            {
                Ok(())
            }
            _ => Err(ServiceError::invalid(
                "action.repo",
                "names no repository link of the job's project",
            )),
        }
    }
}

fn check_action(action: Option<&JobAction>) -> ServiceResult<()> {
    match action.map(JobAction::check) {
        Some(Err(problem)) => Err(ServiceError::invalid(problem.field, problem.message)),
        _ => Ok(()),
    }
}

/// The names of the fields a change touches, for the audit log (values may be long; names suffice).
fn changed_fields(changes: &JobChanges) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let touched = [
        ("title", changes.title.is_some()),
        ("description", changes.description.is_some()),
        ("job_type", changes.job_type.is_some()),
        ("status", changes.status.is_some()),
        ("environment", changes.environment.is_some()),
        ("planned_start", changes.planned_start.is_some()),
        ("planned_end", changes.planned_end.is_some()),
        ("all_day", changes.all_day.is_some()),
        ("owner_id", changes.owner_id.is_some()),
        ("responsible_role", changes.responsible_role.is_some()),
        ("action", changes.action.is_some()),
        ("auto_start", changes.auto_start.is_some()),
    ];
    for (name, is_touched) in touched {
        if is_touched {
            fields.push(name);
        }
    }
    fields
}
