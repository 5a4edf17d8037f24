//! The calendar's moving parts in the browser: a move previewed (dragged or stepped with the
//! keyboard), a drag under way, the notice under the toolbar, and the arithmetic of windows in
//! the team's zone that previews and drops share.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use domain::calendar;
use domain::zone::Zone;
use domain::CalendarEvent;

use crate::i18n::Locale;

/// A move being previewed (dragged, or stepped with the keyboard), not yet sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Preview {
    pub(super) job_id: i64,
    pub(super) start: DateTime<Utc>,
    pub(super) planned_end: Option<DateTime<Utc>>,
}

/// A pointer drag in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Drag {
    pub(super) job_id: i64,
    pub(super) resize: bool,
    pub(super) origin: (i32, i32),
    pub(super) moved: bool,
    /// Minutes between the job's start and where it was grabbed (time grids).
    pub(super) grab_minutes: i64,
}

/// A message under the toolbar: what happened to the last move.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Notice {
    pub(super) text: String,
    pub(super) error: bool,
}

/// The events with a preview applied (window moved) and conflicts marked again: what is drawn.
pub(super) fn displayed(
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
pub(super) fn apply_window(
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
pub(super) fn local(at: DateTime<Utc>, zone: &Zone) -> chrono::NaiveDateTime {
    at.with_timezone(zone).naive_local()
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // the pointer drag uses it
/// The instant of a local date and time (the earlier one when a DST change repeats it).
pub(super) fn instant(day: NaiveDate, time: NaiveTime, zone: &Zone) -> DateTime<Utc> {
    zone.from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| calendar::start_of_day(day, zone) + (time - NaiveTime::MIN))
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // the pointer drag uses it
/// The job's new start and stored end when it is moved to `day` (keeping its local time) and,
/// in a time grid, to `minutes` after midnight.
pub(super) fn moved_to(
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

pub(super) fn time_label(at: DateTime<Utc>, zone: &Zone) -> String {
    at.with_timezone(zone).format("%H:%M").to_string()
}

pub(super) fn window_label(event: &CalendarEvent, zone: &Zone, locale: Locale) -> String {
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

/// The text of a refused move, from the server's error code.
#[rustfmt::skip]
pub(super) fn refusal_text(code: &str, message: &str, locale: Locale) -> String {
    match code {
        "stale_version" => {
            locale.t("Someone else changed this job meanwhile: the calendar was reloaded, try again.").to_owned()
        }
        "production_move_approval" => {
            locale.tf("Not moved: {message}. Move it alone (nothing else changed) to request approval.", &[("message", message)])
        }
        "unauthenticated" => locale.t("Your session has ended; log in again.").to_owned(),
        _ => locale.tf("Not moved: {message}", &[("message", message)]),
    }
}

/// The job (and the part of it) an event happened on.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(super) struct Hit {
    pub(super) job_id: i64,
    /// The caller may not move this job (`data-fixed`).
    pub(super) fixed: bool,
    pub(super) on_resize: bool,
    pub(super) on_warn: bool,
}

/// The jobs shown that the caller may not move (the policy's answer, from the server), kept
/// up to date by each reload.
#[derive(Clone, Copy)]
pub(super) struct FixedJobs(pub(super) leptos::prelude::RwSignal<std::collections::HashSet<i64>>);

impl FixedJobs {
    /// How a pill of `job_id` may be handled: not at all, moved, or moved and resized.
    pub(super) fn grip(self, job_id: i64, resizable: bool) -> Grip {
        if leptos::prelude::With::with(&self.0, |fixed| fixed.contains(&job_id)) {
            Grip::Fixed
        } else if resizable {
            Grip::MoveAndResize
        } else {
            Grip::Move
        }
    }
}

/// What a pointer or the keyboard may do to a pill.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Grip {
    Fixed,
    Move,
    MoveAndResize,
}
