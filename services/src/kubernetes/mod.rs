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
use tracing::{instrument, Instrument};
use zeroize::Zeroizing;

use crate::projects::for_change;
use crate::secrets::SecretStore;
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

/// Adds a cluster; its kubeconfig goes to the secret store, and a store that refuses it leaves
/// no cluster behind (and the link it was to replace in place).
///
/// In the database the kubeconfig is sealed into the row, in one transaction. With Vault no
/// write transaction waits on Vault's answer (see `SecretStore::put`; with SQLite uHub's changes
/// take turns, and a Vault that hangs held all of them for up to 10 s): the row is committed
/// first, its kubeconfig is sent (the path is the row's id), and only then is the link removed.
/// Meanwhile the cluster is listed, and a check of it says its kubeconfig is not in the store.
/// If Vault refuses, the row is removed again (audited as a removal).
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
    let vault = match hub.secrets() {
        SecretStore::Database(secrets) => {
            let sealed = secrets.seal_kubeconfig(project_id, id, &checked.minimal)?;
            tx.seal_kubeconfig(id, Some(&sealed)).await?;
            if let Some(link) = replaced {
                tx.delete_link(link.id, &caller.actor()).await?;
            }
            tx.commit().await?;
            return hub.storage.cluster(id).await;
        }
        SecretStore::Vault(vault) => vault,
    };
    tx.commit().await?;
    // In a task of its own: a caller who goes away while Vault answers (the request's future
    // dropped) must not leave the row without its kubeconfig, nor a refused one listed.
    let finishing = tokio::spawn(
        send_new_kubeconfig(
            hub.clone(),
            caller.clone(),
            vault.clone(),
            (project_id, id),
            checked.minimal,
            replaced.map(|link| link.id),
        )
        .instrument(tracing::Span::current()),
    );
    finishing
        .await
        .map_err(|error| ServiceError::Internal(format!("adding cluster #{id}: {error}")))?
}

/// The rest of adding cluster `id` with Vault, once its row is committed: the kubeconfig sent,
/// then the link it replaces removed; if Vault refuses, the row goes again.
async fn send_new_kubeconfig(
    hub: Hub,
    caller: Caller,
    vault: crate::vault::VaultStore,
    (project_id, id): (i64, i64),
    kubeconfig: Zeroizing<String>,
    replaced_link: Option<i64>,
) -> ServiceResult<Cluster> {
    if let Err(error) = vault.put_kubeconfig(project_id, id, &kubeconfig).await {
        withdraw_refused(&hub, &caller, project_id, id).await;
        return Err(error);
    }
    let mut tx = hub.storage.write().await?;
    let cluster = match of_project(&mut tx, project_id, id).await {
        Ok(cluster) => cluster,
        Err(error) => {
            drop(tx);
            if matches!(error, ServiceError::NotFound { .. }) {
                // Removed while its kubeconfig was on its way to Vault (as in `replace`).
                forget_removed_kubeconfig(&hub, project_id, id).await;
            }
            return Err(error);
        }
    };
    if let Some(link_id) = replaced_link {
        // Unless someone removed it meanwhile.
        match tx.link(link_id).await {
            Ok(_) => tx.delete_link(link_id, &caller.actor()).await?,
            Err(ServiceError::NotFound { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    tx.commit().await?;
    Ok(cluster)
}

/// Removes the row of a cluster whose kubeconfig Vault refused, and whatever Vault may have kept
/// of it (a write that timed out may still have landed). A cluster replaced meanwhile stays, and
/// so does the replacement's kubeconfig. The caller gets Vault's error; what cannot be undone is
/// in the server's log, by cluster id (never the kubeconfig).
async fn withdraw_refused(hub: &Hub, caller: &Caller, project_id: i64, id: i64) {
    let removed = async {
        let mut tx = hub.storage.write().await?;
        let cluster = tx.cluster(id).await?;
        if cluster.updated_at != cluster.created_at {
            return Ok(false);
        }
        tx.delete_cluster(&cluster, &caller.actor()).await?;
        tx.commit().await?;
        Ok::<bool, ServiceError>(true)
    };
    match removed.await {
        // Removed, by this or by someone else's removal.
        Ok(true) | Err(ServiceError::NotFound { .. }) => {}
        Ok(false) => return,
        Err(error) => {
            tracing::error!(
                project_id,
                cluster_id = id,
                %error,
                "a cluster whose kubeconfig the secret store refused could not be removed: it \
                 is listed without a kubeconfig"
            );
            return;
        }
    }
    if let Err(error) = hub.secrets().delete_kubeconfig(project_id, id).await {
        tracing::warn!(
            project_id,
            cluster_id = id,
            %error,
            "the secret store refused a new cluster's kubeconfig, then its removal: if the write \
             landed, the kubeconfig stays until the project is removed"
        );
    }
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
