//! The calendar's events: the jobs of a range with their project, owner and conflicts, and free
//! slots for resolving a conflict. The conflict rule itself is `domain::calendar`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use domain::calendar::{self, ColorMode, Planned, Window};
use domain::{CalendarEvent, Color, EventProps, Job, JobStatus, JobType};

use super::{on_pool, JobFilter, Storage};
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

fn planned(job: &Job) -> Planned {
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

impl Storage {
    /// Every job between `from` and `to` (windows overlapping, give or take the margin), unfiltered
    /// but for the project: conflicts are computed on everything, filters only hide.
    async fn planning(
        &self,
        project_id: Option<i64>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ServiceResult<Vec<Job>> {
        let filter = JobFilter {
            project_id,
            from: Some(from),
            to: Some(to),
            ..JobFilter::default()
        };
        let jobs = self.list_jobs(&filter, MAX_CALENDAR_JOBS).await?;
        if jobs.len() >= MAX_CALENDAR_JOBS as usize {
            return Err(ServiceError::invalid(
                "start",
                format!("more than {MAX_CALENDAR_JOBS} jobs in this range: ask for a shorter one"),
            ));
        }
        Ok(jobs)
    }

    /// The events of `query`'s range in `zone`, with conflicts marked.
    pub async fn calendar_events(
        &self,
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

        let (projects, users) = on_pool!(self, pool => {
            let projects = sqlx::query_as::<_, ProjectLabel>("SELECT id, name, color FROM projects")
                .fetch_all(pool)
                .await?;
            let users = sqlx::query_as::<_, UserLabel>("SELECT id, username FROM users")
                .fetch_all(pool)
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
                },
            });
        }
        Ok(events)
    }

    /// Every project's id, name and colour, by name: the calendar's filter and legend.
    pub async fn project_labels(&self) -> ServiceResult<Vec<(i64, String, String)>> {
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, ProjectLabel>("SELECT id, name, color FROM projects ORDER BY name")
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(|p| (p.id, p.name, p.color)).collect())
    }

    /// Every environment name in use, once each, sorted: the calendar's environment filter.
    pub async fn distinct_environment_names(&self) -> ServiceResult<Vec<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT DISTINCT name FROM environments ORDER BY name")
                .fetch_all(pool)
                .await
        })?)
    }

    /// Up to `count` free places for the job, from `from` (default: its current start), where
    /// it would conflict with no critical job of its project and environment.
    pub async fn free_slots(
        &self,
        job_id: i64,
        from: Option<DateTime<Utc>>,
        count: usize,
        zone: &Tz,
    ) -> ServiceResult<Vec<Window>> {
        let job = self.job(job_id).await?;
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
