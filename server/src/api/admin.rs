//! Admin routes: demo data, users, teams and the audit log. Every handler asks the policy first.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::policy::{Action, Object};
use domain::{Role, UserProfile};
use serde::{Deserialize, Serialize};
use services::auth;
use services::password::hash_password;
use services::storage::{AuditFilter, AuditRecord, NewUser, Outcome, Team, UserChanges};

use super::auth::check_email;
use super::{page_limit, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Caller, Page};
use crate::AppState;

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
    caller: Caller,
) -> ApiResult<Json<SeedResponse>> {
    caller.may(Action::LoadDemoData, &Object::none(), None)?;
    let today = Utc::now().date_naive();
    let report = services::seed::load_demo(&state.storage, today, &caller.actor).await?;
    let response = SeedResponse {
        users_created: report.users_created,
        projects_created: report.projects_created,
        jobs_created: report.jobs_created,
    };
    state
        .storage
        .record_audit(
            &caller.actor,
            "seed.demo",
            None,
            Outcome::Success,
            serde_json::to_value(&response).unwrap_or_default(),
        )
        .await?;
    Ok(Json(response))
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
    caller: Caller,
) -> ApiResult<Json<Page<AdminUser>>> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    let users = state.storage.list_users().await?;
    let items = users
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AdminUser>> {
    if id != caller.user.id {
        caller.may(Action::ManageUsers, &Object::none(), None)?;
    }
    Ok(Json(state.storage.user_by_id(id).await?.try_into()?))
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

fn check_username(username: &str) -> ApiResult<()> {
    let valid = (2..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "username",
            "2 to 64 letters, digits, '-', '_' or '.'",
        ))
    }
}

#[utoipa::path(post, path = "/users", tag = "admin", request_body = CreateUserRequest,
    responses((status = 201, description = "Created", body = AdminUser)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<AdminUser>)> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    check_username(&request.username)?;
    if let Some(email) = &request.email {
        check_email(email)?;
    }
    auth::check_password_policy(&request.username, &request.password).map_err(|_| {
        ApiError::invalid(
            "password",
            format!(
                "must be at least {} characters and not the username",
                domain::password::MIN_CHARS
            ),
        )
    })?;
    let new_user = NewUser {
        username: request.username,
        email: request.email,
        display_name: request.display_name,
        role: request.role,
        password_hash: hash_password(request.password).await?,
        theme: "dark".to_owned(),
        locale: request.locale.unwrap_or_else(|| "en".to_owned()),
        is_active: true,
        must_change_password: request.must_change_password,
    };
    let user = state.storage.create_user(&new_user, &caller.actor).await?;
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<AdminUser>> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    if let Some(Some(email)) = &request.email {
        check_email(email)?;
    }
    let changes = UserChanges {
        display_name: request.display_name,
        email: request.email,
        role: request.role,
        is_active: request.is_active,
    };
    Ok(Json(
        state
            .storage
            .update_user(id, &changes, &caller.actor)
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
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    auth::reset_password(&state.storage, id, &request.password, &caller.actor)
        .await
        .map_err(|error| match error {
            services::ServiceError::Invalid { reason, .. } => ApiError::invalid("password", reason),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/teams", tag = "admin",
    responses((status = 200, description = "Every team with its members", body = Page<Team>)))]
pub async fn list_teams(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Page<Team>>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(Page::complete(state.storage.list_teams().await?)))
}

#[utoipa::path(get, path = "/teams/{id}", tag = "admin", params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, description = "The team", body = Team)))]
pub async fn get_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Team>> {
    caller.may(Action::Read, &Object::none(), None)?;
    Ok(Json(state.storage.team(id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    name: String,
}

#[utoipa::path(post, path = "/teams", tag = "admin", request_body = TeamRequest,
    responses((status = 201, description = "Created", body = Team)))]
pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TeamRequest>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .storage
                .create_team(&request.name, &caller.actor)
                .await?,
        ),
    ))
}

#[utoipa::path(patch, path = "/teams/{id}", tag = "admin", params(("id" = i64, Path, description = "Team id")), request_body = TeamRequest,
    responses((status = 200, description = "Renamed", body = Team)))]
pub async fn rename_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<TeamRequest>,
) -> ApiResult<Json<Team>> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    Ok(Json(
        state
            .storage
            .rename_team(id, &request.name, &caller.actor)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/teams/{id}", tag = "admin", params(("id" = i64, Path, description = "Team id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    state.storage.delete_team(id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/teams/{id}/members/{user_id}", tag = "admin", params(("id" = i64, Path, description = "Team id"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The team with its members", body = Team)))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((team_id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Team>> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    Ok(Json(
        state
            .storage
            .add_team_member(team_id, user_id, &caller.actor)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/teams/{id}/members/{user_id}", tag = "admin", params(("id" = i64, Path, description = "Team id"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The team with its members", body = Team)))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((team_id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<Team>> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    Ok(Json(
        state
            .storage
            .remove_team_member(team_id, user_id, &caller.actor)
            .await?,
    ))
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
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditRecord>>> {
    caller.may(Action::ReadAudit, &Object::none(), None)?;
    let limit = page_limit(query.limit, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT)?;
    let before_id = match query.cursor.as_deref() {
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "is not a cursor this API gave"))?,
        ),
        None => None,
    };
    let filter = AuditFilter {
        actor: query.actor,
        action: query.action,
        target_type: query.target_type,
        target_id: query.target_id,
        since: query.since,
        until: query.until,
        before_id,
    };
    let items = state.storage.list_audit(&filter, limit + 1).await?;
    Ok(Json(Page::from_overfetch(items, limit, |last| {
        last.id.to_string()
    })))
}
