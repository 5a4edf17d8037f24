//! Kubernetes cluster records: what a project's kubeconfig says, the kubeconfig sealed with the
//! master key when secrets live in the database (never in clear), and the last check.

use chrono::{DateTime, Utc};
use domain::kubernetes::{AuthKind, Cluster, ClusterCheck};
use sqlx::types::Json;

use super::{audit, now, on_db, reads, Actor, Db, Sealed, Tx};
use crate::{ServiceError, ServiceResult};

/// What a checked kubeconfig says, as kept beside the cluster.
#[derive(Debug, Clone)]
pub struct ClusterProfile {
    pub environment: String,
    pub server_url: String,
    pub context: String,
    pub namespace: String,
    pub ca_fingerprint: Option<String>,
    pub auth_kind: AuthKind,
}

#[derive(sqlx::FromRow)]
struct ClusterRow {
    id: i64,
    project_id: i64,
    name: String,
    environment: String,
    server_url: String,
    context: String,
    namespace: String,
    ca_fingerprint: Option<String>,
    auth_kind: String,
    last_check: Option<Json<ClusterCheck>>,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ClusterRow> for Cluster {
    fn from(row: ClusterRow) -> Cluster {
        Cluster {
            id: row.id,
            project_id: row.project_id,
            name: row.name,
            environment: row.environment,
            server_url: row.server_url,
            context: row.context,
            namespace: row.namespace,
            ca_fingerprint: row.ca_fingerprint,
            auth_kind: AuthKind::parse(&row.auth_kind).unwrap_or(AuthKind::None),
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_check: row.last_check.map(|check| check.0),
        }
    }
}

/// A cluster row's nonce and ciphertext (both NULL when Vault holds the kubeconfig).
type SealedColumns = (Option<Vec<u8>>, Option<Vec<u8>>);

const CLUSTER_SELECT: &str = "SELECT c.id, c.project_id, c.name, e.name AS environment, c.server_url, c.context, \
     c.namespace, c.ca_fingerprint, c.auth_kind, c.last_check, u.username AS created_by, c.created_at, c.updated_at \
     FROM k8s_clusters c JOIN environments e ON e.id = c.environment_id LEFT JOIN users u ON u.id = c.created_by";

reads! {
    fn clusters(project_id: i64) -> Vec<Cluster>;
    fn cluster(id: i64) -> Cluster;
}

impl Db {
    /// A project's clusters by name.
    pub async fn clusters(&mut self, project_id: i64) -> ServiceResult<Vec<Cluster>> {
        let sql = format!("{CLUSTER_SELECT} WHERE c.project_id = $1 ORDER BY c.name");
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, ClusterRow>(&sql).bind(project_id).fetch_all(&mut *c).await
        })?;
        Ok(rows.into_iter().map(Cluster::from).collect())
    }

    pub async fn cluster(&mut self, id: i64) -> ServiceResult<Cluster> {
        let sql = format!("{CLUSTER_SELECT} WHERE c.id = $1");
        on_db!(self, c => {
            sqlx::query_as::<_, ClusterRow>(&sql).bind(id).fetch_optional(&mut *c).await
        })?
        .map(Cluster::from)
        .ok_or(ServiceError::NotFound { what: "cluster" })
    }

    /// The sealed kubeconfig, when the database holds it.
    pub async fn sealed_kubeconfig(&mut self, id: i64) -> ServiceResult<Option<Sealed>> {
        let row: Option<SealedColumns> = on_db!(self, c => {
            sqlx::query_as("SELECT nonce, ciphertext FROM k8s_clusters WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await
        })?;
        Ok(match row {
            Some((Some(nonce), Some(ciphertext))) => Some(Sealed { nonce, ciphertext }),
            _ => None,
        })
    }
}

