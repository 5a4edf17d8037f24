//! Reading a repository through the Git protocol: a bare mirror per repository link, kept
//! under the hub's mirrors directory, fetched on demand; its branches and its commits (each
//! with the jobs of the link's project it names).
//!
//! The `git` command runs with what it needs and nothing it could be talked into: the URL after
//! `--`, only the https, http, ssh and git transports (`GIT_ALLOW_PROTOCOL`), no terminal prompt,
//! no system or global configuration, a time limit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::policy::{Action, Object};
use domain::{LinkKind, ProjectLink};
use serde::Serialize;
use tokio::process::Command;

use crate::{Caller, Hub, ServiceError, ServiceResult};

/// A fetch or a listing longer than this is given up (the remote is unreachable or huge).
const GIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Commits listed at most.
pub const MAX_COMMITS: u32 = 200;

/// A branch of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Branch {
    pub name: String,
    pub sha: String,
    /// Whether the provider protects it (unknown through the Git protocol: `false`).
    pub protected: bool,
}

/// A commit of a repository, with the jobs it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Commit {
    pub sha: String,
    pub title: String,
    pub author: String,
    pub authored_at: DateTime<Utc>,
    /// Jobs of the link's project named by the commit's message (`UHUB-<id>`).
    pub job_ids: Vec<i64>,
}

/// The branches of a repository link, by name (whoever may read the project).
pub async fn branches(hub: &Hub, caller: &Caller, link_id: i64) -> ServiceResult<Vec<Branch>> {
    let link = readable_repository(hub, caller, link_id).await?;
    let mirror = fetched_mirror(hub, &link).await?;
    let listing = git(
        Some(&mirror),
        &[
            "for-each-ref",
            "--format=%(refname:short)%00%(objectname)",
            "refs/heads/",
        ],
    )
    .await?;
    let mut branches: Vec<Branch> = listing
        .lines()
        .filter_map(|line| line.split_once('\0'))
        .map(|(name, sha)| Branch {
            name: name.to_owned(),
            sha: sha.to_owned(),
            protected: false,
        })
        .collect();
    branches.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(branches)
}

/// The latest commits of `git_ref` (the link's default branch, else `HEAD`), newest first,
/// `limit` at most (1 to 200).
pub async fn commits(
    hub: &Hub,
    caller: &Caller,
    link_id: i64,
    git_ref: Option<&str>,
    limit: u32,
) -> ServiceResult<Vec<Commit>> {
    if !(1..=MAX_COMMITS).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be between 1 and 200"));
    }
    let wanted = git_ref.map(str::trim).filter(|r| !r.is_empty());
    if let Some(name) = wanted {
        // A ref, never an option nor a range: what `git log` is given stays one revision.
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
            && !name.starts_with('-')
            && !name.contains("..");
        if !plain || name.len() > 200 {
            return Err(ServiceError::invalid(
                "ref",
                "must be a branch, a tag or a commit SHA",
            ));
        }
    }
    let link = readable_repository(hub, caller, link_id).await?;
    let mirror = fetched_mirror(hub, &link).await?;
    let revision = wanted
        .map(str::to_owned)
        .or_else(|| link.default_branch.clone())
        .unwrap_or_else(|| "HEAD".to_owned());
    let count = format!("--max-count={limit}");
    let log = git(
        Some(&mirror),
        &["log", &count, COMMIT_FORMAT_LIST, &revision, "--"],
    )
    .await
    .map_err(|_| ServiceError::invalid("ref", "no such branch, tag or commit in the repository"))?;
    let mut found = Vec::new();
    let mut named = Vec::new();
    for record in log.split('\u{1e}') {
        let Some((commit, message)) = parse_commit(record.trim_start_matches('\n')) else {
            continue;
        };
        let jobs = domain::git::job_references(message);
        named.extend(jobs.iter().copied());
        found.push((commit, jobs));
    }
    named.sort_unstable();
    named.dedup();
    let own = hub
        .storage
        .read()
        .await?
        .jobs_of_project(link.project_id, &named)
        .await?;
    Ok(found
        .into_iter()
        .map(|(commit, jobs)| Commit {
            job_ids: jobs.into_iter().filter(|id| own.contains(id)).collect(),
            ..commit
        })
        .collect())
}

