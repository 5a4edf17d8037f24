//! Reloading the shown range in place (after a change made elsewhere, or a refused move),
//! without the page's loading state; a drag under way is never disturbed.

use domain::move_request::MoveRequest;
use domain::CalendarEvent;
use leptos::prelude::*;

use super::request::{CalendarRequest, Remember};
use super::requests::load_calendar;
use super::state::{Drag, FixedJobs, Preview};

/// Reloads the shown range in place. Copy: every closure that needs it holds one.
#[derive(Clone, Copy)]
pub(super) struct Refresh {
    request: StoredValue<CalendarRequest>,
    events: RwSignal<Vec<CalendarEvent>>,
    pending: RwSignal<Vec<MoveRequest>>,
    fixed: FixedJobs,
    drag: RwSignal<Option<Drag>>,
    preview: RwSignal<Option<Preview>>,
    /// A reload is under way; `again` asks for one more after it (changes came meanwhile).
    busy: RwSignal<bool>,
    again: RwSignal<bool>,
}

impl Refresh {
    pub(super) fn new(
        request: CalendarRequest,
        events: RwSignal<Vec<CalendarEvent>>,
        pending: RwSignal<Vec<MoveRequest>>,
        fixed: FixedJobs,
        drag: RwSignal<Option<Drag>>,
        preview: RwSignal<Option<Preview>>,
    ) -> Refresh {
        let refresh = Refresh {
            request: StoredValue::new(request),
            events,
            pending,
            fixed,
            drag,
            preview,
            busy: RwSignal::new(false),
            again: RwSignal::new(false),
        };
        // A reload put off by a drag happens when the drag ends.
        Effect::new(move |_| {
            let idle = drag.with(Option::is_none) && preview.with(Option::is_none);
            if idle && refresh.again.get_untracked() && !refresh.busy.get_untracked() {
                refresh.now();
            }
        });
        refresh
    }

    /// Reloads now, or as soon as the drag or the reload under way ends.
    pub(super) fn now(self) {
        let dragging = self.drag.with_untracked(Option::is_some)
            || self.preview.with_untracked(Option::is_some);
        if dragging || self.busy.get_untracked() {
            self.again.set(true);
            return;
        }
        self.busy.set(true);
        self.again.set(false);
        let request = self.request.get_value();
        leptos::task::spawn_local(async move {
            let fresh = load_calendar(request, Remember::Keep).await;
            // While the answer travelled, a drag may have begun: apply it after that drag.
            let dragging = self.drag.with_untracked(Option::is_some)
                || self.preview.with_untracked(Option::is_some);
            match fresh {
                Ok(data) if !dragging => {
                    self.fixed.0.set(data.fixed.into_iter().collect());
                    self.events.set(data.events);
                    self.pending.set(data.pending);
                }
                // A failed reload leaves the calendar as it is; the next change tries again.
                Ok(_) => self.again.set(true),
                Err(_) => {}
            }
            self.busy.set(false);
            if self.again.get_untracked() {
                self.now();
            }
        });
    }
}
