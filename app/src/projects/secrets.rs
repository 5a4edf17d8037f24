//! The project sheet's secrets: names and scopes (project-wide, or one environment's runs
//! only), set a value, delete one. A value goes to the server once and never comes back.

use domain::policy::{Action, Object};
use domain::SecretInfo;
use leptos::prelude::*;

use crate::i18n::t;
use crate::session::Me;
use crate::ui::FieldError;
use crate::AppError;

#[server(prefix = "/sfn", endpoint = "secrets/list")]
pub async fn list_secrets(project_id: i64) -> Result<Vec<SecretInfo>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::secrets::list(&hub, &caller, project_id).await?)
}

/// Sets a secret's value, project-wide (`environment` empty) or for one environment's runs.
#[server(prefix = "/sfn", endpoint = "secrets/put")]
pub async fn put_secret(
    project_id: i64,
    name: String,
    value: String,
    environment: Option<String>,
) -> Result<SecretInfo, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let environment = environment.filter(|e| !e.is_empty());
    Ok(services::secrets::put(
        &hub,
        &caller,
        project_id,
        name.trim(),
        &value,
        environment.as_deref(),
    )
    .await?)
}

#[server(prefix = "/sfn", endpoint = "secrets/delete")]
pub async fn delete_secret(
    project_id: i64,
    name: String,
    environment: Option<String>,
) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let environment = environment.filter(|e| !e.is_empty());
    Ok(services::secrets::delete(&hub, &caller, project_id, &name, environment.as_deref()).await?)
}

#[component]
pub fn SecretsTab(
    project_id: i64,
    owner_id: Option<i64>,
    environments: Vec<String>,
    listing: Result<Vec<SecretInfo>, AppError>,
) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(owner_id);
    let may_manage = move || me.allows(Action::UpdateProject, &object);
    let changed = RwSignal::new(0u32);
    let listing = crate::ui::refreshed(listing, changed, move || list_secrets(project_id));
    let name = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let scope = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let put = ServerAction::<PutSecret>::new();
    let delete = ServerAction::<DeleteSecret>::new();
    Effect::new(move |_| match put.value().get() {
        Some(Ok(_)) => {
            // The value leaves the page's memory as soon as it is stored.
            value.set(String::new());
            name.set(String::new());
            error.set(None);
            changed.update(|v| *v += 1);
        }
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => changed.update(|v| *v += 1),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    let environments = StoredValue::new(environments);
    view! {
        <div class="stack">
            <p class="muted small">{t("Secrets reach runs as environment variables and are masked in logs. A secret of one environment reaches only that environment's runs; production runs always pass an approval.")}</p>
            {move || match listing.get() {
                        Ok(list) if list.is_empty() => view! { <p class="empty-inline muted">{t("No secret yet.")}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                                <table class="table" data-testid="secrets">
                                    <thead><tr><th scope="col">{t("Name")}</th><th scope="col">{t("Reaches")}</th><th scope="col">{t("Updated")}</th><th scope="col"><span class="visually-hidden">{t("Actions")}</span></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|secret| {
                                            let (n, e) = (secret.name.clone(), secret.environment.clone());
                                            view! {
                                                <tr data-secret=secret.name.clone()>
                                                    <td class="mono">{secret.name.clone()}</td>
                                                    <td>{match &secret.environment {
                                                        Some(env) => view! { <span class="chip">{env.clone()}</span> }.into_any(),
                                                        None => view! { <span class="muted">{t("every run of the project")}</span> }.into_any(),
                                                    }}</td>
                                                    <td class="small muted">{secret.updated_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                                    <td class="table__actions">
                                                        <Show when=may_manage>
                                                            <button type="button" class="button button--small button--danger"
                                                                on:click={
                                                                    let (n, e) = (n.clone(), e.clone());
                                                                    move |_| { delete.dispatch(DeleteSecret { project_id, name: n.clone(), environment: e.clone() }); }
                                                                }>{t("Delete")}</button>
                                                        </Show>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(error) => view! { <crate::ui::LoadError title=t("The secrets could not be loaded") error/> }.into_any(),
                    }}
            <Show when=may_manage>
                <form class="card form form--inline" data-testid="set-secret" autocomplete="off" on:submit=move |ev| {
                    ev.prevent_default();
                    put.dispatch(PutSecret { project_id, name: name.get_untracked(), value: value.get_untracked(), environment: Some(scope.get_untracked()) });
                }>
                    <h2>{t("Set a secret")}</h2>
                    <div class="form__row">
                        <label class="field">
                            <span class="small muted">{t("Name (becomes the variable)")}</span>
                            <input class="input mono" name="secret-name" required maxlength="128" placeholder="DB_PASSWORD" autocomplete="off"
                                value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                            <FieldError error field="name"/>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("Reaches")}</span>
                            <select class="input" name="secret-environment" on:change=move |ev| scope.set(event_target_value(&ev))>
                                <option value="">{t("every run of the project")}</option>
                                {environments.with_value(|list| list.iter().map(|env| view! {
                                    <option value=env.clone()>{env.clone()}</option>
                                }).collect_view())}
                            </select>
                            <FieldError error field="environment"/>
                        </label>
                        <label class="field">
                            <span class="small muted">{t("Value (never shown again)")}</span>
                            <input class="input mono" type="password" name="secret-value" required autocomplete="new-password"
                                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
                            <FieldError error field="value"/>
                        </label>
                        <button class="button button--primary" type="submit" prop:disabled=move || put.pending().get()>{t("Save")}</button>
                    </div>
                    {move || error.get().filter(|e| !matches!(e.field.as_deref(), Some("name" | "value" | "environment"))).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                </form>
            </Show>
        </div>
    }
}
