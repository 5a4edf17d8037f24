//! The month view: six weeks of day cells, each with its jobs as markup and "+N more".

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use domain::calendar;
use domain::zone::Zone;
use leptos::prelude::*;

use super::pills::{job_opener, pill_html, slot_opener, titles_of, GridEvents, MarkupCells};
use super::state::{Drag, FixedJobs, Shown};
use crate::i18n::{t, tf, use_locale};

/// How many jobs a month cell shows before "+N more".
pub(super) const MONTH_CELL_EVENTS: usize = 4;

#[component]
pub(super) fn MonthGrid(
    first: NaiveDate,
    after: NaiveDate,
    month: u32,
    today: NaiveDate,
    shown: Shown,
    zone: Zone,
    drag: RwSignal<Option<Drag>>,
    resolving: RwSignal<Option<i64>>,
) -> impl IntoView {
    let expanded = RwSignal::new(None::<NaiveDate>);
    let fixed = expect_context::<FixedJobs>();
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < after).collect();
    let weekdays = [
        t("Mon"),
        t("Tue"),
        t("Wed"),
        t("Thu"),
        t("Fri"),
        t("Sat"),
        t("Sun"),
    ];
    let locale = use_locale();
    // Each day's jobs as markup, and how many: built once per change of what is shown; a cell
    // whose markup did not change is not touched. While the server's page is being taken over
    // its markup is already there: only the counts are needed (see `MarkupCells`).
    let drawing = !crate::hydrating();
    let cells = Memo::new(move |previous: Option<&MarkupCells<(String, usize)>>| {
        let draw = drawing || previous.is_some();
        shown.with(|list| {
            let titles = if draw {
                titles_of(list)
            } else {
                HashMap::new()
            };
            let days = calendar::by_day(list, &zone)
                .into_iter()
                .map(|(day, events)| {
                    let mut html = String::new();
                    if draw {
                        html.reserve(events.len() * 450);
                        for (n, event) in events.iter().enumerate() {
                            // The jobs past the first few wait, undrawn, behind "+N more".
                            if n == MONTH_CELL_EVENTS {
                                html.push_str("<div class=\"month__overflow\">");
                            }
                            pill_html(
                                &mut html,
                                event,
                                &titles,
                                &zone,
                                None,
                                fixed.grip(event.extended_props.job_id, false),
                                locale,
                            );
                        }
                        if events.len() > MONTH_CELL_EVENTS {
                            html.push_str("</div>");
                        }
                    }
                    (day, (html, events.len()))
                })
                .collect();
            MarkupCells { drawn: draw, days }
        })
    });
    let grid = GridEvents {
        shown,
        zone,
        drag,
        resolving,
    };
    let open = job_opener();
    let new_job = slot_opener();
    view! {
        <div class="month" role="grid" aria-label=t("Month")
            on:pointerdown=move |ev| grid.pointerdown(ev)
            on:click=move |ev| grid.click(ev, &open, &new_job)>
            <div class="month__head" role="row">
                {weekdays.map(|d| view! { <div class="month__weekday" role="columnheader">{d}</div> })}
            </div>
            <div class="month__cells" role="rowgroup">
                // One row per week: the grid role wants its cells in rows (the rows are
                // `display: contents`, so the CSS grid still lays the cells out).
                {days.chunks(7).map(<[NaiveDate]>::to_vec).collect::<Vec<_>>().into_iter().map(|week| view! {
                    <div class="month__week" role="row">
                        {week.into_iter().map(|day| {
                            let count = move || cells.with(|c| c.days.get(&day).map(|(_, n)| *n).unwrap_or(0));
                            let open = move || expanded.get() == Some(day);
                            view! {
                                <div class="month__cell" role="gridcell" data-date=day.format("%Y-%m-%d").to_string()
                                    class:month__cell--other=day.month() != month class:month__cell--today=day == today
                                    class:month__cell--open=open>
                                    // Every role may plan a job somewhere (dev: dev jobs, ops: ops
                                    // jobs, projets: on their projects): the form offers what fits.
                                    <button type="button" class="month__day" data-testid="month-day"
                                        aria-label=tf("New job on {date}", &[("date", &day.format("%Y-%m-%d").to_string())])
                                        on:click={
                                            let new_job = new_job.clone();
                                            move |ev| { ev.stop_propagation(); new_job(day.format("%Y-%m-%d").to_string(), true); }
                                        }>{day.day()}</button>
                                    <div class="month__events"
                                        inner_html=move || cells.with(|c| c.markup(&day, |(html, _)| html))></div>
                                    {move || {
                                        let hidden = if open() { 0 } else { count().saturating_sub(MONTH_CELL_EVENTS) };
                                        (hidden > 0).then(|| view! {
                                            <button type="button" class="month__more" on:click=move |ev| { ev.stop_propagation(); expanded.set(Some(day)); }>
                                                {tf("+{n} more", &[("n", &hidden.to_string())])}
                                            </button>
                                        })
                                    }}
                                    {move || (open() && count() > MONTH_CELL_EVENTS).then(|| view! {
                                        <button type="button" class="month__more" on:click=move |ev| { ev.stop_propagation(); expanded.set(None); }>{t("Show less")}</button>
                                    })}
                                </div>
                            }

                        }).collect_view()}
                    </div>
                }).collect_view()}
            </div>
        </div>
    }
}
