//! `uhub backup` and `uhub restore`: a consistent snapshot of a running instance and its return
//! into a new data directory.
//!
//! With SQLite a backup is one SQLite file: the database as one read transaction saw it
//! (`VACUUM INTO`, taken while uHub keeps serving), plus two tables the backup adds — its
//! manifest (schema version, rows per table, the master key's fingerprint, never the key) and
//! the data directory's files worth keeping (scripts, Terraform's local state). Project secrets
//! stay sealed under the master key, which is not in the backup: keep it apart. With PostgreSQL,
//! `pg_dump` writes the database and the manifest goes beside it (`FILE.manifest.json`).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use services::secrets::SecretBox;
use services::storage::{Engine, Snapshot, SnapshotFile};
use services::Storage;

use crate::config::Config;
use crate::startup::{MASTER_KEY_FILE, RESTORING_DIR, SQLITE_FILE};

mod files;
mod postgres;

/// The format this build writes and reads.
const FORMAT: &str = "uhub-backup/1";

/// A backup or restore that could not be done, in words for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackupError(String);

impl BackupError {
    fn new(message: impl Into<String>) -> BackupError {
        BackupError(message.into())
    }
}

impl From<services::ServiceError> for BackupError {
    fn from(error: services::ServiceError) -> BackupError {
        BackupError(error.to_string())
    }
}

/// What a backup holds, written into it and checked by `--verify` and `restore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub uhub_version: String,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// The newest migration applied to the backed-up database.
    pub schema_version: i64,
    /// Rows per table when the snapshot was taken.
    pub tables: BTreeMap<String, i64>,
    /// The key sealing the project secrets in the database; `None` when secrets live in Vault.
    pub master_key: Option<KeyNote>,
    /// Project secrets are in Vault: back Vault up on its own.
    pub secrets_in_vault: bool,
    /// Files of the data directory kept in the backup (paths relative to a data directory).
    pub files: Vec<String>,
}

/// Which master key the backup's secrets need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyNote {
    /// [`SecretBox::fingerprint`] of the key.
    pub fingerprint: String,
    /// `data_dir` when uHub generated it into its data directory (`master-key`), `configured`
    /// when `UHUB_MASTER_KEY` / `_FILE` gave it.
    pub kept_in: String,
}

/// `uhub backup --to FILE`: returns the lines to print.
pub async fn backup(config: &Config, to: &Path) -> Result<String, BackupError> {
    // Absolute: SQLite would read a name starting with `file:` as a URI.
    let to = &std::path::absolute(to)
        .map_err(|e| BackupError::new(format!("cannot use {}: {e}", to.display())))?;
    if to.exists() {
        return Err(BackupError::new(format!(
            "{} exists already: give each backup a new name (e.g. with the date)",
            to.display()
        )));
    }
    let key = existing_master_key(config)?;
    let url = database_url(config)?;
    let storage = Storage::connect(&url)
        .await
        .map_err(|e| BackupError::new(format!("cannot open the database: {e}")))?;
    let result = match storage.engine() {
        Engine::Sqlite => backup_sqlite(config, &storage, key.as_ref(), to).await,
        Engine::Postgres => postgres::backup(config, &storage, key.as_ref(), &url, to).await,
    };
    storage.close().await;
    result
}

async fn backup_sqlite(
    config: &Config,
    storage: &Storage,
    key: Option<&(SecretBox, &'static str)>,
    to: &Path,
) -> Result<String, BackupError> {
    // Private from its first byte (password hashes, sealed secrets): SQLite writes into an
    // existing empty file and keeps its mode. Never someone else's: an existing one is refused.
    let partial = start_partial(to)?;
    let outcome = async {
        storage.snapshot_sqlite(&partial).await?;
        let mut snapshot = Snapshot::open(&partial, true).await?;
        let integrity = snapshot.integrity().await?;
        if integrity != "ok" {
            return Err(BackupError::new(format!(
                "the snapshot failed SQLite's integrity check: {integrity}"
            )));
        }
        let (files, skipped) = files::collect(config)?;
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            created_at: chrono::Utc::now(),
            uhub_version: env!("CARGO_PKG_VERSION").to_owned(),
            engine: "sqlite".to_owned(),
            schema_version: snapshot.schema_version().await?,
            tables: snapshot.table_counts().await?,
            master_key: key.map(|(key, kept_in)| KeyNote {
                fingerprint: key.fingerprint().to_owned(),
                kept_in: (*kept_in).to_owned(),
            }),
            secrets_in_vault: config.vault.is_some(),
            files: files.iter().map(|f| f.path.clone()).collect(),
        };
        refuse_keyless(config, &manifest)?;
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| BackupError::new(format!("cannot write the manifest: {e}")))?;
        snapshot.attach(&text, &files).await?;
        snapshot.close().await?;
        finish_partial(&partial, to)?;
        Ok(report("backup written to", to, &manifest, &skipped))
    }
    .await;
    if outcome.is_err() {
        let _ = fs::remove_file(&partial);
    }
    outcome
}

