//! The REST/JSON API under `/api/v1`: thin handlers that extract the caller, ask the RBAC policy,
//! call one service function and shape the answer. Errors are always `{"code", "message"}`.

mod admin;
mod auth;
pub mod error;
mod projects;

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use axum::Router;
use domain::policy::{self, Action, Decision, Environment, Object, Subject};
use domain::Role;
use serde::{Deserialize, Deserializer, Serialize};
use services::storage::{Actor, UserRecord};
use services::ServiceError;

pub use error::{ApiError, ApiResult};

use crate::session::{self, SessionUser};
use crate::AppState;

/// Every route of the API, to be nested under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/token", post(auth::token))
        .route("/auth/me", get(auth::me).patch(auth::update_me))
        .route("/auth/password", post(auth::change_password))
        .route("/auth/logout", post(auth::logout))
        .route("/bootstrap/admin", post(auth::bootstrap))
        .route("/admin/seeds/demo", post(admin::seed_demo))
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route(
            "/users/{id}",
            get(admin::get_user).patch(admin::update_user),
        )
        .route("/users/{id}/password", post(admin::reset_password))
        .route("/teams", get(admin::list_teams).post(admin::create_team))
        .route(
            "/teams/{id}",
            get(admin::get_team)
                .patch(admin::rename_team)
                .delete(admin::delete_team),
        )
        .route(
            "/teams/{id}/members/{user_id}",
            put(admin::add_member).delete(admin::remove_member),
        )
        .route("/audit", get(admin::list_audit))
        .route(
            "/projects",
            get(projects::list_projects).post(projects::create_project),
        )
        .route(
            "/projects/{id}",
            get(projects::get_project).patch(projects::update_project),
        )
        .route(
            "/projects/{id}/jobs",
            get(projects::list_jobs).post(projects::create_job),
        )
        .route("/jobs", get(projects::list_all_jobs))
        .route(
            "/jobs/{id}",
            get(projects::get_job)
                .patch(projects::update_job)
                .delete(projects::delete_job),
        )
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such API route",
            )
        })
}

/// The authenticated caller of an API request. Refuses accounts that must change their password
/// first (403 `password_change_required`); see [`PendingCaller`] for the routes that allow them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRecord,
    pub role: Role,
    pub actor: Actor,
}

impl Caller {
    pub fn subject(&self) -> Subject {
        Subject {
            user_id: self.user.id,
            role: self.role,
        }
    }

    /// Asks the policy; a refusal becomes the 403 naming the rule.
    pub fn may(
        &self,
        action: Action,
        object: &Object,
        environment: Option<&Environment<'_>>,
    ) -> ApiResult<()> {
        let decision: Decision = policy::may(&self.subject(), action, object, environment);
        ServiceError::check(decision).map_err(ApiError::from)
    }
}

async fn caller_from_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Caller> {
    // The page guard may already have resolved the cookie for this request.
    let user = match parts.extensions.get::<SessionUser>() {
        Some(SessionUser(user)) => user.clone(),
        None => session::resolve(state, &parts.headers).await?,
    };
    let role = user.role()?;
    let ip = session::client_ip(parts).0;
    let actor = Actor::user(user.id, &user.username, Some(ip.to_string()));
    Ok(Caller { user, role, actor })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = caller_from_parts(parts, state).await?;
        if caller.user.must_change_password {
            return Err(ServiceError::PasswordChangeRequired.into());
        }
        Ok(caller)
    }
}

/// A caller who may still have to change their password: for `/auth/me`, `/auth/password`, logout.
#[derive(Debug, Clone)]
pub struct PendingCaller(pub Caller);

impl FromRequestParts<AppState> for PendingCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        caller_from_parts(parts, state).await.map(PendingCaller)
    }
}

/// `Json<T>` whose rejections are the API's errors (422 with the field for bad data).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Form<T>` with the API's errors.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(ApiError))]
pub struct ApiForm<T>(pub T);

/// `Path<T>` with the API's errors (a malformed id is a 404).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Query<T>` with the API's errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// A list answer: `{"items": [...], "next_cursor": ...}`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn complete(items: Vec<T>) -> Self {
        Page {
            items,
            next_cursor: None,
        }
    }

    /// A page from a listing fetched with `limit + 1` items: the extra one only says that another
    /// page exists; the cursor names the last item kept.
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(cursor_of)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// A `limit` query parameter: `default` when absent, 422 outside `1..=max`.
pub fn page_limit(limit: Option<u32>, default: u32, max: u32) -> ApiResult<u32> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {max}"),
        ))
    }
}

/// For PATCH bodies: a field absent stays `None`, a field set to `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
