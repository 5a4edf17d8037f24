//! Following the plan from elsewhere: the job changes (JSON, or live as Server-Sent Events) that
//! open calendars listen to, the iCal feeds calendar applications subscribe to, and the filters
//! each user's calendar remembers.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration as ChronoDuration, Utc};
use domain::calendar::ColorMode;
use domain::feed::{CalendarFeed, CalendarFilters};
use domain::policy::{Action, Object};
use serde::{Deserialize, Serialize};
use services::storage::CalendarQuery;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

/// How often a live calendar looks for changes. The changes are read from the database (the
/// audit log), so a calendar follows moves made through any uHub process sharing it.
const POLL: Duration = Duration::from_millis(700);
/// Changes read per look.
const BATCH: u32 = 200;
/// How far back each look re-reads: on PostgreSQL an id can become visible after a higher one
/// (transactions commit out of order), so the ids just below the last one seen are read again
/// and the ones already sent skipped.
const LOOKBACK: i64 = 64;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Changes after this position (a change's `id`); as JSON, from the start of the log
    /// without it. A live reader sends `Last-Event-ID` instead.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// At most this many changes in one JSON answer (1 to 500, 100 by default).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Job changes (created, edited, moved, deleted, move requests and their decisions), oldest
/// first. As JSON, a page of them after `after`. Live, with `Accept: text/event-stream`, as
/// Server-Sent Events: `event: job`, `id:` the change's position, `data:` a `JobChange`; the
/// stream starts with the next change, or after `Last-Event-ID` (browsers resend it when they
/// reconnect).
#[utoipa::path(get, path = "/calendar/changes", tag = "calendar",
    params(ChangesQuery),
    responses((status = 200, description = "The changes", content(
        (Vec<domain::JobChange> = "application/json"),
        (String = "text/event-stream"),
    ))))]
pub async fn calendar_changes(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ChangesQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.may(Action::Read, &Object::none(), None)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1 to 500"));
    }
    if query.after.is_some_and(|after| after < 0) {
        return Err(ApiError::invalid("after", "must be 0 or more"));
    }
    let live = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !live {
        let changes = state
            .storage
            .job_changes_after(query.after.unwrap_or(0), limit)
            .await?;
        return Ok(Json(changes).into_response());
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after);
    let after = match resume {
        Some(id) => id.max(0),
        None => state.storage.latest_job_change().await?,
    };
    struct Follow {
        state: AppState,
        /// Where the reader stood when it connected.
        start: i64,
        last: i64,
        sent: BTreeSet<i64>,
        pending: VecDeque<Event>,
        user_id: i64,
    }
    let start = Follow {
        state,
        start: after,
        last: after,
        sent: BTreeSet::new(),
        pending: VecDeque::new(),
        user_id: caller.user.id,
    };
    let stream = futures_util::stream::unfold(start, |mut follow| async move {
        loop {
            if let Some(event) = follow.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(event), follow));
            }
            // A deactivated account stops receiving at once, whatever its token says.
            match follow.state.storage.user_by_id(follow.user_id).await {
                Ok(user) if user.is_active => {}
                _ => return None,
            }
            let from = (follow.last - LOOKBACK).max(0);
            match follow.state.storage.job_changes_after(from, BATCH).await {
                Ok(changes) => {
                    for change in changes {
                        if change.id <= follow.last - LOOKBACK || !follow.sent.insert(change.id) {
                            continue;
                        }
                        // What was there when the stream began counts as seen by the reader.
                        if change.id <= follow.start {
                            continue;
                        }
                        follow.last = follow.last.max(change.id);
                        if let Ok(data) = serde_json::to_string(&change) {
                            follow.pending.push_back(
                                Event::default()
                                    .event("job")
                                    .id(change.id.to_string())
                                    .data(data),
                            );
                        }
                    }
                    // Only the lookback window needs remembering.
                    let floor = follow.last - LOOKBACK;
                    follow.sent = follow.sent.split_off(&floor);
                }
                Err(error) => {
                    tracing::warn!(%error, "calendar stream: cannot read changes");
                }
            }
            if follow.pending.is_empty() {
                tokio::time::sleep(POLL).await;
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The caller's iCal feeds (live and revoked), newest first. Tokens are never shown again.
#[utoipa::path(get, path = "/calendar/feeds", tag = "calendar",
    responses((status = 200, description = "The caller's feeds", body = Page<CalendarFeed>)))]
pub async fn list_feeds(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<CalendarFeed>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(Page::complete(
        state.storage.feeds_of(caller.user.id).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeedRequest {
    /// A project's whole plan; without it, the jobs the caller owns.
    #[serde(default)]
    project_id: Option<i64>,
}

/// A new feed, with its secret URL: shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewFeed {
    pub feed: CalendarFeed,
    /// The token inside `url`; keep it like a password.
    pub token: String,
    /// The address to give Google Calendar, Outlook or Thunderbird.
    pub url: String,
}

/// Create an iCal feed of the caller's own jobs, or of one project's.
#[utoipa::path(post, path = "/calendar/feeds", tag = "calendar", request_body = NewFeedRequest,
    responses(
        (status = 201, description = "Created: the URL is shown this once", body = NewFeed),
        (status = 404, description = "No such project", body = super::docs::ErrorBody),
    ))]
