//! `/incidents/{id}/…`: an incident's timeline (built from uHub's records, plus notes and
//! entries remembered after the fact), links, suspected changes and the team's verdicts, the
//! post-mortem (drafted, edited in versions, exported as Markdown) and its action items.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::incident::{IncidentEntry, Suspect};
use serde::Deserialize;
use services::timeline::{ActionItemRequest, EntryChanges, EntryRequest, LinkRequest, Postmortem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_timeline, add_entry))
        .routes(routes!(update_entry, delete_entry))
        .routes(routes!(pin_entry))
        .routes(routes!(link))
        .routes(routes!(get_suspects))
        .routes(routes!(set_verdict))
        .routes(routes!(get_postmortem, draft_postmortem, edit_postmortem))
        .routes(routes!(postmortem_markdown))
        .routes(routes!(add_action_item))
        .routes(routes!(incident_context))
        .routes(routes!(project_reliability))
        .routes(routes!(incident_from_run))
}

/// Opens an incident from a failed or timed-out run: its project and job, detected when it
/// ended, the run linked (ops, projets, admin; 409 for a run that did not fail).
#[utoipa::path(post, path = "/runs/{id}/incident", tag = "incidents",
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 201, description = "The incident", body = domain::Incident)))]
pub async fn incident_from_run(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, Json<domain::Incident>)> {
    let incident = services::timeline::open_from_run(&state.hub, &caller, id).await?;
    Ok((StatusCode::CREATED, Json(incident)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReliabilityQuery {
    /// Start of the period (RFC 3339); 30 days before `to` by default.
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// End of the period (RFC 3339); now by default. At most 366 days after `from`.
    to: Option<chrono::DateTime<chrono::Utc>>,
}

/// A project's incidents by severity, mean times to mitigate and resolve, each incident's
/// durations, and the change failure rate over a period.
#[utoipa::path(get, path = "/projects/{id}/reliability", tag = "incidents",
    params(("id" = i64, Path, description = "Project id"), ReliabilityQuery),
    responses((status = 200, description = "The measures", body = services::timeline::reliability::Reliability)))]
pub async fn project_reliability(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ReliabilityQuery>,
) -> ApiResult<Json<services::timeline::reliability::Reliability>> {
    let to = query.to.unwrap_or_else(chrono::Utc::now);
    let from = query.from.unwrap_or(to - chrono::Duration::days(30));
    Ok(Json(
        services::timeline::reliability::reliability(&state.hub, &caller, id, from, to).await?,
    ))
}

/// The incident, its timeline, suspects, linked jobs and runs and post-mortem in one answer, for
/// tools and assistants (documented in docs/incidents.md); nothing secret is in it.
#[utoipa::path(get, path = "/incidents/{id}/context", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, description = "The context", body = domain::incident::IncidentContext)))]
pub async fn incident_context(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<domain::incident::IncidentContext>> {
    Ok(Json(
        services::timeline::context(&state.hub, &caller, id).await?,
    ))
}

/// The timeline, oldest first: `{at, kind, title, ref, by, source, pinned}` (and `body` for notes).
#[utoipa::path(get, path = "/incidents/{id}/timeline", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, description = "The timeline", body = Page<IncidentEntry>)))]
pub async fn get_timeline(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<IncidentEntry>>> {
    Ok(Json(Page::complete(
        services::timeline::timeline(&state.hub, &caller, id).await?,
    )))
}

/// Adds a note (now) or a `manual` entry with its own `at` (ops, projets, admin); audited.
#[utoipa::path(post, path = "/incidents/{id}/timeline", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = EntryRequest,
    responses((status = 201, description = "The timeline with it", body = Page<IncidentEntry>)))]
pub async fn add_entry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<EntryRequest>,
) -> ApiResult<(StatusCode, Json<Page<IncidentEntry>>)> {
    let entries = services::timeline::add_entry(&state.hub, &caller, id, &request).await?;
    Ok((StatusCode::CREATED, Json(Page::complete(entries))))
}

/// Changes or pins a note or manual entry; audited.
#[utoipa::path(patch, path = "/incidents/{id}/timeline/{entry}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), ("entry" = i64, Path, description = "Entry id")),
    request_body = EntryChanges,
    responses((status = 200, description = "The timeline", body = Page<IncidentEntry>)))]
pub async fn update_entry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, entry)): ApiPath<(i64, i64)>,
    ApiJson(changes): ApiJson<EntryChanges>,
) -> ApiResult<Json<Page<IncidentEntry>>> {
    Ok(Json(Page::complete(
        services::timeline::update_entry(&state.hub, &caller, id, entry, &changes).await?,
    )))
}

#[utoipa::path(delete, path = "/incidents/{id}/timeline/{entry}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), ("entry" = i64, Path, description = "Entry id")),
    responses((status = 204, description = "Removed (audited)")))]
