//! The project sheet's settings: where its runs go (the execution backend and its
//! configuration: image, limits, network, webhook target and key) and archiving it.

use domain::policy::{Action, Object};
use domain::{BackendConfig, ExecutionBackend, ProjectState, ProjectSummary, WebhookPreset};
use leptos::prelude::*;

use crate::i18n::t;
use crate::labels;
use crate::session::Me;
use crate::ui::FieldError;
use crate::AppError;

/// Saves a project's execution backend and its configuration.
#[server(prefix = "/sfn", endpoint = "projects/execution", input = leptos::server_fn::codec::Json)]
pub async fn save_execution(
    project_id: i64,
    version: i64,
    backend: Option<ExecutionBackend>,
    config: BackendConfig,
) -> Result<ProjectSummary, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::ProjectChanges {
        execution_backend: Some(backend),
        execution_backend_config: Some(config),
        ..Default::default()
    };
    Ok(services::projects::update(&hub, &caller, project_id, version, changes).await?)
}

/// Archives a project (read-only for new work) or reopens it.
#[server(prefix = "/sfn", endpoint = "projects/state")]
pub async fn set_project_state(
    project_id: i64,
    version: i64,
    state: ProjectState,
) -> Result<ProjectSummary, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::ProjectChanges {
        state: Some(state),
        ..Default::default()
    };
    Ok(services::projects::update(&hub, &caller, project_id, version, changes).await?)
}

/// A number field's text as an optional number (empty: none; not a number: the server's
/// range check names the field).
fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.trim().parse().ok()
}

