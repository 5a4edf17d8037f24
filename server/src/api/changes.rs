//! `GET /calendar/changes`: the job changes that open calendars follow, as JSON pages or live
//! as Server-Sent Events.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiQuery, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(calendar_changes))
}

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
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ChangesQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let limit = query.limit.unwrap_or(100);
    // Checks the caller and the parameters, live or not.
    let first =
        services::calendar::changes_after(&state.hub, &caller, query.after.unwrap_or(0), limit)
            .await?;
    let live = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !live {
        return Ok(Json(first).into_response());
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after);
    let after = match resume {
        Some(id) => id.max(0),
        None => services::calendar::latest_change(&state.hub, &caller).await?,
    };
    struct Follow {
        state: AppState,
        /// Where the reader stood when it connected.
        start: i64,
        last: i64,
        sent: BTreeSet<i64>,
        pending: VecDeque<Event>,
        caller: services::Caller,
        /// The session's token: the stream goes on while it opens a session.
        token: String,
        /// Counts the stream in `uhub_sse_connections` until it is dropped.
        _live: services::telemetry::LiveStream,
    }
    let start = Follow {
        token: crate::session::request_token(&headers).unwrap_or_default(),
        state,
        start: after,
        last: after,
        sent: BTreeSet::new(),
        pending: VecDeque::new(),
        caller,
        _live: services::telemetry::LiveStream::open(),
    };
    let stream = futures_util::stream::unfold(start, |mut follow| async move {
        loop {
            if let Some(event) = follow.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(event), follow));
            }
            // A deactivated account stops receiving at once, whatever its token says (so does
            // one whose password or role changed, and a session that expired or logged out).
            if !crate::session::still_signed_in(&follow.state, &follow.token, &follow.caller).await
            {
                return None;
            }
            let from = (follow.last - LOOKBACK).max(0);
            match services::calendar::changes_after(&follow.state.hub, &follow.caller, from, BATCH)
                .await
            {
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

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use domain::feed::JobChange;

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
