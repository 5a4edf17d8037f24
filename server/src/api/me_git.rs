//! The caller's own Git identity: `PUT/DELETE /me/git-tokens/{provider}` (write-only: the token
//! goes to the secret store and never comes back), `GET /me/git-tokens` (providers and dates),
//! and `GET /me/changes` (their open pull / merge requests and latest commits in the team's
//! repositories, read with their own token).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::GitProvider;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens))
        .routes(routes!(put_token, delete_token))
        .routes(routes!(my_changes))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// A personal access token of that provider; kept in the secret store, never shown again.
    token: String,
}

/// Set (or replace) the caller's personal token for `github` or `gitlab`. Write-only.
#[utoipa::path(put, path = "/me/git-tokens/{provider}", tag = "auth",
    params(("provider" = GitProvider, Path, description = "`github` or `gitlab`")),
    request_body = TokenRequest,
    responses((status = 204, description = "Kept in the secret store")))]
pub async fn put_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(provider): ApiPath<GitProvider>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> ApiResult<StatusCode> {
    let token = zeroize::Zeroizing::new(request.token);
    services::personal::put_token(&state.hub, &caller, provider, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove the caller's personal token for a provider.
#[utoipa::path(delete, path = "/me/git-tokens/{provider}", tag = "auth",
    params(("provider" = GitProvider, Path, description = "`github` or `gitlab`")),
    responses((status = 204, description = "Removed (or there was none)")))]
pub async fn delete_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(provider): ApiPath<GitProvider>,
) -> ApiResult<StatusCode> {
    services::personal::delete_token(&state.hub, &caller, provider).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The providers the caller has a personal token for, and when each was set (never a value).
#[utoipa::path(get, path = "/me/git-tokens", tag = "auth",
    responses((status = 200, description = "The caller's tokens", body = Page<services::personal::PersonalToken>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Page<services::personal::PersonalToken>>> {
    Ok(Json(Page::complete(
        services::personal::tokens(&state.hub, &caller).await?,
    )))
}

/// "My changes": the caller's open pull / merge requests and latest commits in the team's
/// GitHub and GitLab repositories, read with the caller's own tokens; repositories that could
/// not be read are listed with why.
#[utoipa::path(get, path = "/me/changes", tag = "auth",
    responses((status = 200, description = "The caller's changes", body = services::personal::MyChanges)))]
pub async fn my_changes(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<services::personal::MyChanges>> {
    Ok(Json(
        services::personal::my_changes(&state.hub, &caller).await?,
    ))
}
