//! `/ansible`: inventories analysed as Ansible reads them; `/projects/{id}/inventories`: a
//! project's inventories and their versions; `/runs/{id}/ansible`: a playbook run's results.

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::ansible::{AnsibleInventory, AnsibleResults, InventoryDetail, InventoryDiff};
use serde::Deserialize;
use services::ansible::stored::{InventoryInput, InventoryRequest};
use services::ansible::{Format, Malformed, MAX_INVENTORY_BYTES};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    // Real fleets are bigger than the API's 1 MiB bodies: these routes take 8 MiB of inventory
    // (see `security::limit_bodies`, which bounds every body first).
    OpenApiRouter::new()
        .routes(routes!(analyze_inventory))
        .routes(routes!(list_inventories, save_inventory))
        .layer(DefaultBodyLimit::max(MAX_INVENTORY_BYTES + 1024 * 1024))
        .routes(routes!(get_inventory))
        .routes(routes!(diff_inventory))
        .routes(routes!(run_results))
}

/// A 422 naming the line Ansible would stop at.
fn malformed(field: &str, malformed: Malformed) -> ApiError {
    ApiError::invalid(field, malformed.to_string())
        .with_extra("line", serde_json::json!(malformed.line))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeQuery {
    /// `ini` or `yaml`; detected from the text when absent.
    format: Option<String>,
}

/// Reads an inventory (INI or YAML, as `text/plain`, up to 8 MiB) exactly as
/// `ansible-inventory -i FILE --list` would, without running Ansible: `inventory` has that
/// command's shape and content; `summary`, `warnings` and `lint` come with it. A malformed
/// inventory is a 422 naming its `line`.
#[utoipa::path(post, path = "/ansible/inventories/analyze", tag = "ansible",
    params(AnalyzeQuery),
    request_body(content = String, content_type = "text/plain", description = "The inventory's text"),
    responses(
        (status = 200, description = "Ansible's view of the inventory (`format`, `inventory`, `summary`, `warnings`, `lint`)", body = Object),
        (status = 413, description = "Larger than 8 MiB"),
        (status = 415, description = "Not sent as text/plain"),
        (status = 422, description = "Malformed: `line` and the reason"),
    ))]
pub async fn analyze_inventory(
    Caller(caller): Caller,
    Query(query): Query<AnalyzeQuery>,
    headers: HeaderMap,
    text: String,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("text/plain") {
        return Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the inventory as text/plain",
        ));
    }
    let format = match query.format.as_deref() {
        None => None,
        Some(name) => Some(
            Format::parse(name)
                .ok_or_else(|| ApiError::invalid("format", "must be ini or yaml"))?,
        ),
    };
    match services::ansible::analyze_for(&caller, text, format).await? {
        Ok(json) => Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response()),
        Err(bad) => Err(malformed("content", bad)),
    }
}

/// A project's inventories, by environment then name (latest versions' counts).
#[utoipa::path(get, path = "/projects/{id}/inventories", tag = "ansible",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "The inventories", body = Page<AnsibleInventory>)))]
pub async fn list_inventories(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Page<AnsibleInventory>>> {
    Ok(Json(Page::complete(
        services::ansible::stored::list(&state.hub, &caller, id).await?,
    )))
}

/// A version of an inventory: its text (`content`), or a file of a repository link (`repo`,
/// `ref`, `path`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveInventoryRequest {
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    /// The environment whose hosts it lists (runs of jobs of that environment only use it).
    environment: Option<String>,
    /// The inventory's text, INI or YAML (up to 8 MiB).
    content: Option<String>,
    /// `ini` or `yaml`; detected when absent.
    format: Option<String>,
    /// A repository link of the project the inventory is read from (with `path`).
    repo: Option<i64>,
    /// Branch, tag or SHA (the link's default branch when absent).
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    /// The file in the repository.
    path: Option<String>,
}

