//! The audit log as admins read it. Rows are written by each use case, in its own transaction
//! ([`crate::storage::audit::write`]); nothing ever edits or deletes them.

use domain::policy::{Action, Object};
use tracing::instrument;

use crate::storage::{AuditFilter, AuditRecord};
use crate::{Caller, Hub, ServiceResult};

/// Rows matching `filter`, newest first, `limit` at most (admin only).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    filter: &AuditFilter,
    limit: u32,
) -> ServiceResult<Vec<AuditRecord>> {
    caller.may(Action::ReadAudit, &Object::none(), None)?;
    hub.storage.read().await?.list_audit(filter, limit).await
}
