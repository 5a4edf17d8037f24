//! Project secrets as stored: names in clear, values sealed (see [`crate::secrets`]).

use chrono::{DateTime, Utc};
use domain::SecretInfo;

use super::audit::write_audit;
use super::{now, on_pool, Actor, BeginWrite, Storage};
use crate::secrets::Sealed;
use crate::{ServiceError, ServiceResult};

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

impl Storage {
    /// Creates or replaces a secret; the audit log names it, never its value.
    pub async fn put_secret(
        &self,
        project_id: i64,
        name: &str,
        sealed: &Sealed,
        actor: &Actor,
    ) -> ServiceResult<SecretInfo> {
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
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
            .execute(&mut *tx)
            .await
            .map_err(ServiceError::on_foreign_key("the project does not exist"))?;
            let detail = serde_json::json!({ "name": name });
            write_audit!(&mut *tx, actor, "secret.put", Some("project"), Some(project_id), &detail)?;
            tx.commit().await?;
            Ok::<(), ServiceError>(())
        })?;
        self.list_secrets(project_id)
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or(ServiceError::NotFound { what: "secret" })
    }

    /// A project's secrets by name: names and dates only.
    pub async fn list_secrets(&self, project_id: i64) -> ServiceResult<Vec<SecretInfo>> {
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, InfoRow>(
                "SELECT name, updated_by, created_at, updated_at FROM project_secrets WHERE project_id = $1 ORDER BY name",
            )
            .bind(project_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(SecretInfo::from).collect())
    }

    pub async fn delete_secret(
        &self,
        project_id: i64,
        name: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query("DELETE FROM project_secrets WHERE project_id = $1 AND name = $2")
                .bind(project_id)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(ServiceError::NotFound { what: "secret" });
            }
            let detail = serde_json::json!({ "name": name });
            write_audit!(&mut *tx, actor, "secret.delete", Some("project"), Some(project_id), &detail)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The sealed values of a project's secrets, for injecting into a run.
    pub async fn sealed_secrets(&self, project_id: i64) -> ServiceResult<Vec<(String, Sealed)>> {
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, SealedRow>("SELECT name, nonce, ciphertext FROM project_secrets WHERE project_id = $1 ORDER BY name")
                .bind(project_id)
                .fetch_all(pool)
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

    /// Audits a change to a secret held outside the database (Vault): the name, never the value.
    pub async fn audit_secret_change(
        &self,
        project_id: i64,
        name: &str,
        action: &'static str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let detail = serde_json::json!({ "name": name, "store": "vault" });
        on_pool!(self, pool => {
            write_audit!(pool, actor, action, Some("project"), Some(project_id), &detail).map(|_| ())
        })?;
        Ok(())
    }
}
