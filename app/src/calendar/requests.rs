//! The calendar's server functions: one render's data, free slots, moving a job, deciding a
//! move request, and the caller's iCal feeds. Each is a door of a few lines onto one use case of
//! `services` (the same ones the REST API calls).

use chrono::{DateTime, Utc};
use domain::feed::CalendarFeed;
use domain::move_request::{MoveDecision, MoveRequest};
use domain::Job;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::request::{CalendarData, CalendarRequest, Remember};
use crate::AppError;

#[server(prefix = "/sfn", endpoint = "calendar/events")]
pub async fn load_calendar(
    request: CalendarRequest,
    remember: Remember,
) -> Result<CalendarData, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let zone = hub.zone;
    let mut request = request;
    match remember {
        Remember::Recall => {
            if let Some(saved) = services::calendar::remembered_filters(&hub, &caller).await? {
                request.apply(&saved);
            }
        }
        Remember::Store => {
            services::calendar::remember_filters(&hub, &caller, &request.filters()).await?;
        }
        Remember::RecallAsAgenda => {
            if let Some(saved) = services::calendar::remembered_filters(&hub, &caller).await? {
                request.apply(&saved);
            }
            request.view = super::request::View::Agenda;
        }
        Remember::Keep => {}
    }
    let (first, after) = request.view.days(request.date);
    let query = services::storage::CalendarQuery {
        start: domain::calendar::start_of_day(first, &zone),
        end: domain::calendar::start_of_day(after, &zone),
        project_id: request.project,
        job_type: request.job_type,
        status: request.status,
        environment: request.environment.clone(),
        color_mode: request.color_by,
    };
    let board = services::calendar::board(&hub, &caller, &query).await?;
    Ok(CalendarData {
        request,
        zone: domain::zone::Zone::read_once(zone.name(), &zone),
        events: board.events,
        projects: board
            .projects
            .into_iter()
            .map(|(id, name, color)| super::request::ProjectLabel { id, name, color })
            .collect(),
        environments: board.environments,
        pending: board.pending,
        decidable: board.decidable,
        fixed: board.fixed,
        user_id: caller.id(),
    })
}

/// A free place for a job, as the resolution dialog offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[server(prefix = "/sfn", endpoint = "calendar/free-slots")]
pub async fn free_slots(job_id: i64) -> Result<Vec<Slot>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(
        services::calendar::free_slots(&hub, &caller, job_id, None, 3)
            .await?
            .into_iter()
            .map(|w| Slot {
                start: w.start,
                end: w.end,
            })
            .collect(),
    )
}

/// What a move did: the job moved, or (a production move the caller may not make alone) a
/// request now waits for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Moved {
    Job(Job),
    Requested(MoveRequest),
}

/// Moves a job to a new window, based on `version`: the calendar's drag and drop, keyboard and
/// resolution dialog. The same rules as `PATCH /api/v1/jobs/{id}`.
#[server(prefix = "/sfn", endpoint = "calendar/move")]
pub async fn move_job(
    job_id: i64,
    version: i64,
    planned_start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
) -> Result<Moved, AppError> {
    use services::jobs::JobUpdate;
    let (hub, caller) = crate::server::use_case()?;
    let update =
        services::jobs::reschedule(&hub, &caller, job_id, version, planned_start, planned_end)
            .await?;
    Ok(match update {
        JobUpdate::Updated(job) => Moved::Job(job),
        JobUpdate::MoveRequested(request) => Moved::Requested(request),
    })
}

/// Approves, rejects or withdraws a pending move request; the same rules as
/// `POST /api/v1/move-requests/{id}/approve|reject|withdraw`.
#[server(prefix = "/sfn", endpoint = "calendar/decide")]
pub async fn decide_move(id: i64, decision: MoveDecision) -> Result<MoveRequest, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(match decision {
        MoveDecision::Approve => services::moves::approve(&hub, &caller, id).await?.0,
        MoveDecision::Reject => services::moves::reject(&hub, &caller, id, None).await?,
        MoveDecision::Withdraw => services::moves::withdraw(&hub, &caller, id).await?,
    })
}

/// The caller's iCal feeds, live and revoked, newest first.
#[server(prefix = "/sfn", endpoint = "calendar/feeds")]
pub async fn my_feeds() -> Result<Vec<CalendarFeed>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::feeds::list(&hub, &caller).await?)
}

/// Creates a feed of the caller's own jobs, or of one project's; its secret URL, shown once.
#[server(prefix = "/sfn", endpoint = "calendar/feeds/create")]
pub async fn create_feed(project_id: Option<i64>) -> Result<String, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::feeds::create(&hub, &caller, project_id)
        .await?
        .url)
}

/// Revokes one of the caller's feeds: its URL answers 404 from now on.
#[server(prefix = "/sfn", endpoint = "calendar/feeds/revoke")]
pub async fn revoke_feed(id: i64) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    services::feeds::revoke(&hub, &caller, id).await?;
    Ok(())
}
