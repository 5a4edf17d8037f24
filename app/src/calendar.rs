//! `/calendar`: month, week, day and agenda views of the planned jobs, rendered on the server and
//! made interactive by hydration. Jobs move with the pointer (mouse and touch) or the keyboard;
//! the conflict rule of `domain::calendar` runs in the browser while dragging, and a drop sends
//! `PATCH /api/v1/jobs/{id}`, rolled back with the server's reason when refused.

use std::collections::HashMap;

use crate::ui::PageTitle;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc};
use domain::calendar::{self, ColorMode, PendingMove};
use domain::feed::{CalendarFeed, CalendarFilters, CalendarView};
use domain::move_request::MoveRequest;
use domain::zone::Zone;
use domain::{CalendarEvent, JobStatus, JobType};
use leptos::prelude::*;
use leptos_meta::Link;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf, use_locale, Locale};
use crate::AppError;

/// The four views, as written in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    Month,
    Week,
    Day,
    Agenda,
}

impl View {
    fn parse(text: &str) -> View {
        match text {
            "week" => View::Week,
            "day" => View::Day,
            "agenda" => View::Agenda,
            _ => View::Month,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
            View::Day => "day",
            View::Agenda => "agenda",
        }
    }

    fn label(self) -> &'static str {
        match self {
            View::Month => t("Month"),
            View::Week => t("Week"),
            View::Day => t("Day"),
            View::Agenda => t("Agenda"),
        }
    }

    /// The days shown: the month's full weeks (Monday first), the week, the day, or the month.
    fn days(self, date: NaiveDate) -> (NaiveDate, NaiveDate) {
        let first_of_month = date.with_day(1).unwrap_or(date);
        let monday =
            |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
        match self {
            View::Month => {
                let start = monday(first_of_month);
                (start, start + Duration::days(42))
            }
            View::Week => {
                let start = monday(date);
                (start, start + Duration::days(7))
            }
            View::Day => (date, date + Duration::days(1)),
            View::Agenda => (
                first_of_month,
                first_of_month
                    .checked_add_months(Months::new(1))
                    .unwrap_or(first_of_month),
            ),
        }
    }

    fn step(self, date: NaiveDate, forward: bool) -> NaiveDate {
        let months = |d: NaiveDate| {
            if forward {
                d.checked_add_months(Months::new(1))
            } else {
                d.checked_sub_months(Months::new(1))
            }
            .unwrap_or(d)
        };
        let sign = if forward { 1 } else { -1 };
        match self {
            View::Month | View::Agenda => months(date),
            View::Week => date + Duration::days(7 * sign),
            View::Day => date + Duration::days(sign),
        }
    }
}

impl From<CalendarView> for View {
    fn from(view: CalendarView) -> View {
        match view {
            CalendarView::Month => View::Month,
            CalendarView::Week => View::Week,
            CalendarView::Day => View::Day,
            CalendarView::Agenda => View::Agenda,
        }
    }
}

impl From<View> for CalendarView {
    fn from(view: View) -> CalendarView {
        match view {
            View::Month => CalendarView::Month,
            View::Week => CalendarView::Week,
            View::Day => CalendarView::Day,
            View::Agenda => CalendarView::Agenda,
        }
    }
}

/// What the calendar shows, as read from the URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarRequest {
    pub view: View,
    pub date: NaiveDate,
    pub color_by: ColorMode,
    pub project: Option<i64>,
    pub job_type: Option<JobType>,
    pub status: Option<JobStatus>,
    pub environment: Option<String>,
}

impl CalendarRequest {
    /// The filters and view of this request, as remembered per user.
    pub fn filters(&self) -> CalendarFilters {
        CalendarFilters {
            view: Some(self.view.into()),
            color_by: self.color_by,
            project: self.project,
            job_type: self.job_type,
            status: self.status,
            environment: self.environment.clone(),
        }
    }

    /// This request with remembered filters (the date stays).
    pub fn apply(&mut self, saved: &CalendarFilters) {
        if let Some(view) = saved.view {
            self.view = view.into();
        }
        self.color_by = saved.color_by;
        self.project = saved.project;
        self.job_type = saved.job_type;
        self.status = saved.status;
        self.environment = saved.environment.clone();
    }

    /// The URL of this request with `change` applied.
    fn href(&self, change: impl FnOnce(&mut CalendarRequest)) -> String {
        let mut next = self.clone();
        change(&mut next);
        let mut url = format!(
            "/calendar?view={}&date={}",
            next.view.as_str(),
            next.date.format("%Y-%m-%d")
        );
        if next.color_by != ColorMode::Project {
            url.push_str(&format!("&color={}", next.color_by));
        }
        if let Some(project) = next.project {
            url.push_str(&format!("&project={project}"));
        }
        if let Some(job_type) = next.job_type {
            url.push_str(&format!("&type={job_type}"));
        }
        if let Some(status) = next.status {
            url.push_str(&format!("&status={status}"));
        }
        if let Some(environment) = &next.environment {
            url.push_str(&format!("&environment={}", encode(environment)));
        }
        url
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A project as the filter and the legend show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectLabel {
    pub id: i64,
    pub name: String,
    pub color: String,
}

/// Everything one calendar render needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarData {
    /// What is shown: the URL's request, or the user's remembered filters when the URL names none.
    pub request: CalendarRequest,
    /// The team's time zone; it travels as its table of offset changes, since the browser has
    /// no zone database (see `domain::zone`).
    pub zone: Zone,
    /// In the page's compact form (`domain::calendar_wire`): a busy month is thousands of them.
    #[serde(with = "domain::calendar_wire")]
    pub events: Vec<CalendarEvent>,
    pub projects: Vec<ProjectLabel>,
    pub environments: Vec<String>,
    /// Every pending move request (shown to those who may decide them).
    pub pending: Vec<MoveRequest>,
    /// The pending requests the caller may approve or reject, as the policy says.
    pub decidable: Vec<i64>,
    pub user_id: i64,
}

/// What a calendar load does with the user's remembered filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Remember {
    /// The URL names no filter: show the remembered ones.
    Recall,
    /// The user chose these filters: remember them.
    Store,
    /// A refresh of what is shown: leave them be.
    Keep,
}

#[server(prefix = "/sfn", endpoint = "calendar/events")]
pub async fn load_calendar(
    request: CalendarRequest,
    remember: Remember,
) -> Result<CalendarData, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let zone = hub.zone;
    let mut request = request;
    match remember {
        Remember::Recall => {
            if let Some(saved) = services::calendar::remembered_filters(&hub, &caller).await? {
                request.apply(&saved);
            }
        }
        Remember::Store => {
            services::calendar::remember_filters(&hub, &caller, &request.filters()).await?;
        }
        Remember::Keep => {}
    }
    let (first, after) = request.view.days(request.date);
    let query = services::storage::CalendarQuery {
        start: calendar::start_of_day(first, &zone),
        end: calendar::start_of_day(after, &zone),
        project_id: request.project,
        job_type: request.job_type,
        status: request.status,
        environment: request.environment.clone(),
        color_mode: request.color_by,
    };
    let board = services::calendar::board(&hub, &caller, &query).await?;
    Ok(CalendarData {
        request,
        zone: Zone::read_once(zone.name(), &zone),
        events: board.events,
        projects: board
            .projects
            .into_iter()
            .map(|(id, name, color)| ProjectLabel { id, name, color })
            .collect(),
        environments: board.environments,
        pending: board.pending,
        decidable: board.decidable,
        user_id: caller.id(),
    })
}

