//! Project secrets: written and deleted by whoever manages the project, listed by name only,
//! read back only by the engine for a run's environment (and by the webhook callback to check a
//! signature). Values never leave the process otherwise. [`store`] says where they live.

pub mod store;

pub use store::{Sealed, SecretBox, SecretStore, MASTER_KEY_BYTES, MAX_SECRET_BYTES};

use domain::policy::{Action, Object};
use domain::SecretInfo;
use tracing::instrument;

use crate::projects::for_change;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// Names uHub sets itself in every run's environment, which a secret may not replace.
const RESERVED: [&str; 3] = ["PATH", "HOME", "LANG"];

/// A secret's name becomes an environment variable: letters, digits and `_`, not starting with a
/// digit, and none of uHub's own.
fn check_name(name: &str) -> ServiceResult<()> {
    if !domain::link::is_secret_name(name) {
        return Err(ServiceError::invalid(
            "name",
            "a secret name is letters, digits and _, not starting with a digit (it becomes an environment variable)",
        ));
    }
    if name.starts_with("UHUB_") || RESERVED.contains(&name) {
        return Err(ServiceError::invalid(
            "name",
            "this name is reserved for uHub's own variables",
        ));
    }
    Ok(())
}

/// A project's secrets, by name only: values are never returned.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn list(hub: &Hub, caller: &Caller, project_id: i64) -> ServiceResult<Vec<SecretInfo>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    hub.secrets().list(&mut db, project_id).await
}

/// Creates or replaces a secret (the project's owner among projets, or an admin).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn put(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    name: &str,
    value: &str,
) -> ServiceResult<SecretInfo> {
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    check_name(name)?;
    if value.is_empty() || value.len() > MAX_SECRET_BYTES {
        return Err(ServiceError::invalid("value", "must be 1 byte to 64 KiB"));
    }
    let info = hub
        .secrets()
        .put(&mut tx, project_id, name, value, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(info)
}

/// Deletes a secret (the project's owner among projets, or an admin).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn delete(hub: &Hub, caller: &Caller, project_id: i64, name: &str) -> ServiceResult<()> {
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    hub.secrets()
        .delete(&mut tx, project_id, name, &caller.actor())
        .await?;
    tx.commit().await
}