/// `uhub backup --verify FILE`: the lines to print when the backup is sound.
pub async fn verify(config: &Config, file: &Path) -> Result<String, BackupError> {
    let (manifest, _) = open_checked(file).await?;
    let mut lines = report("verified", file, &manifest, &[]);
    match (&manifest.master_key, configured_key_fingerprint(config)?) {
        (Some(note), Some(configured)) if configured == note.fingerprint => {
            lines.push_str("\nmaster key: the configured key is this backup's key");
        }
        (Some(note), Some(configured)) => lines.push_str(&format!(
            "\nmaster key: the configured key ({configured}) is NOT this backup's key ({}): a restore needs the latter",
            note.fingerprint
        )),
        _ => {}
    }
    Ok(lines)
}

/// Opens a backup, checks it against its manifest, and returns the manifest with the files
/// it keeps (SQLite backups; none for a pg_dump archive).
async fn open_checked(file: &Path) -> Result<(Manifest, Vec<SnapshotFile>), BackupError> {
    let mut head = Vec::with_capacity(16);
    let read = fs::File::open(file)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 16), &mut head))
        .map_err(|e| BackupError::new(format!("cannot read {}: {e}", file.display())))?;
    if head[..read].starts_with(b"PGDMP") {
        return postgres::verify(file)
            .await
            .map(|manifest| (manifest, Vec::new()));
    }
    if !head[..read].starts_with(b"SQLite format 3\0") {
        return Err(BackupError::new(format!(
            "{} is not a uHub backup (neither SQLite nor a pg_dump archive)",
            file.display()
        )));
    }
    let mut snapshot = Snapshot::open(file, false).await?;
    let integrity = snapshot.integrity().await?;
    if integrity != "ok" {
        return Err(BackupError::new(format!(
            "{} is damaged: SQLite's integrity check says {integrity}",
            file.display()
        )));
    }
    let text = snapshot.manifest().await?.ok_or_else(|| {
        BackupError::new(format!(
            "{} is a SQLite file without a uHub backup manifest",
            file.display()
        ))
    })?;
    let manifest = parse_manifest(&text)?;
    let version = snapshot.schema_version().await?;
    if version != manifest.schema_version {
        return Err(BackupError::new(format!(
            "the manifest says schema {}, the database is at {version}",
            manifest.schema_version
        )));
    }
    let counts = snapshot.table_counts().await?;
    if counts != manifest.tables {
        let differing: Vec<String> = manifest
            .tables
            .keys()
            .chain(counts.keys())
            .filter(|t| manifest.tables.get(*t) != counts.get(*t))
            .map(|t| {
                format!(
                    "{t}: manifest {}, database {}",
                    manifest.tables.get(t).copied().unwrap_or(0),
                    counts.get(t).copied().unwrap_or(0)
                )
            })
            .collect();
        return Err(BackupError::new(format!(
            "the rows differ from the manifest ({})",
            differing.join("; ")
        )));
    }
    let files = snapshot.files().await?;
    let kept: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    if kept
        != manifest
            .files
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    {
        return Err(BackupError::new(
            "the files kept differ from the manifest's list",
        ));
    }
    for file in &files {
        safe_relative(&file.path)?;
    }
    snapshot.close().await?;
    Ok((manifest, files))
}

