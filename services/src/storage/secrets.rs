//! Project secrets as stored: names in clear, values sealed (see [`crate::secrets`]).

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

#[derive(sqlx::FromRow)]
struct InfoRow {
    name: String,
    updated_by: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    name: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl From<InfoRow> for SecretInfo {
    fn from(row: InfoRow) -> Self {
        SecretInfo {
            name: row.name,
            updated_by: row.updated_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

reads! {
    fn list_secrets(project_id: i64) -> Vec<SecretInfo>;
    fn sealed_secrets(project_id: i64) -> Vec<(String, Sealed)>;
}

writes! {
    fn put_secret(project_id: i64, name: &str, sealed: &Sealed, actor: &Actor) -> SecretInfo;
    fn delete_secret(project_id: i64, name: &str, actor: &Actor) -> ();
    fn audit_secret_change(project_id: i64, name: &str, action: &'static str, actor: &Actor) -> ();
}

impl Tx {
    /// Creates or replaces a secret; the audit log names it, never its value.
    pub async fn put_secret(
        &mut self,
        project_id: i64,
        name: &str,
        sealed: &Sealed,
        actor: &Actor,
    ) -> ServiceResult<SecretInfo> {
        let at = now();
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO project_secrets (project_id, name, nonce, ciphertext, updated_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (project_id, name) DO UPDATE SET \
                 nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_by = excluded.updated_by, \
                 updated_at = excluded.updated_at",
            )
            .bind(project_id)
            .bind(name)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(actor.user_id)
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
            .map_err(ServiceError::on_foreign_key("the project does not exist"))
        })?;
        let detail = serde_json::json!({ "name": name });
        audit::write(
            self,
            actor,
            "secret.put",
            Some(("project", project_id)),
            &detail,
        )
        .await?;
        self.list_secrets(project_id)
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or(ServiceError::NotFound { what: "secret" })
    }

    pub async fn delete_secret(
        &mut self,
        project_id: i64,
        name: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let deleted = on_db!(self, c => {
            sqlx::query("DELETE FROM project_secrets WHERE project_id = $1 AND name = $2")
                .bind(project_id)
                .bind(name)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        if deleted == 0 {
            return Err(ServiceError::NotFound { what: "secret" });
        }
        let detail = serde_json::json!({ "name": name });
        audit::write(
            self,
            actor,
            "secret.delete",
            Some(("project", project_id)),
            &detail,
        )
        .await
    }

    /// Audits a change to a secret held outside the database (Vault): the name, never the value.
    pub async fn audit_secret_change(
        &mut self,
        project_id: i64,
        name: &str,
        action: &'static str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let detail = serde_json::json!({ "name": name, "store": "vault" });
        audit::write(self, actor, action, Some(("project", project_id)), &detail).await
    }
}

impl Db {
    /// A project's secrets by name: names and dates only.
    pub async fn list_secrets(&mut self, project_id: i64) -> ServiceResult<Vec<SecretInfo>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, InfoRow>(
                "SELECT name, updated_by, created_at, updated_at FROM project_secrets WHERE project_id = $1 ORDER BY name",
            )
            .bind(project_id)
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows.into_iter().map(SecretInfo::from).collect())
    }

    /// The sealed values of a project's secrets, for injecting into a run.
    pub async fn sealed_secrets(
        &mut self,
        project_id: i64,
    ) -> ServiceResult<Vec<(String, Sealed)>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, SealedRow>("SELECT name, nonce, ciphertext FROM project_secrets WHERE project_id = $1 ORDER BY name")
                .bind(project_id)
                .fetch_all(&mut *c)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    row.name,
                    Sealed {
                        nonce: row.nonce,
                        ciphertext: row.ciphertext,
                    },
                )
            })
            .collect())
    }
}