/// A free place for a job, as the resolution dialog offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[server(prefix = "/sfn", endpoint = "calendar/free-slots")]
pub async fn free_slots(job_id: i64) -> Result<Vec<Slot>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(
        services::calendar::free_slots(&hub, &caller, job_id, None, 3)
            .await?
            .into_iter()
            .map(|w| Slot {
                start: w.start,
                end: w.end,
            })
            .collect(),
    )
}

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
    let request = Memo::new(move |_| {
        query.with(|q| {
            let remember = if q.get("view").is_some() {
                Remember::Store
            } else {
                Remember::Recall
            };
            (read_request(q, today), remember)
        })
    });
    let data = Resource::new(
        move || request.get(),
        |(request, remember)| load_calendar(request, remember),
    );
    view! {
        <PageTitle text=t("Calendar")/>
        // No first paint until the grid is parsed (or the page is, if the grid fails): painting
        // a half-arrived month, then laying it out again, cost more than the wait.
        <Link rel="expect" href="#calendar-end" blocking="render"/>
        <section class="calendar" data-testid="calendar">
            <Suspense fallback=|| view! { <div class="card skeleton calendar__skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => view! { <CalendarBody data/> }.into_any(),
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

/// A move being previewed (dragged, or stepped with the keyboard), not yet sent.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Preview {
    job_id: i64,
    start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
}

/// A pointer drag in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Drag {
    job_id: i64,
    resize: bool,
    origin: (i32, i32),
    moved: bool,
    /// Minutes between the job's start and where it was grabbed (time grids).
    grab_minutes: i64,
}

/// A message under the toolbar: what happened to the last move.
#[derive(Debug, Clone, PartialEq)]
struct Notice {
    text: String,
    error: bool,
}

/// The events with a preview applied (window moved) and conflicts marked again: what is drawn.
fn displayed(
    events: &[CalendarEvent],
    preview: Option<Preview>,
    zone: &Zone,
) -> Vec<CalendarEvent> {
    let mut list = events.to_vec();
    // The events' own flags are right (the server's, or marked again after each change): only
    // a preview needs the rule to run again.
    if let Some(preview) = preview {
        if let Some(event) = list
            .iter_mut()
            .find(|e| e.extended_props.job_id == preview.job_id)
        {
            apply_window(event, preview.start, preview.planned_end, zone);
        }
        calendar::mark_conflicts(&mut list, zone);
    }
    list
}

