//! The calendar's rules, shared by the server (events API, suggestions) and the browser (live
//! preview while dragging): planned windows, the conflict rule, free-slot suggestions, colours,
//! and the FullCalendar-compatible event shape.
//!
//! Conflict rule: critical jobs (`ops`, `maintenance`, `infra`) of the same project and
//! environment whose planned windows overlap are in conflict, both of them. Windows are half-open
//! (`[start, end)`), so windows that only touch do not overlap. An all-day job covers its whole
//! day (or days) in the calendar's time zone; a timed job without an end lasts one hour.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::{Color, JobStatus, JobType};

/// How long a timed job without an end is taken to last.
pub const DEFAULT_DURATION: Duration = Duration::hours(1);
/// The grid moves and suggestions snap to.
pub const SNAP_MINUTES: i64 = 15;

/// What the conflict rule needs to know about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub id: i64,
    pub project_id: i64,
    pub environment: Option<String>,
    pub job_type: JobType,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub all_day: bool,
}

/// A half-open span of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn overlaps(&self, other: &Window) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn length(&self) -> Duration {
        self.end - self.start
    }
}

/// The first instant of `day` in `zone`. Where a DST change skips midnight (e.g. America/Havana,
/// Asia/Beirut), the day starts at the first local time that exists.
pub fn start_of_day<Tz: TimeZone>(day: NaiveDate, zone: &Tz) -> DateTime<Utc> {
    let mut local = day.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(at) = zone.from_local_datetime(&local).earliest() {
            return at.with_timezone(&Utc);
        }
        local += Duration::minutes(30);
    }
    // No zone skips more than two hours: fall back to the day in UTC rather than fail.
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The local day `at` falls on in `zone`.
pub fn day_of<Tz: TimeZone>(at: DateTime<Utc>, zone: &Tz) -> NaiveDate {
    at.with_timezone(zone).date_naive()
}

impl Planned {
    /// The span the job occupies. All-day jobs cover whole local days: from the start of the
    /// start's day to the end of the day before an exclusive end (one day when there is none).
    /// A timed job without an end (or with an end not after its start) lasts [`DEFAULT_DURATION`].
    pub fn window<Tz: TimeZone>(&self, zone: &Tz) -> Window {
        if self.all_day {
            let first = day_of(self.start, zone);
            let last = match self.end {
                // The end is exclusive: an end at midnight closes the day before.
                Some(end) if end > self.start => {
                    day_of(end - Duration::microseconds(1), zone).max(first)
                }
                _ => first,
            };
            let after = last.checked_add_days(Days::new(1)).unwrap_or(last);
            Window {
                start: start_of_day(first, zone),
                end: start_of_day(after, zone),
            }
        } else {
            let end = match self.end {
                Some(end) if end > self.start => end,
                _ => self.start + DEFAULT_DURATION,
            };
            Window {
                start: self.start,
                end,
            }
        }
    }

    fn lane(&self) -> Option<(i64, &str)> {
        match (&self.environment, self.job_type.is_critical()) {
            (Some(environment), true) => Some((self.project_id, environment.as_str())),
            _ => None,
        }
    }
}

/// Every job in conflict, with the ids it conflicts with (ascending). Jobs not in the map are
/// not in conflict. Per (project, environment) lane, a sweep over the windows sorted by start
/// keeps the windows still open in a heap ordered by end: O(n log n + k) for k conflicting pairs.
pub fn conflicts<Tz: TimeZone>(jobs: &[Planned], zone: &Tz) -> HashMap<i64, Vec<i64>> {
    let mut lanes: HashMap<(i64, &str), Vec<(Window, i64)>> = HashMap::new();
    for job in jobs {
        if let Some(lane) = job.lane() {
            lanes
                .entry(lane)
                .or_default()
                .push((job.window(zone), job.id));
        }
    }
    let mut found: HashMap<i64, Vec<i64>> = HashMap::new();
    for (_, mut windows) in lanes {
        windows.sort_unstable_by_key(|(window, id)| (window.start, *id));
        // Open windows, the one ending first on top.
        let mut open: BinaryHeap<Reverse<(DateTime<Utc>, i64)>> = BinaryHeap::new();
        for (window, id) in windows {
            // Touching is not overlapping: a window ending at this start is closed.
            while open
                .peek()
                .is_some_and(|Reverse((end, _))| *end <= window.start)
            {
                open.pop();
            }
            for Reverse((_, other)) in open.iter() {
                found.entry(id).or_default().push(*other);
                found.entry(*other).or_default().push(id);
            }
            open.push(Reverse((window.end, id)));
        }
    }
    for others in found.values_mut() {
        others.sort_unstable();
        others.dedup();
    }
    found
}

