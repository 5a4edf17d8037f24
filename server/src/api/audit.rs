//! `GET /audit`: the audit log, newest first, for admins.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use services::storage::{AuditFilter, AuditRecord};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{id_cursor, page_limit, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<u32>,
}

const AUDIT_DEFAULT_LIMIT: u32 = 50;
const AUDIT_MAX_LIMIT: u32 = 500;

/// `GET /audit`: newest first, filtered, paginated by an opaque cursor.
#[utoipa::path(get, path = "/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, description = "Audit rows, newest first", body = Page<AuditRecord>)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditRecord>>> {
    let limit = page_limit(query.limit, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT)?;
    let filter = AuditFilter {
        actor: query.actor,
        action: query.action,
        target_type: query.target_type,
        target_id: query.target_id,
        since: query.since,
        until: query.until,
        before_id: id_cursor(query.cursor.as_deref())?,
    };
    let items = services::audit::list(&state.hub, &caller, &filter, limit + 1).await?;
    Ok(Json(Page::from_overfetch(items, limit, |last| {
        last.id.to_string()
    })))
}
