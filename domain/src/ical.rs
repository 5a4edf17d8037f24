//! The iCalendar (RFC 5545) feed of planned jobs, as Google Calendar, Outlook and Thunderbird
//! subscribe to it: one `VEVENT` per job, times in UTC, all-day jobs as dates of the team's zone.
//! Written by hand: the format is small, and folding and escaping are the only subtle parts.

use chrono::{DateTime, TimeZone, Utc};

use crate::calendar::{day_of, CalendarEvent};
use crate::JobStatus;

/// Longest content line in octets, before the CRLF (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// What the feed says about itself.
#[derive(Debug, Clone)]
pub struct Feed<'a> {
    /// The calendar's name in the subscriber's list (`X-WR-CALNAME`).
    pub name: &'a str,
    /// The address of uHub, without a trailing slash, for each event's link (`URL`).
    pub base_url: &'a str,
    /// When the feed was generated (`DTSTAMP` of every event).
    pub generated_at: DateTime<Utc>,
}

/// The whole `text/calendar` document for `events`.
pub fn document<Tz: TimeZone>(feed: &Feed<'_>, events: &[CalendarEvent], zone: &Tz) -> String {
    let mut out = String::with_capacity(256 + events.len() * 400);
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//uHub//Operational calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        // How often subscribers should look again (RFC 7986, and Outlook's own property).
        "REFRESH-INTERVAL;VALUE=DURATION:PT15M",
        "X-PUBLISHED-TTL:PT15M",
    ] {
        push_line(&mut out, line);
    }
    push_property(&mut out, "NAME", feed.name);
    push_property(&mut out, "X-WR-CALNAME", feed.name);
    let stamp = utc_stamp(feed.generated_at);
    for event in events {
        push_event(&mut out, feed, &stamp, event, zone);
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

fn push_event<Tz: TimeZone>(
    out: &mut String,
    feed: &Feed<'_>,
    stamp: &str,
    event: &CalendarEvent,
    zone: &Tz,
) {
    let props = &event.extended_props;
    push_line(out, "BEGIN:VEVENT");
    // Stable across feeds and hosts' renames: a job id never changes and is never reused.
    push_line(out, &format!("UID:uhub-job-{}", props.job_id));
    push_line(out, &format!("DTSTAMP:{stamp}"));
    // Each change of the job raises its version: clients replace their copy.
    push_line(out, &format!("SEQUENCE:{}", props.version.max(0)));
    if event.all_day {
        let first = day_of(event.start, zone);
        // DTEND of a date is exclusive: the day after the last day covered.
        let last = day_of(event.end - chrono::Duration::seconds(1), zone);
        let after = last.succ_opt().unwrap_or(last);
        push_line(
            out,
            &format!("DTSTART;VALUE=DATE:{}", first.format("%Y%m%d")),
        );
        push_line(out, &format!("DTEND;VALUE=DATE:{}", after.format("%Y%m%d")));
    } else {
        push_line(out, &format!("DTSTART:{}", utc_stamp(event.start)));
        push_line(out, &format!("DTEND:{}", utc_stamp(event.end)));
    }
    push_property(out, "SUMMARY", &event.title);
    let location = match &props.environment {
        Some(environment) => format!("{} / {environment}", props.project_name),
        None => props.project_name.clone(),
    };
    push_property(out, "LOCATION", &location);
    let mut description = format!(
        "Project: {}\nType: {}\nStatus: {}",
        props.project_name,
        props.job_type.as_str(),
        props.status.as_str()
    );
    if let Some(environment) = &props.environment {
        let production = if props.environment_is_production {
            " (production)"
        } else {
            ""
        };
        description.push_str(&format!("\nEnvironment: {environment}{production}"));
    }
    if let Some(owner) = &props.owner {
        description.push_str(&format!("\nOwner: {owner}"));
    }
    if props.conflict {
        description.push_str("\nConflict: overlaps another critical job in this environment");
    }
    if let Some(pending) = &props.pending_move {
        description.push_str(&format!(
            "\nMove requested to {}, waiting for approval",
            pending.planned_start.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    push_property(out, "DESCRIPTION", &description);
    push_property(out, "CATEGORIES", props.job_type.as_str());
    let status = match props.status {
        JobStatus::Canceled => "CANCELLED",
        _ if props.pending_move.is_some() => "TENTATIVE",
        _ => "CONFIRMED",
    };
    push_line(out, &format!("STATUS:{status}"));
    push_line(
        out,
        &format!(
            "URL:{}/jobs/{}",
            feed.base_url.trim_end_matches('/'),
            props.job_id
        ),
    );
    push_line(out, "END:VEVENT");
}

/// `YYYYMMDDTHHMMSSZ`.
fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// `NAME:value` with the value escaped as TEXT.
fn push_property(out: &mut String, name: &str, value: &str) {
    push_line(out, &format!("{name}:{}", escape_text(value)));
}

/// TEXT escaping (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines; other control
/// characters are not allowed in TEXT and are dropped.
pub fn escape_text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    escaped.push_str("\\n");
                }
            }
            '\n' => escaped.push_str("\\n"),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends one content line, folded at 75 octets (never inside a UTF-8 character), ending in CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut budget = LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let size = c.len_utf8();
        if used + size > budget {
            out.push_str("\r\n ");
            // The leading space of a continuation line counts towards its 75 octets.
            budget = LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += size;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{EventProps, PendingMove};
    use crate::JobType;
    use chrono::TimeZone;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn event(id: i64, title: &str, start: &str, end: &str, all_day: bool) -> CalendarEvent {
        CalendarEvent {
            id: id.to_string(),
            title: title.to_owned(),
            start: at(start),
            end: at(end),
            all_day,
            color: "#33ff99".to_owned(),
            extended_props: EventProps {
                job_id: id,
                project_id: 1,
                project_name: "Payments, EU".to_owned(),
                project_color: "#33ff99".to_owned(),
                job_type: JobType::Maintenance,
                status: JobStatus::Planned,
                environment: Some("prod".to_owned()),
                environment_is_production: true,
                owner: Some("demo-ops".to_owned()),
                conflict: false,
                conflicts_with: vec![],
                version: 3,
                planned_end: None,
                pending_move: None,
            },
        }
    }

    fn feed() -> Feed<'static> {
        Feed {
            name: "uHub · demo-ops",
            base_url: "https://uhub.example/",
            generated_at: at("2030-03-01T08:00:00Z"),
        }
    }

    /// Content lines with folding undone.
    fn unfolded(text: &str) -> Vec<String> {
        text.replace("\r\n ", "")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_timed_job_is_an_event_in_utc_with_its_version_as_sequence() {
        let text = document(
            &feed(),
            &[event(
                7,
                "Kernel patch",
                "2030-03-02T20:00:00Z",
                "2030-03-02T21:30:00Z",
                false,
            )],
            &Utc,
        );
        let lines = unfolded(&text);
        for expected in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "X-WR-CALNAME:uHub · demo-ops",
            "BEGIN:VEVENT",
            "UID:uhub-job-7",
            "DTSTAMP:20300301T080000Z",
            "SEQUENCE:3",
            "DTSTART:20300302T200000Z",
            "DTEND:20300302T213000Z",
            "SUMMARY:Kernel patch",
            "LOCATION:Payments\\, EU / prod",
            "CATEGORIES:maintenance",
            "STATUS:CONFIRMED",
            "URL:https://uhub.example/jobs/7",
            "END:VEVENT",
            "END:VCALENDAR",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "missing {expected}: {text}"
            );
        }
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in {text:?}"
        );
    }

    #[test]
    fn an_all_day_job_covers_dates_of_the_team_zone_with_an_exclusive_end() {
        let paris: chrono_tz::Tz = chrono_tz::Europe::Paris;
        let start = crate::calendar::start_of_day(
            chrono::NaiveDate::from_ymd_opt(2030, 3, 30).unwrap_or_default(),
            &paris,
        );
        let mut all_day = event(
            8,
            "Freeze",
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            true,
        );
        all_day.start = start;
        // The 31st of March 2030 is 23 hours long in Paris.
        all_day.end = paris
            .with_ymd_and_hms(2030, 4, 1, 0, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let lines = unfolded(&document(&feed(), &[all_day], &paris));
        assert!(lines.iter().any(|l| l == "DTSTART;VALUE=DATE:20300330"));
        assert!(lines.iter().any(|l| l == "DTEND;VALUE=DATE:20300401"));
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let title = "Très long intitulé de maintenance é".repeat(6);
        let text = document(
            &feed(),
            &[event(
                9,
                &title,
                "2030-03-02T20:00:00Z",
                "2030-03-02T21:00:00Z",
                false,
            )],
            &Utc,
        );
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let lines = unfolded(&text);
        assert!(lines.iter().any(|l| *l == format!("SUMMARY:{title}")));
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        assert_eq!(escape_text("a;b,c\\d"), "a\\;b\\,c\\\\d");
        assert_eq!(
            escape_text("one\r\ntwo\nthree\rfour"),
            "one\\ntwo\\nthree\\nfour"
        );
        assert_eq!(escape_text("bell\u{7}"), "bell");
        // A title cannot open a property of its own.
        let text = document(
            &feed(),
            &[event(
                10,
                "x\r\nATTENDEE:mailto:evil@example.com",
                "2030-03-02T20:00:00Z",
                "2030-03-02T21:00:00Z",
                false,
            )],
            &Utc,
        );
        assert!(!unfolded(&text).iter().any(|l| l.starts_with("ATTENDEE")));
    }

    #[test]
    fn cancelled_and_pending_jobs_say_so() {
        let mut cancelled = event(
            11,
            "Old",
            "2030-03-02T20:00:00Z",
            "2030-03-02T21:00:00Z",
            false,
        );
        cancelled.extended_props.status = JobStatus::Canceled;
        let mut pending = event(
            12,
            "Moved",
            "2030-03-02T20:00:00Z",
            "2030-03-02T21:00:00Z",
            false,
        );
        pending.extended_props.pending_move = Some(PendingMove {
            id: 1,
            planned_start: at("2030-03-03T20:00:00Z"),
            planned_end: None,
            requested_by: Some("demo-ops".to_owned()),
            requested_at: at("2030-03-01T07:00:00Z"),
        });
        let lines = unfolded(&document(&feed(), &[cancelled, pending], &Utc));
        assert!(lines.iter().any(|l| l == "STATUS:CANCELLED"));
        assert!(lines.iter().any(|l| l == "STATUS:TENTATIVE"));
        assert!(lines
            .iter()
            .any(|l| l.contains("Move requested to 2030-03-03 20:00 UTC")));
    }
}
