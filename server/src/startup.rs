//! Start-up: prepares the data directory, resolves the JWT secret, opens and migrates the
//! database, loads the demo data. Each failure names the setting a person has to fix.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore;
use services::Storage;

use crate::config::{ConfigError, Secret};

/// The generated JWT secret's file name inside the data directory.
pub const JWT_SECRET_FILE: &str = "jwt-secret";
/// Shorter secrets make HS256 tokens guessable.
const MIN_JWT_SECRET_BYTES: usize = 32;

/// Creates the data directory if needed, checks it is writable, and returns its absolute path.
pub fn prepare_data_dir(dir: &Path) -> Result<PathBuf, ConfigError> {
    let fail = |what: &str, error: std::io::Error| {
        ConfigError::new(
            "UHUB_DATA_DIR",
            format!("{what} `{}`: {error}", dir.display()),
        )
    };
    // Private to uHub's account: it holds the database, the token secret and the master key.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| fail("cannot create", e))?;
    let dir = dir.canonicalize().map_err(|e| fail("cannot resolve", e))?;
    if let Ok(metadata) = std::fs::metadata(&dir) {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                data_dir = %dir.display(),
                mode = format!("{mode:o}"),
                "the data directory is readable by other accounts: `chmod 700` it (uHub keeps its keys and database there)"
            );
        }
    }
    // Creating a file is the only reliable test: permissions, read-only mounts, quotas.
    let probe = dir.join(".uhub-write-test");
    std::fs::write(&probe, b"ok").map_err(|e| fail("cannot write into", e))?;
    std::fs::remove_file(&probe).map_err(|e| fail("cannot clean up in", e))?;
    Ok(dir)
}

/// The configured secret, else the one generated earlier into the data directory, else a new
/// one written there with mode 0600.
pub fn resolve_jwt_secret(
    configured: Option<Secret>,
    data_dir: &Path,
) -> Result<Secret, ConfigError> {
    if let Some(secret) = configured {
        if secret.expose().len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::new(
                "UHUB_JWT_SECRET",
                format!("must be at least {MIN_JWT_SECRET_BYTES} characters long"),
            ));
        }
        return Ok(secret);
    }
    let path = data_dir.join(JWT_SECRET_FILE);
    let fail = |what: &str, error: std::io::Error| {
        ConfigError::new(
            "UHUB_DATA_DIR",
            format!("{what} the JWT secret `{}`: {error}", path.display()),
        )
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= MIN_JWT_SECRET_BYTES => {
            return Ok(Secret::new(text.trim().to_owned()))
        }
        Ok(_) => {
            return Err(ConfigError::new(
                "UHUB_DATA_DIR",
                format!(
                    "the JWT secret `{}` is too short; delete it to have a new one generated",
                    path.display()
                ),
            ))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(fail("cannot read", error)),
    }
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    // create_new: two processes starting at once must not overwrite each other's secret.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| fail("cannot create", e))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| fail("cannot write", e))?;
    tracing::info!(path = %path.display(), "generated a new JWT secret");
    Ok(Secret::new(secret))
}

/// Creates the temporary directory (`TMPDIR`) when it is missing: runs keep their private work
/// directories there, and the container image points it into the data volume (`/data/tmp`)
/// because its root filesystem is read-only.
pub fn prepare_temp_dir() -> Result<(), ConfigError> {
    let dir = std::env::temp_dir();
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| {
            ConfigError::new(
                "TMPDIR",
                format!(
                    "cannot create the temporary directory `{}`: {e}",
                    dir.display()
                ),
            )
        })
}

/// Where `uhub restore` stages what it writes into a data directory; left there only by a
/// restore that was killed half-way.
pub const RESTORING_DIR: &str = ".restoring";

/// Refuses a data directory an interrupted restore left half-written.
pub fn refuse_interrupted_restore(data_dir: &Path) -> Result<(), ConfigError> {
    let staging = data_dir.join(RESTORING_DIR);
    if staging.exists() {
        return Err(ConfigError::new(
            "UHUB_DATA_DIR",
            format!(
                "{} was left by an interrupted `uhub restore`: empty the data directory and restore again",
                staging.display()
            ),
        ));
    }
    Ok(())
}

