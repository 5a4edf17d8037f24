//! A project's environments: listed, added, renamed, flagged production, removed when unused.

use chrono::{DateTime, Utc};
use domain::EnvironmentRecord;

use super::projects::check_environment_name;
use super::{audit, now, on_db, reads, writes, Actor, Db, NewEnvironment, Tx};
use crate::{ServiceError, ServiceResult};

/// Changes to an environment; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentChanges {
    pub name: Option<String>,
    pub is_production: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct EnvironmentRow {
    id: i64,
    project_id: i64,
    name: String,
    is_production: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EnvironmentRow> for EnvironmentRecord {
    fn from(row: EnvironmentRow) -> Self {
        EnvironmentRecord {
            id: row.id,
            project_id: row.project_id,
            name: row.name,
            is_production: row.is_production,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const ENVIRONMENT_SELECT: &str =
    "SELECT id, project_id, name, is_production, version, created_at, updated_at FROM environments";

reads! {
    fn list_environments(project_id: i64) -> Vec<EnvironmentRecord>;
    fn environment_record(project_id: i64, name: &str) -> EnvironmentRecord;
}

writes! {
    fn create_environment(
        project_id: i64,
        environment: &NewEnvironment,
        actor: &Actor,
    ) -> EnvironmentRecord;
    fn update_environment(
        project_id: i64,
        name: &str,
        based_on_version: i64,
        changes: &EnvironmentChanges,
        actor: &Actor,
    ) -> EnvironmentRecord;
    fn delete_environment(project_id: i64, name: &str, actor: &Actor) -> ();
}

impl Db {
    /// A project's environments in creation order.
    pub async fn list_environments(
        &mut self,
        project_id: i64,
    ) -> ServiceResult<Vec<EnvironmentRecord>> {
        let sql = format!("{ENVIRONMENT_SELECT} WHERE project_id = $1 ORDER BY id");
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, EnvironmentRow>(&sql).bind(project_id).fetch_all(&mut *c).await
        })?;
        Ok(rows.into_iter().map(EnvironmentRecord::from).collect())
    }

    /// One environment of a project, by name; 404 when the project has none by that name.
    pub async fn environment_record(
        &mut self,
        project_id: i64,
        name: &str,
    ) -> ServiceResult<EnvironmentRecord> {
        let sql = format!("{ENVIRONMENT_SELECT} WHERE project_id = $1 AND name = $2");
        on_db!(self, c => {
            sqlx::query_as::<_, EnvironmentRow>(&sql).bind(project_id).bind(name).fetch_optional(&mut *c).await
        })?
        .map(EnvironmentRecord::from)
        .ok_or(ServiceError::NotFound {
            what: "environment",
        })
    }
}

impl Tx {
    pub async fn create_environment(
        &mut self,
        project_id: i64,
        environment: &NewEnvironment,
        actor: &Actor,
    ) -> ServiceResult<EnvironmentRecord> {
        check_environment_name(&environment.name)
            .map_err(|why| ServiceError::invalid("name", why))?;
        // `Prod` is production whatever the flag says: stored so, it shows so.
        let environment = &NewEnvironment {
            name: environment.name.clone(),
            is_production: domain::policy::Environment {
                name: &environment.name,
                is_production: environment.is_production,
            }
            .is_production(),
        };
        let at = now();
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO environments (project_id, name, is_production, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(project_id)
            .bind(&environment.name)
            .bind(environment.is_production)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(ServiceError::on_unique("name"))
        })?;
        let detail = serde_json::json!({ "name": environment.name, "is_production": environment.is_production });
        audit::write(
            self,
            actor,
            "environment.create",
            Some(("project", project_id)),
            &detail,
        )
        .await?;
        self.environment_record(project_id, &environment.name).await
    }

    /// Renames or re-flags an environment, only if nobody changed it since `based_on_version`.
    pub async fn update_environment(
        &mut self,
        project_id: i64,
        name: &str,
        based_on_version: i64,
        changes: &EnvironmentChanges,
        actor: &Actor,
    ) -> ServiceResult<EnvironmentRecord> {
        let current = self.environment_record(project_id, name).await?;
        if let Some(new_name) = &changes.name {
            check_environment_name(new_name).map_err(|why| ServiceError::invalid("name", why))?;
        }
        let detail = serde_json::json!({
            "environment": name,
            "version": based_on_version,
            "name": changes.name,
            "is_production": changes.is_production,
        });
        let changed = on_db!(self, c => {
            sqlx::query(
                "UPDATE environments SET name = COALESCE($1, name), is_production = COALESCE($2, is_production), \
                 version = version + 1, updated_at = $3 WHERE id = $4 AND version = $5",
            )
            .bind(changes.name.as_deref())
            .bind(changes.is_production)
            .bind(now())
            .bind(current.id)
            .bind(based_on_version)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(ServiceError::on_unique("name"))
        })?;
        if changed == 0 {
            return Err(self
                .stale_or_missing("environments", "environment", current.id)
                .await
                .with_current(&current));
        }
        audit::write(
            self,
            actor,
            "environment.update",
            Some(("project", project_id)),
            &detail,
        )
        .await?;
        let final_name = changes.name.as_deref().unwrap_or(name);
        self.environment_record(project_id, final_name).await
    }

    /// Removes an environment no job, run or link refers to (409 otherwise).
    pub async fn delete_environment(
        &mut self,
        project_id: i64,
        name: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let current = self.environment_record(project_id, name).await?;
        on_db!(self, c => {
            sqlx::query("DELETE FROM environments WHERE id = $1")
                .bind(current.id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
                .map_err(ServiceError::on_foreign_key(
                    "jobs, runs, links, secrets, plans or clusters use this environment; move or delete them first",
                ))
        })?;
        let detail = serde_json::json!({ "environment": name });
        audit::write(
            self,
            actor,
            "environment.delete",
            Some(("project", project_id)),
            &detail,
        )
        .await
    }
}
