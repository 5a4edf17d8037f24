//! `/projects/:id`, the project sheet: one tab per facet — overview, environments, jobs,
//! backlog and milestones, links (repos, inventories, plans, clusters), incidents and activity.

use domain::policy::{Action, Object, Subject};
use domain::ProjectContext;
use leptos::prelude::*;

use crate::AppError;
use leptos_router::hooks::use_query_map;

use super::form::ProjectForm;
use crate::i18n::{t, tf};
use crate::session::Me;
use crate::ui::PageTitle;
use crate::ui::TabLinks;

/// A project's whole sheet: the same assembled context tools and agents read.
#[server(prefix = "/sfn", endpoint = "projects/sheet")]
pub async fn project_sheet(project_id: i64) -> Result<domain::ProjectContext, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::projects::context(&hub, &caller, project_id).await?)
}

/// `/projects/:id`: the project sheet, one tab per facet (`?tab=`). Rendered on the server;
/// the edit button and the interactive tabs are islands, each in its own browser bundle
/// (`layout::page_bundle`), and a tab is a page of its own (a link, a page load).
#[component]
#[inline(never)] // a route's page: see `App`
pub fn ProjectSheetPage() -> impl IntoView {
    use crate::i18n::t;
    let id = crate::ui::route_id("id");
    let sheet = crate::ui::page_object(move || project_sheet(id.get()));
    view! {
        <PageTitle text=t("Project")/>
        <Suspense fallback=|| view! { <crate::ui::SkeletonCards count=3/> }>
            {move || Suspend::new(async move {
                match sheet.await {
                    Ok(context) => view! { <Sheet context/> }.into_any(),
                    Err(error) => view! { <crate::ui::LoadError title=t("The project could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The tabs whose content is an island, each in its own browser bundle `sheet-<tab>`; the
/// others (overview, jobs, incidents, activity) are HTML with the edit button's bundle `sheet`.
pub const INTERACTIVE_TABS: &[&str] = &[
    "environments",
    "backlog",
    "links",
    "code",
    "ansible",
    "terraform",
    "kubernetes",
    "secrets",
    "settings",
];

#[component]
pub fn Sheet(context: ProjectContext) -> impl IntoView {
    let query = use_query_map();
    let tab = query.with_untracked(|q| q.get("tab").unwrap_or_else(|| "overview".to_owned()));
    let project = context.project.clone();
    let base = format!("/projects/{}", project.id);
    let tabs = vec![
        ("overview", t("Overview")),
        ("environments", t("Environments")),
        ("jobs", t("Jobs")),
        ("backlog", t("Backlog")),
        ("links", t("Repos & infrastructure")),
        ("code", t("Code")),
        ("ansible", t("Ansible")),
        ("terraform", t("Terraform")),
        ("kubernetes", t("Kubernetes")),
        ("secrets", t("Secrets")),
        ("settings", t("Settings")),
        ("incidents", t("Incidents")),
        ("activity", t("Activity")),
    ];
    let tabs = tabs
        .into_iter()
        .map(|(key, label)| (key.to_owned(), label.to_owned()))
        .collect::<Vec<_>>();
    let current = tab.clone();
    let (project_id, owner_id) = (project.id, project.owner_id);
    let environments = || context.project.environments.clone();
    let body = match tab.as_str() {
        "environments" => view! {
            <EnvironmentsIsland project_id owner_id environments=context.environments.clone()/>
        }
        .into_any(),
        "jobs" => jobs(&context).into_any(),
        "backlog" => view! {
            <BacklogIsland project_id owner_id items=context.backlog.clone()/>
        }
        .into_any(),
        "links" => view! {
            <LinksIsland project_id owner_id links=context.links.clone() environments=environments()/>
        }
        .into_any(),
        "ansible" => {
            let (environments, links) = (environments(), context.links.clone());
            crate::ui::with_listing(
                move || super::inventories::project_inventories(project_id),
                3,
                move |listing| view! {
                    <AnsibleIsland project_id owner_id environments=environments.clone() links=links.clone() listing/>
                },
            )
            .into_any()
        }
        "terraform" => crate::ui::with_listing(
            move || crate::terraform::project_plans(project_id),
            3,
            move |listing| view! { <TerraformIsland project_id listing/> },
        )
        .into_any(),
        "kubernetes" => {
            let environments = environments();
            crate::ui::with_listing(
                move || super::clusters::list_clusters(project_id),
                2,
                move |listing| view! {
                    <KubernetesIsland project_id owner_id environments=environments.clone() listing/>
                },
            )
            .into_any()
        }
        "code" => view! { <super::code::CodeTab project_id owner_id links=context.links.clone()/> }.into_any(),
        "secrets" => {
            let environments = environments();
            crate::ui::with_listing(
                move || super::secrets::list_secrets(project_id),
                3,
                move |listing| view! {
                    <SecretsIsland project_id owner_id environments=environments.clone() listing/>
                },
            )
            .into_any()
        }
        "settings" => view! { <SettingsIsland project=project.clone()/> }.into_any(),
        "incidents" => incidents(&context).into_any(),
        "activity" => activity(&context).into_any(),
        _ => overview(&context).into_any(),
    };
    view! {
        <header class="sheet-header" style:--project-color=project.color.to_string()>
            <p class="muted small"><a href="/projects" class="link">{t("Projects")}</a> " / "</p>
            <div class="sheet-header__row">
                <span class="project-card__swatch sheet-header__swatch" aria-hidden="true"></span>
                <h1 data-testid="project-name">{project.name.clone()}</h1>
                <span class=format!("badge badge--{}", project.state)>{crate::labels::project_state(project.state)}</span>
                <span class="topbar__spacer"></span>
                <ProjectEditor project=project.clone()/>
            </div>
            {(!project.description.is_empty()).then(|| view! { <p class="muted">{project.description.clone()}</p> })}
        </header>
        <TabLinks base tabs current/>
        <div class="sheet" data-testid="project-sheet">{body}</div>
    }
}

/// The sheet header's edit button and form (bundle `sheet` and every `sheet-<tab>`).
#[cfg_attr(any(feature = "ssr", feature = "island-sheet"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-sheet")), component)]
pub fn ProjectEditor(project: domain::ProjectSummary) -> impl IntoView {
    let Me(me) = crate::session::provide_for_island();
    let owner = project.owner_id;
    let may_edit = move || {
        me.get().and_then(Result::ok).is_some_and(|user| {
            let subject = Subject {
                user_id: user.id,
                role: user.role,
            };
            domain::policy::may(
                &subject,
                Action::UpdateProject,
                &Object::project(owner),
                None,
            )
            .is_allowed()
        })
    };
    let editing = RwSignal::new(false);
    let changed = crate::ui::reload_after_change();
    view! {
        <Transition fallback=|| ()>
            {move || may_edit().then(|| view! {
                <button type="button" class="button" data-testid="edit-project"
                    on:click=move |_| editing.set(true)>{t("Edit")}</button>
            })}
        </Transition>
        <Show when=move || editing.get()>
            <ProjectForm editing=Some(project.clone())
                on_close=Callback::new(move |_| editing.set(false))
                on_saved=Callback::new(move |_| { editing.set(false); changed.update(|v| *v += 1); })/>
        </Show>
    }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-environments"), island)]
#[cfg_attr(
    not(any(feature = "ssr", feature = "island-sheet-environments")),
    component
)]
pub fn EnvironmentsIsland(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<domain::EnvironmentRecord>,
) -> impl IntoView {
    crate::session::provide_for_island();
    let changed = crate::ui::reload_after_change();
    view! { <super::environments::EnvironmentsTab project_id owner_id environments changed/> }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-backlog"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-sheet-backlog")), component)]
pub fn BacklogIsland(
    project_id: i64,
    owner_id: Option<i64>,
    items: Vec<domain::BacklogItem>,
) -> impl IntoView {
    crate::session::provide_for_island();
    let changed = crate::ui::reload_after_change();
    view! { <super::backlog::BacklogTab project_id owner_id items changed/> }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-links"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-sheet-links")), component)]
pub fn LinksIsland(
    project_id: i64,
    owner_id: Option<i64>,
    links: Vec<domain::ProjectLink>,
    environments: Vec<String>,
) -> impl IntoView {
    crate::session::provide_for_island();
    let changed = crate::ui::reload_after_change();
    view! { <super::links::LinksTab project_id owner_id links environments changed/> }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-ansible"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-sheet-ansible")), component)]
