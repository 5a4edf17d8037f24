//! Everything of the calendar that only a browser does, in one place: following the changes
//! stream, pointer drags, keyboard focus, drawing the time grid's later bands, the clock line.
//! The server build uses `no_browser.rs`, the same functions doing nothing.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use domain::calendar;
use domain::zone::Zone;
use domain::CalendarEvent;
use leptos::prelude::*;

use super::bands::bands_away;
use super::refresh::Refresh;
use super::state::{instant, local, moved_to, Drag, Hit, Preview};

/// Listens to `/api/v1/calendar/changes` (Server-Sent Events) and reloads on every job change,
/// so moves made by others show without a reload of the page. The browser reconnects by itself
/// (with `Last-Event-ID`).
pub(super) fn follow_changes(refresh: Refresh) {
    use std::cell::RefCell;
    use std::rc::Rc;

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    type Stream = (
        web_sys::EventSource,
        Closure<dyn FnMut(web_sys::MessageEvent)>,
    );
    pub(super) fn open(refresh: Refresh) -> Option<Stream> {
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
    pub(super) fn close(stream: &RefCell<Option<Stream>>) {
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

/// Draws the time grid's later bands, nearest the opening hours first: those at most `away`
/// bands from them in the next animation frame, the others in the frames after (the page stays
/// responsive meanwhile). Once none is left, marks the calendar drawn.
pub(super) fn draw_later_bands(away: usize) {
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

pub(super) fn focused_job(ev: &leptos::ev::KeyboardEvent) -> Option<i64> {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("[data-job-id]").ok().flatten())
        .and_then(|el| el.get_attribute("data-job-id"))
        .and_then(|id| id.parse().ok())
}

/// Whether the job a key was pressed on is one the caller may not move.
pub(super) fn focused_is_fixed(ev: &leptos::ev::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("[data-job-id]").ok().flatten())
        .is_some_and(|el| el.has_attribute("data-fixed"))
}

/// Gives the keyboard focus back to job `job_id`'s pill once the view has been drawn again:
/// a month cell's markup is rebuilt when a job previews a move into it, which drops the focus
/// (the next arrow then went to the page instead of the job). A job moved into a busy day lands
/// behind its "+N more", where nothing can take the focus: that day is opened first.
pub(super) fn refocus_job(job_id: i64) {
    refocus_job_within(job_id, 3);
}

/// `refocus_job`, opening a busy day at most `openings` times (the opened day shows from the
/// next frame on).
fn refocus_job_within(job_id: i64, openings: u8) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else {
        return;
    };
    let focus = Closure::once_into_js(move || {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let selector = format!(".calendar__body [data-job-id=\"{job_id}\"]");
        let Ok(Some(pill)) = document.query_selector(&selector) else {
            return;
        };
        let inside = document
            .active_element()
            .is_some_and(|active| pill.contains(Some(&active)));
        if inside {
            return;
        }
        let closed_day = pill
            .closest(".month__cell:not(.month__cell--open) .month__overflow")
            .ok()
            .flatten()
            .and_then(|overflow| overflow.closest(".month__cell").ok().flatten());
        if let Some(day) = closed_day {
            let more = day
                .query_selector(".month__more")
                .ok()
                .flatten()
                .filter(|_| openings > 0)
                .and_then(|button| button.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(more) = more {
                more.click();
                refocus_job_within(job_id, openings - 1);
            }
            return;
        }
        if let Ok(pill) = pill.dyn_into::<web_sys::HtmlElement>() {
            let _ = pill.focus();
        }
    });
    let _ = window.request_animation_frame(focus.unchecked_ref());
}

/// Pointer dragging: the window listens while a drag is under way, finds the day (and time) under
/// the pointer, previews the move, and sends it on release.
pub(super) fn install_drag(
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
        // Read in place: a drag fires this many times a second over a month of 2,000 jobs, so
        // the dragged job is neither copied nor kept.
        let Some(next) = events.with_untracked(|list| {
            let event = list
                .iter()
                .find(|e| e.extended_props.job_id == state.job_id)?;
            if state.resize {
                let end = instant(day, NaiveTime::MIN, &zone)
                    + Duration::minutes(minutes? + calendar::SNAP_MINUTES);
                (end > event.start).then_some(Preview {
                    job_id: state.job_id,
                    start: event.start,
                    planned_end: Some(end),
                })
            } else {
                let minutes = minutes.map(|m| {
                    let m = m - state.grab_minutes;
                    m - m.rem_euclid(calendar::SNAP_MINUTES)
                });
                let (start, planned_end) = moved_to(event, day, minutes, &zone);
                Some(Preview {
                    job_id: state.job_id,
                    start,
                    planned_end,
                })
            }
        }) else {
            return;
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

thread_local! {
    /// Set when a drag ends: the click that follows must not open the job.
    static JUST_DRAGGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a drag just ended (and forgets it).
pub(super) fn take_just_dragged() -> bool {
    JUST_DRAGGED.with(|flag| flag.replace(false))
}

pub(super) fn hit(ev: &leptos::ev::Event) -> Option<Hit> {
    use wasm_bindgen::JsCast;
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let pill = target.closest(".cal-event[data-job-id]").ok()??;
    let job_id = pill.get_attribute("data-job-id")?.parse().ok()?;
    let within = |selector: &str| target.closest(selector).ok().flatten().is_some();
    Some(Hit {
        job_id,
        fixed: pill.has_attribute("data-fixed"),
        on_resize: within(".cal-event__resize"),
        on_warn: within(".cal-event__warn"),
    })
}

/// The empty place a click landed on, as the new-job form's `start`: a day (`YYYY-MM-DD`, all
/// day) in the month, or a day and the half hour under the pointer in a time grid. `None` on a
/// job, a button or anything else.
pub(super) fn empty_slot(ev: &leptos::ev::MouseEvent) -> Option<(String, bool)> {
    use wasm_bindgen::JsCast;
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    if target
        .closest(".cal-event, button, a, input")
        .ok()?
        .is_some()
    {
        return None;
    }
    let cell = target.closest("[data-date]").ok()??;
    let date = cell.get_attribute("data-date")?;
    if cell.has_attribute("data-time-column") {
        let rect = cell.get_bounding_client_rect();
        let fraction = ((f64::from(ev.client_y()) - rect.top()) / rect.height()).clamp(0.0, 0.999);
        let minutes = ((fraction * 1440.0) as i64 / 30) * 30;
        Some((
            format!("{date}T{:02}:{:02}", minutes / 60, minutes % 60),
            false,
        ))
    } else {
        Some((date, true))
    }
}

/// Minutes between the job's start and the point grabbed, in a time grid (0 elsewhere).
pub(super) fn grab_offset(ev: &leptos::ev::PointerEvent, start: DateTime<Utc>, zone: &Zone) -> i64 {
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

/// Once the calendar's jobs are in the page and listening (effects run after hydration), records
/// the `uhub:calendar-interactive` performance mark (visible in the browser's profiler). Then
/// draws the time grid's later bands, records `uhub:calendar-drawn` and sets `data-interactive`
/// on the calendar: the browser benchmark reads the marks, tests wait for the attribute.
pub(super) fn mark_interactive() {
    Effect::new(|_| {
        crate::performance_mark("uhub:calendar-interactive");
        draw_later_bands(0);
    });
}

/// Moves the clock line of a time grid every 30 seconds, for as long as the grid lives.
pub(super) fn tick_clock(now: RwSignal<DateTime<Utc>>) {
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

/// Scrolls a time grid to `top` pixels once it is in the page.
pub(super) fn scroll_to(scroller: NodeRef<leptos::html::Div>, top: f64) {
    Effect::new(move |_| {
        if let Some(el) = scroller.get() {
            el.set_scroll_top(top as i32);
        }
    });
}

/// Selects the whole text of the input an event happened on (a URL to copy).
pub(super) fn select_all(ev: &leptos::ev::FocusEvent) {
    use wasm_bindgen::JsCast;
    if let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        input.select();
    }
}

/// On a phone (under 760 px, where a month's columns are a few pixels wide) a calendar address
/// naming no view opens the agenda, with the user's remembered filters (`phone=1`).
pub(super) fn agenda_on_phone(names_a_view: bool, navigator: crate::ui::Navigator) {
    if names_a_view {
        return;
    }
    Effect::new(move |_| {
        let narrow = web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|width| width.as_f64())
            .is_some_and(|width| width < 760.0);
        if narrow {
            navigator.go("/calendar?phone=1");
        }
    });
}
