//! The admin's users tab: every account; create one (it gets a one-time password, shown once,
//! that must be changed at the first login), change a role, deactivate or reactivate, reset a
//! password. The same use cases as `/api/v1/users`.

use domain::{Role, UserProfile};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::labels;
use crate::layout::Avatar;
use crate::ui::{FieldError, LoadError};
use crate::AppError;

/// An account and whether it still has to choose its password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUser {
    pub profile: UserProfile,
    pub must_change_password: bool,
}

/// A new account, or a reset one, with the password to hand over (once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handover {
    pub username: String,
    pub one_time_password: String,
}

#[server(prefix = "/sfn", endpoint = "admin/users")]
pub async fn admin_users() -> Result<Vec<AdminUser>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    services::users::list(&hub, &caller)
        .await?
        .into_iter()
        .map(|user| {
            Ok(AdminUser {
                must_change_password: user.must_change_password,
                profile: user.profile()?,
            })
        })
        .collect::<Result<_, services::ServiceError>>()
        .map_err(AppError::from)
}

/// Creates an account with a one-time password it must change at its first login.
#[server(prefix = "/sfn", endpoint = "admin/users/create")]
pub async fn create_user(
    username: String,
    display_name: String,
    email: String,
    role: Role,
) -> Result<Handover, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let password = services::users::one_time_password();
    let email = Some(email.trim().to_owned()).filter(|e| !e.is_empty());
    let draft = services::users::UserDraft {
        username: username.trim().to_owned(),
        display_name: display_name.trim().to_owned(),
        email,
        role,
        password: password.to_string(),
        must_change_password: true,
        locale: None,
    };
    let user = services::users::create(&hub, &caller, draft).await?;
    Ok(Handover {
        username: user.username,
        one_time_password: password.to_string(),
    })
}

/// Changes an account's role or whether it may sign in.
#[server(prefix = "/sfn", endpoint = "admin/users/update")]
pub async fn update_user(
    id: i64,
    role: Option<Role>,
    is_active: Option<bool>,
) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let changes = services::storage::UserChanges {
        role,
        is_active,
        ..Default::default()
    };
    services::users::update(&hub, &caller, id, changes).await?;
    Ok(())
}

/// Gives an account a new one-time password (its sessions end; it chooses another at login).
#[server(prefix = "/sfn", endpoint = "admin/users/reset")]
pub async fn reset_user_password(id: i64) -> Result<Handover, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let password = services::users::one_time_password();
    services::users::reset_password(&hub, &caller, id, &password).await?;
    let user = services::users::get(&hub, &caller, id).await?;
    Ok(Handover {
        username: user.username,
        one_time_password: password.to_string(),
    })
}

