//! `/auth/*` and `/bootstrap/admin`: the OAuth2 password flow, the caller's profile and password.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::UserProfile;
use serde::{Deserialize, Serialize};
use services::auth;
use services::storage::{Actor, ProfileChanges};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiForm, ApiJson, ApiResult, Caller, PendingCaller};
use crate::session::{self, ClientIp};
use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(logout))
        .routes(routes!(bootstrap))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `password` (the only grant supported); may be omitted.
    grant_type: Option<String>,
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// Sign in: OAuth2 password grant, form-encoded; answers a bearer token (8 hours).
#[utoipa::path(post, path = "/auth/token", tag = "auth", security(()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "A grant type other than `password`", body = super::docs::ErrorBody),
        (status = 401, description = "Wrong username or password (deliberately the same answer)", body = super::docs::ErrorBody),
        (status = 415, description = "The body is not form-encoded", body = super::docs::ErrorBody),
        (status = 429, description = "Too many failed logins; see `Retry-After`", body = super::docs::ErrorBody),
    ))]
pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiForm(request): ApiForm<TokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    if let Some(grant) = request.grant_type.as_deref() {
        if grant != "password" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=password is supported",
            ));
        }
    }
    let user = auth::login(
        &state.hub.storage,
        &state.hub.throttle,
        &request.username,
        &request.password,
        ip,
    )
    .await?;
    let token = state.token_keys.issue(&user)?;
    Ok(Json(TokenResponse {
        access_token: token.token,
        token_type: "bearer",
        expires_in: token.expires_in,
    }))
}

/// The caller as `/auth/me` shows them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    #[serde(flatten)]
    profile: UserProfile,
    must_change_password: bool,
}

/// The caller's profile; allowed before the forced password change, so the UI can ask for it.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    responses((status = 200, description = "The caller", body = Me)))]
pub async fn me(PendingCaller(caller): PendingCaller) -> ApiResult<Json<Me>> {
    Ok(Json(Me {
        profile: caller.user.profile()?,
        must_change_password: caller.user.must_change_password,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    email: Option<Option<String>>,
    theme: Option<String>,
    locale: Option<String>,
}

/// Edit one's own display name, email, theme (`dark`, `light`, `system`) and locale (`en`, `fr`).
#[utoipa::path(patch, path = "/auth/me", tag = "auth", request_body = ProfileRequest,
    responses((status = 200, description = "The updated profile", body = Me)))]
pub async fn update_me(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<ProfileRequest>,
) -> ApiResult<Json<Me>> {
    let changes = ProfileChanges {
        display_name: request.display_name,
        email: request.email,
        theme: request.theme,
        locale: request.locale,
    };
    let user = services::users::update_profile(&state.hub, &caller, changes).await?;
    Ok(Json(Me {
        profile: user.profile()?,
        must_change_password: user.must_change_password,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    current_password: String,
    new_password: String,
}

/// Change one's password; answers a fresh token (every earlier one stops working).
#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = PasswordRequest,
    responses((status = 200, description = "Changed; a fresh token", body = TokenResponse)))]
pub async fn change_password(
    State(state): State<AppState>,
    PendingCaller(caller): PendingCaller,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PasswordRequest>,
) -> ApiResult<Response> {
    let user = services::users::change_password(
        &state.hub,
        &caller,
        &request.current_password,
        &request.new_password,
    )
    .await?;
    let token = state.token_keys.issue(&user)?;
    let mut response = Json(TokenResponse {
        access_token: token.token.clone(),
        token_type: "bearer",
        expires_in: token.expires_in,
    })
    .into_response();
    if headers.contains_key(header::COOKIE) {
        if let Some(cookie) = session::session_cookie_header(&token, &headers) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    Ok(response)
}

/// Sign out: the session's token (bearer or cookie) opens no session again, and the cookie is
/// cleared.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Signed out: this session's token opens no session again"),
        (status = 401, description = "No session, or one already ended", body = super::docs::ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    PendingCaller(caller): PendingCaller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = session::request_token(&headers).ok_or(services::ServiceError::Unauthenticated(
        "log in first: no session token was sent",
    ))?;
    auth::log_out(
        &state.hub.storage,
        &state.token_keys,
        &token,
        &caller.actor(),
    )
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie_header(&headers));
    Ok(response)
}

/// Create the first admin, `uHub` / `uHub-ADMIN` (to be changed at first login), on a fresh install.
#[utoipa::path(post, path = "/bootstrap/admin", tag = "auth", security(()),
    responses(
        (status = 201, description = "Created", body = Me),
        (status = 409, description = "An admin already exists", body = super::docs::ErrorBody),
    ))]
pub async fn bootstrap(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
) -> ApiResult<(StatusCode, Json<Me>)> {
    let actor = Actor {
        client_ip: Some(ip.to_string()),
        ..Actor::system()
    };
    let user = auth::bootstrap_admin(&state.hub.storage, &actor).await?;
    tracing::info!(username = %user.username, "bootstrap admin created through the API; it must change its password at first login");
    Ok((
        StatusCode::CREATED,
        Json(Me {
            profile: user.profile()?,
            must_change_password: user.must_change_password,
        }),
    ))
}
