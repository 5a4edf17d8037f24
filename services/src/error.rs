//! The services layer's one error type, with stable machine-readable codes.

use std::borrow::Cow;

/// What can go wrong below the HTTP layer. `code()` is stable: clients and tests match on it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The object does not exist (or is not visible to the caller).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A uniqueness rule was broken: `field` names what collides.
    #[error("{field} is already taken")]
    AlreadyExists { field: &'static str },
    /// The change was based on an outdated version of the object.
    #[error("{what} was changed by someone else (version {current} is current)")]
    StaleVersion { what: &'static str, current: i64 },
    /// Input that breaks a rule of the domain; `field` names the culprit.
    #[error("{field}: {reason}")]
    Invalid {
        field: Cow<'static, str>,
        reason: String,
    },
    /// The database URL is not one uHub can use.
    #[error("unsupported database URL: {0}")]
    UnsupportedDatabaseUrl(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Something that should not happen, e.g. a background task that died.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// The stable code carried to clients (`{"code": ..., "message": ...}`).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::AlreadyExists { .. } => "already_exists",
            ServiceError::StaleVersion { .. } => "stale_version",
            ServiceError::Invalid { .. } => "invalid",
            ServiceError::UnsupportedDatabaseUrl(_) => "unsupported_database_url",
            ServiceError::Database(_) => "database_error",
            ServiceError::Migration(_) => "migration_error",
            ServiceError::Internal(_) => "internal_error",
        }
    }

    pub fn invalid(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Turns a unique-constraint violation into `AlreadyExists { field }`, anything else as is.
    pub(crate) fn on_unique(field: &'static str) -> impl FnOnce(sqlx::Error) -> ServiceError {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ServiceError::AlreadyExists { field }
            }
            _ => ServiceError::Database(error),
        }
    }
}