impl Tx {
    /// Adds a cluster (its kubeconfig sealed here, or `None` when Vault holds it); a name taken
    /// in the project is a 409.
    pub async fn create_cluster(
        &mut self,
        project_id: i64,
        name: &str,
        profile: &ClusterProfile,
        actor: &Actor,
    ) -> ServiceResult<i64> {
        let name = crate::rules::one_line_name(name)?;
        let environment_id = self.environment(project_id, &profile.environment).await?.id;
        let taken: Option<i64> = on_db!(self, c => {
            sqlx::query_scalar("SELECT id FROM k8s_clusters WHERE project_id = $1 AND name = $2")
                .bind(project_id)
                .bind(name)
                .fetch_optional(&mut *c)
                .await
        })?;
        let name_taken = format!("the project already has a cluster named `{name}`");
        if taken.is_some() {
            return Err(ServiceError::Conflict(name_taken));
        }
        let at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO k8s_clusters (project_id, name, environment_id, server_url, context, namespace, \
                 ca_fingerprint, auth_kind, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            )
            .bind(project_id)
            .bind(name)
            .bind(environment_id)
            .bind(&profile.server_url)
            .bind(&profile.context)
            .bind(&profile.namespace)
            .bind(&profile.ca_fingerprint)
            .bind(profile.auth_kind.as_str())
            .bind(actor.user_id)
            .bind(at)
            .fetch_one(&mut *c)
            .await
            // Added at the same moment by someone else (PostgreSQL; the name is unique).
            .map_err(ServiceError::on_unique_conflict(name_taken))
        })?;
        self.audit_cluster(id, project_id, name, profile, "cluster.create", actor)
            .await?;
        Ok(id)
    }

    /// Records what a new kubeconfig says (and forgets the last check, which was of the old one).
    pub async fn update_cluster(
        &mut self,
        id: i64,
        project_id: i64,
        name: &str,
        profile: &ClusterProfile,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let environment_id = self.environment(project_id, &profile.environment).await?.id;
        let at = now();
        on_db!(self, c => {
            sqlx::query(
                "UPDATE k8s_clusters SET environment_id = $2, server_url = $3, context = $4, namespace = $5, \
                 ca_fingerprint = $6, auth_kind = $7, last_check = NULL, updated_at = $8 WHERE id = $1",
            )
            .bind(id)
            .bind(environment_id)
            .bind(&profile.server_url)
            .bind(&profile.context)
            .bind(&profile.namespace)
            .bind(&profile.ca_fingerprint)
            .bind(profile.auth_kind.as_str())
            .bind(at)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        self.audit_cluster(id, project_id, name, profile, "cluster.update", actor)
            .await
    }

    /// Keeps the kubeconfig sealed with the master key (database store), or clears it (Vault).
    pub async fn seal_kubeconfig(&mut self, id: i64, sealed: Option<&Sealed>) -> ServiceResult<()> {
        let (nonce, ciphertext) = match sealed {
            Some(sealed) => (Some(&sealed.nonce), Some(&sealed.ciphertext)),
            None => (None, None),
        };
        on_db!(self, c => {
            sqlx::query("UPDATE k8s_clusters SET nonce = $2, ciphertext = $3 WHERE id = $1")
                .bind(id)
                .bind(nonce)
                .bind(ciphertext)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn save_cluster_check(
        &mut self,
        id: i64,
        check: &ClusterCheck,
        actor: &Actor,
    ) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query("UPDATE k8s_clusters SET last_check = $2 WHERE id = $1")
                .bind(id)
                .bind(Json(check))
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        let detail = serde_json::json!({
            "health": check.health,
            "server_version": check.server_version,
            "problems": check.problems.iter().map(|p| &p.code).collect::<Vec<_>>(),
        });
        audit::write(self, actor, "cluster.check", Some(("cluster", id)), &detail).await
    }

    pub async fn delete_cluster(&mut self, cluster: &Cluster, actor: &Actor) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query("DELETE FROM k8s_clusters WHERE id = $1")
                .bind(cluster.id)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        let detail = serde_json::json!({
            "project_id": cluster.project_id,
            "name": cluster.name,
            "server_url": cluster.server_url,
        });
        audit::write(
            self,
            actor,
            "cluster.delete",
            Some(("cluster", cluster.id)),
            &detail,
        )
        .await
    }

    /// Audited with what the kubeconfig says, never the kubeconfig.
    async fn audit_cluster(
        &mut self,
        id: i64,
        project_id: i64,
        name: &str,
        profile: &ClusterProfile,
        action: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let detail = serde_json::json!({
            "project_id": project_id,
            "name": name,
            "environment": profile.environment,
            "server_url": profile.server_url,
            "context": profile.context,
            "namespace": profile.namespace,
            "ca_fingerprint": profile.ca_fingerprint,
            "auth_kind": profile.auth_kind,
        });
        audit::write(self, actor, action, Some(("cluster", id)), &detail).await
    }
}
