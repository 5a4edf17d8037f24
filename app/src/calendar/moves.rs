//! The pending move requests on the calendar: approvers decide them, requesters withdraw theirs.

use domain::move_request::{MoveDecision, MoveRequest};
use domain::zone::Zone;
use leptos::prelude::*;

use super::refresh::Refresh;
use super::requests::decide_move;
use super::state::Notice;
use crate::i18n::{t, tf, use_locale};

/// The pending move requests: approvers decide them here; requesters may withdraw theirs.
#[component]
pub(super) fn MoveRequests(
    pending: RwSignal<Vec<MoveRequest>>,
    decidable: Vec<i64>,
    user_id: i64,
    zone: Zone,
    notice: RwSignal<Option<Notice>>,
    refresh: Refresh,
) -> impl IntoView {
    // The outcome is written after the answer arrives, outside the render: the locale goes along.
    let locale = use_locale();
    let decide = Action::new(move |(id, decision, title): &(i64, MoveDecision, String)| {
        let (id, decision, title) = (*id, *decision, title.clone());
        async move {
            let outcome = decide_move(id, decision).await;
            let title = [("title", title.as_str())];
            #[rustfmt::skip]
            let text = match (&outcome, decision) {
                (Ok(_), MoveDecision::Approve) => locale.tf("Move of “{title}” approved: the job moved.", &title),
                (Ok(_), MoveDecision::Reject) => locale.tf("Move of “{title}” rejected: the job stays.", &title),
                (Ok(_), MoveDecision::Withdraw) => locale.tf("Move request for “{title}” withdrawn.", &title),
                (Err(error), _) if error.code == "stale_version" => {
                    locale.tf("“{title}” changed after the request: the request no longer applies.", &title)
                }
                (Err(error), _) => locale.tf("Not done: {message}", &[("message", &error.message)]),
            };
            notice.set(Some(Notice {
                text,
                error: outcome.is_err(),
            }));
            refresh.now();
        }
    });
    let may_decide = StoredValue::new(decidable);
    let can_decide = move |id: i64| may_decide.with_value(|ids| ids.contains(&id));
    let mine_or_decidable =
        move |r: &MoveRequest| can_decide(r.id) || r.requested_by == Some(user_id);
    view! {
        {move || {
            let list: Vec<MoveRequest> = pending.get().into_iter().filter(|r| mine_or_decidable(r)).collect();
            (!list.is_empty()).then(|| view! {
                <section class="moves card" aria-labelledby="moves-title" data-testid="move-requests">
                    <h2 id="moves-title" class="moves__title">
                        {if may_decide.with_value(|ids| !ids.is_empty()) { t("Production moves waiting for approval") } else { t("Your move requests") }}
                        <span class="badge">{list.len()}</span>
                    </h2>
                    <ul class="moves__list">
                        {list.into_iter().map(|r| {
                            let id = r.id;
                            let title = r.job_title.clone();
                            let (approve_title, reject_title, withdraw_title) = (title.clone(), title.clone(), title.clone());
                            let mine = r.requested_by == Some(user_id);
                            view! {
                                <li class="moves__item" data-move-request=id.to_string() data-job-id-ref=r.job_id.to_string()>
                                    <span class="moves__what">
                                        <strong>{r.job_title.clone()}</strong>
                                        {r.environment.clone().map(|e| view! { <span class="tag tag--prod">{e}</span> })}
                                        " "
                                        <span class="mono small">
                                            {crate::i18n::dates(&r.from_start.with_timezone(&zone).format("%a %e %b %H:%M").to_string())}
                                            " → "
                                            {crate::i18n::dates(&r.planned_start.with_timezone(&zone).format("%a %e %b %H:%M").to_string())}
                                        </span>
                                        <span class="muted small">" " {tf("asked by {user}", &[("user", r.requested_by_username.as_deref().unwrap_or(t("a former user")))])}</span>
                                    </span>
                                    <span class="moves__actions">
                                        {(can_decide(id) && !mine).then(|| view! {
                                            <button type="button" class="button button--primary" data-testid="approve-move"
                                                on:click=move |_| { decide.dispatch((id, MoveDecision::Approve, approve_title.clone())); }>{t("Approve")}</button>
                                            <button type="button" class="button button--ghost" data-testid="reject-move"
                                                on:click=move |_| { decide.dispatch((id, MoveDecision::Reject, reject_title.clone())); }>{t("Reject")}</button>
                                        })}
                                        {mine.then(|| view! {
                                            <button type="button" class="button button--ghost" data-testid="withdraw-move"
                                                on:click=move |_| { decide.dispatch((id, MoveDecision::Withdraw, withdraw_title.clone())); }>{t("Withdraw")}</button>
                                        })}
                                    </span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            })
        }}
    }
}