/// Moves an event to a new planned window (start and stored end), recomputing its drawn window.
fn apply_window(
    event: &mut CalendarEvent,
    start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
    zone: &Zone,
) {
    event.extended_props.planned_end = planned_end;
    event.start = start;
    let window = event.extended_props.planned(event).window(zone);
    event.start = window.start;
    event.end = window.end;
    // Timed jobs keep their exact start; all-day ones start at midnight anyway.
    if !event.all_day {
        event.start = start;
    }
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // the pointer drag uses it
/// The local date and time of `at`.
fn local(at: DateTime<Utc>, zone: &Zone) -> chrono::NaiveDateTime {
    at.with_timezone(zone).naive_local()
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // the pointer drag uses it
/// The instant of a local date and time (the earlier one when a DST change repeats it).
fn instant(day: NaiveDate, time: NaiveTime, zone: &Zone) -> DateTime<Utc> {
    zone.from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| calendar::start_of_day(day, zone) + (time - NaiveTime::MIN))
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // the pointer drag uses it
/// The job's new start and stored end when it is moved to `day` (keeping its local time) and,
/// in a time grid, to `minutes` after midnight.
fn moved_to(
    event: &CalendarEvent,
    day: NaiveDate,
    minutes: Option<i64>,
    zone: &Zone,
) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    let start = if event.all_day {
        calendar::start_of_day(day, zone)
    } else {
        let time = match minutes {
            Some(m) => NaiveTime::MIN + Duration::minutes(m.clamp(0, 24 * 60 - 15)),
            None => local(event.start, zone).time(),
        };
        instant(day, time, zone)
    };
    let delta = start - event.start;
    (
        start,
        event.extended_props.planned_end.map(|end| end + delta),
    )
}

fn time_label(at: DateTime<Utc>, zone: &Zone) -> String {
    at.with_timezone(zone).format("%H:%M").to_string()
}

fn window_label(event: &CalendarEvent, zone: &Zone, locale: Locale) -> String {
    if event.all_day {
        locale.t("all day").to_owned()
    } else {
        format!(
            "{}–{}",
            time_label(event.start, zone),
            time_label(event.end, zone)
        )
    }
}

/// The text of a refused move, from the REST API's error.
#[rustfmt::skip]
fn refusal_text(status: u16, code: &str, message: &str, locale: Locale) -> String {
    match (status, code) {
        (409, "stale_version") => {
            locale.t("Someone else changed this job meanwhile: the calendar was reloaded, try again.").to_owned()
        }
        (403, "production_move_approval") => {
            locale.tf("Not moved: {message}. Move it alone (nothing else changed) to request approval.", &[("message", message)])
        }
        (403, _) => locale.tf("Not moved: {message}", &[("message", message)]),
        (401, _) => locale.t("Your session has ended; log in again.").to_owned(),
        _ => locale.tf("Not moved: {message}", &[("message", message)]),
    }
}

#[component]
fn CalendarBody(data: CalendarData) -> impl IntoView {
    let mut data = data;
    let request = data.request.clone();
    let zone = data.zone;
    // The notices are written after an answer arrives, outside the render: the locale goes along.
    let locale = use_locale();
    // Moved, not copied: the rest of `data` is cloned for the toolbar and legend below.
    let events = RwSignal::new(std::mem::take(&mut data.events));
    let pending = RwSignal::new(data.pending.clone());
    let preview = RwSignal::new(None::<Preview>);
    let drag = RwSignal::new(None::<Drag>);
    let notice = RwSignal::new(None::<Notice>);
    let resolving = RwSignal::new(None::<i64>);
    let shown = Memo::new(move |_| {
        let preview = preview.get();
        events.with(|list| displayed(list, preview, &zone))
    });
    let (first, after) = request.view.days(request.date);
    let today = Utc::now().with_timezone(&zone).date_naive();

    // Reloads what is shown (after a change made elsewhere, or a refused move), without the
    // page's loading state. A drag under way is never disturbed: the reload waits for its end.
    let refresh = Refresh::new(request.clone(), events, pending, drag, preview);

    // Sends a move; shows it at once and rolls it back, with the reason, if refused. A move that
    // needs approval goes back too, marked pending.
    let commit = move |job_id: i64, start: DateTime<Utc>, planned_end: Option<DateTime<Utc>>| {
        let Some(before) = events.with_untracked(|list| {
            list.iter()
                .find(|e| e.extended_props.job_id == job_id)
                .cloned()
        }) else {
            return;
        };
        let version = before.extended_props.version;
        events.update(|list| {
            if let Some(event) = list.iter_mut().find(|e| e.extended_props.job_id == job_id) {
                apply_window(event, start, planned_end, &zone);
            }
            calendar::mark_conflicts(list, &zone);
        });
        notice.set(Some(Notice {
            text: locale.tf("Moving “{title}”…", &[("title", &before.title)]),
            error: false,
        }));
        let title = before.title.clone();
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({
                "planned_start": start,
                "planned_end": planned_end,
                "version": version,
            });
            let outcome = api_call("PATCH", &format!("/api/v1/jobs/{job_id}"), &body).await;
            let put_back = |pending_move: Option<PendingMove>| {
                events.update(|list| {
                    if let Some(event) = list.iter_mut().find(|e| e.extended_props.job_id == job_id)
                    {
                        *event = before.clone();
                        if pending_move.is_some() {
                            event.extended_props.pending_move = pending_move;
                        }
                    }
                    calendar::mark_conflicts(list, &zone);
                });
            };
            match outcome {
                Ok((202, answer)) => {
                    let requested = serde_json::from_value::<MoveRequest>(answer).ok();
                    put_back(requested.as_ref().map(|r| PendingMove {
                        id: r.id,
                        planned_start: r.planned_start,
                        planned_end: r.planned_end,
                        requested_by: r.requested_by_username.clone(),
                        requested_at: r.created_at,
                    }));
                    if let Some(requested) = requested {
                        pending.update(|list| {
                            list.retain(|r| r.job_id != job_id);
                            list.insert(0, requested);
                        });
                    }
                    let at = start
                        .with_timezone(&zone)
                        .format("%a %e %b %H:%M")
                        .to_string();
                    let values = [("title", title.as_str()), ("at", at.as_str())];
                    #[rustfmt::skip]
                    let text = locale.tf("Move of “{title}” to {at} requested: a production job moves once a projets or admin user approves.", &values);
                    notice.set(Some(Notice { text, error: false }));
                }
                Ok((_, answer)) => {
                    let new_version = answer["version"].as_i64().unwrap_or(version + 1);
                    events.update(|list| {
                        if let Some(event) =
                            list.iter_mut().find(|e| e.extended_props.job_id == job_id)
                        {
                            event.extended_props.version = new_version;
                        }
                    });
                    let at = start
                        .with_timezone(&zone)
                        .format("%a %e %b %H:%M")
                        .to_string();
                    let values = [("title", title.as_str()), ("at", at.as_str())];
                    let text = locale.tf("“{title}” moved to {at}.", &values);
                    notice.set(Some(Notice { text, error: false }));
                }
                Err((status, code, message)) => {
                    put_back(None);
                    notice.set(Some(Notice {
                        text: refusal_text(status, &code, &message, locale),
                        error: true,
                    }));
                    if status == 409 {
                        refresh.now();
                    }
                }
            }
        });
    };

    install_drag(drag, preview, events, zone, commit);
    follow_changes(refresh);
    mark_interactive();

    let view_kind = request.view;
    let body = move || {
        match view_kind {
        View::Month => view! { <MonthGrid first after month=request.date.month() today shown zone drag resolving/> }.into_any(),
        View::Week | View::Day => view! { <TimeGrid first after today shown zone drag resolving/> }.into_any(),
        View::Agenda => view! { <Agenda shown zone resolving/> }.into_any(),
    }
    };
    let navigate = use_navigate();
    let keyboard = move |ev: leptos::ev::KeyboardEvent| {
        if let Some(open) = keyboard_move(&ev, view_kind, events, preview, commit) {
            navigate(&format!("/jobs/{open}"), Default::default());
        }
    };
    let request_for_toolbar = data.request.clone();
    let subscribing = RwSignal::new(false);
    view! {
        <Toolbar request=request_for_toolbar data=data.clone() today subscribing/>
        <p class="calendar__zone muted small">{t("Times in")} " " <span class="mono">{data.zone.name()}</span>
            " · " {t("drag a job to move it, drag its lower edge to resize; with the keyboard: arrows move, Shift+↑↓ resize, Enter confirms, Esc cancels.")}</p>
        <div class="calendar__notice" role="status" aria-live="polite" data-testid="calendar-notice">
            {move || notice.get().map(|n| view! {
                <p class=if n.error { "notice notice--error" } else { "notice" } data-error=n.error.to_string()>{n.text}</p>
            })}
        </div>
        <MoveRequests pending decidable=data.decidable.clone() user_id=data.user_id zone notice refresh/>
        <Feeds open=subscribing projects=data.projects.clone()/>
        <div class="calendar__body" class:calendar__body--dragging=move || drag.with(|d| d.is_some_and(|d| d.moved)) on:keydown=keyboard>
            {body}
        </div>
        <Legend request=data.request.clone() data=data.clone()/>
        <Resolver resolving events zone commit/>
        <span id="calendar-end" hidden></span>
    }
}

/// Reloads the shown range in place. Copy: every closure that needs it holds one.
#[derive(Clone, Copy)]
struct Refresh {
    request: StoredValue<CalendarRequest>,
    events: RwSignal<Vec<CalendarEvent>>,
    pending: RwSignal<Vec<MoveRequest>>,
    drag: RwSignal<Option<Drag>>,
    preview: RwSignal<Option<Preview>>,
    /// A reload is under way; `again` asks for one more after it (changes came meanwhile).
    busy: RwSignal<bool>,
    again: RwSignal<bool>,
}

impl Refresh {
    fn new(
        request: CalendarRequest,
        events: RwSignal<Vec<CalendarEvent>>,
        pending: RwSignal<Vec<MoveRequest>>,
        drag: RwSignal<Option<Drag>>,
        preview: RwSignal<Option<Preview>>,
    ) -> Refresh {
        let refresh = Refresh {
            request: StoredValue::new(request),
            events,
            pending,
            drag,
            preview,
            busy: RwSignal::new(false),
            again: RwSignal::new(false),
        };
        // A reload put off by a drag happens when the drag ends.
        Effect::new(move |_| {
            let idle = drag.with(Option::is_none) && preview.with(Option::is_none);
            if idle && refresh.again.get_untracked() && !refresh.busy.get_untracked() {
                refresh.now();
            }
        });
        refresh
    }

    /// Reloads now, or as soon as the drag or the reload under way ends.
    fn now(self) {
        let dragging = self.drag.with_untracked(Option::is_some)
            || self.preview.with_untracked(Option::is_some);
        if dragging || self.busy.get_untracked() {
            self.again.set(true);
            return;
        }
        self.busy.set(true);
        self.again.set(false);
        let request = self.request.get_value();
        leptos::task::spawn_local(async move {
            let fresh = load_calendar(request, Remember::Keep).await;
            // While the answer travelled, a drag may have begun: apply it after that drag.
            let dragging = self.drag.with_untracked(Option::is_some)
                || self.preview.with_untracked(Option::is_some);
            match fresh {
                Ok(data) if !dragging => {
                    self.events.set(data.events);
                    self.pending.set(data.pending);
                }
                // A failed reload leaves the calendar as it is; the next change tries again.
                Ok(_) => self.again.set(true),
                Err(_) => {}
            }
            self.busy.set(false);
            if self.again.get_untracked() {
                self.now();
            }
        });
    }
}