/// Records a version of a project's inventory (creating the inventory at version 1): analysed
/// first, a malformed one is a 422 naming its `line`. The same text as the latest version adds
/// no version (200 instead of 201). Project owner or admin.
#[utoipa::path(post, path = "/projects/{id}/inventories", tag = "ansible",
    params(("id" = i64, Path, description = "Project id")), request_body = SaveInventoryRequest,
    responses(
        (status = 201, description = "A new version", body = AnsibleInventory),
        (status = 200, description = "Same text as the latest version: nothing added", body = AnsibleInventory),
        (status = 409, description = "The name belongs to an inventory of another environment"),
        (status = 422, description = "Malformed (with `line`) or invalid"),
    ))]
pub async fn save_inventory(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SaveInventoryRequest>,
) -> ApiResult<(StatusCode, Json<AnsibleInventory>)> {
    let input = match (request.content, request.repo, request.path) {
        (Some(content), None, None) if request.git_ref.is_none() => {
            InventoryInput::Content(content)
        }
        (None, Some(repo), Some(path)) => InventoryInput::Repository {
            repo,
            git_ref: request.git_ref,
            path,
        },
        _ => {
            return Err(ApiError::invalid(
                "content",
                "give either `content`, or `repo` and `path` (with an optional `ref`)",
            ))
        }
    };
    let format = match request.format.as_deref() {
        None => None,
        Some(name) => Some(
            Format::parse(name)
                .ok_or_else(|| ApiError::invalid("format", "must be ini or yaml"))?,
        ),
    };
    let saved = services::ansible::stored::save(
        &state.hub,
        &caller,
        id,
        InventoryRequest {
            name: request.name,
            environment: request.environment.filter(|e| !e.is_empty()),
            input,
            format,
        },
    )
    .await?;
    match saved {
        Ok((inventory, true)) => Ok((StatusCode::CREATED, Json(inventory))),
        Ok((inventory, false)) => Ok((StatusCode::OK, Json(inventory))),
        Err(bad) => Err(malformed("content", bad)),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    /// The version to show (the latest when absent).
    version: Option<i64>,
}

/// An inventory: one version's analysis (hosts, groups, merged variables with the values of
/// secret-like variables masked, warnings, lint) and the list of its versions. Never its text.
#[utoipa::path(get, path = "/projects/{id}/inventories/{inventory}", tag = "ansible",
    params(("id" = i64, Path, description = "Project id"), ("inventory" = i64, Path, description = "Inventory id"), InventoryQuery),
    responses((status = 200, description = "The inventory", body = InventoryDetail)))]
pub async fn get_inventory(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, inventory)): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<InventoryQuery>,
) -> ApiResult<Json<InventoryDetail>> {
    json(services::ansible::stored::get(&state.hub, &caller, id, inventory, query.version).await)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The older version (the one before `to` when absent).
    from: Option<i64>,
    /// The newer version (the latest when absent).
    to: Option<i64>,
}

/// What changed between two versions: hosts and groups added and removed, variables changed
/// (values of secret-like variables masked).
#[utoipa::path(get, path = "/projects/{id}/inventories/{inventory}/diff", tag = "ansible",
    params(("id" = i64, Path, description = "Project id"), ("inventory" = i64, Path, description = "Inventory id"), DiffQuery),
    responses((status = 200, description = "The differences", body = InventoryDiff)))]
pub async fn diff_inventory(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, inventory)): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<DiffQuery>,
) -> ApiResult<Json<InventoryDiff>> {
    json(
        services::ansible::stored::diff(&state.hub, &caller, id, inventory, query.from, query.to)
            .await,
    )
}

/// A playbook run's results: the recap by host and each task's result by host (status,
/// changed, diff, msg; nothing under `no_log`). Empty until the run has ended; 404 for a run
/// that is not an Ansible run.
#[utoipa::path(get, path = "/runs/{id}/ansible", tag = "ansible",
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "The results", body = AnsibleResults)))]
pub async fn run_results(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AnsibleResults>> {
    json(services::runs::ansible_results(&state.hub, &caller, id).await)
}
