//! Project secrets kept in HashiCorp Vault (KV v2) instead of uHub's database, when
//! `UHUB_VAULT_ADDR` is set. Each secret is one Vault secret holding `{"value": "..."}`, at
//! `<mount>/data/<prefix>/projects/<project id>/<NAME>` when project-wide and
//! `<mount>/data/<prefix>/projects/<project id>/environments/<environment id>/<NAME>` when it
//! reaches one environment's runs only, so operators can also write a project's secrets with the
//! Vault CLI and uHub picks them up.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::SecretInfo;
use serde::{Deserialize, Serialize};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use zeroize::Zeroizing;

use crate::storage::SecretScope;
use crate::{ServiceError, ServiceResult};

/// How uHub reaches Vault.
#[derive(Clone)]
pub struct VaultSettings {
    /// `http(s)://host:8200`.
    pub address: String,
    pub token: Zeroizing<String>,
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

/// A connection to Vault's KV v2 engine. Cheap to clone.
#[derive(Clone)]
pub struct VaultStore {
    client: std::sync::Arc<VaultClient>,
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
        if settings.token.trim().is_empty() {
            return Err(
                "a token is required (UHUB_VAULT_TOKEN or UHUB_VAULT_TOKEN_FILE)".to_owned(),
            );
        }
        let mount = settings.mount.trim_matches('/').to_owned();
        let prefix = settings.prefix.trim_matches('/').to_owned();
        if mount.is_empty() || prefix.is_empty() {
            return Err("the mount and the prefix must not be empty".to_owned());
        }
        let client_settings = VaultClientSettingsBuilder::default()
            .address(address.as_str())
            .token(settings.token.trim())
            .timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|error| error.to_string())?;
        let client = VaultClient::new(client_settings).map_err(|error| error.to_string())?;
        Ok(VaultStore {
            client: std::sync::Arc::new(client),
            mount,
            prefix,
        })
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
        let data = SecretData {
            value: value.to_owned(),
        };
        vaultrs::kv2::set(
            &*self.client,
            &self.mount,
            &self.personal_path(user_id, name),
            &data,
        )
        .await
        .map_err(unavailable)
        .map(|_| ())
    }

    pub async fn personal(
        &self,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        let path = self.personal_path(user_id, name);
        match vaultrs::kv2::read::<SecretData>(&*self.client, &self.mount, &path).await {
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
        match vaultrs::kv2::read_metadata(&*self.client, &self.mount, &path).await {
            Ok(metadata) => Ok(Some(vault_time(&metadata.updated_time))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    pub async fn delete_personal(&self, user_id: i64, name: &str) -> ServiceResult<()> {
        let path = self.personal_path(user_id, name);
        match vaultrs::kv2::delete_metadata(&*self.client, &self.mount, &path).await {
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
        let data = SecretData {
            value: value.to_owned(),
        };
        vaultrs::kv2::set(&*self.client, &self.mount, &path, &data)
            .await
            .map_err(unavailable)?;
        let mut custom = HashMap::new();
        if let Some(user) = updated_by {
            custom.insert(UPDATED_BY.to_owned(), user.to_string());
        }
        let mut metadata = vaultrs::api::kv2::requests::SetSecretMetadataRequest::builder();
        metadata.custom_metadata(custom);
        vaultrs::kv2::set_metadata(&*self.client, &self.mount, &path, Some(&mut metadata))
            .await
            .map_err(unavailable)?;
        self.info(project_id, scope, name)
            .await?
            .ok_or(ServiceError::NotFound { what: "secret" })
    }

    /// The names under a folder that can be secrets (sub-folders and other names are ignored:
    /// they cannot become environment variables).
    async fn names(&self, folder: &str) -> ServiceResult<Vec<String>> {
        match vaultrs::kv2::list(&*self.client, &self.mount, folder).await {
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
        match vaultrs::kv2::read_metadata(&*self.client, &self.mount, &path).await {
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
        vaultrs::kv2::delete_metadata(
            &*self.client,
            &self.mount,
            &self.secret_path(project_id, scope, name),
        )
        .await
        .map_err(unavailable)
    }

    /// One project-wide secret's value, if set: one read, not a listing.
    pub async fn project_value(
        &self,
        project_id: i64,
        name: &str,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        let path = self.secret_path(project_id, &SecretScope::Project, name);
        match vaultrs::kv2::read::<SecretData>(&*self.client, &self.mount, &path).await {
            Ok(data) => Ok(Some(Zeroizing::new(data.value))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(ClientError::JsonParseError { .. }) => Err(ServiceError::SecretStore(format!(
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
                match vaultrs::kv2::read::<SecretData>(&*self.client, &self.mount, &path).await {
                    Ok(data) => {
                        values.retain(|(existing, _)| *existing != name);
                        values.push((name, Zeroizing::new(data.value)));
                    }
                    // Deleted since the list, or its latest version deleted: not injected.
                    Err(error) if is_not_found(&error) => {}
                    Err(ClientError::JsonParseError { .. }) => {
                        return Err(ServiceError::SecretStore(format!(
                            "the Vault secret `{path}` has no string `value` field"
                        )))
                    }
                    Err(error) => return Err(unavailable(error)),
                }
            }
        }
        Ok(values)
    }

    /// Removes all of a deleted project's secrets, project-wide and per environment.
    pub async fn forget_project(&self, project_id: i64) -> ServiceResult<()> {
        let mut paths: Vec<String> = Vec::new();
        let project = self.project_path(project_id);
        for name in self.names(&project).await? {
            paths.push(format!("{project}/{name}"));
        }
        let environments = format!("{project}/environments");
        let folders = match vaultrs::kv2::list(&*self.client, &self.mount, &environments).await {
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
            vaultrs::kv2::delete_metadata(&*self.client, &self.mount, &path)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

fn is_not_found(error: &ClientError) -> bool {
    matches!(error, ClientError::APIError { code: 404, .. })
}

fn unavailable(error: ClientError) -> ServiceError {
    ServiceError::SecretStore(error.to_string())
}

/// Vault writes RFC 3339 times with nanoseconds; uHub keeps microseconds.
fn vault_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| crate::storage::stored_precision(time.with_timezone(&Utc)))
        .unwrap_or(DateTime::UNIX_EPOCH)
}
