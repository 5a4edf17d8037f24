//! The week and day views: an all-day row, then one column per day where timed jobs sit at their
//! hour, overlapping ones side by side, in three-hour bands (the later ones drawn after the page
//! is interactive).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use domain::calendar;
use domain::zone::Zone;
use domain::CalendarEvent;
use leptos::prelude::*;

use super::bands::{BAND_HOURS, OPENING_HOURS};
use super::browser;
use super::pills::{job_opener, pill_html, slot_opener, titles_of, GridEvents, MarkupCells};
use super::state::{Drag, FixedJobs, Shown};
use crate::i18n::{t, use_locale};

/// Height of one hour in the time grid, in pixels (a 15-minute slot is 12 px).
pub(super) const HOUR_PX: f64 = 48.0;

/// Side-by-side columns for overlapping timed events of one day: (event index, column, columns).
pub(super) fn lay_out(events: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<(usize, usize, usize)> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|i| (events[*i].0, std::cmp::Reverse(events[*i].1)));
    let mut placed = Vec::new();
    let mut cluster: Vec<(usize, usize)> = Vec::new();
    let mut cluster_end = None::<DateTime<Utc>>;
    let mut columns_end: Vec<DateTime<Utc>> = Vec::new();
    let flush = |cluster: &mut Vec<(usize, usize)>,
                 columns: usize,
                 placed: &mut Vec<(usize, usize, usize)>| {
        for (index, column) in cluster.drain(..) {
            placed.push((index, column, columns));
        }
    };
    for index in order {
        let (start, end) = events[index];
        if cluster_end.is_some_and(|e| start >= e) {
            let columns = columns_end.len();
            flush(&mut cluster, columns, &mut placed);
            columns_end.clear();
        }
        let column = match columns_end.iter().position(|e| *e <= start) {
            Some(column) => {
                columns_end[column] = end;
                column
            }
            None => {
                columns_end.push(end);
                columns_end.len() - 1
            }
        };
        cluster.push((index, column));
        cluster_end = Some(cluster_end.map_or(end, |e| e.max(end)));
    }
    let columns = columns_end.len();
    flush(&mut cluster, columns, &mut placed);
    placed
}

/// Where an overlapping job stands in its day (left and width, in % of the day): two side by
/// side; beyond that they overlap like cards, each at least
/// [`MIN_OVERLAP_WIDTH`] % wide, later ones on top, so that no job is a sliver.
pub(super) fn overlap_place(column: usize, columns: usize) -> (f64, f64) {
    let columns = columns.max(1);
    let side_by_side = 100.0 / columns as f64;
    if columns <= 2 {
        return (side_by_side * column as f64, side_by_side);
    }
    let step = (100.0 - MIN_OVERLAP_WIDTH) / (columns - 1) as f64;
    (step * column as f64, MIN_OVERLAP_WIDTH)
}

/// The narrowest an overlapping job gets, in % of its day's column.
const MIN_OVERLAP_WIDTH: f64 = 55.0;

/// The hour the grid opens at: 07:00, or earlier when a job of the shown days starts earlier
/// (half an hour before it), so that no job is hidden above the fold.
fn opening_hour(shown: &[CalendarEvent], first: NaiveDate, after: NaiveDate, zone: &Zone) -> f64 {
    use chrono::Timelike;
    let from = calendar::start_of_day(first, zone);
    let until = calendar::start_of_day(after, zone);
    shown
        .iter()
        .filter(|e| !e.all_day && e.start >= from && e.start < until)
        .map(|e| {
            let local = e.start.with_timezone(zone);
            local.hour() as f64 + local.minute() as f64 / 60.0 - 0.5
        })
        .fold(7.0, f64::min)
        .max(0.0)
}