fn parse_manifest(text: &str) -> Result<Manifest, BackupError> {
    let manifest: Manifest = serde_json::from_str(text)
        .map_err(|e| BackupError::new(format!("the backup's manifest cannot be read: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BackupError::new(format!(
            "the backup is in format `{}`; this uHub reads `{FORMAT}`",
            manifest.format
        )));
    }
    Ok(manifest)
}

/// `uhub restore FILE --data-dir DIR`: the lines to print.
pub async fn restore(config: &Config, file: &Path, data_dir: &Path) -> Result<String, BackupError> {
    if data_dir.exists() {
        let mut entries = fs::read_dir(data_dir)
            .map_err(|e| BackupError::new(format!("cannot read {}: {e}", data_dir.display())))?;
        if entries.next().is_some() {
            return Err(BackupError::new(format!(
                "{} is not empty: restore into a new or empty directory (nothing was changed)",
                data_dir.display()
            )));
        }
    }
    let (manifest, files) = open_checked(file).await?;
    if manifest.engine == "postgres" {
        return Err(BackupError::new(format!(
            "{} is a PostgreSQL archive: restore it into an empty database with \
             `pg_restore --no-owner --dbname <database> {}`, then start uHub on that database with the same master key",
            file.display(),
            file.display()
        )));
    }
    let key_text = match &manifest.master_key {
        None => None,
        Some(note) => {
            let Some(configured) = &config.master_key else {
                return Err(BackupError::new(format!(
                    "the backup's secrets are sealed with the master key of fingerprint {}: set UHUB_MASTER_KEY_FILE to that key (the `{MASTER_KEY_FILE}` file of the backed-up data directory, or the key it was configured with) and restore again; nothing was changed",
                    note.fingerprint
                )));
            };
            let key = SecretBox::from_key_text(configured.expose())
                .map_err(|why| BackupError::new(format!("UHUB_MASTER_KEY {why}")))?;
            if key.fingerprint() != note.fingerprint {
                return Err(BackupError::new(format!(
                    "the configured master key (fingerprint {}) is not the key of this backup (fingerprint {}): its secrets would not decrypt; nothing was changed",
                    key.fingerprint(),
                    note.fingerprint
                )));
            }
            (note.kept_in == "data_dir")
                .then(|| zeroize::Zeroizing::new(configured.expose().to_owned()))
        }
    };
    if let Some(newer) = Some(manifest.schema_version).filter(|v| *v > latest_migration()) {
        return Err(BackupError::new(format!(
            "the backup comes from a newer uHub (schema {newer}, this build knows up to {}): restore it with that version",
            latest_migration()
        )));
    }

    fs::create_dir_all(data_dir)
        .and_then(|()| fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700)))
        .map_err(|e| BackupError::new(format!("cannot create {}: {e}", data_dir.display())))?;
    // Everything is written into a staging folder first, then moved in (the database last). A
    // restore killed half-way leaves that folder, and uHub refuses to start beside it.
    let staging = data_dir.join(RESTORING_DIR);
    let mut moved = Vec::new();
    let placed = async {
        place(
            file,
            &staging,
            &files,
            key_text.as_deref().map(String::as_str),
        )
        .await?;
        let mut names: Vec<std::ffi::OsString> = fs::read_dir(&staging)
            .map_err(|e| BackupError::new(format!("cannot read {}: {e}", staging.display())))?
            .flatten()
            .map(|entry| entry.file_name())
            .collect();
        names.sort_by_key(|name| name == SQLITE_FILE);
        for name in names {
            fs::rename(staging.join(&name), data_dir.join(&name))
                .map_err(|e| BackupError::new(format!("cannot move {:?} into place: {e}", name)))?;
            moved.push(name);
        }
        fs::remove_dir(&staging)
            .and_then(|()| fs::File::open(data_dir)?.sync_all())
            .map_err(|e| BackupError::new(format!("cannot finish the restore: {e}")))
    }
    .await;
    if let Err(error) = placed {
        // Half a restore is worse than none: what this restore wrote goes away.
        let _ = fs::remove_dir_all(&staging);
        for name in moved {
            let path = data_dir.join(name);
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
        }
        return Err(error);
    }
    let mut lines = report("restored into", data_dir, &manifest, &[]);
    lines.push_str(&format!(
        "\nstart uHub with UHUB_DATA_DIR={}{}; people sign in again (the session key is new)",
        data_dir.display(),
        match &manifest.master_key {
            Some(note) if note.kept_in == "configured" => " and the same UHUB_MASTER_KEY(_FILE)",
            _ => "",
        }
    ));
    if manifest.secrets_in_vault {
        lines.push_str("\nproject secrets were in Vault: they are not in this backup");
    }
    Ok(lines)
}

