//! `POST /admin/seeds/demo`: loads the demo accounts and projects (admin only).

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use domain::policy::{Action, Object};
use serde::Serialize;
use services::storage::Outcome;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(seed_demo))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeedResponse {
    users_created: usize,
    projects_created: usize,
    jobs_created: usize,
}

/// `POST /admin/seeds/demo`: loads the demo accounts and projects; running it again changes nothing.
#[utoipa::path(post, path = "/admin/seeds/demo", tag = "admin",
    responses((status = 200, description = "What was created (nothing the second time)", body = SeedResponse)))]
pub async fn seed_demo(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SeedResponse>> {
    caller.may(Action::LoadDemoData, &Object::none(), None)?;
    let storage = &state.hub.storage;
    let today = Utc::now().date_naive();
    let report = services::seed::load_demo(storage, today, &caller.actor()).await?;
    let response = SeedResponse {
        users_created: report.users_created,
        projects_created: report.projects_created,
        jobs_created: report.jobs_created,
    };
    storage
        .record_audit(
            &caller.actor(),
            "seed.demo",
            None,
            Outcome::Success,
            serde_json::to_value(&response).unwrap_or_default(),
        )
        .await?;
    Ok(Json(response))
}
