//! Runs: launching a job (guardrails decide between the queue, approval and refusal), approving,
//! rejecting, cancelling, and the log (whole as text, or live as Server-Sent Events). Project
//! secrets are written here too: write-only, listed by name.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::policy::{Action, Object};
use domain::{ExecutionBackend, LogLine, Run, RunStatus, SecretInfo};
use serde::Deserialize;
use services::secrets::MAX_SECRET_BYTES;
use services::storage::CancelOutcome;

use super::projects::project_for_change;
use super::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchRequest {
    /// Defaults to the job's environment.
    environment: Option<String>,
    /// Defaults to the project's `execution_backend`.
    backend: Option<ExecutionBackend>,
}

/// Launch a run of a job. Allowed → `queued`; a production run → `awaiting_approval` until
/// projets or admin approve it; refused → 403 naming the rule.
#[utoipa::path(post, path = "/jobs/{id}/runs", tag = "runs",
    params(("id" = i64, Path, description = "Job id")), request_body = LaunchRequest,
    responses((status = 201, description = "Queued, or awaiting approval", body = Run)))]
pub async fn launch_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<LaunchRequest>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    let job = state.storage.job(id).await?;
    let run = state
        .executor
        .launch(
            &caller.subject(),
            &job,
            request.environment,
            request.backend,
            &caller.actor,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(run)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Said to the launcher and kept with the run.
    comment: Option<String>,
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    id: i64,
    approve: bool,
    comment: Option<String>,
) -> ApiResult<Json<Run>> {
    let run = state.storage.run(id).await?;
    let project = state.storage.project_access(run.project_id).await?;
    let object = Object::project(project.owner_id).with_launcher(run.launched_by);
    caller.may(Action::ApproveRun, &object, None)?;
    if comment.as_deref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::invalid("comment", "at most 2000 characters"));
    }
    let decided = state
        .executor
        .decide(id, approve, comment.as_deref(), &caller.actor)
        .await?;
    Ok(Json(decided))
}

/// Approve a run awaiting approval (projets or admin, never the launcher): it joins the queue.
#[utoipa::path(post, path = "/runs/{id}/approve", tag = "runs",
    params(("id" = i64, Path, description = "Run id")), request_body = DecisionRequest,
    responses((status = 200, description = "Approved: queued", body = Run)))]
pub async fn approve_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> ApiResult<Json<Run>> {
    decide(&state, &caller, id, true, request.comment).await
}

/// Reject a run awaiting approval: it is canceled with the comment.
#[utoipa::path(post, path = "/runs/{id}/reject", tag = "runs",
    params(("id" = i64, Path, description = "Run id")), request_body = DecisionRequest,
    responses((status = 200, description = "Rejected: canceled", body = Run)))]