pub fn AnsibleIsland(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<String>,
    links: Vec<domain::ProjectLink>,
    listing: Result<Vec<domain::ansible::AnsibleInventory>, AppError>,
) -> impl IntoView {
    crate::session::provide_for_island();
    view! { <super::inventories::InventoriesTab project_id owner_id environments links listing/> }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-terraform"), island)]
#[cfg_attr(
    not(any(feature = "ssr", feature = "island-sheet-terraform")),
    component
)]
pub fn TerraformIsland(
    project_id: i64,
    listing: Result<crate::terraform::PlanListing, AppError>,
) -> impl IntoView {
    crate::session::provide_for_island();
    view! { <crate::terraform::TerraformTab project_id listing/> }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-kubernetes"), island)]
#[cfg_attr(
    not(any(feature = "ssr", feature = "island-sheet-kubernetes")),
    component
)]
pub fn KubernetesIsland(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<String>,
    listing: Result<domain::kubernetes::ClusterList, AppError>,
) -> impl IntoView {
    crate::session::provide_for_island();
    view! { <super::clusters::ClustersTab project_id owner_id environments listing/> }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-secrets"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-sheet-secrets")), component)]
pub fn SecretsIsland(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<String>,
    listing: Result<Vec<domain::SecretInfo>, AppError>,
) -> impl IntoView {
    crate::session::provide_for_island();
    view! { <super::secrets::SecretsTab project_id owner_id environments listing/> }
}