/// The file the master key of project secrets is generated into when none is configured.
pub const MASTER_KEY_FILE: &str = "master-key";

/// Where project secrets live: Vault when `UHUB_VAULT_ADDR` is set, else the database under the
/// master key.
pub fn secret_store(
    config: &crate::config::Config,
    data_dir: &Path,
) -> Result<services::secrets::SecretStore, ConfigError> {
    match &config.vault {
        Some(vault) => {
            let settings = services::vault::VaultSettings {
                address: vault.address.clone(),
                auth: match &vault.auth {
                    crate::config::VaultCredentials::Token(token) => {
                        services::vault::VaultAuth::Token(zeroize::Zeroizing::new(
                            token.expose().to_owned(),
                        ))
                    }
                    crate::config::VaultCredentials::AppRole {
                        mount,
                        role_id,
                        secret_id,
                    } => services::vault::VaultAuth::AppRole {
                        mount: mount.clone(),
                        role_id: zeroize::Zeroizing::new(role_id.expose().to_owned()),
                        secret_id: zeroize::Zeroizing::new(secret_id.expose().to_owned()),
                    },
                },
                mount: vault.mount.clone(),
                prefix: vault.prefix.clone(),
            };
            let store = services::vault::VaultStore::new(&settings)
                .map_err(|why| ConfigError::new("UHUB_VAULT_ADDR", why))?;
            tracing::info!(address = %vault.address, mount = %vault.mount, prefix = %vault.prefix,
                "project secrets are kept in Vault (KV v2)");
            Ok(services::secrets::SecretStore::Vault(store))
        }
        None => Ok(resolve_master_key(config.master_key.clone(), data_dir)?.into()),
    }
}

/// The key that seals project secrets: `UHUB_MASTER_KEY` / `_FILE`, else read from (or generated
/// once into) `<data dir>/master-key`, mode 0600. Losing it makes stored secrets unreadable.
pub fn resolve_master_key(
    configured: Option<Secret>,
    data_dir: &Path,
) -> Result<services::secrets::SecretBox, ConfigError> {
    use services::secrets::SecretBox;
    if let Some(key) = configured {
        return SecretBox::from_key_text(key.expose())
            .map_err(|why| ConfigError::new("UHUB_MASTER_KEY", why));
    }
    if let Some(key) = read_master_key_file(data_dir)? {
        return Ok(key);
    }
    let path = data_dir.join(MASTER_KEY_FILE);
    let fail = |what: &str, error: std::io::Error| {
        ConfigError::new(
            "UHUB_DATA_DIR",
            format!("{what} the master key `{}`: {error}", path.display()),
        )
    };
    let key = SecretBox::generate_key_text();
    // create_new: two processes starting at once must not overwrite each other's key.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| fail("cannot create", e))?;
    file.write_all(key.as_bytes())
        .map_err(|e| fail("cannot write", e))?;
    tracing::info!(path = %path.display(), "generated a new master key for project secrets; back it up with the database");
    SecretBox::from_key_text(&key).map_err(|why| ConfigError::new("UHUB_DATA_DIR", why))
}