/// One commit of the link's repository, by SHA or unambiguous prefix (the mirror fetched now).
pub(crate) async fn commit(hub: &Hub, link: &ProjectLink, sha: &str) -> ServiceResult<Commit> {
    let mirror = fetched_mirror(hub, link).await?;
    let revision = format!("{sha}^{{commit}}");
    let shown = git(
        Some(&mirror),
        &["show", "-s", COMMIT_FORMAT, &revision, "--"],
    )
    .await
    .map_err(|_| ServiceError::invalid("sha", "no such commit in the repository"))?;
    parse_commit(&shown)
        .map(|(commit, _)| commit)
        .ok_or_else(|| ServiceError::invalid("sha", "no such commit in the repository"))
}

/// What `git show` / `git log` print of a commit: SHA, author, ISO date, message, NUL apart
/// (the listing ends each commit with U+001E).
const COMMIT_FORMAT: &str = "--format=%H%x00%an%x00%aI%x00%B";
const COMMIT_FORMAT_LIST: &str = "--format=%H%x00%an%x00%aI%x00%B%x1e";

/// A commit printed in [`COMMIT_FORMAT`], and its whole message (without its jobs).
fn parse_commit(printed: &str) -> Option<(Commit, &str)> {
    let mut fields = printed.splitn(4, '\0');
    let (sha, author, at, message) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let commit = Commit {
        sha: sha.to_owned(),
        title: domain::git::first_line(message),
        author: author.to_owned(),
        authored_at: DateTime::parse_from_rfc3339(at)
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default(),
        job_ids: Vec::new(),
    };
    Some((commit, message))
}

async fn readable_repository(
    hub: &Hub,
    caller: &Caller,
    link_id: i64,
) -> ServiceResult<ProjectLink> {
    caller.may(Action::Read, &Object::none(), None)?;
    let link = hub.storage.read().await?.link(link_id).await?;
    if link.kind != LinkKind::GitRepo {
        return Err(ServiceError::NotFound {
            what: "repository link",
        });
    }
    Ok(link)
}

/// The link's bare mirror, created or fetched now. One fetch at a time per mirror (git locks
/// its refs; a second fetch would fail rather than wait).
async fn fetched_mirror(hub: &Hub, link: &ProjectLink) -> ServiceResult<PathBuf> {
    let mirror = hub.git_mirrors.join(format!("link-{}.git", link.id));
    let lock = hub.git_mirror_lock(link.id);
    let _held = lock.lock().await;
    let unreachable = |_| {
        ServiceError::Unavailable(
            "the repository could not be read through Git (unreachable, refused, or not a repository)"
                .to_owned(),
        )
    };
    if mirror.join("HEAD").exists() {
        // The location may have changed since the mirror was made.
        git(
            Some(&mirror),
            &["remote", "set-url", "origin", "--", &link.location],
        )
        .await?;
        git(Some(&mirror), &["fetch", "--quiet", "--prune", "origin"])
            .await
            .map_err(unreachable)?;
    } else {
        std::fs::create_dir_all(&hub.git_mirrors)
            .map_err(|e| ServiceError::Internal(format!("mirrors directory: {e}")))?;
        let target = mirror.to_string_lossy().into_owned();
        git(
            None,
            &[
                "clone",
                "--mirror",
                "--quiet",
                "--",
                &link.location,
                &target,
            ],
        )
        .await
        .map_err(unreachable)?;
    }
    Ok(mirror)
}

/// Runs `git` (in `dir` when given) and answers its standard output; a failure or a timeout is
/// an error naming the command, never its output (which may echo a URL).
async fn git(dir: Option<&Path>, args: &[&str]) -> ServiceResult<String> {
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
    let what = args.first().copied().unwrap_or_default();
    let output = tokio::time::timeout(GIT_TIMEOUT, command.output())
        .await
        .map_err(|_| ServiceError::Unavailable(format!("git {what} took more than a minute")))?
        .map_err(|e| ServiceError::Internal(format!("git cannot run: {e}")))?;
    if !output.status.success() {
        tracing::warn!(command = what, status = %output.status, "git failed");
        return Err(ServiceError::Unavailable(format!("git {what} failed")));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
