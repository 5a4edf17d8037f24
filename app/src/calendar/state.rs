//! The calendar's moving parts in the browser: a move previewed (dragged or stepped with the
//! keyboard), a drag under way, the notice under the toolbar, and the arithmetic of windows in
//! the team's zone that previews and drops share.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use domain::calendar;
use domain::zone::Zone;
use domain::CalendarEvent;
use leptos::prelude::*;

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

/// What the grids draw: the events as they are or, while a move is previewed, a copy with that
/// move applied and conflicts marked again. The events themselves are never copied to be shown
/// (2,000 of them on a month, at every hydration and change). Reading it tracks what it reads.
#[derive(Clone, Copy)]
pub(super) struct Shown {
    events: RwSignal<Vec<CalendarEvent>>,
    previewed: Memo<Option<Vec<CalendarEvent>>>,
}

impl Shown {
    pub(super) fn new(
        events: RwSignal<Vec<CalendarEvent>>,
        preview: RwSignal<Option<Preview>>,
        zone: Zone,
    ) -> Self {
        let previewed = Memo::new(move |_| {
            preview
                .get()
                .map(|preview| events.with(|list| with_preview(list, preview, &zone)))
        });
        Shown { events, previewed }
    }

    /// Reads what is drawn, tracked.
    pub(super) fn with<R>(self, read: impl FnOnce(&[CalendarEvent]) -> R) -> R {
        self.previewed.with(|previewed| match previewed {
            Some(list) => read(list),
            None => self.events.with(|list| read(list)),
        })
    }

    /// Reads what is drawn, untracked.
    pub(super) fn with_untracked<R>(self, read: impl FnOnce(&[CalendarEvent]) -> R) -> R {
        self.previewed.with_untracked(|previewed| match previewed {
            Some(list) => read(list),
            None => self.events.with_untracked(|list| read(list)),
        })
    }

    /// Follows what is drawn without reading it.
    pub(super) fn track(self) {
        self.with(|_| ());
    }
}

/// The events with a preview applied (window moved) and conflicts marked again.
fn with_preview(events: &[CalendarEvent], preview: Preview, zone: &Zone) -> Vec<CalendarEvent> {
    let mut list = events.to_vec();
    if let Some(event) = list
        .iter_mut()
        .find(|e| e.extended_props.job_id == preview.job_id)
    {
        apply_window(event, preview.start, preview.planned_end, zone);
    }
    // The events' own flags are right (the server's, or marked again after each change): only
    // a preview needs the rule to run again.
    calendar::mark_conflicts(&mut list, zone);
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

/// `HH:MM` in the team's zone. Written out by hand: chrono's `format` parses its pattern and
/// writes the zone's offset out as text on every call, and a month of 2,000 jobs asks for 6,000
/// of these labels (with the window labels, about 13 % of the month page's time on the server,
/// by `perf`).
pub(super) fn time_label(at: DateTime<Utc>, zone: &Zone) -> String {
    let time = local(at, zone).time();
    format!("{:02}:{:02}", time.hour(), time.minute())
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

#[cfg(test)]
pub(super) mod tests {
    use chrono::{DateTime, Utc};
    use domain::calendar::EventProps;
    use domain::zone::Zone;
    use domain::{CalendarEvent, JobStatus, JobType};
    use leptos::prelude::*;

    use super::{Preview, Shown};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    /// A one-hour maintenance of project 1 in production.
    pub(in crate::calendar) fn maintenance(job_id: i64, start: &str) -> CalendarEvent {
        let start = at(start);
        CalendarEvent {
            id: job_id.to_string(),
            title: format!("job {job_id}"),
            start,
            end: start + chrono::Duration::hours(1),
            all_day: false,
            color: "#00ff00".into(),
            extended_props: EventProps {
                job_id,
                project_id: 1,
                project_name: "Pilot".into(),
                project_color: "#00ff00".into(),
                job_type: JobType::Maintenance,
                status: JobStatus::Planned,
                environment: Some("prod".into()),
                environment_is_production: true,
                owner: None,
                conflict: false,
                conflicts_with: Vec::new(),
                version: 1,
                planned_end: None,
                pending_move: None,
            },
        }
    }

    #[test]
    fn a_preview_is_drawn_on_a_copy_and_the_events_are_read_in_place_otherwise() {
        // Signals live in their owner's arena.
        Owner::new().with(preview_on_a_copy);
    }

    fn preview_on_a_copy() {
        let zone = Zone::read_once("UTC", &Utc);
        let events = RwSignal::new(vec![
            maintenance(1, "2030-03-10T09:00:00Z"),
            maintenance(2, "2030-03-11T09:00:00Z"),
        ]);
        let preview = RwSignal::new(None::<Preview>);
        let shown = Shown::new(events, preview, zone);
        let events_at = events.with_untracked(|list| list.as_ptr());
        assert!(shown.with_untracked(|list| std::ptr::eq(list.as_ptr(), events_at)));

        // Job 2 dragged onto job 1's hour: both are drawn in conflict, the events are untouched.
        preview.set(Some(Preview {
            job_id: 2,
            start: at("2030-03-10T09:30:00Z"),
            planned_end: None,
        }));
        shown.with(|list| {
            assert!(!std::ptr::eq(list.as_ptr(), events_at));
            assert_eq!(list[1].start, at("2030-03-10T09:30:00Z"));
            let flags: Vec<_> = list
                .iter()
                .map(|e| e.extended_props.conflicts_with.clone())
                .collect();
            assert_eq!(flags, [vec![2], vec![1]]);
        });
        events.with_untracked(|list| {
            assert_eq!(list[1].start, at("2030-03-11T09:00:00Z"));
            assert!(list.iter().all(|e| !e.extended_props.conflict));
        });

        preview.set(None);
        assert!(shown.with(|list| std::ptr::eq(list.as_ptr(), events_at)));
    }

    #[test]
    fn a_time_label_is_the_zones_wall_clock_as_chrono_writes_it() {
        let paris = Zone::read_once("Europe/Paris", &chrono_tz::Europe::Paris);
        // Every quarter of an hour around the spring and autumn changes of 2030, and midnight.
        let starts = [at("2030-03-30T20:00:00Z"), at("2030-10-26T20:00:00Z")];
        for start in starts {
            for quarter in 0..48 {
                let instant = start + chrono::Duration::minutes(15 * quarter);
                assert_eq!(
                    super::time_label(instant, &paris),
                    instant
                        .with_timezone(&chrono_tz::Europe::Paris)
                        .format("%H:%M")
                        .to_string(),
                    "at {instant}"
                );
            }
        }
        assert_eq!(
            super::time_label(at("2030-03-30T23:05:00Z"), &paris),
            "00:05"
        );
    }
}
