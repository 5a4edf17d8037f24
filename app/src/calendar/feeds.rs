//! "Subscribe": the caller's iCal feeds — create one for their own jobs or a project's, copy its
//! URL (shown once), revoke one.

use leptos::prelude::*;

use super::browser;
use super::request::ProjectLabel;
use super::requests::{create_feed, my_feeds, revoke_feed};
use crate::i18n::{t, tf};

/// "Subscribe": the caller's iCal feeds — create one for their own jobs or a project's, copy its
/// URL (shown once), revoke one.
#[component]
pub(super) fn Feeds(open: RwSignal<bool>, projects: Vec<ProjectLabel>) -> impl IntoView {
    let scope = RwSignal::new(String::new());
    let create = Action::new(|project_id: &Option<i64>| create_feed(*project_id));
    let revoke = Action::new(|id: &i64| revoke_feed(*id));
    // Read again whenever the dialog opens and after each creation or revocation.
    let feeds = LocalResource::new(move || {
        let (open, _, _) = (open.get(), create.version().get(), revoke.version().get());
        async move {
            if open {
                Some(my_feeds().await)
            } else {
                None
            }
        }
    });
    Effect::new(move |_| {
        if open.get() {
            create.clear();
        }
    });
    // The URL of the feed just created (shown this once), or why it was refused.
    let created = move || create.value().get();
    let refused = move || {
        revoke
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| created().and_then(Result::err))
    };
    let close = move || open.set(false);
    view! {
        {move || open.get().then(|| {
            let projects = projects.clone();
            view! {
            <div class="modal-backdrop" on:click=move |_| close()></div>
            <div class="modal modal--wide" role="dialog" aria-modal="true" aria-labelledby="feeds-title" data-testid="feeds"
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { close() }>
                <h2 id="feeds-title">{t("Subscribe in a calendar application")}</h2>
                <p class="muted small">{t("A private, read-only iCal address for Google Calendar, Outlook or Thunderbird. Anyone holding it sees the plan: revoke it when it is no longer needed.")}</p>
                <div class="feeds__new">
                    <label class="field field--inline">
                        <span>{t("Jobs")}</span>
                        <select class="input" data-testid="feed-scope" on:change=move |ev| scope.set(event_target_value(&ev))>
                            <option value="">{t("Mine (jobs I own)")}</option>
                            {projects.into_iter().map(|p| view! { <option value=p.id.to_string()>{tf("Project {name}", &[("name", &p.name)])}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="button" class="button button--primary" data-testid="create-feed"
                        disabled=move || create.pending().get()
                        on:click=move |_| { create.dispatch(scope.get_untracked().parse().ok()); }>{t("Create address")}</button>
                </div>
                {move || refused().map(|error| view! { <p class="notice notice--error" role="alert">{error.message}</p> })}
                {move || created().and_then(Result::ok).map(|url| view! {
                    <div class="feeds__created" role="status">
                        <p>{t("Copy this address now: it will not be shown again.")}</p>
                        <input class="input mono" readonly=true data-testid="feed-url" value=url.clone()
                            on:focus=move |ev| browser::select_all(&ev)/>
                    </div>
                })}
                {move || match feeds.get().flatten() {
                    None => view! { <p class="muted" aria-busy="true">{t("Loading your feeds…")}</p> }.into_any(),
                    Some(Err(error)) => view! { <p class="notice notice--error" role="alert">{error.message}</p> }.into_any(),
                    Some(Ok(list)) if list.iter().all(|f| f.revoked_at.is_some()) => view! {
                        <p class="muted">{t("No live feed yet.")}</p>
                    }.into_any(),
                    Some(Ok(list)) => view! {
                        <ul class="feeds__list">
                            {list.into_iter().filter(|f| f.revoked_at.is_none()).map(|f| {
                                let id = f.id;
                                let what = match &f.project_name {
                                    Some(name) => tf("Project {name}", &[("name", name)]),
                                    None => t("My jobs").to_owned(),
                                };
                                let used = f.last_used_at.map(|at| tf("last read {at}", &[("at", &crate::i18n::dates(&at.format("%e %b %H:%M UTC").to_string()))]))
                                    .unwrap_or_else(|| t("never read yet").to_owned());
                                view! {
                                    <li class="feeds__item" data-feed-id=id.to_string()>
                                        <span>{what}</span>
                                        <span class="mono muted small">{format!("…{}", f.token_hint)}</span>
                                        <span class="muted small">{used}</span>
                                        <button type="button" class="button button--ghost button--danger" data-testid="revoke-feed"
                                            on:click=move |_| { revoke.dispatch(id); }>{t("Revoke")}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
                <div class="modal__actions">
                    <button type="button" class="button button--ghost" on:click=move |_| close()>{t("Close")}</button>
                </div>
            </div>
        }})}
    }
}
