//! Where project secrets live. At rest in uHub's database: AES-256-GCM under one master key. A secret's ciphertext is bound to
//! its project and name (associated data), so a row copied to another slot does not decrypt.
//! [`SecretStore`] chooses between that and Vault (KV v2, see [`crate::vault`]).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

use super::checked_scope;
pub use crate::storage::Sealed;
use crate::storage::{Actor, Db, SecretScope, Storage, Tx};
use crate::vault::VaultStore;
use crate::{Caller, ServiceError, ServiceResult};

/// Length of the master key in bytes (AES-256).
pub const MASTER_KEY_BYTES: usize = 32;
/// A secret value larger than this is refused: secrets are tokens and keys, not files.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Encrypts and decrypts project secrets. Cheap to clone; the key never leaves it.
#[derive(Clone)]
pub struct SecretBox {
    /// Shared: the expanded key schedule is about 1 KB.
    cipher: std::sync::Arc<Aes256Gcm>,
    /// Names the key without revealing it (see [`SecretBox::fingerprint`]).
    fingerprint: std::sync::Arc<str>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// Where the values of project secrets live.
#[derive(Clone, Debug)]
pub enum SecretStore {
    /// Sealed with the master key in uHub's own database (the default).
    Database(SecretBox),
    /// In HashiCorp Vault (`UHUB_VAULT_ADDR`); uHub's database holds none of them.
    Vault(VaultStore),
}

impl From<SecretBox> for SecretStore {
    fn from(secrets: SecretBox) -> Self {
        SecretStore::Database(secrets)
    }
}

impl SecretStore {
    /// Creates or replaces a secret of the scope `environment` names (absent: project-wide),
    /// once the caller may (`checked_scope`); audited by name and scope.
    ///
    /// In the database, checked and written in one transaction. In Vault, checked on a read,
    /// sent, then audited in a write transaction of its own: no write transaction waits on
    /// Vault's answer. With SQLite uHub's changes take turns, and one held across Vault's HTTP
    /// call (up to 10 s) held every other change in uHub
    /// (`vault_openbao::a_vault_that_stops_answering_holds_no_other_change`).
    pub async fn put(
        &self,
        storage: &Storage,
        caller: &Caller,
        project_id: i64,
        environment: Option<&str>,
        name: &str,
        value: &str,
    ) -> ServiceResult<domain::SecretInfo> {
        let actor = caller.actor();
        let written = Some((name, value));
        match self {
            SecretStore::Database(secrets) => {
                let mut tx = storage.write().await?;
                let scope =
                    checked_scope(&mut tx, caller, project_id, environment, written).await?;
                let sealed = secrets.seal(project_id, scope.environment_id(), name, value)?;
                let info = tx
                    .put_secret(project_id, &scope, name, &sealed, &actor)
                    .await?;
                tx.commit().await?;
                Ok(info)
            }
            SecretStore::Vault(vault) => {
                let scope = checked_scope(
                    &mut storage.read().await?,
                    caller,
                    project_id,
                    environment,
                    written,
                )
                .await?;
                let info = vault
                    .put(project_id, &scope, name, value, actor.user_id)
                    .await?;
                audit_vault_change(storage, project_id, &scope, name, "secret.put", &actor).await?;
                Ok(info)
            }
        }
    }

    /// A project's secrets: names, scopes and dates only.
    pub async fn list(
        &self,
        db: &mut Db,
        project_id: i64,
    ) -> ServiceResult<Vec<domain::SecretInfo>> {
        match self {
            SecretStore::Database(_) => db.list_secrets(project_id).await,
            SecretStore::Vault(vault) => {
                let environments = scopes_of(db, project_id).await?;
                vault.list(project_id, &environments).await
            }
        }
    }

    /// Deletes a secret of the scope `environment` names, once the caller may; as
    /// [`SecretStore::put`], Vault is asked outside any write transaction.
    pub async fn delete(
        &self,
        storage: &Storage,
        caller: &Caller,
        project_id: i64,
        environment: Option<&str>,
        name: &str,
    ) -> ServiceResult<()> {
        let actor = caller.actor();
        match self {
            SecretStore::Database(_) => {
                let mut tx = storage.write().await?;
                let scope = checked_scope(&mut tx, caller, project_id, environment, None).await?;
                tx.delete_secret(project_id, &scope, name, &actor).await?;
                tx.commit().await
            }
            SecretStore::Vault(vault) => {
                let scope = checked_scope(
                    &mut storage.read().await?,
                    caller,
                    project_id,
                    environment,
                    None,
                )
                .await?;
                vault.delete(project_id, &scope, name).await?;
                audit_vault_change(storage, project_id, &scope, name, "secret.delete", &actor).await
            }
        }
    }

