//! Project secrets as stored: names in clear, values sealed (see [`crate::secrets`]). A secret is
//! project-wide (no environment) or scoped to one environment of the project.

use chrono::{DateTime, Utc};
use domain::SecretInfo;

use super::{audit, now, on_db, reads, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A secret's value encrypted with the master key, as stored (see [`crate::secrets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Which runs of its project a secret reaches: all of them, or one environment's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretScope {
    Project,
    Environment { id: i64, name: String },
}

impl SecretScope {
    pub fn environment_id(&self) -> Option<i64> {
        match self {
            SecretScope::Project => None,
            SecretScope::Environment { id, .. } => Some(*id),
        }
    }

    pub fn environment_name(&self) -> Option<&str> {
        match self {
            SecretScope::Project => None,
            SecretScope::Environment { name, .. } => Some(name),
        }
    }
}

#[derive(sqlx::FromRow)]
struct InfoRow {
    name: String,
    environment: Option<String>,
    updated_by: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    name: String,
    environment_id: Option<i64>,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl From<InfoRow> for SecretInfo {
    fn from(row: InfoRow) -> Self {
        SecretInfo {
            name: row.name,
            environment: row.environment,
            updated_by: row.updated_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The rows of one scope: `environment_id IS NULL` cannot be written with a bound NULL on
/// PostgreSQL, so each scope has its condition.
fn scope_condition(scope: &SecretScope, placeholder: &str) -> String {
    match scope {
        SecretScope::Project => "environment_id IS NULL".to_owned(),
        SecretScope::Environment { .. } => format!("environment_id = {placeholder}"),
    }
}

reads! {
    fn list_secrets(project_id: i64) -> Vec<SecretInfo>;
    fn sealed_secrets(project_id: i64, environment_id: Option<i64>) -> Vec<(String, Option<i64>, Sealed)>;
}

writes! {
    fn put_secret(project_id: i64, scope: &SecretScope, name: &str, sealed: &Sealed, actor: &Actor) -> SecretInfo;
    fn delete_secret(project_id: i64, scope: &SecretScope, name: &str, actor: &Actor) -> ();
    fn audit_secret_change(
        project_id: i64,
        scope: &SecretScope,
        name: &str,
        action: &'static str,
        actor: &Actor,
    ) -> ();
}

impl Tx {
    /// Creates or replaces a secret of a scope; the audit log names it, never its value.
    pub async fn put_secret(
        &mut self,
        project_id: i64,
        scope: &SecretScope,
        name: &str,
        sealed: &Sealed,
        actor: &Actor,
    ) -> ServiceResult<SecretInfo> {
        let at = now();
        let update = format!(
            "UPDATE project_secrets SET nonce = $1, ciphertext = $2, updated_by = $3, updated_at = $4 \
             WHERE project_id = $5 AND name = $6 AND {}",
            scope_condition(scope, "$7")
        );
        let replaced = on_db!(self, c => {
            let mut query = sqlx::query(&update)
                .bind(&sealed.nonce)
                .bind(&sealed.ciphertext)
                .bind(actor.user_id)
                .bind(at)
                .bind(project_id)
                .bind(name);
            if let Some(environment_id) = scope.environment_id() {
                query = query.bind(environment_id);
            }
            query.execute(&mut *c).await.map(|done| done.rows_affected())
        })?;
        if replaced == 0 {
            on_db!(self, c => {
                sqlx::query(
                    "INSERT INTO project_secrets (project_id, environment_id, name, nonce, ciphertext, updated_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(project_id)
                .bind(scope.environment_id())
                .bind(name)
                .bind(&sealed.nonce)
                .bind(&sealed.ciphertext)
                .bind(actor.user_id)
                .bind(at)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
                .map_err(ServiceError::on_foreign_key("the project or the environment does not exist"))
            })?;
        }
        self.audit_secret_change(project_id, scope, name, "secret.put", actor)
            .await?;
        self.list_secrets(project_id)
            .await?
            .into_iter()
            .find(|s| s.name == name && s.environment.as_deref() == scope.environment_name())
            .ok_or(ServiceError::NotFound { what: "secret" })
    }

    pub async fn delete_secret(
        &mut self,
        project_id: i64,
        scope: &SecretScope,
        name: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let sql = format!(
            "DELETE FROM project_secrets WHERE project_id = $1 AND name = $2 AND {}",
            scope_condition(scope, "$3")
        );
        let deleted = on_db!(self, c => {
            let mut query = sqlx::query(&sql).bind(project_id).bind(name);
            if let Some(environment_id) = scope.environment_id() {
                query = query.bind(environment_id);
            }
            query.execute(&mut *c).await.map(|done| done.rows_affected())
        })?;
        if deleted == 0 {
            return Err(ServiceError::NotFound { what: "secret" });
        }
        self.audit_secret_change(project_id, scope, name, "secret.delete", actor)
            .await
    }

    /// Audits a change to a secret: its name and scope, never its value.
    pub async fn audit_secret_change(
        &mut self,
        project_id: i64,
        scope: &SecretScope,
        name: &str,
        action: &'static str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let detail = serde_json::json!({ "name": name, "environment": scope.environment_name() });
        audit::write(self, actor, action, Some(("project", project_id)), &detail).await
    }
}

impl Db {
    /// A project's secrets by scope then name: names, scopes and dates only.
    pub async fn list_secrets(&mut self, project_id: i64) -> ServiceResult<Vec<SecretInfo>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, InfoRow>(
                "SELECT s.name, e.name AS environment, s.updated_by, s.created_at, s.updated_at \
                 FROM project_secrets s LEFT JOIN environments e ON e.id = s.environment_id \
                 WHERE s.project_id = $1 ORDER BY e.name IS NOT NULL, e.name, s.name",
            )
            .bind(project_id)
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows.into_iter().map(SecretInfo::from).collect())
    }

    /// The sealed values a run in `environment_id` receives: the project-wide secrets and those of
    /// that environment (which replace a project-wide one of the same name), each with its scope.
    pub async fn sealed_secrets(
        &mut self,
        project_id: i64,
        environment_id: Option<i64>,
    ) -> ServiceResult<Vec<(String, Option<i64>, Sealed)>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, SealedRow>(
                "SELECT name, environment_id, nonce, ciphertext FROM project_secrets \
                 WHERE project_id = $1 AND (environment_id IS NULL OR environment_id = $2) \
                 ORDER BY name, environment_id IS NOT NULL",
            )
            .bind(project_id)
            .bind(environment_id)
            .fetch_all(&mut *c)
            .await
        })?;
        let mut values: Vec<(String, Option<i64>, Sealed)> = Vec::new();
        for row in rows {
            let sealed = Sealed {
                nonce: row.nonce,
                ciphertext: row.ciphertext,
            };
            // In name order, the environment's own value comes after the project-wide one.
            match values.last_mut() {
                Some(last) if last.0 == row.name => *last = (row.name, row.environment_id, sealed),
                _ => values.push((row.name, row.environment_id, sealed)),
            }
        }
        Ok(values)
    }
}
