//! The Server view: the host uHub runs on, read by [`monitor`] in the background, shown to
//! admin and ops.

pub mod monitor;

pub use monitor::{HostMonitor, AVERAGE_RETENTION, AVERAGE_SECONDS, RAW_RETENTION};

use chrono::{DateTime, Duration, Utc};
use domain::host::HostSample;
use domain::policy::{Action, Object};
use tracing::instrument;

use crate::{Caller, Hub, ServiceError, ServiceResult};

/// The longest history one request may ask for: the averages' retention.
pub const MAX_HISTORY_MINUTES: i64 = 30 * 24 * 60;

/// The host now (admin and ops).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn latest(hub: &Hub, caller: &Caller) -> ServiceResult<HostSample> {
    caller.may(Action::ViewServer, &Object::none(), None)?;
    hub.host.latest().await
}

/// Which part of the history: the last minutes, or a window (e.g. around a run or an incident).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The last N minutes (1 to 43,200).
    Last(i64),
    /// From, to (now when absent).
    Window(DateTime<Utc>, Option<DateTime<Utc>>),
}

/// The stored readings of a span, oldest first, and the seconds each stands for (admin and ops).
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn history(
    hub: &Hub,
    caller: &Caller,
    span: Span,
) -> ServiceResult<(Vec<HostSample>, i64)> {
    caller.may(Action::ViewServer, &Object::none(), None)?;
    let now = Utc::now();
    let (from, to) = match span {
        Span::Window(from, to) => (from, to.unwrap_or(now)),
        Span::Last(minutes) => {
            if !(1..=MAX_HISTORY_MINUTES).contains(&minutes) {
                return Err(ServiceError::invalid("minutes", "must be 1 to 43200"));
            }
            (now - Duration::minutes(minutes), now)
        }
    };
    if to <= from {
        return Err(ServiceError::invalid("to", "must come after from"));
    }
    if to - from > Duration::minutes(MAX_HISTORY_MINUTES) {
        return Err(ServiceError::invalid("from", "a window is at most 30 days"));
    }
    hub.host.history(from, to).await
}
