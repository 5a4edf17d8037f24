//! `/scripts`: the files of the scripts directory a `script` action may name.

use axum::extract::State;
use axum::Json;
use services::scripts::ScriptInfo;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_scripts))
}

/// The scripts a job's `script` action may run: path, size, whether it is executable and its
/// SHA-256 (never its content).
#[utoipa::path(get, path = "/scripts", tag = "runs",
    responses((status = 200, description = "The scripts, by path", body = Page<ScriptInfo>)))]
pub async fn list_scripts(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Page<ScriptInfo>>> {
    Ok(Json(Page::complete(
        services::scripts::list(&state.hub, &caller).await?,
    )))
}
