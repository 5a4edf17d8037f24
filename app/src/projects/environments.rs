//! The project sheet's environments: add one (production or not), rename it, flag or unflag
//! production, remove it while nothing uses it. Lowering a production guard is an admin's.

use domain::policy::{Action, Object};
use domain::EnvironmentRecord;
use leptos::prelude::*;

use crate::i18n::{t, tf};
use crate::session::Me;
use crate::ui::FieldError;
use crate::AppError;

#[server(prefix = "/sfn", endpoint = "environments/create")]
pub async fn create_environment(
    project_id: i64,
    name: String,
    is_production: bool,
) -> Result<EnvironmentRecord, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let environment = services::storage::NewEnvironment {
        name: name.trim().to_owned(),
        is_production,
    };
    Ok(services::environments::create(&hub, &caller, project_id, environment).await?)
}

#[server(prefix = "/sfn", endpoint = "environments/update")]
pub async fn update_environment(
    project_id: i64,
    name: String,
    version: i64,
    new_name: Option<String>,
    is_production: Option<bool>,
) -> Result<EnvironmentRecord, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::EnvironmentChanges {
        name: new_name.filter(|n| !n.trim().is_empty()),
        is_production,
    };
    Ok(services::environments::update(&hub, &caller, project_id, &name, version, changes).await?)
}

#[server(prefix = "/sfn", endpoint = "environments/delete")]
pub async fn delete_environment(project_id: i64, name: String) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::environments::delete(&hub, &caller, project_id, &name).await?)
}

/// The environments tab. `changed` is bumped after every change, so the sheet reloads.
#[component]
pub fn EnvironmentsTab(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<EnvironmentRecord>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(owner_id);
    let may_manage = move || me.allows(Action::UpdateProject, &object);
    let may_lower = move || me.allows(Action::LowerProductionGuard, &object);
    let name = RwSignal::new(String::new());
    let production = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let add = ServerAction::<CreateEnvironment>::new();
    Effect::new(move |_| match add.value().get() {
        Some(Ok(_)) => {
            name.set(String::new());
            production.set(false);
            error.set(None);
            changed.update(|v| *v += 1);
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let row_error = RwSignal::new(None::<AppError>);
    view! {
        <div class="stack">
            <div class="table-scroll">
                <table class="table" data-testid="environments">
                    <thead><tr><th scope="col">{t("Name")}</th><th scope="col">{t("Production")}</th><th scope="col">{t("Created")}</th><th scope="col"><span class="visually-hidden">{t("Actions")}</span></th></tr></thead>
                    <tbody>
                        {environments.into_iter().map(|env| view! {
                            <EnvironmentRow project_id env may_manage=Signal::derive(may_manage) may_lower=Signal::derive(may_lower) changed error=row_error/>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {move || row_error.get().map(|e| view! { <p class="form-error" role="alert" data-testid="environment-error">{e.message}</p> })}
            <Show when=may_manage>
                <form class="card form form--inline" data-testid="add-environment" on:submit=move |ev| {
                    ev.prevent_default();
                    add.dispatch(CreateEnvironment { project_id, name: name.get_untracked(), is_production: production.get_untracked() });
                }>
                    <h2>{t("Add an environment")}</h2>
                    <div class="form__row">
                        <label class="field">
                            <span class="small muted">{t("Name")}</span>
                            <input class="input" name="environment-name" required maxlength="40" autocomplete="off" placeholder="preprod"
                                value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                            <FieldError error field="name"/>
                        </label>
                        <label class="field field--check">
                            <input type="checkbox" name="is_production" checked=move || production.get() prop:checked=move || production.get()
                                on:change=move |ev| production.set(event_target_checked(&ev))/>
                            <span>{t("Production: runs need an isolated backend and an approval")}</span>
                        </label>
                        <button class="button button--primary" type="submit" prop:disabled=move || add.pending().get()>{t("Add")}</button>
                    </div>
                    {move || error.get().filter(|e| e.field.as_deref() != Some("name")).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                </form>
            </Show>
        </div>
    }
}

#[component]
fn EnvironmentRow(
    project_id: i64,
    env: EnvironmentRecord,
    may_manage: Signal<bool>,
    may_lower: Signal<bool>,
    changed: RwSignal<u32>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let renaming = RwSignal::new(false);
    let new_name = RwSignal::new(env.name.clone());
    let update = ServerAction::<UpdateEnvironment>::new();
    let delete = ServerAction::<DeleteEnvironment>::new();
    Effect::new(move |_| {
        let outcome = update
            .value()
            .get()
            .map(|r| r.map(|_| ()))
            .or_else(|| delete.value().get());
        match outcome {
            Some(Ok(())) => {
                error.set(None);
                changed.update(|v| *v += 1);
            }
            Some(Err(refused)) => error.set(Some(refused)),
            None => {}
        }
    });
    let production = env.is_production;
    // Taking production away (unflag, rename, delete) lowers a guard: an admin's act.
    let may_change = move || may_manage.get() && (!production || may_lower.get());
    let name = StoredValue::new(env.name.clone());
    let version = env.version;
    view! {
        <tr data-environment=env.name.clone()>
            <td>
                <Show when=move || renaming.get() fallback=move || view! {
                    <span class=if production { "chip chip--prod" } else { "chip" }>{name.get_value()}</span>
                }>
                    <input class="input input--small" aria-label=t("New name") value=move || new_name.get() prop:value=move || new_name.get()
                        on:input=move |ev| new_name.set(event_target_value(&ev))/>
                </Show>
            </td>
            <td>{if production { t("yes — guardrails apply") } else { t("no") }}</td>
            <td class="small muted">{env.created_at.format("%Y-%m-%d").to_string()}</td>
            <td class="table__actions">
                <Show when=move || may_manage.get()>
                    <Show when=move || renaming.get() fallback=move || view! {
                        <Show when=may_change>
                            <button type="button" class="button button--small" on:click=move |_| renaming.set(true)>{t("Rename")}</button>
                        </Show>
                    }>
                        <button type="button" class="button button--small button--primary" on:click=move |_| {
                            renaming.set(false);
                            update.dispatch(UpdateEnvironment { project_id, name: name.get_value(), version, new_name: Some(new_name.get_untracked()), is_production: None });
                        }>{t("Save")}</button>
                    </Show>
                    <Show when=may_change>
                        <button type="button" class="button button--small" data-testid="toggle-production"
                            on:click=move |_| { update.dispatch(UpdateEnvironment { project_id, name: name.get_value(), version, new_name: None, is_production: Some(!production) }); }>
                            {if production { t("Unflag production") } else { t("Flag production") }}
                        </button>
                    </Show>
                    <Show when=may_change>
                        <button type="button" class="button button--small button--danger" title=t("Removed only while no job, run, link or secret uses it")
                            on:click=move |_| { delete.dispatch(DeleteEnvironment { project_id, name: name.get_value() }); }>{t("Remove")}</button>
                    </Show>
                    <Show when=move || production && !may_lower.get()>
                        <span class="muted small">{tf("Only an admin takes {name} out of production.", &[("name", &name.get_value())])}</span>
                    </Show>
                </Show>
            </td>
        </tr>
    }
}
