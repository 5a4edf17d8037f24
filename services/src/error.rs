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
    /// The change was based on an outdated version of the object; `object` is the object as it
    /// is now, when the use case read it (REST answers it as `current`).
    #[error("{what} was changed by someone else (version {current} is current)")]
    StaleVersion {
        what: &'static str,
        current: i64,
        object: Option<Box<serde_json::Value>>,
    },
    /// Input that breaks a rule of the domain; `field` names the culprit.
    #[error("{field}: {reason}")]
    Invalid {
        field: Cow<'static, str>,
        reason: String,
    },
    /// No valid session: missing, malformed, forged or expired token, or a deactivated account.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A signed request (a webhook callback) whose signature is missing or wrong.
    #[error("{0}")]
    BadSignature(&'static str),
    /// Wrong username or password; deliberately the same whatever was wrong.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed logins for this username from this address.
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// The RBAC policy refuses the action; the refusal names the rule.
    #[error("{}", .0.message)]
    Forbidden(domain::policy::Refusal),
    /// The action needs an approval first (e.g. moving a production job).
    #[error("{}", .0.message)]
    ApprovalRequired(domain::policy::Refusal),
    /// The account must choose a new password before anything else.
    #[error("this account must change its password first")]
    PasswordChangeRequired,
    /// The object cannot be changed that way in its current state (e.g. deleting a job with runs).
    #[error("{0}")]
    Conflict(String),
    /// The project is archived: it takes no new or changed work until it is reopened.
    #[error("the project is archived: set its state back to active to change its work")]
    Archived,
    /// Something this version of uHub does not do (e.g. the ssh backend): asking again will not
    /// change the answer.
    #[error("{0}")]
    Unavailable(String),
    /// uHub could not do it now, through no fault of the request, and may on a retry: the
    /// database's writers' turn did not come in time, a local git command took too long.
    #[error("{0}")]
    Busy(String),
    /// A repository's remote or its provider's API could not be reached, or asked uHub to wait
    /// (a rate limit: `retry_after_secs`).
    #[error("{reason}")]
    RemoteUnavailable {
        reason: String,
        retry_after_secs: Option<u64>,
    },
    /// A repository's provider answered with an error status (never its body: it may echo a
    /// token).
    #[error("the repository's provider answered HTTP {status}{hint}")]
    RemoteRefused { status: u16, hint: &'static str },
    /// The external secret store (Vault) could not be reached or refused the request.
    #[error("the secret store did not answer as expected: {0}")]
    SecretStore(String),
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
    /// A failure that passes: the database busy or out of reach, a repository or the secret
    /// store that did not answer. What nobody waits on (an automatic start) tries again after
    /// one; a refusal of the rules or of the input, or what this version does not do, never
    /// passes.
    pub fn passes(&self) -> bool {
        matches!(
            self,
            ServiceError::Busy(_)
                | ServiceError::SecretStore(_)
                | ServiceError::RemoteUnavailable { .. }
                | ServiceError::Database(_)
        )
    }

    /// The stable code carried to clients (`{"code": ..., "message": ...}`).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::AlreadyExists { .. } => "already_exists",
            ServiceError::StaleVersion { .. } => "stale_version",
            ServiceError::Invalid { .. } => "invalid",
            ServiceError::Unauthenticated(_) => "unauthenticated",
            ServiceError::InvalidCredentials => "invalid_credentials",
            ServiceError::BadSignature(_) => "invalid_signature",
            ServiceError::Throttled { .. } => "too_many_attempts",
            ServiceError::Forbidden(refusal) => refusal.rule,
            ServiceError::ApprovalRequired(refusal) => refusal.rule,
            ServiceError::PasswordChangeRequired => "password_change_required",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Archived => "project_archived",
            ServiceError::Unavailable(_) => "backend_unavailable",
            ServiceError::Busy(_) => "busy",
            ServiceError::SecretStore(_) => "secret_store_unavailable",
            ServiceError::RemoteUnavailable { .. } => "remote_unavailable",
            ServiceError::RemoteRefused { .. } => "remote_refused",
            ServiceError::UnsupportedDatabaseUrl(_) => "unsupported_database_url",
            ServiceError::Database(_) => "database_error",
            ServiceError::Migration(_) => "migration_error",
            ServiceError::Internal(_) => "internal_error",
        }
    }

    /// A change based on an outdated `current` version of `what`.
    pub fn stale(what: &'static str, current: i64) -> Self {
        ServiceError::StaleVersion {
            what,
            current,
            object: None,
        }
    }

    /// The same error carrying the object as it is now, when it is a stale version.
    pub fn with_current(self, object: &impl serde::Serialize) -> Self {
        match self {
            ServiceError::StaleVersion { what, current, .. } => ServiceError::StaleVersion {
                what,
                current,
                object: serde_json::to_value(object).ok().map(Box::new),
            },
            other => other,
        }
    }

    /// The HTTP status that goes with the error, the same through every door (REST and server
    /// functions).
    pub fn http_status(&self) -> u16 {
        use ServiceError as E;
        match self {
            E::NotFound { .. } => 404,
            E::AlreadyExists { .. } | E::StaleVersion { .. } | E::Conflict(_) | E::Archived => 409,
            E::Invalid { .. } | E::Unavailable(_) => 422,
            _ if self.is_nul_refusal() => 422,
            E::Unauthenticated(_) | E::InvalidCredentials | E::BadSignature(_) => 401,
            E::Throttled { .. } => 429,
            E::Forbidden(_) | E::ApprovalRequired(_) | E::PasswordChangeRequired => 403,
            E::SecretStore(_) | E::RemoteUnavailable { .. } | E::Busy(_) => 503,
            E::RemoteRefused { .. } => 502,
            E::Database(_) | E::Migration(_) | E::Internal(_) | E::UnsupportedDatabaseUrl(_) => 500,
        }
    }

    /// PostgreSQL's refusal of a NUL character in text (SQLite would store it): the client's
    /// mistake, answered as invalid input.
    pub fn is_nul_refusal(&self) -> bool {
        matches!(
            self,
            ServiceError::Database(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("22021" | "22P05"))
        )
    }

    pub fn invalid(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Refuses unless the policy allows the action outright.
    pub fn check(decision: domain::policy::Decision) -> ServiceResult<()> {
        match decision {
            domain::policy::Decision::Allow => Ok(()),
            domain::policy::Decision::NeedsApproval(refusal) => {
                Err(ServiceError::ApprovalRequired(refusal))
            }
            domain::policy::Decision::Deny(refusal) => Err(ServiceError::Forbidden(refusal)),
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

    /// Turns a unique-constraint violation into `Conflict(message)`, anything else as is: for a
    /// row written by someone else at the same moment (PostgreSQL read committed lets two
    /// transactions both find the key free before either inserts it).
    pub(crate) fn on_unique_conflict(
        message: impl Into<String>,
    ) -> impl FnOnce(sqlx::Error) -> ServiceError {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ServiceError::Conflict(message.into())
            }
            _ => ServiceError::Database(error),
        }
    }

    /// Turns a foreign-key violation on a value the client chose (an owner, an assignee) into
    /// `Invalid { field }`: a 422 naming the field, not a server error.
    pub(crate) fn on_foreign_key_field(
        field: &'static str,
        reason: &'static str,
    ) -> impl FnOnce(sqlx::Error) -> ServiceError {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                ServiceError::invalid(field, reason)
            }
            _ => ServiceError::Database(error),
        }
    }

    /// Turns a foreign-key violation into `Conflict(reason)`, anything else as is.
    pub(crate) fn on_foreign_key(reason: &'static str) -> impl FnOnce(sqlx::Error) -> ServiceError {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                ServiceError::Conflict(reason.to_owned())
            }
            _ => ServiceError::Database(error),
        }
    }
}
