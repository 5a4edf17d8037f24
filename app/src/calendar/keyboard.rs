//! Moving a focused job with the keyboard: arrows preview, Shift+↑↓ resize, Enter sends, Escape
//! drops; Enter with no move under way opens the job.

use chrono::{DateTime, Duration, Utc};
use domain::calendar;
use domain::CalendarEvent;
use leptos::prelude::*;

use super::browser::focused_job;
use super::request::View;
use super::state::Preview;

/// Arrow keys on a focused job preview a move; Enter sends it, Escape drops it. Enter without
/// a move under way opens the job (its id is returned).
pub(super) fn keyboard_move(
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
    // A job the caller may not move takes no preview (Enter still opens it).
    if let Some(next) = next.filter(|_| !super::browser::focused_is_fixed(ev)) {
        ev.prevent_default();
        preview.set(Some(next));
    }
    None
}
