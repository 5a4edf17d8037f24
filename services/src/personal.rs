//! A person's own Git identity: their GitHub and GitLab tokens (write-only, in the secret store)
//! and "My changes" — their open pull / merge requests and latest commits in the repositories
//! the team linked, read with their own token (so they see what they may see, no more).

use chrono::{DateTime, Utc};
use domain::git::{Commit, MergeRequest};
use domain::policy::{Action, Object};
use domain::{GitProvider, LinkKind, ProjectLink, ProjectState};
use serde::Serialize;
use serde_json::Value;
use tracing::instrument;
use zeroize::Zeroizing;

use crate::forge::{Api, Method};
use crate::{Caller, Hub, ServiceError, ServiceResult};

/// Repositories read for "My changes" at most (each costs a few requests).
const REPOSITORIES_READ: usize = 10;
/// Commits per repository.
const COMMITS_PER_REPOSITORY: u32 = 5;

/// A personal token as listed: which provider and when it was set, never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalToken {
    pub provider: GitProvider,
    pub updated_at: DateTime<Utc>,
}

/// One of the person's changes, with the repository it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepositoryRef {
    pub link_id: i64,
    pub project_id: i64,
    pub name: String,
}

/// An open merge request of the person, in its repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyMergeRequest {
    pub repository: RepositoryRef,
    pub merge_request: MergeRequest,
}

/// A commit of the person, in its repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyCommit {
    pub repository: RepositoryRef,
    pub commit: Commit,
}

/// A repository that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unreadable {
    pub repository: RepositoryRef,
    pub reason: String,
}

/// What "My changes" shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyChanges {
    /// Open pull / merge requests the person authored.
    pub merge_requests: Vec<MyMergeRequest>,
    /// Their latest commits, newest first.
    pub commits: Vec<MyCommit>,
    /// Repositories that could not be read, and why (the others are still shown).
    pub unreadable: Vec<Unreadable>,
    /// The providers the person has a token for (none: nothing to read).
    pub providers: Vec<GitProvider>,
}

/// The providers a personal token is for.
fn checked_provider(provider: GitProvider) -> ServiceResult<&'static str> {
    match provider {
        GitProvider::Github => Ok("github"),
        GitProvider::Gitlab => Ok("gitlab"),
        GitProvider::Git => Err(ServiceError::invalid(
            "provider",
            "personal tokens are for github or gitlab",
        )),
    }
}

/// Sets (or replaces) the caller's token for `provider`; it can be replaced or removed, never
/// read back. Audited by provider only.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn put_token(
    hub: &Hub,
    caller: &Caller,
    provider: GitProvider,
    token: &str,
) -> ServiceResult<()> {
    let provider = checked_provider(provider)?;
    let token = token.trim();
    if !crate::forge::usable_token(token) {
        return Err(ServiceError::invalid(
            "token",
            "must be a token: 1 to 1024 printable characters, no spaces",
        ));
    }
    let mut tx = hub
        .secrets()
        .put_personal(&hub.storage, caller.id(), provider, token)
        .await?;
    crate::storage::audit::write(
        &mut tx,
        &caller.actor(),
        "me.git_token.put",
        Some(("user", caller.id())),
        &serde_json::json!({ "provider": provider }),
    )
    .await?;
    tx.commit().await
}

/// Removes the caller's token for `provider` (nothing to remove is not an error).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn delete_token(hub: &Hub, caller: &Caller, provider: GitProvider) -> ServiceResult<()> {
    let provider = checked_provider(provider)?;
    let mut tx = hub
        .secrets()
        .delete_personal(&hub.storage, caller.id(), provider)
        .await?;
    crate::storage::audit::write(
        &mut tx,
        &caller.actor(),
        "me.git_token.delete",
        Some(("user", caller.id())),
        &serde_json::json!({ "provider": provider }),
    )
    .await?;
    tx.commit().await
}

/// The caller's tokens: providers and dates.
pub async fn tokens(hub: &Hub, caller: &Caller) -> ServiceResult<Vec<PersonalToken>> {
    let mut db = hub.storage.read().await?;
    let mut found = Vec::new();
    for provider in [GitProvider::Github, GitProvider::Gitlab] {
        if let Some(updated_at) = hub
            .secrets()
            .personal_updated_at(&mut db, caller.id(), provider.as_str())
            .await?
        {
            found.push(PersonalToken {
                provider,
                updated_at,
            });
        }
    }
    Ok(found)
}

