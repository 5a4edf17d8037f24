//! `/terraform`: plans (`terraform show -json` documents) read into a summary, resources with
//! their changes and risk flags, drift and outputs, sensitive values redacted (issue 25);
//! `/projects/{id}/terraform-plans`: the plans kept for a project's workspaces;
//! `/runs/{id}/terraform`: the plan of a plan or apply run, with the apply's approvals.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::terraform::{PlanDiff, RunTerraform, TerraformPlan, WorkspaceLock};
use serde::{Deserialize, Serialize};
use services::terraform::stored::PlanUpload;
use services::terraform::MAX_PLAN_BYTES;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{json, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    // Real plans are bigger than the API's 1 MiB bodies: these routes take 32 MiB (see
    // `security::limit_bodies`, which bounds every body first).
    OpenApiRouter::new()
        .routes(routes!(analyze_plan))
        .routes(routes!(list_plans, save_plan))
        .layer(DefaultBodyLimit::max(MAX_PLAN_BYTES + 64 * 1024))
        .routes(routes!(get_plan))
        .routes(routes!(diff_plan))
        .routes(routes!(run_terraform))
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
    State(state): State<AppState>,
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
    match services::terraform::analyze_for(&state.hub, &caller, document.to_vec()).await? {
        Ok(json) => Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response()),
        Err(invalid) => Err(ApiError::invalid("plan", invalid.to_string())),
    }
}

/// A project's plans, newest first, and the workspaces a run holds now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanList {
    items: Vec<TerraformPlan>,
    /// Always `null`: the 500 newest plans are listed.
    next_cursor: Option<String>,
    /// Workspaces locked by a plan or apply run queued, awaiting approval or running.
    locks: Vec<WorkspaceLock>,
}

/// A project's plans (newest first, 500 at most; without their analyses) and its locked
/// workspaces.
#[utoipa::path(get, path = "/projects/{id}/terraform-plans", tag = "terraform",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "The plans and locks", body = PlanList)))]
pub async fn list_plans(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PlanList>> {
    let (items, locks) = services::terraform::stored::list(&state.hub, &caller, id).await?;
    Ok(Json(PlanList {
        items,
        next_cursor: None,
        locks,
    }))
}

/// A plan to keep for one of the project's workspaces.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavePlanRequest {
    /// The workspace (plans of one name are its successive plans).
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    environment: Option<String>,
    job_id: Option<i64>,
    /// The output of `terraform show -json PLANFILE`, as a JSON object (its digest is of these
    /// exact bytes).
    #[schema(value_type = Object)]
    plan: Box<serde_json::value::RawValue>,
}

/// Keeps a plan for a project's workspace: analysed and stored redacted (never the document),
/// with its digest. A document that is not a plan is a 422 saying why. Project owner or admin.
#[utoipa::path(post, path = "/projects/{id}/terraform-plans", tag = "terraform",
    params(("id" = i64, Path, description = "Project id")), request_body = SavePlanRequest,
    responses(
        (status = 201, description = "Kept", body = TerraformPlan),
        (status = 413, description = "Larger than 32 MiB"),
        (status = 422, description = "Not a plan uHub reads, or an unknown environment or job"),
    ))]
pub async fn save_plan(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SavePlanRequest>,
) -> ApiResult<(StatusCode, Json<TerraformPlan>)> {
    let upload = PlanUpload {
        name: request.name,
        environment: request.environment.filter(|e| !e.is_empty()),
        job_id: request.job_id,
        plan: request.plan.get().as_bytes().to_vec(),
    };
    match services::terraform::stored::save(&state.hub, &caller, id, upload).await? {
        Ok(plan) => Ok((StatusCode::CREATED, Json(plan))),
        Err(invalid) => Err(ApiError::invalid("plan", invalid.to_string())),
    }
}

/// A plan with its analysis (summary, resources with their changes and risks, drift,
/// outputs; sensitive values redacted) and whether a newer plan of the workspace supersedes it.
#[utoipa::path(get, path = "/projects/{id}/terraform-plans/{plan}", tag = "terraform",
    params(("id" = i64, Path, description = "Project id"), ("plan" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "The plan", body = TerraformPlan)))]
pub async fn get_plan(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, plan)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<TerraformPlan>> {
    json(services::terraform::stored::get(&state.hub, &caller, id, plan).await)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanDiffQuery {
    /// The plan to compare with (the workspace's plan before this one when absent).
    against: Option<i64>,
}

/// The resources whose actions differ between two plans of the same workspace.
#[utoipa::path(get, path = "/projects/{id}/terraform-plans/{plan}/diff", tag = "terraform",
    params(("id" = i64, Path, description = "Project id"), ("plan" = i64, Path, description = "Plan id"), PlanDiffQuery),
    responses(
        (status = 200, description = "The differences", body = PlanDiff),
        (status = 422, description = "`against` is no plan of the same workspace"),
    ))]
pub async fn diff_plan(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, plan)): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<PlanDiffQuery>,
) -> ApiResult<Json<PlanDiff>> {
    json(services::terraform::stored::diff(&state.hub, &caller, id, plan, query.against).await)
}

/// A Terraform run's plan: the one a plan run made (`null` until it is stored), or the one an
/// apply run applies, with the apply's approvals (those of the plan in force) and how many it
/// needs. 404 for a run that is not a Terraform run.
#[utoipa::path(get, path = "/runs/{id}/terraform", tag = "terraform",
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "The run's plan and approvals", body = RunTerraform)))]
pub async fn run_terraform(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RunTerraform>> {
    json(services::runs::terraform(&state.hub, &caller, id).await)
}
