//! Kubernetes clusters of a project: added from a kubeconfig that is parsed and checked
//! ([`kubeconfig`]) and kept only in the secret store — sealed in the database or in Vault, never
//! in clear, never returned — checked against the cluster ([`probe`]), and handed to `kubectl`
//! runs as a file holding only the chosen context. A project's owner among projets or an admin
//! adds, replaces and removes clusters; anyone who reads the project sees what they say.

pub mod kubeconfig;
pub mod probe;

pub use domain::kubernetes::ClusterList;
use domain::kubernetes::{Cluster, ClusterCheck};
use domain::policy::{Action, Object};
use domain::{LinkKind, ProjectLink};
use serde::Deserialize;
use tracing::instrument;
use zeroize::Zeroizing;

use crate::projects::for_change;
use crate::storage::ClusterProfile;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// A cluster to add, or the new kubeconfig of one (`name` is kept on replace).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterRequest {
    /// Required to add; ignored on replace.
    #[serde(default)]
    pub name: Option<String>,
    /// The project environment whose guardrails apply to runs on this cluster.
    pub environment: String,
    /// The kubeconfig (YAML or JSON). Never stored in the database in clear, never returned.
    pub kubeconfig: String,
    /// The context to use; the kubeconfig's `current-context` when absent.
    #[serde(default)]
    pub context: Option<String>,
    /// The namespace runs are confined to; the context's, else `default`, when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// A `k8s_cluster` link of the project this cluster replaces (the link is removed).
    #[serde(default)]
    pub link: Option<i64>,
}

impl std::fmt::Debug for ClusterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterRequest")
            .field("name", &self.name)
            .field("environment", &self.environment)
            .field("context", &self.context)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

fn profile(request: &ClusterRequest, checked: &kubeconfig::Checked) -> ClusterProfile {
    ClusterProfile {
        environment: request.environment.trim().to_owned(),
        server_url: checked.server_url.clone(),
        context: checked.context.clone(),
        namespace: checked.namespace.clone(),
        ca_fingerprint: checked.ca_fingerprint.clone(),
        auth_kind: checked.auth_kind,
    }
}

fn checked(hub: &Hub, request: &ClusterRequest) -> ServiceResult<kubeconfig::Checked> {
    if request.environment.trim().is_empty() {
        return Err(ServiceError::invalid(
            "environment",
            "name the project environment this cluster serves",
        ));
    }
    kubeconfig::check(
        &request.kubeconfig,
        request.context.as_deref(),
        request.namespace.as_deref(),
        hub.executor.kube_allow_exec(),
    )
}

/// Adds a cluster; its kubeconfig goes to the secret store in the same transaction's reach (a
/// store failure leaves nothing behind).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, project.id = project_id))]
pub async fn create(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    request: &ClusterRequest,
) -> ServiceResult<Cluster> {
    let mut tx = hub.storage.write().await?;
    for_change(&mut tx, caller, project_id, Action::UpdateProject).await?;
    let name = request
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ServiceError::invalid("name", "name the cluster"))?;
    let checked = checked(hub, request)?;
    let replaced = match request.link {
        Some(link_id) => Some(cluster_link(&mut tx, project_id, link_id).await?),
        None => None,
    };
    let id = tx
        .create_cluster(
            project_id,
            name,
            &profile(request, &checked),
            &caller.actor(),
        )
        .await?;
    if let Some(link) = replaced {
        tx.delete_link(link.id, &caller.actor()).await?;
    }
    hub.secrets()
        .put_kubeconfig(&mut tx, project_id, id, &checked.minimal)
        .await?;
    tx.commit().await?;
    hub.storage.cluster(id).await
}

/// The `k8s_cluster` link `link_id` of the project (422 otherwise).
async fn cluster_link(
    tx: &mut crate::storage::Tx,
    project_id: i64,
    link_id: i64,
) -> ServiceResult<ProjectLink> {
    match tx.link(link_id).await {
        Ok(link) if link.project_id == project_id && link.kind == LinkKind::K8sCluster => Ok(link),
        Ok(_) | Err(ServiceError::NotFound { .. }) => Err(ServiceError::invalid(
            "link",
            "names no Kubernetes cluster link of this project",
        )),
        Err(other) => Err(other),
    }
}

/// The project's clusters and its cluster links (anyone who reads projects).
pub async fn list(hub: &Hub, caller: &Caller, project_id: i64) -> ServiceResult<ClusterList> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    db.project_access(project_id).await?;
    Ok(ClusterList {
        items: db.clusters(project_id).await?,
        links: db
            .list_links(project_id, Some(LinkKind::K8sCluster))
            .await?,
    })
}

/// Cluster `id` of project `project_id` (404 when it is another project's).
pub async fn get(hub: &Hub, caller: &Caller, project_id: i64, id: i64) -> ServiceResult<Cluster> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    of_project(&mut db, project_id, id).await
}

async fn of_project(
    db: &mut crate::storage::Db,
    project_id: i64,
    id: i64,
) -> ServiceResult<Cluster> {
    let cluster = db.cluster(id).await?;
    if cluster.project_id != project_id {
        return Err(ServiceError::NotFound { what: "cluster" });
    }
    Ok(cluster)
}

