//! Ansible records: a project's inventories and their versions (text, analysis, counts), and the
//! structured results of playbook runs.

use chrono::{DateTime, Utc};
use domain::ansible::{
    AnsibleInventory, AnsibleResults, InventoryCounts, InventorySource, InventoryVersion,
};
use serde_json::Value;
use sqlx::types::Json;

use super::{audit, now, on_db, reads, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A version of an inventory to record (the inventory is created with its first one).
#[derive(Debug, Clone)]
pub struct NewInventoryVersion {
    pub project_id: i64,
    pub name: String,
    pub environment: Option<String>,
    pub source: InventorySource,
    /// `ini` or `yaml`.
    pub format: &'static str,
    pub content: String,
    /// The whole analysis as `POST /ansible/inventories/analyze` answers it (values unmasked:
    /// answers mask them).
    pub analysis: Value,
    pub counts: InventoryCounts,
    pub lint_count: usize,
    /// The commit the text was read from (inventories from a repository).
    pub commit_sha: Option<String>,
}

/// One stored version: what a run writes for Ansible to read, and what answers show.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub version: i64,
    pub format: String,
    pub content: String,
    pub analysis: Value,
}

#[derive(sqlx::FromRow)]
struct InventoryRow {
    id: i64,
    project_id: i64,
    name: String,
    environment: Option<String>,
    repo_link_id: Option<i64>,
    git_ref: Option<String>,
    path: Option<String>,
    latest_version: i64,
    format: String,
    host_count: i64,
    group_count: i64,
    lint_count: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const INVENTORY_SELECT: &str =
    "SELECT i.id, i.project_id, i.name, e.name AS environment, i.repo_link_id, \
     i.git_ref, i.path, i.latest_version, v.format, v.host_count, v.group_count, v.lint_count, \
     i.created_at, i.updated_at \
     FROM ansible_inventories i \
     JOIN ansible_inventory_versions v ON v.inventory_id = i.id AND v.version = i.latest_version \
     LEFT JOIN environments e ON e.id = i.environment_id";

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

impl From<InventoryRow> for AnsibleInventory {
    fn from(row: InventoryRow) -> AnsibleInventory {
        AnsibleInventory {
            id: row.id,
            project_id: row.project_id,
            name: row.name,
            environment: row.environment,
            source: match row.path {
                Some(path) => InventorySource::Repository {
                    repo: row.repo_link_id,
                    git_ref: row.git_ref,
                    path,
                },
                None => InventorySource::Content,
            },
            version: row.latest_version,
            format: row.format,
            summary: InventoryCounts {
                hosts: count(row.host_count),
                groups: count(row.group_count),
            },
            lint_count: count(row.lint_count),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    format: String,
    host_count: i64,
    group_count: i64,
    commit_sha: Option<String>,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
}

fn stored_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

reads! {
    fn list_inventories(project_id: i64) -> Vec<AnsibleInventory>;
}

impl Tx {
    /// Records `new` as the next version of the project's inventory of that name (creating the
    /// inventory with version 1). The same text as the latest version records nothing: the
    /// answer's flag says whether a version was added. An inventory keeps its environment (409
    /// when another is named): runs weigh the environment an inventory reaches.
    pub async fn save_inventory_version(
        &mut self,
        new: &NewInventoryVersion,
        actor: &Actor,
    ) -> ServiceResult<(AnsibleInventory, bool)> {
        let name = crate::rules::one_line_name(&new.name)?;
        let environment_id = match &new.environment {
            Some(env) => Some(self.environment(new.project_id, env).await?.id),
            None => None,
        };
        let (repo, git_ref, path) = match &new.source {
            InventorySource::Content => (None, None, None),
            InventorySource::Repository {
                repo,
                git_ref,
                path,
            } => (*repo, git_ref.clone(), Some(path.clone())),
        };
        let content_sha256 = crate::digest::sha256_hex(new.content.as_bytes());
        let at = now();
        let existing: Option<(i64, Option<i64>, i64)> = on_db!(self, c => {
            sqlx::query_as(
                "SELECT id, environment_id, latest_version FROM ansible_inventories WHERE project_id = $1 AND name = $2",
            )
            .bind(new.project_id)
            .bind(name)
            .fetch_optional(&mut *c)
            .await
        })?;
        let (id, version) = match existing {
            Some((id, current_environment, latest)) => {
                if current_environment != environment_id {
                    return Err(ServiceError::Conflict(format!(
                        "the inventory `{name}` belongs to another environment: give this one another name"
                    )));
                }
                let same: Option<String> = on_db!(self, c => {
                    sqlx::query_scalar(
                        "SELECT content_sha256 FROM ansible_inventory_versions WHERE inventory_id = $1 AND version = $2",
                    )
                    .bind(id)
                    .bind(latest)
                    .fetch_optional(&mut *c)
                    .await
                })?;
                if same.as_deref() == Some(content_sha256.as_str()) {
                    return Ok((self.inventory(id).await?, false));
                }
                on_db!(self, c => {
                    sqlx::query(
                        "UPDATE ansible_inventories SET latest_version = $2, repo_link_id = $3, git_ref = $4, path = $5, updated_at = $6 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(latest + 1)
                    .bind(repo)
                    .bind(&git_ref)
                    .bind(&path)
                    .bind(at)
                    .execute(&mut *c)
                    .await
                    .map(|_| ())
                })?;
                (id, latest + 1)
            }
            None => {
                let id: i64 = on_db!(self, c => {
                    sqlx::query_scalar(
                        "INSERT INTO ansible_inventories (project_id, name, environment_id, repo_link_id, git_ref, path, latest_version, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
                    )
                    .bind(new.project_id)
                    .bind(name)
                    .bind(environment_id)
                    .bind(repo)
                    .bind(&git_ref)
                    .bind(&path)
                    .bind(at)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(ServiceError::on_unique("name"))
                })?;
                (id, 1)
            }
        };
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO ansible_inventory_versions (inventory_id, version, format, content, content_sha256, \
                 host_count, group_count, lint_count, analysis, commit_sha, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(id)
            .bind(version)
            .bind(new.format)
            .bind(&new.content)
            .bind(&content_sha256)
            .bind(stored_count(new.counts.hosts))
            .bind(stored_count(new.counts.groups))
            .bind(stored_count(new.lint_count))
            .bind(Json(&new.analysis))
            .bind(&new.commit_sha)
            .bind(actor.user_id)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|_| ())
            // A version sent by someone else at the same moment (PostgreSQL; it is a key).
            .map_err(ServiceError::on_unique_conflict(format!(
                "a new version of the inventory `{name}` was sent at the same moment: send this one again"
            )))
        })?;
        // The text is never audited (it may hold secrets): its digest says which it was.
        let detail = serde_json::json!({
            "project_id": new.project_id,
            "name": name,
            "version": version,
            "content_sha256": content_sha256,
            "commit_sha": new.commit_sha,
        });
        let action = if version == 1 {
            "inventory.create"
        } else {
            "inventory.version"
        };
        audit::write(self, actor, action, Some(("inventory", id)), &detail).await?;
        Ok((self.inventory(id).await?, true))
    }

    /// Keeps a playbook run's structured results (replacing earlier ones of the same run).
    pub async fn save_ansible_results(
        &mut self,
        run_id: i64,
        results: &AnsibleResults,
    ) -> ServiceResult<()> {
        let at = now();
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO run_ansible_results (run_id, results, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (run_id) DO UPDATE SET results = excluded.results, created_at = excluded.created_at",
            )
            .bind(run_id)
            .bind(Json(results))
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}

impl Db {
    pub async fn inventory(&mut self, id: i64) -> ServiceResult<AnsibleInventory> {
        let sql = format!("{INVENTORY_SELECT} WHERE i.id = $1");
        on_db!(self, c => sqlx::query_as::<_, InventoryRow>(&sql).bind(id).fetch_optional(&mut *c).await)?
            .map(AnsibleInventory::from)
            .ok_or(ServiceError::NotFound { what: "inventory" })
    }

    /// A project's inventories, by environment then name.
    pub async fn list_inventories(
        &mut self,
        project_id: i64,
    ) -> ServiceResult<Vec<AnsibleInventory>> {
        let sql = format!(
            "{INVENTORY_SELECT} WHERE i.project_id = $1 ORDER BY e.name IS NULL, e.name, i.name"
        );
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, InventoryRow>(&sql).bind(project_id).fetch_all(&mut *c).await
        })?;
        Ok(rows.into_iter().map(AnsibleInventory::from).collect())
    }