pub async fn create_feed(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewFeedRequest>,
) -> ApiResult<(StatusCode, Json<NewFeed>)> {
    caller.may(Action::Read, &Object::none(), None)?;
    let (feed, token) = state
        .storage
        .create_feed(caller.user.id, request.project_id, &caller.actor)
        .await?;
    let url = feed_url(&state, &token);
    Ok((StatusCode::CREATED, Json(NewFeed { feed, token, url })))
}

/// Where a feed is fetched from (`UHUB_PUBLIC_URL` is how the outside reaches uHub).
pub fn feed_url(state: &AppState, token: &str) -> String {
    format!(
        "{}/api/v1/calendar/ical/{token}.ics",
        state.executor.public_url().trim_end_matches('/')
    )
}

/// Revoke a feed (its owner or an admin): its URL answers 404 from now on.
#[utoipa::path(delete, path = "/calendar/feeds/{id}", tag = "calendar",
    params(("id" = i64, Path, description = "Feed id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_feed(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let feed = state.storage.feed(id).await?;
    if feed.user_id != caller.user.id {
        // Someone else's feed: only an admin may know it exists.
        if caller
            .may(Action::ManageUsers, &Object::none(), None)
            .is_err()
        {
            return Err(services::ServiceError::NotFound {
                what: "calendar feed",
            }
            .into());
        }
    }
    state.storage.revoke_feed(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How far the feed reaches: calendar applications show the recent past and what is planned.
const FEED_PAST_DAYS: i64 = 92;
const FEED_FUTURE_DAYS: i64 = 366 - FEED_PAST_DAYS;

/// The iCal document of a feed (`text/calendar`), for calendar applications: the token in the
/// path is the only credential. A revoked, unknown or malformed token answers 404.
#[utoipa::path(get, path = "/calendar/ical/{file}", tag = "calendar", security(()),
    params(("file" = String, Path, description = "`<token>.ics`")),
    responses(
        (status = 200, description = "The feed", content((String = "text/calendar"))),
        (status = 404, description = "No such live feed", body = super::docs::ErrorBody),
    ))]
pub async fn ical_feed(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
) -> ApiResult<Response> {
    let not_found = || ApiError::from(services::ServiceError::NotFound { what: "feed" });
    let token = file.strip_suffix(".ics").ok_or_else(not_found)?;
    let access = state
        .storage
        .feed_by_token(token)
        .await?
        .ok_or_else(not_found)?;
    let now = Utc::now();
    let query = CalendarQuery {
        start: now - ChronoDuration::days(FEED_PAST_DAYS),
        end: now + ChronoDuration::days(FEED_FUTURE_DAYS),
        project_id: access.project_id,
        job_type: None,
        status: None,
        environment: None,
        color_mode: ColorMode::Project,
    };
    let mut events = state.storage.calendar_events(&query, &state.zone).await?;
    let name = match &access.project_name {
        Some(project) => format!("uHub · {project}"),
        None => {
            events.retain(|e| e.extended_props.owner.as_deref() == Some(&access.username));
            format!("uHub · {}", access.username)
        }
    };
    let document = domain::ical::document(
        &domain::ical::Feed {
            name: &name,
            base_url: state.executor.public_url(),
            generated_at: now,
        },
        &events,
        &state.zone,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
            (header::CONTENT_DISPOSITION, "inline; filename=\"uhub.ics\""),
        ],
        document,
    )
        .into_response())
}

/// The calendar filters and view the caller last chose (defaults if none).
#[utoipa::path(get, path = "/calendar/filters", tag = "calendar",
    responses((status = 200, description = "The remembered filters", body = CalendarFilters)))]
pub async fn get_filters(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<CalendarFilters>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.calendar_filters(caller.user.id).await?))
}

/// Remember the calendar filters and view the caller chose.
#[utoipa::path(put, path = "/calendar/filters", tag = "calendar", request_body = CalendarFilters,
    responses((status = 200, description = "Saved", body = CalendarFilters)))]
pub async fn put_filters(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(filters): ApiJson<CalendarFilters>,
) -> ApiResult<Json<CalendarFilters>> {
    caller.may(Action::Read, &Object::none(), None)?;
    if filters
        .environment
        .as_ref()
        .is_some_and(|e| e.is_empty() || e.chars().count() > 100)
    {
        return Err(ApiError::invalid("environment", "1 to 100 characters"));
    }
    state
        .storage
        .set_calendar_filters(caller.user.id, &filters)
        .await?;
    Ok(Json(filters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::feed::JobChange;

    #[test]
    fn the_feed_window_is_a_year() {
        assert_eq!(FEED_PAST_DAYS + FEED_FUTURE_DAYS, 366);
    }

    #[test]
    fn job_change_serialises_with_its_position() -> Result<(), serde_json::Error> {
        let change = JobChange {
            id: 7,
            job_id: 3,
            action: "job.reschedule".into(),
            actor_id: Some(2),
            actor: Some("demo-projets".into()),
            at: Utc::now(),
        };
        let json = serde_json::to_value(&change)?;
        assert_eq!(json["id"], 7);
        assert_eq!(json["job_id"], 3);
        Ok(())
    }
}
