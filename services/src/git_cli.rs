//! The `git` command, confined, and the bare mirrors of repository links it keeps: fetched on
//! demand, a ref resolved to a commit, a commit checked out into a run's directory.
//!
//! `git` runs with what it needs and nothing it could be talked into: the URL after `--`, only
//! the https, http, ssh and git transports (`GIT_ALLOW_PROTOCOL`), no terminal prompt, no
//! system or global configuration, no hooks, a time limit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use domain::ProjectLink;
use tokio::process::Command;

use crate::{ServiceError, ServiceResult};

/// A fetch or a listing longer than this is given up (the remote is unreachable or huge).
const GIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the bare mirrors of repository links live, with one lock per mirror (git locks its
/// refs: a second fetch at the same time would fail rather than wait). Cheap to clone.
#[derive(Clone)]
pub struct Mirrors {
    dir: PathBuf,
    locks: Arc<std::sync::Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for Mirrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirrors").field("dir", &self.dir).finish()
    }
}

impl Mirrors {
    pub fn new(dir: PathBuf) -> Mirrors {
        Mirrors {
            dir,
            locks: Arc::default(),
        }
    }

    /// A directory of this process's own, for hubs that were given none (tests): two hubs of
    /// one process must not share link ids' mirrors.
    pub fn private() -> Mirrors {
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Mirrors::new(std::env::temp_dir().join(format!("uhub-git-{}-{n}", std::process::id())))
    }

    fn lock(&self, link_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.locks.lock() {
            Ok(locks) => locks,
            // A panic while the map was held left it whole: a map of locks has no half state.
            Err(poisoned) => poisoned.into_inner(),
        };
        locks.entry(link_id).or_default().clone()
    }

    /// The link's bare mirror, created or fetched now; over HTTPS with the link's `token` when
    /// given (in git's environment, never on its command line).
    pub async fn fetched(
        &self,
        link: &ProjectLink,
        token: Option<&zeroize::Zeroizing<String>>,
    ) -> ServiceResult<PathBuf> {
        let auth = token
            .filter(|_| {
                link.location.starts_with("https://") || link.location.starts_with("http://")
            })
            .map(|token| basic_auth(link.provider, token));
        let mirror = self.dir.join(format!("link-{}.git", link.id));
        let lock = self.lock(link.id);
        let _held = lock.lock().await;
        let unreachable = |_| {
            ServiceError::RemoteUnavailable {
            reason: "the repository could not be read through Git (unreachable, refused, or not a repository)"
                .to_owned(),
            retry_after_secs: None,
        }
        };
        if mirror.join("HEAD").exists() && !self.still_mirrors(&mirror, &link.location).await {
            // Another repository's objects must not stay reachable by SHA through this link.
            std::fs::remove_dir_all(&mirror)
                .map_err(|e| ServiceError::Internal(format!("an outdated mirror: {e}")))?;
        }
        let fresh = !mirror.join("HEAD").exists();
        if fresh {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| ServiceError::Internal(format!("mirrors directory: {e}")))?;
            let target = mirror.to_string_lossy().into_owned();
            // Bare, not `--mirror`: branches and tags only, never a provider's pull-request refs
            // (a fork's commits must not become runnable by SHA).
            git_with(
                None,
                &["clone", "--bare", "--quiet", "--", &link.location, &target],
                None,
                auth.as_ref(),
            )
            .await
            .map_err(unreachable)?;
            for (how, refspec) in [
                ("--replace-all", "+refs/heads/*:refs/heads/*"),
                ("--add", "+refs/tags/*:refs/tags/*"),
            ] {
                git(
                    Some(&mirror),
                    &["config", how, "remote.origin.fetch", refspec],
                )
                .await?;
            }
        } else {
            git_with(
                Some(&mirror),
                &["fetch", "--quiet", "--prune", "origin"],
                None,
                auth.as_ref(),
            )
            .await
            .map_err(unreachable)?;
        }
        Ok(mirror)
    }

    /// Whether `mirror` was made from `location` as a bare clone of branches and tags (a
    /// mirror of an older uHub, made with `--mirror`, holds every ref: it is made again).
    async fn still_mirrors(&self, mirror: &Path, location: &str) -> bool {
        let origin = git(Some(mirror), &["config", "--get", "remote.origin.url"]).await;
        let every_ref = git(Some(mirror), &["config", "--get", "remote.origin.mirror"]).await;
        origin.is_ok_and(|url| url.trim() == location)
            && !every_ref.is_ok_and(|flag| flag.trim() == "true")
    }

    /// The mirror of link `link_id` as it is (not fetched) when it already holds every one of
    /// `revisions`: what can be read without a fetch.
    pub async fn having(&self, link_id: i64, revisions: &[&str]) -> Option<PathBuf> {
        let mirror = self.existing(link_id)?;
        for revision in revisions {
            resolve(&mirror, revision, "sha").await.ok()?;
        }
        Some(mirror)
    }

    /// The mirror of link `link_id` as it is (not fetched), if it was ever made.
    pub fn existing(&self, link_id: i64) -> Option<PathBuf> {
        let mirror = self.dir.join(format!("link-{link_id}.git"));
        mirror.join("HEAD").exists().then_some(mirror)
    }

    /// Removes a link's mirror (the link was deleted).
    pub async fn forget(&self, link_id: i64) {
        let lock = self.lock(link_id);
        let _held = lock.lock().await;
        let mirror = self.dir.join(format!("link-{link_id}.git"));
        if let Err(error) = std::fs::remove_dir_all(&mirror) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(link_id, %error, "cannot remove a repository mirror");
            }
        }
    }
}

