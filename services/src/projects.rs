//! Projects: listing, reading, creating, editing, archiving and removing them, and the context
//! tools and agents read. Environments, backlog, links and secrets of a project check their
//! project through [`for_change`].

use domain::policy::{Action, Object};
use domain::{Color, ProjectContext, ProjectState, ProjectSummary};
use tracing::instrument;

use crate::storage::{Db, NewProject, ProjectAccess, ProjectChanges, ProjectRemoval};
use crate::{rules, Caller, Hub, ServiceError, ServiceResult};

/// The project that a change of its environments, jobs, backlog, links or secrets touches: it
/// exists, the caller may do `action` on it, and it is not archived (409 `project_archived`).
pub(crate) async fn for_change(
    db: &mut Db,
    caller: &Caller,
    project_id: i64,
    action: Action,
) -> ServiceResult<ProjectAccess> {
    let project = db.project_access(project_id).await?;
    caller.may(action, &Object::project(project.owner_id), None)?;
    ensure_active(&project)?;
    Ok(project)
}

/// Refuses new work in an archived project: it is read-only until set back to `active`.
pub(crate) fn ensure_active(project: &ProjectAccess) -> ServiceResult<()> {
    if project.state == ProjectState::Archived {
        return Err(ServiceError::Archived);
    }
    Ok(())
}

/// A new owner other than the caller is governance (admin only) and must exist.
async fn check_new_owner(db: &mut Db, caller: &Caller, owner_id: i64) -> ServiceResult<()> {
    caller.may(Action::ManageUsers, &Object::none(), None)?;
    match db.user_by_id(owner_id).await {
        Ok(_) => Ok(()),
        Err(ServiceError::NotFound { .. }) => {
            Err(ServiceError::invalid("owner_id", "no such user"))
        }
        Err(other) => Err(other),
    }
}

/// A project as `caller` may see it: its webhook target's URL (which may carry a token, and
/// says where internal systems are) only for those who may edit the project.
fn as_seen_by(caller: &Caller, mut project: ProjectSummary) -> ProjectSummary {
    let may_edit = caller
        .may(
            Action::UpdateProject,
            &Object::project(project.owner_id),
            None,
        )
        .is_ok();
    if !may_edit {
        project.execution_backend_config.webhook_url = None;
    }
    project
}

/// Every project, by name, with its environments and figures.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(hub: &Hub, caller: &Caller) -> ServiceResult<Vec<ProjectSummary>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let projects = hub.storage.read().await?.list_project_summaries().await?;
    Ok(projects
        .into_iter()
        .map(|project| as_seen_by(caller, project))
        .collect())
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<ProjectSummary> {
    caller.may(Action::Read, &Object::none(), None)?;
    let project = hub.storage.read().await?.project_summary(id).await?;
    Ok(as_seen_by(caller, project))
}

/// Everything about a project for tools and AI agents, in time order; never a secret.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = id))]
pub async fn context(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<ProjectContext> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut context = hub.storage.read().await?.project_context(id).await?;
    context.project = as_seen_by(caller, context.project);
    Ok(context)
}

/// A project to create: `owner_id` defaults to the caller, `color` to the palette's first colour
/// no project uses.
#[derive(Debug, Clone, Default)]
pub struct ProjectDraft {
    pub name: String,
    pub description: String,
    pub color: Option<Color>,
    pub environments: Vec<crate::storage::NewEnvironment>,
    pub owner_id: Option<i64>,
    pub execution_backend: Option<domain::ExecutionBackend>,
    pub execution_backend_config: domain::BackendConfig,
}

/// Creates a project with its environments (projets and admin; only an admin gives one to
/// someone else).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn create(
    hub: &Hub,
    caller: &Caller,
    draft: ProjectDraft,
) -> ServiceResult<ProjectSummary> {
    caller.may(Action::CreateProject, &Object::none(), None)?;
    rules::free_text(
        "description",
        &draft.description,
        rules::MAX_DESCRIPTION_CHARS,
    )?;
    // Without a colour, the palette's first one no project uses: close colours make projects
    // look alike on the calendar.
    let color = match draft.color {
        Some(color) => color,
        None => {
            let existing = hub.storage.read().await?.list_project_summaries().await?;
            Color::first_free(existing.iter().map(|p| p.color.as_str()))
        }
    };
    let mut tx = hub.storage.write().await?;
    let owner_id = draft.owner_id.unwrap_or(caller.id());
    if owner_id != caller.id() {
        check_new_owner(&mut tx, caller, owner_id).await?;
    }
    let project = NewProject {
        name: draft.name,
        description: draft.description,
        color,
        owner_id: Some(owner_id),
        environments: draft.environments,
        execution_backend: draft.execution_backend,
        execution_backend_config: draft.execution_backend_config,
    };
    let created = tx.create_project(&project, &caller.actor()).await?;
    tx.commit().await?;
    Ok(created)
}

/// Edits, archives or reopens a project (its owner among projets, or an admin); handing it to
/// another owner is an admin's. `version` is the one the change is based on.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = id))]
pub async fn update(
    hub: &Hub,
    caller: &Caller,
    id: i64,
    version: i64,
    changes: ProjectChanges,
) -> ServiceResult<ProjectSummary> {
    if let Some(description) = &changes.description {
        rules::free_text("description", description, rules::MAX_DESCRIPTION_CHARS)?;
    }
    let mut tx = hub.storage.write().await?;
    let project = tx.project_access(id).await?;
    caller.may(
        Action::UpdateProject,
        &Object::project(project.owner_id),
        None,
    )?;
    if let Some(owner) = changes.owner_id {
        caller.may(Action::ManageUsers, &Object::none(), None)?;
        if let Some(owner) = owner {
            check_new_owner(&mut tx, caller, owner).await?;
        }
    }
    let updated = tx
        .update_project(id, version, &changes, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(updated)
}

/// Removes a project: one with history (runs or incidents) is archived instead; one without is
/// deleted with its environments, jobs, backlog and links, and its secrets leave Vault.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = id))]
pub async fn remove(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<ProjectRemoval> {
    let mut tx = hub.storage.write().await?;
    let project = tx.project_access(id).await?;
    caller.may(
        Action::DeleteProject,
        &Object::project(project.owner_id),
        None,
    )?;
    let removal = tx.delete_project(id, &caller.actor()).await?;
    tx.commit().await?;
    if removal == ProjectRemoval::Deleted {
        // Project ids are never reused, so a leftover would only be clutter in Vault: the
        // deletion stands even if Vault cannot be reached now.
        if let Err(error) = hub.secrets().forget_project(id).await {
            tracing::warn!(project = id, %error, "the deleted project's secrets are still in Vault");
        }
    }
    Ok(removal)
}