#[component]
pub(super) fn TimeGrid(
    first: NaiveDate,
    after: NaiveDate,
    today: NaiveDate,
    shown: Shown,
    zone: Zone,
    drag: RwSignal<Option<Drag>>,
    resolving: RwSignal<Option<i64>>,
) -> impl IntoView {
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < after).collect();
    let columns = days.len();
    let fixed = expect_context::<FixedJobs>();
    let now = RwSignal::new(Utc::now());
    browser::tick_clock(now);
    let scroller = NodeRef::<leptos::html::Div>::new();
    let opening = shown.with_untracked(|list| opening_hour(list, first, after, &zone));
    browser::scroll_to(scroller, opening * HOUR_PX);
    let locale = use_locale();
    let head_days = days.clone();
    let allday_days = days.clone();
    let column_days = days.clone();
    // Each day's all-day jobs, and each day's timed jobs laid out side by side, as markup: built
    // once per change; a day whose markup did not change is not touched.
    // While the server's page is being taken over its markup is already there (`MarkupCells`).
    let drawing = !crate::hydrating();
    let all_day = Memo::new(move |previous: Option<&MarkupCells<String>>| {
        if !drawing && previous.is_none() {
            // Read, so that the memo follows `shown` from its first run.
            shown.track();
            return MarkupCells::undrawn();
        }
        shown.with(|list| {
            let titles = titles_of(list);
            let days = calendar::by_day(list, &zone)
                .into_iter()
                .map(|(day, events)| {
                    let mut html = String::new();
                    for event in events.iter().filter(|e| e.all_day) {
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
                    (day, html)
                })
                .collect();
            MarkupCells { drawn: true, days }
        })
    });
    let columns_html = Memo::new(move |previous: Option<&MarkupCells<String>>| {
        let now = now.get();
        if !drawing && previous.is_none() {
            // Read, so that the memo follows `shown` from its first run.
            shown.track();
            return MarkupCells::undrawn();
        }
        let days = shown.with(|list| {
            let titles = titles_of(list);
            column_days
                .iter()
                .map(|day| {
                    let day = *day;
                    let day_start = calendar::start_of_day(day, &zone);
                    let day_end = calendar::start_of_day(day + Duration::days(1), &zone);
                    let timed: Vec<&CalendarEvent> = list
                        .iter()
                        .filter(|e| !e.all_day && e.start < day_end && e.end > day_start)
                        .collect();
                    let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = timed
                        .iter()
                        .map(|e| (e.start.max(day_start), e.end.min(day_end)))
                        .collect();
                    let minutes_of = |at: DateTime<Utc>| (at - day_start).num_minutes() as f64;
                    let mut html = String::with_capacity(timed.len() * 700);
                    // (band, top, height, column, columns, index): in start order, so grouping
                    // by band keeps the jobs' order (and the Tab order) of the day.
                    let mut placed: Vec<(usize, f64, f64, usize, usize, usize)> = lay_out(&spans)
                        .into_iter()
                        .map(|(index, column, columns)| {
                            let (from, to) = spans[index];
                            let top = minutes_of(from) / 60.0 * HOUR_PX;
                            let height =
                                ((to - from).num_minutes() as f64 / 60.0 * HOUR_PX).max(18.0);
                            let band = (top / (BAND_HOURS * HOUR_PX)).max(0.0) as usize;
                            (band, top, height, column, columns, index)
                        })
                        .collect();
                    placed.sort_by_key(|p| p.0);
                    for band in placed.chunk_by(|a, b| a.0 == b.0) {
                        let row = band[0].0;
                        let band_top = row as f64 * BAND_HOURS * HOUR_PX;
                        let band_bottom =
                            band.iter().map(|p| p.1 + p.2).fold(band_top, f64::max);
                        html.push_str("<div class=\"timegrid__band\"");
                        let (opening, closing) = OPENING_HOURS;
                        let outside = band_bottom <= opening * HOUR_PX
                            || band_top >= closing * HOUR_PX;
                        if cfg!(feature = "ssr") && outside {
                            html.push_str(" data-later=\"true\"");
                        }
                        html.push_str(&format!(
                            " data-band=\"{row}\" style=\"top: {band_top:.1}px; height: {:.1}px\">",
                            band_bottom - band_top
                        ));
                        for &(_, top, height, column, columns, index) in band {
                            let (left, width) = overlap_place(column, columns);
                            let style = format!(
                                " top: {:.1}px; height: {height:.1}px; left: {left:.3}%; width: calc({width:.3}% - 4px); z-index: {};",
                                top - band_top,
                                column + 1
                            );
                            let grip = fixed.grip(timed[index].extended_props.job_id, true);
                            pill_html(&mut html, timed[index], &titles, &zone, Some(&style), grip, locale);
                        }
                        html.push_str("</div>");
                    }
                    if day == today {
                        let top = minutes_of(now) / 60.0 * HOUR_PX;
                        html.push_str(&format!(
                            "<div class=\"timegrid__now\" style=\"top: {top:.1}px\" aria-hidden=\"true\"></div>"
                        ));
                    }
                    (day, html)
                })
                .collect()
        });
        MarkupCells { drawn: true, days }
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
        <div class="timegrid" style=format!("--days: {columns}")
            on:pointerdown=move |ev| grid.pointerdown(ev)
            on:click=move |ev| grid.click(ev, &open, &new_job)>
            <div class="timegrid__head">
                <div class="timegrid__gutter"></div>
                {head_days.iter().map(|d| view! {
                    <div class="timegrid__dayname" class:timegrid__dayname--today=*d == today>
                        <span class="muted small">{crate::i18n::dates(&d.format("%a").to_string())}</span>
                        <span class="timegrid__daynum">{d.day()}</span>
                    </div>
                }).collect_view()}
            </div>
            <div class="timegrid__allday">
                <div class="timegrid__gutter muted small">{t("all day")}</div>
                {allday_days.into_iter().map(|day| view! {
                    <div class="timegrid__allday-cell" data-date=day.format("%Y-%m-%d").to_string()
                        inner_html=move || all_day.with(|m| m.markup(&day, |html| html))></div>
                }).collect_view()}
            </div>
            // Focusable, so the hours scroll with the keyboard even when no job (a button) is in
            // view to take the focus (axe: scrollable-region-focusable).
            <div class="timegrid__scroll" node_ref=scroller tabindex="0" role="region" aria-label=t("Hours")>
                <div class="timegrid__body">
                    <div class="timegrid__hours">
                        // Where the grid opens (07:00, or before the first job) before any script runs: the browser
                        // scrolls to it (CSS `scroll-initial-target`), the effect above after.
                        <div class="timegrid__opening" aria-hidden="true" style=format!("top: {:.1}px", opening * HOUR_PX)></div>
                        {(0..24).map(|h| view! { <div class="timegrid__hour muted small mono">{format!("{h:02}:00")}</div> }).collect_view()}
                    </div>
                    {days.into_iter().map(|day| view! {
                        <div class="timegrid__column" class:timegrid__column--today=day == today
                            data-date=day.format("%Y-%m-%d").to_string() data-time-column="true"
                            inner_html=move || columns_html.with(|m| m.markup(&day, |html| html))></div>
                    }).collect_view()}
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::overlap_place;

    #[test]
    fn overlapping_jobs_stay_readable() {
        assert_eq!(overlap_place(0, 1), (0.0, 100.0));
        assert_eq!(overlap_place(1, 2), (50.0, 50.0));
        // Three or more: cards of 55 %, spread over the day, none a sliver.
        for columns in 3..=8 {
            for column in 0..columns {
                let (left, width) = overlap_place(column, columns);
                assert!(
                    width >= 55.0 && left + width <= 100.0 + 1e-9,
                    "{column}/{columns}"
                );
            }
            assert!((overlap_place(columns - 1, columns).0 + 55.0 - 100.0).abs() < 1e-9);
        }
    }
}
