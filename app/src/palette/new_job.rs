//! Planning a job from the palette: project, title, type, environment, start; the same use case
//! as `POST /api/v1/projects/{id}/jobs`.

use chrono::{Duration, Timelike, Utc};
use domain::policy::Action;
use domain::{JobType, ProjectSummary, Role};
use leptos::prelude::*;

use super::PaletteOpen;
use crate::i18n::t;
use crate::session::Me;
use crate::ui::Navigator;
use crate::AppError;

/// Plans a job from the palette: the same guardrails as `POST /projects/{id}/jobs`. `start` is a
/// local date and time (`YYYY-MM-DDTHH:MM`) in uHub's time zone.
#[server(prefix = "/sfn", endpoint = "jobs/quick-create")]
pub async fn quick_create_job(
    project_id: i64,
    title: String,
    job_type: JobType,
    environment: Option<String>,
    start: String,
) -> Result<domain::Job, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let planned_start = services::calendar::local_instant("start", &start, &hub.zone)?;
    let mut job = services::storage::NewJob::planned(
        project_id,
        &title,
        job_type,
        environment.as_deref().filter(|e| !e.is_empty()),
        planned_start,
    );
    job.planned_end = Some(planned_start + Duration::hours(1));
    Ok(services::jobs::create(&hub, &caller, job).await?)
}

/// The next full hour, as a `datetime-local` value in the browser's clock (uHub reads it in its
/// own time zone; for a team in one place they are the same).
pub fn next_hour_local() -> String {
    let now = Utc::now() + Duration::hours(1);
    #[cfg(feature = "hydrate")]
    let now = {
        let offset_minutes = -js_sys_offset_minutes();
        now + Duration::minutes(offset_minutes)
    };
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .unwrap_or(now)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[cfg(feature = "hydrate")]
pub(super) fn js_sys_offset_minutes() -> i64 {
    // `Date.prototype.getTimezoneOffset`: minutes to add to local time to get UTC.
    js_sys::Date::new_0().get_timezone_offset() as i64
}

/// The job form inside the palette: project, title, type, environment, start.
#[component]
pub(super) fn NewJobForm(on_cancel: Callback<()>) -> impl IntoView {
    let PaletteOpen(open) = expect_context::<PaletteOpen>();
    let navigate = Navigator::from_router();
    let projects = LocalResource::new(crate::projects::list_projects);
    let project = RwSignal::new(None::<i64>);
    let title = RwSignal::new(String::new());
    let Me(me) = expect_context::<Me>();
    // A type the role may plan: dev plans dev jobs, the others start from ops.
    let default_type = if me.get_untracked().and_then(Result::ok).map(|u| u.role) == Some(Role::Dev)
    {
        JobType::Dev
    } else {
        JobType::Ops
    };
    let job_type = RwSignal::new(default_type);
    let environment = RwSignal::new(String::new());
    let start = RwSignal::new(next_hour_local());
    let error = RwSignal::new(None::<AppError>);
    let create = ServerAction::<QuickCreateJob>::new();
    let pending = create.pending();
    // A planned job opens at once.
    Effect::new(move |_| match create.value().get() {
        Some(Ok(job)) => {
            open.set(false);
            navigate.go(&format!("/jobs/{}", job.id));
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let title_ref = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = title_ref.get() {
            let _ = input.focus();
        }
    });
    // Only the active projects where the user may plan something (projets: their own).
    let user = StoredValue::new(me.get_untracked().and_then(Result::ok));
    let plannable = move |project: &ProjectSummary| {
        user.with_value(|user| {
            let Some(user) = user else {
                return false;
            };
            let subject = domain::policy::Subject {
                user_id: user.id,
                role: user.role,
            };
            JobType::ALL.iter().any(|job_type| {
                !matches!(
                    domain::policy::may(
                        &subject,
                        Action::CreateJob,
                        &domain::policy::Object::job(project.owner_id, *job_type),
                        None,
                    ),
                    domain::policy::Decision::Deny(_)
                )
            })
        })
    };
    let active_projects = move || -> Vec<ProjectSummary> {
        projects
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.state == domain::ProjectState::Active && plannable(p))
            .collect()
    };
    // The first active project is chosen until the user picks one.
    let chosen = move || {
        project
            .get()
            .or_else(|| active_projects().first().map(|p| p.id))
    };
    let environments = move || {
        let id = chosen();
        active_projects()
            .into_iter()
            .find(|p| Some(p.id) == id)
            .map(|p| p.environments)
            .unwrap_or_default()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(project_id) = chosen() else {
            error.set(Some(AppError {
                field: Some("project".into()),
                ..AppError::new("invalid", t("Choose a project."))
            }));
            return;
        };
        create.dispatch(QuickCreateJob {
            project_id,
            title: title.get_untracked(),
            job_type: job_type.get_untracked(),
            environment: Some(environment.get_untracked()).filter(|e| !e.is_empty()),
            start: start.get_untracked(),
        });
    };
    view! {
        <form class="palette__form form" on:submit=submit data-testid="palette-new-job">
            <h2 class="palette__form-title">{t("New job")}</h2>
            <label class="field">
                <span class="small muted">{t("Project")}</span>
                <select class="input" name="project" data-testid="new-job-project"
                    on:change=move |ev| project.set(event_target_value(&ev).parse().ok())>
                    {move || active_projects().into_iter().map(|p| {
                        let selected = Some(p.id) == chosen();
                        view! { <option value=p.id.to_string() selected=selected>{p.name}</option> }
                    }).collect_view()}
                </select>
                <crate::ui::FieldError error field="project"/>
            </label>
            <label class="field">
                <span class="small muted">{t("Title")}</span>
                <input class="input" name="title" required maxlength="200" node_ref=title_ref
                    data-testid="new-job-title" autocomplete="off"
                    value=move || title.get() prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                <crate::ui::FieldError error field="title"/>
            </label>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Type")}</span>
                    <select class="input" name="job_type"
                        on:change=move |ev| if let Ok(value) = event_target_value(&ev).parse() { job_type.set(value) }>
                        {JobType::ALL.iter().copied().map(|kind| view! {
                            <option value=kind.as_str() selected=kind == default_type>{kind.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="small muted">{t("Environment")}</span>
                    <select class="input" name="environment"
                        on:change=move |ev| environment.set(event_target_value(&ev))>
                        <option value="">{t("None")}</option>
                        {move || environments().into_iter().map(|name| view! {
                            <option value=name.clone()>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                    <crate::ui::FieldError error field="environment"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Start")}</span>
                    <input class="input" type="datetime-local" name="start" required
                        value=move || start.get() prop:value=move || start.get() on:input=move |ev| start.set(event_target_value(&ev))/>
                    <crate::ui::FieldError error field="start"/>
                </label>
            </div>
            {move || error.get().filter(|e| e.field.is_none()).map(|e| view! {
                <p class="form-error" role="alert">{e.message}</p>
            })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_cancel.run(())>{t("Back")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || pending.get()
                    data-testid="new-job-submit">
                    {move || if pending.get() { t("Creating…") } else { t("Create the job") }}
                </button>
            </div>
        </form>
    }
}
