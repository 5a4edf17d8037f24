//! The calendar's toolbar (today, previous, next, date, view, subscribe), its filters, and the
//! legend of the colours.

use chrono::{Duration, NaiveDate};
use domain::calendar::{self, ColorMode};
use domain::{JobStatus, JobType};
use leptos::prelude::*;

use super::request::{CalendarData, CalendarRequest, View};
use crate::i18n::t;

#[component]
pub(super) fn Toolbar(
    request: CalendarRequest,
    data: CalendarData,
    today: NaiveDate,
    subscribing: RwSignal<bool>,
) -> impl IntoView {
    let navigate = crate::ui::page_navigate();
    let title = match request.view {
        View::Month | View::Agenda => crate::i18n::dates(&request.date.format("%B %Y").to_string()),
        View::Week => {
            let (first, after) = request.view.days(request.date);
            let last = after - Duration::days(1);
            crate::i18n::dates(&format!(
                "{} – {}",
                first.format("%e %b"),
                last.format("%e %b %Y")
            ))
        }
        View::Day => crate::i18n::dates(&request.date.format("%A %e %B %Y").to_string()),
    };
    let previous = request.href(|r| r.date = r.view.step(r.date, false));
    let next = request.href(|r| r.date = r.view.step(r.date, true));
    let today_href = request.href(|r| r.date = today);
    let views = [View::Month, View::Week, View::Day, View::Agenda].map(|v| {
        let href = request.href(|r| r.view = v);
        let current = v == request.view;
        view! { <a href=href class="segmented__item" class:segmented__item--on=current aria-current=if current { Some("page") } else { None } data-view=v.as_str()>{v.label()}</a> }
    });
    let go = {
        let request = request.clone();
        let navigate = navigate.clone();
        move |change: Box<dyn FnOnce(&mut CalendarRequest)>| {
            navigate(&request.href(change), Default::default());
        }
    };
    let on_date = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            if let Ok(day) = NaiveDate::parse_from_str(&event_target_value(&ev), "%Y-%m-%d") {
                go(Box::new(move |r| r.date = day));
            }
        }
    };
    // Each filter rewrites one part of the URL from its select's value.
    let filter = |apply: fn(&mut CalendarRequest, String)| {
        let go = go.clone();
        move |value: String| go(Box::new(move |r| apply(r, value)))
    };
    let filters_open = RwSignal::new(false);
    let colour_options = named_options(
        ColorMode::ALL,
        Some(request.color_by),
        crate::labels::colour_mode,
    );
    let project_options = data
        .projects
        .iter()
        .map(|p| {
            (
                p.id.to_string(),
                p.name.clone(),
                Some(p.id) == request.project,
            )
        })
        .collect();
    let type_options = named_options(JobType::ALL, request.job_type, crate::labels::job_type);
    let status_options = named_options(JobStatus::ALL, request.status, crate::labels::job_status);
    let environment_options = data
        .environments
        .iter()
        .map(|e| {
            (
                e.clone(),
                e.clone(),
                Some(e) == request.environment.as_ref(),
            )
        })
        .collect();
    view! {
        <header class="calendar__toolbar">
            <div class="calendar__nav">
                <a class="button" href=today_href data-testid="calendar-today">{t("Today")}</a>
                <a class="button button--icon" href=previous aria-label=t("Previous") data-testid="calendar-previous">"‹"</a>
                <a class="button button--icon" href=next aria-label=t("Next") data-testid="calendar-next">"›"</a>
                <h1 class="calendar__title">{title}</h1>
                <label class="visually-hidden" for="calendar-date">{t("Go to date")}</label>
                <input id="calendar-date" class="input input--date" type="date" value=request.date.format("%Y-%m-%d").to_string() on:change=on_date/>
            </div>
            <nav class="segmented" aria-label=t("View")>{views}</nav>
            <button type="button" class="button button--ghost" data-testid="subscribe"
                aria-haspopup="dialog" on:click=move |_| subscribing.set(true)>{t("Subscribe")}</button>
            // Under 760 px the filters fold behind this button (CSS shows it only there).
            <button type="button" class="button button--ghost calendar__filters-toggle" data-testid="filters-toggle"
                aria-controls="calendar-filters" aria-expanded=move || filters_open.get().to_string()
                on:click=move |_| filters_open.update(|open| *open = !*open)>{t("Filters")}</button>
        </header>
        <div id="calendar-filters" class="calendar__filters" class:calendar__filters--open=move || filters_open.get()>
            {filter_select(t("Colour"), "color-mode", colour_options, false,
                filter(|r, v| r.color_by = v.parse().unwrap_or(ColorMode::Project)))}
            {filter_select(t("Project"), "filter-project", project_options, true,
                filter(|r, v| r.project = v.parse().ok()))}
            {filter_select(t("Type"), "filter-type", type_options, true,
                filter(|r, v| r.job_type = v.parse().ok()))}
            {filter_select(t("Status"), "filter-status", status_options, true,
                filter(|r, v| r.status = v.parse().ok()))}
            {filter_select(t("Environment"), "filter-environment", environment_options, true,
                filter(|r, v| r.environment = Some(v).filter(|e| !e.is_empty())))}
        </div>
    }
}

/// The (value, label, selected) options of an enumeration: the stable spelling is the value
/// sent in the URL, the label is in the page's language.
pub(super) fn named_options<T: Copy + PartialEq + std::fmt::Display>(
    all: &[T],
    chosen: Option<T>,
    label: fn(T) -> &'static str,
) -> Vec<(String, String, bool)> {
    all.iter()
        .map(|value| {
            (
                value.to_string(),
                label(*value).to_owned(),
                Some(*value) == chosen,
            )
        })
        .collect()
}

/// A labelled select of (value, label, selected) options, "All" first when `any` is allowed.
pub(super) fn filter_select(
    label: &'static str,
    test_id: &'static str,
    options: Vec<(String, String, bool)>,
    any: bool,
    on_change: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <label class="field field--inline">
            <span>{label}</span>
            <select class="input" data-testid=test_id on:change=move |ev| on_change(event_target_value(&ev))>
                {any.then(|| view! { <option value="">{t("All")}</option> })}
                {options.into_iter().map(|(value, text, selected)| view! {
                    <option value=value selected=selected>{text}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

#[component]
pub(super) fn Legend(request: CalendarRequest, data: CalendarData) -> impl IntoView {
    // (label, colour, the short name pills carry for projects)
    let items: Vec<(String, String, Option<String>)> = match request.color_by {
        ColorMode::Project => data
            .projects
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.color.clone(),
                    Some(super::pills::project_initials(&p.name)),
                )
            })
            .collect(),
        ColorMode::Type => JobType::ALL
            .iter()
            .map(|t| {
                (
                    crate::labels::job_type(*t).to_owned(),
                    calendar::type_color(*t).to_owned(),
                    None,
                )
            })
            .collect(),
        ColorMode::Status => JobStatus::ALL
            .iter()
            .map(|s| {
                (
                    crate::labels::job_status(*s).to_owned(),
                    calendar::status_color(*s).to_owned(),
                    None,
                )
            })
            .collect(),
    };
    view! {
        <ul class="legend" aria-label=t("Legend") data-testid="legend">
            {items.into_iter().map(|(label, color, short)| view! {
                <li class="legend__item">
                    <span class="legend__swatch" style=format!("--swatch: {color}")></span>
                    {short.map(|short| view! { <span class="legend__short mono">{short}</span> })}
                    {label}
                </li>
            }).collect_view()}
            <li class="legend__item"><span class="legend__swatch legend__swatch--conflict"></span>{t("conflict")}</li>
        </ul>
    }
}
