//! A project's link records: Git repositories, Ansible inventories, Terraform plans, Kubernetes
//! clusters; managed like the project itself.

use domain::policy::{Action, Object};
use domain::{LinkKind, ProjectLink};
use tracing::instrument;

use crate::projects::for_change;
use crate::storage::{LinkChanges, NewLink};
use crate::{Caller, Hub, ServiceResult};

/// A project's links, by kind then name; one kind or all.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    kind: Option<LinkKind>,
) -> ServiceResult<Vec<ProjectLink>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    db.list_links(project_id, kind).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, link.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<ProjectLink> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.link(id).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = link.project_id))]
pub async fn create(hub: &Hub, caller: &Caller, link: NewLink) -> ServiceResult<ProjectLink> {
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, link.project_id, Action::UpdateProject).await?;
    let created = tx.create_link(&link, &caller.actor()).await?;
    tx.commit().await?;
    Ok(created)
}

/// Edits a link; its kind is fixed, and the result must still suit it.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, link.id = id))]
pub async fn update(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    version: i64,
    changes: LinkChanges,
) -> ServiceResult<ProjectLink> {
    let mut tx = hub.storage.write().await?;
    let link = tx.link(id).await?;
    for_change(&mut tx, caller, link.project_id, Action::UpdateProject).await?;
    let updated = tx
        .update_link(id, version, &changes, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(updated)
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, link.id = id))]
pub async fn delete(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<()> {
    let mut tx = hub.storage.write().await?;
    let link = tx.link(id).await?;
    for_change(&mut tx, caller, link.project_id, Action::UpdateProject).await?;
    tx.delete_link(id, &caller.actor()).await?;
    tx.commit().await?;
    if link.kind == domain::LinkKind::GitRepo {
        // Its mirror would only take room (and keep code the team unlinked).
        hub.mirrors().forget(id).await;
    }
    Ok(())
}
