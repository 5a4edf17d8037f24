//! What every server function starts with: the hub of the use cases and the caller, from the
//! context the session middleware resolved for this request (the same one REST handlers use).
//! Server-only.

use leptos::prelude::*;
use services::storage::UserRecord;
use services::{Caller, Hub, RequestContext, ServiceError};

use crate::AppError;

/// The use cases' hub, provided by the server for every request.
pub fn hub() -> Result<Hub, AppError> {
    use_context::<Hub>()
        .ok_or_else(|| AppError::new("internal_error", "the services are not available"))
}

fn request() -> Result<RequestContext, AppError> {
    use_context::<RequestContext>().ok_or_else(|| {
        ServiceError::Unauthenticated("log in first: no session token was sent").into()
    })
}

/// The hub and the caller; accounts that must change their password first are refused.
pub fn use_case() -> Result<(Hub, Caller), AppError> {
    let caller = request()?.caller()?;
    Ok((hub()?, caller))
}

/// The hub and the caller, even one who must still change their password.
pub fn use_case_pending() -> Result<(Hub, Caller), AppError> {
    let caller = request()?.pending_caller()?;
    Ok((hub()?, caller))
}

/// The signed-in user of this request, if any: the page's theme and language follow theirs.
pub fn signed_in_user() -> Option<UserRecord> {
    use_context::<RequestContext>().and_then(|context| context.user().cloned())
}
