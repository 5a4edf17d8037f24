//! `/jobs/{id}/runs` and `/runs/{id}`: launching a job (guardrails decide between the queue,
//! approval and refusal), reading runs, approving, rejecting, cancelling, the log (whole as text,
//! or live as Server-Sent Events) and the webhook targets' signed callbacks.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{ExecutionBackend, LogLine, Run};
use serde::Deserialize;
use services::runs::Verdict;
use services::storage::CancelOutcome;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{id_cursor, json, page_limit, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_job_runs, launch_run))
        .routes(routes!(get_run))
        .routes(routes!(run_logs))
        .routes(routes!(cancel_run))
        .routes(routes!(run_callback))
        .routes(routes!(approve_run))
        .routes(routes!(reject_run))
}

/// Pagination of id-ordered listings.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 200, 50 by default.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// A job's runs, newest first.
#[utoipa::path(get, path = "/jobs/{id}/runs", tag = "runs",
    params(("id" = i64, Path, description = "Job id"), RunQuery),
    responses((status = 200, description = "A page of runs", body = Page<Run>)))]
pub async fn list_job_runs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> ApiResult<Json<Page<Run>>> {
    let limit = page_limit(query.limit, 50, 200)?;
    let before = id_cursor(query.cursor.as_deref())?;
    let runs = services::runs::list_for_job(&state.hub, &caller, id, before, limit + 1).await?;
    Ok(Json(Page::from_overfetch(runs, limit, |run| {
        run.id.to_string()
    })))
}

/// One run: status, exit code, times, backend, environment, launcher.
#[utoipa::path(get, path = "/runs/{id}", tag = "runs",
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "The run", body = Run)))]
pub async fn get_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Run>> {
    json(services::runs::get(&state.hub, &caller, id).await)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchRequest {
    /// The job's own environment, or absent: a run always runs in its job's environment, and
    /// naming another is refused (422).
    environment: Option<String>,
    /// Defaults to the project's `execution_backend`.
    backend: Option<ExecutionBackend>,
    /// For an action from a repository: run this commit of it (SHA or unambiguous prefix)
    /// instead of the one its ref names now ("run again at this commit").
    commit_sha: Option<String>,
    /// For an Ansible apply: the check-mode run it follows (same playbook and inventory); its
    /// predicted changes are shown with the approval and against the results.
    after_check: Option<i64>,
    /// For a Terraform apply: the plan run whose saved plan it applies. Refused (409) when a
    /// newer plan exists for the workspace or the commit moved since.
    plan_run: Option<i64>,
}

/// Launch a run of a job. Allowed → `queued`; a production run → `awaiting_approval` until
/// projets or admin approve it; refused → 403 naming the rule.
#[utoipa::path(post, path = "/jobs/{id}/runs", tag = "runs",
    params(("id" = i64, Path, description = "Job id")), request_body = LaunchRequest,
    responses((status = 201, description = "Queued, or awaiting approval", body = Run)))]
pub async fn launch_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<LaunchRequest>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    let run = services::runs::launch(
        &state.hub,
        &caller,
        id,
        services::runs::LaunchOptions {
            environment: request.environment,
            backend: request.backend,
            commit_sha: request.commit_sha,
            after_check: request.after_check,
            plan_run: request.plan_run,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Said to the launcher and kept with the run.
    comment: Option<String>,
    /// Approving a Terraform apply: the digest of the plan the approver saw (`plan_sha256` of
    /// `GET /runs/{id}/terraform`); another plan's is refused (409).
    plan_sha256: Option<String>,
}

/// Approve a run awaiting approval (projets or admin, never the launcher): it joins the queue.
#[utoipa::path(post, path = "/runs/{id}/approve", tag = "runs",
    params(("id" = i64, Path, description = "Run id")), request_body = DecisionRequest,
    responses((status = 200, description = "Approved: queued", body = Run)))]
pub async fn approve_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> ApiResult<Json<Run>> {
    json(
        services::runs::decide(
            &state.hub,
            &caller,
            id,
            Verdict::Approve,
            request.comment.as_deref(),
            request.plan_sha256.as_deref(),
        )
        .await,
    )
}

/// Reject a run awaiting approval: it is canceled with the comment.
#[utoipa::path(post, path = "/runs/{id}/reject", tag = "runs",
    params(("id" = i64, Path, description = "Run id")), request_body = DecisionRequest,
    responses((status = 200, description = "Rejected: canceled", body = Run)))]
pub async fn reject_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> ApiResult<Json<Run>> {
    json(
        services::runs::decide(
            &state.hub,
            &caller,
            id,
            Verdict::Reject,
            request.comment.as_deref(),
            None,
        )
        .await,
    )
}

/// Cancel a run: one not started yet is canceled at once (200); a running one is stopped by the
/// process running it (202), which records the end.
#[utoipa::path(post, path = "/runs/{id}/cancel", tag = "runs",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "Canceled", body = Run),
        (status = 202, description = "Stopping: the run ends as `canceled` shortly", body = Run),
    ))]
pub async fn cancel_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    match services::runs::cancel(&state.hub, &caller, id).await? {
        CancelOutcome::Canceled(run) => Ok((StatusCode::OK, Json(run))),
        CancelOutcome::Requested(run) => Ok((StatusCode::ACCEPTED, Json(run))),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only lines after this sequence number (resuming a live stream; also `Last-Event-ID`).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// `true`: served as a file to save (`run-<id>.log`).
    download: Option<bool>,
}

