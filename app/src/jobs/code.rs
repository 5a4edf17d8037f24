//! The job page's "Code changes": the commits and merge requests linked to the job (by a
//! repository's webhooks naming `UHUB-<id>`), newest first.

use domain::{ChangeKind, CodeChange};
use leptos::prelude::*;

use crate::i18n::{t, tf};
use crate::AppError;

/// The commits and merge requests linked to a job (the same use case as
/// `GET /api/v1/jobs/{id}/changes`), and whether the caller may link and unlink them: decided
/// by the server and carried with the data, so that the page renders alike on the server and
/// in the browser.
#[server(prefix = "/sfn", endpoint = "jobs/changes")]
pub async fn job_changes(job_id: i64) -> Result<(Vec<CodeChange>, bool), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::git::changes(&hub, &caller, job_id).await?;
    let may_change = services::git_manual::may_link(&hub, &caller, job_id).await?;
    Ok((changes, may_change))
}

/// The Git repositories of the job's project: where a change may be linked from.
#[server(prefix = "/sfn", endpoint = "jobs/repositories")]
pub async fn job_repositories(project_id: i64) -> Result<Vec<(i64, String)>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(
        services::links::list(&hub, &caller, project_id, Some(domain::LinkKind::GitRepo))
            .await?
            .into_iter()
            .map(|link| (link.id, link.name))
            .collect(),
    )
}

/// Links a commit (`abc1234…`) or a merge request (`!12`) of a repository to the job by hand.
#[server(prefix = "/sfn", endpoint = "jobs/changes/link")]
pub async fn link_change(
    job_id: i64,
    link_id: i64,
    reference: String,
) -> Result<CodeChange, AppError> {
    use services::git_manual::ChangeRef;
    let (hub, caller) = crate::server::use_case()?;
    let reference = reference.trim();
    let change = match reference.strip_prefix('!') {
        Some(number) => ChangeRef::MergeRequest(number.parse().map_err(|_| {
            services::ServiceError::invalid("reference", "a merge request is !<number>")
        })?),
        None => ChangeRef::Commit(reference.to_ascii_lowercase()),
    };
    Ok(services::git_manual::link(&hub, &caller, job_id, link_id, change).await?)
}

/// Unlinks a change from the job.
#[server(prefix = "/sfn", endpoint = "jobs/changes/unlink")]
pub async fn unlink_change(job_id: i64, change_id: i64) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::git_manual::unlink(&hub, &caller, job_id, change_id).await?)
}

/// Only web addresses become links (a `git://` URL opens nothing in a browser).
fn web_url(url: Option<&str>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_owned)
}

/// The job's code changes as the page's server component read them (`changes`), read again
/// after each link or unlink.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
pub fn CodeChanges(
    job_id: i64,
    project_id: i64,
    changes: Result<(Vec<CodeChange>, bool), AppError>,
) -> impl IntoView {
    crate::session::provide_for_island();
    let version = RwSignal::new(0u32);
    let changes = crate::ui::refreshed(changes, version, move || job_changes(job_id));
    let link = ServerAction::<LinkChange>::new();
    let unlink = ServerAction::<UnlinkChange>::new();
    let error = RwSignal::new(None::<AppError>);
    // One effect per action: each follows its own answers (a combined one stopped following
    // the second once the first had answered).
    let settle = move |outcome: Option<Result<(), AppError>>| match outcome {
        Some(Ok(())) => {
            error.set(None);
            version.update(|v| *v += 1);
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    };
    Effect::new(move |_| settle(link.value().get().map(|r| r.map(|_| ()))));
    Effect::new(move |_| settle(unlink.value().get()));
    view! {
        <section class="card" aria-labelledby="changes-title" data-testid="job-changes">
            <h2 id="changes-title">{t("Code changes")}</h2>
            {move || {
                    match changes.get() {
                        Ok((list, may_change)) => {
                            let form = may_change.then(|| view! { <LinkForm job_id project_id link error/> });
                            let shown = if list.is_empty() { view! {
                            <p class="muted">{tf("No commit or merge request names this job yet: write UHUB-{id} in a commit message, a branch name or a merge request's title.", &[("id", &job_id.to_string())])}</p>
                        }.into_any() } else { view! {
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
                                            {may_change.then(|| {
                                                let change_id = change.id;
                                                view! {
                                                    <span class="line__actions">
                                                        <button type="button" class="button button--small" aria-label=t("Unlink")
                                                            on:click=move |_| { unlink.dispatch(UnlinkChange { job_id, change_id }); }>{t("Unlink")}</button>
                                                    </span>
                                                }
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any() };
                            view! { {shown} {form} }.into_any()
                        }
                        Err(error) => view! { <crate::ui::LoadError title=t("The code changes could not be loaded") error/> }.into_any(),
                    }
            }}
        </section>
    }
}

/// A repository of the project and a commit SHA or `!number`, linked by hand.
#[component]
fn LinkForm(
    job_id: i64,
    project_id: i64,
    link: ServerAction<LinkChange>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let repositories = crate::ui::load_in_browser(move || job_repositories(project_id));
    let chosen = RwSignal::new(None::<i64>);
    let reference = RwSignal::new(String::new());
    view! {
        {move || match repositories.try_get().flatten() {
            Some(Ok(list)) if !list.is_empty() => {
                if chosen.get_untracked().is_none() {
                    chosen.set(list.first().map(|(id, _)| *id));
                }
                view! {
                    <form class="form--inline" data-testid="link-change" on:submit=move |ev| {
                        ev.prevent_default();
                        if let Some(link_id) = chosen.get_untracked() {
                            link.dispatch(LinkChange { job_id, link_id, reference: reference.get_untracked() });
                        }
                    }>
                        <label class="field">
                            <span class="small muted">{t("Repository")}</span>
                            <select class="input" name="change-repository"
                                on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                                {list.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                            </select>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("Commit SHA or !merge request")}</span>
                            <input class="input mono" name="change-reference" required autocomplete="off" placeholder="a1b2c3d or !12"
                                value=move || reference.try_get().unwrap_or_default() prop:value=move || reference.try_get().unwrap_or_default() on:input=move |ev| reference.set(event_target_value(&ev))/>
                        </label>
                        <button type="submit" class="button" prop:disabled=move || link.pending().get()>{t("Link")}</button>
                    </form>
                }.into_any()
            }
            _ => ().into_any(),
        }}
        {move || error.try_get().flatten().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
    }
}
