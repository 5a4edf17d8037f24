//! A compact transport of calendar events, for the calendar page (its server-rendered data and
//! its refreshes), not for the REST API, which keeps the FullCalendar shape.
//!
//! A month can hold thousands of events. As FullCalendar objects they repeat every field name,
//! the project's name and colours, and write each time as RFC 3339 text; the browser then parses
//! all of that before the page becomes interactive. Here each event is a JSON array, repeated
//! texts (project names, colours, environments, owners) are written once in a table and named by
//! their index, types and statuses are their place in their list, and times are microseconds
//! since the epoch (exact: storage keeps microseconds).
//!
//! Use it as `#[serde(with = "domain::calendar_wire")]` on a `Vec<CalendarEvent>` field.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::{CalendarEvent, EventProps, PendingMove};
use crate::{JobStatus, JobType};

/// One event: indices point into [`Wire::texts`]; `-1` stands for "none".
#[derive(Serialize, Deserialize)]
struct Row(
    /// job id
    i64,
    /// title
    String,
    /// start, µs
    i64,
    /// end, µs
    i64,
    /// all day
    bool,
    /// colour
    u32,
    /// project id
    i64,
    /// project name
    u32,
    /// project colour
    u32,
    /// job type, as its place in `JobType::ALL`
    u8,
    /// status, as its place in `JobStatus::ALL`
    u8,
    /// environment, or -1
    i64,
    /// environment is production
    bool,
    /// owner, or -1
    i64,
    /// conflict
    bool,
    /// conflicts with
    Vec<i64>,
    /// version
    i64,
    /// the stored end, µs
    Option<i64>,
    /// a pending move (rare: kept in its plain form)
    Option<PendingMove>,
);

#[derive(Serialize, Deserialize)]
struct Wire {
    texts: Vec<String>,
    rows: Vec<Row>,
}

/// Interns the repeated texts of a list of events.
#[derive(Default)]
struct Texts<'a> {
    list: Vec<&'a str>,
    index: HashMap<&'a str, u32>,
}

impl<'a> Texts<'a> {
    fn of(&mut self, text: &'a str) -> u32 {
        if let Some(&at) = self.index.get(text) {
            return at;
        }
        // A page never holds 4 billion distinct texts; saturate rather than wrap if it did.
        let at = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(text);
        self.index.insert(text, at);
        at
    }

    fn of_optional(&mut self, text: Option<&'a str>) -> i64 {
        text.map_or(-1, |text| i64::from(self.of(text)))
    }
}

/// The place of a value in its closed list (`ALL`).
fn place<T: PartialEq>(all: &[T], value: &T) -> u8 {
    // The lists hold a handful of values; a missing one cannot happen (ALL lists every variant).
    all.iter()
        .position(|candidate| candidate == value)
        .and_then(|at| u8::try_from(at).ok())
        .unwrap_or(u8::MAX)
}

fn from_place<T: Copy, E: serde::de::Error>(all: &[T], at: u8, what: &str) -> Result<T, E> {
    all.get(usize::from(at))
        .copied()
        .ok_or_else(|| E::custom(format!("no {what} #{at}")))
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros<E: serde::de::Error>(value: i64) -> Result<DateTime<Utc>, E> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| E::custom(format!("time out of range: {value} µs")))
}