/// Listens to `/api/v1/calendar/changes` (Server-Sent Events) and reloads on every job change,
/// so moves made by others show without a reload of the page. The browser reconnects by itself
/// (with `Last-Event-ID`).
#[cfg(feature = "hydrate")]
fn follow_changes(refresh: Refresh) {
    use std::cell::RefCell;
    use std::rc::Rc;

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    type Stream = (
        web_sys::EventSource,
        Closure<dyn FnMut(web_sys::MessageEvent)>,
    );
    fn open(refresh: Refresh) -> Option<Stream> {
        let source = web_sys::EventSource::new("/api/v1/calendar/changes").ok()?;
        let on_change =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_event| refresh.now());
        if source
            .add_event_listener_with_callback("job", on_change.as_ref().unchecked_ref())
            .is_err()
        {
            source.close();
            return None;
        }
        Some((source, on_change))
    }
    fn close(stream: &RefCell<Option<Stream>>) {
        if let Some((source, on_change)) = stream.borrow_mut().take() {
            source.close();
            drop(on_change);
        }
    }

    // The stream lives as long as the calendar. A page the browser keeps for "back" (the
    // back-forward cache) closes it: a kept connection holds one of the six the browser allows
    // per server, and a few such pages stalled every other request. Brought back, the page
    // reopens it and reloads what changed meanwhile.
    let stream = Rc::new(RefCell::new(open(refresh)));
    let on_hide = window_event_listener(leptos::ev::pagehide, {
        let stream = Rc::clone(&stream);
        move |_| close(&stream)
    });
    let on_show = window_event_listener(leptos::ev::pageshow, {
        let stream = Rc::clone(&stream);
        move |event: web_sys::PageTransitionEvent| {
            if event.persisted() {
                close(&stream);
                *stream.borrow_mut() = open(refresh);
                refresh.now();
            }
        }
    });
    let handles = send_wrapper::SendWrapper::new((stream, on_hide, on_show));
    on_cleanup(move || {
        let (stream, on_hide, on_show) = handles.take();
        on_hide.remove();
        on_show.remove();
        close(&stream);
    });
}

#[cfg(not(feature = "hydrate"))]
fn follow_changes(_refresh: Refresh) {}

/// The pending move requests: approvers decide them here; requesters may withdraw theirs.
#[component]
fn MoveRequests(
    pending: RwSignal<Vec<MoveRequest>>,
    decidable: Vec<i64>,
    user_id: i64,
    zone: Zone,
    notice: RwSignal<Option<Notice>>,
    refresh: Refresh,
) -> impl IntoView {
    // The outcome is written after the answer arrives, outside the render: the locale goes along.
    let locale = use_locale();
    let decide = move |id: i64, verb: &'static str, title: String| {
        leptos::task::spawn_local(async move {
            // Only a rejection takes a body (an optional reason).
            let body = if verb == "reject" {
                serde_json::json!({})
            } else {
                serde_json::Value::Null
            };
            let outcome =
                api_call("POST", &format!("/api/v1/move-requests/{id}/{verb}"), &body).await;
            let title = [("title", title.as_str())];
            #[rustfmt::skip]
            let text = match (&outcome, verb) {
                (Ok(_), "approve") => locale.tf("Move of “{title}” approved: the job moved.", &title),
                (Ok(_), "reject") => locale.tf("Move of “{title}” rejected: the job stays.", &title),
                (Ok(_), _) => locale.tf("Move request for “{title}” withdrawn.", &title),
                (Err((409, code, _)), _) if code == "stale_version" => {
                    locale.tf("“{title}” changed after the request: the request no longer applies.", &title)
                }
                (Err((_, _, message)), _) => locale.tf("Not done: {message}", &[("message", message)]),
            };
            notice.set(Some(Notice {
                text,
                error: outcome.is_err(),
            }));
            refresh.now();
        });
    };
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
                                            {r.from_start.with_timezone(&zone).format("%a %e %b %H:%M").to_string()}
                                            " → "
                                            {r.planned_start.with_timezone(&zone).format("%a %e %b %H:%M").to_string()}
                                        </span>
                                        <span class="muted small">" " {tf("asked by {user}", &[("user", r.requested_by_username.as_deref().unwrap_or(t("a former user")))])}</span>
                                    </span>
                                    <span class="moves__actions">
                                        {(can_decide(id) && !mine).then(|| view! {
                                            <button type="button" class="button button--primary" data-testid="approve-move"
                                                on:click=move |_| decide(id, "approve", approve_title.clone())>{t("Approve")}</button>
                                            <button type="button" class="button button--ghost" data-testid="reject-move"
                                                on:click=move |_| decide(id, "reject", reject_title.clone())>{t("Reject")}</button>
                                        })}
                                        {mine.then(|| view! {
                                            <button type="button" class="button button--ghost" data-testid="withdraw-move"
                                                on:click=move |_| decide(id, "withdraw", withdraw_title.clone())>{t("Withdraw")}</button>
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

/// Once the calendar's jobs are in the page and listening (effects run after hydration), records
/// the `uhub:calendar-interactive` performance mark (visible in the browser's profiler). Then
/// draws the time grid's later bands (`OPENING_HOURS`), records `uhub:calendar-drawn` and sets
/// `data-interactive` on the calendar: the browser benchmark reads the marks, tests wait for the
/// attribute.
fn mark_interactive() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        crate::performance_mark("uhub:calendar-interactive");
        draw_later_bands(0);
    });
}

/// Draws the time grid's later bands, nearest the opening hours first: those at most `away`
/// bands from them in the next animation frame, the others in the frames after (the page stays
/// responsive meanwhile). Once none is left, marks the calendar drawn.
#[cfg(feature = "hydrate")]
fn draw_later_bands(away: usize) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let later: Vec<web_sys::Element> = document
        .query_selector_all(".timegrid__band[data-later]")
        .map(|list| {
            (0..list.length())
                .filter_map(|n| list.item(n))
                .filter_map(|node| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(node).ok())
                .collect()
        })
        .unwrap_or_default();
    if later.is_empty() {
        crate::performance_mark("uhub:calendar-drawn");
        if let Ok(Some(section)) = document.query_selector("[data-testid=calendar]") {
            let _ = section.set_attribute("data-interactive", "true");
        }
        return;
    }
    request_animation_frame(move || {
        for band in &later {
            let row = band.get_attribute("data-band").and_then(|r| r.parse().ok());
            if row.is_none_or(|row| bands_away(row) <= away) {
                let _ = band.remove_attribute("data-later");
            }
        }
        draw_later_bands(away + 1);
    });
}

/// How many bands lie between band `row` of a time grid and its opening hours (0: next to them
/// or within).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn bands_away(row: usize) -> usize {
    let (opening, closing) = OPENING_HOURS;
    let (from, until) = (row as f64 * BAND_HOURS, (row + 1) as f64 * BAND_HOURS);
    ((opening - until).max(from - closing).max(0.0) / BAND_HOURS).ceil() as usize
}

