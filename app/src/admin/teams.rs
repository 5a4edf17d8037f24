//! The admin's teams tab: create, rename and delete teams; add and remove members.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::t;
use crate::ui::{FieldError, LoadError};
use crate::AppError;

/// A team and its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub members: Vec<(i64, String)>,
}

#[server(prefix = "/sfn", endpoint = "admin/teams")]
pub async fn admin_teams() -> Result<Vec<TeamRow>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::teams::list(&hub, &caller)
        .await?
        .into_iter()
        .map(|team| TeamRow {
            id: team.id,
            name: team.name,
            members: team
                .members
                .into_iter()
                .map(|m| (m.user_id, m.display_name))
                .collect(),
        })
        .collect())
}

#[server(prefix = "/sfn", endpoint = "admin/teams/create")]
pub async fn create_team(name: String) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    services::teams::create(&hub, &caller, name.trim()).await?;
    Ok(())
}

#[server(prefix = "/sfn", endpoint = "admin/teams/rename")]
pub async fn rename_team(id: i64, name: String) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    services::teams::rename(&hub, &caller, id, name.trim()).await?;
    Ok(())
}

#[server(prefix = "/sfn", endpoint = "admin/teams/delete")]
pub async fn delete_team(id: i64) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::teams::delete(&hub, &caller, id).await?)
}

/// Adds (`add`) or removes a member.
#[server(prefix = "/sfn", endpoint = "admin/teams/member")]
pub async fn team_member(team_id: i64, user_id: i64, add: bool) -> Result<(), AppError> {
    let (hub, caller) = crate::server::use_case()?;
    if add {
        services::teams::add_member(&hub, &caller, team_id, user_id).await?;
    } else {
        services::teams::remove_member(&hub, &caller, team_id, user_id).await?;
    }
    Ok(())
}

/// The teams, as the page's server component read them (`teams`), read again after each change.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
pub fn TeamsTab(teams: Result<Vec<TeamRow>, AppError>) -> impl IntoView {
    crate::i18n::provide_locale();
    let changed = RwSignal::new(0u32);
    let teams = crate::ui::refreshed(teams, changed, admin_teams);
    let people = LocalResource::new(crate::people::people);
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let create = ServerAction::<CreateTeam>::new();
    let rename = ServerAction::<RenameTeam>::new();
    let delete = ServerAction::<DeleteTeam>::new();
    let member = ServerAction::<TeamMember>::new();
    Effect::new(move |_| {
        let outcome = create
            .value()
            .get()
            .or_else(|| rename.value().get())
            .or_else(|| delete.value().get())
            .or_else(|| member.value().get());
        match outcome {
            Some(Ok(())) => {
                name.set(String::new());
                error.set(None);
                changed.update(|v| *v += 1);
            }
            Some(Err(refused)) => error.set(Some(refused)),
            None => {}
        }
    });
    view! {
        <form class="toolbar" data-testid="new-team" on:submit=move |ev| { ev.prevent_default(); create.dispatch(CreateTeam { name: name.get_untracked() }); }>
            <label class="field field--inline">
                <span class="small muted">{t("New team")}</span>
                <input class="input" name="team-name" required maxlength="80" autocomplete="off"
                    value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <button type="submit" class="button button--primary">{t("Create")}</button>
            <FieldError error field="name"/>
        </form>
        {move || error.get().filter(|e| e.field.as_deref() != Some("name")).map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
        {move || {
                match teams.get() {
                    Ok(list) if list.is_empty() => view! { <p class="empty-inline muted">{t("No team yet.")}</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="team-grid">
                            {list.into_iter().map(|team| {
                                let team_id = team.id;
                                let new_name = RwSignal::new(team.name.clone());
                                let chosen = RwSignal::new(None::<i64>);
                                let member_ids: Vec<i64> = team.members.iter().map(|m| m.0).collect();
                                view! {
                                    <section class="card team" data-team=team.name.clone()>
                                        <div class="form__row">
                                            <input class="input" aria-label=t("Team name") value=move || new_name.get() prop:value=move || new_name.get()
                                                on:input=move |ev| new_name.set(event_target_value(&ev))/>
                                            <button type="button" class="button button--small" on:click=move |_| { rename.dispatch(RenameTeam { id: team_id, name: new_name.get_untracked() }); }>{t("Rename")}</button>
                                            <button type="button" class="button button--small button--danger" on:click=move |_| { delete.dispatch(DeleteTeam { id: team_id }); }>{t("Delete")}</button>
                                        </div>
                                        {if team.members.is_empty() {
                                            view! { <p class="muted small">{t("No member yet.")}</p> }.into_any()
                                        } else {
                                            view! {
                                                <ul class="lines">
                                                    {team.members.into_iter().map(|(user_id, display)| view! {
                                                        <li class="line">
                                                            <span class="line__title">{display}</span>
                                                            <button type="button" class="button button--small" on:click=move |_| { member.dispatch(TeamMember { team_id, user_id, add: false }); }>{t("Remove")}</button>
                                                        </li>
                                                    }).collect_view()}
                                                </ul>
                                            }.into_any()
                                        }}
                                        <div class="form__row">
                                            <select class="input" aria-label=t("Add a member") on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                                                <option value="">{t("Add a member…")}</option>
                                                {move || people.get().and_then(Result::ok).unwrap_or_default().into_iter()
                                                    .filter(|p| !member_ids.contains(&p.id))
                                                    .map(|p| view! { <option value=p.id.to_string()>{p.display_name}</option> }).collect_view()}
                                            </select>
                                            <button type="button" class="button button--small" prop:disabled=move || chosen.get().is_none()
                                                on:click=move |_| if let Some(user_id) = chosen.get_untracked() { member.dispatch(TeamMember { team_id, user_id, add: true }); }>{t("Add")}</button>
                                        </div>
                                    </section>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <LoadError title=t("The teams could not be loaded") error/> }.into_any(),
                }
        }}
    }
}