/// The caller's open pull / merge requests and latest commits in the team's GitHub and GitLab
/// repositories (of active projects), read with the caller's own tokens.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn my_changes(hub: &Hub, caller: &Caller) -> ServiceResult<MyChanges> {
    caller.may(Action::Read, &Object::none(), None)?;
    let mut db = hub.storage.read().await?;
    let mut tokens: Vec<(GitProvider, Zeroizing<String>)> = Vec::new();
    for provider in [GitProvider::Github, GitProvider::Gitlab] {
        if let Some(token) = hub
            .secrets()
            .personal(&mut db, caller.id(), provider.as_str())
            .await?
        {
            tokens.push((provider, token));
        }
    }
    let mut changes = MyChanges {
        providers: tokens.iter().map(|(p, _)| *p).collect(),
        ..MyChanges::default()
    };
    if tokens.is_empty() {
        return Ok(changes);
    }
    let mut repositories: Vec<ProjectLink> = Vec::new();
    // Only as many projects' links as the repositories read need.
    'projects: for project in db.list_project_summaries().await? {
        if project.state != ProjectState::Active {
            continue;
        }
        for link in db.list_links(project.id, Some(LinkKind::GitRepo)).await? {
            if tokens.iter().any(|(p, _)| Some(*p) == link.provider) {
                repositories.push(link);
                if repositories.len() == REPOSITORIES_READ {
                    break 'projects;
                }
            }
        }
    }
    drop(db);
    let mut identities: Vec<(String, String)> = Vec::new();
    for link in repositories {
        let repository = RepositoryRef {
            link_id: link.id,
            project_id: link.project_id,
            name: link.name.clone(),
        };
        let Some((_, token)) = tokens.iter().find(|(p, _)| Some(*p) == link.provider) else {
            continue;
        };
        match read_repository(hub, &link, token, &mut identities).await {
            Ok((merge_requests, commits)) => {
                changes
                    .merge_requests
                    .extend(
                        merge_requests
                            .into_iter()
                            .map(|merge_request| MyMergeRequest {
                                repository: repository.clone(),
                                merge_request,
                            }),
                    );
                changes
                    .commits
                    .extend(commits.into_iter().map(|commit| MyCommit {
                        repository: repository.clone(),
                        commit,
                    }));
            }
            Err(error) => changes.unreadable.push(Unreadable {
                repository,
                reason: error.to_string(),
            }),
        }
    }
    changes
        .commits
        .sort_by_key(|c| std::cmp::Reverse(c.commit.authored_at));
    Ok(changes)
}

/// The person's open merge requests and latest commits in one repository; `identities` keeps
/// who the token belongs to per API (one request per API, not per repository).
async fn read_repository(
    hub: &Hub,
    link: &ProjectLink,
    token: &Zeroizing<String>,
    identities: &mut Vec<(String, String)>,
) -> ServiceResult<(Vec<MergeRequest>, Vec<Commit>)> {
    let Some(api) = hub.forges().api_of(link)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let forges = hub.forges();
    forges.takes_personal_tokens(&api)?;
    let base = match &api {
        Api::Github { base, .. } | Api::Gitlab { base, .. } => base.clone(),
    };
    let who = match identities.iter().find(|(b, _)| *b == base) {
        Some((_, who)) => who.clone(),
        None => {
            let me = forges
                .call(link.id, &api, Some(token), Method::Get, "/user", None)
                .await?;
            let who = me
                .pointer("/login")
                .or_else(|| me.pointer("/username"))
                .and_then(Value::as_str)
                .ok_or(ServiceError::RemoteRefused {
                    status: 200,
                    hint: ": the token's user has no login",
                })?
                .to_owned();
            identities.push((base, who.clone()));
            who
        }
    };
    let open = forges
        .merge_requests(
            link.id,
            &api,
            Some(token),
            crate::forge_api::MergeRequestState::Open,
        )
        .await?
        .into_iter()
        .map(|(mr, _)| mr)
        .filter(|mr| mr.author.as_deref() == Some(who.as_str()))
        .collect();
    let commits = forges
        .commits_by(link.id, &api, Some(token), &who, COMMITS_PER_REPOSITORY)
        .await?;
    Ok((open, commits))
}