    /// The secrets a run in `environment` receives, with their values: the project-wide ones and
    /// those of that environment (which replace a project-wide one of the same name). Values
    /// never leave the process otherwise.
    pub async fn values(
        &self,
        db: &mut Db,
        project_id: i64,
        environment: &SecretScope,
    ) -> ServiceResult<Vec<(String, Zeroizing<String>)>> {
        match self {
            SecretStore::Database(secrets) => db
                .sealed_secrets(project_id, environment.environment_id())
                .await?
                .into_iter()
                .map(|(name, environment_id, sealed)| {
                    let value = secrets.open(project_id, environment_id, &name, &sealed)?;
                    Ok((name, value))
                })
                .collect(),
            SecretStore::Vault(vault) => vault.values(project_id, environment).await,
        }
    }

    /// One project-wide secret's value, if set (a repository link's token, its webhook secret):
    /// only that one is decrypted or read from Vault. Takes the storage rather than a connection:
    /// none is held while Vault answers (an unsigned Git delivery reads one).
    pub async fn project_value(
        &self,
        storage: &Storage,
        project_id: i64,
        name: &str,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        match self {
            SecretStore::Database(secrets) => storage
                .read()
                .await?
                .sealed_secrets(project_id, None)
                .await?
                .into_iter()
                .find(|(secret, environment_id, _)| secret == name && environment_id.is_none())
                .map(|(name, environment_id, sealed)| {
                    secrets.open(project_id, environment_id, &name, &sealed)
                })
                .transpose(),
            SecretStore::Vault(vault) => vault.project_value(project_id, name).await,
        }
    }

    /// Sets a person's own secret (a personal Git token, `name` = its provider); the write
    /// transaction is given back for the caller's audit entry, to commit. In the database the
    /// secret is written in it; in Vault it is sent before it opens (see [`SecretStore::put`]).
    pub async fn put_personal(
        &self,
        storage: &Storage,
        user_id: i64,
        name: &str,
        value: &str,
    ) -> ServiceResult<Tx> {
        match self {
            SecretStore::Database(secrets) => {
                let sealed = secrets.seal_with(&personal_data(user_id, name), value)?;
                let mut tx = storage.write().await?;
                tx.put_user_secret(user_id, name, &sealed).await?;
                Ok(tx)
            }
            SecretStore::Vault(vault) => {
                vault.put_personal(user_id, name, value).await?;
                storage
                    .write()
                    .await
                    .inspect_err(|error| unaudited(user_id, name, error))
            }
        }
    }

    /// A person's own secret, if set.
    pub async fn personal(
        &self,
        db: &mut Db,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        match self {
            SecretStore::Database(secrets) => match db.user_secret(user_id, name).await? {
                Some((sealed, _)) => secrets
                    .open_with(&personal_data(user_id, name), name, &sealed)
                    .map(Some),
                None => Ok(None),
            },
            SecretStore::Vault(vault) => vault.personal(user_id, name).await,
        }
    }