pub async fn delete_entry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, entry)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    services::timeline::delete_entry(&state.hub, &caller, id, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// The `ref` of a timeline entry.
    #[serde(rename = "ref")]
    reference: String,
    pinned: bool,
}

/// Pins or unpins any entry of the timeline by its `ref`.
#[utoipa::path(post, path = "/incidents/{id}/pins", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = PinRequest,
    responses((status = 200, description = "The timeline", body = Page<IncidentEntry>)))]
pub async fn pin_entry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<PinRequest>,
) -> ApiResult<Json<Page<IncidentEntry>>> {
    Ok(Json(Page::complete(
        services::timeline::pin(&state.hub, &caller, id, &request.reference, request.pinned)
            .await?,
    )))
}

/// Links a job or a run of the incident's project to it.
#[utoipa::path(post, path = "/incidents/{id}/links", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = LinkRequest,
    responses((status = 204, description = "Linked")))]
pub async fn link(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<LinkRequest>,
) -> ApiResult<StatusCode> {
    services::timeline::link(&state.hub, &caller, id, &request).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuspectsQuery {
    /// How many hours before detection: 1 to 168, 24 by default.
    #[param(minimum = 1, maximum = 168)]
    hours: Option<u32>,
}

/// The changes before detection, best suspect first, each with its score and reasons; changes
/// that cannot have caused it come last with `score: 0`, `ruled_out: true` and why.
#[utoipa::path(get, path = "/incidents/{id}/suspects", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id"), SuspectsQuery),
    responses((status = 200, description = "Suspects", body = Page<Suspect>)))]
pub async fn get_suspects(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<SuspectsQuery>,
) -> ApiResult<Json<Page<Suspect>>> {
    Ok(Json(Page::complete(
        services::timeline::suspects(&state.hub, &caller, id, query.hours).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictRequest {
    /// The suspect's `ref`.
    #[serde(rename = "ref")]
    reference: String,
    /// `cause` or `not_cause`.
    verdict: String,
}

/// The team's word on a suspect: the cause, or not (kept, shown in the post-mortem).
#[utoipa::path(put, path = "/incidents/{id}/verdicts", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = VerdictRequest,
    responses((status = 200, description = "The suspects", body = Page<Suspect>)))]
pub async fn set_verdict(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<VerdictRequest>,
) -> ApiResult<Json<Page<Suspect>>> {
    Ok(Json(Page::complete(
        services::timeline::set_verdict(
            &state.hub,
            &caller,
            id,
            &request.reference,
            &request.verdict,
        )
        .await?,
    )))
}

/// The current post-mortem (404 before one is drafted).
#[utoipa::path(get, path = "/incidents/{id}/postmortem", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, description = "The post-mortem", body = Postmortem)))]
pub async fn get_postmortem(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Postmortem>> {
    Ok(Json(
        services::timeline::postmortem(&state.hub, &caller, id).await?,
    ))
}

/// Drafts the post-mortem from the timeline, the suspects and the action items (a new version).
#[utoipa::path(post, path = "/incidents/{id}/postmortem", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 201, description = "Drafted", body = Postmortem)))]
pub async fn draft_postmortem(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, Json<Postmortem>)> {
    let drafted = services::timeline::draft_postmortem(&state.hub, &caller, id).await?;
    Ok((StatusCode::CREATED, Json(drafted)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemRequest {
    /// Markdown, at most 256 KiB.
    body: String,
}

/// Saves the team's text as a new version (the previous ones are kept; audited).
#[utoipa::path(put, path = "/incidents/{id}/postmortem", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = PostmortemRequest,
    responses((status = 200, description = "Saved", body = Postmortem)))]
pub async fn edit_postmortem(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<PostmortemRequest>,
) -> ApiResult<Json<Postmortem>> {
    Ok(Json(
        services::timeline::edit_postmortem(&state.hub, &caller, id, &request.body).await?,
    ))
}

/// The post-mortem as a Markdown file.
#[utoipa::path(get, path = "/incidents/{id}/postmortem.md", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, description = "Markdown", content_type = "text/markdown")))]
pub async fn postmortem_markdown(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let found = services::timeline::postmortem(&state.hub, &caller, id).await?;
    let mut response = (
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        found.body,
    )
        .into_response();
    if let Ok(value) = format!("attachment; filename=\"postmortem-incident-{id}.md\"").parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Adds an action item: a planned job of the incident's project, on the calendar, linked back.
#[utoipa::path(post, path = "/incidents/{id}/action-items", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")), request_body = ActionItemRequest,
    responses((status = 201, description = "The job", body = domain::Job)))]
pub async fn add_action_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ActionItemRequest>,
) -> ApiResult<(StatusCode, Json<domain::Job>)> {
    let job = services::timeline::add_action_item(&state.hub, &caller, id, &request).await?;
    Ok((StatusCode::CREATED, Json(job)))
}
