//! Projects: the list page and the server function that reads it from storage.

use domain::ProjectSummary;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::AppError;

/// Every project with its figures. Browser → this server function → `services` → database.
#[server(prefix = "/sfn", endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppError> {
    crate::auth::require(
        domain::policy::Action::Read,
        &domain::policy::Object::none(),
        None,
    )?;
    let storage = use_context::<services::Storage>()
        .ok_or_else(|| AppError::new("internal_error", "storage is not available"))?;
    Ok(storage.list_project_summaries().await?)
}

/// The projects list, with a filter that works as you type.
#[component]
pub fn ProjectsPage() -> impl IntoView {
    let projects = Resource::new(|| (), |_| list_projects());
    let (filter, set_filter) = signal(String::new());

    view! {
        <Title text="Projects"/>
        <div class="page-header">
            <div>
                <h1>"Projects"</h1>
                <p class="muted">"Everything the team plans and runs, grouped by project."</p>
            </div>
            <label class="search">
                <span class="visually-hidden">"Filter projects"</span>
                <input
                    type="search"
                    name="filter"
                    class="input"
                    placeholder="Filter by name, owner or environment"
                    autocomplete="off"
                    prop:value=filter
                    on:input=move |ev| set_filter.set(event_target_value(&ev))
                />
            </label>
        </div>
        <Suspense fallback=ProjectsSkeleton>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) => view! { <ProjectList projects=list filter/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProjectList(projects: Vec<ProjectSummary>, filter: ReadSignal<String>) -> impl IntoView {
    if projects.is_empty() {
        return view! {
            <section class="empty-state">
                <h2>"No project yet"</h2>
                <p class="muted">
                    "Start uHub with UHUB_SEED_DEMO=true to load the demo projects, or create one through the API."
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
            format!("{total} projects")
        } else {
            format!("{shown} of {total} projects")
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
            <p class="empty-inline muted">"No project matches “" {move || filter.get()} "”."</p>
        </Show>
    }
    .into_any()
}

#[component]
fn ProjectCard(project: ProjectSummary) -> impl IntoView {
    let next_job = project
        .next_job_at
        .map(|at| format!("Next job {}", at.format("%a %-d %b, %H:%M UTC")))
        .unwrap_or_else(|| "Nothing planned".to_owned());
    let jobs = match project.job_count {
        1 => "1 job".to_owned(),
        n => format!("{n} jobs"),
    };
    view! {
        <li class="card project-card" data-project-id=project.id style:--project-color=project.color.to_string()>
            <div class="project-card__head">
                <span class="project-card__swatch" aria-hidden="true"></span>
                <h2 class="project-card__name">{project.name.clone()}</h2>
                <span class=format!("badge badge--{}", project.state)>{project.state.to_string()}</span>
            </div>
            {(!project.description.is_empty()).then(|| view! { <p class="muted">{project.description.clone()}</p> })}
            <ul class="chips" aria-label="Environments">
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
                    <dt class="muted">"Owner"</dt>
                    <dd>{project.owner_username.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                </div>
                <div>
                    <dt class="muted">"Jobs"</dt>
                    <dd>{jobs}</dd>
                </div>
                <div>
                    <dt class="muted">"Schedule"</dt>
                    <dd>{next_job}</dd>
                </div>
            </dl>
        </li>
    }
}

#[component]
fn ProjectsSkeleton() -> impl IntoView {
    view! {
        <ul class="project-grid" aria-busy="true" aria-label="Loading projects">
            {(0..4).map(|_| view! { <li class="card skeleton"></li> }).collect_view()}
        </ul>
    }
}

#[component]
fn LoadError(error: AppError) -> impl IntoView {
    view! {
        <section class="empty-state empty-state--error" role="alert">
            <h2>"The projects could not be loaded"</h2>
            <p class="muted">{error.message}</p>
            <p class="muted small mono">{error.code}</p>
        </section>
    }
}
