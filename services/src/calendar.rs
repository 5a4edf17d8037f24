//! The calendar: events of a range with their conflicts, free slots, the live stream of job
//! changes, and the filters each user's calendar remembers. The conflict rule itself is
//! `domain::calendar`; moving a job is [`crate::jobs::update`].

use chrono::{DateTime, NaiveDate, Utc};
use domain::calendar::Window;
use domain::policy::{Action, Decision, Environment, Object};
use domain::{CalendarEvent, CalendarFilters, JobChange, MoveRequest};
use tracing::instrument;

use crate::storage::CalendarQuery;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// An instant from a request: RFC 3339, or a date (midnight in the team's zone).
pub fn instant(
    field: &'static str,
    text: &str,
    zone: &chrono_tz::Tz,
) -> ServiceResult<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => Ok(domain::calendar::start_of_day(day, zone)),
        Err(_) => Err(ServiceError::invalid(
            field,
            "must be an RFC 3339 date-time (2026-11-01T00:00:00Z) or a date (2026-11-01)",
        )),
    }
}

/// A local date and time (`YYYY-MM-DDTHH:MM`, as a form's `datetime-local` sends it) in the
/// team's zone; the earlier instant when the clock goes back.
pub fn local_instant(
    field: &'static str,
    text: &str,
    zone: &chrono_tz::Tz,
) -> ServiceResult<DateTime<Utc>> {
    use chrono::TimeZone;
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|local| zone.from_local_datetime(&local).earliest())
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| ServiceError::invalid(field, "is not a date and time"))
}

/// The jobs planned in a range as events, each with its conflicts (critical jobs of one project
/// and environment whose windows overlap). Conflicts count every job, whatever the filters hide.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn events(
    hub: &Hub,
    caller: &Caller,
    query: &CalendarQuery,
) -> ServiceResult<Vec<CalendarEvent>> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage
        .read()
        .await?
        .calendar_events(query, &hub.zone)
        .await
}

/// What the calendar page draws besides its events.
#[derive(Debug, Clone)]
pub struct Board {
    pub events: Vec<CalendarEvent>,
    /// Every project's id, name and colour, by name (the filter and the legend).
    pub projects: Vec<(i64, String, String)>,
    /// Every environment name in use, once each, sorted.
    pub environments: Vec<String>,
    /// Every pending move request.
    pub pending: Vec<MoveRequest>,
    /// The pending requests the caller may approve or reject (the policy's answer for each).
    pub decidable: Vec<i64>,
    /// The jobs shown that the caller may not move (the policy refuses, or the project is
    /// archived): the calendar does not offer to drag them. A production move that needs an
    /// approval is not among them: it becomes a request.
    pub fixed: Vec<i64>,
}

/// Everything one calendar page shows for `query`.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn board(hub: &Hub, caller: &Caller, query: &CalendarQuery) -> ServiceResult<Board> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let events = db.calendar_events(query, &hub.zone).await?;
    let projects = db.project_labels().await?;
    let mut environments = db.distinct_environment_names().await?;
    environments.sort();
    environments.dedup();
    let pending = db.pending_moves().await?;
    let mut decidable = Vec::new();
    for request in &pending {
        let project = db.project_access(request.project_id).await?;
        let object = Object::project(project.owner_id).with_launcher(request.requested_by);
        if caller
            .decide(Action::ApproveMove, &object, None)
            .is_allowed()
        {
            decidable.push(request.id);
        }
    }
    let mut access = std::collections::HashMap::new();
    let mut fixed = Vec::new();
    for event in &events {
        let props = &event.extended_props;
        let project = match access.get(&props.project_id) {
            Some(project) => project,
            None => {
                let project = db.project_access(props.project_id).await?;
                access.entry(props.project_id).or_insert(project)
            }
        };
        let here = props.environment.as_deref().map(|name| Environment {
            name,
            is_production: props.environment_is_production,
        });
        let object = Object::job(project.owner_id, props.job_type);
        let refused = matches!(
            caller.decide(Action::RescheduleJob, &object, here.as_ref()),
            Decision::Deny(_)
        );
        if refused || project.state == domain::ProjectState::Archived {
            fixed.push(props.job_id);
        }
    }
    Ok(Board {
        events,
        projects,
        environments,
        pending,
        decidable,
        fixed,
    })
}

/// Up to `count` (1 to 10) free places for a job from `from` (its start by default): same
/// length, on the 15-minute grid (whole days for all-day jobs), no conflict in its environment.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = job_id))]
pub async fn free_slots(
    hub: &Hub,
    caller: &Caller,
    job_id: i64,
    from: Option<DateTime<Utc>>,
    count: usize,
) -> ServiceResult<Vec<Window>> {
    caller.may(Action::Read, &Object::none(), None)?;
    if !(1..=10).contains(&count) {
        return Err(ServiceError::invalid("count", "must be 1 to 10"));
    }
    hub.storage
        .read()
        .await?
        .free_slots(job_id, from, count, &hub.zone)
        .await
}

/// Job changes after position `after`, oldest first, at most `limit` (1 to 500).
pub async fn changes_after(
    hub: &Hub,
    caller: &Caller,
    after: i64,
    limit: u32,
) -> ServiceResult<Vec<JobChange>> {
    caller.may(Action::Read, &Object::none(), None)?;
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be 1 to 500"));
    }
    if after < 0 {
        return Err(ServiceError::invalid("after", "must be 0 or more"));
    }
    hub.storage
        .read()
        .await?
        .job_changes_after(after, limit)
        .await
}

/// The position of the newest job change: a live reader starts after it.
pub async fn latest_change(hub: &Hub, caller: &Caller) -> ServiceResult<i64> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.latest_job_change().await
}

/// The filters and view the caller last chose, if any.
pub async fn remembered_filters(
    hub: &Hub,
    caller: &Caller,
) -> ServiceResult<Option<CalendarFilters>> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage
        .read()
        .await?
        .saved_calendar_filters(caller.id())
        .await
}

/// Remembers the filters and view the caller chose (not audited: they change what one person
/// sees, nothing anyone relies on).
pub async fn remember_filters(
    hub: &Hub,
    caller: &Caller,
    filters: &CalendarFilters,
) -> ServiceResult<()> {
    caller.may(Action::Read, &Object::none(), None)?;
    if filters
        .environment
        .as_ref()
        .is_some_and(|e| e.is_empty() || e.chars().count() > 100 || e.contains('\0'))
    {
        return Err(ServiceError::invalid("environment", "1 to 100 characters"));
    }
    let mut tx = hub.storage.write().await?;
    tx.set_calendar_filters(caller.id(), filters).await?;
    tx.commit().await
}
