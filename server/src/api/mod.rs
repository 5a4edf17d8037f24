//! The REST/JSON API under `/api/v1`: thin handlers that extract the caller, ask the RBAC policy,
//! call one service function and shape the answer. Errors are always `{"code", "message"}`.

mod admin;
mod auth;
mod calendar;
mod docs;
pub mod error;
mod host;
mod incidents;
mod moves;
mod projects;
mod runs;
mod subscriptions;
mod work;

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;
use domain::policy::{self, Action, Decision, Environment, Object, Subject};
use domain::Role;
use serde::{Deserialize, Deserializer, Serialize};
use services::storage::{Actor, UserRecord};
use services::ServiceError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ApiResult};

use crate::session::{self, SessionUser};
use crate::AppState;

/// Every route of the API with its OpenAPI description, paths relative to `/api/v1`. The routes
/// and the document come from the same `routes!` lists, so they cannot drift apart.
fn described_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::token))
        .routes(routes!(auth::me, auth::update_me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::bootstrap))
        .routes(routes!(admin::seed_demo))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::get_user, admin::update_user))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::list_teams, admin::create_team))
        .routes(routes!(
            admin::get_team,
            admin::rename_team,
            admin::delete_team
        ))
        .routes(routes!(admin::add_member, admin::remove_member))
        .routes(routes!(admin::list_audit))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(
            projects::get_project,
            projects::update_project,
            projects::delete_project
        ))
        .routes(routes!(projects::project_context))
        .routes(routes!(
            projects::list_environments,
            projects::create_environment
        ))
        .routes(routes!(
            projects::get_environment,
            projects::update_environment,
            projects::delete_environment
        ))
        .routes(routes!(projects::list_jobs, projects::create_job))
        .routes(routes!(projects::list_all_jobs))
        .routes(routes!(
            projects::get_job,
            projects::update_job,
            projects::delete_job
        ))
        .routes(routes!(calendar::calendar_events))
        .routes(routes!(calendar::free_slots))
        .routes(routes!(host::host_metrics))
        .routes(routes!(host::host_history))
        .routes(routes!(subscriptions::calendar_changes))
        .routes(routes!(
            subscriptions::list_feeds,
            subscriptions::create_feed
        ))
        .routes(routes!(subscriptions::revoke_feed))
        .routes(routes!(subscriptions::ical_feed))
        .routes(routes!(
            subscriptions::get_filters,
            subscriptions::put_filters
        ))
        .routes(routes!(moves::list_move_requests))
        .routes(routes!(moves::get_move_request))
        .routes(routes!(moves::approve_move_request))
        .routes(routes!(moves::reject_move_request))
        .routes(routes!(moves::withdraw_move_request))
        .routes(routes!(work::list_job_runs, runs::launch_run))
        .routes(routes!(work::get_run))
        .routes(routes!(runs::run_logs))
        .routes(routes!(runs::cancel_run))
        .routes(routes!(runs::run_callback))
        .routes(routes!(runs::approve_run))
        .routes(routes!(runs::reject_run))
        .routes(routes!(runs::list_secrets))
        .routes(routes!(runs::put_secret, runs::delete_secret))
        .routes(routes!(work::list_backlog, work::create_backlog_item))
        .routes(routes!(
            work::get_backlog_item,
            work::update_backlog_item,
            work::delete_backlog_item
        ))
        .routes(routes!(work::list_links, work::create_link))
        .routes(routes!(
            work::get_link,
            work::update_link,
            work::delete_link
        ))
        .routes(routes!(
            incidents::list_incidents,
            incidents::create_incident
        ))
        .routes(routes!(
            incidents::get_incident,
            incidents::update_incident,
            incidents::delete_incident
        ))
}

/// The OpenAPI 3.1 document of the API (paths under `/api/v1`), built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = OpenApiRouter::with_openapi(docs::base_document())
            .nest("/api/v1", described_routes())
            .into_openapi();
        docs::finish(&mut document);
        document
    })
}

/// The same document as JSON, for `GET /api/v1/openapi.json` and the API page.
pub fn document_json() -> Arc<str> {
    static JSON: OnceLock<Arc<str>> = OnceLock::new();
    JSON.get_or_init(|| match serde_json::to_string(document()) {
        Ok(json) => Arc::from(json),
        Err(error) => {
            tracing::error!(%error, "cannot encode the OpenAPI document");
            Arc::from("{}")
        }
    })
    .clone()
}

/// Every route of the API, to be nested under `/api/v1`.
pub fn router() -> Router<AppState> {
    let (router, _) = described_routes().split_for_parts();
    router
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    document_json().to_string(),
                )
            }),
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

/// `Json<T>` whose rejections are the API's errors (422 with the field for bad data). Text with
/// a NUL character is refused up front: PostgreSQL cannot store it and SQLite would, so without
/// this one rule the two engines would answer differently.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::Bytes::from_request(
            axum::extract::Request::from_parts(parts.clone(), body),
            state,
        )
        .await
        .map_err(|rejection| {
            ApiError::new(rejection.status(), "bad_request", rejection.body_text())
        })?;
        if has_escaped_nul(&bytes) {
            return Err(nul_refused());
        }
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// Whether JSON text holds a `\\u0000` escape (one not itself escaped as `\\\\u0000`).
fn has_escaped_nul(json: &[u8]) -> bool {
    json.windows(6).enumerate().any(|(at, window)| {
        window == b"\\u0000" && {
            let backslashes_before = json[..at].iter().rev().take_while(|b| **b == b'\\').count();
            backslashes_before % 2 == 0
        }
    })
}

fn nul_refused() -> ApiError {
    ApiError::invalid("text", "must not contain NUL (U+0000) characters")
}

/// `Form<T>` with the API's errors.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(ApiError))]
pub struct ApiForm<T>(pub T);

/// `Path<T>` with the API's errors: a malformed id, or a name with a NUL character (nothing can
/// be named so), addresses nothing: 404.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.path().contains("%00") {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no object is named with a NUL character",
            ));
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// `Query<T>` with the API's errors; NUL characters are refused as in [`ApiJson`].
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(|query| query.contains("%00")) {
            return Err(nul_refused());
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// A list answer: `{"items": [...], "next_cursor": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
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

#[cfg(test)]
mod tests {
    use super::has_escaped_nul;

    #[test]
    fn only_real_nul_escapes_are_found() {
        assert!(has_escaped_nul(br#"{"name": "a\u0000b"}"#));
        assert!(has_escaped_nul(br#"{"name": "\\\u0000"}"#));
        assert!(
            !has_escaped_nul(br#"{"name": "a\\u0000b"}"#),
            "an escaped backslash, then text"
        );
        assert!(!has_escaped_nul(br#"{"name": "plain"}"#));
    }
}
