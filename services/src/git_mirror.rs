//! Reading a repository through the Git protocol: a bare mirror per repository link (see
//! [`crate::git_cli`]), fetched on demand; its branches and its commits (each with the jobs of
//! the link's project it names).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use domain::policy::{Action, Object};
use domain::ProjectLink;

use crate::git_cli::git;
use crate::{Caller, Hub, ServiceError, ServiceResult};
/// Commits listed at most.
pub const MAX_COMMITS: u32 = 200;

pub use domain::git::{Branch, Commit, MergeRequest};

/// The branches of a repository link, by name (whoever may read the project).
pub async fn branches(hub: &Hub, caller: &Caller, link_id: i64) -> ServiceResult<Vec<Branch>> {
    let link = readable_repository(hub, caller, link_id).await?;
    if let Some(api) = hub.forges().api_of(&link)? {
        let token = link_token(hub, &link).await?;
        return hub.forges().branches(link.id, &api, token.as_ref()).await;
    }
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
        if !domain::action::plain_ref(name) {
            return Err(ServiceError::invalid(
                "ref",
                "must be a branch, a tag or a commit SHA",
            ));
        }
    }
    let link = readable_repository(hub, caller, link_id).await?;
    if let Some(api) = hub.forges().api_of(&link)? {
        let token = link_token(hub, &link).await?;
        let git_ref = wanted.or(link.default_branch.as_deref());
        let found = hub
            .forges()
            .commits(link.id, &api, token.as_ref(), git_ref, limit)
            .await?;
        return named_jobs(hub, link.project_id, found).await;
    }
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
    let found = log
        .split('\u{1e}')
        .filter_map(|record| parse_commit(record.trim_start_matches('\n')))
        .map(|(commit, message)| (commit, message.to_owned()))
        .collect();
    named_jobs(hub, project_id, found).await
}

/// Commits with the jobs of `project_id` their message names.
async fn named_jobs(
    hub: &Hub,
    project_id: i64,
    found: Vec<(Commit, String)>,
) -> ServiceResult<Vec<Commit>> {
    let texts: Vec<&str> = found.iter().map(|(_, message)| message.as_str()).collect();
    let jobs = own_jobs(hub, project_id, &texts).await?;
    Ok(found
        .into_iter()
        .zip(jobs)
        .map(|((commit, _), job_ids)| Commit { job_ids, ..commit })
        .collect())
}

/// For each text, the jobs of `project_id` it names (one query for all).
async fn own_jobs(hub: &Hub, project_id: i64, texts: &[&str]) -> ServiceResult<Vec<Vec<i64>>> {
    let named: Vec<Vec<i64>> = texts
        .iter()
        .map(|text| domain::git::job_references(text))
        .collect();
    let mut wanted: Vec<i64> = named.iter().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let own = hub
        .storage
        .read()
        .await?
        .jobs_of_project(project_id, &wanted)
        .await?;
    Ok(named
        .into_iter()
        .map(|jobs| jobs.into_iter().filter(|id| own.contains(id)).collect())
        .collect())
}

/// A repository's merge requests (GitHub pull requests, GitLab merge requests) in `state`,
/// most recently updated first, with their CI status and the jobs they name (whoever may read
/// the project). Repositories read through the Git protocol alone have none: 422.
pub async fn merge_requests(
    hub: &Hub,
    caller: &Caller,
    link_id: i64,
    state: crate::forge_api::MergeRequestState,
) -> ServiceResult<Vec<MergeRequest>> {
    let link = readable_repository(hub, caller, link_id).await?;
    let Some(api) = hub.forges().api_of(&link)? else {
        return Err(ServiceError::invalid(
            "provider",
            "merge requests are read from GitHub or GitLab: this repository is read through the Git protocol alone",
        ));
    };
    let token = link_token(hub, &link).await?;
    let found = hub
        .forges()
        .merge_requests(link.id, &api, token.as_ref(), state)
        .await?;
    let texts: Vec<&str> = found.iter().map(|(_, words)| words.as_str()).collect();
    let jobs = own_jobs(hub, link.project_id, &texts).await?;
    Ok(found
        .into_iter()
        .zip(jobs)
        .map(|((merge_request, _), job_ids)| MergeRequest {
            job_ids,
            ..merge_request
        })
        .collect())
}

/// The link's token, from the project's secrets.
async fn link_token(
    hub: &Hub,
    link: &ProjectLink,
) -> ServiceResult<Option<zeroize::Zeroizing<String>>> {
    crate::forge::link_token(hub.secrets(), &hub.storage, link).await
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
    let link = hub.storage.link(link_id).await?;
    let project_id = link.project_id;
    let mirror = match hub.mirrors().having(link_id, &[from, to]).await {
        Some(mirror) => mirror,
        None => fetched_mirror(hub, &link).await?,
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
        url: None,
        job_ids: Vec::new(),
    };
    Some((commit, message))
}

pub(crate) async fn readable_repository(
    hub: &Hub,
    caller: &Caller,
    link_id: i64,
) -> ServiceResult<ProjectLink> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    crate::git::repository(&mut db, link_id).await
}

async fn fetched_mirror(hub: &Hub, link: &ProjectLink) -> ServiceResult<PathBuf> {
    let token = link_token(hub, link).await?;
    hub.mirrors().fetched(link, token.as_ref()).await
}
