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
    pub code: &'static str,
    pub message: String,
    /// Rarely present, so boxed: keeps every `Result` of a handler small.
    pub details: Option<Box<Details>>,
}

/// The optional parts of an error.
#[derive(Debug, Default)]
pub struct Details {
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
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// A 422 naming one field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let message = format!("{field}: {reason}");
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
            .with_fields(single_field(field, &reason))
    }

    fn details(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Box::default)
    }

    pub fn with_fields(mut self, fields: serde_json::Map<String, serde_json::Value>) -> Self {
        self.details().fields = Some(fields);
        self
    }

    pub fn with_extra(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.details().extra = Some((key, value));
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.details().retry_after = Some(seconds);
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        let status =
            StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match &error {
            ServiceError::AlreadyExists { field } => ApiError::new(status, code, error.to_string())
                .with_fields(single_field(field, "is already taken")),
            ServiceError::Unavailable(_) => ApiError::new(status, code, error.to_string())
                .with_fields(single_field("backend", "not available in this version")),
            ServiceError::SecretStore(_) => {
                // Vault's answer may name paths and policies: the log keeps it, the client
                // learns that the store is unavailable.
                tracing::error!(%error, code, "secret store request failed");
                ApiError::new(
                    status,
                    code,
                    "the secret store (Vault) is unavailable or refused uHub's token; the details are in the server log",
                )
            }
            ServiceError::StaleVersion { object, .. } => {
                let stale = ApiError::new(status, code, error.to_string());
                match object {
                    Some(current) => stale.with_extra("current", (**current).clone()),
                    None => stale,
                }
            }
            ServiceError::Invalid { field, reason } => ApiError::invalid(field, reason.clone()),
            ServiceError::Throttled { retry_after_secs } => {
                ApiError::new(status, code, error.to_string()).with_retry_after(*retry_after_secs)
            }
            ServiceError::RemoteUnavailable {
                retry_after_secs: Some(seconds),
                ..
            } => ApiError::new(status, code, error.to_string()).with_retry_after(*seconds),
            // Fixed words (the database's turn, a git command's name): said as they are, with
            // when to ask again.
            ServiceError::Busy(_) => {
                ApiError::new(status, code, error.to_string()).with_retry_after(1)
            }
            ServiceError::RemoteUnavailable { .. } | ServiceError::RemoteRefused { .. } => {
                ApiError::new(status, code, error.to_string())
            }
            // A NUL inside a path segment reaches PostgreSQL, which refuses such text: the
            // client's mistake, not the server's.
            _ if error.is_nul_refusal() => {
                ApiError::invalid("text", "must not contain NUL (U+0000) characters")
            }
            _ if status.is_server_error() => {
                // The details (SQL, paths) stay in the log; the client gets the code.
                tracing::error!(%error, code, "request failed");
                ApiError::new(
                    status,
                    code,
                    "something went wrong on the server; the details are in its log",
                )
            }
            _ => ApiError::new(status, code, error.to_string()),
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
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail.clone())
                    .with_fields(single_field(&field, &detail))
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
        let details = self.details.map(|d| *d).unwrap_or_default();
        let mut body = match serde_json::to_value(Body {
            code: self.code,
            message: &self.message,
            fields: details.fields.as_ref(),
        }) {
            Ok(value) => value,
            Err(_) => {
                serde_json::json!({ "code": "internal_error", "message": "cannot encode the error" })
            }
        };
        if let (Some((key, value)), Some(object)) = (details.extra, body.as_object_mut()) {
            object.insert(key.to_owned(), value);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = details.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What passes is answered 503 with when to ask again; what this version does not do, 422
    /// naming the backend.
    #[test]
    fn a_busy_server_says_when_to_ask_again() {
        let busy = ApiError::from(ServiceError::Busy(
            "the database stayed busy with other changes; try again".to_owned(),
        ))
        .into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static("1"))
        );
        let lacking = ApiError::from(ServiceError::Unavailable(
            "the ssh backend is not available in this version of uHub".to_owned(),
        ))
        .into_response();
        assert_eq!(lacking.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(lacking.headers().get(header::RETRY_AFTER).is_none());
    }
}
