//! `/projects/:id`, the project sheet: one tab per facet — overview, environments, jobs,
//! backlog and milestones, links (repos, inventories, plans, clusters), incidents and activity.

use domain::policy::{Action, Object, Subject};
use domain::ProjectContext;
use leptos::prelude::*;

use crate::AppError;
use leptos_router::components::A;
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

/// `/projects/:id`: the project sheet, one tab per facet (`?tab=`).
#[component]
#[inline(never)] // a route's page: see `App`
pub fn ProjectSheetPage() -> impl IntoView {
    use crate::i18n::t;
    let id = crate::ui::route_id("id");
    let version = RwSignal::new(0u32);
    let sheet = Resource::new(
        move || (id.get(), version.get()),
        |(id, _)| project_sheet(id),
    );
    view! {
        <PageTitle text=t("Project")/>
        <Suspense fallback=|| view! { <crate::ui::SkeletonCards count=3/> }>
            {move || Suspend::new(async move {
                match sheet.await {
                    Ok(context) => view! { <Sheet context version/> }.into_any(),
                    Err(error) => view! { <crate::ui::LoadError title=t("The project could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[component]
pub fn Sheet(context: ProjectContext, version: RwSignal<u32>) -> impl IntoView {
    let query = use_query_map();
    let tab = Signal::derive(move || {
        query.with(|q| q.get("tab").unwrap_or_else(|| "overview".to_owned()))
    });
    let project = context.project.clone();
    let Me(me) = expect_context::<Me>();
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
    let context = StoredValue::new(context);
    let edited = project.clone();
    view! {
        <header class="sheet-header" style:--project-color=project.color.to_string()>
            <p class="muted small"><A href="/projects" attr:class="link">{t("Projects")}</A> " / "</p>
            <div class="sheet-header__row">
                <span class="project-card__swatch sheet-header__swatch" aria-hidden="true"></span>
                <h1 data-testid="project-name">{project.name.clone()}</h1>
                <span class=format!("badge badge--{}", project.state)>{crate::labels::project_state(project.state)}</span>
                <span class="topbar__spacer"></span>
                <Transition fallback=|| ()>
                    {move || may_edit().then(|| view! {
                        <button type="button" class="button" data-testid="edit-project"
                            on:click=move |_| editing.set(true)>{t("Edit")}</button>
                    })}
                </Transition>
            </div>
            {(!project.description.is_empty()).then(|| view! { <p class="muted">{project.description.clone()}</p> })}
        </header>
        <Show when=move || editing.get()>
            <ProjectForm editing=Some(edited.clone())
                on_close=Callback::new(move |_| editing.set(false))
                on_saved=Callback::new(move |_| { editing.set(false); version.update(|v| *v += 1); })/>
        </Show>
        <TabLinks base tabs current=tab/>
        <div class="sheet" data-testid="project-sheet">
            {move || context.with_value(|context| match tab.get().as_str() {
                "environments" => view! {
                    <super::environments::EnvironmentsTab project_id=context.project.id owner_id=context.project.owner_id
                        environments=context.environments.clone() changed=version/>
                }.into_any(),
                "jobs" => jobs(context).into_any(),
                "backlog" => view! {
                    <super::backlog::BacklogTab project_id=context.project.id owner_id=context.project.owner_id
                        items=context.backlog.clone() changed=version/>
                }.into_any(),
                "links" => view! {
                    <super::links::LinksTab project_id=context.project.id owner_id=context.project.owner_id
                        links=context.links.clone() environments=context.project.environments.clone() changed=version/>
                }.into_any(),
                "ansible" => view! {
                    <super::inventories::InventoriesTab project_id=context.project.id owner_id=context.project.owner_id
                        environments=context.project.environments.clone() links=context.links.clone()/>
                }.into_any(),
                "terraform" => view! { <crate::terraform::TerraformTab project_id=context.project.id/> }.into_any(),
                "kubernetes" => view! {
                    <super::clusters::ClustersTab project_id=context.project.id owner_id=context.project.owner_id
                        environments=context.project.environments.clone()/>
                }.into_any(),
                "code" => view! { <super::code::CodeTab project_id=context.project.id owner_id=context.project.owner_id links=context.links.clone()/> }.into_any(),
                "secrets" => view! {
                    <super::secrets::SecretsTab project_id=context.project.id owner_id=context.project.owner_id
                        environments=context.project.environments.clone()/>
                }.into_any(),
                "settings" => view! { <super::settings::SettingsTab project=context.project.clone() changed=version/> }.into_any(),
                "incidents" => incidents(context).into_any(),
                "activity" => activity(context).into_any(),
                _ => overview(context).into_any(),
            })}
        </div>
    }
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
                                    <A href=format!("/jobs/{}", job.id) attr:class="line__title">{job.title}</A>
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
            <A href=format!("/jobs/new?project={}", context.project.id) attr:class="button button--primary" attr:data-testid="project-new-job">{t("New job")}</A>
        </div>
    };
    if context.jobs.is_empty() {
        return view! { {new_job} <p class="empty-inline muted">{t("No job yet.")}</p> }.into_any();
    }
    view! {
        {new_job}
        <table class="table" data-testid="project-jobs">
            <thead><tr><th scope="col">{t("Title")}</th><th scope="col">{t("Type")}</th><th scope="col">{t("Environment")}</th><th scope="col">{t("Planned")}</th><th scope="col">{t("Status")}</th></tr></thead>
            <tbody>
                {context.jobs.clone().into_iter().map(|job| view! {
                    <tr>
                        <td><A href=format!("/jobs/{}", job.id) attr:class="link">{job.title.clone()}</A></td>
                        <td>{crate::labels::job_type(job.job_type)}</td>
                        <td>{job.environment.clone().unwrap_or_else(|| "—".into())}</td>
                        <td class="small mono">{job.planned_start.format("%Y-%m-%d %H:%M").to_string()}</td>
                        <td><span class=format!("job-status job-status--{}", job.status)>{crate::labels::job_status(job.status)}</span></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
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
                    <A href=format!("/incidents/{}", incident.id) attr:class="line__title">{incident.title.clone()}</A>
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
                            Some(href) => view! { <A href=href attr:class="link">{entry.title.clone()}</A> }.into_any(),
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
