//! The instance's settings as admins see them. They come from the environment (`UHUB_*`) at
//! start-up; this is their read-only view.

use domain::policy::{Action, Object};

use crate::{Caller, Hub, ServiceResult};

/// What the admin page's settings tab shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `UHUB_TIMEZONE`: where the calendar's days begin.
    pub time_zone: String,
    /// `UHUB_METRICS_INTERVAL`: seconds between two readings of the host.
    pub metrics_interval_seconds: u64,
    /// `UHUB_PUBLIC_URL`: how the outside reaches uHub (webhook callbacks, feed URLs).
    pub public_url: String,
}

/// The settings (admin only).
pub fn read(hub: &Hub, caller: &Caller) -> ServiceResult<Settings> {
    caller.may(Action::ManageSettings, &Object::none(), None)?;
    Ok(Settings {
        time_zone: hub.zone.name().to_owned(),
        metrics_interval_seconds: hub.host.interval().as_secs(),
        public_url: hub.public_url().to_owned(),
    })
}