pub fn serialize<S: Serializer>(
    events: &[CalendarEvent],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut texts = Texts::default();
    let rows: Vec<Row> = events
        .iter()
        .map(|event| {
            let props = &event.extended_props;
            Row(
                props.job_id,
                event.title.clone(),
                micros(event.start),
                micros(event.end),
                event.all_day,
                texts.of(&event.color),
                props.project_id,
                texts.of(&props.project_name),
                texts.of(&props.project_color),
                place(JobType::ALL, &props.job_type),
                place(JobStatus::ALL, &props.status),
                texts.of_optional(props.environment.as_deref()),
                props.environment_is_production,
                texts.of_optional(props.owner.as_deref()),
                props.conflict,
                props.conflicts_with.clone(),
                props.version,
                props.planned_end.map(micros),
                props.pending_move.clone(),
            )
        })
        .collect();
    Wire {
        texts: texts.list.into_iter().map(str::to_owned).collect(),
        rows,
    }
    .serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<CalendarEvent>, D::Error> {
    let wire = Wire::deserialize(deserializer)?;
    let text = |at: u32| {
        usize::try_from(at)
            .ok()
            .and_then(|at| wire.texts.get(at))
            .cloned()
            .ok_or_else(|| D::Error::custom(format!("no text #{at} in the table")))
    };
    let optional = |at: i64| match u32::try_from(at) {
        Ok(at) => text(at).map(Some),
        Err(_) if at == -1 => Ok(None),
        Err(_) => Err(D::Error::custom(format!("no text #{at} in the table"))),
    };
    wire.rows
        .into_iter()
        .map(|row| {
            let Row(
                job_id,
                title,
                start,
                end,
                all_day,
                color,
                project_id,
                project_name,
                project_color,
                job_type,
                status,
                environment,
                environment_is_production,
                owner,
                conflict,
                conflicts_with,
                version,
                planned_end,
                pending_move,
            ) = row;
            Ok(CalendarEvent {
                id: job_id.to_string(),
                title,
                start: from_micros(start)?,
                end: from_micros(end)?,
                all_day,
                color: text(color)?,
                extended_props: EventProps {
                    job_id,
                    project_id,
                    project_name: text(project_name)?,
                    project_color: text(project_color)?,
                    job_type: from_place(JobType::ALL, job_type, "job type")?,
                    status: from_place(JobStatus::ALL, status, "status")?,
                    environment: optional(environment)?,
                    environment_is_production,
                    owner: optional(owner)?,
                    conflict,
                    conflicts_with,
                    version,
                    planned_end: planned_end.map(from_micros).transpose()?,
                    pending_move,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Page {
        #[serde(with = "super")]
        events: Vec<CalendarEvent>,
    }

    fn event(job_id: i64, environment: Option<&str>, owner: Option<&str>) -> CalendarEvent {
        let start = Utc
            .with_ymd_and_hms(2030, 3, 30, 23, 15, 0)
            .single()
            .map(|at| at + chrono::Duration::microseconds(123_457))
            .unwrap_or_default();
        CalendarEvent {
            id: job_id.to_string(),
            title: format!("Change \"{job_id}\" ✓"),
            start,
            end: start + chrono::Duration::minutes(45),
            all_day: job_id % 2 == 0,
            color: "#ff00aa".into(),
            extended_props: EventProps {
                job_id,
                project_id: 7,
                project_name: "Billing".into(),
                project_color: "#00ff00".into(),
                job_type: JobType::ALL[job_id as usize % JobType::ALL.len()],
                status: JobStatus::ALL[job_id as usize % JobStatus::ALL.len()],
                environment: environment.map(str::to_owned),
                environment_is_production: environment == Some("prod"),
                owner: owner.map(str::to_owned),
                conflict: job_id == 2,
                conflicts_with: if job_id == 2 { vec![3, 4] } else { vec![] },
                version: job_id + 10,
                planned_end: (job_id != 3).then(|| start + chrono::Duration::minutes(45)),
                pending_move: (job_id == 3).then(|| PendingMove {
                    id: 99,
                    planned_start: start,
                    planned_end: None,
                    requested_by: Some("demo-ops".into()),
                    requested_at: start,
                }),
            },
        }
    }

    #[test]
    fn every_field_survives_the_round_trip_exactly() {
        let mut events = vec![
            event(1, Some("prod"), Some("demo-ops")),
            event(2, Some("staging"), None),
            event(3, None, Some("demo-ops")),
            event(4, Some("prod"), Some("demo-dev")),
        ];
        // Every type and every status.
        events.extend((5..20).map(|id| event(id, Some("dev"), None)));
        let page = Page { events };
        let text = serde_json::to_string(&page).unwrap_or_default();
        let back: Result<Page, _> = serde_json::from_str(&text);
        assert_eq!(back.ok(), Some(page));
    }

    #[test]
    fn repeated_texts_are_written_once() {
        let page = Page {
            events: (1..=50)
                .map(|id| event(id, Some("prod"), Some("demo-ops")))
                .collect(),
        };
        let text = serde_json::to_string(&page).unwrap_or_default();
        assert_eq!(text.matches("Billing").count(), 1, "{text}");
        // Once in the table, once as the requester of the one pending move.
        assert_eq!(text.matches("demo-ops").count(), 2, "{text}");
        assert!(!text.contains("extendedProps"));
    }

    #[test]
    fn a_table_index_out_of_range_is_refused_not_guessed() {
        let text = r##"{"events":{"texts":["#fff"],"rows":[[1,"t",0,3600000000,false,0,1,5,0,0,0,-1,false,-1,false,[],1,null,null]]}}"##;
        let error = serde_json::from_str::<Page>(text)
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("no text #5")));
        let unknown_type = r##"{"events":{"texts":["#fff"],"rows":[[1,"t",0,3600000000,false,0,1,0,0,99,0,-1,false,-1,false,[],1,null,null]]}}"##;
        let error = serde_json::from_str::<Page>(unknown_type)
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("no job type #99")));
    }
}