/// The log: the whole text (`text/plain`), or live as Server-Sent Events with
/// `Accept: text/event-stream` (each event's id is the line's `seq`; an `end` event closes it).
#[utoipa::path(get, path = "/runs/{id}/logs", tag = "runs",
    params(("id" = i64, Path, description = "Run id"), LogQuery),
    responses((status = 200, description = "The log", content(
        (String = "text/plain"),
        (String = "text/event-stream"),
    ))))]
pub async fn run_logs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LogQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let after = query.after.or(resume).unwrap_or(0).max(0);
    let run = services::runs::get(&state.hub, &caller, id).await?;
    let live = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if live {
        let token = crate::session::request_token(&headers).unwrap_or_default();
        return Ok(live_log(state, (caller, token), run.id, after).into_response());
    }
    let mut text = String::new();
    let mut last = after;
    loop {
        let lines = services::runs::log(&state.hub, &caller, run.id, last, 5000).await?;
        let Some(tail) = lines.last() else { break };
        last = tail.seq;
        for line in &lines {
            text.push_str(&line.line);
            text.push('\n');
        }
    }
    let mut response =
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    if query.download == Some(true) {
        if let Ok(value) = format!("attachment; filename=\"run-{}.log\"", run.id).parse() {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// How often a live reader looks for new lines at least: the log is in the database, so a
/// reader follows a run executed by any uHub process sharing it. Changes made by this process
/// are announced (`Storage::run_changes`) and read at once.
const POLL: Duration = Duration::from_millis(200);

/// How often a live reader's session is looked at again (see `services::auth::still_signed_in`).
const ACCOUNT_CHECK: Duration = Duration::from_secs(1);

fn line_event(line: &LogLine) -> Event {
    Event::default()
        .id(line.seq.to_string())
        .event(line.stream.as_str())
        .data(line.line.clone())
}

/// The live log of run `run_id` for the reader `(caller, token)`, after line `after`.
fn live_log(
    state: AppState,
    (caller, token): (services::Caller, String),
    run_id: i64,
    after: i64,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    struct Follow {
        state: AppState,
        caller: services::Caller,
        /// The session's token: the stream goes on while it opens a session.
        token: String,
        run_id: i64,
        last: i64,
        pending: std::collections::VecDeque<Event>,
        done: bool,
        /// This process's announcements of changed runs.
        changes: services::storage::RunChanges,
        /// Counts the stream in `uhub_sse_connections` until it is dropped.
        _live: services::telemetry::LiveStream,
        /// When the reader's session was last found as it was when the stream opened.
        checked_at: std::time::Instant,
    }
    // Before the first look: a change made after it is heard.
    let changes = state.hub.storage.run_changes();
    let start = Follow {
        state,
        caller,
        token,
        run_id,
        last: after,
        pending: Default::default(),
        done: false,
        changes,
        _live: services::telemetry::LiveStream::open(),
        checked_at: std::time::Instant::now(),
    };
    let stream = futures_util::stream::unfold(start, |mut follow| async move {
        loop {
            if let Some(event) = follow.pending.pop_front() {
                return Some((Ok(event), follow));
            }
            if follow.done {
                return None;
            }
            // A deactivated account (or a changed password or role, a session expired or
            // logged out) stops reading at once, as on the calendar's stream; looked at most
            // once a second, two reads of one row.
            if follow.checked_at.elapsed() >= ACCOUNT_CHECK {
                if !crate::session::still_signed_in(&follow.state, &follow.token, &follow.caller)
                    .await
                {
                    return None;
                }
                follow.checked_at = std::time::Instant::now();
            }
            // The status first: lines written before a final status are all read below.
            let status = services::runs::get(&follow.state.hub, &follow.caller, follow.run_id)
                .await
                .map(|r| r.status);
            match services::runs::log(
                &follow.state.hub,
                &follow.caller,
                follow.run_id,
                follow.last,
                500,
            )
            .await
            {
                Ok(lines) if !lines.is_empty() => {
                    if let Some(tail) = lines.last() {
                        follow.last = tail.seq;
                    }
                    follow.pending.extend(lines.iter().map(line_event));
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    follow
                        .pending
                        .push_back(Event::default().event("error").data(error.to_string()));
                    follow.done = true;
                    continue;
                }
            }
            match status {
                Ok(status) if status.is_final() => {
                    follow
                        .pending
                        .push_back(Event::default().event("end").data(status.as_str()));
                    follow.done = true;
                }
                Ok(_) => follow.changes.changed(follow.run_id, POLL).await,
                Err(error) => {
                    follow
                        .pending
                        .push_back(Event::default().event("error").data(error.to_string()));
                    follow.done = true;
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// For the webhook target: progress and the end of a webhook run, signed with the run's
/// callback key (`callback_secret` in the trigger): `X-Uhub-Timestamp: <Unix seconds>` and
/// `X-Uhub-Signature-256: sha256=<hex HMAC-SHA256 of "{run id}.{timestamp}.{raw body}">`. A
/// callback older than 5 minutes, or already received, is refused; so is an unknown run, with
/// the same answer as a bad signature.
#[utoipa::path(post, path = "/runs/{id}/callback", tag = "runs", security(()),
    params(("id" = i64, Path, description = "Run id")), request_body = services::runs::CallbackReport,
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "Missing, wrong, stale or replayed signature, or no such run", body = super::docs::ErrorBody),
        (status = 409, description = "Not a running webhook run", body = super::docs::ErrorBody),
    ))]
pub async fn run_callback(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let signature = headers
        .get(services::engine::webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let timestamp = headers
        .get(services::engine::webhook::TIMESTAMP_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    services::runs::callback(&state.hub, id, timestamp, signature, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