use domain::action::plain_ref;

/// Whether commit `sha` is on one of the mirror's branches or tags: what may be pinned (a
/// commit left over from a force-push or a removed branch may not).
pub async fn on_a_branch_or_tag(mirror: &Path, sha: &str) -> ServiceResult<bool> {
    let holders = git(
        Some(mirror),
        &[
            "for-each-ref",
            "--count=1",
            "--format=%(refname)",
            "--contains",
            sha,
            "refs/heads",
            "refs/tags",
        ],
    )
    .await?;
    Ok(!holders.trim().is_empty())
}

/// The full SHA of the commit `revision` names in `mirror` (422 `field` when it names none).
pub async fn resolve(mirror: &Path, revision: &str, field: &'static str) -> ServiceResult<String> {
    if !plain_ref(revision) {
        return Err(ServiceError::invalid(
            field,
            "must be a branch, a tag or a commit SHA",
        ));
    }
    let commit = format!("{revision}^{{commit}}");
    let sha = git(
        Some(mirror),
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &commit,
        ],
    )
    .await
    .map_err(|_| ServiceError::invalid(field, "no such branch, tag or commit in the repository"))?;
    Ok(sha.trim().to_owned())
}

/// The text of file `path` at commit `sha` of a mirror, `max_bytes` at most: 422 `field` when
/// the file is missing, too big or not text.
pub async fn read_file(
    mirror: &Path,
    sha: &str,
    path: &str,
    max_bytes: usize,
    field: &'static str,
) -> ServiceResult<String> {
    domain::action::check_relative_path(path)
        .map_err(|why| ServiceError::invalid(field, format!("path {why}")))?;
    let object = format!("{sha}:{path}");
    let size = git(Some(mirror), &["cat-file", "-s", &object])
        .await
        .map_err(|_| ServiceError::invalid(field, format!("no file `{path}` at commit {sha}")))?;
    let size: usize = size.trim().parse().unwrap_or(usize::MAX);
    if size > max_bytes {
        return Err(ServiceError::invalid(
            field,
            format!("`{path}` is larger than {max_bytes} bytes"),
        ));
    }
    git(Some(mirror), &["cat-file", "blob", &object])
        .await
        .map_err(|_| ServiceError::invalid(field, format!("`{path}` cannot be read as text")))
}

/// Writes the tree of commit `sha` into `into` (which must exist): the files a run executes.
/// The mirror is only read: its index is a file of the run's own.
pub async fn checkout(mirror: &Path, sha: &str, into: &Path) -> Result<(), String> {
    if !(sha.len() == 40 || sha.len() == 64) || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("`{sha}` is not a full commit SHA"));
    }
    let index = into.with_extension("index");
    let tree = format!("{sha}^{{tree}}");
    let work_tree = into.to_string_lossy().into_owned();
    let steps: [&[&str]; 2] = [
        &["--work-tree", &work_tree, "read-tree", &tree],
        &[
            "--work-tree",
            &work_tree,
            "checkout-index",
            "--all",
            "--force",
        ],
    ];
    let mut outcome = Ok(());
    for step in steps {
        if let Err(error) = git_with(Some(mirror), step, Some(&index), None).await {
            outcome = Err(format!("cannot check out commit {sha}: {error}"));
            break;
        }
    }
    let _ = std::fs::remove_file(&index);
    outcome
}

/// Runs `git` (in `dir` when given) and answers its standard output; a failure or a timeout is
/// an error naming the command, never its output (which may echo a URL).
pub async fn git(dir: Option<&Path>, args: &[&str]) -> ServiceResult<String> {
    git_with(dir, args, None, None).await
}

/// The `Authorization` header git sends over HTTP(S) with a token: Basic, with the user name
/// each provider documents for tokens.
fn basic_auth(
    provider: Option<domain::GitProvider>,
    token: &zeroize::Zeroizing<String>,
) -> zeroize::Zeroizing<String> {
    use base64::Engine as _;
    let user = match provider {
        Some(domain::GitProvider::Github) => "x-access-token",
        Some(domain::GitProvider::Gitlab) => "oauth2",
        _ => "token",
    };
    let pair = zeroize::Zeroizing::new(format!("{user}:{}", token.as_str()));
    zeroize::Zeroizing::new(format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
    ))
}

async fn git_with(
    dir: Option<&Path>,
    args: &[&str],
    index: Option<&Path>,
    auth: Option<&zeroize::Zeroizing<String>>,
) -> ServiceResult<String> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("--git-dir").arg(dir);
    }
    command
        .args([
            "-c",
            "protocol.file.allow=never",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", "https:http:ssh:git")
        .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(index) = index {
        command.env("GIT_INDEX_FILE", index);
    }
    if let Some(header) = auth {
        // Configuration through the environment: a command line is readable by every account
        // of the host, a process's environment only by its own.
        command
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env("GIT_CONFIG_VALUE_0", header.as_str());
    }
    let what = args
        .iter()
        .find(|a| !a.starts_with('-') && !a.contains('/'))
        .copied()
        .unwrap_or_default();
    let output = tokio::time::timeout(GIT_TIMEOUT, command.output())
        .await
        .map_err(|_| ServiceError::Busy(format!("git {what} took more than a minute")))?
        .map_err(|e| ServiceError::Internal(format!("git cannot run: {e}")))?;
    if !output.status.success() {
        tracing::warn!(command = what, status = %output.status, "git failed");
        return Err(ServiceError::Internal(format!("git {what} failed")));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
