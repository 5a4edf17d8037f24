//! The project sheet's "Code" tab: the deploy ledger (what was deployed where, and what changed
//! between two deployments), each linked Git repository read through the Git protocol
//! (branches, latest commits with the jobs they name) and its webhook deliveries. Read on the
//! server while the page streams; only the deliveries are an island.

use domain::{LinkKind, ProjectLink};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// A repository as the tab shows it: its branches and latest commits (the same use cases as
/// `GET /api/v1/links/{id}/branches` and `/commits`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryView {
    pub branches: Vec<(String, String, bool)>,
    pub commits: Vec<CommitLine>,
    /// Open merge requests with their CI status; `None` for a repository read through the Git
    /// protocol alone.
    pub merge_requests: Option<Vec<domain::git::MergeRequest>>,
}

/// A commit as the tab lists it, with the jobs of the project it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitLine {
    pub sha: String,
    pub title: String,
    pub author: String,
    pub authored_at: chrono::DateTime<chrono::Utc>,
    pub url: Option<String>,
    pub job_ids: Vec<i64>,
}

/// How long the page waits for a repository: past it the page says it is still being read (the
/// read goes on, so the mirror is fresh at the next look) rather than holding the page's stream,
/// which the page's scripts wait for.
#[cfg(feature = "ssr")]
const PAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

#[server(prefix = "/sfn", endpoint = "links/repository")]
pub async fn repository(link_id: i64) -> Result<RepositoryView, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let read = tokio::spawn(read_repository(hub, caller, link_id));
    match tokio::time::timeout(PAGE_WAIT, read).await {
        // Converted here, in the request's context, where a refusal sets its HTTP status.
        Ok(Ok(answer)) => answer.map_err(AppError::from),
        Ok(Err(_stopped)) => Err(AppError::new(
            "internal_error",
            "reading the repository stopped before it answered",
        )),
        Err(_waited) => Err(AppError::new(
            "repository_slow",
            "The repository has not answered yet: it is still being read. Reload the page in a moment.",
        )),
    }
}

/// Branches, latest commits and open merge requests of a repository link, as the caller may
/// read them.
#[cfg(feature = "ssr")]
async fn read_repository(
    hub: services::Hub,
    caller: services::Caller,
    link_id: i64,
) -> Result<RepositoryView, services::ServiceError> {
    let branches = services::git_mirror::branches(&hub, &caller, link_id).await?;
    let commits = services::git_mirror::commits(&hub, &caller, link_id, None, 20).await?;
    let merge_requests = match services::git_mirror::merge_requests(
        &hub,
        &caller,
        link_id,
        services::forge_api::MergeRequestState::Open,
    )
    .await
    {
        Ok(list) => Some(list),
        // Read through the Git protocol alone: no merge requests to show. (Another refusal,
        // such as a location naming no repository, is shown as the error it is.)
        Err(services::ServiceError::Invalid { field, .. }) if field == "provider" => None,
        Err(other) => return Err(other),
    };
    Ok(RepositoryView {
        merge_requests,
        branches: branches
            .into_iter()
            .map(|b| (b.name, b.sha, b.protected))
            .collect(),
        commits: commits
            .into_iter()
            .map(|c| CommitLine {
                sha: c.sha,
                title: c.title,
                author: c.author,
                authored_at: c.authored_at,
                url: c.url,
                job_ids: c.job_ids,
            })
            .collect(),
    })
}

/// A deployment as the ledger lists it (the use case of `GET /api/v1/projects/{id}/deployments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentLine {
    pub run_id: i64,
    pub job_id: i64,
    pub job_title: String,
    pub commit_sha: String,
    pub environment: Option<String>,
    pub by: Option<String>,
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// The commits since the previous deployment there: SHA and title.
    pub changes: Vec<(String, String)>,
    pub first: bool,
    /// The previous deployment there ran the same commit.
    pub same: bool,
}

