//! The job editor: every field of a job and what it runs, to create one (`/jobs/new`, the
//! calendar's empty slots) or change one (the job page's Edit). The server's field errors show
//! under their field.

use domain::policy::{may, Action, Object, Subject};
use domain::{JobType, ProjectState, ProjectSummary, Role};

/// What the editor needs of a project: where a job may go and who owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct EditorProject {
    pub id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    pub environments: Vec<String>,
    pub state: ProjectState,
}

impl From<ProjectSummary> for EditorProject {
    fn from(project: ProjectSummary) -> Self {
        EditorProject {
            id: project.id,
            name: project.name,
            owner_id: project.owner_id,
            environments: project.environments,
            state: project.state,
        }
    }
}
use leptos::prelude::*;

use super::action::{ActionEditor, ActionFields};
use super::data::{people, save_job, JobDraft, SavedJob};
use crate::i18n::{t, tf};
use crate::session::Me;
use crate::AppError;

/// What the editor starts from: an existing job, or a new one's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct EditorStart {
    /// The job being edited with its version, or none for a new one.
    pub editing: Option<(i64, i64)>,
    pub draft: JobDraft,
}

/// Fields named by the server's errors that have their own place in the form; any other error
/// shows at the bottom.
const PLACED: &[&str] = &[
    "project_id",
    "title",
    "description",
    "job_type",
    "environment",
    "start",
    "end",
    "planned_start",
    "planned_end",
    "owner_id",
    "action.path",
    "action.image",
    "action.command",
    "action.inputs",
];

