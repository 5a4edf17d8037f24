//! `/terraform`: plans (`terraform show -json` documents) read into a summary, resources with
//! their changes and risk flags, drift and outputs, sensitive values redacted (issue 25).

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use services::terraform::MAX_PLAN_BYTES;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    // Real plans are bigger than the API's 1 MiB bodies: this route takes 32 MiB (see
    // `security::limit_bodies`, which bounds every body first).
    OpenApiRouter::new()
        .routes(routes!(analyze_plan))
        .layer(DefaultBodyLimit::max(MAX_PLAN_BYTES))
}

/// Reads a plan as `terraform show -json PLANFILE` prints it (formats 0.1 to 1.2, up to 32 MiB):
/// `summary` counts each resource change once (`create`, `update`, `delete`, `replace`, `read`,
/// `no_op`, `forget`; `move` and `import` besides), so that Terraform's "X to add, Y to change,
/// Z to destroy" is `create + replace`, `update`, `delete + replace`. Every sensitive value is
/// `(sensitive)`, every unknown one `(known after apply)`; outputs carry no value. A document
/// that is not such a plan is a 422 saying why.
#[utoipa::path(post, path = "/terraform/plans/analyze", tag = "terraform",
    request_body(content = Object, content_type = "application/json", description = "The output of `terraform show -json PLANFILE`"),
    responses(
        (status = 200, description = "The analysis (`format_version`, `terraform_version`, `plan_sha256`, `summary`, `resources`, `drift`, `outputs`, `errored`)", body = Object),
        (status = 413, description = "Larger than 32 MiB"),
        (status = 415, description = "Not sent as application/json"),
        (status = 422, description = "Not a plan uHub reads, and why"),
    ))]
pub async fn analyze_plan(
    Caller(caller): Caller,
    headers: HeaderMap,
    document: Bytes,
) -> ApiResult<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the plan as application/json",
        ));
    }
    match services::terraform::analyze_for(&caller, document.to_vec()).await? {
        Ok(json) => Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response()),
        Err(invalid) => Err(ApiError::invalid("plan", invalid.to_string())),
    }
}
