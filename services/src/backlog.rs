//! A project's backlog: tasks and milestones, managed by the project's owner among projets, or
//! an admin.

use domain::policy::{Action, Object};
use domain::BacklogItem;
use tracing::instrument;

use crate::projects::for_change;
use crate::storage::{BacklogChanges, BacklogFilter, NewBacklogItem};
use crate::{rules, Caller, Hub, ServiceResult};

/// A project's backlog in creation order, filtered, `limit` at most.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    filter: &BacklogFilter,
    limit: u32,
) -> ServiceResult<Vec<BacklogItem>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    db.list_backlog(project_id, filter, limit).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, backlog.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<BacklogItem> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.backlog_item(id).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = item.project_id))]
pub async fn create(
    hub: &Hub,
    caller: &Caller,
    item: NewBacklogItem,
) -> ServiceResult<BacklogItem> {
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, item.project_id, Action::ManageBacklog).await?;
    rules::free_text(
        "description",
        &item.description,
        rules::MAX_DESCRIPTION_CHARS,
    )?;
    let created = tx.create_backlog_item(&item, &caller.actor()).await?;
    tx.commit().await?;
    Ok(created)
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, backlog.id = id))]
pub async fn update(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    version: i64,
    changes: BacklogChanges,
) -> ServiceResult<BacklogItem> {
    let mut tx = hub.storage.write().await?;
    let item = tx.backlog_item(id).await?;
    for_change(&mut tx, caller, item.project_id, Action::ManageBacklog).await?;
    if let Some(description) = &changes.description {
        rules::free_text("description", description, rules::MAX_DESCRIPTION_CHARS)?;
    }
    let updated = tx
        .update_backlog_item(id, version, &changes, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(updated)
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, backlog.id = id))]
pub async fn delete(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<()> {
    let mut tx = hub.storage.write().await?;
    let item = tx.backlog_item(id).await?;
    for_change(&mut tx, caller, item.project_id, Action::ManageBacklog).await?;
    tx.delete_backlog_item(id, &caller.actor()).await?;
    tx.commit().await
}

/// Moves an item one place up or down in its project's order (who manages the backlog).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, backlog.id = id))]
pub async fn shift(hub: &Hub, caller: &Caller, id: i64, up: bool) -> ServiceResult<BacklogItem> {
    let mut tx = hub.storage.write().await?;
    let item = tx.backlog_item(id).await?;
    for_change(&mut tx, caller, item.project_id, Action::ManageBacklog).await?;
    let moved = tx.shift_backlog_item(id, up, &caller.actor()).await?;
    tx.commit().await?;
    Ok(moved)
}