fn text_of<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[component]
pub fn SettingsTab(project: ProjectSummary, changed: RwSignal<u32>) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(project.owner_id);
    let may_manage = move || me.allows(Action::UpdateProject, &object);
    let config = project.execution_backend_config.clone();
    let backend = RwSignal::new(project.execution_backend);
    let image = RwSignal::new(config.image.clone().unwrap_or_default());
    let timeout = RwSignal::new(text_of(config.timeout_seconds));
    let cpus = RwSignal::new(text_of(config.cpus));
    let memory = RwSignal::new(text_of(config.memory_mb));
    let pids = RwSignal::new(text_of(config.pids_limit));
    let network = RwSignal::new(config.network.unwrap_or(false));
    let url = RwSignal::new(config.webhook_url.clone().unwrap_or_default());
    let preset = RwSignal::new(config.webhook_preset);
    let secret_name = RwSignal::new(config.webhook_secret_name.clone().unwrap_or_default());
    let callback_timeout = RwSignal::new(text_of(config.callback_timeout_seconds));
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(false);
    let save = ServerAction::<SaveExecution>::new();
    let state = ServerAction::<SetProjectState>::new();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            error.set(None);
            saved.set(true);
            changed.update(|v| *v += 1);
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    Effect::new(move |_| match state.value().get() {
        Some(Ok(_)) => changed.update(|v| *v += 1),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let (project_id, version) = (project.id, project.version);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let optional = |text: String| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let config = BackendConfig {
            image: optional(image.get_untracked()),
            timeout_seconds: number(&timeout.get_untracked()),
            cpus: number(&cpus.get_untracked()),
            memory_mb: number(&memory.get_untracked()),
            pids_limit: number(&pids.get_untracked()),
            network: Some(network.get_untracked()),
            webhook_url: optional(url.get_untracked()),
            webhook_preset: preset.get_untracked(),
            webhook_secret_name: optional(secret_name.get_untracked()),
            callback_timeout_seconds: number(&callback_timeout.get_untracked()),
        };
        save.dispatch(SaveExecution {
            project_id,
            version,
            backend: backend.get_untracked(),
            config,
        });
    };
    let archived = project.state == ProjectState::Archived;
    let placed = [
        "image",
        "timeout_seconds",
        "cpus",
        "memory_mb",
        "pids_limit",
        "webhook_url",
        "webhook_secret_name",
        "callback_timeout_seconds",
    ];
    view! {
        <Show when=may_manage fallback=move || view! {
            <p class="muted">{t("The project's owner and admins change its settings.")}</p>
        }>
            <form class="card form form--panel" data-testid="execution-settings" on:submit=submit>
                <h2>{t("Where runs go")}</h2>
                <label class="field">
                    <span class="small muted">{t("Execution backend (a job's action picks its own; this is the default)")}</span>
                    <select class="input" name="execution_backend" on:change=move |ev| backend.set(event_target_value(&ev).parse().ok())>
                        <option value="" selected=move || backend.get().is_none()>{t("None")}</option>
                        {[ExecutionBackend::Local, ExecutionBackend::Docker, ExecutionBackend::Webhook].map(|b| view! {
                            <option value=b.as_str() selected=move || backend.get() == Some(b)>{labels::backend(b)}</option>
                        }).collect_view()}
                    </select>
                    <FieldError error field="execution_backend"/>
                </label>
                <fieldset class="fieldset">
                    <legend>{t("Every run")}</legend>
                    <label class="field">
                        <span class="small muted">{t("Timeout in seconds (empty: one hour)")}</span>
                        <input class="input" name="timeout_seconds" inputmode="numeric" value=move || timeout.get() prop:value=move || timeout.get() on:input=move |ev| timeout.set(event_target_value(&ev))/>
                        <FieldError error field="execution_backend_config.timeout_seconds"/>
                    </label>
                </fieldset>
                <fieldset class="fieldset">
                    <legend>{t("Containers (docker)")}</legend>
                    <div class="form__row">
                        <label class="field field--grow">
                            <span class="small muted">{t("Default image")}</span>
                            <input class="input mono" name="image" autocomplete="off" value=move || image.get() prop:value=move || image.get() on:input=move |ev| image.set(event_target_value(&ev))/>
                            <FieldError error field="execution_backend_config.image"/>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("CPUs")}</span>
                            <input class="input" name="cpus" inputmode="decimal" placeholder="1" value=move || cpus.get() prop:value=move || cpus.get() on:input=move |ev| cpus.set(event_target_value(&ev))/>
                            <FieldError error field="execution_backend_config.cpus"/>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("Memory (MiB)")}</span>
                            <input class="input" name="memory_mb" inputmode="numeric" placeholder="512" value=move || memory.get() prop:value=move || memory.get() on:input=move |ev| memory.set(event_target_value(&ev))/>
                            <FieldError error field="execution_backend_config.memory_mb"/>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("Processes")}</span>
                            <input class="input" name="pids_limit" inputmode="numeric" placeholder="256" value=move || pids.get() prop:value=move || pids.get() on:input=move |ev| pids.set(event_target_value(&ev))/>
                            <FieldError error field="execution_backend_config.pids_limit"/>
                        </label>
                    </div>
                    <label class="field field--check">
                        <input type="checkbox" name="network" checked=move || network.get() prop:checked=move || network.get() on:change=move |ev| network.set(event_target_checked(&ev))/>
                        <span>{t("Give containers a network (off: no network at all)")}</span>
                    </label>
                </fieldset>
                <fieldset class="fieldset">
                    <legend>{t("Webhook / CI pipeline")}</legend>
                    <label class="field">
                        <span class="small muted">{t("Target URL (internal addresses need UHUB_WEBHOOK_ALLOWED_HOSTS)")}</span>
                        <input class="input mono" name="webhook_url" type="url" autocomplete="off" value=move || url.get() prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                        <FieldError error field="execution_backend_config.webhook_url"/>
                    </label>
                    <div class="form__row">
                        <label class="field">
                            <span class="small muted">{t("Preset")}</span>
                            <select class="input" name="webhook_preset" on:change=move |ev| preset.set(event_target_value(&ev).parse().ok())>
                                <option value="" selected=move || preset.get().is_none()>{t("Generic")}</option>
                                {WebhookPreset::ALL.iter().copied().map(|p| view! {
                                    <option value=p.as_str() selected=move || preset.get() == Some(p)>{labels::webhook_preset(p)}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("Secret holding the key or token")}</span>
                            <input class="input mono" name="webhook_secret_name" autocomplete="off" placeholder="CI_TOKEN" value=move || secret_name.get() prop:value=move || secret_name.get() on:input=move |ev| secret_name.set(event_target_value(&ev))/>
                            <FieldError error field="execution_backend_config.webhook_secret_name"/>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("Wait for the callback (seconds, empty: 900)")}</span>
                            <input class="input" name="callback_timeout_seconds" inputmode="numeric" value=move || callback_timeout.get() prop:value=move || callback_timeout.get() on:input=move |ev| callback_timeout.set(event_target_value(&ev))/>
                            <FieldError error field="execution_backend_config.callback_timeout_seconds"/>
                        </label>
                    </div>
                </fieldset>
                {move || error.get().filter(|e| !e.field.as_deref().is_some_and(|f| placed.iter().any(|p| f.ends_with(p)))).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                {move || saved.get().then(|| view! { <p class="notice" role="status">{t("Saved.")}</p> })}
                <div class="modal__actions">
                    <button type="submit" class="button button--primary" prop:disabled=move || save.pending().get() data-testid="save-execution">{t("Save")}</button>
                </div>
            </form>
            <section class="card" aria-labelledby="archive-title">
                <h2 id="archive-title">{if archived { t("Reopen the project") } else { t("Archive the project") }}</h2>
                <p class="muted small">{if archived {
                    t("Reopened, the project takes new jobs, environments, backlog items and links again.")
                } else {
                    t("Archived, the project keeps its history but takes no new work until it is reopened.")
                }}</p>
                <button type="button" class=if archived { "button" } else { "button button--danger" } data-testid="archive-project"
                    on:click=move |_| { state.dispatch(SetProjectState { project_id, version, state: if archived { ProjectState::Active } else { ProjectState::Archived } }); }>
                    {if archived { t("Reopen") } else { t("Archive") }}
                </button>
            </section>
        </Show>
    }
}
