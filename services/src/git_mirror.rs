//! Reading a repository through the Git protocol: a bare mirror per repository link (see
//! [`crate::git_cli`]), fetched on demand; its branches and its commits (each with the jobs of
//! the link's project it names).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use domain::policy::{Action, Object};
use domain::{LinkKind, ProjectLink};
use serde::Serialize;

use crate::git_cli::git;
use crate::{Caller, Hub, ServiceError, ServiceResult};
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
        if !crate::git_cli::plain_ref(name) {
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
    with_jobs(hub, link.project_id, &log).await
}

/// The commits of a listing in [`COMMIT_FORMAT_LIST`], each with the jobs of `project_id` its
/// message names.
async fn with_jobs(hub: &Hub, project_id: i64, log: &str) -> ServiceResult<Vec<Commit>> {
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
        .jobs_of_project(project_id, &named)
        .await?;
    Ok(found
        .into_iter()
        .map(|(commit, jobs)| Commit {
            job_ids: jobs.into_iter().filter(|id| own.contains(id)).collect(),
            ..commit
        })
        .collect())
}

/// The commits reachable from `to` and not from `from` (what a deployment of `to` adds to one of
/// `from`), newest first, 200 at most, each with the jobs of the link's project it names. The
/// mirror is fetched only when it lacks one of them.
pub(crate) async fn commits_between(
    hub: &Hub,
    link_id: i64,
    from: &str,
    to: &str,
) -> ServiceResult<Vec<Commit>> {
    let mirrors = hub.mirrors();
    let mut mirror = mirrors.existing(link_id);
    let has_both = match &mirror {
        Some(dir) => {
            crate::git_cli::resolve(dir, from, "sha").await.is_ok()
                && crate::git_cli::resolve(dir, to, "sha").await.is_ok()
        }
        None => false,
    };
    let project_id;
    if has_both {
        project_id = hub.storage.link(link_id).await?.project_id;
    } else {
        let link = hub.storage.link(link_id).await?;
        project_id = link.project_id;
        mirror = Some(fetched_mirror(hub, &link).await?);
    }
    let Some(mirror) = mirror else {
        return Ok(Vec::new());
    };
    let count = format!("--max-count={MAX_COMMITS}");
    let range = format!("{from}..{to}");
    let Ok(log) = git(
        Some(&mirror),
        &["log", &count, COMMIT_FORMAT_LIST, &range, "--"],
    )
    .await
    else {
        // A commit gone from the repository (a force-push): nothing to list between them.
        return Ok(Vec::new());
    };
    with_jobs(hub, project_id, &log).await
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

async fn fetched_mirror(hub: &Hub, link: &ProjectLink) -> ServiceResult<PathBuf> {
    hub.mirrors().fetched(link).await
}