#[server(prefix = "/sfn", endpoint = "projects/deployments")]
pub async fn deployments(project_id: i64) -> Result<Vec<DeploymentLine>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::deployments::list(&hub, &caller, project_id, None)
        .await?
        .into_iter()
        .map(|d| DeploymentLine {
            same: d.previous_sha.as_deref() == Some(d.commit_sha.as_str()),
            run_id: d.run_id,
            job_id: d.job_id,
            job_title: d.job_title,
            commit_sha: d.commit_sha,
            environment: d.environment,
            by: d.launched_by_username,
            at: d.at,
            first: d.previous_sha.is_none(),
            changes: d
                .changes_since_previous
                .into_iter()
                .map(|c| (c.sha, c.title))
                .collect(),
        })
        .collect())
}

/// The tab, drawn by the server: the ledger and each repository are read while the page streams
/// (each under its own placeholder), so the browser loads no code to show them; the one island
/// is each repository's webhook deliveries.
#[component]
pub fn CodeTab(project_id: i64, owner_id: Option<i64>, links: Vec<ProjectLink>) -> impl IntoView {
    let repositories: Vec<ProjectLink> = links
        .into_iter()
        .filter(|l| l.kind == LinkKind::GitRepo)
        .collect();
    if repositories.is_empty() {
        return view! {
            <p class="muted" data-testid="code-empty">{t("No Git repository is linked yet: add one in Repos & infrastructure, and name a job's UHUB-<id> in commits to see them here.")}</p>
        }.into_any();
    }
    view! {
        <div class="stack" data-testid="code-tab">
            <section class="card" aria-labelledby="ledger-title" data-testid="deployments">
                <h2 id="ledger-title">{t("Deployments")}</h2>
                {crate::ui::with_listing(move || deployments(project_id), 2, ledger)}
            </section>
            {repositories.into_iter().map(|link| view! { <Repository link owner_id/> }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn Repository(link: ProjectLink, owner_id: Option<i64>) -> impl IntoView {
    let link_id = link.id;
    // Not a `Resource`: no browser code reads it again (see `ui::with_listing`).
    let read = AsyncDerived::new(move || repository(link_id));
    view! {
        <section class="card" aria-label=link.name.clone() data-testid="repository">
            <h2 class="wrap">{link.name.clone()}</h2>
            <p class="muted small mono wrap">{link.location.clone()}</p>
            <Suspense fallback=|| view! { <p class="muted small" aria-busy="true">{t("Reading the repository…")}</p> }>
                {move || Suspend::new(async move { repository_view(read.await) })}
            </Suspense>
            <DeliveriesIsland link_id signed=link.webhook_secret_name.is_some() owner_id/>
        </section>
    }
}

/// A repository's webhook deliveries: opened, listed and replayed in the browser.
#[cfg_attr(any(feature = "ssr", feature = "island-sheet-code"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-sheet-code")), component)]
pub fn DeliveriesIsland(link_id: i64, signed: bool, owner_id: Option<i64>) -> impl IntoView {
    crate::session::provide_for_island();
    view! { <super::deliveries::Deliveries link_id signed owner_id/> }
}

fn repository_view(read: Result<RepositoryView, AppError>) -> impl IntoView {
    let view = match read {
        Err(error) => {
            return view! {
                <p class="form-error" role="alert">{error.message} <span class="mono small">" (" {error.code} ")"</span></p>
            }
            .into_any()
        }
        Ok(view) => view,
    };
    view! {
        <h3 class="small muted">{t("Branches")}</h3>
        <ul class="chips" data-testid="branches">
            {view.branches.into_iter().map(|(name, sha, protected)| view! {
                <li class="chip" title=sha.clone()>{name}" "<span class="muted">{sha.chars().take(7).collect::<String>()}</span>
                    {protected.then(|| view! { " · " <span class="muted">{t("protected")}</span> })}
                </li>
            }).collect_view()}
        </ul>
        {view.merge_requests.map(|list| view! {
            <h3 class="small muted">{t("Open merge requests")}</h3>
            {if list.is_empty() {
                view! { <p class="muted small">{t("No open merge request.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="lines" data-testid="merge-requests">
                        {list.into_iter().map(|mr| view! {
                            <li class="line">
                                <span class="mono small">{format!("!{}", mr.number)}</span>
                                <crate::ui::TitleLink title=mr.title.clone() url=mr.url.clone()/>
                                <span class="muted small mono">{format!("{} → {}", mr.source_branch, mr.target_branch)}</span>
                                <span class="muted small">{mr.author.clone().unwrap_or_default()}</span>
                                {mr.ci_status.clone().map(|ci| view! {
                                    <span class="chip" data-ci=ci.clone()>{tf("CI: {status}", &[("status", &ci)])}</span>
                                })}
                                {mr.job_ids.iter().map(|job| view! {
                                    <a class="chip link" href=format!("/jobs/{job}")>{tf("job #{id}", &[("id", &job.to_string())])}</a>
                                }).collect_view()}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        })}
        <h3 class="small muted">{t("Latest commits")}</h3>
        {if view.commits.is_empty() {
            view! { <p class="muted small">{t("No commit yet.")}</p> }.into_any()
        } else {
            view! {
                <ul class="lines" data-testid="commits">
                    {view.commits.into_iter().map(|CommitLine { sha, title, author, authored_at: at, url, job_ids: jobs }| view! {
                        <li class="line">
                            <span class="mono small">{sha.chars().take(10).collect::<String>()}</span>
                            <crate::ui::TitleLink title url/>
                            <span class="muted small">{author}</span>
                            <span class="muted small">{crate::i18n::dates(&at.format("%e %b %H:%M").to_string())}</span>
                            {jobs.into_iter().map(|job| view! {
                                <a class="chip link" href=format!("/jobs/{job}")>{tf("job #{id}", &[("id", &job.to_string())])}</a>
                            }).collect_view()}
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
    .into_any()
}

/// The deploy ledger: successful runs of a commit, newest first, with what changed since the
/// previous deployment of the same repository in the same environment.
fn ledger(read: Result<Vec<DeploymentLine>, AppError>) -> impl IntoView {
    match read {
        Err(error) => view! {
            <p class="form-error" role="alert">{error.message} <span class="mono small">" (" {error.code} ")"</span></p>
        }.into_any(),
        Ok(list) if list.is_empty() => view! {
            <p class="muted small">{t("Nothing deployed from a repository yet: a job whose script or container comes from a repository records its commit when it runs.")}</p>
        }.into_any(),
        Ok(list) => view! {
            <ul class="lines">
                {list.into_iter().map(|d| {
                    let count = d.changes.len();
                    let since = if d.first {
                        t("first deployment here").to_owned()
                    } else if d.same {
                        t("the same commit as the previous one").to_owned()
                    } else {
                        tf("{n} commit(s) since the previous one", &[("n", &count.to_string())])
                    };
                    view! {
                        <li class="line line--stack" data-testid="deployment">
                            <div class="line__row">
                                <span class="chip">{d.environment.clone().unwrap_or_else(|| t("no environment").to_owned())}</span>
                                <a class="mono small link" href=format!("/runs/{}", d.run_id) title=d.commit_sha.clone()>{d.commit_sha.chars().take(10).collect::<String>()}</a>
                                <a class="line__title link wrap" href=format!("/jobs/{}", d.job_id)>{d.job_title.clone()}</a>
                                <span class="muted small">{d.by.clone().unwrap_or_else(|| "uHub".to_owned())}</span>
                                <span class="muted small">{d.at.map(|at| crate::i18n::dates(&at.format("%e %b %Y %H:%M").to_string())).unwrap_or_default()}</span>
                            </div>
                            {if count == 0 {
                                view! { <p class="muted small">{since}</p> }.into_any()
                            } else {
                                view! {
                                    <details class="small">
                                        <summary>{since}</summary>
                                        <ul class="plain">
                                            {d.changes.into_iter().map(|(sha, title)| view! {
                                                <li><span class="mono">{sha.chars().take(10).collect::<String>()}</span>" "<span class="wrap">{title}</span></li>
                                            }).collect_view()}
                                        </ul>
                                    </details>
                                }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }.into_any(),
    }
}
