//! `/users`: accounts, managed by admins; everyone reads their own; `/people`: who is who.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::{Role, UserProfile};
use serde::{Deserialize, Serialize};
use services::storage::UserChanges;
use services::users::UserDraft;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiJson, ApiPath, ApiResult, Caller, Page};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(reset_password))
        .routes(routes!(list_people))
}

/// The active accounts as everyone may see them (id, username, name, role), for choosing a
/// job's owner or a backlog item's assignee.
#[utoipa::path(get, path = "/people", tag = "auth",
    responses((status = 200, description = "Active accounts, by name", body = Page<services::users::Person>)))]
pub async fn list_people(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Page<services::users::Person>>> {
    Ok(Json(Page::complete(
        services::users::directory(&state.hub, &caller).await?,
    )))
}

/// A user as admins see them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminUser {
    #[serde(flatten)]
    profile: UserProfile,
    must_change_password: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<services::storage::UserRecord> for AdminUser {
    type Error = ApiError;
    fn try_from(user: services::storage::UserRecord) -> ApiResult<AdminUser> {
        Ok(AdminUser {
            profile: user.profile()?,
            must_change_password: user.must_change_password,
            created_at: user.created_at,
            updated_at: user.updated_at,
        })
    }
}

#[utoipa::path(get, path = "/users", tag = "admin",
    responses((status = 200, description = "Every user (admin only)", body = Page<AdminUser>)))]
pub async fn list_users(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Page<AdminUser>>> {
    let items = services::users::list(&state.hub, &caller)
        .await?
        .into_iter()
        .map(AdminUser::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Page::complete(items)))
}

/// `GET /users/{id}`: admins see anyone; everyone sees themselves.
#[utoipa::path(get, path = "/users/{id}", tag = "admin", params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The user", body = AdminUser)))]
pub async fn get_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AdminUser>> {
    Ok(Json(
        services::users::get(&state.hub, &caller, id)
            .await?
            .try_into()?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    username: String,
    display_name: String,
    email: Option<String>,
    role: Role,
    /// A temporary password: the user must change it at first login unless told otherwise.
    password: String,
    #[serde(default = "yes")]
    must_change_password: bool,
    locale: Option<String>,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/users", tag = "admin", request_body = CreateUserRequest,
    responses((status = 201, description = "Created", body = AdminUser)))]
pub async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<AdminUser>)> {
    let draft = UserDraft {
        username: request.username,
        display_name: request.display_name,
        email: request.email,
        role: request.role,
        password: request.password,
        must_change_password: request.must_change_password,
        locale: request.locale,
    };
    let user = services::users::create(&state.hub, &caller, draft).await?;
    Ok((StatusCode::CREATED, Json(user.try_into()?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    email: Option<Option<String>>,
    role: Option<Role>,
    is_active: Option<bool>,
}

/// `PATCH /users/{id}`: display name, email, role, active flag. Deactivating ends the user's sessions.
#[utoipa::path(patch, path = "/users/{id}", tag = "admin", params(("id" = i64, Path, description = "User id")), request_body = UpdateUserRequest,
    responses((status = 200, description = "Updated", body = AdminUser)))]
pub async fn update_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<AdminUser>> {
    let changes = UserChanges {
        display_name: request.display_name,
        email: request.email,
        role: request.role,
        is_active: request.is_active,
    };
    Ok(Json(
        services::users::update(&state.hub, &caller, id, changes)
            .await?
            .try_into()?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    password: String,
}

/// `POST /users/{id}/password`: an admin sets a temporary password, to be changed at next login.
#[utoipa::path(post, path = "/users/{id}/password", tag = "admin", params(("id" = i64, Path, description = "User id")), request_body = ResetPasswordRequest,
    responses((status = 204, description = "Set; the user must change it at next login")))]
pub async fn reset_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    services::users::reset_password(&state.hub, &caller, id, &request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
