//! `/ansible`: inventories analysed as Ansible reads them (issue 24).

use axum::extract::{DefaultBodyLimit, Query};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use services::ansible::{Format, MAX_INVENTORY_BYTES};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    // Real fleets are bigger than the API's 1 MiB bodies: this route alone takes 8 MiB.
    OpenApiRouter::new()
        .routes(routes!(analyze_inventory))
        .layer(DefaultBodyLimit::max(MAX_INVENTORY_BYTES))
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
        Err(malformed) => Err(ApiError::invalid("content", malformed.to_string())
            .with_extra("line", serde_json::json!(malformed.line))),
    }
}