/// Arrow keys on a focused job preview a move; Enter sends it, Escape drops it. Enter without
/// a move under way opens the job (its id is returned).
fn keyboard_move(
    ev: &leptos::ev::KeyboardEvent,
    view: View,
    events: RwSignal<Vec<CalendarEvent>>,
    preview: RwSignal<Option<Preview>>,
    commit: impl Fn(i64, DateTime<Utc>, Option<DateTime<Utc>>) + Copy + 'static,
) -> Option<i64> {
    let job_id = focused_job(ev)?;
    let key = ev.key();
    let event = events.with_untracked(|list| {
        list.iter()
            .find(|e| e.extended_props.job_id == job_id)
            .cloned()
    })?;
    let current = preview
        .get_untracked()
        .filter(|p| p.job_id == job_id)
        .unwrap_or(Preview {
            job_id,
            start: event.start,
            planned_end: event.extended_props.planned_end,
        });
    let timed_grid = matches!(view, View::Week | View::Day) && !event.all_day;
    let quarter = Duration::minutes(calendar::SNAP_MINUTES);
    let shift = |by: Duration| Preview {
        job_id,
        start: current.start + by,
        planned_end: current.planned_end.map(|e| e + by),
    };
    let next = match key.as_str() {
        "ArrowLeft" => Some(shift(-Duration::days(1))),
        "ArrowRight" => Some(shift(Duration::days(1))),
        "ArrowUp" | "ArrowDown" if ev.shift_key() && timed_grid => {
            let end = current
                .planned_end
                .unwrap_or(current.start + calendar::DEFAULT_DURATION);
            let end = if key == "ArrowUp" {
                end - quarter
            } else {
                end + quarter
            };
            (end > current.start).then_some(Preview {
                planned_end: Some(end),
                ..current
            })
        }
        "ArrowUp" if timed_grid => Some(shift(-quarter)),
        "ArrowDown" if timed_grid => Some(shift(quarter)),
        "ArrowUp" => Some(shift(-Duration::days(7))),
        "ArrowDown" => Some(shift(Duration::days(7))),
        "Enter" if preview.get_untracked().is_some_and(|p| p.job_id == job_id) => {
            ev.prevent_default();
            preview.set(None);
            commit(job_id, current.start, current.planned_end);
            return None;
        }
        "Enter" => {
            ev.prevent_default();
            return Some(job_id);
        }
        "Escape" => {
            preview.set(None);
            return None;
        }
        _ => None,
    };
    if let Some(next) = next {
        ev.prevent_default();
        preview.set(Some(next));
    }
    None
}

#[cfg(feature = "hydrate")]
fn focused_job(ev: &leptos::ev::KeyboardEvent) -> Option<i64> {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("[data-job-id]").ok().flatten())
        .and_then(|el| el.get_attribute("data-job-id"))
        .and_then(|id| id.parse().ok())
}

#[cfg(not(feature = "hydrate"))]
fn focused_job(_ev: &leptos::ev::KeyboardEvent) -> Option<i64> {
    None
}

