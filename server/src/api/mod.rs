//! The REST/JSON API under `/api/v1`: one module per resource, each with its own `routes()`,
//! merged once in [`described_routes`]. Handlers are adapters of a few lines: extract the
//! caller and the input, call one use case of `services`, shape the answer. Errors are always
//! `{"code", "message"}`.

mod ansible;
mod audit;
mod auth;
mod backlog;
mod calendar;
mod changes;
mod clusters;
mod demo;
mod docs;
mod environments;
pub mod error;
mod feeds;
mod filters;
mod git;
mod host;
mod incident_story;
mod incidents;
mod jobs;
mod links;
mod me_git;
mod moves;
mod projects;
mod runs;
mod scripts;
mod secrets;
mod teams;
mod terraform;
mod users;

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::get;
use axum::Json;
use axum::Router;
use serde::{Deserialize, Deserializer, Serialize};
use services::ServiceResult;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ApiResult};

use crate::session;
use crate::AppState;

/// Every route of the API with its OpenAPI description, paths relative to `/api/v1`. The routes
/// and the document come from the same `routes!` lists, so they cannot drift apart.
fn described_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(ansible::routes())
        .merge(terraform::routes())
        .merge(auth::routes())
        .merge(demo::routes())
        .merge(users::routes())
        .merge(teams::routes())
        .merge(audit::routes())
        .merge(projects::routes())
        .merge(environments::routes())
        .merge(jobs::routes())
        .merge(calendar::routes())
        .merge(host::routes())
        .merge(changes::routes())
        .merge(feeds::routes())
        .merge(filters::routes())
        .merge(moves::routes())
        .merge(runs::routes())
        .merge(scripts::routes())
        .merge(secrets::routes())
        .merge(clusters::routes())
        .merge(backlog::routes())
        .merge(links::routes())
        .merge(git::routes())
        .merge(me_git::routes())
        .merge(incidents::routes())
        .merge(incident_story::routes())
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

/// The authenticated caller of an API request, from the context the session middleware built.
/// Refuses accounts that must change their password first (403 `password_change_required`);
/// see [`PendingCaller`] for the routes that allow them.
#[derive(Debug, Clone)]
pub struct Caller(pub services::Caller);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let context = session::context(parts, state).await;
        Ok(Caller(context.caller()?))
    }
}

/// A caller who may still have to change their password: for `/auth/me`, `/auth/password`, logout.
#[derive(Debug, Clone)]
pub struct PendingCaller(pub services::Caller);

impl FromRequestParts<AppState> for PendingCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let context = session::context(parts, state).await;
        Ok(PendingCaller(context.pending_caller()?))
    }
}

/// A use case's answer as JSON, its error as the API's.
pub fn json<T>(result: ServiceResult<T>) -> ApiResult<Json<T>> {
    Ok(Json(result?))
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

/// An id-ordered listing's cursor: the last id of the previous page.
pub fn id_cursor(cursor: Option<&str>) -> ApiResult<Option<i64>> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "is not a cursor this API gave"))
        })
        .transpose()
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
