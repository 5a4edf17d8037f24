//! Project secrets kept in HashiCorp Vault (KV v2) instead of uHub's database, when
//! `UHUB_VAULT_ADDR` is set. Each secret is one Vault secret holding `{"value": "..."}`, at
//! `<mount>/data/<prefix>/projects/<project id>/<NAME>` when project-wide and
//! `<mount>/data/<prefix>/projects/<project id>/environments/<environment id>/<NAME>` when it
//! reaches one environment's runs only, so operators can also write a project's secrets with the
//! Vault CLI and uHub picks them up.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::SecretInfo;
use serde::{Deserialize, Serialize};
use vaultrs::client::{Client, VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use zeroize::Zeroizing;

use crate::storage::SecretScope;
use crate::{ServiceError, ServiceResult};

/// How uHub reaches Vault.
#[derive(Clone)]
pub struct VaultSettings {
    /// `http(s)://host:8200`.
    pub address: String,
    pub auth: VaultAuth,
    /// The KV v2 engine's mount point (`secret` by default).
    pub mount: String,
    /// The path under the mount where uHub keeps its projects (`uhub` by default), so that
    /// several uHub installations can share one Vault.
    pub prefix: String,
}

impl std::fmt::Debug for VaultSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSettings")
            .field("address", &self.address)
            .field("mount", &self.mount)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// How uHub proves who it is to Vault.
#[derive(Clone)]
pub enum VaultAuth {
    /// `UHUB_VAULT_TOKEN`: used as is, never renewed (give a periodic or long-lived token).
    Token(Zeroizing<String>),
    /// `UHUB_VAULT_ROLE_ID` + `UHUB_VAULT_SECRET_ID`: logs in at `auth/<mount>/login`.
    AppRole {
        mount: String,
        role_id: Zeroizing<String>,
        secret_id: Zeroizing<String>,
    },
}

/// The token in use and when to renew or replace it.
struct Session {
    client: Arc<VaultClient>,
    /// `None` for a fixed token, or a token whose lease does not expire.
    lease: Option<Lease>,
}

struct Lease {
    /// The TTL granted at login; a renewal granting much less means the maximum TTL is near.
    granted: Duration,
    renew_at: Instant,
    /// A little before the real expiry, so a request never leaves with a dying token.
    replace_at: Instant,
}

impl Session {
    /// The client, while its token needs neither renewal nor replacement.
    fn usable(&self) -> Option<Arc<VaultClient>> {
        match &self.lease {
            Some(lease) if Instant::now() >= lease.renew_at => None,
            _ => Some(self.client.clone()),
        }
    }
}

impl Lease {
    fn starting_now(granted: Duration, lease: Duration) -> Option<Lease> {
        if lease.is_zero() {
            return None;
        }
        let now = Instant::now();
        Some(Lease {
            granted,
            renew_at: now + lease * 2 / 3,
            replace_at: now + lease - (lease / 10).min(Duration::from_secs(30)),
        })
    }
}

/// A connection to Vault's KV v2 engine. Cheap to clone.
#[derive(Clone)]
pub struct VaultStore {
    session: Arc<tokio::sync::RwLock<Option<Session>>>,
    address: String,
    auth: Arc<VaultAuth>,
    mount: String,
    prefix: String,
}

impl std::fmt::Debug for VaultStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultStore")
            .field("mount", &self.mount)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The data of one secret in Vault.
#[derive(Serialize, Deserialize)]
struct SecretData {
    value: String,
}

/// Custom metadata key naming the uHub user who last wrote the secret.
const UPDATED_BY: &str = "uhub_updated_by";

impl VaultStore {
    /// Checks the address (vaultrs panics on a malformed one) and builds the client; nothing is
    /// sent until the first use, so uHub starts while Vault is briefly down.
    pub fn new(settings: &VaultSettings) -> Result<VaultStore, String> {
        let address = reqwest::Url::parse(&settings.address)
            .map_err(|error| format!("not a URL: {error}"))?;
        if !matches!(address.scheme(), "http" | "https") || address.host_str().is_none() {
            return Err("must be an http:// or https:// URL with a host".to_owned());
        }
        match &settings.auth {
            VaultAuth::Token(token) if token.trim().is_empty() => {
                return Err(
                    "a token is required (UHUB_VAULT_TOKEN or UHUB_VAULT_TOKEN_FILE)".to_owned(),
                )
            }
            VaultAuth::AppRole {
                mount,
                role_id,
                secret_id,
            } if mount.trim_matches('/').is_empty()
                || role_id.trim().is_empty()
                || secret_id.trim().is_empty() =>
            {
                return Err("AppRole needs a mount, a role ID and a secret ID".to_owned())
            }
            _ => {}
        }
        let mount = settings.mount.trim_matches('/').to_owned();
        let prefix = settings.prefix.trim_matches('/').to_owned();
        if mount.is_empty() || prefix.is_empty() {
            return Err("the mount and the prefix must not be empty".to_owned());
        }
        let session = match &settings.auth {
            VaultAuth::Token(token) => Some(Session {
                client: Arc::new(client_with_token(address.as_str(), token.trim())?),
                lease: None,
            }),
            // Logged in at the first use, so uHub starts while Vault is briefly down.
            VaultAuth::AppRole { .. } => None,
        };
        Ok(VaultStore {
            session: Arc::new(tokio::sync::RwLock::new(session)),
            address: address.as_str().to_owned(),
            auth: Arc::new(settings.auth.clone()),
            mount,
            prefix,
        })
    }

    /// A client with a token good for the next request: logs in, renews or logs in again as
    /// the lease requires (AppRole only).
    async fn client(&self) -> ServiceResult<Arc<VaultClient>> {
        if let Some(client) = self.session.read().await.as_ref().and_then(Session::usable) {
            return Ok(client);
        }
        let mut session = self.session.write().await;
        // Another request may have refreshed it while this one waited for the lock.
        let refreshed = match session.as_ref() {
            Some(current) => {
                if let Some(client) = current.usable() {
                    return Ok(client);
                }
                match &current.lease {
                    Some(lease) if Instant::now() < lease.replace_at => {
                        self.renewed(current.client.clone(), lease.granted).await
                    }
                    _ => None,
                }
            }
            None => None,
        };
        let fresh = match refreshed {
            Some(renewed) => renewed,
            None => self.logged_in().await?,
        };
        let client = fresh.client.clone();
        *session = Some(fresh);
        Ok(client)
    }

    /// The same token with a renewed lease, or `None` when Vault refused or granted too little
    /// (the maximum TTL is near), so the caller logs in again.
    async fn renewed(&self, client: Arc<VaultClient>, granted: Duration) -> Option<Session> {
        match vaultrs::token::renew_self(&*client, None).await {
            Ok(auth) => {
                let lease = Duration::from_secs(auth.lease_duration);
                if lease < granted * 2 / 3 {
                    tracing::info!(
                        lease_secs = auth.lease_duration,
                        "the Vault token reaches its maximum TTL; logging in again"
                    );
                    return None;
                }
                tracing::debug!(lease_secs = auth.lease_duration, "renewed the Vault token");
                Some(Session {
                    client,
                    lease: Lease::starting_now(granted, lease),
                })
            }
            Err(error) => {
                tracing::warn!(error = %error, "Vault refused to renew uHub's token; logging in again");
                None
            }
        }
    }

    /// A new session from the AppRole credentials (a fixed token cannot be replaced: its
    /// refusal is reported as is).
    async fn logged_in(&self) -> ServiceResult<Session> {
        let VaultAuth::AppRole {
            mount,
            role_id,
            secret_id,
        } = &*self.auth
        else {
            return Err(store_error(
                "uHub's Vault token can no longer be used".to_owned(),
            ));
        };
        let anonymous = client_with_token(&self.address, "").map_err(ServiceError::SecretStore)?;
        let auth = vaultrs::auth::approle::login(
            &anonymous,
            mount.trim_matches('/'),
            role_id.trim(),
            secret_id.trim(),
        )
        .await
        .map_err(|error| {
            store_error(format!("the AppRole login at auth/{mount} failed: {error}"))
        })?;
        let mut client = anonymous;
        client.set_token(&auth.client_token);
        let lease = Duration::from_secs(auth.lease_duration);
        tracing::info!(
            lease_secs = auth.lease_duration,
            policies = ?auth.token_policies,
            "logged in to Vault with AppRole"
        );
        Ok(Session {
            client: Arc::new(client),
            lease: Lease::starting_now(lease, lease),
        })
    }

    /// Runs one Vault request; with AppRole, a refusal of the token (revoked, expired early)
    /// makes uHub log in again and retry once.
    async fn call<T, F, Fut>(&self, request: F) -> ServiceResult<Result<T, ClientError>>
    where
        F: Fn(Arc<VaultClient>) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let client = self.client().await?;
        let answer = request(client).await;
        let refused = matches!(&answer, Err(ClientError::APIError { code: 403, .. }));
        if !refused || !matches!(*self.auth, VaultAuth::AppRole { .. }) {
            return Ok(answer);
        }
        let fresh = self.logged_in().await?;
        let client = fresh.client.clone();
        *self.session.write().await = Some(fresh);
        Ok(request(client).await)
    }

    async fn kv_read(&self, path: &str) -> ServiceResult<Result<SecretData, ClientError>> {
        let mount = self.mount.as_str();
        self.call(|client| async move { vaultrs::kv2::read(&*client, mount, path).await })
            .await
    }

    async fn kv_metadata(
        &self,
        path: &str,
    ) -> ServiceResult<Result<vaultrs::api::kv2::responses::ReadSecretMetadataResponse, ClientError>>
    {
        let mount = self.mount.as_str();
        self.call(|client| async move { vaultrs::kv2::read_metadata(&*client, mount, path).await })
            .await
    }

    /// Removes every version and the metadata of one secret.
    async fn kv_destroy(&self, path: &str) -> ServiceResult<Result<(), ClientError>> {
        let mount = self.mount.as_str();
        self.call(
            |client| async move { vaultrs::kv2::delete_metadata(&*client, mount, path).await },
        )
        .await
    }

    async fn kv_write(&self, path: &str, value: &str) -> ServiceResult<()> {
        let mount = self.mount.as_str();
        let data = &SecretData {
            value: value.to_owned(),
        };
        self.call(|client| async move { vaultrs::kv2::set(&*client, mount, path, data).await })
            .await?
            .map_err(unavailable)
            .map(|_| ())
    }

    async fn kv_custom_metadata(
        &self,
        path: &str,
        custom: &HashMap<String, String>,
    ) -> ServiceResult<()> {
        let mount = self.mount.as_str();
        self.call(|client| async move {
            let mut metadata = vaultrs::api::kv2::requests::SetSecretMetadataRequest::builder();
            metadata.custom_metadata(custom.clone());
            vaultrs::kv2::set_metadata(&*client, mount, path, Some(&mut metadata)).await
        })
        .await?
        .map_err(unavailable)
    }

    async fn kv_list(&self, folder: &str) -> ServiceResult<Result<Vec<String>, ClientError>> {
        let mount = self.mount.as_str();
        self.call(|client| async move { vaultrs::kv2::list(&*client, mount, folder).await })
            .await
    }

    fn project_path(&self, project_id: i64) -> String {
        format!("{}/projects/{project_id}", self.prefix)
    }

    /// The folder of a scope's secrets.
    fn scope_path(&self, project_id: i64, scope: &SecretScope) -> String {
        match scope.environment_id() {
            None => self.project_path(project_id),
            Some(environment) => format!(
                "{}/environments/{environment}",
                self.project_path(project_id)
            ),
        }
    }

    /// A person's own secret: `<prefix>/users/<id>/<name>`.
    fn personal_path(&self, user_id: i64, name: &str) -> String {
        format!("{}/users/{user_id}/{name}", self.prefix)
    }

    pub async fn put_personal(&self, user_id: i64, name: &str, value: &str) -> ServiceResult<()> {
        self.kv_write(&self.personal_path(user_id, name), value)
            .await
    }

    pub async fn personal(
        &self,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        let path = self.personal_path(user_id, name);
        match self.kv_read(&path).await? {
            Ok(data) => Ok(Some(Zeroizing::new(data.value))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    pub async fn personal_updated_at(
        &self,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Option<chrono::DateTime<chrono::Utc>>> {
        let path = self.personal_path(user_id, name);
        match self.kv_metadata(&path).await? {
            Ok(metadata) => Ok(Some(vault_time(&metadata.updated_time))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    pub async fn delete_personal(&self, user_id: i64, name: &str) -> ServiceResult<()> {
        let path = self.personal_path(user_id, name);
        match self.kv_destroy(&path).await? {
            Ok(()) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    fn secret_path(&self, project_id: i64, scope: &SecretScope, name: &str) -> String {
        format!("{}/{name}", self.scope_path(project_id, scope))
    }

    /// Writes the value (a new version in Vault) and who wrote it.
    pub async fn put(
        &self,
        project_id: i64,
        scope: &SecretScope,
        name: &str,
        value: &str,
        updated_by: Option<i64>,
    ) -> ServiceResult<SecretInfo> {
        let path = self.secret_path(project_id, scope, name);
        self.kv_write(&path, value).await?;
        let mut custom = HashMap::new();
        if let Some(user) = updated_by {
            custom.insert(UPDATED_BY.to_owned(), user.to_string());
        }
        self.kv_custom_metadata(&path, &custom).await?;
        self.info(project_id, scope, name)
            .await?
            .ok_or(ServiceError::NotFound { what: "secret" })
    }

    /// The names under a folder that can be secrets (sub-folders and other names are ignored:
    /// they cannot become environment variables).
    async fn names(&self, folder: &str) -> ServiceResult<Vec<String>> {
        match self.kv_list(folder).await? {
            Ok(keys) => {
                let mut names: Vec<String> = keys
                    .into_iter()
                    .filter(|key| domain::link::is_secret_name(key))
                    .collect();
                names.sort();
                Ok(names)
            }
            Err(error) if is_not_found(&error) => Ok(Vec::new()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn info(
        &self,
        project_id: i64,
        scope: &SecretScope,
        name: &str,
    ) -> ServiceResult<Option<SecretInfo>> {
        let path = self.secret_path(project_id, scope, name);
        match self.kv_metadata(&path).await? {
            Ok(metadata) => Ok(Some(SecretInfo {
                name: name.to_owned(),
                environment: scope.environment_name().map(str::to_owned),
                updated_by: metadata
                    .custom_metadata
                    .as_ref()
                    .and_then(|custom| custom.get(UPDATED_BY))
                    .and_then(|user| user.parse().ok()),
                created_at: vault_time(&metadata.created_time),
                updated_at: vault_time(&metadata.updated_time),
            })),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// The project's secrets by scope (project-wide first, then each of `environments`) and
    /// name, with Vault's dates.
    pub async fn list(
        &self,
        project_id: i64,
        environments: &[SecretScope],
    ) -> ServiceResult<Vec<SecretInfo>> {
        let mut secrets = Vec::new();
        for scope in std::iter::once(&SecretScope::Project).chain(environments) {
            for name in self.names(&self.scope_path(project_id, scope)).await? {
                // A secret deleted between the list and the read is simply not shown.
                if let Some(info) = self.info(project_id, scope, &name).await? {
                    secrets.push(info);
                }
            }
        }
        Ok(secrets)
    }

    /// Removes every version of the secret; NotFound if there is none.
    pub async fn delete(
        &self,
        project_id: i64,
        scope: &SecretScope,
        name: &str,
    ) -> ServiceResult<()> {
        if self.info(project_id, scope, name).await?.is_none() {
            return Err(ServiceError::NotFound { what: "secret" });
        }
        self.kv_destroy(&self.secret_path(project_id, scope, name))
            .await?
            .map_err(unavailable)
    }

    /// One project-wide secret's value, if set: one read, not a listing.
    pub async fn project_value(
        &self,
        project_id: i64,
        name: &str,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        let path = self.secret_path(project_id, &SecretScope::Project, name);
        match self.kv_read(&path).await? {
            Ok(data) => Ok(Some(Zeroizing::new(data.value))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(ClientError::JsonParseError { .. }) => Err(store_error(format!(
                "the Vault secret `{path}` has no string `value` field"
            ))),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// The values a run in `environment` receives: the project-wide secrets and that
    /// environment's (which replace a project-wide one of the same name).
    pub async fn values(
        &self,
        project_id: i64,
        environment: &SecretScope,
    ) -> ServiceResult<Vec<(String, Zeroizing<String>)>> {
        let mut values: Vec<(String, Zeroizing<String>)> = Vec::new();
        let scopes = [
            Some(&SecretScope::Project),
            environment.environment_id().map(|_| environment),
        ];
        for scope in scopes.into_iter().flatten() {
            for name in self.names(&self.scope_path(project_id, scope)).await? {
                let path = self.secret_path(project_id, scope, &name);
                match self.kv_read(&path).await? {
                    Ok(data) => {
                        values.retain(|(existing, _)| *existing != name);
                        values.push((name, Zeroizing::new(data.value)));
                    }
                    // Deleted since the list, or its latest version deleted: not injected.
                    Err(error) if is_not_found(&error) => {}
                    Err(ClientError::JsonParseError { .. }) => {
                        return Err(store_error(format!(
                            "the Vault secret `{path}` has no string `value` field"
                        )))
                    }
                    Err(error) => return Err(unavailable(error)),
                }
            }
        }
        Ok(values)
    }

    /// A cluster's kubeconfig: `<prefix>/projects/<project>/clusters/<cluster id>`.
    fn kubeconfig_path(&self, project_id: i64, cluster_id: i64) -> String {
        format!("{}/clusters/{cluster_id}", self.project_path(project_id))
    }

    pub async fn put_kubeconfig(
        &self,
        project_id: i64,
        cluster_id: i64,
        kubeconfig: &str,
    ) -> ServiceResult<()> {
        self.kv_write(&self.kubeconfig_path(project_id, cluster_id), kubeconfig)
            .await
    }

    pub async fn kubeconfig(
        &self,
        project_id: i64,
        cluster_id: i64,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        match self
            .kv_read(&self.kubeconfig_path(project_id, cluster_id))
            .await?
        {
            Ok(data) => Ok(Some(Zeroizing::new(data.value))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Removes every version of a cluster's kubeconfig (nothing to remove is not an error).
    pub async fn delete_kubeconfig(&self, project_id: i64, cluster_id: i64) -> ServiceResult<()> {
        match self
            .kv_destroy(&self.kubeconfig_path(project_id, cluster_id))
            .await?
        {
            Ok(()) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Removes all of a deleted project's secrets, project-wide and per environment, and its
    /// clusters' kubeconfigs.
    pub async fn forget_project(&self, project_id: i64) -> ServiceResult<()> {
        let mut paths: Vec<String> = Vec::new();
        let project = self.project_path(project_id);
        let clusters = format!("{project}/clusters");
        match self.kv_list(&clusters).await? {
            Ok(keys) => paths.extend(
                keys.iter()
                    .filter(|key| !key.ends_with('/'))
                    .map(|key| format!("{clusters}/{key}")),
            ),
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(unavailable(error)),
        }
        for name in self.names(&project).await? {
            paths.push(format!("{project}/{name}"));
        }
        let environments = format!("{project}/environments");
        let folders = match self.kv_list(&environments).await? {
            Ok(keys) => keys,
            Err(error) if is_not_found(&error) => Vec::new(),
            Err(error) => return Err(unavailable(error)),
        };
        for folder in folders {
            let folder = format!("{environments}/{}", folder.trim_end_matches('/'));
            for name in self.names(&folder).await? {
                paths.push(format!("{folder}/{name}"));
            }
        }
        for path in paths {
            self.kv_destroy(&path).await?.map_err(unavailable)?;
        }
        Ok(())
    }
}

fn client_with_token(address: &str, token: &str) -> Result<VaultClient, String> {
    let settings = VaultClientSettingsBuilder::default()
        .address(address)
        .token(token)
        .timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|error| error.to_string())?;
    VaultClient::new(settings).map_err(|error| error.to_string())
}

fn is_not_found(error: &ClientError) -> bool {
    matches!(error, ClientError::APIError { code: 404, .. })
}

fn unavailable(error: ClientError) -> ServiceError {
    store_error(error.to_string())
}

/// A Vault failure as the use cases see it, counted in `uhub_secret_store_errors_total`.
fn store_error(message: String) -> ServiceError {
    crate::telemetry::secret_store_error("vault");
    ServiceError::SecretStore(message)
}

/// Vault writes RFC 3339 times with nanoseconds; uHub keeps microseconds.
fn vault_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| crate::storage::stored_precision(time.with_timezone(&Utc)))
        .unwrap_or(DateTime::UNIX_EPOCH)
}
