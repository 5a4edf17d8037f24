//! What uHub reads and writes through a repository's API (see [`crate::forge`] for the
//! clients, tokens, caches and errors): branches, commits, merge requests with their CI status,
//! and the commit statuses of runs — GitHub's and GitLab's answers mapped to one shape.

use domain::git::{Branch, Commit, MergeRequest};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::forge::{Api, Forges, Method};
use crate::ServiceResult;

/// Which merge requests a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MergeRequestState {
    Open,
    Merged,
    Closed,
    All,
}

/// Merge requests whose CI status is read (one request each).
const CI_STATUSES_READ: usize = 20;
/// Merge requests listed at most.
const MERGE_REQUESTS_LISTED: usize = 50;

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn at(value: &Value, pointer: &str) -> chrono::DateTime<chrono::Utc> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

fn items(answer: Value) -> Vec<Value> {
    match answer {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// A path segment or query value, percent-encoded.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl Forges {
    /// A repository's branches (100 at most), by name.
    pub async fn branches(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
    ) -> ServiceResult<Vec<Branch>> {
        let (path, sha) = match api {
            Api::Github { owner, repo, .. } => (
                format!("/repos/{owner}/{repo}/branches?per_page=100"),
                "/commit/sha",
            ),
            Api::Gitlab { project, .. } => (
                format!("/projects/{project}/repository/branches?per_page=100"),
                "/commit/id",
            ),
        };
        let answer = self
            .call(link_id, api, token, Method::Get, &path, None)
            .await?;
        let mut branches: Vec<Branch> = items(answer)
            .iter()
            .filter_map(|b| {
                Some(Branch {
                    name: text(b, "/name")?,
                    sha: text(b, sha).unwrap_or_default(),
                    protected: b
                        .pointer("/protected")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
            })
            .collect();
        branches.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(branches)
    }

    /// A ref's latest commits (`limit` at most), newest first, each with its whole message.
    pub async fn commits(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
        git_ref: Option<&str>,
        limit: u32,
    ) -> ServiceResult<Vec<(Commit, String)>> {
        let on_ref = match (api, git_ref) {
            (_, None) => String::new(),
            (Api::Github { .. }, Some(r)) => format!("&sha={}", encoded(r)),
            (Api::Gitlab { .. }, Some(r)) => format!("&ref_name={}", encoded(r)),
        };
        self.commits_where(link_id, api, token, &on_ref, limit)
            .await
    }

    /// Commits of a listing narrowed by `filter` (query parameters, each `&name=value`).
    async fn commits_where(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
        filter: &str,
        limit: u32,
    ) -> ServiceResult<Vec<(Commit, String)>> {
        let path = match api {
            Api::Github { owner, repo, .. } => {
                format!("/repos/{owner}/{repo}/commits?per_page={limit}{filter}")
            }
            Api::Gitlab { project, .. } => {
                format!("/projects/{project}/repository/commits?per_page={limit}{filter}")
            }
        };
        let answer = self
            .call(link_id, api, token, Method::Get, &path, None)
            .await?;
        Ok(items(answer)
            .iter()
            .filter_map(|c| match api {
                Api::Github { .. } => {
                    let message = text(c, "/commit/message").unwrap_or_default();
                    Some((
                        Commit {
                            sha: text(c, "/sha")?,
                            title: domain::git::first_line(&message),
                            author: text(c, "/commit/author/name").unwrap_or_default(),
                            authored_at: at(c, "/commit/author/date"),
                            url: text(c, "/html_url"),
                            job_ids: Vec::new(),
                        },
                        message,
                    ))
                }
                Api::Gitlab { .. } => {
                    let message = text(c, "/message").unwrap_or_default();
                    Some((
                        Commit {
                            sha: text(c, "/id")?,
                            title: text(c, "/title")
                                .unwrap_or_else(|| domain::git::first_line(&message)),
                            author: text(c, "/author_name").unwrap_or_default(),
                            authored_at: at(c, "/authored_date"),
                            url: text(c, "/web_url"),
                            job_ids: Vec::new(),
                        },
                        message,
                    ))
                }
            })
            .collect())
    }

    /// The latest commits of `author` (a GitHub login, a GitLab user name), newest first.
    pub async fn commits_by(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
        author: &str,
        limit: u32,
    ) -> ServiceResult<Vec<Commit>> {
        Ok(self
            .commits_where(
                link_id,
                api,
                token,
                &format!("&author={}", encoded(author)),
                limit,
            )
            .await?
            .into_iter()
            .map(|(commit, _)| commit)
            .collect())
    }

    /// The repository's merge requests in `state` (50 at most, most recently updated first),
    /// each with the text that may name jobs (title, description, source branch) and, for the
    /// first 20, the CI status of its head commit.
    pub async fn merge_requests(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
        state: MergeRequestState,
    ) -> ServiceResult<Vec<(MergeRequest, String)>> {
        let asked = match (api, state) {
            (Api::Github { .. }, MergeRequestState::Open) => "open",
            (Api::Github { .. }, MergeRequestState::Merged | MergeRequestState::Closed) => "closed",
            (Api::Github { .. }, MergeRequestState::All) => "all",
            (Api::Gitlab { .. }, MergeRequestState::Open) => "opened",
            (Api::Gitlab { .. }, MergeRequestState::Merged) => "merged",
            (Api::Gitlab { .. }, MergeRequestState::Closed) => "closed",
            (Api::Gitlab { .. }, MergeRequestState::All) => "all",
        };
        let path = match api {
            Api::Github { owner, repo, .. } => format!(
                "/repos/{owner}/{repo}/pulls?state={asked}&sort=updated&direction=desc&per_page={MERGE_REQUESTS_LISTED}"
            ),
            Api::Gitlab { project, .. } => format!(
                "/projects/{project}/merge_requests?state={asked}&order_by=updated_at&per_page={MERGE_REQUESTS_LISTED}"
            ),
        };
        let answer = self
            .call(link_id, api, token, Method::Get, &path, None)
            .await?;
        let mut found = Vec::new();
        for item in items(answer).iter().take(MERGE_REQUESTS_LISTED) {
            let merge_request = match api {
                Api::Github { .. } => {
                    let merged = item.pointer("/merged_at").is_some_and(|m| !m.is_null());
                    let state = match text(item, "/state").as_deref() {
                        Some("open") => "open",
                        _ if merged => "merged",
                        _ => "closed",
                    };
                    MergeRequest {
                        number: item
                            .pointer("/number")
                            .and_then(Value::as_i64)
                            .unwrap_or_default(),
                        title: text(item, "/title").unwrap_or_default(),
                        source_branch: text(item, "/head/ref").unwrap_or_default(),
                        target_branch: text(item, "/base/ref").unwrap_or_default(),
                        author: text(item, "/user/login"),
                        state: state.to_owned(),
                        url: text(item, "/html_url"),
                        ci_status: None,
                        sha: text(item, "/head/sha"),
                        job_ids: Vec::new(),
                    }
                }
                Api::Gitlab { .. } => MergeRequest {
                    number: item
                        .pointer("/iid")
                        .and_then(Value::as_i64)
                        .unwrap_or_default(),
                    title: text(item, "/title").unwrap_or_default(),
                    source_branch: text(item, "/source_branch").unwrap_or_default(),
                    target_branch: text(item, "/target_branch").unwrap_or_default(),
                    author: text(item, "/author/username"),
                    state: match text(item, "/state").as_deref() {
                        Some("opened") => "open",
                        Some("merged") => "merged",
                        _ => "closed",
                    }
                    .to_owned(),
                    url: text(item, "/web_url"),
                    ci_status: None,
                    sha: text(item, "/sha"),
                    job_ids: Vec::new(),
                },
            };
            // GitHub lists merged and closed together: the state asked for decides.
            let wanted = match state {
                MergeRequestState::Merged => merge_request.state == "merged",
                MergeRequestState::Closed => merge_request.state == "closed",
                _ => true,
            };
            if wanted {
                let words = format!(
                    "{}\n{}\n{}",
                    merge_request.title,
                    text(item, "/body")
                        .or_else(|| text(item, "/description"))
                        .unwrap_or_default(),
                    merge_request.source_branch
                );
                found.push((merge_request, words));
            }
        }
        for (merge_request, _) in found.iter_mut().take(CI_STATUSES_READ) {
            if let Some(sha) = merge_request.sha.clone() {
                merge_request.ci_status = self.ci_status(link_id, api, token, &sha).await?;
            }
        }
        Ok(found)
    }

    /// The combined CI status of a commit: GitHub's combined status, GitLab's last pipeline.
    pub async fn ci_status(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
        sha: &str,
    ) -> ServiceResult<Option<String>> {
        let sha = encoded(sha);
        let (path, pointer) = match api {
            Api::Github { owner, repo, .. } => (
                format!("/repos/{owner}/{repo}/commits/{sha}/status"),
                "/state",
            ),
            Api::Gitlab { project, .. } => (
                format!("/projects/{project}/repository/commits/{sha}"),
                "/last_pipeline/status",
            ),
        };
        let answer = self
            .call(link_id, api, token, Method::Get, &path, None)
            .await?;
        // GitHub answers `pending` for a commit no status was ever posted on.
        let none_posted = answer.pointer("/total_count").and_then(Value::as_i64) == Some(0);
        Ok(text(&answer, pointer).filter(|_| !none_posted))
    }

    /// Posts a commit status: GitHub's `success` / `failure` / `error` / `pending`, GitLab's
    /// `success` / `failed` / `canceled` / `running` / `pending`, under `context` (`uhub/<job>`).
    pub async fn post_status(
        &self,
        link_id: i64,
        api: &Api,
        token: Option<&Zeroizing<String>>,
        sha: &str,
        status: &CommitStatus<'_>,
    ) -> ServiceResult<()> {
        let sha = encoded(sha);
        let (path, body) = match api {
            Api::Github { owner, repo, .. } => (
                format!("/repos/{owner}/{repo}/statuses/{sha}"),
                serde_json::json!({
                    "state": status.github_state, "target_url": status.target_url,
                    "description": status.description, "context": status.context,
                }),
            ),
            Api::Gitlab { project, .. } => (
                format!("/projects/{project}/statuses/{sha}"),
                serde_json::json!({
                    "state": status.gitlab_state, "target_url": status.target_url,
                    "description": status.description, "name": status.context,
                }),
            ),
        };
        self.call(link_id, api, token, Method::Post, &path, Some(&body))
            .await
            .map(|_| ())
    }
}

/// A run's state as a commit status.
#[derive(Debug, Clone)]
pub struct CommitStatus<'a> {
    pub github_state: &'a str,
    pub gitlab_state: &'a str,
    pub target_url: &'a str,
    pub description: &'a str,
    pub context: &'a str,
}
