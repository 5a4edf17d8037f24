//! A project's inventories: each a series of versions, given as text or read from a file of a
//! repository link, analysed when recorded. Answers never show the text, and mask the values of
//! variables named like secrets.

use domain::ansible::{
    diff_listings, mask_listing, AnsibleInventory, InventoryCounts, InventoryDetail, InventoryDiff,
    InventorySource,
};
use domain::policy::{Action, Object};
use tracing::instrument;

use super::{Analysis, Format, Malformed, MAX_INVENTORY_BYTES};
use crate::projects::for_change;
use crate::storage::NewInventoryVersion;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// [`super::analyze`] off the async workers (a big fleet takes tens of milliseconds of CPU and
/// megabytes of JSON), `then` applied to its result there too.
pub(super) async fn off_thread<T: Send + 'static>(
    text: String,
    format: Option<Format>,
    then: impl FnOnce(Analysis) -> T + Send + 'static,
) -> ServiceResult<Result<T, Malformed>> {
    crate::analysis::off_thread(move || super::analyze(&text, format).map(then)).await
}

/// Where a new version's text comes from.
#[derive(Debug, Clone)]
pub enum InventoryInput {
    Content(String),
    /// File `path` of repository link `repo` at `git_ref` (its default branch when `None`).
    Repository {
        repo: i64,
        git_ref: Option<String>,
        path: String,
    },
}

/// `POST /projects/{id}/inventories`.
#[derive(Debug, Clone)]
pub struct InventoryRequest {
    pub name: String,
    pub environment: Option<String>,
    pub input: InventoryInput,
    /// Detected from the text when absent.
    pub format: Option<Format>,
}

/// Records a version of a project's inventory (creating it): by whoever may change the project.
/// The same text as the latest version adds nothing (`false`). A malformed inventory is
/// answered as such (`Err(Malformed)`, with its line); nothing is recorded.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn save(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    request: InventoryRequest,
) -> ServiceResult<Result<(AnsibleInventory, bool), Malformed>> {
    {
        // Refused before any repository is fetched.
        let mut db = hub.storage.read().await?;
        for_change(&mut db, caller, project_id, Action::UpdateProject).await?;
        if let Some(environment) = &request.environment {
            db.environment(project_id, environment).await?;
        }
    }
    let (content, source, commit_sha) = match request.input {
        InventoryInput::Content(text) => {
            if text.len() > MAX_INVENTORY_BYTES {
                return Err(ServiceError::invalid(
                    "content",
                    format!("larger than {MAX_INVENTORY_BYTES} bytes"),
                ));
            }
            (text, InventorySource::Content, None)
        }
        InventoryInput::Repository {
            repo,
            git_ref,
            path,
        } => {
            if let Some(name) = &git_ref {
                if !domain::action::plain_ref(name) {
                    return Err(ServiceError::invalid(
                        "ref",
                        "must be a branch, a tag or a commit SHA",
                    ));
                }
            }
            let (text, sha) =
                read_from_repository(hub, project_id, repo, git_ref.as_deref(), &path).await?;
            (
                text,
                InventorySource::Repository {
                    repo: Some(repo),
                    git_ref,
                    path,
                },
                Some(sha),
            )
        }
    };
    let analysed = off_thread(content.clone(), request.format, |analysis| {
        let counts = InventoryCounts {
            hosts: analysis.summary.hosts,
            groups: analysis.summary.groups,
        };
        let lint_count = analysis.lint.len();
        let format = match analysis.format {
            Format::Ini => "ini",
            Format::Yaml => "yaml",
        };
        serde_json::to_value(&analysis).map(|value| (value, counts, lint_count, format))
    })
    .await?;
    let (analysis, counts, lint_count, format) = match analysed {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return Err(ServiceError::Internal(format!("the analysis as JSON: {e}"))),
        Err(malformed) => return Ok(Err(malformed)),
    };
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    let saved = tx
        .save_inventory_version(
            &NewInventoryVersion {
                project_id,
                name: request.name,
                environment: request.environment,
                source,
                format,
                content,
                analysis,
                counts,
                lint_count,
                commit_sha,
            },
            &caller.actor(),
        )
        .await?;
    tx.commit().await?;
    Ok(Ok(saved))
}

/// The text of an inventory file in a repository link of the project, and the commit read.
async fn read_from_repository(
    hub: &Hub,
    project_id: i64,
    link_id: i64,
    git_ref: Option<&str>,
    path: &str,
) -> ServiceResult<(String, String)> {
    let mut db = hub.storage.read().await?;
    let link = db
        .link(link_id)
        .await
        .ok()
        .filter(|l| l.project_id == project_id && l.kind == domain::LinkKind::GitRepo)
        .ok_or_else(|| ServiceError::invalid("repo", "names no repository link of the project"))?;
    drop(db);
    let token = crate::forge::link_token(hub.secrets(), &hub.storage, &link).await?;
    let mirror = hub.mirrors().fetched(&link, token.as_ref()).await?;
    let revision = git_ref
        .map(str::to_owned)
        .or_else(|| link.default_branch.clone())
        .unwrap_or_else(|| "HEAD".to_owned());
    let sha = crate::git_cli::resolve(&mirror, &revision, "ref").await?;
    let text = crate::git_cli::read_file(&mirror, &sha, path, MAX_INVENTORY_BYTES, "path").await?;
    Ok((text, sha))
}

/// A project's inventories, by environment then name.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn list(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
) -> ServiceResult<Vec<AnsibleInventory>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    db.list_inventories(project_id).await
}

/// Inventory `id` of project `project_id` (404 when it is another project's).
async fn of_project(
    db: &mut crate::storage::Db,
    project_id: i64,
    id: i64,
) -> ServiceResult<AnsibleInventory> {
    let inventory = db.inventory(id).await?;
    if inventory.project_id != project_id {
        return Err(ServiceError::NotFound { what: "inventory" });
    }
    Ok(inventory)
}

/// An inventory of project `project_id` with one version's analysis (the latest when `version`
/// is `None`), values of secret-like variables masked, and the list of its versions.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, inventory.id = id))]
pub async fn get(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    id: i64,
    version: Option<i64>,
) -> ServiceResult<InventoryDetail> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let inventory = of_project(&mut db, project_id, id).await?;
    let stored = db
        .inventory_version(id, version.unwrap_or(inventory.version))
        .await?;
    let versions = db.inventory_versions(id).await?;
    drop(db);
    let mut analysis = stored.analysis;
    if let Some(listing) = analysis.get_mut("inventory") {
        mask_listing(listing);
    }
    Ok(InventoryDetail {
        inventory,
        shown_version: stored.version,
        analysis,
        versions,
    })
}

/// What changed from version `from` to version `to` of an inventory of project `project_id`
/// (defaults: the one before the latest, and the latest).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, inventory.id = id))]
pub async fn diff(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    id: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> ServiceResult<InventoryDiff> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let inventory = of_project(&mut db, project_id, id).await?;
    let to = to.unwrap_or(inventory.version);
    let from = from.unwrap_or((to - 1).max(1));
    let (before, after) = (
        db.inventory_version(id, from).await?,
        db.inventory_version(id, to).await?,
    );
    drop(db);
    let empty = serde_json::Value::Null;
    let listing = |v: &crate::storage::StoredVersion| {
        v.analysis
            .get("inventory")
            .cloned()
            .unwrap_or(empty.clone())
    };
    Ok(diff_listings(from, &listing(&before), to, &listing(&after)))
}
