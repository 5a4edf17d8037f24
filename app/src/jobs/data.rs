//! What the job pages exchange with the server: the job with its surroundings, the editor's
//! draft, and the server functions that read, save, delete and launch a job — each one use case
//! of `services`, the same as the REST API's.

use domain::{
    EnvironmentRecord, ExecutionBackend, Job, JobAction, JobType, ProjectState, Role, Run,
};
use serde::{Deserialize, Serialize};

pub use crate::people::{people, Person};
use crate::AppError;
use leptos::prelude::*;

/// A job with what its page shows around it. Times are also given as the editor shows them:
/// local to uHub's time zone (`UHUB_TIMEZONE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub job: Job,
    pub project_name: String,
    pub project_owner_id: Option<i64>,
    pub project_state: ProjectState,
    pub project_backend: Option<ExecutionBackend>,
    pub environments: Vec<EnvironmentRecord>,
    pub runs: Vec<Run>,
    /// `YYYY-MM-DDTHH:MM` (timed) or `YYYY-MM-DD` (all day), in uHub's time zone.
    pub start_local: String,
    /// The end the same way; for an all-day job, its last day (inclusive).
    pub end_local: Option<String>,
    /// uHub's time zone, for the editor's label.
    pub zone: String,
}

/// A job as the editor fills it in. `start` and `end` are local to uHub's time zone:
/// `YYYY-MM-DDTHH:MM`, or `YYYY-MM-DD` for an all-day job (whose `end` is its last day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDraft {
    pub project_id: i64,
    pub title: String,
    pub description: String,
    pub job_type: JobType,
    pub environment: Option<String>,
    pub start: String,
    pub end: Option<String>,
    pub all_day: bool,
    pub owner_id: Option<i64>,
    pub responsible_role: Option<Role>,
    pub auto_start: bool,
    pub action: Option<JobAction>,
}

/// What saving a job did: saved, or (a production move by someone who may not alone) a move
/// request waiting for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SavedJob {
    Saved(Job),
    MoveRequested(domain::MoveRequest),
}

#[cfg(feature = "ssr")]
mod local_time {
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use services::ServiceError;

    /// A job's window as the editor shows it, in `zone`.
    pub fn shown(
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        all_day: bool,
        zone: &chrono_tz::Tz,
    ) -> (String, Option<String>) {
        if all_day {
            let first = domain::calendar::day_of(start, zone);
            let last = end
                .filter(|end| *end > start)
                .map(|end| domain::calendar::day_of(end - Duration::microseconds(1), zone));
            (
                first.format("%Y-%m-%d").to_string(),
                last.filter(|last| *last != first)
                    .map(|last| last.format("%Y-%m-%d").to_string()),
            )
        } else {
            let format =
                |at: DateTime<Utc>| at.with_timezone(zone).format("%Y-%m-%dT%H:%M").to_string();
            (format(start), end.map(format))
        }
    }

    fn day(field: &'static str, text: &str) -> Result<NaiveDate, ServiceError> {
        NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
            .map_err(|_| ServiceError::invalid(field, "is not a date"))
    }

    /// The instants of an editor's `start` and `end` (an all-day job's `end` is its last day,
    /// stored as the next day's midnight).
    pub fn instants(
        start: &str,
        end: Option<&str>,
        all_day: bool,
        zone: &chrono_tz::Tz,
    ) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>), ServiceError> {
        let end = end.map(str::trim).filter(|e| !e.is_empty());
        if all_day {
            let first = day("start", start)?;
            let end = match end {
                Some(text) => {
                    let last = day("end", text)?;
                    let after = last
                        .succ_opt()
                        .ok_or_else(|| ServiceError::invalid("end", "is too far"))?;
                    Some(domain::calendar::start_of_day(after, zone))
                }
                None => None,
            };
            Ok((domain::calendar::start_of_day(first, zone), end))
        } else {
            let at = |field, text: &str| services::calendar::local_instant(field, text, zone);
            let end = end.map(|text| at("end", text)).transpose()?;
            Ok((at("start", start)?, end))
        }
    }
}