/// Writes the restored database, kept files and (when the backed-up instance kept it there)
/// the master key into `data_dir`.
async fn place(
    file: &Path,
    data_dir: &Path,
    files: &[SnapshotFile],
    key_text: Option<&str>,
) -> Result<(), BackupError> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(data_dir)
        .map_err(|e| BackupError::new(format!("cannot create {}: {e}", data_dir.display())))?;
    let database = data_dir.join(SQLITE_FILE);
    let partial = partial_path(&database);
    fs::copy(file, &partial)
        .and_then(|_| fs::set_permissions(&partial, fs::Permissions::from_mode(0o600)))
        .map_err(|e| BackupError::new(format!("cannot copy the backup: {e}")))?;
    let mut snapshot = Snapshot::open(&partial, true).await?;
    snapshot.detach().await?;
    snapshot.close().await?;
    fs::rename(&partial, &database)
        .map_err(|e| BackupError::new(format!("cannot place the database: {e}")))?;
    for kept in files {
        let target = data_dir.join(safe_relative(&kept.path)?);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| {
                BackupError::new(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(kept.mode & 0o700)
            .open(&target)
            .map_err(|e| BackupError::new(format!("cannot write {}: {e}", target.display())))?;
        out.write_all(&kept.content)
            .and_then(|()| out.sync_all())
            .map_err(|e| BackupError::new(format!("cannot write {}: {e}", target.display())))?;
    }
    if let Some(key) = key_text {
        // The backed-up instance found its key in its data directory: so will this one.
        write_private(&data_dir.join(MASTER_KEY_FILE), key.as_bytes())?;
    }
    Ok(())
}

/// A kept file's path, refused when it would leave the data directory (a crafted backup).
fn safe_relative(path: &str) -> Result<PathBuf, BackupError> {
    let relative = Path::new(path);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let allowed = ["scripts", "terraform"]
        .iter()
        .any(|top| relative.starts_with(top));
    if path.is_empty() || !plain || !allowed {
        return Err(BackupError::new(format!(
            "the backup names a file outside the data directory's scripts and terraform folders ({path:?}): refused"
        )));
    }
    Ok(relative.to_path_buf())
}

/// The newest migration this build knows (SQLite and PostgreSQL share the numbering).
fn latest_migration() -> i64 {
    services::storage::latest_sqlite_migration()
}

/// The master key of the backed-up instance, without ever creating one: the configured key,
/// else the data directory's file; `None` with Vault, or when no key exists yet.
fn existing_master_key(config: &Config) -> Result<Option<(SecretBox, &'static str)>, BackupError> {
    if config.vault.is_some() {
        return Ok(None);
    }
    if let Some(configured) = &config.master_key {
        let key = SecretBox::from_key_text(configured.expose())
            .map_err(|why| BackupError::new(format!("UHUB_MASTER_KEY {why}")))?;
        return Ok(Some((key, "configured")));
    }
    crate::startup::read_master_key_file(&config.data_dir)
        .map(|key| key.map(|key| (key, "data_dir")))
        .map_err(|error| BackupError::new(error.message))
}

fn configured_key_fingerprint(config: &Config) -> Result<Option<String>, BackupError> {
    config
        .master_key
        .as_ref()
        .map(|key| {
            SecretBox::from_key_text(key.expose())
                .map(|key| key.fingerprint().to_owned())
                .map_err(|why| BackupError::new(format!("UHUB_MASTER_KEY {why}")))
        })
        .transpose()
}

/// The running instance's database: the configured URL, else the data directory's SQLite file,
/// which must exist (a backup never creates a database).
fn database_url(config: &Config) -> Result<String, BackupError> {
    if let Some(url) = &config.database_url {
        let url = url.expose();
        // Opening a missing SQLite file would create an empty database and back that up.
        let sqlite_file = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or_default());
        if let Some(file) = sqlite_file.filter(|f| !Path::new(f).is_file()) {
            return Err(BackupError::new(format!(
                "no database at {file}: UHUB_DATABASE_URL must name the running instance's database"
            )));
        }
        return Ok(url.to_owned());
    }
    let file = config.data_dir.join(SQLITE_FILE);
    if !file.is_file() {
        return Err(BackupError::new(format!(
            "no database at {}: set UHUB_DATA_DIR (or UHUB_DATABASE_URL) as for the running instance",
            file.display()
        )));
    }
    Ok(format!("sqlite://{}", file.display()))
}

