//! PostgreSQL backups: `pg_dump --format=custom` with the manifest beside the archive
//! (`FILE.manifest.json`), checked with `pg_restore --list`.

use std::fs;
use std::path::Path;

use services::secrets::SecretBox;
use services::Storage;

use super::{
    finish_partial, parse_manifest, refuse_keyless, report, sidecar_path, start_partial,
    write_private, BackupError, KeyNote, Manifest, FORMAT,
};
use crate::config::Config;

pub(super) async fn backup(
    config: &Config,
    storage: &Storage,
    key: Option<&(SecretBox, &'static str)>,
    url: &str,
    to: &Path,
) -> Result<String, BackupError> {
    let pg_dump = services::engine::local::find_program(
        None,
        "pg_dump",
        "PATH",
        "PostgreSQL's client tools (pg_dump, of the server's major version or newer)",
    )
    .map_err(|why| {
        BackupError::new(format!(
            "this instance uses PostgreSQL, which uhub backup saves with pg_dump: {why}; \
             or dump the database with your own tooling (pg_dump --format=custom) and keep the master key apart"
        ))
    })?;
    let sidecar = sidecar_path(to);
    if sidecar.exists() {
        return Err(BackupError::new(format!(
            "{} exists already: give each backup a new name",
            sidecar.display()
        )));
    }
    // Counted before the dump: the dump is one consistent snapshot, the counts are a guide.
    let tables = storage.table_counts().await?;
    let schema_version = storage.schema_version().await?;
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        created_at: chrono::Utc::now(),
        uhub_version: env!("CARGO_PKG_VERSION").to_owned(),
        engine: "postgres".to_owned(),
        schema_version,
        tables,
        master_key: key.map(|(key, kept_in)| KeyNote {
            fingerprint: key.fingerprint().to_owned(),
            kept_in: (*kept_in).to_owned(),
        }),
        secrets_in_vault: config.vault.is_some(),
        files: Vec::new(),
    };
    refuse_keyless(config, &manifest)?;
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| BackupError::new(format!("cannot write the manifest: {e}")))?;
    // Private from its first byte; pg_dump truncates the file and keeps its mode.
    let partial = start_partial(to)?;
    let outcome = async {
        let mut command = tokio::process::Command::new(&pg_dump);
        command
            .arg("--format=custom")
            .arg("--no-owner")
            .arg("--file")
            .arg(&partial)
            .kill_on_drop(true)
            // Only what pg_dump needs: uHub's own secrets stay in uHub, and stray PG* variables
            // of the operator's shell cannot redirect the dump or weaken its TLS.
            .env_clear();
        for name in ["PATH", "HOME", "LANG", "LC_ALL", "TZ"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        // The connection goes through libpq's variables: a password never on a command line.
        for (name, value) in libpq_environment(url)? {
            command.env(name, value);
        }
        let output = command
            .output()
            .await
            .map_err(|e| BackupError::new(format!("cannot run pg_dump: {e}")))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            return Err(BackupError::new(format!(
                "pg_dump failed ({}): {}",
                output.status,
                said.trim()
            )));
        }
        write_private(&sidecar, text.as_bytes())?;
        finish_partial(&partial, to)
    }
    .await;
    if let Err(error) = outcome {
        let _ = fs::remove_file(&partial);
        return Err(error);
    }
    Ok(report("pg_dump archive written to", to, &manifest, &[]))
}

/// A pg_dump archive: its sidecar manifest, and `pg_restore --list` reading it whole.
pub(super) async fn verify(file: &Path) -> Result<Manifest, BackupError> {
    let sidecar = sidecar_path(file);
    let text = fs::read_to_string(&sidecar).map_err(|e| {
        BackupError::new(format!(
            "the manifest {} of this pg_dump archive cannot be read: {e}",
            sidecar.display()
        ))
    })?;
    let manifest = parse_manifest(&text)?;
    let pg_restore = services::engine::local::find_program(
        None,
        "pg_restore",
        "PATH",
        "PostgreSQL's client tools",
    )
    .map_err(BackupError::new)?;
    let output = tokio::process::Command::new(pg_restore)
        .arg("--list")
        .arg(file)
        .output()
        .await
        .map_err(|e| BackupError::new(format!("cannot run pg_restore: {e}")))?;
    if !output.status.success() {
        return Err(BackupError::new(format!(
            "pg_restore cannot read the archive: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let listing = String::from_utf8_lossy(&output.stdout);
    let missing: Vec<&String> = manifest
        .tables
        .keys()
        .filter(|table| {
            !listing
                .lines()
                .any(|line| line.contains("TABLE DATA") && line.contains(&format!(" {table} ")))
        })
        .collect();
    if !missing.is_empty() {
        return Err(BackupError::new(format!(
            "the archive lacks the data of {} table(s) the manifest names: {missing:?}",
            missing.len()
        )));
    }
    Ok(manifest)
}

/// Variables that make libpq (pg_dump) reach the database of `url`.
fn libpq_environment(url: &str) -> Result<Vec<(&'static str, String)>, BackupError> {
    let parsed = url::Url::parse(url)
        .map_err(|_| BackupError::new("UHUB_DATABASE_URL is not a URL pg_dump can use"))?;
    let decode = percent_decode;
    let mut vars = Vec::new();
    if let Some(host) = parsed.host_str() {
        vars.push(("PGHOST", host.trim_matches(['[', ']']).to_owned()));
    }
    if let Some(port) = parsed.port() {
        vars.push(("PGPORT", port.to_string()));
    }
    if !parsed.username().is_empty() {
        vars.push(("PGUSER", decode(parsed.username())));
    }
    if let Some(password) = parsed.password() {
        vars.push(("PGPASSWORD", decode(password)));
    }
    let database = parsed.path().trim_start_matches('/');
    if !database.is_empty() {
        vars.push(("PGDATABASE", decode(database)));
    }
    for (name, value) in parsed.query_pairs() {
        match name.as_ref() {
            "sslmode" => vars.push(("PGSSLMODE", value.into_owned())),
            "sslrootcert" => vars.push(("PGSSLROOTCERT", value.into_owned())),
            "sslcert" => vars.push(("PGSSLCERT", value.into_owned())),
            "sslkey" => vars.push(("PGSSLKEY", value.into_owned())),
            "hostaddr" => vars.push(("PGHOSTADDR", value.into_owned())),
            "port" => vars.push(("PGPORT", value.into_owned())),
            "user" => vars.push(("PGUSER", value.into_owned())),
            "dbname" => vars.push(("PGDATABASE", value.into_owned())),
            "options" => vars.push(("PGOPTIONS", value.into_owned())),
            "application_name" => vars.push(("PGAPPNAME", value.into_owned())),
            "host" => vars.push(("PGHOST", value.into_owned())),
            _ => {}
        }
    }
    Ok(vars)
}

/// `%40` → `@`: the user, password and database of a URL are percent-encoded.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_gets_the_url_in_variables() -> Result<(), BackupError> {
        let vars =
            libpq_environment("postgres://uhub:p%40ss@db.internal:5433/uhub?sslmode=require")?;
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("PGHOST"), Some("db.internal"));
        assert_eq!(get("PGPORT"), Some("5433"));
        assert_eq!(get("PGUSER"), Some("uhub"));
        assert_eq!(get("PGPASSWORD"), Some("p@ss"));
        assert_eq!(get("PGDATABASE"), Some("uhub"));
        assert_eq!(get("PGSSLMODE"), Some("require"));
        Ok(())
    }
}
