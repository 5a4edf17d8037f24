//! The calendar's events: the jobs of a range with their project, owner and conflicts, and free
//! slots for resolving a conflict. The conflict rule itself is `domain::calendar`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use domain::calendar::PendingMove;
use domain::calendar::{self, ColorMode, Planned, Window};
use domain::{CalendarEvent, Color, EventProps, Job, JobChange, JobStatus, JobType};

use super::jobs::{corrupt, flag, optional_flag};
use super::{dialect, on_db, reads, stored_precision, Db};
use crate::{ServiceError, ServiceResult};

/// The most jobs one calendar range may hold.
pub const MAX_CALENDAR_JOBS: u32 = 50_000;
/// The longest range one request may ask for.
pub const MAX_CALENDAR_DAYS: i64 = 366;
/// Jobs this far outside the range are read too: all-day jobs shift with the zone, and jobs
/// just outside can still overlap jobs inside.
const MARGIN: Duration = Duration::days(2);

/// Which events, and coloured how.
#[derive(Debug, Clone)]
pub struct CalendarQuery {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub project_id: Option<i64>,
    pub job_type: Option<JobType>,
    pub status: Option<JobStatus>,
    pub environment: Option<String>,
    pub color_mode: ColorMode,
}

#[derive(sqlx::FromRow)]
struct ProjectLabel {
    id: i64,
    name: String,
    color: String,
}

#[derive(sqlx::FromRow)]
struct UserLabel {
    id: i64,
    username: String,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    target_id: Option<String>,
    action: String,
    actor_id: Option<i64>,
    actor_username: Option<String>,
    at: DateTime<Utc>,
}

/// A job as the calendar reads it: what it shows and what the conflict rule needs, nothing more.
struct PlannedJob {
    id: i64,
    project_id: i64,
    title: String,
    job_type: JobType,
    status: JobStatus,
    environment: Option<String>,
    environment_is_production: bool,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
    all_day: bool,
    owner_id: Option<i64>,
    version: i64,
}

/// The calendar's columns of a job. A busy month reads thousands of jobs, and decoding the
/// rest of each (description, action, timestamps) was most of what a full listing cost there
/// (`perf` of the month page, 2026-12-04).
const PLANNED_SELECT: &str = "SELECT j.id, j.project_id, j.title, j.job_type, j.status, \
     e.name AS environment, e.is_production AS environment_is_production, j.planned_start, \
     j.planned_end, j.all_day, j.owner_id, j.version \
     FROM jobs j LEFT JOIN environments e ON e.id = j.environment_id";

/// The columns of [`PLANNED_SELECT`] as one JSON object per row, for SQLite's `json_group_array`.
const PLANNED_JSON_OBJECT: &str = "json_object('id', id, 'project_id', project_id, \
     'title', title, 'job_type', job_type, 'status', status, 'environment', environment, \
     'environment_is_production', environment_is_production, 'planned_start', planned_start, \
     'planned_end', planned_end, 'all_day', all_day, 'owner_id', owner_id, 'version', version)";

/// A row of [`PLANNED_SELECT`]; on SQLite read from JSON, where booleans are 0 / 1.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct PlannedRow {
    id: i64,
    project_id: i64,
    title: String,
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
    version: i64,
}

impl TryFrom<PlannedRow> for PlannedJob {
    type Error = ServiceError;

    fn try_from(row: PlannedRow) -> ServiceResult<PlannedJob> {
        Ok(PlannedJob {
            id: row.id,
            project_id: row.project_id,
            title: row.title,
            job_type: row.job_type.parse().map_err(corrupt)?,
            status: row.status.parse().map_err(corrupt)?,
            environment: row.environment,
            environment_is_production: row.environment_is_production.unwrap_or(false),
            planned_start: row.planned_start,
            planned_end: row.planned_end,
            all_day: row.all_day,
            owner_id: row.owner_id,
            version: row.version,
        })
    }
}

impl From<Job> for PlannedJob {
    fn from(job: Job) -> PlannedJob {
        PlannedJob {
            id: job.id,
            project_id: job.project_id,
            title: job.title,
            job_type: job.job_type,
            status: job.status,
            environment: job.environment,
            environment_is_production: job.environment_is_production,
            planned_start: job.planned_start,
            planned_end: job.planned_end,
            all_day: job.all_day,
            owner_id: job.owner_id,
            version: job.version,
        }
    }
}

fn planned(job: &PlannedJob) -> Planned {
    Planned {
        id: job.id,
        project_id: job.project_id,
        environment: job.environment.clone(),
        job_type: job.job_type,
        start: job.planned_start,
        end: job.planned_end,
        all_day: job.all_day,
    }
}

