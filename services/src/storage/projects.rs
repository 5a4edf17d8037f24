//! Projects and their environments.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{BackendConfig, Color, ExecutionBackend, ProjectState, ProjectSummary};
use sqlx::types::Json;

use super::{audit, now, on_db, reads, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// An environment to create with a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnvironment {
    pub name: String,
    pub is_production: bool,
}

impl NewEnvironment {
    /// An environment named only: `prod` and `production` (in any case) are production.
    pub fn named(name: &str) -> Self {
        let name = name.trim().to_owned();
        let is_production = domain::policy::Environment {
            name: &name,
            is_production: false,
        }
        .is_production();
        NewEnvironment {
            name,
            is_production,
        }
    }
}

/// A project to create.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub description: String,
    pub color: Color,
    pub owner_id: Option<i64>,
    pub environments: Vec<NewEnvironment>,
    pub execution_backend: Option<ExecutionBackend>,
    pub execution_backend_config: BackendConfig,
}

impl NewProject {
    /// A project with these environments (named: `prod` is production) and everything else
    /// default: no description, the accent colour, no owner, no execution backend.
    pub fn named(name: &str, environments: &[&str]) -> NewProject {
        NewProject {
            name: name.to_owned(),
            description: String::new(),
            color: Color::default_accent(),
            owner_id: None,
            environments: environments
                .iter()
                .map(|e| NewEnvironment::named(e))
                .collect(),
            execution_backend: None,
            execution_backend_config: BackendConfig::default(),
        }
    }
}

/// Changes to a project; `None` leaves a field as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub color: Option<Color>,
    pub state: Option<ProjectState>,
    pub owner_id: Option<Option<i64>>,
    pub execution_backend: Option<Option<ExecutionBackend>>,
    pub execution_backend_config: Option<BackendConfig>,
}

/// What `DELETE /projects/{id}` did: a project with history (runs, incidents) is archived instead.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectRemoval {
    Deleted,
    Archived(Box<ProjectSummary>),
}

/// What the guardrails need of a project: its owner and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectAccess {
    pub owner_id: Option<i64>,
    pub state: ProjectState,
}

/// What launching and executing a run need of a project, without the figures of a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectExecution {
    pub owner_id: Option<i64>,
    pub state: ProjectState,
    pub execution_backend: Option<ExecutionBackend>,
    pub execution_backend_config: BackendConfig,
}

#[derive(sqlx::FromRow)]
struct ExecutionRow {
    owner_id: Option<i64>,
    state: String,
    execution_backend: Option<String>,
    execution_backend_config: Json<BackendConfig>,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    owner_id: Option<i64>,
    state: String,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    name: String,
    description: String,
    color: String,
    state: String,
    owner_id: Option<i64>,
    owner_username: Option<String>,
    execution_backend: Option<String>,
    execution_backend_config: Json<BackendConfig>,
    job_count: i64,
    next_job_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EnvironmentNameRow {
    project_id: i64,
    name: String,
}

const SUMMARY_SELECT: &str = "SELECT p.id, p.name, p.description, p.color, p.state, \
     p.owner_id, u.username AS owner_username, p.execution_backend, p.execution_backend_config, \
     p.version, p.created_at, p.updated_at, \
     (SELECT COUNT(*) FROM jobs j WHERE j.project_id = p.id) AS job_count, \
     (SELECT MIN(j.planned_start) FROM jobs j \
        WHERE j.project_id = p.id AND j.status = 'planned' AND j.planned_start >= $1) AS next_job_at \
     FROM projects p LEFT JOIN users u ON u.id = p.owner_id";

fn corrupt(field: &str, error: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("stored project {field} is invalid: {error}"))
}

