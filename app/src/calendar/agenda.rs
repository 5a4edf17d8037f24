//! The agenda view: the month's jobs as a list, day by day.

use domain::calendar;
use domain::zone::Zone;
use leptos::prelude::*;

use super::pills::titles_of;
use super::state::{window_label, Shown};
use crate::i18n::{t, tf, use_locale};

#[component]
pub(super) fn Agenda(shown: Shown, zone: Zone, resolving: RwSignal<Option<i64>>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="agenda" role="list">
            // Read in place: the views below take copies of what they show, not of the list.
            {move || shown.with(|list| {
                let titles = titles_of(list);
                let by_day = calendar::by_day(list, &zone);
                if by_day.is_empty() {
                    return view! {
                        <section class="empty-state">
                            <h2>{t("Nothing planned this month")}</h2>
                            <p class="muted">{t("Jobs created in a project appear here on their planned day.")}</p>
                        </section>
                    }.into_any();
                }
                by_day.into_iter().map(|(day, events)| view! {
                    <div class="agenda__day" role="listitem" data-date=day.format("%Y-%m-%d").to_string()>
                        <h2 class="agenda__date">{crate::i18n::dates(&day.format("%A %e %B").to_string())}</h2>
                        <ul class="agenda__list">
                            {events.iter().map(|e| {
                                let props = &e.extended_props;
                                let job_id = props.job_id;
                                let names: Vec<String> = props.conflicts_with.iter()
                                    .map(|id| titles.get(id).cloned().unwrap_or_else(|| tf("job #{id}", &[("id", &id.to_string())])))
                                    .collect();
                                view! {
                                    <li class="agenda__item" class:cal-event--conflict=props.conflict data-job-id=job_id.to_string()
                                        data-conflict=props.conflict.to_string() style=format!("--event-color: {}", e.color)>
                                        <span class="agenda__time mono">{window_label(e, &zone, locale)}</span>
                                        <span class="agenda__bar" aria-hidden="true"></span>
                                        <a class="agenda__title" href=format!("/jobs/{job_id}")>{e.title.clone()}</a>
                                        <span class="muted small">{props.project_name.clone()}</span>
                                        <span class="chip">{crate::labels::job_type(props.job_type)}</span>
                                        {props.environment.clone().map(|env| view! { <span class="chip" class:chip--prod=props.environment_is_production>{env}</span> })}
                                        <span class="chip" data-status=props.status.as_str()>{crate::labels::job_status(props.status)}</span>
                                        {props.conflict.then(|| view! {
                                            <button type="button" class="button button--small button--danger" data-testid="resolve-conflict"
                                                on:click=move |_| resolving.set(Some(job_id)) title=tf("Conflicts with {names}", &[("names", &names.join(", "))])>
                                                "⚠ " {t("Resolve")}
                                            </button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                }).collect_view().into_any()
            })}
        </div>
    }
}
