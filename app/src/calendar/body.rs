//! One calendar render: the events as signals, moves sent and rolled back, the toolbar, the
//! grid of the chosen view, the move requests, the feeds and the resolution dialog.

use chrono::{DateTime, Datelike, Utc};
use domain::calendar::{self, PendingMove};
use domain::CalendarEvent;
use leptos::prelude::*;

use super::agenda::Agenda;
use super::browser;
use super::feeds::Feeds;
use super::keyboard::keyboard_move;
use super::month::MonthGrid;
use super::moves::MoveRequests;
use super::refresh::Refresh;
use super::request::{CalendarData, View};
use super::requests::{move_job, Moved};
use super::resolver::Resolver;
use super::state::{apply_window, refusal_text, Drag, FixedJobs, Notice, Preview, Shown};
use super::time_grid::TimeGrid;
use super::toolbar::{Legend, Toolbar};
use crate::i18n::{t, use_locale};

/// A move sent to the server: the job as it was (put back if refused) and where it goes.
#[derive(Debug, Clone, PartialEq)]
struct SentMove {
    before: CalendarEvent,
    start: DateTime<Utc>,
    planned_end: Option<DateTime<Utc>>,
}

#[cfg_attr(any(feature = "ssr", feature = "island-calendar"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-calendar")), component)]
pub fn CalendarBody(data: CalendarData, names_a_view: bool) -> impl IntoView {
    // An island has no context from outside it: its own locale and signed-in user.
    crate::session::provide_for_island();
    super::browser::agenda_on_phone(names_a_view, crate::ui::Navigator::from_router());
    crate::mark_hydrated();
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
    let shown = Shown::new(events, preview, zone);
    let (first, after) = request.view.days(request.date);
    let today = Utc::now().with_timezone(&zone).date_naive();

    // Reloads what is shown (after a change made elsewhere, or a refused move), without the
    // page's loading state. A drag under way is never disturbed: the reload waits for its end.
    let fixed = FixedJobs(RwSignal::new(data.fixed.iter().copied().collect()));
    provide_context(fixed);
    let refresh = Refresh::new(request.clone(), events, pending, fixed, drag, preview);

    // Sends a move; shows it at once and rolls it back, with the reason, if refused. A move that
    // needs approval goes back too, marked pending.
    let send_move = Action::new(move |sent: &SentMove| {
        let sent = sent.clone();
        async move {
            let job_id = sent.before.extended_props.job_id;
            let version = sent.before.extended_props.version;
            let outcome = move_job(job_id, version, sent.start, sent.planned_end).await;
            let put_back = |pending_move: Option<PendingMove>| {
                events.update(|list| {
                    if let Some(event) = list.iter_mut().find(|e| e.extended_props.job_id == job_id)
                    {
                        *event = sent.before.clone();
                        if pending_move.is_some() {
                            event.extended_props.pending_move = pending_move;
                        }
                    }
                    calendar::mark_conflicts(list, &zone);
                });
            };
            let at = locale.dates(
                &sent
                    .start
                    .with_timezone(&zone)
                    .format("%a %e %b %H:%M")
                    .to_string(),
            );
            let values = [("title", sent.before.title.as_str()), ("at", at.as_str())];
            match outcome {
                Ok(Moved::Requested(requested)) => {
                    put_back(Some(PendingMove {
                        id: requested.id,
                        planned_start: requested.planned_start,
                        planned_end: requested.planned_end,
                        requested_by: requested.requested_by_username.clone(),
                        requested_at: requested.created_at,
                    }));
                    pending.update(|list| {
                        list.retain(|r| r.job_id != job_id);
                        list.insert(0, requested);
                    });
                    #[rustfmt::skip]
                    let text = locale.tf("Move of “{title}” to {at} requested: a production job moves once a projets or admin user approves.", &values);
                    notice.set(Some(Notice { text, error: false }));
                }
                Ok(Moved::Job(job)) => {
                    events.update(|list| {
                        if let Some(event) =
                            list.iter_mut().find(|e| e.extended_props.job_id == job_id)
                        {
                            event.extended_props.version = job.version;
                        }
                    });
                    let text = locale.tf("“{title}” moved to {at}.", &values);
                    notice.set(Some(Notice { text, error: false }));
                }
                Err(error) => {
                    put_back(None);
                    notice.set(Some(Notice {
                        text: refusal_text(&error.code, &error.message, locale),
                        error: true,
                    }));
                    if error.code == "stale_version" {
                        refresh.now();
                    }
                }
            }
        }
    });
    let commit = move |job_id: i64, start: DateTime<Utc>, planned_end: Option<DateTime<Utc>>| {
        let Some(before) = events.with_untracked(|list| {
            list.iter()
                .find(|e| e.extended_props.job_id == job_id)
                .cloned()
        }) else {
            return;
        };
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
        send_move.dispatch(SentMove {
            before,
            start,
            planned_end,
        });
    };

    browser::install_drag(drag, preview, events, zone, commit);
    browser::follow_changes(refresh);
    browser::mark_interactive();

    let view_kind = request.view;
    let body = move || {
        match view_kind {
        View::Month => view! { <MonthGrid first after month=request.date.month() today shown zone drag resolving/> }.into_any(),
        View::Week | View::Day => view! { <TimeGrid first after today shown zone drag resolving/> }.into_any(),
        View::Agenda => view! { <Agenda shown zone resolving/> }.into_any(),
    }
    };
    let navigate = crate::ui::page_navigate();
    // The job the keyboard is moving keeps the focus while the view redraws around it.
    let keyboard_job = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        preview.track();
        events.track();
        if let Some(job_id) = keyboard_job.get_untracked() {
            browser::refocus_job(job_id);
        }
    });
    let keyboard = move |ev: leptos::ev::KeyboardEvent| {
        let moving = ev.key().starts_with("Arrow");
        keyboard_job.set(browser::focused_job(&ev).filter(|_| moving));
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