pub async fn reject_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> ApiResult<Json<Run>> {
    decide(&state, &caller, id, false, request.comment).await
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, Json<Run>)> {
    let run = state.storage.run(id).await?;
    let project = state.storage.project_access(run.project_id).await?;
    let object = Object::project(project.owner_id).with_launcher(run.launched_by);
    caller.may(Action::CancelRun, &object, None)?;
    match state.executor.cancel(id, &caller.actor).await? {
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LogQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.may(Action::Read, &Object::none(), None)?;
    let run = state.storage.run(id).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let after = query.after.or(resume).unwrap_or(0).max(0);
    let live = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if live {
        return Ok(live_log(state, run.id, after).into_response());
    }
    let mut text = String::new();
    let mut last = after;
    loop {
        let lines = state.storage.run_logs(run.id, last, 5000).await?;
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

/// How often a live reader looks for new lines: the log is in the database, so a reader follows
/// a run executed by any uHub process sharing it.
const POLL: Duration = Duration::from_millis(200);

fn line_event(line: &LogLine) -> Event {
    Event::default()
        .id(line.seq.to_string())
        .event(line.stream.as_str())
        .data(line.line.clone())
}

fn live_log(
    state: AppState,
    run_id: i64,
    after: i64,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    struct Follow {
        state: AppState,
        run_id: i64,
        last: i64,
        pending: std::collections::VecDeque<Event>,
        done: bool,
    }
    let start = Follow {
        state,
        run_id,
        last: after,
        pending: Default::default(),
        done: false,
    };
    let stream = futures_util::stream::unfold(start, |mut follow| async move {
        loop {
            if let Some(event) = follow.pending.pop_front() {
                return Some((Ok(event), follow));
            }
            if follow.done {
                return None;
            }
            // The status first: lines written before a final status are all read below.
            let status = follow
                .state
                .storage
                .run(follow.run_id)
                .await
                .map(|r| r.status);
            match follow
                .state
                .storage
                .run_logs(follow.run_id, follow.last, 500)
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
                Ok(_) => tokio::time::sleep(POLL).await,
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

/// A project's secrets, by name only: values are never returned.
#[utoipa::path(get, path = "/projects/{id}/secrets", tag = "secrets",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "Names and dates", body = Page<SecretInfo>)))]
pub async fn list_secrets(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<SecretInfo>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    state.storage.project_access(id).await?;
    Ok(Json(Page::complete(
        state.executor.secrets().list(&state.storage, id).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRequest {
    /// Injected as the environment variable of the secret's name into the project's runs, and
    /// masked as `*****` in their logs. Never returned.
    #[schema(max_length = 65536)]
    value: String,
}

/// Create or replace a secret (the project's owner among projets, or an admin).
#[utoipa::path(put, path = "/projects/{id}/secrets/{name}", tag = "secrets",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Secret name: letters, digits, _")),
    request_body = SecretRequest,
    responses((status = 200, description = "Stored (the value is not echoed)", body = SecretInfo)))]
pub async fn put_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
    ApiJson(request): ApiJson<SecretRequest>,
) -> ApiResult<Json<SecretInfo>> {
    project_for_change(&state, &caller, id, Action::UpdateProject).await?;
    if !domain::link::is_secret_name(&name) {
        return Err(ApiError::invalid(
            "name",
            "a secret name is letters, digits and _, not starting with a digit (it becomes an environment variable)",
        ));
    }
    if name.starts_with("UHUB_") || ["PATH", "HOME", "LANG"].contains(&name.as_str()) {
        return Err(ApiError::invalid(
            "name",
            "this name is reserved for uHub's own variables",
        ));
    }
    if request.value.is_empty() || request.value.len() > MAX_SECRET_BYTES {
        return Err(ApiError::invalid("value", "must be 1 byte to 64 KiB"));
    }
    Ok(Json(
        state
            .executor
            .secrets()
            .put(&state.storage, id, &name, &request.value, &caller.actor)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/projects/{id}/secrets/{name}", tag = "secrets",
    params(("id" = i64, Path, description = "Project id"), ("name" = String, Path, description = "Secret name")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
) -> ApiResult<StatusCode> {
    project_for_change(&state, &caller, id, Action::UpdateProject).await?;
    state
        .executor
        .secrets()
        .delete(&state.storage, id, &name, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    /// `running` to report progress only; a final status ends the run.
    status: RunStatus,
    exit_code: Option<i32>,
    /// Log lines to append (secret values are masked).
    #[serde(default)]
    lines: Vec<String>,
}

/// For the webhook target: progress and the end of a webhook run, signed with the project's
/// webhook secret (`X-Uhub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`).
#[utoipa::path(post, path = "/runs/{id}/callback", tag = "runs", security(()),
    params(("id" = i64, Path, description = "Run id")), request_body = CallbackRequest,
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "Missing or wrong signature", body = super::docs::ErrorBody),
        (status = 404, description = "No such run", body = super::docs::ErrorBody),
        (status = 409, description = "Not a running webhook run", body = super::docs::ErrorBody),
    ))]
pub async fn run_callback(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let run = state.storage.run(id).await?;
    let unsigned = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "the callback must be signed with the project's webhook secret",
        )
    };
    let project = state.storage.project_summary(run.project_id).await?;
    let secret_name = project
        .execution_backend_config
        .webhook_secret_name
        .clone()
        .ok_or_else(unsigned)?;
    let mut values = Vec::new();
    let mut secret = None;
    for (name, value) in state
        .executor
        .secrets()
        .values(&state.storage, run.project_id)
        .await?
    {
        if name == secret_name {
            secret = Some(value.to_string());
        }
        values.push(value.to_string());
    }
    let secret = secret.ok_or_else(unsigned)?;
    let signature = headers
        .get(services::engine::webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !services::engine::webhook::verify(&secret, &body, signature) {
        return Err(unsigned());
    }
    if run.backend != ExecutionBackend::Webhook || run.status != RunStatus::Running {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "run #{id} is a {} run that is {}: it takes no callback",
                run.backend, run.status
            ),
        ));
    }
    let request: CallbackRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    if matches!(
        request.status,
        RunStatus::Queued | RunStatus::AwaitingApproval
    ) {
        return Err(ApiError::invalid("status", "running, or a final status"));
    }
    if request.lines.len() > 10_000 {
        return Err(ApiError::invalid(
            "lines",
            "at most 10000 lines per callback",
        ));
    }
    let masker = services::engine::output::Masker::new(values.iter().map(String::as_str));
    let lines: Vec<String> = request.lines.iter().map(|l| masker.mask(l)).collect();
    if !lines.is_empty() && !state.executor.remote_lines(id, &lines).await {
        state
            .storage
            .append_run_lines(id, domain::LogStream::Stdout, &lines)
            .await?;
    }
    if request.status.is_final() {
        state
            .storage
            .finish_run(
                id,
                request.status,
                request.exit_code,
                Some("reported by the webhook target"),
            )
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