/// Creates `<to>.partial`, empty and private; refused when it exists (another backup of that
/// name is running, or one was interrupted: its owner decides).
fn start_partial(to: &Path) -> Result<PathBuf, BackupError> {
    let partial = partial_path(to);
    if partial.exists() {
        return Err(BackupError::new(format!(
            "{} exists: another backup is being written there, or one was interrupted; remove it and try again",
            partial.display()
        )));
    }
    write_private(&partial, b"")?;
    Ok(partial)
}

/// Makes the finished `partial` the backup `to`, on disk, without ever replacing a file that
/// appeared at `to` meanwhile (a hard link fails when its name exists).
fn finish_partial(partial: &Path, to: &Path) -> Result<(), BackupError> {
    OpenOptions::new()
        .read(true)
        .open(partial)
        .and_then(|file| file.sync_all())
        .and_then(|()| fs::hard_link(partial, to))
        .and_then(|()| fs::remove_file(partial))
        .map_err(|e| BackupError::new(format!("cannot finish {}: {e}", to.display())))
}

/// A database holding sealed secrets backed up without its key could never be read back: that
/// means the backup was pointed at another data directory than the instance's.
fn refuse_keyless(config: &Config, manifest: &Manifest) -> Result<(), BackupError> {
    if manifest.master_key.is_some() || config.vault.is_some() {
        return Ok(());
    }
    let sealed: i64 = ["project_secrets", "user_secrets", "k8s_clusters"]
        .iter()
        .map(|table| count(manifest, table))
        .sum();
    if sealed == 0 {
        return Ok(());
    }
    Err(BackupError::new(format!(
        "the database holds {sealed} sealed secret(s) but no master key was found ({} is missing and UHUB_MASTER_KEY is not set): run the backup with the instance's UHUB_DATA_DIR or UHUB_MASTER_KEY_FILE",
        config.data_dir.join(MASTER_KEY_FILE).display()
    )))
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    services::engine::local::write_private(path, bytes).map_err(BackupError::new)
}

/// The summary printed after a backup, a verification or a restore.
fn report(done: &str, path: &Path, manifest: &Manifest, skipped: &[String]) -> String {
    let rows: i64 = manifest.tables.values().sum();
    let mut lines = format!(
        "{done} {}\n  {} database, schema {}, {} tables, {rows} rows (users {}, projects {}, jobs {}, runs {}, run log lines {})\n  files kept: {}",
        path.display(),
        manifest.engine,
        manifest.schema_version,
        manifest.tables.len(),
        count(manifest, "users"),
        count(manifest, "projects"),
        count(manifest, "jobs"),
        count(manifest, "runs"),
        count(manifest, "run_logs"),
        manifest.files.len(),
    );
    match &manifest.master_key {
        Some(note) => lines.push_str(&format!(
            "\n  secrets sealed with the master key of fingerprint {} (kept in: {}); the key is NOT in the backup: keep it apart",
            note.fingerprint, note.kept_in
        )),
        None if manifest.secrets_in_vault => {
            lines.push_str("\n  project secrets live in Vault: back Vault up on its own")
        }
        None => lines.push_str("\n  no master key existed: no project secret was ever stored"),
    }
    if !skipped.is_empty() {
        lines.push_str(&format!("\n  left out: {}", skipped.join(", ")));
    }
    lines
}

fn count(manifest: &Manifest, table: &str) -> i64 {
    manifest.tables.get(table).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_files_stay_inside_the_data_directory() {
        assert!(safe_relative("scripts/deploy.sh").is_ok());
        assert!(safe_relative("terraform/7/terraform.tfstate").is_ok());
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "scripts/../../x",
            "uhub.db",
            "master-key",
            "",
        ] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
    }
}
