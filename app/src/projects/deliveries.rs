//! Under a Git repository link: where its webhooks go, and the deliveries received (event,
//! when, outcome, how many changes they linked to jobs), each replayable by the admin or the
//! project's owner. Never a secret.

use domain::policy::{Action, Object};
use domain::Delivery;
use leptos::prelude::*;

use crate::i18n::{t, tf};
use crate::session::Me;
use crate::AppError;

/// The latest deliveries of a repository link (the same use case as
/// `GET /api/v1/links/{id}/deliveries`).
#[server(prefix = "/sfn", endpoint = "links/deliveries")]
pub async fn link_deliveries(link_id: i64) -> Result<Vec<Delivery>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::git::deliveries(&hub, &caller, link_id).await?)
}

/// Acts again on a kept delivery (the same use case as
/// `POST /api/v1/links/{id}/deliveries/{delivery}/replay`).
#[server(prefix = "/sfn", endpoint = "links/deliveries/replay")]
pub async fn replay_delivery(link_id: i64, delivery: i64) -> Result<Delivery, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::git::replay(&hub, &caller, link_id, delivery).await?)
}

/// Opened on demand: a project has few repositories, but each may have many deliveries.
#[component]
pub fn Deliveries(link_id: i64, signed: bool, owner_id: Option<i64>) -> impl IntoView {
    let me = expect_context::<Me>();
    let object = Object::project(owner_id);
    let may_replay = move || me.allows(Action::UpdateProject, &object);
    let open = RwSignal::new(false);
    let replay = ServerAction::<ReplayDelivery>::new();
    let deliveries = crate::ui::load_in_browser(move || {
        // A replay answered: the listing shows it.
        let _ = replay.version().get();
        let wanted = open.get();
        async move {
            if wanted {
                link_deliveries(link_id).await.map(Some)
            } else {
                Ok(None)
            }
        }
    });
    view! {
        <details class="deliveries" data-testid="deliveries" on:toggle=move |_| open.set(true)>
            <summary class="small link">{t("Webhook and deliveries")}</summary>
            <p class="small muted">
                {t("Point the repository's webhook (JSON) at")} " "
                <code class="mono">{format!("/api/v1/hooks/git/{link_id}")}</code>
                {if signed { t(", signed with the secret this link names.") } else { t(": name a project secret on this link first, or every delivery is refused.") }}
            </p>
            {move || match deliveries.try_get().flatten() {
                None | Some(Ok(None)) => view! { <p class="small muted">{t("Loading…")}</p> }.into_any(),
                Some(Ok(Some(list))) if list.is_empty() => view! { <p class="small muted">{t("No delivery yet.")}</p> }.into_any(),
                Some(Ok(Some(list))) => view! {
                    <ul class="lines">
                        {list.into_iter().take(20).map(|d| {
                            let delivery = d.id;
                            view! {
                                <li class="line small" data-testid="delivery">
                                    <span class="mono">{d.event.clone()}</span>
                                    <span class="muted mono wrap">{d.delivery_id.clone()}</span>
                                    <span>{d.outcome.clone()}</span>
                                    <span class="muted">{tf("{n} linked", &[("n", &d.linked.to_string())])}</span>
                                    <span class="muted">{crate::i18n::dates(&d.received_at.format("%e %b %H:%M:%S UTC").to_string())}</span>
                                    <Show when=may_replay>
                                        <span class="line__actions">
                                            <button type="button" class="button button--small" data-testid="replay"
                                                prop:disabled=move || replay.pending().get()
                                                on:click=move |_| { replay.dispatch(ReplayDelivery { link_id, delivery }); }>{t("Replay")}</button>
                                        </span>
                                    </Show>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Some(Err(error)) => view! { <p class="form-error" role="alert">{error.message}</p> }.into_any(),
            }}
            {move || replay.value().get().and_then(Result::err).map(|e| view! {
                <p class="form-error" role="alert">{e.message} <span class="mono small">" (" {e.code} ")"</span></p>
            })}
        </details>
    }
}
