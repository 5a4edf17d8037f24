//! iCal feeds: a secret URL per user (their own jobs) or per project, for calendar applications
//! that cannot sign in. The token is shown once; revoking makes its URL answer 404.

use chrono::{Duration, Utc};
use domain::calendar::ColorMode;
use domain::policy::{Action, Object};
use domain::CalendarFeed;
use tracing::instrument;

use crate::storage::CalendarQuery;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// How far a feed reaches: calendar applications show the recent past and what is planned.
pub const FEED_PAST_DAYS: i64 = 92;
pub const FEED_FUTURE_DAYS: i64 = 366 - FEED_PAST_DAYS;

/// The caller's feeds (live and revoked), newest first. Tokens are never shown again.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(hub: &Hub, caller: &Caller) -> ServiceResult<Vec<CalendarFeed>> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.feeds_of(caller.id()).await
}

/// A new feed with its secret: shown this once.
#[derive(Debug, Clone)]
pub struct NewFeed {
    pub feed: CalendarFeed,
    /// The token inside `url`; kept like a password.
    pub token: String,
    /// The address to give Google Calendar, Outlook or Thunderbird.
    pub url: String,
}

/// Where a feed is fetched from (`UHUB_PUBLIC_URL` is how the outside reaches uHub).
pub fn url(hub: &Hub, token: &str) -> String {
    format!(
        "{}/api/v1/calendar/ical/{token}.ics",
        hub.public_url().trim_end_matches('/')
    )
}

/// Creates a feed of the caller's own jobs, or of one project's.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn create(hub: &Hub, caller: &Caller, project_id: Option<i64>) -> ServiceResult<NewFeed> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    let (feed, token) = tx
        .create_feed(caller.id(), project_id, &caller.actor())
        .await?;
    tx.commit().await?;
    let url = url(hub, &token);
    Ok(NewFeed { feed, token, url })
}

/// Revokes a feed (its owner or an admin); someone else's feed is not even admitted to exist.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn revoke(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<CalendarFeed> {
    let mut tx = hub.storage.write().await?;
    let feed = tx.feed(id).await?;
    if feed.user_id != caller.id()
        && caller
            .may(Action::ManageUsers, &Object::none(), None)
            .is_err()
    {
        return Err(ServiceError::NotFound {
            what: "calendar feed",
        });
    }
    let revoked = tx.revoke_feed(id, &caller.actor()).await?;
    tx.commit().await?;
    Ok(revoked)
}

/// The iCal document a feed token opens. The token is the only credential: a revoked, unknown
/// or malformed one is the same 404.
#[instrument(skip_all)]
pub async fn ical(hub: &Hub, token: &str) -> ServiceResult<String> {
    let not_found = || ServiceError::NotFound { what: "feed" };
    // Anyone may knock here: a token is looked up on a read, and only one that opens a feed
    // takes a write turn (to note its use).
    let access = hub
        .storage
        .read()
        .await?
        .feed_by_token(token)
        .await?
        .ok_or_else(not_found)?;
    let mut tx = hub.storage.write().await?;
    if !tx.feed_used(access.feed_id).await? {
        return Err(not_found());
    }
    tx.commit().await?;
    let now = Utc::now();
    let query = CalendarQuery {
        start: now - Duration::days(FEED_PAST_DAYS),
        end: now + Duration::days(FEED_FUTURE_DAYS),
        project_id: access.project_id,
        job_type: None,
        status: None,
        environment: None,
        color_mode: ColorMode::Project,
    };
    let mut events = hub
        .storage
        .read()
        .await?
        .calendar_events(&query, &hub.zone)
        .await?;
    let name = match &access.project_name {
        Some(project) => format!("uHub · {project}"),
        None => {
            events.retain(|e| e.extended_props.owner.as_deref() == Some(&access.username));
            format!("uHub · {}", access.username)
        }
    };
    Ok(domain::ical::document(
        &domain::ical::Feed {
            name: &name,
            base_url: hub.public_url(),
            generated_at: now,
        },
        &events,
        &hub.zone,
    ))
}