#[server(prefix = "/sfn", endpoint = "jobs/detail")]
pub async fn job_detail(job_id: i64) -> Result<JobView, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let job = services::jobs::get(&hub, &caller, job_id).await?;
    let project = services::projects::get(&hub, &caller, job.project_id).await?;
    let (start_local, end_local) =
        local_time::shown(job.planned_start, job.planned_end, job.all_day, &hub.zone);
    Ok(JobView {
        environments: services::environments::list(&hub, &caller, job.project_id).await?,
        runs: services::runs::list_for_job(&hub, &caller, job_id, None, 50).await?,
        project_name: project.name,
        project_owner_id: project.owner_id,
        project_state: project.state,
        project_backend: project.execution_backend,
        start_local,
        end_local,
        zone: hub.zone.name().to_owned(),
        job,
    })
}

/// Creates a job (`id` none) or saves the changes to one (`id` and the `version` it was read
/// at): only what differs from the stored job is sent, so that moving a production job stays a
/// move (which may become a request) and a stale edit is a 409.
#[server(prefix = "/sfn", endpoint = "jobs/save", input = leptos::server_fn::codec::Json)]
pub async fn save_job(
    id: Option<i64>,
    version: Option<i64>,
    draft: JobDraft,
) -> Result<SavedJob, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let (start, end) =
        local_time::instants(&draft.start, draft.end.as_deref(), draft.all_day, &hub.zone)?;
    let environment = draft.environment.filter(|e| !e.is_empty());
    let Some(id) = id else {
        let job = services::storage::NewJob {
            project_id: draft.project_id,
            title: draft.title,
            description: draft.description,
            job_type: draft.job_type,
            environment,
            planned_start: start,
            planned_end: end,
            all_day: draft.all_day,
            owner_id: draft.owner_id,
            responsible_role: draft.responsible_role,
            action: draft.action,
            auto_start: draft.auto_start,
        };
        return Ok(SavedJob::Saved(
            services::jobs::create(&hub, &caller, job).await?,
        ));
    };
    let current = services::jobs::get(&hub, &caller, id).await?;
    let changed = |same: bool| !same;
    let changes = services::storage::JobChanges {
        title: changed(draft.title == current.title).then_some(draft.title),
        description: changed(draft.description == current.description).then_some(draft.description),
        job_type: changed(draft.job_type == current.job_type).then_some(draft.job_type),
        environment: changed(environment == current.environment).then_some(environment),
        planned_start: changed(start == current.planned_start).then_some(start),
        planned_end: changed(end == current.planned_end).then_some(end),
        all_day: changed(draft.all_day == current.all_day).then_some(draft.all_day),
        owner_id: changed(draft.owner_id == current.owner_id).then_some(draft.owner_id),
        responsible_role: changed(draft.responsible_role == current.responsible_role)
            .then_some(draft.responsible_role),
        action: changed(draft.action == current.action).then_some(draft.action),
        auto_start: changed(draft.auto_start == current.auto_start).then_some(draft.auto_start),
        status: None,
    };
    let version = version.unwrap_or(current.version);
    Ok(
        match services::jobs::update(&hub, &caller, id, version, changes).await? {
            services::jobs::JobUpdate::Updated(job) => SavedJob::Saved(job),
            services::jobs::JobUpdate::MoveRequested(request) => SavedJob::MoveRequested(request),
        },
    )
}

/// Deletes a job that was never run (a job with runs keeps its history: 409).
#[server(prefix = "/sfn", endpoint = "jobs/delete")]
pub async fn delete_job(job_id: i64) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::jobs::delete(&hub, &caller, job_id).await?)
}

/// The scripts a `script` action may name.
#[server(prefix = "/sfn", endpoint = "scripts")]
pub async fn scripts() -> Result<Vec<ScriptEntry>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::scripts::list(&hub, &caller)
        .await?
        .into_iter()
        .map(|s| ScriptEntry {
            path: s.path,
            executable: s.executable,
        })
        .collect())
}

/// A script of the picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptEntry {
    pub path: String,
    pub executable: bool,
}

/// uHub's time zone (`UHUB_TIMEZONE`), in which the editor's times are read.
#[server(prefix = "/sfn", endpoint = "time-zone")]
pub async fn time_zone() -> Result<String, AppError> {
    let (hub, _caller) = crate::server::use_case()?;
    Ok(hub.zone.name().to_owned())
}
