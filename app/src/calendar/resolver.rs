//! The conflict resolution dialog: the next free slots of the same length in the job's
//! environment (`domain::calendar::free_slots`, on the server), applied in one click.

use chrono::{DateTime, Utc};
use domain::zone::Zone;
use domain::CalendarEvent;
use leptos::prelude::*;

use super::requests::free_slots;
use super::state::window_label;
use crate::i18n::{t, tf, use_locale};

/// The conflict resolution dialog: the next free slots of the same length in the job's
/// environment (from `domain::calendar::free_slots` on the server), applied in one click.
#[component]
pub(super) fn Resolver(
    resolving: RwSignal<Option<i64>>,
    events: RwSignal<Vec<CalendarEvent>>,
    zone: Zone,
    commit: impl Fn(i64, DateTime<Utc>, Option<DateTime<Utc>>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let slots = Resource::new(
        move || resolving.get(),
        |job| async move {
            match job {
                Some(job_id) => free_slots(job_id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let close = move || resolving.set(None);
    let locale = use_locale();
    view! {
        {move || resolving.get().map(|job_id| {
            let event = events.with(|list| list.iter().find(|e| e.extended_props.job_id == job_id).cloned());
            let title = event.as_ref().map(|e| e.title.clone()).unwrap_or_default();
            let all_day = event.as_ref().is_some_and(|e| e.all_day);
            let has_end = event.as_ref().is_some_and(|e| e.extended_props.planned_end.is_some());
            let others: Vec<String> = event.as_ref().map(|e| {
                events.with(|list| e.extended_props.conflicts_with.iter()
                    .filter_map(|id| list.iter().find(|o| o.extended_props.job_id == *id).map(|o| format!("{} ({})", o.title, window_label(o, &zone, locale))))
                    .collect())
            }).unwrap_or_default();
            view! {
                <div class="modal-backdrop" on:click=move |_| close()></div>
                <div class="modal" role="dialog" aria-modal="true" aria-labelledby="resolver-title" data-testid="resolver"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { close() }>
                    <h2 id="resolver-title">{t("Resolve the conflict")}</h2>
                    <p>{tf("“{title}” overlaps {others}.", &[("title", &title), ("others", &others.join(", "))])}</p>
                    <p class="muted small">{t("Free slots of the same length in the same environment:")}</p>
                    <Suspense fallback=|| view! { <p class="muted" aria-busy="true">{t("Looking for free slots…")}</p> }>
                        {move || Suspend::new(async move {
                            match slots.await {
                                Ok(list) if list.is_empty() => view! { <p class="muted">{t("No free slot in the next 60 days.")}</p> }.into_any(),
                                Ok(list) => view! {
                                    <ul class="resolver__slots">
                                        {list.into_iter().map(|slot| {
                                            let label = if all_day {
                                                crate::i18n::dates(&slot.start.with_timezone(&zone).format("%A %e %B").to_string())
                                            } else {
                                                crate::i18n::dates(&format!("{} – {}", slot.start.with_timezone(&zone).format("%a %e %b %H:%M"), slot.end.with_timezone(&zone).format("%H:%M")))
                                            };
                                            let end = if all_day && !has_end { None } else { Some(slot.end) };
                                            view! {
                                                <li><button type="button" class="button resolver__slot" data-testid="free-slot"
                                                    on:click=move |_| { resolving.set(None); commit(job_id, slot.start, end); }>{label}</button></li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                                Err(error) => view! { <p class="notice notice--error">{error.message}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                    <div class="modal__actions">
                        <button type="button" class="button button--ghost" on:click=move |_| close()>{t("Close")}</button>
                    </div>
                </div>
            }
        })}
    }
}
