//! The REST API's one error type: every failure is `{"code", "message"}` (plus `fields` for
//! validation), with the HTTP status that goes with the code.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use services::ServiceError;

/// What a handler returns when it fails.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Extra members of the body (e.g. `current` for a stale update).
    pub extra: Option<(&'static str, serde_json::Value)>,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            fields: None,
            extra: None,
            retry_after: None,
        }
    }

    /// A 422 naming one field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut fields = serde_json::Map::new();
        fields.insert(field.to_owned(), serde_json::Value::String(reason.clone()));
        ApiError {
            fields: Some(fields),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("{field}: {reason}"),
            )
        }
    }

    pub fn with_extra(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.extra = Some((key, value));
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        match &error {
            ServiceError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, code, error.to_string())
            }
            ServiceError::AlreadyExists { field } => ApiError {
                fields: Some(single_field(field, "is already taken")),
                ..ApiError::new(StatusCode::CONFLICT, code, error.to_string())
            },
            ServiceError::StaleVersion { .. } | ServiceError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, code, error.to_string())
            }
            ServiceError::Invalid { field, reason } => ApiError::invalid(field, reason.clone()),
            ServiceError::Unauthenticated(_) | ServiceError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, code, error.to_string())
            }
            ServiceError::Throttled { retry_after_secs } => ApiError {
                retry_after: Some(*retry_after_secs),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, error.to_string())
            },
            ServiceError::Forbidden(_)
            | ServiceError::ApprovalRequired(_)
            | ServiceError::PasswordChangeRequired => {
                ApiError::new(StatusCode::FORBIDDEN, code, error.to_string())
            }
            ServiceError::Database(_)
            | ServiceError::Migration(_)
            | ServiceError::Internal(_)
            | ServiceError::UnsupportedDatabaseUrl(_) => {
                // The details (SQL, paths) stay in the log; the client gets the code.
                tracing::error!(%error, code, "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "something went wrong on the server; the details are in its log",
                )
            }
        }
    }
}

fn single_field(field: &str, reason: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut fields = serde_json::Map::new();
    fields.insert(
        field.to_owned(),
        serde_json::Value::String(reason.to_owned()),
    );
    fields
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => {
                // serde names the path of the bad field ("environments[0]: ...") in its message.
                let detail = std::error::Error::source(&error)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| error.body_text());
                let field = detail
                    .split(':')
                    .next()
                    .filter(|f| !f.contains(' '))
                    .unwrap_or("body")
                    .to_owned();
                ApiError {
                    fields: Some(single_field(&field, &detail)),
                    ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail.clone())
                }
            }
            JsonRejection::JsonSyntaxError(error) => {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", error.body_text())
            }
            JsonRejection::MissingJsonContentType(error) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                error.body_text(),
            ),
            other => ApiError::new(other.status(), "bad_request", other.body_text()),
        }
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        match rejection {
            FormRejection::FailedToDeserializeForm(error) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                error.body_text(),
            ),
            FormRejection::FailedToDeserializeFormBody(error) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                error.body_text(),
            ),
            other => ApiError::new(other.status(), "bad_request", other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // An id that is not a number names nothing that exists.
        ApiError::new(StatusCode::NOT_FOUND, "not_found", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            rejection.body_text(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = match serde_json::to_value(Body {
            code: &self.code,
            message: &self.message,
            fields: self.fields.as_ref(),
        }) {
            Ok(value) => value,
            Err(_) => {
                serde_json::json!({ "code": "internal_error", "message": "cannot encode the error" })
            }
        };
        if let (Some((key, value)), Some(object)) = (self.extra, body.as_object_mut()) {
            object.insert(key.to_owned(), value);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
