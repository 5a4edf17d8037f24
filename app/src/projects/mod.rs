//! Projects: the list page (`/projects`), the create and edit form (`form`) and the project
//! sheet (`sheet`, `/projects/:id`).

mod backlog;
pub mod clusters;
mod code;
mod deliveries;
mod environments;
mod form;
pub mod inventories;
mod links;
mod secrets;
mod settings;
pub(crate) mod sheet;

pub use form::ProjectForm;
pub use inventories::InventoryPage;
pub use sheet::ProjectSheetPage;

use crate::ui::{Navigator, PageTitle};
use domain::ProjectSummary;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::i18n::{t, tf};
use crate::session::{role_may, Me};
use crate::AppError;

/// Every project with its figures. Browser → this server function → `services` → database.
#[server(prefix = "/sfn", endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::projects::list(&hub, &caller).await?)
}

/// The projects list, with a filter that works as you type and the form that creates one
/// (`?new=1` opens it, as the command palette does).
#[component]
#[inline(never)] // a route's page: see `App`
pub fn ProjectsPage() -> impl IntoView {
    let query = use_query_map();
    let creating = query.with_untracked(|q| q.get("new").is_some());
    let projects = crate::ui::page_data(list_projects);
    // The list is read here, on the server, and given to the island: a resource read inside an
    // island's `Suspense` leaves markers its hydration does not find (tachys panics).
    view! {
        <PageTitle text=t("Projects")/>
        <Suspense fallback=ProjectsSkeleton>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(projects) => view! { <ProjectsIsland creating projects/> }.into_any(),
                    Err(error) => view! { <crate::ui::LoadError title=t("The projects could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The projects page's interactive whole: the filter, the list and the new-project form. An
/// island (bundle `projects`): its own locale and signed-in user.
#[cfg_attr(any(feature = "ssr", feature = "island-projects"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-projects")), component)]
pub fn ProjectsIsland(creating: bool, projects: Vec<ProjectSummary>) -> impl IntoView {
    let Me(me) = crate::session::provide_for_island();
    let (filter, set_filter) = signal(String::new());
    let creating = RwSignal::new(creating);
    let navigate = Navigator::from_router();
    let may_create = move || {
        me.get()
            .and_then(Result::ok)
            .is_some_and(|user| role_may(user.role, domain::policy::Action::CreateProject))
    };

    view! {
        <div class="page-header">
            <div>
                <h1>{t("Projects")}</h1>
                <p class="muted">{t("Everything the team plans and runs, grouped by project.")}</p>
            </div>
            <div class="page-header__actions">
                <label class="search">
                    <span class="visually-hidden">{t("Filter projects")}</span>
                    <input
                        type="search"
                        name="filter"
                        class="input"
                        placeholder=t("Filter by name, owner or environment")
                        autocomplete="off"
                        value=filter prop:value=filter
                        on:input=move |ev| set_filter.set(event_target_value(&ev))
                    />
                </label>
                <Transition fallback=|| ()>
                    {move || may_create().then(|| view! {
                        <button type="button" class="button button--primary" data-testid="new-project"
                            on:click=move |_| creating.set(true)>{t("New project")}</button>
                    })}
                </Transition>
            </div>
        </div>
        // `?new` from someone who may not create one (a shared link) opens nothing.
        <Show when=move || creating.get() && may_create()>
            <ProjectForm editing=None
                on_close=Callback::new(move |_| creating.set(false))
                on_saved=Callback::new(move |project: ProjectSummary| {
                    let href = format!("/projects/{}", project.id);
                    navigate.go(&href);
                })/>
        </Show>
        <ProjectList projects filter/>
    }
}

#[component]
fn ProjectList(projects: Vec<ProjectSummary>, filter: ReadSignal<String>) -> impl IntoView {
    if projects.is_empty() {
        return view! {
            <section class="empty-state">
                <h2>{t("No project yet")}</h2>
                <p class="muted">
                    {t("Create the first one with “New project”, or start uHub with UHUB_SEED_DEMO=true to load the demo projects.")}
                </p>
            </section>
        }
        .into_any();
    }
    let total = projects.len();
    let all = StoredValue::new(projects);
    let visible = Memo::new(move |_| {
        let needle = filter.get();
        all.with_value(|all| {
            all.iter()
                .filter(|p| p.matches(&needle))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let count = move || {
        let shown = visible.with(Vec::len);
        if shown == total {
            tf("{n} projects", &[("n", &total.to_string())])
        } else {
            tf(
                "{shown} of {n} projects",
                &[("shown", &shown.to_string()), ("n", &total.to_string())],
            )
        }
    };

    view! {
        <p class="list-count muted small" data-testid="project-count" aria-live="polite">{count}</p>
        <ul class="project-grid" data-testid="project-list">
            <For each=move || visible.get() key=|project| project.id let(project)>
                <ProjectCard project/>
            </For>
        </ul>
        <Show when=move || visible.with(Vec::is_empty)>
            <p class="empty-inline muted">{move || tf("No project matches “{filter}”.", &[("filter", &filter.get())])}</p>
        </Show>
    }
    .into_any()
}

#[component]
fn ProjectCard(project: ProjectSummary) -> impl IntoView {
    let next_job = project
        .next_job_at
        .map(|at| {
            tf(
                "Next job {at}",
                &[(
                    "at",
                    &crate::i18n::dates(&at.format("%a %-d %b, %H:%M UTC").to_string()),
                )],
            )
        })
        .unwrap_or_else(|| t("Nothing planned").to_owned());
    let jobs = match project.job_count {
        1 => t("1 job").to_owned(),
        n => tf("{n} jobs", &[("n", &n.to_string())]),
    };
    view! {
        <li class="card project-card" data-project-id=project.id style:--project-color=project.color.to_string()>
            <div class="project-card__head">
                <span class="project-card__swatch" aria-hidden="true"></span>
                <h2 class="project-card__name">
                    <a href=format!("/projects/{}", project.id) class="project-card__link">{project.name.clone()}</a>
                </h2>
                <span class=format!("badge badge--{}", project.state)>{crate::labels::project_state(project.state)}</span>
            </div>
            {(!project.description.is_empty()).then(|| view! { <p class="muted">{project.description.clone()}</p> })}
            <ul class="chips" aria-label=t("Environments")>
                {project
                    .environments
                    .iter()
                    .map(|name| {
                        let class = if name == "prod" { "chip chip--prod" } else { "chip" };
                        view! { <li class=class>{name.clone()}</li> }
                    })
                    .collect_view()}
            </ul>
            <dl class="project-card__facts small">
                <div>
                    <dt class="muted">{t("Owner")}</dt>
                    <dd>{project.owner_username.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                </div>
                <div>
                    <dt class="muted">{t("Jobs")}</dt>
                    <dd>{jobs}</dd>
                </div>
                <div>
                    <dt class="muted">{t("Schedule")}</dt>
                    <dd>{next_job}</dd>
                </div>
            </dl>
        </li>
    }
}

#[component]
fn ProjectsSkeleton() -> impl IntoView {
    view! {
        <ul class="project-grid" aria-busy="true" aria-label=t("Loading projects")>
            {(0..4).map(|_| view! { <li class="card skeleton"></li> }).collect_view()}
        </ul>
    }
}