    /// When a person's own secret was set, if it is.
    pub async fn personal_updated_at(
        &self,
        db: &mut Db,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Option<chrono::DateTime<chrono::Utc>>> {
        match self {
            SecretStore::Database(_) => Ok(db.user_secret(user_id, name).await?.map(|(_, at)| at)),
            SecretStore::Vault(vault) => vault.personal_updated_at(user_id, name).await,
        }
    }

    /// Removes a person's own secret; the write transaction is given back as by
    /// [`SecretStore::put_personal`].
    pub async fn delete_personal(
        &self,
        storage: &Storage,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Tx> {
        match self {
            SecretStore::Database(_) => {
                let mut tx = storage.write().await?;
                tx.delete_user_secret(user_id, name).await?;
                Ok(tx)
            }
            SecretStore::Vault(vault) => {
                vault.delete_personal(user_id, name).await?;
                storage
                    .write()
                    .await
                    .inspect_err(|error| unaudited(user_id, name, error))
            }
        }
    }

    /// Replaces a cluster's kubeconfig; the write transaction is given back for the cluster's
    /// row, to commit. In the database it is sealed into the row in it; in Vault it is sent
    /// before it opens (see [`SecretStore::put`]), the row holding nothing.
    pub async fn replace_kubeconfig(
        &self,
        storage: &Storage,
        project_id: i64,
        cluster_id: i64,
        kubeconfig: &str,
    ) -> ServiceResult<Tx> {
        if let SecretStore::Vault(vault) = self {
            vault
                .put_kubeconfig(project_id, cluster_id, kubeconfig)
                .await?;
        }
        let mut tx = storage.write().await?;
        let sealed = match self {
            SecretStore::Database(secrets) => {
                Some(secrets.seal_kubeconfig(project_id, cluster_id, kubeconfig)?)
            }
            SecretStore::Vault(_) => None,
        };
        tx.seal_kubeconfig(cluster_id, sealed.as_ref()).await?;
        Ok(tx)
    }

    /// A cluster's kubeconfig (the minimal one uHub made); NotFound when the store has none.
    pub async fn kubeconfig(
        &self,
        db: &mut Db,
        project_id: i64,
        cluster_id: i64,
    ) -> ServiceResult<Zeroizing<String>> {
        let found = match self {
            SecretStore::Database(secrets) => match db.sealed_kubeconfig(cluster_id).await? {
                Some(sealed) => Some(secrets.open_with(
                    &kubeconfig_data(project_id, cluster_id),
                    "kubeconfig",
                    &sealed,
                )?),
                None => None,
            },
            SecretStore::Vault(vault) => vault.kubeconfig(project_id, cluster_id).await?,
        };
        found.ok_or_else(|| {
            ServiceError::SecretStore(format!(
                "the kubeconfig of cluster #{cluster_id} is not in the secret store"
            ))
        })
    }

    /// Removes a cluster's kubeconfig from Vault (the database row goes with the cluster).
    pub async fn delete_kubeconfig(&self, project_id: i64, cluster_id: i64) -> ServiceResult<()> {
        match self {
            SecretStore::Database(_) => Ok(()),
            SecretStore::Vault(vault) => vault.delete_kubeconfig(project_id, cluster_id).await,
        }
    }

    /// After a project is deleted: its secrets go too (the database ones by cascade).
    pub async fn forget_project(&self, project_id: i64) -> ServiceResult<()> {
        match self {
            SecretStore::Database(_) => Ok(()),
            SecretStore::Vault(vault) => vault.forget_project(project_id).await,
        }
    }
}

/// Writes the audit entry of a change already made in Vault, in a write transaction of its own.
/// Should that fail (the database gone, or busy past its timeout), the change stands in Vault
/// unaudited; the server's log then says which (by name, never the value) and the caller gets
/// the error.
async fn audit_vault_change(
    storage: &Storage,
    project_id: i64,
    scope: &SecretScope,
    name: &str,
    action: &'static str,
    actor: &Actor,
) -> ServiceResult<()> {
    let audited = async {
        let mut tx = storage.write().await?;
        tx.audit_secret_change(project_id, scope, name, action, actor)
            .await?;
        tx.commit().await
    }
    .await;
    if let Err(error) = &audited {
        tracing::error!(
            project_id,
            secret = name,
            environment = scope.environment_name(),
            action,
            %error,
            "a secret was changed in Vault but its audit entry could not be written"
        );
    }
    audited
}

/// The log line of a person's secret changed in Vault whose audit entry cannot be written (see
/// [`audit_vault_change`]).
fn unaudited(user_id: i64, name: &str, error: &ServiceError) {
    tracing::error!(
        user_id,
        secret = name,
        %error,
        "a personal secret was changed in Vault but its audit entry could not be written"
    );
}

/// Every environment of a project as a secret scope.
async fn scopes_of(db: &mut Db, project_id: i64) -> ServiceResult<Vec<SecretScope>> {
    Ok(db
        .list_environments(project_id)
        .await?
        .into_iter()
        .map(|e| SecretScope::Environment {
            id: e.id,
            name: e.name,
        })
        .collect())
}

/// The associated data of a person's own secret: bound to them and its name, and never equal
/// to a project secret's.
fn personal_data(user_id: i64, name: &str) -> Vec<u8> {
    format!("uhub-user-secret:{user_id}:{name}").into_bytes()
}

/// The associated data of a cluster's kubeconfig: bound to its project and cluster.
fn kubeconfig_data(project_id: i64, cluster_id: i64) -> Vec<u8> {
    format!("uhub-kubeconfig:{project_id}:{cluster_id}").into_bytes()
}

/// What a ciphertext is bound to: its project, its scope and its name, so that a row copied to
/// another slot (another project, environment or name) does not decrypt.
fn associated_data(project_id: i64, environment_id: Option<i64>, name: &str) -> Vec<u8> {
    match environment_id {
        None => format!("uhub-secret:{project_id}:{name}"),
        Some(environment) => format!("uhub-secret:{project_id}:env-{environment}:{name}"),
    }
    .into_bytes()
}

fn key_fingerprint(key: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"uhub master key fingerprint v1\0")
        .chain_update(key)
        .finalize();
    crate::digest::hex(&digest[..16])
}

impl SecretBox {
    /// From the master key's text: 64 hex digits or base64 (standard or URL-safe) of 32 bytes.
    pub fn from_key_text(text: &str) -> Result<SecretBox, &'static str> {
        let text = text.trim();
        let bytes = Zeroizing::new(decode_key(text).ok_or(
            "must be 32 bytes written as 64 hex digits or in base64 (openssl rand -base64 32)",
        )?);
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| "must be 32 bytes")?;
        Ok(SecretBox {
            cipher: std::sync::Arc::new(cipher),
            fingerprint: key_fingerprint(&bytes).into(),
        })
    }