/// The key generated into `<data dir>/master-key`, if there is one (never generates it: the
/// backup reads it this way too).
pub fn read_master_key_file(
    data_dir: &Path,
) -> Result<Option<services::secrets::SecretBox>, ConfigError> {
    let path = data_dir.join(MASTER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => services::secrets::SecretBox::from_key_text(&text)
            .map(Some)
            .map_err(|why| {
                ConfigError::new(
                    "UHUB_DATA_DIR",
                    format!("the master key `{}` {why}", path.display()),
                )
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ConfigError::new(
            "UHUB_DATA_DIR",
            format!("cannot read the master key `{}`: {error}", path.display()),
        )),
    }
}

/// The scripts directory: the configured one, else `<data dir>/scripts`, created if missing.
pub fn prepare_scripts_dir(
    configured: Option<&Path>,
    data_dir: &Path,
) -> Result<PathBuf, ConfigError> {
    let dir = configured.map_or_else(|| data_dir.join("scripts"), Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(|e| {
        ConfigError::new(
            "UHUB_SCRIPTS_DIR",
            format!("cannot create `{}`: {e}", dir.display()),
        )
    })?;
    Ok(dir)
}

/// The database URL: the configured one, else a SQLite file in the data directory.
pub fn database_url(configured: Option<&Secret>, data_dir: &Path) -> String {
    match configured {
        Some(url) => url.expose().to_owned(),
        None => format!("sqlite://{}", data_dir.join(SQLITE_FILE).display()),
    }
}

/// The default database's file name inside the data directory.
pub const SQLITE_FILE: &str = "uhub.db";

/// Makes the default SQLite database file private (0600) before it is opened: SQLite gives its
/// `-wal` and `-shm` files the database file's permissions.
pub fn secure_sqlite_file(data_dir: &Path) -> Result<(), ConfigError> {
    let path = data_dir.join(SQLITE_FILE);
    let fail = |error: std::io::Error| {
        ConfigError::new(
            "UHUB_DATA_DIR",
            format!("cannot make `{}` private: {error}", path.display()),
        )
    };
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map_err(fail)?;
    for suffix in ["", "-wal", "-shm"] {
        let file = data_dir.join(format!("{SQLITE_FILE}{suffix}"));
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(fail)?;
        }
    }
    Ok(())
}

/// Opens the database and applies the migrations.
pub async fn open_storage(url: &str) -> Result<Storage, ConfigError> {
    let storage = Storage::connect(url).await.map_err(|error| {
        // The error never includes the URL itself: it may hold a password.
        ConfigError::new(
            "UHUB_DATABASE_URL",
            format!("cannot open the database: {error}"),
        )
    })?;
    storage.migrate().await.map_err(|error| {
        ConfigError::new(
            "UHUB_DATABASE_URL",
            format!("cannot migrate the database: {error}"),
        )
    })?;
    Ok(storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_private_and_reused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let first = resolve_jwt_secret(None, dir.path())?;
        let mode = std::fs::metadata(dir.path().join(JWT_SECRET_FILE))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(first.expose().len() >= MIN_JWT_SECRET_BYTES);
        let second = resolve_jwt_secret(None, dir.path())?;
        assert_eq!(first, second);
        Ok(())
    }

    #[test]
    fn a_data_dir_left_by_a_killed_restore_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert!(refuse_interrupted_restore(dir.path()).is_ok());
        std::fs::create_dir(dir.path().join(RESTORING_DIR))?;
        let refused = refuse_interrupted_restore(dir.path()).err();
        assert_eq!(refused.map(|e| e.setting), Some("UHUB_DATA_DIR"));
        Ok(())
    }

    #[test]
    fn a_short_configured_secret_is_refused() {
        let dir = std::env::temp_dir();
        let error = resolve_jwt_secret(Some(Secret::new("short".to_owned())), &dir).err();
        assert_eq!(error.map(|e| e.setting), Some("UHUB_JWT_SECRET"));
    }

    #[test]
    fn a_data_dir_below_a_file_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x")?;
        let error = prepare_data_dir(&file.join("data")).err();
        assert_eq!(error.map(|e| e.setting), Some("UHUB_DATA_DIR"));
        Ok(())
    }

    #[test]
    fn the_default_database_is_sqlite_in_the_data_dir() {
        assert_eq!(
            database_url(None, Path::new("/srv/uhub")),
            "sqlite:///srv/uhub/uhub.db"
        );
        let url = Secret::new("postgres://db/uhub".to_owned());
        assert_eq!(
            database_url(Some(&url), Path::new("/srv/uhub")),
            "postgres://db/uhub"
        );
    }
}