#[component]
pub fn JobEditor(
    start: EditorStart,
    /// The projects the new job may go to (for an edit, the job's own).
    projects: Vec<EditorProject>,
    zone: String,
    on_saved: Callback<SavedJob>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let Me(me) = expect_context::<Me>();
    let is_new = start.editing.is_none();
    let d = start.draft;
    let project = RwSignal::new(d.project_id);
    let title = RwSignal::new(d.title);
    let description = RwSignal::new(d.description);
    let job_type = RwSignal::new(d.job_type);
    let environment = RwSignal::new(d.environment.unwrap_or_default());
    let all_day = RwSignal::new(d.all_day);
    let start_at = RwSignal::new(d.start);
    let end_at = RwSignal::new(d.end.unwrap_or_default());
    let owner = RwSignal::new(d.owner_id);
    let responsible = RwSignal::new(d.responsible_role);
    let auto_start = RwSignal::new(d.auto_start);
    let action = ActionFields::from(d.action.as_ref());
    let error = RwSignal::new(None::<AppError>);
    let projects = StoredValue::new(projects);
    let chosen =
        move || projects.with_value(|list| list.iter().find(|p| p.id == project.get()).cloned());
    let subject = move || {
        me.get().and_then(Result::ok).map(|user| Subject {
            user_id: user.id,
            role: user.role,
        })
    };
    // Giving the job to someone else: admin and the project's owner only (as the server says).
    let may_assign = move || {
        let owner_id = chosen().and_then(|p| p.owner_id);
        subject().is_some_and(|s| {
            may(&s, Action::AssignOwner, &Object::project(owner_id), None).is_allowed()
        })
    };
    let directory = LocalResource::new(people);
    let editing = start.editing;
    let save = leptos::prelude::Action::new(move |draft: &JobDraft| {
        let draft = draft.clone();
        async move { save_job(editing.map(|e| e.0), editing.map(|e| e.1), draft).await }
    });
    let pending = save.pending();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            error.set(None);
            on_saved.run(saved);
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    // Switching between a day and a time keeps the date.
    Effect::new(move |previous: Option<bool>| {
        let whole_day = all_day.get();
        if previous.is_some_and(|p| p != whole_day) {
            let cut = |text: String| text.get(..10).unwrap_or(&text).to_owned();
            if whole_day {
                start_at.update(|s| *s = cut(s.clone()));
                end_at.update(|e| *e = cut(e.clone()));
            } else {
                start_at.update(|s| *s = format!("{}T09:00", cut(s.clone())));
                end_at.set(String::new());
            }
        }
        whole_day
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let end = end_at.get_untracked();
        save.dispatch(JobDraft {
            project_id: project.get_untracked(),
            title: title.get_untracked(),
            description: description.get_untracked(),
            job_type: job_type.get_untracked(),
            environment: Some(environment.get_untracked()).filter(|e| !e.is_empty()),
            start: start_at.get_untracked(),
            end: (!end.trim().is_empty()).then_some(end),
            all_day: all_day.get_untracked(),
            owner_id: owner.get_untracked(),
            responsible_role: responsible.get_untracked(),
            auto_start: auto_start.get_untracked(),
            action: action.action(),
        });
    };
    let input_type = move || {
        if all_day.get() {
            "date"
        } else {
            "datetime-local"
        }
    };
    view! {
        <form class="card form form--panel job-editor" on:submit=submit data-testid="job-editor"
            aria-labelledby="job-editor-title">
            <h2 id="job-editor-title">{if is_new { t("What and when") } else { t("Edit the job") }}</h2>
            {is_new.then(|| view! {
                <label class="field">
                    <span class="small muted">{t("Project")}</span>
                    <select class="input" name="project" data-testid="job-project"
                        on:change=move |ev| if let Ok(id) = event_target_value(&ev).parse() { project.set(id); environment.set(String::new()); }>
                        {projects.with_value(|list| list.iter().filter(|p| p.state == ProjectState::Active).map(|p| view! {
                            <option value=p.id.to_string() selected=p.id == project.get_untracked()>{p.name.clone()}</option>
                        }).collect_view())}
                    </select>
                    <crate::ui::FieldError error field="project_id"/>
                </label>
            })}
            <label class="field">
                <span class="small muted">{t("Title")}</span>
                <input class="input" name="title" required maxlength="200" autocomplete="off" data-testid="job-title-input"
                    value=move || title.get() prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                <crate::ui::FieldError error field="title"/>
            </label>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Type")}</span>
                    <select class="input" name="job_type" data-testid="job-type"
                        on:change=move |ev| if let Ok(value) = event_target_value(&ev).parse() { job_type.set(value) }>
                        {JobType::ALL.iter().copied().map(|kind| view! {
                            <option value=kind.as_str() selected=move || job_type.get() == kind>{crate::labels::job_type(kind)}</option>
                        }).collect_view()}
                    </select>
                    <crate::ui::FieldError error field="job_type"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Environment")}</span>
                    <select class="input" name="environment" data-testid="job-environment"
                        on:change=move |ev| environment.set(event_target_value(&ev))>
                        <option value="" selected=move || environment.get().is_empty()>{t("None")}</option>
                        {move || chosen().map(|p| p.environments).unwrap_or_default().into_iter().map(|name| {
                            let value = name.clone();
                            let label = name.clone();
                            view! { <option value=name selected=move || environment.get() == value>{label}</option> }
                        }).collect_view()}
                    </select>
                    <crate::ui::FieldError error field="environment"/>
                </label>
                <label class="field field--check">
                    <input type="checkbox" name="all_day" checked=move || all_day.get() prop:checked=move || all_day.get()
                        on:change=move |ev| all_day.set(event_target_checked(&ev))/>
                    <span>{t("All day")}</span>
                </label>
            </div>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{move || if all_day.get() { t("First day") } else { t("Start") }}</span>
                    <input class="input" name="start" required prop:type=input_type data-testid="job-start"
                        value=move || start_at.get() prop:value=move || start_at.get() on:input=move |ev| start_at.set(event_target_value(&ev))/>
                    <crate::ui::FieldError error field="start"/>
                    <crate::ui::FieldError error field="planned_start"/>
                </label>
                <label class="field">
                    <span class="small muted">{move || if all_day.get() { t("Last day (optional)") } else { t("End (optional: one hour)") }}</span>
                    <input class="input" name="end" prop:type=input_type
                        value=move || end_at.get() prop:value=move || end_at.get() on:input=move |ev| end_at.set(event_target_value(&ev))/>
                    <crate::ui::FieldError error field="end"/>
                    <crate::ui::FieldError error field="planned_end"/>
                </label>
            </div>
            <p class="muted small">{tf("Times are in uHub's time zone, {zone}.", &[("zone", &zone)])}</p>
            <label class="field">
                <span class="small muted">{t("Description")}</span>
                <textarea class="input textarea" name="description" rows="3"
                    prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                <crate::ui::FieldError error field="description"/>
            </label>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Responsible role")}</span>
                    <select class="input" name="responsible_role"
                        on:change=move |ev| responsible.set(event_target_value(&ev).parse().ok())>
                        <option value="" selected=move || responsible.get().is_none()>{t("None")}</option>
                        {Role::ALL.iter().copied().map(|role| view! {
                            <option value=role.as_str() selected=move || responsible.get() == Some(role)>{crate::labels::role(role)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="small muted">{t("Owner")}</span>
                    <select class="input" name="owner_id" prop:disabled=move || !may_assign()
                        title=move || (!may_assign()).then(|| t("Only an admin or the project's owner gives a job to someone else."))
                        on:change=move |ev| owner.set(event_target_value(&ev).parse().ok())>
                        <option value="" selected=move || owner.get().is_none()>{if is_new { t("Me") } else { t("Nobody") }}</option>
                        {move || directory.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|person| {
                            let id = person.id;
                            view! { <option value=id.to_string() selected=move || owner.get() == Some(id)>{format!("{} ({})", person.display_name, person.username)}</option> }
                        }).collect_view()}
                    </select>
                    <crate::ui::FieldError error field="owner_id"/>
                </label>
                <label class="field field--check">
                    <input type="checkbox" name="auto_start" checked=move || auto_start.get() prop:checked=move || auto_start.get()
                        on:change=move |ev| auto_start.set(event_target_checked(&ev))/>
                    <span>{t("Start by itself at its planned time (as me)")}</span>
                </label>
            </div>
            <ActionEditor fields=action project=Signal::derive(move || project.get()) error/>
            {move || error.get().filter(|e| !e.field.as_deref().is_some_and(|f| PLACED.contains(&f))).map(|e| view! {
                <p class="form-error" role="alert" data-testid="job-editor-error">{e.message} <span class="mono small">" (" {e.code} ")"</span></p>
            })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_cancel.run(())>{t("Cancel")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || pending.get() data-testid="job-save">
                    {move || match (pending.get(), is_new) {
                        (true, _) => t("Saving…"),
                        (false, true) => t("Create the job"),
                        (false, false) => t("Save"),
                    }}
                </button>
            </div>
        </form>
    }
}
