//! The project sheet's "Code" tab: each linked Git repository read through the Git protocol
//! (branches, latest commits with the jobs they name) and its webhook deliveries.

use domain::{LinkKind, ProjectLink};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// A repository as the tab shows it: its branches and latest commits (the same use cases as
/// `GET /api/v1/links/{id}/branches` and `/commits`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryView {
    pub branches: Vec<(String, String)>,
    pub commits: Vec<CommitLine>,
}

/// A commit as the tab lists it, with the jobs of the project it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitLine {
    pub sha: String,
    pub title: String,
    pub author: String,
    pub authored_at: chrono::DateTime<chrono::Utc>,
    pub job_ids: Vec<i64>,
}

#[server(prefix = "/sfn", endpoint = "links/repository")]
pub async fn repository(link_id: i64) -> Result<RepositoryView, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let branches = services::git_mirror::branches(&hub, &caller, link_id).await?;
    let commits = services::git_mirror::commits(&hub, &caller, link_id, None, 20).await?;
    Ok(RepositoryView {
        branches: branches.into_iter().map(|b| (b.name, b.sha)).collect(),
        commits: commits
            .into_iter()
            .map(|c| CommitLine {
                sha: c.sha,
                title: c.title,
                author: c.author,
                authored_at: c.authored_at,
                job_ids: c.job_ids,
            })
            .collect(),
    })
}

#[component]
pub fn CodeTab(links: Vec<ProjectLink>) -> impl IntoView {
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
            {repositories.into_iter().map(|link| view! { <Repository link/> }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn Repository(link: ProjectLink) -> impl IntoView {
    let link_id = link.id;
    // Read in the browser: a remote may take seconds to answer, the page need not wait.
    let read = LocalResource::new(move || repository(link_id));
    view! {
        <section class="card" aria-label=link.name.clone() data-testid="repository">
            <h2 class="wrap">{link.name.clone()}</h2>
            <p class="muted small mono wrap">{link.location.clone()}</p>
            {move || match read.get() {
                None => view! { <p class="muted small" aria-busy="true">{t("Reading the repository…")}</p> }.into_any(),
                Some(Err(error)) => view! {
                    <p class="form-error" role="alert">{error.message} <span class="mono small">" (" {error.code} ")"</span></p>
                }.into_any(),
                Some(Ok(view)) => view! {
                    <h3 class="small muted">{t("Branches")}</h3>
                    <ul class="chips" data-testid="branches">
                        {view.branches.into_iter().map(|(name, sha)| view! {
                            <li class="chip" title=sha.clone()>{name}" "<span class="muted">{sha.chars().take(7).collect::<String>()}</span></li>
                        }).collect_view()}
                    </ul>
                    <h3 class="small muted">{t("Latest commits")}</h3>
                    {if view.commits.is_empty() {
                        view! { <p class="muted small">{t("No commit yet.")}</p> }.into_any()
                    } else {
                        view! {
                            <ul class="lines" data-testid="commits">
                                {view.commits.into_iter().map(|CommitLine { sha, title, author, authored_at: at, job_ids: jobs }| view! {
                                    <li class="line">
                                        <span class="mono small">{sha.chars().take(10).collect::<String>()}</span>
                                        <span class="line__title wrap">{title}</span>
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
                }.into_any(),
            }}
            <super::deliveries::Deliveries link_id signed=link.webhook_secret_name.is_some()/>
        </section>
    }
}