reads! {
    fn calendar_events(query: &CalendarQuery, zone: &Tz) -> Vec<CalendarEvent>;
    fn latest_job_change() -> i64;
    fn job_changes_after(after: i64, limit: u32) -> Vec<JobChange>;
    fn project_labels() -> Vec<(i64, String, String)>;
    fn distinct_environment_names() -> Vec<String>;
    fn free_slots(job_id: i64, from: Option<DateTime<Utc>>, count: usize, zone: &Tz) -> Vec<Window>;
}

impl Db {
    /// Every job between `from` and `to` (windows overlapping, give or take the margin), unfiltered
    /// but for the project: conflicts are computed on everything, filters only hide.
    async fn planning(
        &mut self,
        project_id: Option<i64>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ServiceResult<Vec<PlannedJob>> {
        // The project becomes a condition only when given (as in `list_jobs`: SQLite then uses
        // the (project_id, planned_start) index), numbered last so that the other placeholders
        // keep their numbers.
        let (project, limit) = match project_id {
            Some(_) => (" AND j.project_id = $3", "$4"),
            None => ("", "$3"),
        };
        let sql = format!(
            "{PLANNED_SELECT} WHERE COALESCE(j.planned_end, j.planned_start) >= $1 \
             AND j.planned_start < $2{project} ORDER BY j.planned_start, j.id LIMIT {limit}"
        );
        macro_rules! bind_range {
            ($query:expr) => {{
                let query = $query
                    .bind(stored_precision(from))
                    .bind(stored_precision(to));
                match project_id {
                    Some(project_id) => query.bind(project_id),
                    None => query,
                }
                .bind(i64::from(MAX_CALENDAR_JOBS))
            }};
        }
        let rows: Vec<PlannedRow> = if dialect::rows_as_json(self.engine()) {
            let sql = dialect::json_array_of(&sql, PLANNED_JSON_OBJECT);
            let page: String =
                on_db!(self, c => bind_range!(sqlx::query_scalar(&sql)).fetch_one(&mut *c).await)?;
            let mut rows: Vec<PlannedRow> = dialect::rows_from_json(&page, "job")?;
            // An aggregate's input order is SQLite's choice, not a promise: sort again.
            rows.sort_by_key(|row| (row.planned_start, row.id));
            rows
        } else {
            on_db!(self, c => bind_range!(sqlx::query_as::<_, PlannedRow>(&sql)).fetch_all(&mut *c).await)?
        };
        if rows.len() >= MAX_CALENDAR_JOBS as usize {
            return Err(ServiceError::invalid(
                "start",
                format!("more than {MAX_CALENDAR_JOBS} jobs in this range: ask for a shorter one"),
            ));
        }
        rows.into_iter().map(PlannedJob::try_from).collect()
    }

    /// The events of `query`'s range in `zone`, with conflicts marked.
    pub async fn calendar_events(
        &mut self,
        query: &CalendarQuery,
        zone: &Tz,
    ) -> ServiceResult<Vec<CalendarEvent>> {
        if query.end <= query.start {
            return Err(ServiceError::invalid("end", "must come after start"));
        }
        if query.end - query.start > Duration::days(MAX_CALENDAR_DAYS) {
            return Err(ServiceError::invalid(
                "end",
                format!("a range is at most {MAX_CALENDAR_DAYS} days"),
            ));
        }
        let range = Window {
            start: query.start,
            end: query.end,
        };
        let (mut from, mut to) = (query.start - MARGIN, query.end + MARGIN);
        let mut jobs = self.planning(query.project_id, from, to).await?;
        // A long job reaching past the margin can overlap jobs that were not read: read the
        // span it covers (once; jobs that long are rare).
        let reach = jobs
            .iter()
            .map(|job| planned(job).window(zone))
            .filter(|window| window.overlaps(&range))
            .fold((from, to), |(lo, hi), w| (lo.min(w.start), hi.max(w.end)));
        if reach != (from, to) {
            (from, to) = (reach.0 - MARGIN, reach.1 + MARGIN);
            jobs = self.planning(query.project_id, from, to).await?;
        }
        let plans: Vec<Planned> = jobs.iter().map(planned).collect();
        let conflicts = calendar::conflicts(&plans, zone);

        let (projects, users) = on_db!(self, c => {
            let projects = sqlx::query_as::<_, ProjectLabel>("SELECT id, name, color FROM projects")
                .fetch_all(&mut *c)
                .await?;
            let users = sqlx::query_as::<_, UserLabel>("SELECT id, username FROM users")
                .fetch_all(&mut *c)
                .await?;
            Ok::<_, sqlx::Error>((projects, users))
        })?;
        let projects: HashMap<i64, (String, Color)> = projects
            .into_iter()
            .map(|p| {
                let color = p.color.parse().unwrap_or_else(|_| Color::default_accent());
                (p.id, (p.name, color))
            })
            .collect();
        let users: HashMap<i64, String> = users.into_iter().map(|u| (u.id, u.username)).collect();
        let mut pending: HashMap<i64, PendingMove> = self
            .pending_moves()
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.job_id,
                    PendingMove {
                        id: r.id,
                        planned_start: r.planned_start,
                        planned_end: r.planned_end,
                        requested_by: r.requested_by_username,
                        requested_at: r.created_at,
                    },
                )
            })
            .collect();

        let mut events = Vec::new();
        for (job, plan) in jobs.into_iter().zip(&plans) {
            let window = plan.window(zone);
            let shown = window.overlaps(&range)
                && query.job_type.is_none_or(|t| t == job.job_type)
                && query.status.is_none_or(|s| s == job.status)
                && query
                    .environment
                    .as_ref()
                    .is_none_or(|e| job.environment.as_ref() == Some(e));
            if !shown {
                continue;
            }
            let (project_name, project_color) = projects
                .get(&job.project_id)
                .cloned()
                .unwrap_or_else(|| (String::new(), Color::default_accent()));
            let conflicts_with = conflicts.get(&job.id).cloned().unwrap_or_default();
            events.push(CalendarEvent {
                id: job.id.to_string(),
                title: job.title,
                start: window.start,
                end: window.end,
                all_day: job.all_day,
                color: calendar::event_color(
                    query.color_mode,
                    &project_color,
                    job.job_type,
                    job.status,
                ),
                extended_props: EventProps {
                    job_id: job.id,
                    project_id: job.project_id,
                    project_name,
                    project_color: project_color.as_str().to_owned(),
                    job_type: job.job_type,
                    status: job.status,
                    environment: job.environment,
                    environment_is_production: job.environment_is_production,
                    owner: job.owner_id.and_then(|id| users.get(&id).cloned()),
                    conflict: !conflicts_with.is_empty(),
                    conflicts_with,
                    version: job.version,
                    planned_end: job.planned_end,
                    pending_move: pending.remove(&job.id),
                },
            });
        }
        Ok(events)
    }

    /// The position of the newest job change (0 when none): a live reader starts after it.
    pub async fn latest_job_change(&mut self) -> ServiceResult<i64> {
        let latest: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar("SELECT MAX(id) FROM audit_log WHERE target_type = 'job'")
                .fetch_one(&mut *c)
                .await
        })?;
        Ok(latest.unwrap_or(0))
    }

    /// Job changes after position `after`, oldest first, `limit` at most: what the live
    /// calendar stream sends. Read from the audit log, where every change of a job is written
    /// in the change's own transaction, so nothing committed is ever missed.
    pub async fn job_changes_after(
        &mut self,
        after: i64,
        limit: u32,
    ) -> ServiceResult<Vec<JobChange>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, ChangeRow>(
                "SELECT id, target_id, action, actor_id, actor_username, at FROM audit_log \
                 WHERE target_type = 'job' AND id > $1 AND outcome = 'success' ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(JobChange {
                    id: row.id,
                    job_id: row.target_id?.parse().ok()?,
                    action: row.action,
                    actor_id: row.actor_id,
                    actor: row.actor_username,
                    at: row.at,
                })
            })
            .collect())
    }

    /// Every project's id, name and colour, by name: the calendar's filter and legend.
    pub async fn project_labels(&mut self) -> ServiceResult<Vec<(i64, String, String)>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, ProjectLabel>("SELECT id, name, color FROM projects ORDER BY name")
                .fetch_all(&mut *c)
                .await
        })?;
        Ok(rows.into_iter().map(|p| (p.id, p.name, p.color)).collect())
    }

    /// Every environment name in use, once each, sorted: the calendar's environment filter.
    pub async fn distinct_environment_names(&mut self) -> ServiceResult<Vec<String>> {
        Ok(on_db!(self, c => {
            sqlx::query_scalar::<_, String>("SELECT DISTINCT name FROM environments ORDER BY name")
                .fetch_all(&mut *c)
                .await
        })?)
    }

    /// Up to `count` free places for the job, from `from` (default: its current start), where
    /// it would conflict with no critical job of its project and environment.
    pub async fn free_slots(
        &mut self,
        job_id: i64,
        from: Option<DateTime<Utc>>,
        count: usize,
        zone: &Tz,
    ) -> ServiceResult<Vec<Window>> {
        let job = PlannedJob::from(self.job(job_id).await?);
        let moving = planned(&job);
        let from = from.unwrap_or(job.planned_start);
        // Suggestions look 60 days ahead; read that span of the project's planning once.
        let others = self
            .planning(
                Some(job.project_id),
                from - MARGIN,
                from + Duration::days(62),
            )
            .await?;
        let others: Vec<Planned> = others.iter().map(planned).collect();
        Ok(calendar::free_slots(&moving, &others, from, count, zone))
    }
}
