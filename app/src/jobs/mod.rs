//! Jobs: the job page (what it is, what it runs, Launch when the user may, its runs, Edit and
//! Delete) and the new-job page the palette and the calendar's empty slots open.

pub mod action;
pub mod code;
pub mod data;
pub mod editor;

use domain::policy::{may, Action, Decision, Environment, Object, Subject};
use domain::{JobType, ProjectState};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::labels::action_summary;
use crate::runs::LaunchJob;
use data::{delete_job, job_detail, JobDraft, JobView, SavedJob};
use editor::{EditorStart, JobEditor};

use crate::i18n::{t, tf};
use crate::runs::{duration, status_badge, when};
use crate::session::Me;
use crate::ui::{route_id, Navigator, PageTitle};

/// `/jobs/:id`: the job, what it runs and its runs. Read here, on the server; the job's actions
/// and its code changes are islands given what was read.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn JobPage() -> impl IntoView {
    let id = route_id("id");
    let detail = crate::ui::page_object(move || job_detail(id.get()));
    let changes = crate::ui::page_data(move || code::job_changes(id.get()));
    let me = expect_context::<Me>();
    view! {
        <PageTitle text=t("Job")/>
        <Suspense fallback=|| view! { <div class="card skeleton" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(view) => {
                        let user = me.user().ok();
                        let changes = changes.await;
                        let (job_id, project_id) = (view.job.id, view.job.project_id);
                        view! {
                            <JobDetail view user/>
                            <code::CodeChanges job_id project_id changes/>
                        }.into_any()
                    }
                    Err(error) => view! { <crate::ui::LoadError title=t("The job could not be loaded") error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Whether the signed-in user may launch this job, as the server would decide: allowed, after
/// an approval, or refused with the rule's words.
fn launch_decision(view: &JobView, subject: &Subject) -> Option<Decision> {
    let action = view.job.action.as_ref()?;
    let backend = action::ActionKind::from_action(action).backend();
    let environment = view.job.environment.as_ref().map(|name| Environment {
        name,
        is_production: view.job.environment_is_production,
    });
    let object = Object::job(view.project_owner_id, view.job.job_type).with_backend(backend);
    Some(may(
        subject,
        Action::LaunchRun,
        &object,
        environment.as_ref(),
    ))
}

/// The job's header, actions (edit, delete, launch) and runs. `user` is the signed-in user as
/// the page's server component read them: what is shown is decided the same way on the server
/// and in the browser (the server decides again on every request).
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn JobDetail(view: JobView, user: Option<domain::UserProfile>) -> impl IntoView {
    // The editor, opened later, reads the user from the context.
    crate::session::provide_for_island();
    let version = crate::ui::reload_after_change();
    let navigate = Navigator::from_router();
    let job = view.job.clone();
    let job_id = job.id;
    let signed_in = user.map(|user| Subject {
        user_id: user.id,
        role: user.role,
    });
    let subject = move || signed_in;
    let here = job
        .environment
        .clone()
        .map(|name| (name, job.environment_is_production));
    let object = Object::job(view.project_owner_id, job.job_type);
    let here_stored = StoredValue::new(here.clone());
    let allowed = move |action: Action| {
        here_stored.with_value(|here| {
            let environment = here.as_ref().map(|(name, prod)| Environment {
                name,
                is_production: *prod,
            });
            subject().is_some_and(|s| {
                !matches!(
                    may(&s, action, &object, environment.as_ref()),
                    Decision::Deny(_)
                )
            })
        })
    };
    let archived = view.project_state == ProjectState::Archived;
    let never_run = view.runs.is_empty();
    let may_edit = move || !archived && allowed(Action::UpdateJob);
    let may_delete = move || never_run && allowed(Action::DeleteJob);
    let editing = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);
    let delete = leptos::prelude::Action::new(move |_: &()| delete_job(job_id));
    let delete_error = move || delete.value().get().and_then(Result::err);
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate.go("/calendar");
        }
    });
    let launch_action = ServerAction::<LaunchJob>::new();
    let pending = launch_action.pending();
    let launch_error = move || launch_action.value().get().and_then(Result::err);
    Effect::new(move |_| {
        if let Some(Ok(run)) = launch_action.value().get() {
            navigate.go(&format!("/runs/{}", run.id));
        }
    });
    let stored = StoredValue::new(view.clone());
    let decision = move || subject().and_then(|s| stored.with_value(|v| launch_decision(v, &s)));
    let backend = job
        .action
        .as_ref()
        .and_then(|a| action::ActionKind::from_action(a).backend());
    // An apply job applies a plan run's plan: chosen here.
    let applies = match &job.action {
        Some(domain::JobAction::Terraform {
            operation: domain::terraform::TerraformOperation::Apply,
            workspace,
            ..
        }) => Some(workspace.clone()),
        _ => None,
    };
    let plan_run = RwSignal::new(None::<i64>);
    let launch = move |_| {
        launch_action.dispatch(LaunchJob {
            job_id,
            environment: None,
            backend,
            commit_sha: None,
            plan_run: plan_run.get_untracked(),
        });
    };
    let window = match &view.end_local {
        Some(end) => format!(
            "{} → {}",
            view.start_local.replace('T', " "),
            end.replace('T', " ")
        ),
        None => view.start_local.replace('T', " "),
    };
    let editor_start = EditorStart {
        editing: Some((job.id, job.version)),
        draft: JobDraft {
            project_id: job.project_id,
            title: job.title.clone(),
            description: job.description.clone(),
            job_type: job.job_type,
            environment: job.environment.clone(),
            start: view.start_local.clone(),
            end: view.end_local.clone(),
            all_day: job.all_day,
            owner_id: job.owner_id,
            responsible_role: job.responsible_role,
            auto_start: job.auto_start,
            action: job.action.clone(),
        },
    };
    let editor_project = editor::EditorProject {
        id: job.project_id,
        name: view.project_name.clone(),
        owner_id: view.project_owner_id,
        environments: view.environments.iter().map(|e| e.name.clone()).collect(),
        state: view.project_state,
    };
    let zone = view.zone.clone();
    let saved_message = RwSignal::new(None::<String>);
    let on_saved = Callback::new(move |saved: SavedJob| {
        editing.set(false);
        match saved {
            SavedJob::Saved(_) => version.update(|v| *v += 1),
            SavedJob::MoveRequested(_) => saved_message.set(Some(
                t("The move of this production job waits for the approval of an admin or the project's owner.").to_owned(),
            )),
        }
    });
    view! {
        <div class="page-header">
            <div class="page-header__text">
                <p class="muted small"><a href=format!("/projects/{}", job.project_id) class="link">{view.project_name.clone()}</a></p>
                <h1 data-testid="job-title" class="wrap">{job.title.clone()}</h1>
                <p class="muted">
                    {crate::labels::job_type(job.job_type)} " · "
                    {job.environment.clone().unwrap_or_else(|| t("no environment").into())} " · "
                    {window} " · " {crate::labels::job_status(job.status)}
                </p>
            </div>
            <div class="page-header__actions">
                <Show when=may_edit>
                    <button type="button" class="button" data-testid="edit-job" on:click=move |_| editing.set(true)>{t("Edit")}</button>
                </Show>
                <Show when=may_delete>
                    <button type="button" class="button button--danger" data-testid="delete-job"
                        on:click=move |_| confirm_delete.set(true)>{t("Delete")}</button>
                </Show>
            </div>
        </div>
        {move || saved_message.get().map(|m| view! { <p class="notice" role="status">{m}</p> })}
        <Show when=move || confirm_delete.get()>
            <div class="card notice notice--danger" role="alertdialog" aria-labelledby="delete-title">
                <p id="delete-title">{t("Delete this job? It was never run; nothing else is lost.")}</p>
                <div class="modal__actions">
                    <button type="button" class="button button--ghost" on:click=move |_| confirm_delete.set(false)>{t("Keep it")}</button>
                    <button type="button" class="button button--danger" data-testid="confirm-delete"
                        on:click=move |_| { delete.dispatch(()); }>{t("Delete the job")}</button>
                </div>
                {move || delete_error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            </div>
        </Show>
        <Show when=move || editing.get()>
            <JobEditor start=editor_start.clone() projects=vec![editor_project.clone()] zone=zone.clone()
                on_saved=on_saved on_cancel=Callback::new(move |_| editing.set(false))/>
        </Show>
        {(!job.description.is_empty()).then(|| view! { <p class="card job-description wrap">{job.description.clone()}</p> })}
        <section class="card launch-card" aria-labelledby="launch-title">
            <h2 id="launch-title">{t("Launch")}</h2>
            {match job.action.as_ref() {
                None => view! {
                    <p class="muted" data-testid="launch-unavailable">{t("This job has no action yet: it is planned only. Edit it to choose what it runs.")}</p>
                }.into_any(),
                Some(action) => view! {
                    <p class="mono small launch-card__action wrap" data-testid="job-action">{action_summary(action)}</p>
                    <dl class="facts facts--inline small">
                        <div><dt>{t("Environment")}</dt><dd data-testid="launch-environment">{match &here {
                            Some((name, true)) => tf("{name} (production)", &[("name", name)]),
                            Some((name, false)) => name.clone(),
                            None => t("no environment").to_owned(),
                        }}</dd></div>
                        <div><dt>{t("Backend")}</dt><dd>{backend.map(crate::labels::backend).unwrap_or("—")}</dd></div>
                    </dl>
                    {applies.clone().map(|workspace| view! {
                        <crate::terraform::PlanToApply project_id=job.project_id workspace
                            environment=job.environment.clone() chosen=plan_run/>
                    })}
                    {move || match decision() {
                        _ if archived => view! { <p class="muted">{t("The project is archived: nothing new runs in it.")}</p> }.into_any(),
                        Some(Decision::Deny(refusal)) => view! {
                            <p class="muted" data-testid="launch-refused">{crate::i18n::t(refusal.message)} <span class="mono small">" (" {refusal.rule} ")"</span></p>
                        }.into_any(),
                        decision => {
                            let approval = matches!(decision, Some(Decision::NeedsApproval(_)));
                            view! {
                                <button class="button button--primary" type="button" on:click=launch prop:disabled=pending data-testid="launch">
                                    {move || match (pending.get(), approval) {
                                        (true, _) => t("Launching…"),
                                        (false, true) => t("Ask to run (needs approval)"),
                                        (false, false) => t("Launch"),
                                    }}
                                </button>
                                {approval.then(|| view! { <p class="muted small">{t("Production runs wait for the approval of an admin or the project's owner (never the person who asked).")}</p> })}
                            }.into_any()
                        }
                    }}
                    {move || launch_error().map(|e| view! {
                        <p class="form-error" role="alert" data-testid="launch-error">{e.message} <span class="mono small">" (" {e.code} ")"</span></p>
                    })}
                }.into_any(),
            }}
        </section>
        <RunHistory runs=view.runs.clone()/>
    }
}