/// Rounds `at` up to the next multiple of [`SNAP_MINUTES`] (UTC-aligned; every zone's offset is
/// a multiple of 15 minutes).
pub fn snap_up(at: DateTime<Utc>) -> DateTime<Utc> {
    let step = SNAP_MINUTES * 60;
    let seconds = at.timestamp();
    let exact = at.timestamp_subsec_nanos() == 0 && seconds.rem_euclid(step) == 0;
    if exact {
        return at;
    }
    let snapped = (seconds.div_euclid(step) + 1) * step;
    DateTime::from_timestamp(snapped, 0).unwrap_or(at)
}

/// Up to `count` new places for `job`, at or after `from`, where it conflicts with none of
/// `others` (its own entry among them is ignored): same length, same environment, on the
/// 15-minute grid (whole days for an all-day job). Each suggestion starts where the previous one
/// ends, so they are distinct choices; searching stops 60 days out.
pub fn free_slots<Tz: TimeZone>(
    job: &Planned,
    others: &[Planned],
    from: DateTime<Utc>,
    count: usize,
    zone: &Tz,
) -> Vec<Window> {
    let Some(lane) = job.lane() else {
        // Not subject to the rule: any place is free.
        let window = job.window(zone);
        let start = snap_up(from);
        return vec![Window {
            start,
            end: start + window.length(),
        }];
    };
    let mut busy: Vec<Window> = others
        .iter()
        .filter(|other| other.id != job.id && other.lane() == Some(lane))
        .map(|other| other.window(zone))
        .collect();
    busy.sort_unstable();
    let horizon = from + Duration::days(60);
    let mut found = Vec::new();
    if job.all_day {
        let days = {
            let window = job.window(zone);
            let first = day_of(window.start, zone);
            let last = day_of(window.end - Duration::microseconds(1), zone);
            (last - first).num_days().max(0) as u64 + 1
        };
        let mut day = day_of(from, zone);
        if start_of_day(day, zone) < from {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        }
        while found.len() < count {
            let start = start_of_day(day, zone);
            if start > horizon {
                break;
            }
            let after = day.checked_add_days(Days::new(days)).unwrap_or(day);
            let candidate = Window {
                start,
                end: start_of_day(after, zone),
            };
            if busy.iter().all(|b| !b.overlaps(&candidate)) {
                found.push(candidate);
                day = after;
            } else {
                day = day.checked_add_days(Days::new(1)).unwrap_or(after);
            }
        }
        return found;
    }
    let length = job.window(zone).length();
    let mut start = snap_up(from);
    while found.len() < count && start <= horizon {
        let candidate = Window {
            start,
            end: start + length,
        };
        // The latest-ending busy window this candidate hits, if any: jump past it.
        match busy
            .iter()
            .filter(|b| b.overlaps(&candidate))
            .map(|b| b.end)
            .max()
        {
            Some(end) => start = snap_up(end),
            None => {
                found.push(candidate);
                start = candidate.end;
            }
        }
    }
    found
}

crate::string_enum! {
    /// What gives a calendar event its colour.
    #[derive(Default)]
    pub enum ColorMode ("colour mode") {
        #[default]
        Project => "project",
        Type => "type",
        Status => "status",
    }
}

/// The colour of each job type (tokens of DESIGN.md, readable on black).
pub fn type_color(job_type: JobType) -> &'static str {
    match job_type {
        JobType::Dev => "#3ea6ff",
        JobType::Ops => "#f5a524",
        JobType::Maintenance => "#c084fc",
        JobType::Meeting => "#8b9bb4",
        JobType::Infra => "#00cc88",
    }
}

