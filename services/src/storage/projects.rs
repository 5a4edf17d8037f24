//! Projects and their environments.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{Color, ProjectState, ProjectSummary};

use super::audit::write_audit;
use super::{now, on_pool, Actor, Storage};
use crate::{ServiceError, ServiceResult};

/// An environment to create with a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnvironment {
    pub name: String,
    pub is_production: bool,
}

impl NewEnvironment {
    /// An environment named only: `prod` (and `production`) are production by default.
    pub fn named(name: &str) -> Self {
        let name = name.trim().to_owned();
        let is_production = matches!(name.as_str(), "prod" | "production");
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
}

/// Changes to a project; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub color: Option<Color>,
    pub state: Option<ProjectState>,
}

/// What the guardrails need of a project: its owner and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectAccess {
    pub owner_id: Option<i64>,
    pub state: ProjectState,
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
    job_count: i64,
    next_job_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EnvironmentNameRow {
    project_id: i64,
    name: String,
}

const SUMMARY_SELECT: &str = "SELECT p.id, p.name, p.description, p.color, p.state, \
     p.owner_id, u.username AS owner_username, p.created_at, p.updated_at, \
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
            job_count: self.job_count,
            next_job_at: self.next_job_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl Storage {
    /// Creates a project with its environments in one transaction.
    pub async fn create_project(
        &self,
        project: &NewProject,
        actor: &Actor,
    ) -> ServiceResult<ProjectSummary> {
        let name = project.name.trim();
        if name.is_empty() {
            return Err(ServiceError::invalid("name", "must not be empty"));
        }
        let mut seen = std::collections::HashSet::new();
        for environment in &project.environments {
            if environment.name.is_empty() {
                return Err(ServiceError::invalid(
                    "environments",
                    "an environment needs a name",
                ));
            }
            if !seen.insert(environment.name.as_str()) {
                return Err(ServiceError::invalid(
                    "environments",
                    format!("`{}` is listed twice", environment.name),
                ));
            }
        }
        let at = now();
        let id: i64 = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO projects (name, description, color, owner_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(name)
            .bind(project.description.trim())
            .bind(project.color.as_str())
            .bind(project.owner_id)
            .bind(at)
            .fetch_one(&mut *tx)
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
                .execute(&mut *tx)
                .await?;
            }
            let detail = serde_json::json!({
                "name": name,
                "environments": project.environments.iter().map(|e| &e.name).collect::<Vec<_>>(),
            });
            write_audit!(&mut *tx, actor, "project.create", Some("project"), Some(id), &detail)?;
            tx.commit().await?;
            Ok::<i64, ServiceError>(id)
        })?;
        self.project_summary(id).await
    }

    /// A project's owner and state in one small query: what every job request checks, without
    /// the counts and environment names of [`Storage::project_summary`].
    pub async fn project_access(&self, id: i64) -> ServiceResult<ProjectAccess> {
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, AccessRow>("SELECT owner_id, state FROM projects WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
        })?
        .ok_or(ServiceError::NotFound { what: "project" })?;
        Ok(ProjectAccess {
            owner_id: row.owner_id,
            state: row.state.parse().map_err(|e| corrupt("state", e))?,
        })
    }

    /// One project with its figures.
    pub async fn project_summary(&self, id: i64) -> ServiceResult<ProjectSummary> {
        let sql = format!("{SUMMARY_SELECT} WHERE p.id = $2");
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, SummaryRow>(&sql).bind(now()).bind(id).fetch_optional(pool).await
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
    pub async fn list_project_summaries(&self) -> ServiceResult<Vec<ProjectSummary>> {
        let sql = format!("{SUMMARY_SELECT} ORDER BY LOWER(p.name), p.id");
        let rows = on_pool!(self, pool => sqlx::query_as::<_, SummaryRow>(&sql).bind(now()).fetch_all(pool).await)?;
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
        &self,
        project_id: Option<i64>,
    ) -> ServiceResult<HashMap<i64, Vec<String>>> {
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, EnvironmentNameRow>(
                "SELECT project_id, name FROM environments WHERE ($1 IS NULL OR project_id = $1) ORDER BY project_id, id",
            )
            .bind(project_id)
            .fetch_all(pool)
            .await
        })?;
        let mut by_project: HashMap<i64, Vec<String>> = HashMap::new();
        for row in rows {
            by_project.entry(row.project_id).or_default().push(row.name);
        }
        Ok(by_project)
    }

    /// Applies the given changes in one statement: fields left `None` keep their stored value.
    pub async fn update_project(
        &self,
        id: i64,
        changes: &ProjectChanges,
        actor: &Actor,
    ) -> ServiceResult<ProjectSummary> {
        let name = changes.name.as_deref().map(str::trim);
        if name == Some("") {
            return Err(ServiceError::invalid("name", "must not be empty"));
        }
        let detail = serde_json::json!({
            "name": name,
            "description": changes.description.is_some(),
            "color": changes.color,
            "state": changes.state,
        });
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE projects SET name = COALESCE($1, name), description = COALESCE($2, description), \
                 color = COALESCE($3, color), state = COALESCE($4, state), updated_at = $5 WHERE id = $6",
            )
            .bind(name)
            .bind(changes.description.as_deref().map(str::trim))
            .bind(changes.color.as_ref().map(Color::as_str))
            .bind(changes.state.map(ProjectState::as_str))
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(ServiceError::on_unique("name"))?
            .rows_affected();
            if changed == 0 {
                return Err(ServiceError::NotFound { what: "project" });
            }
            write_audit!(&mut *tx, actor, "project.update", Some("project"), Some(id), &detail)?;
            tx.commit().await?;
            Ok::<(), ServiceError>(())
        })?;
        self.project_summary(id).await
    }

    /// The id of a project by its exact name.
    pub async fn project_id_by_name(&self, name: &str) -> ServiceResult<Option<i64>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT id FROM projects WHERE name = $1").bind(name).fetch_optional(pool).await
        })?)
    }
}
