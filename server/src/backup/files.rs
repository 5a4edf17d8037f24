//! The data directory's files a backup keeps: the scripts of `script` actions and Terraform's
//! local states. Read defensively: runs write into these folders, so a file may be swapped for a
//! link to something uHub can read (the master key, `/etc/shadow`) while the backup walks.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use services::storage::SnapshotFile;

use super::BackupError;
use crate::config::Config;
use crate::startup::{JWT_SECRET_FILE, MASTER_KEY_FILE, SQLITE_FILE};

/// A file larger than this is left out of a backup (with a warning): a data directory's
/// scripts and Terraform states are small; anything bigger is not ours to keep.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The kept files, sorted by path, and what was left out (said in the report).
pub fn collect(config: &Config) -> Result<(Vec<SnapshotFile>, Vec<String>), BackupError> {
    let scripts = config
        .scripts_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("scripts"));
    // A scripts folder holding the data directory would sweep the keys in with the scripts.
    if let (Ok(scripts), Ok(data)) = (scripts.canonicalize(), config.data_dir.canonicalize()) {
        if data.starts_with(&scripts) {
            return Err(BackupError::new(format!(
                "UHUB_SCRIPTS_DIR {} contains the data directory: give scripts a folder of their own",
                scripts.display()
            )));
        }
    }
    // The keys and the database themselves, whatever name a link gives them.
    let protected: HashSet<(u64, u64)> = [MASTER_KEY_FILE, JWT_SECRET_FILE, SQLITE_FILE]
        .iter()
        .filter_map(|name| fs::metadata(config.data_dir.join(name)).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let mut walk = Walk {
        protected,
        files: Vec::new(),
        skipped: Vec::new(),
    };
    walk.dir(&scripts, "scripts")?;
    walk.dir(&config.data_dir.join("terraform"), "terraform")?;
    walk.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((walk.files, walk.skipped))
}

struct Walk {
    protected: HashSet<(u64, u64)>,
    files: Vec<SnapshotFile>,
    skipped: Vec<String>,
}

impl Walk {
    fn dir(&mut self, dir: &Path, prefix: &str) -> Result<(), BackupError> {
        // Never through a link, even one swapped in after the parent was listed.
        match fs::symlink_metadata(dir) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => {
                self.skipped.push(prefix.to_owned());
                return Ok(());
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => {
                return Err(BackupError::new(format!(
                    "cannot read {}: {error}",
                    dir.display()
                )))
            }
        }
        let entries = fs::read_dir(dir)
            .map_err(|e| BackupError::new(format!("cannot read {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{prefix}/{name}");
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            // Provider downloads are caches; saved plans hold the runs' variables in clear
            // (secrets included) and an old plan is never applied again anyway.
            let cache_or_plans = name == ".terraform" || (prefix == "terraform" && name == "plans");
            if cache_or_plans || kind.is_symlink() {
                self.skipped.push(path);
            } else if kind.is_dir() {
                self.dir(&entry.path(), &path)?;
            } else if kind.is_file() {
                match self.read(&entry.path()) {
                    Some((mode, content)) => self.files.push(SnapshotFile {
                        path,
                        mode,
                        content,
                    }),
                    None => self.skipped.push(path),
                }
            }
        }
        Ok(())
    }

    /// The file's mode and content, read through one handle opened without following a link:
    /// `None` for anything but a plain file with one name, of a bounded size, that is not a key.
    fn read(&self, path: &Path) -> Option<(u32, Vec<u8>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path)
            .ok()?;
        let metadata = file.metadata().ok()?;
        let plain = metadata.is_file()
            && metadata.nlink() == 1
            && metadata.len() <= MAX_FILE_BYTES
            && !self.protected.contains(&(metadata.dev(), metadata.ino()));
        if !plain {
            return None;
        }
        let mut content = Vec::new();
        (&mut file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut content)
            .ok()?;
        (content.len() as u64 <= MAX_FILE_BYTES).then_some((metadata.mode() & 0o777, content))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keys_and_plans_stay_out() -> Result<(), Box<dyn std::error::Error>> {
        let data = tempfile::tempdir()?;
        let scripts = tempfile::tempdir()?;
        std::fs::write(data.path().join(MASTER_KEY_FILE), "the key")?;
        std::fs::write(scripts.path().join("deploy.sh"), "echo hi")?;
        std::os::unix::fs::symlink(
            data.path().join(MASTER_KEY_FILE),
            scripts.path().join("link.sh"),
        )?;
        std::fs::hard_link(
            data.path().join(MASTER_KEY_FILE),
            scripts.path().join("hard.sh"),
        )?;
        std::fs::create_dir_all(data.path().join("terraform/plans"))?;
        std::fs::write(data.path().join("terraform/plans/7.tfplan"), "variables")?;
        std::fs::create_dir_all(data.path().join("terraform/workspaces/3"))?;
        std::fs::write(
            data.path().join("terraform/workspaces/3/terraform.tfstate"),
            "{}",
        )?;
        let config = Config::from_lookup(|name| match name {
            "UHUB_DATA_DIR" => Some(data.path().display().to_string()),
            "UHUB_SCRIPTS_DIR" => Some(scripts.path().display().to_string()),
            _ => None,
        })?;
        let (files, skipped) = collect(&config)?;
        let kept: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            kept,
            [
                "scripts/deploy.sh",
                "terraform/workspaces/3/terraform.tfstate"
            ]
        );
        for out in ["scripts/link.sh", "scripts/hard.sh", "terraform/plans"] {
            assert!(skipped.iter().any(|s| s == out), "{out}: {skipped:?}");
        }
        assert!(files.iter().all(|f| f.content != b"the key"));

        let inside = Config::from_lookup(|name| match name {
            "UHUB_DATA_DIR" => Some(data.path().join("x").display().to_string()),
            "UHUB_SCRIPTS_DIR" => Some(data.path().display().to_string()),
            _ => None,
        })?;
        std::fs::create_dir_all(data.path().join("x"))?;
        assert!(
            collect(&inside).is_err(),
            "scripts around the data directory"
        );
        Ok(())
    }
}