/// Pointer dragging: the window listens while a drag is under way, finds the day (and time) under
/// the pointer, previews the move, and sends it on release.
#[cfg(feature = "hydrate")]
fn install_drag(
    drag: RwSignal<Option<Drag>>,
    preview: RwSignal<Option<Preview>>,
    events: RwSignal<Vec<CalendarEvent>>,
    zone: Zone,
    commit: impl Fn(i64, DateTime<Utc>, Option<DateTime<Utc>>) + Copy + 'static,
) {
    let target = move |x: i32, y: i32| -> Option<(NaiveDate, Option<i64>)> {
        let document = web_sys::window()?.document()?;
        let element = document.element_from_point(x as f32, y as f32)?;
        let cell = element.closest("[data-date]").ok()??;
        let day = NaiveDate::parse_from_str(&cell.get_attribute("data-date")?, "%Y-%m-%d").ok()?;
        if cell.has_attribute("data-time-column") {
            let rect = cell.get_bounding_client_rect();
            let fraction = ((f64::from(y) - rect.top()) / rect.height()).clamp(0.0, 1.0);
            let minutes = (fraction * 1440.0) as i64;
            Some((
                day,
                Some(minutes - minutes.rem_euclid(calendar::SNAP_MINUTES)),
            ))
        } else {
            Some((day, None))
        }
    };
    let on_move = window_event_listener(leptos::ev::pointermove, move |ev| {
        let Some(mut state) = drag.get_untracked() else {
            return;
        };
        let (x, y) = (ev.client_x(), ev.client_y());
        if !state.moved {
            let (dx, dy) = (x - state.origin.0, y - state.origin.1);
            if dx * dx + dy * dy < 25 {
                return;
            }
            state.moved = true;
            drag.set(Some(state));
        }
        ev.prevent_default();
        let Some((day, minutes)) = target(x, y) else {
            return;
        };
        let Some(event) = events.with_untracked(|list| {
            list.iter()
                .find(|e| e.extended_props.job_id == state.job_id)
                .cloned()
        }) else {
            return;
        };
        let next = if state.resize {
            let Some(minutes) = minutes else { return };
            let end = instant(day, NaiveTime::MIN, &zone)
                + Duration::minutes(minutes + calendar::SNAP_MINUTES);
            if end <= event.start {
                return;
            }
            Preview {
                job_id: state.job_id,
                start: event.start,
                planned_end: Some(end),
            }
        } else {
            let minutes = minutes.map(|m| {
                let m = m - state.grab_minutes;
                m - m.rem_euclid(calendar::SNAP_MINUTES)
            });
            let (start, planned_end) = moved_to(&event, day, minutes, &zone);
            Preview {
                job_id: state.job_id,
                start,
                planned_end,
            }
        };
        if preview.get_untracked() != Some(next) {
            preview.set(Some(next));
        }
    });
    let on_up = window_event_listener(leptos::ev::pointerup, move |_ev| {
        let Some(state) = drag.get_untracked() else {
            return;
        };
        drag.set(None);
        let next = preview.get_untracked();
        preview.set(None);
        if state.moved {
            // The click that ends a drag must not open the job.
            JUST_DRAGGED.with(|flag| flag.set(true));
            if let Some(next) = next.filter(|p| p.job_id == state.job_id) {
                let unchanged = events.with_untracked(|list| {
                    list.iter().any(|e| {
                        e.extended_props.job_id == next.job_id
                            && e.start == next.start
                            && e.extended_props.planned_end == next.planned_end
                    })
                });
                if !unchanged {
                    commit(next.job_id, next.start, next.planned_end);
                }
            }
        }
    });
    let on_cancel = window_event_listener(leptos::ev::pointercancel, move |_ev| {
        drag.set(None);
        preview.set(None);
    });
    on_cleanup(move || {
        on_move.remove();
        on_up.remove();
        on_cancel.remove();
    });
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// Set when a drag ends: the click that follows must not open the job.
    static JUST_DRAGGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a drag just ended (and forgets it).
fn take_just_dragged() -> bool {
    #[cfg(feature = "hydrate")]
    return JUST_DRAGGED.with(|flag| flag.replace(false));
    #[cfg(not(feature = "hydrate"))]
    false
}

#[cfg(not(feature = "hydrate"))]
fn install_drag(
    _drag: RwSignal<Option<Drag>>,
    _preview: RwSignal<Option<Preview>>,
    _events: RwSignal<Vec<CalendarEvent>>,
    _zone: Zone,
    _commit: impl Fn(i64, DateTime<Utc>, Option<DateTime<Utc>>) + Copy + 'static,
) {
}

/// Calls the REST API from the browser (the session cookie authenticates): the status and the
/// JSON answer, or (status, code, message) when refused. A `Null` body sends none.
#[cfg(feature = "hydrate")]
async fn api_call(
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<(u16, serde_json::Value), (u16, String, String)> {
    use wasm_bindgen::JsCast;
    let network = |what: &str| {
        (
            0u16,
            "network_error".to_owned(),
            format!("the server could not be reached ({what})"),
        )
    };
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if !body.is_null() {
        init.set_body(&wasm_bindgen::JsValue::from_str(&body.to_string()));
    }
    let request =
        web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| network("request"))?;
    if !body.is_null() {
        request
            .headers()
            .set("content-type", "application/json")
            .map_err(|_| network("headers"))?;
    }
    let window = web_sys::window().ok_or_else(|| network("window"))?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(|_| network("fetch"))?
            .dyn_into()
            .map_err(|_| network("response"))?;
    let text = match response.text() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if response.ok() {
        Ok((response.status(), json))
    } else {
        Err((
            response.status(),
            json["code"].as_str().unwrap_or("error").to_owned(),
            json["message"]
                .as_str()
                .unwrap_or("the server refused it")
                .to_owned(),
        ))
    }
}

#[cfg(not(feature = "hydrate"))]
async fn api_call(
    _method: &str,
    _path: &str,
    _body: &serde_json::Value,
) -> Result<(u16, serde_json::Value), (u16, String, String)> {
    Err((
        0,
        "unavailable".to_owned(),
        "changes are sent from the browser".to_owned(),
    ))
}

#[component]
fn Toolbar(
    request: CalendarRequest,
    data: CalendarData,
    today: NaiveDate,
    subscribing: RwSignal<bool>,
) -> impl IntoView {
    let navigate = use_navigate();
    let title = match request.view {
        View::Month | View::Agenda => request.date.format("%B %Y").to_string(),
        View::Week => {
            let (first, after) = request.view.days(request.date);
            let last = after - Duration::days(1);
            format!("{} – {}", first.format("%e %b"), last.format("%e %b %Y"))
        }
        View::Day => request.date.format("%A %e %B %Y").to_string(),
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
    let colour_options = named_options(ColorMode::ALL, Some(request.color_by));
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
    let type_options = named_options(JobType::ALL, request.job_type);
    let status_options = named_options(JobStatus::ALL, request.status);
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
        </header>
        <div class="calendar__filters">
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

/// The (value, label, selected) options of an enumeration whose spelling is also its label.
fn named_options<T: Copy + PartialEq + std::fmt::Display>(
    all: &[T],
    chosen: Option<T>,
) -> Vec<(String, String, bool)> {
    all.iter()
        .map(|value| (value.to_string(), value.to_string(), Some(*value) == chosen))
        .collect()
}

/// A labelled select of (value, label, selected) options, "All" first when `any` is allowed.
fn filter_select(
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
fn Legend(request: CalendarRequest, data: CalendarData) -> impl IntoView {
    let items: Vec<(String, String)> = match request.color_by {
        ColorMode::Project => data
            .projects
            .iter()
            .map(|p| (p.name.clone(), p.color.clone()))
            .collect(),
        ColorMode::Type => JobType::ALL
            .iter()
            .map(|t| (t.as_str().to_owned(), calendar::type_color(*t).to_owned()))
            .collect(),
        ColorMode::Status => JobStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), calendar::status_color(*s).to_owned()))
            .collect(),
    };
    view! {
        <ul class="legend" aria-label=t("Legend") data-testid="legend">
            {items.into_iter().map(|(label, color)| view! {
                <li class="legend__item"><span class="legend__swatch" style=format!("--swatch: {color}")></span>{label}</li>
            }).collect_view()}
            <li class="legend__item"><span class="legend__swatch legend__swatch--conflict"></span>{t("conflict")}</li>
        </ul>
    }
}

/// Escapes text for HTML content and double-quoted attributes (titles are anyone's input).
fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// One job on a grid — coloured pill, conflict border and tooltip, pending mark — as markup.
/// Grids put their jobs in with `inner_html`: the browser parses thousands of them natively and
/// hydration has nothing to walk; the grid itself listens for all of them (`GridEvents`).
fn pill_html(
    out: &mut String,
    event: &CalendarEvent,
    titles: &HashMap<i64, String>,
    zone: &Zone,
    style: Option<&str>,
    resizable: bool,
    locale: Locale,
) {
    use std::fmt::Write as _;
    let props = &event.extended_props;
    let job_id = props.job_id;
    let conflict = props.conflict;
    #[rustfmt::skip]
    let pending_text = props.pending_move.as_ref().map(|p| {
        let at = p.planned_start.with_timezone(zone).format("%a %e %b %H:%M").to_string();
        let by = p.requested_by.as_deref().unwrap_or(locale.t("a former user"));
        locale.tf("Move to {at} requested by {by}, waiting for approval", &[("at", &at), ("by", by)])
    });
    out.push_str("<div class=\"cal-event");
    if conflict {
        out.push_str(" cal-event--conflict");
    }
    if event.all_day {
        out.push_str(" cal-event--allday");
    }
    if pending_text.is_some() {
        out.push_str(" cal-event--pending");
    }
    let _ = write!(
        out,
        "\" data-job-id=\"{job_id}\" data-conflict=\"{conflict}\" data-status=\"{}\" data-type=\"{}\" data-environment=\"",
        props.status.as_str(),
        props.job_type.as_str()
    );
    escape_html(props.environment.as_deref().unwrap_or_default(), out);
    out.push('"');
    if let (Some(pending), Some(text)) = (&props.pending_move, &pending_text) {
        let _ = write!(out, " data-pending-move=\"{}\" title=\"", pending.id);
        escape_html(text, out);
        out.push('"');
    }
    out.push_str(" tabindex=\"0\" role=\"button\" aria-label=\"");
    escape_html(&event.title, out);
    let _ = write!(out, " · {} · ", window_label(event, zone, locale));
    escape_html(&props.project_name, out);
    if let Some(environment) = &props.environment {
        out.push_str(" · ");
        escape_html(environment, out);
    }
    if let Some(text) = &pending_text {
        out.push_str(" · ");
        escape_html(text, out);
    }
    out.push('"');
    if conflict {
        let _ = write!(out, " aria-describedby=\"conflict-{job_id}\"");
    }
    out.push_str(" style=\"--event-color: ");
    escape_html(&event.color, out);
    out.push(';');
    if let Some(style) = style {
        out.push_str(style);
    }
    out.push_str("\">");
    if !event.all_day {
        let _ = write!(
            out,
            "<span class=\"cal-event__time mono\">{}</span>",
            time_label(event.start, zone)
        );
    }
    out.push_str("<span class=\"cal-event__title\">");
    escape_html(&event.title, out);
    out.push_str("</span>");
    if pending_text.is_some() {
        out.push_str("<span class=\"cal-event__pending\" aria-hidden=\"true\">⇢</span>");
    }
    if conflict {
        out.push_str("<button type=\"button\" class=\"cal-event__warn\" aria-label=\"");
        escape_html(locale.t("Resolve the conflict"), out);
        let _ = write!(
            out,
            "\" data-testid=\"resolve-conflict\">⚠</button><span class=\"cal-tooltip\" role=\"tooltip\" id=\"conflict-{job_id}\">"
        );
        escape_html(locale.t("Conflicts with"), out);
        out.push(' ');
        for (n, id) in props.conflicts_with.iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            match titles.get(id) {
                Some(title) => escape_html(title, out),
                None => escape_html(&locale.tf("job #{id}", &[("id", &id.to_string())]), out),
            }
        }
        out.push_str("</span>");
    }
    if resizable {
        out.push_str("<span class=\"cal-event__resize\" aria-hidden=\"true\"></span>");
    }
    out.push_str("</div>");
}

