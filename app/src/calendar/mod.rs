//! `/calendar`: month, week, day and agenda views of the planned jobs, rendered on the server and
//! made interactive by hydration. Jobs move with the pointer (mouse and touch) or the keyboard;
//! the conflict rule of `domain::calendar` runs in the browser while dragging, and a drop calls
//! the `move_job` server function, rolled back with the server's reason when refused.
//!
//! One module per part: what the URL asks for (`request`), the server functions (`requests`),
//! one render (`body`) and its pieces (`toolbar`, `month`, `time_grid`, `agenda`, `pills`,
//! `keyboard`, `moves`, `resolver`, `feeds`), the state shared while moving (`state`, `refresh`),
//! and everything only a browser does (`browser`, or `no_browser.rs` on the server).

mod agenda;
mod bands;
mod body;
#[cfg(feature = "hydrate")]
mod browser;
#[cfg(not(feature = "hydrate"))]
#[path = "no_browser.rs"]
mod browser;
mod feeds;
mod keyboard;
mod month;
mod moves;
mod pills;
mod refresh;
mod request;
mod requests;
mod resolver;
mod state;
mod time_grid;
mod toolbar;

use chrono::{NaiveDate, Utc};
use domain::calendar::ColorMode;
use leptos::prelude::*;
use leptos_meta::Link;
use leptos_router::hooks::use_query_map;

pub use request::{CalendarData, CalendarRequest, ProjectLabel, Remember, View};
pub use requests::{load_calendar, move_job, Moved};

use crate::i18n::t;
use crate::ui::PageTitle;
use body::CalendarBody;

fn read_request(query: &leptos_router::params::ParamsMap, today: NaiveDate) -> CalendarRequest {
    CalendarRequest {
        view: View::parse(&query.get("view").unwrap_or_default()),
        date: query
            .get("date")
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .unwrap_or(today),
        color_by: query
            .get("color")
            .and_then(|c| c.parse().ok())
            .unwrap_or(ColorMode::Project),
        project: query.get("project").and_then(|p| p.parse().ok()),
        job_type: query.get("type").and_then(|t| t.parse().ok()),
        status: query.get("status").and_then(|s| s.parse().ok()),
        environment: query.get("environment").filter(|e| !e.is_empty()),
    }
}

/// `/calendar`. A URL naming no view shows the user's remembered filters; choosing filters
/// (every toolbar link names the view) remembers them.
#[component]
#[inline(never)] // a route's page: see `App`
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let today = Utc::now().date_naive();
    // A page load per address (the calendar is an island: no router in the browser), so the
    // query is read once.
    let asked = query.with_untracked(|q| {
        let remember = if q.get("view").is_some() {
            Remember::Store
        } else if q.get("phone").is_some() {
            Remember::RecallAsAgenda
        } else {
            Remember::Recall
        };
        (read_request(q, today), remember)
    });
    // On a phone, an address naming no view (`view=` or `phone=`) opens the agenda (decided in
    // the browser).
    let names_a_view = asked.1 != Remember::Recall;
    // Read once, as a `Resource` would (started at once, run to its end whatever polls it), but
    // not written into the page for the browser: the island's props carry the month already, and
    // a resource's copy was 233 KiB of a 2,000-job month's 1,549 (see `ui::with_listing`).
    let data = AsyncDerived::new(move || {
        let (request, remember) = asked.clone();
        load_calendar(request, remember)
    });
    view! {
        <PageTitle text=t("Calendar")/>
        // No first paint until the grid is parsed (or the page is, if the grid fails): painting
        // a half-arrived month, then laying it out again, cost more than the wait.
        <Link rel="expect" href="#calendar-end" blocking="render"/>
        <section class="calendar" data-testid="calendar">
            <Suspense fallback=|| view! { <div class="card skeleton calendar__skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <CalendarBody data names_a_view/> }.into_any(),
                        Err(error) => view! {
                            <section class="empty-state empty-state--error" role="alert">
                                <h2>{t("The calendar could not be loaded")}</h2>
                                <p class="muted">{error.message}</p>
                            </section>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