/// Cluster `id` of project `project_id`, once the caller may change the project.
async fn changeable(
    db: &mut crate::storage::Db,
    caller: &Caller,
    project_id: i64,
    id: i64,
) -> ServiceResult<Cluster> {
    for_change(db, caller, project_id, Action::UpdateProject).await?;
    of_project(db, project_id, id).await
}

/// Replaces a cluster's kubeconfig (and its environment, context and namespace); the last check
/// is forgotten.
///
/// Checked on a read before the kubeconfig goes to the store, and again in the write
/// transaction: with Vault it is sent before that transaction opens, so that no write waits on
/// Vault's answer (see `SecretStore::put`).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, cluster.id = id))]
pub async fn replace(
    hub: &Hub,
    caller: &Caller,
    project_id: i64,
    id: i64,
    request: &ClusterRequest,
) -> ServiceResult<Cluster> {
    changeable(&mut hub.storage.read().await?, caller, project_id, id).await?;
    if request.link.is_some() {
        return Err(ServiceError::invalid(
            "link",
            "a link is upgraded when a cluster is added (POST), not replaced",
        ));
    }
    let checked = checked(hub, request)?;
    let mut tx = hub
        .secrets()
        .replace_kubeconfig(&hub.storage, project_id, id, &checked.minimal)
        .await?;
    let cluster = match changeable(&mut tx, caller, project_id, id).await {
        Ok(cluster) => cluster,
        Err(error) => {
            drop(tx);
            if matches!(error, ServiceError::NotFound { .. }) {
                // Removed while the new kubeconfig was on its way to Vault: the removal may
                // have taken Vault's copy before this one landed, and nothing lists it now.
                forget_removed_kubeconfig(hub, project_id, id).await;
            }
            return Err(error);
        }
    };
    tx.update_cluster(
        id,
        project_id,
        &cluster.name,
        &profile(request, &checked),
        &caller.actor(),
    )
    .await?;
    tx.commit().await?;
    hub.storage.cluster(id).await
}

/// Removes a cluster and its kubeconfig from the store: checked on a read, the kubeconfig removed
/// from Vault first (if Vault refuses, the cluster stays listed rather than leaving a kubeconfig
/// nobody can see), then the row, checked again, in a transaction that waits on nothing outside.
///
/// A replacement checked before the row went may send its kubeconfig to Vault after the first
/// removal: Vault is asked once more once the row is gone, and a replacement that comes later
/// finds no row and removes its own (`replace`). So whichever order the two take, no kubeconfig
/// is left in Vault under a removed cluster.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, cluster.id = id))]
pub async fn delete(hub: &Hub, caller: &Caller, project_id: i64, id: i64) -> ServiceResult<()> {
    changeable(&mut hub.storage.read().await?, caller, project_id, id).await?;
    hub.secrets().delete_kubeconfig(project_id, id).await?;
    let mut tx = hub.storage.write().await?;
    let cluster = changeable(&mut tx, caller, project_id, id).await?;
    tx.delete_cluster(&cluster, &caller.actor()).await?;
    tx.commit().await?;
    forget_removed_kubeconfig(hub, project_id, id).await;
    Ok(())
}

/// Removes from the store the kubeconfig of a cluster whose row is gone. The removal the caller
/// asked for has happened, so a refusal is not theirs to see: the server's log names the cluster
/// (never the kubeconfig), and the project's purge removes the rest.
async fn forget_removed_kubeconfig(hub: &Hub, project_id: i64, id: i64) {
    if let Err(error) = hub.secrets().delete_kubeconfig(project_id, id).await {
        tracing::error!(
            project_id,
            cluster_id = id,
            %error,
            "the kubeconfig of a removed cluster could not be removed from the secret store"
        );
    }
}

/// Checks the cluster with its kubeconfig and keeps the result (those who may change the
/// project, and ops, who run things there).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, cluster.id = id))]
pub async fn check(hub: &Hub, caller: &Caller, project_id: i64, id: i64) -> ServiceResult<Cluster> {
    let cluster = {
        let mut db = hub.storage.read().await?;
        let project = db.project_access(project_id).await?;
        if caller
            .may(
                Action::UpdateProject,
                &Object::project(project.owner_id),
                None,
            )
            .is_err()
        {
            // Whoever launches the project's operations jobs (ops) may see if the cluster answers.
            caller.may(
                Action::LaunchRun,
                &Object::job(project.owner_id, domain::JobType::Ops),
                None,
            )?;
        }
        of_project(&mut db, project_id, id).await?
    };
    let kubeconfig = kubeconfig_of(hub, project_id, id).await?;
    let result: ClusterCheck = probe::check(&kubeconfig, &cluster.namespace).await;
    let mut tx = hub.storage.write().await?;
    tx.save_cluster_check(id, &result, &caller.actor()).await?;
    tx.commit().await?;
    hub.storage.cluster(id).await
}

/// The stored (minimal) kubeconfig of a cluster, for a check or a run.
pub async fn kubeconfig_of(
    hub: &Hub,
    project_id: i64,
    id: i64,
) -> ServiceResult<Zeroizing<String>> {
    let mut db = hub.storage.read().await?;
    hub.secrets().kubeconfig(&mut db, project_id, id).await
}