/// Pointer and click handling for every job of a grid, from the grid itself (event
/// delegation): a drag starts on a pill or its lower edge, a click opens the job or, on ⚠, the
/// resolution dialog.
#[derive(Clone, Copy)]
struct GridEvents {
    shown: Memo<Vec<CalendarEvent>>,
    zone: Zone,
    drag: RwSignal<Option<Drag>>,
    resolving: RwSignal<Option<i64>>,
}

/// The job (and the part of it) an event happened on.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Hit {
    job_id: i64,
    on_resize: bool,
    on_warn: bool,
}

#[cfg(feature = "hydrate")]
fn hit(ev: &leptos::ev::Event) -> Option<Hit> {
    use wasm_bindgen::JsCast;
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let pill = target.closest(".cal-event[data-job-id]").ok()??;
    let job_id = pill.get_attribute("data-job-id")?.parse().ok()?;
    let within = |selector: &str| target.closest(selector).ok().flatten().is_some();
    Some(Hit {
        job_id,
        on_resize: within(".cal-event__resize"),
        on_warn: within(".cal-event__warn"),
    })
}

#[cfg(not(feature = "hydrate"))]
fn hit(_ev: &leptos::ev::Event) -> Option<Hit> {
    None
}

/// Opens a job's page (a click on a job, Enter on a focused one).
fn job_opener() -> impl Fn(i64) + Clone {
    let navigate = use_navigate();
    move |job_id| navigate(&format!("/jobs/{job_id}"), Default::default())
}

impl GridEvents {
    fn pointerdown(self, ev: leptos::ev::PointerEvent) {
        if ev.button() != 0 {
            return;
        }
        let Some(hit) = hit(&ev) else { return };
        if hit.on_warn {
            return;
        }
        take_just_dragged();
        let Some(start) = self.shown.with_untracked(|list| {
            list.iter()
                .find(|e| e.extended_props.job_id == hit.job_id)
                .map(|e| e.start)
        }) else {
            return;
        };
        let grab_minutes = grab_offset(&ev, start, &self.zone);
        self.drag.set(Some(Drag {
            job_id: hit.job_id,
            resize: hit.on_resize,
            origin: (ev.client_x(), ev.client_y()),
            moved: false,
            grab_minutes,
        }));
    }

    fn click(self, ev: leptos::ev::MouseEvent, open: &dyn Fn(i64)) {
        let Some(hit) = hit(&ev) else { return };
        if hit.on_warn {
            ev.stop_propagation();
            self.resolving.set(Some(hit.job_id));
        } else if !take_just_dragged() {
            open(hit.job_id);
        }
    }
}

/// Minutes between the job's start and the point grabbed, in a time grid (0 elsewhere).
#[cfg(feature = "hydrate")]
fn grab_offset(ev: &leptos::ev::PointerEvent, start: DateTime<Utc>, zone: &Zone) -> i64 {
    use wasm_bindgen::JsCast;
    let column = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("[data-time-column]").ok().flatten());
    let Some(column) = column else { return 0 };
    let rect = column.get_bounding_client_rect();
    let fraction = ((f64::from(ev.client_y()) - rect.top()) / rect.height()).clamp(0.0, 1.0);
    let pointer = (fraction * 1440.0) as i64;
    let local_start = local(start, zone).time();
    let start_minutes = i64::from(chrono::Timelike::hour(&local_start)) * 60
        + i64::from(chrono::Timelike::minute(&local_start));
    (pointer - start_minutes).max(0)
}

#[cfg(not(feature = "hydrate"))]
fn grab_offset(_ev: &leptos::ev::PointerEvent, _start: DateTime<Utc>, _zone: &Zone) -> i64 {
    0
}

fn titles_of(events: &[CalendarEvent]) -> HashMap<i64, String> {
    events
        .iter()
        .map(|e| (e.extended_props.job_id, e.title.clone()))
        .collect()
}

/// How many jobs a month cell shows before "+N more".
const MONTH_CELL_EVENTS: usize = 4;

/// Each day's jobs as markup, for a grid's cells (`inner_html`).
///
/// When the browser takes over the server's page the cells already hold that markup, and
/// hydration never writes `inner_html` back: building it again for thousands of jobs was most
/// of the calendar's hydration time. So the first run while hydrating leaves it undrawn (its
/// cells give `None`, which hydration keeps as it is), and every later run draws.
#[derive(Debug, Clone, PartialEq)]
struct MarkupCells<T> {
    drawn: bool,
    days: HashMap<NaiveDate, T>,
}

impl<T> MarkupCells<T> {
    fn undrawn() -> Self {
        Self {
            drawn: false,
            days: HashMap::new(),
        }
    }

    /// The day's markup; `None` while undrawn.
    fn markup(&self, day: &NaiveDate, html: impl Fn(&T) -> &String) -> Option<String> {
        self.drawn.then(|| {
            self.days
                .get(day)
                .map(|cell| html(cell).clone())
                .unwrap_or_default()
        })
    }
}

