//! The server build of `browser.rs`: the same functions, doing nothing (no pointer, no stream,
//! no frames to draw in), so the components call them without `cfg` of their own.

use chrono::{DateTime, Utc};
use domain::zone::Zone;
use domain::CalendarEvent;
use leptos::prelude::*;

use super::refresh::Refresh;
use super::state::{Drag, Hit, Preview};

pub(super) fn follow_changes(_refresh: Refresh) {}

pub(super) fn focused_job(_ev: &leptos::ev::KeyboardEvent) -> Option<i64> {
    None
}

pub(super) fn install_drag(
    _drag: RwSignal<Option<Drag>>,
    _preview: RwSignal<Option<Preview>>,
    _events: RwSignal<Vec<CalendarEvent>>,
    _zone: Zone,
    _commit: impl Fn(i64, DateTime<Utc>, Option<DateTime<Utc>>) + Copy + 'static,
) {
}

pub(super) fn take_just_dragged() -> bool {
    false
}

pub(super) fn hit(_ev: &leptos::ev::Event) -> Option<Hit> {
    None
}

pub(super) fn grab_offset(
    _ev: &leptos::ev::PointerEvent,
    _start: DateTime<Utc>,
    _zone: &Zone,
) -> i64 {
    0
}

pub(super) fn mark_interactive() {}

pub(super) fn tick_clock(_now: RwSignal<DateTime<Utc>>) {}

pub(super) fn scroll_to(_scroller: NodeRef<leptos::html::Div>, _top: f64) {}

pub(super) fn select_all(_ev: &leptos::ev::FocusEvent) {}

pub(super) fn refocus_job(_job_id: i64) {}

pub(super) fn empty_slot(_ev: &leptos::ev::MouseEvent) -> Option<(String, bool)> {
    None
}

pub(super) fn agenda_on_phone(_names_a_view: bool, _navigator: crate::ui::Navigator) {}

pub(super) fn focused_is_fixed(_ev: &leptos::ev::KeyboardEvent) -> bool {
    false
}