    /// An inventory's versions, newest first (without their text).
    pub async fn inventory_versions(&mut self, id: i64) -> ServiceResult<Vec<InventoryVersion>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, VersionRow>(
                "SELECT v.version, v.format, v.host_count, v.group_count, v.commit_sha, u.username AS created_by, v.created_at \
                 FROM ansible_inventory_versions v LEFT JOIN users u ON u.id = v.created_by \
                 WHERE v.inventory_id = $1 ORDER BY v.version DESC",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|row| InventoryVersion {
                version: row.version,
                format: row.format,
                summary: InventoryCounts {
                    hosts: count(row.host_count),
                    groups: count(row.group_count),
                },
                commit_sha: row.commit_sha,
                created_by: row.created_by,
                created_at: row.created_at,
            })
            .collect())
    }

    /// One version of an inventory, with its text and analysis.
    pub async fn inventory_version(
        &mut self,
        id: i64,
        version: i64,
    ) -> ServiceResult<StoredVersion> {
        let row: Option<(i64, String, String, Json<Value>)> = on_db!(self, c => {
            sqlx::query_as(
                "SELECT version, format, content, analysis FROM ansible_inventory_versions WHERE inventory_id = $1 AND version = $2",
            )
            .bind(id)
            .bind(version)
            .fetch_optional(&mut *c)
            .await
        })?;
        let (version, format, content, analysis) = row.ok_or(ServiceError::NotFound {
            what: "inventory version",
        })?;
        Ok(StoredVersion {
            version,
            format,
            content,
            analysis: analysis.0,
        })
    }

    /// A playbook run's structured results, once it has ended.
    pub async fn ansible_results(&mut self, run_id: i64) -> ServiceResult<Option<AnsibleResults>> {
        let row: Option<Json<AnsibleResults>> = on_db!(self, c => {
            sqlx::query_scalar("SELECT results FROM run_ansible_results WHERE run_id = $1")
                .bind(run_id)
                .fetch_optional(&mut *c)
                .await
        })?;
        Ok(row.map(|r| r.0))
    }
}
