//! Linking a commit or a merge request to a job by hand (`POST /jobs/{id}/changes`), and
//! unlinking one: whoever may update the job, with a repository link of the job's project.

use chrono::Utc;
use domain::policy::{Action, Environment, Object};
use domain::{ChangeKind, ChangeSource, CodeChange, LinkKind};
use tracing::instrument;

use crate::storage::{Db, NewCodeChange};
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// What to link: a commit (any unambiguous SHA prefix of 7 to 64 hex digits) or a merge
/// request's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRef {
    Commit(String),
    MergeRequest(i64),
}

/// Links a change of repository `link_id` to job `job_id`. A commit is read from the
/// repository (through uHub's mirror): its full SHA, first line and author; a merge request is
/// kept by number.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = job_id))]
pub async fn link(
    hub: &Hub,
    caller: &Caller,
    job_id: i64,
    link_id: i64,
    change: ChangeRef,
) -> ServiceResult<CodeChange> {
    let mut db = hub.storage.read().await?;
    may_change(&mut db, caller, job_id).await?;
    let job = db.job(job_id).await?;
    let link = db
        .link(link_id)
        .await
        .map_err(|_| ServiceError::invalid("link_id", "no such repository link"))?;
    if link.kind != LinkKind::GitRepo || link.project_id != job.project_id {
        return Err(ServiceError::invalid(
            "link_id",
            "must be a Git repository of the job's project",
        ));
    }
    drop(db);
    let new = match change {
        ChangeRef::Commit(sha) => {
            let plain = (7..=64).contains(&sha.len()) && sha.chars().all(|c| c.is_ascii_hexdigit());
            if !plain {
                return Err(ServiceError::invalid(
                    "sha",
                    "must be 7 to 64 hexadecimal digits",
                ));
            }
            let commit = crate::git_mirror::commit(hub, &link, &sha).await?;
            NewCodeChange {
                job_id,
                link_id,
                kind: ChangeKind::Commit,
                sha: Some(commit.sha),
                number: None,
                title: commit.title,
                author: Some(commit.author),
                url: None,
                at: commit.authored_at,
                source: ChangeSource::Manual,
            }
        }
        ChangeRef::MergeRequest(number) => {
            if number < 1 {
                return Err(ServiceError::invalid(
                    "merge_request",
                    "must be a positive number",
                ));
            }
            NewCodeChange {
                job_id,
                link_id,
                kind: ChangeKind::MergeRequest,
                sha: None,
                number: Some(number),
                title: format!("!{number}"),
                author: None,
                url: None,
                at: Utc::now(),
                source: ChangeSource::Manual,
            }
        }
    };
    let mut tx = hub.storage.write().await?;
    if !tx.link_code_change(&new).await? {
        return Err(ServiceError::AlreadyExists { field: "change" });
    }
    let detail = serde_json::json!({ "link_id": link_id, "kind": new.kind, "sha": new.sha, "number": new.number });
    crate::storage::audit::write(
        &mut tx,
        &caller.actor(),
        "job.change.link",
        Some(("job", job_id)),
        &detail,
    )
    .await?;
    tx.commit().await?;
    hub.storage
        .read()
        .await?
        .code_changes(job_id)
        .await?
        .into_iter()
        .find(|c| {
            c.link_id == link_id && c.kind == new.kind && c.sha == new.sha && c.number == new.number
        })
        .ok_or(ServiceError::NotFound { what: "change" })
}

/// Unlinks change `change_id` from job `job_id`.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, job.id = job_id))]
pub async fn unlink(hub: &Hub, caller: &Caller, job_id: i64, change_id: i64) -> ServiceResult<()> {
    let mut db = hub.storage.read().await?;
    may_change(&mut db, caller, job_id).await?;
    drop(db);
    let mut tx = hub.storage.write().await?;
    if !tx.unlink_code_change(job_id, change_id).await? {
        return Err(ServiceError::NotFound { what: "change" });
    }
    let detail = serde_json::json!({ "change_id": change_id });
    crate::storage::audit::write(
        &mut tx,
        &caller.actor(),
        "job.change.unlink",
        Some(("job", job_id)),
        &detail,
    )
    .await?;
    tx.commit().await
}

/// Whether the caller may link and unlink the job's changes (what the job page offers).
pub async fn may_link(hub: &Hub, caller: &Caller, job_id: i64) -> ServiceResult<bool> {
    let mut db = hub.storage.read().await?;
    match may_change(&mut db, caller, job_id).await {
        Ok(()) => Ok(true),
        Err(ServiceError::Forbidden(_) | ServiceError::Archived) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Whoever may update the job (as it is) links and unlinks its changes, if their role links
/// commits (dev, projets and admin: `commits_linked_by_dev`).
async fn may_change(db: &mut Db, caller: &Caller, job_id: i64) -> ServiceResult<()> {
    caller.may(Action::LinkCommit, &Object::none(), None)?;
    let job = db.job(job_id).await?;
    let project = db.project_access(job.project_id).await?;
    let here = job.environment.as_ref().map(|name| Environment {
        name,
        is_production: job.environment_is_production,
    });
    caller.may(
        Action::UpdateJob,
        &Object::job(project.owner_id, job.job_type),
        here.as_ref(),
    )?;
    crate::projects::ensure_active(&project)
}
