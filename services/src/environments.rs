//! A project's environments: listed, added, renamed, flagged production, removed when unused.
//! Taking an environment out of production (unflagging, renaming or deleting it) lifts
//! guardrails, so it is an admin's decision.

use domain::policy::{Action, Environment, Object};
use domain::EnvironmentRecord;
use tracing::instrument;

use crate::projects::for_change;
use crate::storage::{EnvironmentChanges, NewEnvironment};
use crate::{Caller, Hub, ServiceResult};

/// Production as the guardrails see it: the flag, or a production name.
fn is_production(environment: &EnvironmentRecord) -> bool {
    Environment {
        name: &environment.name,
        is_production: environment.is_production,
    }
    .is_production()
}

/// A project's environments, in creation order.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
) -> ServiceResult<Vec<EnvironmentRecord>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    db.list_environments(project_id).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn get(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    name: &str,
) -> ServiceResult<EnvironmentRecord> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage
        .read()
        .await?
        .environment_record(project_id, name)
        .await
}

/// Adds an environment (the project's owner among projets, or an admin).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn create(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    environment: NewEnvironment,
) -> ServiceResult<EnvironmentRecord> {
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    let created = tx
        .create_environment(project_id, &environment, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(created)
}

/// Renames an environment or changes whether it is production; guardrails follow at once.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn update(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    name: &str,
    version: i64,
    changes: EnvironmentChanges,
) -> ServiceResult<EnvironmentRecord> {
    let mut tx = hub.storage.write().await?;
    let project = for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    let current = tx.environment_record(project_id, name).await?;
    let changes = EnvironmentChanges {
        name: changes.name.map(|n| n.trim().to_owned()),
        ..changes
    };
    let renamed = changes.name.as_deref().is_some_and(|n| n != current.name);
    if is_production(&current) && (renamed || changes.is_production == Some(false)) {
        caller.may(
            Action::LowerProductionGuard,
            &Object::project(project.owner_id),
            None,
        )?;
    }
    let updated = tx
        .update_environment(project_id, name, version, &changes, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(updated)
}

/// Removes an environment that no job, run or link uses (409 otherwise).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn delete(hub: &Hub, caller: &Caller, project_id: i64, name: &str) -> ServiceResult<()> {
    let mut tx = hub.storage.write().await?;
    let project = for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    let current = tx.environment_record(project_id, name).await?;
    if is_production(&current) {
        caller.may(
            Action::LowerProductionGuard,
            &Object::project(project.owner_id),
            None,
        )?;
    }
    tx.delete_environment(project_id, name, &caller.actor())
        .await?;
    tx.commit().await
}