    /// SHA-256 of a fixed label and the key, 32 hex digits: tells two keys apart (a backup's
    /// key from the configured one) and says nothing about the key itself.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// A fresh random key, as text to keep in a file (base64).
    pub fn generate_key_text() -> Zeroizing<String> {
        let mut key = Zeroizing::new([0u8; MASTER_KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Zeroizing::new(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            key.as_ref(),
        ))
    }

    pub fn seal(
        &self,
        project_id: i64,
        environment_id: Option<i64>,
        name: &str,
        value: &str,
    ) -> ServiceResult<Sealed> {
        self.seal_with(&associated_data(project_id, environment_id, name), value)
    }

    /// A cluster's kubeconfig sealed for its row, bound to the project and the cluster.
    pub fn seal_kubeconfig(
        &self,
        project_id: i64,
        cluster_id: i64,
        kubeconfig: &str,
    ) -> ServiceResult<Sealed> {
        self.seal_with(&kubeconfig_data(project_id, cluster_id), kubeconfig)
    }

    /// Seals `value` bound to `aad` (a row copied elsewhere does not open).
    pub fn seal_with(&self, aad: &[u8], value: &str) -> ServiceResult<Sealed> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| ServiceError::Internal("cannot encrypt a secret".to_owned()))?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// The value, or an error if the key is not the one it was sealed with (or the row moved).
    pub fn open(
        &self,
        project_id: i64,
        environment_id: Option<i64>,
        name: &str,
        sealed: &Sealed,
    ) -> ServiceResult<Zeroizing<String>> {
        self.open_with(
            &associated_data(project_id, environment_id, name),
            name,
            sealed,
        )
    }

    /// Opens a value sealed with [`SecretBox::seal_with`] under the same `aad`.
    pub fn open_with(
        &self,
        aad: &[u8],
        name: &str,
        sealed: &Sealed,
    ) -> ServiceResult<Zeroizing<String>> {
        if sealed.nonce.len() != 12 {
            return Err(ServiceError::Internal(format!(
                "secret `{name}` has a malformed nonce"
            )));
        }
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad,
                },
            )
            .map_err(|_| {
                ServiceError::Internal(format!(
                    "secret `{name}` cannot be decrypted: the master key is not the one it was stored with"
                ))
            })?;
        String::from_utf8(plain)
            .map(Zeroizing::new)
            .map_err(|_| ServiceError::Internal(format!("secret `{name}` is not text")))
    }
}

fn decode_key(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let from_hex = || {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
            (0..32)
                .filter_map(|i| u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok())
                .collect::<Vec<u8>>()
        })
    };
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    from_hex()
        .or_else(|| engines.iter().find_map(|e| e.decode(text).ok()))
        .filter(|bytes| bytes.len() == MASTER_KEY_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_opens_only_in_its_own_slot_and_with_its_key() {
        let key = SecretBox::generate_key_text();
        let secrets = SecretBox::from_key_text(&key).expect("key");
        let sealed = secrets
            .seal(7, None, "TOKEN", "hunter2-token")
            .expect("seal");
        assert!(
            !sealed.ciphertext.windows(7).any(|w| w == b"hunter2"),
            "stored encrypted"
        );
        assert_eq!(
            secrets
                .open(7, None, "TOKEN", &sealed)
                .expect("open")
                .as_str(),
            "hunter2-token"
        );
        assert!(
            secrets.open(8, None, "TOKEN", &sealed).is_err(),
            "another project"
        );
        assert!(
            secrets.open(7, Some(3), "TOKEN", &sealed).is_err(),
            "another scope"
        );
        assert!(
            secrets.open(7, None, "OTHER", &sealed).is_err(),
            "another name"
        );
        let other = SecretBox::from_key_text(&SecretBox::generate_key_text()).expect("key");
        assert!(
            other.open(7, None, "TOKEN", &sealed).is_err(),
            "another key"
        );
        let scoped = secrets
            .seal(7, Some(3), "TOKEN", "prod-token")
            .expect("seal");
        assert!(
            secrets.open(7, None, "TOKEN", &scoped).is_err(),
            "a production secret copied to the project-wide slot"
        );
    }

    #[test]
    fn master_keys_are_hex_or_base64_of_32_bytes() {
        assert!(SecretBox::from_key_text(&"ab".repeat(32)).is_ok());
        assert!(SecretBox::from_key_text("c2hvcnQ=").is_err());
        assert!(SecretBox::from_key_text("not a key at all").is_err());
    }
}