/// The colour of each job status (the status tokens of DESIGN.md).
pub fn status_color(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Planned => "#8b9bb4",
        JobStatus::Running => "#3ea6ff",
        JobStatus::Success => "#00cc88",
        JobStatus::Failed => "#ff4d4f",
        JobStatus::Canceled => "#6b7280",
    }
}

/// The colour of an event in `mode`.
pub fn event_color(
    mode: ColorMode,
    project: &Color,
    job_type: JobType,
    status: JobStatus,
) -> String {
    match mode {
        ColorMode::Project => project.as_str().to_owned(),
        ColorMode::Type => type_color(job_type).to_owned(),
        ColorMode::Status => status_color(status).to_owned(),
    }
}

/// A job on the calendar, shaped as a FullCalendar event object so existing FullCalendar
/// front ends and scripts can read the feed as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarEvent {
    /// The job id, as text (FullCalendar's convention).
    pub id: String,
    pub title: String,
    /// The start of the planned window (midnight in the calendar's zone for all-day jobs).
    pub start: DateTime<Utc>,
    /// The exclusive end of the planned window (one hour after the start when the job has none).
    pub end: DateTime<Utc>,
    #[serde(rename = "allDay")]
    pub all_day: bool,
    /// By the requested colour mode.
    pub color: String,
    #[serde(rename = "extendedProps")]
    pub extended_props: EventProps,
}

/// uHub's own facts about an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventProps {
    pub job_id: i64,
    pub project_id: i64,
    pub project_name: String,
    pub project_color: String,
    pub job_type: JobType,
    pub status: JobStatus,
    pub environment: Option<String>,
    pub environment_is_production: bool,
    /// The owner's username.
    pub owner: Option<String>,
    /// Whether the job overlaps another critical job of its project and environment.
    pub conflict: bool,
    /// The jobs it overlaps (ids).
    pub conflicts_with: Vec<i64>,
    /// The job's `version`, for `PATCH /jobs/{id}`.
    pub version: i64,
    /// The job's stored end (`end` above is always set).
    pub planned_end: Option<DateTime<Utc>>,
    /// A move asked for and waiting for approval (production jobs moved by `ops`).
    #[serde(default)]
    pub pending_move: Option<PendingMove>,
}

/// A requested move waiting for approval, as the calendar shows it on its job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingMove {
    /// The move request's id (`/api/v1/move-requests/{id}`).
    pub id: i64,
    pub planned_start: DateTime<Utc>,
    pub planned_end: Option<DateTime<Utc>>,
    /// The requester's username.
    pub requested_by: Option<String>,
    pub requested_at: DateTime<Utc>,
}

impl EventProps {
    /// What the conflict rule needs, from an event (the browser's preview works on events).
    pub fn planned(&self, event: &CalendarEvent) -> Planned {
        Planned {
            id: self.job_id,
            project_id: self.project_id,
            environment: self.environment.clone(),
            job_type: self.job_type,
            start: event.start,
            end: self.planned_end,
            all_day: event.all_day,
        }
    }
}

/// Marks each event's conflicts (in place), from the events themselves.
pub fn mark_conflicts<Tz: TimeZone>(events: &mut [CalendarEvent], zone: &Tz) {
    let planned: Vec<Planned> = events
        .iter()
        .map(|event| event.extended_props.planned(event))
        .collect();
    let found = conflicts(&planned, zone);
    for event in events.iter_mut() {
        let with = found
            .get(&event.extended_props.job_id)
            .cloned()
            .unwrap_or_default();
        event.extended_props.conflict = !with.is_empty();
        event.extended_props.conflicts_with = with;
    }
}