#[cfg_attr(any(feature = "ssr", feature = "island-sheet-settings"), island)]
#[cfg_attr(
    not(any(feature = "ssr", feature = "island-sheet-settings")),
    component
)]
pub fn SettingsIsland(project: domain::ProjectSummary) -> impl IntoView {
    crate::session::provide_for_island();
    let changed = crate::ui::reload_after_change();
    view! { <super::settings::SettingsTab project changed/> }
}

fn overview(context: &ProjectContext) -> impl IntoView {
    let project = &context.project;
    let next_jobs: Vec<_> = context
        .jobs
        .iter()
        .filter(|job| job.planned_start >= chrono::Utc::now())
        .take(5)
        .cloned()
        .collect();
    let open_incidents = context
        .incidents
        .iter()
        .filter(|i| !i.status.is_over())
        .count();
    let incidents_class = if open_incidents > 0 {
        "stat stat--failed"
    } else {
        "stat stat--calm"
    };
    view! {
        <div class="stats">
            <div class="stat stat--accent"><span class="stat__value">{context.jobs.len()}</span><span class="stat__label small">{t("Jobs")}</span></div>
            <div class="stat stat--running"><span class="stat__value">{context.runs.len()}</span><span class="stat__label small">{t("Recent runs")}</span></div>
            <div class="stat stat--approval"><span class="stat__value">{context.backlog.len()}</span><span class="stat__label small">{t("Backlog items")}</span></div>
            <div class=incidents_class><span class="stat__value">{open_incidents}</span><span class="stat__label small">{t("Open incidents")}</span></div>
        </div>
        <div class="split">
            <section class="card" aria-labelledby="overview-facts">
                <h2 id="overview-facts">{t("Facts")}</h2>
                <dl class="facts">
                    <div><dt>{t("Owner")}</dt><dd>{project.owner_username.clone().unwrap_or_else(|| "—".into())}</dd></div>
                    <div><dt>{t("Environments")}</dt><dd>{project.environments.join(", ")}</dd></div>
                    <div><dt>{t("Execution backend")}</dt><dd>{project.execution_backend.map(|b| b.to_string()).unwrap_or_else(|| "—".into())}</dd></div>
                    <div><dt>{t("Created")}</dt><dd>{stamp(project.created_at)}</dd></div>
                </dl>
            </section>
            <section class="card" aria-labelledby="overview-next">
                <h2 id="overview-next">{t("Coming up")}</h2>
                {if next_jobs.is_empty() {
                    view! { <p class="muted">{t("Nothing planned.")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="lines">
                            {next_jobs.into_iter().map(|job| view! {
                                <li class="line">
                                    <span class="line__time mono small">{crate::i18n::dates(&job.planned_start.format("%a %-d %b %H:%M").to_string())}</span>
                                    <a href=format!("/jobs/{}", job.id) class="line__title">{job.title}</a>
                                    <span class="muted small">{crate::labels::job_type(job.job_type)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

fn jobs(context: &ProjectContext) -> impl IntoView {
    let new_job = view! {
        <div class="toolbar">
            <a href=format!("/jobs/new?project={}", context.project.id) class="button button--primary" data-testid="project-new-job">{t("New job")}</a>
        </div>
    };
    if context.jobs.is_empty() {
        return view! { {new_job} <p class="empty-inline muted">{t("No job yet.")}</p> }.into_any();
    }
    view! {
        {new_job}
        <div class="table-scroll">
            <table class="table" data-testid="project-jobs">
                <thead><tr><th scope="col">{t("Title")}</th><th scope="col">{t("Type")}</th><th scope="col">{t("Environment")}</th><th scope="col">{t("Planned")}</th><th scope="col">{t("Status")}</th></tr></thead>
                <tbody>
                    {context.jobs.clone().into_iter().map(|job| view! {
                        <tr>
                            <td><a href=format!("/jobs/{}", job.id) class="link">{job.title.clone()}</a></td>
                            <td>{crate::labels::job_type(job.job_type)}</td>
                            <td>{job.environment.clone().unwrap_or_else(|| "—".into())}</td>
                            <td class="small mono">{job.planned_start.format("%Y-%m-%d %H:%M").to_string()}</td>
                            <td><span class=format!("job-status job-status--{}", job.status)>{crate::labels::job_status(job.status)}</span></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn incidents(context: &ProjectContext) -> impl IntoView {
    if context.incidents.is_empty() {
        return view! { <p class="empty-inline muted">{t("No incident on this project.")}</p> }
            .into_any();
    }
    view! {
        <ul class="lines">
            {context.incidents.clone().into_iter().rev().map(|incident| view! {
                <li class="line">
                    <span class=format!("severity severity--{}", incident.severity)>{incident.severity.to_string()}</span>
                    <a href=format!("/incidents/{}", incident.id) class="line__title">{incident.title.clone()}</a>
                    <span class="muted small">{crate::labels::incident_status(incident.status)}</span>
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

fn activity(context: &ProjectContext) -> impl IntoView {
    if context.timeline.is_empty() {
        return view! { <p class="empty-inline muted">{t("Nothing has happened yet.")}</p> }
            .into_any();
    }
    view! {
        <ol class="timeline">
            {context.timeline.clone().into_iter().rev().take(100).map(|entry| {
                let href = match entry.kind {
                    domain::TimelineKind::Job => Some(format!("/jobs/{}", entry.id)),
                    domain::TimelineKind::Run => Some(format!("/runs/{}", entry.id)),
                    domain::TimelineKind::Incident => Some(format!("/incidents/{}", entry.id)),
                    domain::TimelineKind::BacklogItem => None,
                };
                view! {
                    <li class="timeline__item">
                        <span class="timeline__at small mono muted">{stamp(entry.at)}</span>
                        <span class="badge">{entry.kind.to_string().replace('_', " ")}</span>
                        {match href {
                            Some(href) => view! { <a href=href class="link">{entry.title.clone()}</a> }.into_any(),
                            None => view! { <span>{entry.title.clone()}</span> }.into_any(),
                        }}
                        <span class="muted small">{tf("({status})", &[("status", &entry.status)])}</span>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}
