//! `/calendar/feeds` and `/calendar/ical/{token}.ics`: iCal feeds of one's own jobs or of a
//! project, for calendar applications that cannot sign in: a secret URL, shown once, revocable.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::feed::CalendarFeed;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiJson, ApiPath, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_feeds, create_feed))
        .routes(routes!(revoke_feed))
        .routes(routes!(ical_feed))
}

/// The caller's iCal feeds (live and revoked), newest first. Tokens are never shown again.
#[utoipa::path(get, path = "/calendar/feeds", tag = "calendar",
    responses((status = 200, description = "The caller's feeds", body = Page<CalendarFeed>)))]
pub async fn list_feeds(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Page<CalendarFeed>>> {
    Ok(Json(Page::complete(
        services::feeds::list(&state.hub, &caller).await?,
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
    Caller(caller): Caller,
    ApiJson(request): ApiJson<NewFeedRequest>,
) -> ApiResult<(StatusCode, Json<NewFeed>)> {
    let created = services::feeds::create(&state.hub, &caller, request.project_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewFeed {
            feed: created.feed,
            token: created.token,
            url: created.url,
        }),
    ))
}

/// Revoke a feed (its owner or an admin): its URL answers 404 from now on.
#[utoipa::path(delete, path = "/calendar/feeds/{id}", tag = "calendar",
    params(("id" = i64, Path, description = "Feed id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_feed(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    services::feeds::revoke(&state.hub, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
    let token = file
        .strip_suffix(".ics")
        .ok_or_else(|| ApiError::from(services::ServiceError::NotFound { what: "feed" }))?;
    let document = services::feeds::ical(&state.hub, token).await?;
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

#[cfg(test)]
mod tests {
    use services::feeds::{FEED_FUTURE_DAYS, FEED_PAST_DAYS};

    #[test]
    fn the_feed_window_is_a_year() {
        assert_eq!(FEED_PAST_DAYS + FEED_FUTURE_DAYS, 366);
    }
}
