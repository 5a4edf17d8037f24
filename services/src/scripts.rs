//! The scripts a `local` action may name: the files of the scripts directory, for the job
//! editor's picker. Only names, sizes and digests leave the server, never a script's content.

use std::path::Path;

use domain::policy::{Action, Object};
use tracing::instrument;

use crate::engine::local;
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// How deep the listing looks into sub-directories, and how many files it returns at most:
/// a scripts directory is a handful of files, not a file system to walk.
const MAX_DEPTH: usize = 4;
const MAX_SCRIPTS: usize = 500;

/// A script a job may run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptInfo {
    /// The path to put in a `script` action (relative to the scripts directory, `/`-separated).
    pub path: String,
    pub size_bytes: u64,
    /// Whether the file may be executed (a script without its `x` bit fails to start).
    pub executable: bool,
    /// The content's SHA-256, as a run records it at launch.
    pub sha256: String,
}

/// The scripts of the scripts directory, by path (every signed-in user: a job's action names
/// one). Symbolic links leading out of the directory and hidden files are left out.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(hub: &Hub, caller: &Caller) -> ServiceResult<Vec<ScriptInfo>> {
    caller.may(Action::Read, &Object::none(), None)?;
    let root = hub.executor.scripts_dir().to_path_buf();
    tokio::task::spawn_blocking(move || walk(&root))
        .await
        .map_err(|e| ServiceError::Internal(format!("the script listing stopped: {e}")))?
}

fn walk(root: &Path) -> ServiceResult<Vec<ScriptInfo>> {
    use std::os::unix::fs::PermissionsExt;
    let mut scripts = Vec::new();
    let mut folders = vec![(root.to_path_buf(), 0usize)];
    while let Some((folder, depth)) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            // The directory itself missing is an empty list; a sub-folder unreadable too.
            Err(_) => continue,
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            if metadata.is_dir() {
                if depth + 1 < MAX_DEPTH {
                    folders.push((path, depth + 1));
                }
                continue;
            }
            // The same check a run makes: a link leading outside is no script.
            if local::resolve_script(root, &relative).is_err() {
                continue;
            }
            let Ok(sha256) = local::script_digest(root, &relative) else {
                continue;
            };
            scripts.push(ScriptInfo {
                path: relative,
                size_bytes: metadata.len(),
                executable: metadata.permissions().mode() & 0o111 != 0,
                sha256,
            });
            if scripts.len() >= MAX_SCRIPTS {
                break;
            }
        }
    }
    scripts.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(scripts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_shows_scripts_inside_only() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::fs::write(dir.path().join("deploy.sh"), "#!/bin/sh\necho hi\n")?;
        std::fs::set_permissions(
            dir.path().join("deploy.sh"),
            std::fs::Permissions::from_mode(0o755),
        )?;
        std::fs::create_dir(dir.path().join("db"))?;
        std::fs::write(dir.path().join("db/backup.sh"), "#!/bin/sh\n")?;
        std::fs::write(dir.path().join(".hidden"), "x")?;
        std::fs::write(outside.path().join("secret"), "x")?;
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("escape"))?;
        let listed = walk(dir.path())?;
        let paths: Vec<&str> = listed.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["db/backup.sh", "deploy.sh"]);
        assert!(listed[1].executable && !listed[0].executable);
        assert_eq!(listed[1].sha256.len(), 64);
        Ok(())
    }
}