impl SummaryRow {
    fn into_summary(self, environments: Vec<String>) -> ServiceResult<ProjectSummary> {
        Ok(ProjectSummary {
            id: self.id,
            name: self.name,
            description: self.description,
            color: self.color.parse().map_err(|e| corrupt("colour", e))?,
            state: self.state.parse().map_err(|e| corrupt("state", e))?,
            owner_id: self.owner_id,
            owner_username: self.owner_username,
            environments,
            execution_backend: self
                .execution_backend
                .map(|b| b.parse())
                .transpose()
                .map_err(|e| corrupt("backend", e))?,
            execution_backend_config: self.execution_backend_config.0,
            job_count: self.job_count,
            next_job_at: self.next_job_at,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

reads! {
    fn project_access(id: i64) -> ProjectAccess;
    fn project_execution(id: i64) -> ProjectExecution;
    fn project_summary(id: i64) -> ProjectSummary;
    fn list_project_summaries() -> Vec<ProjectSummary>;
    fn project_id_by_name(name: &str) -> Option<i64>;
}

writes! {
    fn create_project(project: &NewProject, actor: &Actor) -> ProjectSummary;
    fn update_project(
        id: i64,
        based_on_version: i64,
        changes: &ProjectChanges,
        actor: &Actor,
    ) -> ProjectSummary;
    fn delete_project(id: i64, actor: &Actor) -> ProjectRemoval;
}

impl Tx {
    /// Creates a project with its environments.
    pub async fn create_project(
        &mut self,
        project: &NewProject,
        actor: &Actor,
    ) -> ServiceResult<ProjectSummary> {
        let name = check_name(&project.name)?;
        check_backend_config(&project.execution_backend_config)?;
        let mut seen = std::collections::HashSet::new();
        for environment in &project.environments {
            check_environment_name(&environment.name)
                .map_err(|why| ServiceError::invalid("environments", why))?;
            if !seen.insert(environment.name.as_str()) {
                return Err(ServiceError::invalid(
                    "environments",
                    format!("`{}` is listed twice", environment.name),
                ));
            }
        }
        let at = now();
        let id: i64 = on_db!(self, c => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO projects (name, description, color, owner_id, execution_backend, \
                 execution_backend_config, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(name)
            .bind(project.description.trim())
            .bind(project.color.as_str())
            .bind(project.owner_id)
            .bind(project.execution_backend.map(ExecutionBackend::as_str))
            .bind(Json(&project.execution_backend_config))
            .bind(at)
            .fetch_one(&mut *c)
            .await
            .map_err(ServiceError::on_unique("name"))?;
            for environment in &project.environments {
                sqlx::query(
                    "INSERT INTO environments (project_id, name, is_production, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(id)
                .bind(&environment.name)
                .bind(environment.is_production)
                .bind(at)
                .execute(&mut *c)
                .await?;
            }
            Ok::<i64, ServiceError>(id)
        })?;
        let detail = serde_json::json!({
            "name": name,
            "environments": project.environments.iter().map(|e| &e.name).collect::<Vec<_>>(),
        });
        audit::write(
            self,
            actor,
            "project.create",
            Some(("project", id)),
            &detail,
        )
        .await?;
        self.project_summary(id).await
    }
}

impl Db {
    /// A project's owner and state in one small query: what every job request checks, without
    /// the counts and environment names of [`Db::project_summary`].
    pub async fn project_access(&mut self, id: i64) -> ServiceResult<ProjectAccess> {
        let row = on_db!(self, c => {
            sqlx::query_as::<_, AccessRow>("SELECT owner_id, state FROM projects WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await
        })?
        .ok_or(ServiceError::NotFound { what: "project" })?;
        Ok(ProjectAccess {
            owner_id: row.owner_id,
            state: row.state.parse().map_err(|e| corrupt("state", e))?,
        })
    }

    /// A project's owner, state and execution settings in one small query (every launch and
    /// every run reads them).
    pub async fn project_execution(&mut self, id: i64) -> ServiceResult<ProjectExecution> {
        let row = on_db!(self, c => {
            sqlx::query_as::<_, ExecutionRow>(
                "SELECT owner_id, state, execution_backend, execution_backend_config FROM projects WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *c)
            .await
        })?
        .ok_or(ServiceError::NotFound { what: "project" })?;
        Ok(ProjectExecution {
            owner_id: row.owner_id,
            state: row.state.parse().map_err(|e| corrupt("state", e))?,
            execution_backend: row
                .execution_backend
                .map(|b| b.parse())
                .transpose()
                .map_err(|e| corrupt("backend", e))?,
            execution_backend_config: row.execution_backend_config.0,
        })
    }

    /// One project with its figures.
    pub async fn project_summary(&mut self, id: i64) -> ServiceResult<ProjectSummary> {
        let sql = format!("{SUMMARY_SELECT} WHERE p.id = $2");
        let row = on_db!(self, c => {
            sqlx::query_as::<_, SummaryRow>(&sql).bind(now()).bind(id).fetch_optional(&mut *c).await
        })?
        .ok_or(ServiceError::NotFound { what: "project" })?;
        let environments = self
            .environment_names(Some(id))
            .await?
            .remove(&id)
            .unwrap_or_default();
        row.into_summary(environments)
    }

    /// Every project, by name (case-insensitive), with its environments and figures.
    pub async fn list_project_summaries(&mut self) -> ServiceResult<Vec<ProjectSummary>> {
        let sql = format!("{SUMMARY_SELECT} ORDER BY LOWER(p.name), p.id");
        let rows = on_db!(self, c => sqlx::query_as::<_, SummaryRow>(&sql).bind(now()).fetch_all(&mut *c).await)?;
        let mut environments = self.environment_names(None).await?;
        rows.into_iter()
            .map(|row| {
                let names = environments.remove(&row.id).unwrap_or_default();
                row.into_summary(names)
            })
            .collect()
    }

    /// Environment names per project, in creation order; one project or all.
    async fn environment_names(
        &mut self,
        project_id: Option<i64>,
    ) -> ServiceResult<HashMap<i64, Vec<String>>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, EnvironmentNameRow>(
                "SELECT project_id, name FROM environments WHERE ($1 IS NULL OR project_id = $1) ORDER BY project_id, id",
            )
            .bind(project_id)
            .fetch_all(&mut *c)
            .await
        })?;
        let mut by_project: HashMap<i64, Vec<String>> = HashMap::new();
        for row in rows {
            by_project.entry(row.project_id).or_default().push(row.name);
        }
        Ok(by_project)
    }

    /// The id of a project by its exact name.
    pub async fn project_id_by_name(&mut self, name: &str) -> ServiceResult<Option<i64>> {
        Ok(on_db!(self, c => {
            sqlx::query_scalar::<_, i64>("SELECT id FROM projects WHERE name = $1").bind(name).fetch_optional(&mut *c).await
        })?)
    }
}

impl Tx {
    /// Applies the changes only if nobody changed the project since `based_on_version`.
    pub async fn update_project(
        &mut self,
        id: i64,
        based_on_version: i64,
        changes: &ProjectChanges,
        actor: &Actor,
    ) -> ServiceResult<ProjectSummary> {
        let name = changes.name.as_deref().map(check_name).transpose()?;
        if let Some(config) = &changes.execution_backend_config {
            check_backend_config(config)?;
        }
        let archiving = match changes.state {
            Some(ProjectState::Archived) => "project.archive",
            Some(ProjectState::Active) => "project.unarchive",
            None => "project.update",
        };
        let detail = serde_json::json!({
            "version": based_on_version,
            "name": name,
            "description": changes.description.is_some(),
            "color": changes.color,
            "state": changes.state,
            "owner_id": changes.owner_id,
            "execution_backend": changes.execution_backend,
            "execution_backend_config": changes.execution_backend_config.is_some(),
        });
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE projects SET name = COALESCE($1, name), description = COALESCE($2, description), \
                 color = COALESCE($3, color), state = COALESCE($4, state), \
                 owner_id = CASE WHEN $5 THEN $6 ELSE owner_id END, \
                 execution_backend = CASE WHEN $7 THEN $8 ELSE execution_backend END, \
                 execution_backend_config = COALESCE($9, execution_backend_config), \
                 version = version + 1, updated_at = $10 WHERE id = $11 AND version = $12",
            )
            .bind(name)
            .bind(changes.description.as_deref().map(str::trim))
            .bind(changes.color.as_ref().map(Color::as_str))
            .bind(changes.state.map(ProjectState::as_str))
            .bind(changes.owner_id.is_some())
            .bind(changes.owner_id.flatten())
            .bind(changes.execution_backend.is_some())
            .bind(changes.execution_backend.flatten().map(ExecutionBackend::as_str))
            .bind(changes.execution_backend_config.as_ref().map(Json))
            .bind(now())
            .bind(id)
            .bind(based_on_version)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(|error| match ServiceError::on_unique("name")(error) {
                ServiceError::Database(error) => ServiceError::on_foreign_key_field("owner_id", "no such user")(error),
                other => other,
            })
        })?;
        if changed == 0 {
            return Err(
                match self.stale_or_missing("projects", "project", id).await {
                    stale @ ServiceError::StaleVersion { .. } => {
                        let current = self.project_summary(id).await?;
                        stale.with_current(&current)
                    }
                    other => other,
                },
            );
        }
        audit::write(self, actor, archiving, Some(("project", id)), &detail).await?;
        self.project_summary(id).await
    }

    /// Deletes a project that has no history; one with runs or incidents is archived instead,
    /// so nothing that happened is ever lost. Environments, jobs, backlog and links go with it.
    pub async fn delete_project(
        &mut self,
        id: i64,
        actor: &Actor,
    ) -> ServiceResult<ProjectRemoval> {
        let history: Option<i64> = on_db!(self, c => {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM projects WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?;
            if exists.is_none() {
                return Err(ServiceError::NotFound { what: "project" });
            }
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM runs WHERE project_id = $1) + \
                 (SELECT COUNT(*) FROM incidents WHERE project_id = $1)",
            )
            .bind(id)
            .fetch_one(&mut *c)
            .await
            .map(Some)
        })?;
        let history = history.unwrap_or(0);
        if history > 0 {
            on_db!(self, c => {
                sqlx::query("UPDATE projects SET state = 'archived', version = version + 1, updated_at = $1 WHERE id = $2")
                    .bind(now())
                    .bind(id)
                    .execute(&mut *c)
                    .await
                    .map(|done| done.rows_affected())
            })?;
            let detail = serde_json::json!({ "reason": "the project has runs or incidents", "history": history });
            audit::write(
                self,
                actor,
                "project.archive",
                Some(("project", id)),
                &detail,
            )
            .await?;
            Ok(ProjectRemoval::Archived(Box::new(
                self.project_summary(id).await?,
            )))
        } else {
            on_db!(self, c => {
                sqlx::query("DELETE FROM projects WHERE id = $1")
                    .bind(id)
                    .execute(&mut *c)
                    .await
                    .map(|done| done.rows_affected())
                    .map_err(ServiceError::on_foreign_key("the project is still referenced; archive it instead"))
            })?;
            audit::write(
                self,
                actor,
                "project.delete",
                Some(("project", id)),
                &serde_json::json!({}),
            )
            .await?;
            Ok(ProjectRemoval::Deleted)
        }
    }
}

/// A project name: trimmed, not empty, one line of reasonable length.
fn check_name(name: &str) -> ServiceResult<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("name", "must not be empty"));
    }
    if name.chars().count() > 120 || name.contains(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "must be one line of at most 120 characters",
        ));
    }
    Ok(name)
}

fn check_backend_config(config: &BackendConfig) -> ServiceResult<()> {
    config
        .check()
        .map_err(|(field, why)| ServiceError::invalid(field, why))
}

/// Environment names appear in URLs and guardrail rules: short, lowercase-friendly words.
pub(crate) fn check_environment_name(name: &str) -> Result<(), &'static str> {
    let valid = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err("an environment name is 1 to 40 letters, digits, `-`, `_` or `.`")
    }
}