#[component]
fn MonthGrid(
    first: NaiveDate,
    after: NaiveDate,
    month: u32,
    today: NaiveDate,
    shown: Memo<Vec<CalendarEvent>>,
    zone: Zone,
    drag: RwSignal<Option<Drag>>,
    resolving: RwSignal<Option<i64>>,
) -> impl IntoView {
    let expanded = RwSignal::new(None::<NaiveDate>);
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
                            pill_html(&mut html, event, &titles, &zone, None, false, locale);
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
    view! {
        <div class="month" role="grid" aria-label=t("Month")
            on:pointerdown=move |ev| grid.pointerdown(ev)
            on:click=move |ev| grid.click(ev, &open)>
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
                                    <span class="month__day">{day.day()}</span>
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

/// Height of one hour in the time grid, in pixels (a 15-minute slot is 12 px).
const HOUR_PX: f64 = 48.0;

/// A time-grid column holds its jobs in bands of three hours (by start).
const BAND_HOURS: f64 = 3.0;

/// The hours a week or day opens on: it is scrolled to 07:00 and about nine hours show. On a
/// server-rendered page the bands wholly outside them (`data-later`) are drawn in the frames just
/// after the page is interactive, nearest first: with 500 jobs in a week, drawing all of them
/// before the first paint was about half of the page's load (see docs/calendar.md).
const OPENING_HOURS: (f64, f64) = (6.0, 18.0);

/// Side-by-side columns for overlapping timed events of one day: (event index, column, columns).
fn lay_out(events: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<(usize, usize, usize)> {
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

#[component]
fn TimeGrid(
    first: NaiveDate,
    after: NaiveDate,
    today: NaiveDate,
    shown: Memo<Vec<CalendarEvent>>,
    zone: Zone,
    drag: RwSignal<Option<Drag>>,
    resolving: RwSignal<Option<i64>>,
) -> impl IntoView {
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < after).collect();
    let columns = days.len();
    let now = RwSignal::new(Utc::now());
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || now.set(Utc::now()),
            std::time::Duration::from_secs(30),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    }
    let scroller = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(el) = scroller.get() {
            el.set_scroll_top((7.0 * HOUR_PX) as i32);
        }
    });
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
                        pill_html(&mut html, event, &titles, &zone, None, false, locale);
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
                            let width = 100.0 / columns as f64;
                            let style = format!(
                                " top: {:.1}px; height: {height:.1}px; left: {:.3}%; width: calc({width:.3}% - 4px);",
                                top - band_top,
                                width * column as f64
                            );
                            pill_html(&mut html, timed[index], &titles, &zone, Some(&style), true, locale);
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
    view! {
        <div class="timegrid" style=format!("--days: {columns}")
            on:pointerdown=move |ev| grid.pointerdown(ev)
            on:click=move |ev| grid.click(ev, &open)>
            <div class="timegrid__head">
                <div class="timegrid__gutter"></div>
                {head_days.iter().map(|d| view! {
                    <div class="timegrid__dayname" class:timegrid__dayname--today=*d == today>
                        <span class="muted small">{d.format("%a").to_string()}</span>
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
            <div class="timegrid__scroll" node_ref=scroller>
                <div class="timegrid__body">
                    <div class="timegrid__hours">
                        // Where the grid opens (07:00) before any script runs: the browser
                        // scrolls to it (CSS `scroll-initial-target`), the effect above after.
                        <div class="timegrid__opening" aria-hidden="true"></div>
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

#[component]
fn Agenda(
    shown: Memo<Vec<CalendarEvent>>,
    zone: Zone,
    resolving: RwSignal<Option<i64>>,
) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="agenda" role="list">
            {move || {
                let list = shown.get();
                let titles = titles_of(&list);
                let by_day = calendar::by_day(&list, &zone);
                if by_day.is_empty() {
                    return view! {
                        <section class="empty-state">
                            <h2>{t("Nothing planned this month")}</h2>
                            <p class="muted">{t("Jobs created in a project appear here on their planned day.")}</p>
                        </section>
                    }.into_any();
                }
                by_day.into_iter().map(|(day, events)| view! {
                    <section class="agenda__day" role="listitem" data-date=day.format("%Y-%m-%d").to_string()>
                        <h2 class="agenda__date">{day.format("%A %e %B").to_string()}</h2>
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
                                        <span class="chip">{props.job_type.as_str()}</span>
                                        {props.environment.clone().map(|env| view! { <span class="chip" class:chip--prod=props.environment_is_production>{env}</span> })}
                                        <span class="chip" data-status=props.status.as_str()>{props.status.as_str()}</span>
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
                    </section>
                }).collect_view().into_any()
            }}
        </div>
    }
}

/// The conflict resolution dialog: the next free slots of the same length in the job's
/// environment (from `domain::calendar::free_slots` on the server), applied in one click.
#[component]
fn Resolver(
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
                                                slot.start.with_timezone(&zone).format("%A %e %B").to_string()
                                            } else {
                                                format!("{} – {}", slot.start.with_timezone(&zone).format("%a %e %b %H:%M"), slot.end.with_timezone(&zone).format("%H:%M"))
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

/// A feed just created: its URL is shown this once.
#[derive(Debug, Clone, PartialEq)]
struct CreatedFeed {
    url: String,
}

/// "Subscribe": the caller's iCal feeds — create one for their own jobs or a project's, copy its
/// URL (shown once), revoke one.
#[component]
fn Feeds(open: RwSignal<bool>, projects: Vec<ProjectLabel>) -> impl IntoView {
    let feeds = RwSignal::new(None::<Result<Vec<CalendarFeed>, String>>);
    let created = RwSignal::new(None::<CreatedFeed>);
    let scope = RwSignal::new(String::new());
    let load = move || {
        leptos::task::spawn_local(async move {
            let answer = api_call("GET", "/api/v1/calendar/feeds", &serde_json::Value::Null).await;
            feeds.set(Some(match answer {
                Ok((_, json)) => serde_json::from_value(json["items"].clone())
                    .map_err(|e| format!("unreadable answer: {e}")),
                Err((_, _, message)) => Err(message),
            }));
        });
    };
    Effect::new(move |_| {
        if open.get() {
            created.set(None);
            load();
        }
    });
    let create = move |_| {
        let project_id: Option<i64> = scope.get_untracked().parse().ok();
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "project_id": project_id });
            match api_call("POST", "/api/v1/calendar/feeds", &body).await {
                Ok((_, json)) => {
                    created.set(Some(CreatedFeed {
                        url: json["url"].as_str().unwrap_or_default().to_owned(),
                    }));
                    load();
                }
                Err((_, _, message)) => feeds.set(Some(Err(message))),
            }
        });
    };
    let revoke = move |id: i64| {
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/calendar/feeds/{id}");
            if let Err((_, _, message)) = api_call("DELETE", &path, &serde_json::Value::Null).await
            {
                feeds.set(Some(Err(message)));
            } else {
                load();
            }
        });
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
                    <button type="button" class="button button--primary" data-testid="create-feed" on:click=create>{t("Create address")}</button>
                </div>
                {move || created.get().map(|c| view! {
                    <div class="feeds__created" role="status">
                        <p>{t("Copy this address now: it will not be shown again.")}</p>
                        <input class="input mono" readonly=true data-testid="feed-url" value=c.url.clone()
                            on:focus=move |ev| {
                                #[cfg(feature = "hydrate")]
                                {
                                    use wasm_bindgen::JsCast;
                                    if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                        input.select();
                                    }
                                }
                                #[cfg(not(feature = "hydrate"))]
                                let _ = ev;
                            }/>
                    </div>
                })}
                {move || match feeds.get() {
                    None => view! { <p class="muted" aria-busy="true">{t("Loading your feeds…")}</p> }.into_any(),
                    Some(Err(message)) => view! { <p class="notice notice--error" role="alert">{message}</p> }.into_any(),
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
                                let used = f.last_used_at.map(|at| tf("last read {at}", &[("at", &at.format("%e %b %H:%M UTC").to_string())]))
                                    .unwrap_or_else(|| t("never read yet").to_owned());
                                view! {
                                    <li class="feeds__item" data-feed-id=id.to_string()>
                                        <span>{what}</span>
                                        <span class="mono muted small">{format!("…{}", f.token_hint)}</span>
                                        <span class="muted small">{used}</span>
                                        <button type="button" class="button button--ghost button--danger" data-testid="revoke-feed"
                                            on:click=move |_| revoke(id)>{t("Revoke")}</button>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_bands_are_drawn_nearest_the_opening_hours_first() {
        // Three-hour bands; the grid opens on 06:00–18:00 (bands 2 to 5).
        let away: Vec<usize> = (0..8).map(bands_away).collect();
        assert_eq!(away, [1, 0, 0, 0, 0, 0, 0, 1]);
    }
}
