//! A job on a grid as markup — coloured pill, conflict border and tooltip, pending mark — and
//! the grid's own handling of pointer and clicks for all of its jobs (event delegation).

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::zone::Zone;
use domain::CalendarEvent;
use leptos::prelude::*;

use super::browser::{empty_slot, grab_offset, hit, take_just_dragged};
use super::state::{time_label, window_label, Drag, Grip, Shown};
use crate::i18n::Locale;

/// Escapes text for HTML content and double-quoted attributes (titles are anyone's input).
/// The text between the characters to escape is copied whole: most titles have none, and a
/// month writes 10,000 of these strings.
pub(super) fn escape_html(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = rest
        .bytes()
        .position(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        // The five are ASCII: the next character starts right after.
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// A project's short name for pills and the legend: the initials of its first three words
/// ("Registry Docker Privé" → "RDP"), so projects of close colours are still told apart.
pub(super) fn project_initials(name: &str) -> String {
    let initials: String = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(3)
        .filter_map(|word| word.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    if initials.is_empty() {
        "?".to_owned()
    } else {
        initials
    }
}

/// One job on a grid — coloured pill, conflict border and tooltip, pending mark — as markup.
/// Grids put their jobs in with `inner_html`: the browser parses thousands of them natively and
/// hydration has nothing to walk; the grid itself listens for all of them (`GridEvents`).
pub(super) fn pill_html(
    out: &mut String,
    event: &CalendarEvent,
    titles: &HashMap<i64, String>,
    zone: &Zone,
    style: Option<&str>,
    grip: Grip,
    locale: Locale,
) {
    use std::fmt::Write as _;
    let props = &event.extended_props;
    let job_id = props.job_id;
    let conflict = props.conflict;
    #[rustfmt::skip]
    let pending_text = props.pending_move.as_ref().map(|p| {
        let at = locale.dates(&p.planned_start.with_timezone(zone).format("%a %e %b %H:%M").to_string());
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
    if grip == Grip::Fixed {
        out.push_str(" cal-event--fixed\" data-fixed=\"true");
    }
    // `data-job-id` and `data-conflict` are the page's contract with scripts (issues 5 and 6);
    // nothing else goes on a pill that its label does not already say: a month writes 2,000 of
    // them, and every byte is parsed before the page is drawn.
    let _ = write!(
        out,
        "\" data-job-id=\"{job_id}\" data-conflict=\"{conflict}\""
    );
    let window = window_label(event, zone, locale);
    if let Some(pending) = &props.pending_move {
        let _ = write!(out, " data-pending-move=\"{}\"", pending.id);
    }
    // The label is also the hover tooltip (`.cal-event:hover::after` shows it): one copy of the
    // title, window and project, not a `title` attribute saying it again.
    out.push_str(" tabindex=\"0\" role=\"button\" aria-label=\"");
    escape_html(&event.title, out);
    let _ = write!(out, " · {window} · ");
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
    out.push('"');
    // The start time and the project's initials are drawn by CSS from these two attributes
    // (`.cal-event[data-time]::before`, `.cal-event__title::before`): a pill is two elements,
    // not four. Parsing the month's page follows its elements (2,000 pills, most of them undrawn
    // behind "+N more"), and the label already says both to assistive technologies.
    if !event.all_day {
        let _ = write!(out, " data-time=\"{}\"", time_label(event.start, zone));
    }
    out.push_str("><span class=\"cal-event__title\" data-initials=\"");
    escape_html(&project_initials(&props.project_name), out);
    out.push_str("\">");
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
    if grip == Grip::MoveAndResize {
        out.push_str("<span class=\"cal-event__resize\" aria-hidden=\"true\"></span>");
    }
    out.push_str("</div>");
}

/// Pointer and click handling for every job of a grid, from the grid itself (event
/// delegation): a drag starts on a pill or its lower edge, a click opens the job or, on ⚠, the
/// resolution dialog.
#[derive(Clone, Copy)]
pub(super) struct GridEvents {
    pub(super) shown: Shown,
    pub(super) zone: Zone,
    pub(super) drag: RwSignal<Option<Drag>>,
    pub(super) resolving: RwSignal<Option<i64>>,
}

/// Opens the new-job form at a slot (a click on an empty place, the month's day buttons), for
/// those who may plan a job somewhere; nothing for the others.
pub(super) fn slot_opener() -> impl Fn(String, bool) + Clone {
    let navigate = crate::ui::page_navigate();
    let me = expect_context::<crate::session::Me>();
    move |start: String, all_day: bool| {
        let may_plan =
            me.0.get_untracked()
                .and_then(Result::ok)
                .is_some_and(|user| {
                    crate::session::role_may_somewhere(user.role, domain::policy::Action::CreateJob)
                });
        if may_plan {
            navigate(
                &format!("/jobs/new?start={start}&all_day={all_day}"),
                Default::default(),
            );
        }
    }
}

/// Opens a job's page (a click on a job, Enter on a focused one).
pub(super) fn job_opener() -> impl Fn(i64) + Clone {
    let navigate = crate::ui::page_navigate();
    move |job_id| navigate(&format!("/jobs/{job_id}"), Default::default())
}

impl GridEvents {
    pub(super) fn pointerdown(self, ev: leptos::ev::PointerEvent) {
        if ev.button() != 0 {
            return;
        }
        let Some(hit) = hit(&ev) else { return };
        if hit.on_warn || hit.fixed {
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

    pub(super) fn click(
        self,
        ev: leptos::ev::MouseEvent,
        open: &dyn Fn(i64),
        new_job: &dyn Fn(String, bool),
    ) {
        let Some(hit) = hit(&ev) else {
            if let Some((start, all_day)) = empty_slot(&ev) {
                new_job(start, all_day);
            }
            return;
        };
        if hit.on_warn {
            ev.stop_propagation();
            self.resolving.set(Some(hit.job_id));
        } else if !take_just_dragged() {
            open(hit.job_id);
        }
    }
}

pub(super) fn titles_of(events: &[CalendarEvent]) -> HashMap<i64, String> {
    events
        .iter()
        .map(|e| (e.extended_props.job_id, e.title.clone()))
        .collect()
}

/// Each day's jobs as markup, for a grid's cells (`inner_html`).
///
/// When the browser takes over the server's page the cells already hold that markup, and
/// hydration never writes `inner_html` back: building it again for thousands of jobs was most
/// of the calendar's hydration time. So the first run while hydrating leaves it undrawn (its
/// cells give `None`, which hydration keeps as it is), and every later run draws.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MarkupCells<T> {
    pub(super) drawn: bool,
    pub(super) days: HashMap<NaiveDate, T>,
}

impl<T> MarkupCells<T> {
    pub(super) fn undrawn() -> Self {
        Self {
            drawn: false,
            days: HashMap::new(),
        }
    }

    /// The day's markup; `None` while undrawn.
    pub(super) fn markup(&self, day: &NaiveDate, html: impl Fn(&T) -> &String) -> Option<String> {
        self.drawn.then(|| {
            self.days
                .get(day)
                .map(|cell| html(cell).clone())
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::Utc;
    use domain::zone::Zone;
    use domain::CalendarEvent;

    use super::{escape_html, pill_html};
    use crate::calendar::state::tests::maintenance;
    use crate::calendar::state::Grip;
    use crate::i18n::Locale;

    /// A pill's markup, as the month draws it.
    fn pill(event: &CalendarEvent) -> String {
        let zone = Zone::read_once("UTC", &Utc);
        let mut out = String::new();
        pill_html(
            &mut out,
            event,
            &HashMap::new(),
            &zone,
            None,
            Grip::Move,
            Locale::En,
        );
        out
    }

    #[test]
    fn a_pill_is_two_elements_with_its_time_and_initials_as_escaped_attributes() {
        // A job of a project whose name and title are markup.
        let mut event = maintenance(7, "2030-03-10T09:30:00Z");
        event.title = "<b>Backup</b> \"now\"".into();
        event.extended_props.project_name = "<x> \"Y\" Z".into();
        let out = pill(&event);
        assert_eq!(
            out.matches('<').count(),
            4,
            "two elements, opened and closed: {out}"
        );
        assert!(out.contains(" data-time=\"09:30\""), "{out}");
        // The initials of `<x> "Y" Z` are `XYZ`; the title is text inside its element.
        assert!(
            out.contains("data-initials=\"XYZ\">&lt;b&gt;Backup&lt;/b&gt; &quot;now&quot;</span>"),
            "{out}"
        );
        event.all_day = true;
        let all_day = pill(&event);
        assert!(
            !all_day.contains("data-time"),
            "an all-day job has no start time: {all_day}"
        );
    }

    #[test]
    fn markup_in_a_title_is_written_as_text() {
        let escaped = |text: &str| {
            let mut out = String::from("·");
            escape_html(text, &mut out);
            out
        };
        assert_eq!(escaped("Backup nightly"), "·Backup nightly");
        assert_eq!(
            escaped("<img src=x onerror=\"alert('1')\"> & co"),
            "·&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; co"
        );
        assert_eq!(escaped("«Réseau» ⚠ &&"), "·«Réseau» ⚠ &amp;&amp;");
        assert_eq!(escaped(""), "·");
        assert_eq!(escaped(">"), "·&gt;");
    }
}