/// Groups events by the local days they cover (all-day and multi-day ones on each day), in
/// start order: what month and agenda views lay out.
pub fn by_day<'a, Tz: TimeZone>(
    events: &'a [CalendarEvent],
    zone: &Tz,
) -> BTreeMap<NaiveDate, Vec<&'a CalendarEvent>> {
    let mut days: BTreeMap<NaiveDate, Vec<&CalendarEvent>> = BTreeMap::new();
    for event in events {
        let first = day_of(event.start, zone);
        let last = day_of(
            (event.end - Duration::microseconds(1)).max(event.start),
            zone,
        );
        let mut day = first;
        // A window longer than 62 days is shown on its first 62 (nothing planned is that long).
        for _ in 0..62 {
            days.entry(day).or_default().push(event);
            if day >= last {
                break;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
    }
    for list in days.values_mut() {
        list.sort_by_key(|event| (!event.all_day, event.start, event.extended_props.job_id));
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Paris;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    fn job(id: i64, job_type: JobType, start: &str, end: Option<&str>) -> Planned {
        Planned {
            id,
            project_id: 1,
            environment: Some("prod".to_owned()),
            job_type,
            start: at(start),
            end: end.map(at),
            all_day: false,
        }
    }

    fn all_day(id: i64, start: &str) -> Planned {
        Planned {
            all_day: true,
            ..job(id, JobType::Maintenance, start, None)
        }
    }

    fn pairs(found: &HashMap<i64, Vec<i64>>) -> Vec<(i64, Vec<i64>)> {
        let mut list: Vec<_> = found.iter().map(|(k, v)| (*k, v.clone())).collect();
        list.sort();
        list
    }

    #[test]
    fn overlapping_critical_jobs_are_both_flagged() {
        let jobs = [
            job(
                1,
                JobType::Maintenance,
                "2026-03-10T22:00:00Z",
                Some("2026-03-11T00:00:00Z"),
            ),
            job(2, JobType::Ops, "2026-03-10T23:00:00Z", None),
            job(3, JobType::Infra, "2026-03-11T09:00:00Z", None),
        ];
        assert_eq!(pairs(&conflicts(&jobs, &Utc)), [(1, vec![2]), (2, vec![1])]);
    }

    #[test]
    fn windows_that_only_touch_do_not_conflict() {
        let jobs = [
            job(
                1,
                JobType::Ops,
                "2026-03-10T08:00:00Z",
                Some("2026-03-10T09:00:00Z"),
            ),
            job(
                2,
                JobType::Ops,
                "2026-03-10T09:00:00Z",
                Some("2026-03-10T10:00:00Z"),
            ),
            // Without an end: one hour, so 10:00–11:00 touches job 2 only.
            job(3, JobType::Ops, "2026-03-10T10:00:00Z", None),
            job(4, JobType::Ops, "2026-03-10T11:00:00Z", None),
        ];
        assert!(conflicts(&jobs, &Utc).is_empty());
        // One microsecond of overlap is enough.
        let jobs = [
            job(
                1,
                JobType::Ops,
                "2026-03-10T08:00:00Z",
                Some("2026-03-10T09:00:00.000001Z"),
            ),
            job(2, JobType::Ops, "2026-03-10T09:00:00Z", None),
        ];
        assert_eq!(pairs(&conflicts(&jobs, &Utc)).len(), 2);
    }

    #[test]
    fn only_critical_jobs_of_one_project_and_environment_collide() {
        let mut other_env = job(2, JobType::Ops, "2026-03-10T08:00:00Z", None);
        other_env.environment = Some("staging".to_owned());
        let mut other_project = job(3, JobType::Ops, "2026-03-10T08:00:00Z", None);
        other_project.project_id = 2;
        let mut no_env = job(4, JobType::Ops, "2026-03-10T08:00:00Z", None);
        no_env.environment = None;
        let jobs = [
            job(1, JobType::Ops, "2026-03-10T08:00:00Z", None),
            other_env,
            other_project,
            no_env,
            job(5, JobType::Dev, "2026-03-10T08:00:00Z", None),
            job(6, JobType::Meeting, "2026-03-10T08:00:00Z", None),
        ];
        assert!(conflicts(&jobs, &Utc).is_empty());
    }

    #[test]
    fn an_all_day_job_covers_its_whole_day_against_timed_jobs() {
        let jobs = [
            all_day(1, "2026-03-10T00:00:00Z"),
            // The day's last hour: inside it, and touching job 4.
            job(2, JobType::Ops, "2026-03-10T23:00:00Z", None),
            // Ends exactly at the day's start: touching.
            job(
                3,
                JobType::Ops,
                "2026-03-09T23:00:00Z",
                Some("2026-03-10T00:00:00Z"),
            ),
            // Starts exactly at the next day's start: touching.
            job(4, JobType::Ops, "2026-03-11T00:00:00Z", None),
        ];
        assert_eq!(pairs(&conflicts(&jobs, &Utc)), [(1, vec![2]), (2, vec![1])]);
    }

    #[test]
    fn all_day_windows_follow_the_calendar_zone() {
        // 23:30 UTC on the 9th is already the 10th in Paris (UTC+1 in March before the change).
        let timed = job(2, JobType::Ops, "2026-03-09T23:30:00Z", None);
        let day = all_day(1, "2026-03-09T23:00:00Z");
        assert_eq!(
            day.window(&Paris),
            Window {
                start: at("2026-03-09T23:00:00Z"),
                end: at("2026-03-10T23:00:00Z")
            }
        );
        assert_eq!(conflicts(&[day.clone(), timed.clone()], &Paris).len(), 2);
        // In UTC the same all-day job is the 9th, which ends at 00:00 UTC on the 10th: it
        // still overlaps 23:30–00:30.
        assert_eq!(conflicts(&[day, timed], &Utc).len(), 2);
        // A timed job the next Paris morning does not touch the Paris day.
        let morning = job(3, JobType::Ops, "2026-03-10T23:00:00Z", None);
        assert!(conflicts(&[all_day(1, "2026-03-09T23:00:00Z"), morning], &Paris).is_empty());
    }

    #[test]
    fn all_day_windows_are_23_or_25_hours_across_dst() {
        // Paris springs forward on 2026-03-29 and falls back on 2026-10-25.
        let spring = all_day(1, "2026-03-28T23:00:00Z").window(&Paris);
        assert_eq!(spring.length(), Duration::hours(23));
        assert_eq!(spring.end, at("2026-03-29T22:00:00Z"));
        let autumn = all_day(2, "2026-10-24T22:00:00Z").window(&Paris);
        assert_eq!(autumn.length(), Duration::hours(25));
        // A job at 23:30 Paris time on the short day (21:30 UTC) is inside it; the next day's
        // first minute (22:00 UTC) is not.
        let late = job(
            3,
            JobType::Ops,
            "2026-03-29T21:30:00Z",
            Some("2026-03-29T22:00:00Z"),
        );
        let next = job(4, JobType::Ops, "2026-03-29T22:00:00Z", None);
        let found = conflicts(&[all_day(1, "2026-03-28T23:00:00Z"), late, next], &Paris);
        assert_eq!(pairs(&found), [(1, vec![3]), (3, vec![1])]);
    }

    #[test]
    fn a_multi_day_all_day_job_ends_with_the_day_before_its_exclusive_end() {
        let mut days = all_day(1, "2026-03-10T00:00:00Z");
        days.end = Some(at("2026-03-12T00:00:00Z"));
        let window = days.window(&Utc);
        assert_eq!(window.end, at("2026-03-12T00:00:00Z"));
        days.end = Some(at("2026-03-12T08:00:00Z"));
        assert_eq!(days.window(&Utc).end, at("2026-03-13T00:00:00Z"));
    }

    #[test]
    fn a_chain_of_overlaps_names_each_neighbour() {
        let jobs = [
            job(
                1,
                JobType::Ops,
                "2026-03-10T08:00:00Z",
                Some("2026-03-10T12:00:00Z"),
            ),
            job(
                2,
                JobType::Ops,
                "2026-03-10T09:00:00Z",
                Some("2026-03-10T10:00:00Z"),
            ),
            job(
                3,
                JobType::Ops,
                "2026-03-10T11:00:00Z",
                Some("2026-03-10T13:00:00Z"),
            ),
        ];
        assert_eq!(
            pairs(&conflicts(&jobs, &Utc)),
            [(1, vec![2, 3]), (2, vec![1]), (3, vec![1])]
        );
    }

    #[test]
    fn the_sweep_agrees_with_comparing_every_pair() {
        // A deterministic pseudo-random planning: 600 jobs over a week in four lanes.
        let mut seed: u64 = 42;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let base = at("2026-03-02T00:00:00Z");
        let jobs: Vec<Planned> = (0..600)
            .map(|id| {
                let start = base + Duration::minutes((next() % (7 * 24 * 4)) as i64 * 15);
                let end = match next() % 3 {
                    0 => None,
                    n => Some(start + Duration::minutes((n as i64) * 45)),
                };
                Planned {
                    id,
                    project_id: (next() % 2) as i64,
                    environment: Some(["staging", "prod"][(next() % 2) as usize].to_owned()),
                    job_type: JobType::ALL[(next() % 5) as usize],
                    start,
                    end,
                    all_day: next() % 20 == 0,
                }
            })
            .collect();
        let found = conflicts(&jobs, &Paris);
        let mut expected: HashMap<i64, Vec<i64>> = HashMap::new();
        for a in &jobs {
            for b in &jobs {
                if a.id != b.id
                    && a.lane().is_some()
                    && a.lane() == b.lane()
                    && a.window(&Paris).overlaps(&b.window(&Paris))
                {
                    expected.entry(a.id).or_default().push(b.id);
                }
            }
        }
        assert!(!expected.is_empty());
        assert_eq!(pairs(&found), pairs(&expected));
    }

    #[test]
    fn free_slots_skip_busy_windows_and_keep_the_length() {
        let moving = job(
            1,
            JobType::Maintenance,
            "2026-03-10T22:00:00Z",
            Some("2026-03-11T00:00:00Z"),
        );
        let others = [
            moving.clone(),
            job(
                2,
                JobType::Ops,
                "2026-03-10T22:30:00Z",
                Some("2026-03-11T01:10:00Z"),
            ),
            job(
                3,
                JobType::Infra,
                "2026-03-11T03:00:00Z",
                Some("2026-03-11T04:00:00Z"),
            ),
            // Another environment does not block.
            Planned {
                environment: Some("staging".to_owned()),
                ..job(4, JobType::Ops, "2026-03-11T01:15:00Z", None)
            },
        ];
        let slots = free_slots(&moving, &others, moving.start, 3, &Utc);
        let starts: Vec<_> = slots.iter().map(|w| w.start).collect();
        assert_eq!(
            starts,
            // 01:15–03:15 would hit job 3: the first free two hours start when it ends.
            [
                at("2026-03-11T04:00:00Z"),
                at("2026-03-11T06:00:00Z"),
                at("2026-03-11T08:00:00Z")
            ]
        );
        assert!(slots.iter().all(|w| w.length() == Duration::hours(2)));
        let planned: Vec<Planned> = others[1..].to_vec();
        for slot in &slots {
            let moved = Planned {
                start: slot.start,
                end: Some(slot.end),
                ..moving.clone()
            };
            let mut all = planned.clone();
            all.push(moved);
            assert!(!conflicts(&all, &Utc).contains_key(&1), "{slot:?} is free");
        }
    }

    #[test]
    fn free_slots_of_an_all_day_job_are_whole_free_days() {
        let moving = all_day(1, "2026-03-10T00:00:00Z");
        let others = [
            moving.clone(),
            job(2, JobType::Ops, "2026-03-10T09:00:00Z", None),
            job(3, JobType::Ops, "2026-03-11T23:59:00Z", None),
        ];
        let slots = free_slots(&moving, &others, moving.start, 2, &Utc);
        let starts: Vec<_> = slots.iter().map(|w| w.start).collect();
        assert_eq!(
            starts,
            [at("2026-03-13T00:00:00Z"), at("2026-03-14T00:00:00Z")]
        );
    }

    #[test]
    fn snapping_rounds_up_to_the_quarter_hour() {
        assert_eq!(
            snap_up(at("2026-03-10T10:00:00Z")),
            at("2026-03-10T10:00:00Z")
        );
        assert_eq!(
            snap_up(at("2026-03-10T10:00:01Z")),
            at("2026-03-10T10:15:00Z")
        );
        assert_eq!(
            snap_up(at("2026-03-10T10:44:59Z")),
            at("2026-03-10T10:45:00Z")
        );
    }

    #[test]
    fn colour_modes_parse_and_colour() {
        assert_eq!("type".parse::<ColorMode>().ok(), Some(ColorMode::Type));
        assert!("rainbow".parse::<ColorMode>().is_err());
        assert_eq!(status_color(JobStatus::Failed), "#ff4d4f");
    }
}
