//! The job page's "Code changes": the commits and merge requests linked to the job (by a
//! repository's webhooks naming `UHUB-<id>`), newest first.

use domain::{ChangeKind, CodeChange};
use leptos::prelude::*;

use crate::i18n::{t, tf};
use crate::AppError;

/// The commits and merge requests linked to a job (the same use case as
/// `GET /api/v1/jobs/{id}/changes`).
#[server(prefix = "/sfn", endpoint = "jobs/changes")]
pub async fn job_changes(job_id: i64) -> Result<Vec<CodeChange>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::git::changes(&hub, &caller, job_id).await?)
}

/// Only web addresses become links (a `git://` URL opens nothing in a browser).
fn web_url(url: Option<&str>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_owned)
}

#[component]
pub fn CodeChanges(job_id: i64) -> impl IntoView {
    let changes = Resource::new(move || job_id, job_changes);
    view! {
        <section class="card" aria-labelledby="changes-title" data-testid="job-changes">
            <h2 id="changes-title">{t("Code changes")}</h2>
            <Suspense fallback=|| view! { <p class="muted">{t("Loading…")}</p> }>
                {move || Suspend::new(async move {
                    match changes.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted">{tf("No commit or merge request names this job yet: write UHUB-{id} in a commit message, a branch name or a merge request's title.", &[("id", &job_id.to_string())])}</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="lines">
                                {list.into_iter().map(|change| {
                                    let reference = match change.kind {
                                        ChangeKind::Commit => change.sha.as_deref().map(|s| s.chars().take(10).collect::<String>()).unwrap_or_default(),
                                        ChangeKind::MergeRequest => change.number.map(|n| format!("!{n}")).unwrap_or_default(),
                                    };
                                    let kind = match change.kind {
                                        ChangeKind::Commit => t("commit"),
                                        ChangeKind::MergeRequest => t("merge request"),
                                    };
                                    let title = change.title.clone();
                                    view! {
                                        <li class="line" data-change-kind=change.kind.as_str()>
                                            <span class="chip">{kind}</span>
                                            <span class="mono small">{reference}</span>
                                            {match web_url(change.url.as_deref()) {
                                                Some(url) => view! { <a class="line__title link wrap" href=url rel="noopener noreferrer" target="_blank">{title}</a> }.into_any(),
                                                None => view! { <span class="line__title wrap">{title}</span> }.into_any(),
                                            }}
                                            <span class="muted small">{change.author.clone().unwrap_or_default()}</span>
                                            <span class="muted small">{crate::i18n::dates(&change.at.format("%e %b %Y %H:%M").to_string())}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <crate::ui::LoadError title=t("The code changes could not be loaded") error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