/// The users, as the page's server component read them (`users`), read again after each
/// change; `me` is the signed-in admin, whose own role and account are not changed here.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
pub fn UsersTab(users: Result<Vec<AdminUser>, AppError>, me: Option<i64>) -> impl IntoView {
    crate::i18n::provide_locale();
    let changed = RwSignal::new(0u32);
    let users = crate::ui::refreshed(users, changed, admin_users);
    let handover = RwSignal::new(None::<Handover>);
    let creating = RwSignal::new(false);
    let update = ServerAction::<UpdateUser>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let row_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| match update.value().get() {
        Some(Ok(())) => {
            row_error.set(None);
            changed.update(|v| *v += 1);
        }
        Some(Err(refused)) => row_error.set(Some(refused)),
        None => {}
    });
    Effect::new(move |_| match reset.value().get() {
        Some(Ok(given)) => {
            handover.set(Some(given));
            changed.update(|v| *v += 1);
        }
        Some(Err(refused)) => row_error.set(Some(refused)),
        None => {}
    });
    view! {
        <div class="toolbar">
            <button type="button" class="button button--primary" data-testid="new-user" on:click=move |_| creating.set(true)>{t("New user")}</button>
        </div>
        <Show when=move || creating.get()>
            <NewUserForm on_done=Callback::new(move |given: Option<Handover>| {
                creating.set(false);
                if let Some(given) = given {
                    handover.set(Some(given));
                    changed.update(|v| *v += 1);
                }
            })/>
        </Show>
        {move || handover.get().map(|given| view! {
            <section class="card notice" role="status" data-testid="one-time-password">
                <p>{tf("Give {user} this one-time password. It is shown only now; they choose their own at their first login.", &[("user", &given.username)])}</p>
                <p class="mono one-time-password">{given.one_time_password}</p>
                <button type="button" class="button button--small" on:click=move |_| handover.set(None)>{t("Done")}</button>
            </section>
        })}
        {move || row_error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        {move || {
                match users.get() {
                    Ok(list) => view! {
                        <div class="table-scroll">
                            <table class="table" data-testid="admin-users">
                                <thead><tr><th scope="col">{t("Name")}</th><th scope="col">{t("Username")}</th><th scope="col">{t("Role")}</th><th scope="col">{t("Email")}</th><th scope="col">{t("Status")}</th><th scope="col"><span class="visually-hidden">{t("Actions")}</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|user| {
                                        let id = user.profile.id;
                                        let active = user.profile.is_active;
                                        let role = user.profile.role;
                                        // One's own role and account are not changed from here:
                                        // an admin would lock themselves out.
                                        let is_me = me == Some(id);
                                        view! {
                                            <tr id=format!("user-{id}") data-username=user.profile.username.clone()>
                                                <td class="cell-with-avatar"><Avatar name=user.profile.display_name.clone() small=true/><span class="wrap">{user.profile.display_name.clone()}</span></td>
                                                <td class="mono small">{user.profile.username.clone()}</td>
                                                <td>
                                                    <select class="input input--small" aria-label=t("Role") name="role" disabled=is_me
                                                        title=if is_me { t("Your own role is changed by another admin.") } else { "" }
                                                        on:change=move |ev| { let new: Option<Role> = event_target_value(&ev).parse().ok(); if let Some(new) = new { update.dispatch(UpdateUser { id, role: Some(new), is_active: None }); } }>
                                                        {Role::ALL.iter().copied().map(|r| view! { <option value=r.as_str() selected=r == role>{labels::role(r)}</option> }).collect_view()}
                                                    </select>
                                                </td>
                                                <td class="small wrap">{user.profile.email.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td>{match (active, user.must_change_password) {
                                                    (false, _) => t("deactivated"),
                                                    (true, true) => t("must choose a password"),
                                                    (true, false) => t("active"),
                                                }}</td>
                                                <td class="table__actions">
                                                    <button type="button" class="button button--small" on:click=move |_| { reset.dispatch(ResetUserPassword { id }); }>{t("Reset password")}</button>
                                                    <button type="button" class=if active { "button button--small button--danger" } else { "button button--small" } hidden=is_me
                                                        on:click=move |_| { update.dispatch(UpdateUser { id, role: None, is_active: Some(!active) }); }>
                                                        {if active { t("Deactivate") } else { t("Reactivate") }}
                                                    </button>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(error) => view! { <LoadError title=t("The users could not be loaded") error/> }.into_any(),
                }
        }}
    }
}

#[component]
fn NewUserForm(on_done: Callback<Option<Handover>>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Dev);
    let error = RwSignal::new(None::<AppError>);
    let create = ServerAction::<CreateUser>::new();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(given)) => on_done.run(Some(given)),
        Some(Err(refused)) => error.set(Some(refused)),
        None => {}
    });
    view! {
        <form class="card form form--panel" data-testid="new-user-form" autocomplete="off" on:submit=move |ev| {
            ev.prevent_default();
            create.dispatch(CreateUser { username: username.get_untracked(), display_name: display_name.get_untracked(), email: email.get_untracked(), role: role.get_untracked() });
        }>
            <h2>{t("New user")}</h2>
            <div class="form__row">
                <label class="field">
                    <span class="small muted">{t("Username")}</span>
                    <input class="input mono" name="username" required maxlength="64" autocomplete="off"
                        value=move || username.get() prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                    <FieldError error field="username"/>
                </label>
                <label class="field field--grow">
                    <span class="small muted">{t("Name")}</span>
                    <input class="input" name="display_name" required maxlength="120" autocomplete="off"
                        value=move || display_name.get() prop:value=move || display_name.get() on:input=move |ev| display_name.set(event_target_value(&ev))/>
                    <FieldError error field="display_name"/>
                </label>
            </div>
            <div class="form__row">
                <label class="field field--grow">
                    <span class="small muted">{t("Email (optional)")}</span>
                    <input class="input" type="email" name="email" autocomplete="off"
                        value=move || email.get() prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                    <FieldError error field="email"/>
                </label>
                <label class="field">
                    <span class="small muted">{t("Role")}</span>
                    <select class="input" name="new-user-role" on:change=move |ev| if let Ok(r) = event_target_value(&ev).parse() { role.set(r) }>
                        {Role::ALL.iter().copied().map(|r| view! { <option value=r.as_str() selected=move || role.get() == r>{labels::role(r)}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <p class="muted small">{t("uHub makes a one-time password for the first login; the person then chooses their own.")}</p>
            {move || error.get().filter(|e| !matches!(e.field.as_deref(), Some("username" | "display_name" | "email"))).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_done.run(None)>{t("Cancel")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || create.pending().get() data-testid="create-user">{t("Create the user")}</button>
            </div>
        </form>
    }
}
