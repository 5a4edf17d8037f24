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
    /// The HTTP status of the refusal, as the REST API answers it; known on the server only
    /// (not sent: the browser has the answer's own status). The page of one object answers
    /// with it when reading that object fails (`ui::page_object`).
    #[serde(skip)]
    pub status: Option<u16>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        AppError {
            code: code.to_owned(),
            message: message.into(),
            field: None,
            status: None,
        }
    }

    /// The same error, answered with HTTP `status`.
    pub fn with_status(self, status: u16) -> Self {
        AppError {
            status: Some(status),
            ..self
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
        // On the server the call's arguments are the one thing read: arguments that are not the
        // function's (a number that is not one, a missing field), a JSON body that is not JSON, a
        // body that is not UTF-8. The caller's mistake, answered 400 as REST answers a malformed
        // body — though server_fn's words for the last two name "results".
        #[cfg(feature = "ssr")]
        {
            let unreadable = match &value {
                ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                    Some(value.to_string())
                }
                ServerFnErrorErr::Deserialization(detail) => Some(format!(
                    "error deserializing server function arguments: {detail}"
                )),
                _ => None,
            };
            if let Some(message) = unreadable {
                answer_with(400);
                return AppError::new("malformed_request", message).with_status(400);
            }
        }
        let code = match &value {
            // Transport problems (offline, server restarting) land here in the browser.
            ServerFnErrorErr::Request(_) => "network_error",
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => "malformed_request",
            // In the browser: an answer that cannot be read.
            ServerFnErrorErr::Deserialization(_) | ServerFnErrorErr::Serialization(_) => {
                "bad_payload"
            }
            _ => "server_function_error",
        };
        AppError::new(code, value.to_string())
    }
}

/// The HTTP status of a refusal, as the REST API answers it: a server function called over
/// HTTP that refuses (validation, permission, conflict) says so with a 4xx, not a 500. A plain
/// form post (no script) keeps Leptos' redirect back to the form instead.
///
/// Only for a call (`/sfn/…`): a page runs the same functions in-process, several at once, and
/// its status is its own object's (`ui::page_object`), not whichever of its reads failed first
/// — a panel left out for the reader's role made an incident's page a 403 (`http::
/// an_object_page_answers_with_its_object_status`).
#[cfg(feature = "ssr")]
fn answer_with(status: u16) {
    use leptos::prelude::use_context;
    let Some(parts) = use_context::<http::request::Parts>() else {
        return;
    };
    // Every server function here is declared `#[server(prefix = "/sfn")]`.
    let server_function_call = parts.uri.path().starts_with("/sfn/");
    let plain_form_post = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !server_function_call || plain_form_post {
        return;
    }
    if let Ok(status) = http::StatusCode::from_u16(status) {
        answer_status(status);
    }
}

/// Sets the HTTP status of the answer being rendered: a page's or a server function's. Called
/// where the reactive owner of the request is current (a component's body, a server function);
/// an async read that ends later captures `ResponseOptions` itself (`ui::page_object`).
#[cfg(feature = "ssr")]
pub fn answer_status(status: http::StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

#[cfg(feature = "ssr")]
impl From<services::ServiceError> for AppError {
    fn from(error: services::ServiceError) -> Self {
        use services::ServiceError as E;
        let status = error.http_status();
        answer_with(status);
        // In the page's language: the user's, or the browser's when signed out.
        let locale = crate::i18n::request_locale();
        let answer = match &error {
            E::Database(_) | E::Migration(_) | E::Internal(_) | E::UnsupportedDatabaseUrl(_) => {
                // Details (SQL, paths) stay in the server's log; the client gets the code only.
                tracing::error!(%error, code = error.code(), "server function failed");
                AppError::new(
                    error.code(),
                    locale.t("Something went wrong on the server; the details are in its log."),
                )
            }
            E::Invalid { field, .. } => AppError {
                field: Some(field.to_string()),
                ..AppError::new(error.code(), error.to_string())
            },
            _ if error.is_nul_refusal() => AppError {
                field: Some("text".to_owned()),
                ..AppError::new(
                    "invalid",
                    locale.t("text: must not contain NUL (U+0000) characters"),
                )
            },
            // The database's turn or a local git command: fixed words, said in the page's language.
            E::Busy(_) => AppError::new(
                error.code(),
                locale.t("uHub is busy with other changes; try again in a moment."),
            ),
            E::SecretStore(_) => {
                tracing::error!(%error, code = error.code(), "secret store request failed");
                AppError::new(
                    error.code(),
                    locale.t("The secret store (Vault) is unavailable or refused uHub's token; the details are in the server log."),
                )
            }
            // The policy's rules have their French (checked by the i18n scan).
            E::Forbidden(refusal) | E::ApprovalRequired(refusal) => {
                AppError::new(error.code(), locale.t(refusal.message))
            }
            E::NotFound { what } => AppError::new(
                error.code(),
                locale.tf("{what} not found", &[("what", what)]),
            ),
            E::AlreadyExists { field } => AppError {
                field: Some((*field).to_owned()),
                ..AppError::new(
                    error.code(),
                    locale.tf("{field} is already taken", &[("field", field)]),
                )
            },
            E::StaleVersion { what, current, .. } => AppError::new(
                error.code(),
                locale.tf(
                    "{what} was changed by someone else (version {current} is current): reload it",
                    &[("what", what), ("current", &current.to_string())],
                ),
            ),
            E::InvalidCredentials => {
                AppError::new(error.code(), locale.t("invalid username or password"))
            }
            E::Throttled { retry_after_secs } => AppError::new(
                error.code(),
                locale.tf(
                    "too many failed logins; try again in {seconds} s",
                    &[("seconds", &retry_after_secs.to_string())],
                ),
            ),
            E::PasswordChangeRequired => AppError::new(
                error.code(),
                locale.t("this account must change its password first"),
            ),
            E::Archived => AppError::new(
                error.code(),
                locale
                    .t("the project is archived: set its state back to active to change its work"),
            ),
            _ => AppError::new(error.code(), error.to_string()),
        };
        answer.with_status(status)
    }
}
