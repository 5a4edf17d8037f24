//! `POST /admin/seeds/demo`: loads the demo accounts and projects (admin only).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
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

/// `POST /admin/seeds/demo`: loads the demo accounts and projects; running it again changes
/// nothing. Their passwords are public: the accounts must change them at first sign-in, unless
/// the instance was started with `UHUB_SEED_DEMO=true`.
#[utoipa::path(post, path = "/admin/seeds/demo", tag = "admin",
    responses((status = 200, description = "What was created (nothing the second time)", body = SeedResponse)))]
pub async fn seed_demo(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<SeedResponse>> {
    let report = services::seed::seed_demo(&state.hub, &caller).await?;
    Ok(Json(SeedResponse {
        users_created: report.users_created,
        projects_created: report.projects_created,
        jobs_created: report.jobs_created,
    }))
}