#[component]
fn RunHistory(runs: Vec<domain::Run>) -> impl IntoView {
    view! {
        <section class="card run-history-card" aria-labelledby="history-title">
            <h2 id="history-title">{t("Runs")}</h2>
            {if runs.is_empty() {
                view! { <p class="muted">{t("Never run yet.")}</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="api-table run-history">
                            <thead><tr><th>{t("Run")}</th><th>{t("Status")}</th><th>{t("Environment")}</th><th>{t("Backend")}</th><th>{t("By")}</th><th>{t("Started")}</th><th>{t("Duration")}</th></tr></thead>
                            <tbody>
                                {runs.into_iter().map(|run| view! {
                                    <tr>
                                        <td><a class="link mono" href=format!("/runs/{}", run.id)>{format!("#{}", run.id)}</a></td>
                                        <td>{status_badge(run.status)}</td>
                                        <td>{run.environment.clone().unwrap_or_default()}</td>
                                        <td>{crate::labels::backend(run.backend)}</td>
                                        <td>{run.launched_by_username.clone().unwrap_or_else(|| "uHub".into())}</td>
                                        <td class="small">{when(run.started_at)}</td>
                                        <td class="small">{duration(&run)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// `/jobs/new?project=&start=&all_day=`: the new-job form, filled with what the calendar or the
/// palette knew (a slot's time, a project).
#[component]
#[inline(never)] // a route's page: see `App`
pub fn NewJobPage() -> impl IntoView {
    let query = use_query_map();
    let (wanted, start, all_day) = query.with_untracked(|q| {
        (
            q.get("project").and_then(|p| p.parse::<i64>().ok()),
            q.get("start"),
            q.get("all_day").is_some_and(|v| v == "true"),
        )
    });
    view! {
        <PageTitle text=t("New job")/>
        <NewJobForm wanted start all_day/>
    }
}

/// The new-job form, for the project `wanted` when the user may plan there.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn NewJobForm(wanted: Option<i64>, start: Option<String>, all_day: bool) -> impl IntoView {
    let Me(me) = crate::session::provide_for_island();
    // Read in the browser only, outside any `Suspense`: the server and the hydration both draw
    // the skeleton, then the form is drawn once everything it needs has arrived (a `Suspense`
    // over browser-only reads inside an island does not hydrate).
    let projects = crate::ui::load_in_browser(crate::projects::list_projects);
    let zone = crate::ui::load_in_browser(data::time_zone);
    // The user (sent with the page) taken once hydrated, like the reads above: read straight
    // in the closure below, the resource was read outside any `Suspense` while hydrating, which
    // Leptos warns against in the console.
    let user = RwSignal::new(None);
    Effect::new(move |_| user.set(me.get()));
    let navigate = Navigator::from_router();
    let start = StoredValue::new(start);
    view! {
            {move || {
                let (Some(projects), Some(zone), Some(user)) = (projects.get(), zone.get(), user.get()) else {
                    return view! { <div class="card skeleton" aria-busy="true"></div> }.into_any();
                };
                let list = match projects {
                    Ok(list) => list,
                    Err(error) => return view! { <crate::ui::LoadError title=t("The projects could not be loaded") error/> }.into_any(),
                };
                let zone = zone.unwrap_or_else(|_| "UTC".to_owned());
                let user = user.ok();
                let subject = user.as_ref().map(|u| Subject { user_id: u.id, role: u.role });
                // Only the active projects where the user may plan something.
                let plannable: Vec<_> = list.into_iter().filter(|p| {
                    p.state == ProjectState::Active && subject.as_ref().is_some_and(|s| JobType::ALL.iter().any(|kind| {
                        !matches!(may(s, Action::CreateJob, &Object::job(p.owner_id, *kind), None), Decision::Deny(_))
                    }))
                }).collect();
                if plannable.is_empty() {
                    return view! { <p class="empty-inline muted">{t("There is no project where you may plan a job.")}</p> }.into_any();
                }
                let project_id = wanted.filter(|id| plannable.iter().any(|p| p.id == *id)).unwrap_or(plannable[0].id);
                let job_type = if user.map(|u| u.role) == Some(domain::Role::Dev) { JobType::Dev } else { JobType::Ops };
                let start = start.get_value().unwrap_or_else(crate::palette::next_hour_local);
                let draft = JobDraft {
                    project_id,
                    title: String::new(),
                    description: String::new(),
                    job_type,
                    environment: None,
                    start: if all_day { start.get(..10).unwrap_or(&start).to_owned() } else { start },
                    end: None,
                    all_day,
                    owner_id: None,
                    responsible_role: None,
                    auto_start: false,
                    action: None,
                };
                view! {
                    <div class="page-header"><div><h1>{t("New job")}</h1><p class="muted">{t("Planned on the calendar; with an action, it can be launched.")}</p></div></div>
                    <JobEditor start=EditorStart { editing: None, draft } projects=plannable.into_iter().map(Into::into).collect() zone

                        on_saved=Callback::new(move |saved: SavedJob| if let SavedJob::Saved(job) = saved { navigate.go(&format!("/jobs/{}", job.id)) })
                        on_cancel=Callback::new(move |_| navigate.go("/calendar"))/>
                }.into_any()
            }}
    }
}
