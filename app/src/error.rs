//! The error type of server functions: a stable `code` and a human `message`, the same shape
//! as the REST API's errors.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a server function reports when it fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
    /// The form field the error is about (`invalid`), shown next to that field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        AppError {
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }

    /// The message when the error is about `field`, for the line under that field.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| {
            let prefix = format!("{field}: ");
            self.message
                .strip_prefix(&prefix)
                .unwrap_or(&self.message)
                .to_owned()
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // Transport problems (offline, server restarting) land here in the browser.
        let code = match &value {
            ServerFnErrorErr::Request(_) => "network_error",
            ServerFnErrorErr::Deserialization(_) | ServerFnErrorErr::Serialization(_) => {
                "bad_payload"
            }
            _ => "server_function_error",
        };
        AppError::new(code, value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<services::ServiceError> for AppError {
    fn from(error: services::ServiceError) -> Self {
        use services::ServiceError as E;
        match &error {
            E::Database(_) | E::Migration(_) | E::Internal(_) | E::UnsupportedDatabaseUrl(_) => {
                // Details (SQL, paths) stay in the server's log; the client gets the code only.
                tracing::error!(%error, code = error.code(), "server function failed");
                AppError::new(
                    error.code(),
                    "Something went wrong on the server; the details are in its log.",
                )
            }
            E::Invalid { field, .. } => AppError {
                field: Some(field.to_string()),
                ..AppError::new(error.code(), error.to_string())
            },
            _ => AppError::new(error.code(), error.to_string()),
        }
    }
}
